{#-
  Add one validation rule to the lists stg_customers builds: the reason code when
  `condition` holds, and a sentence naming the column (`column`: its header as written),
  its value (`value`, a SQL text expression evaluated only when the rule fails, shown in
  quotes) and what is wrong. The header and the message are data: literals, never SQL.
-#}
{% macro validation_rule(codes, details, condition, code, column, message, value) %}
  {% do codes.append("case when " ~ condition ~ " then " ~ sql_string(code) ~ " end") %}
  {% do details.append("case when " ~ condition ~ " then " ~ sql_string(column ~ "='") ~ " || " ~ value
      ~ " || " ~ sql_string("' " ~ message) ~ " end") %}
{% endmacro %}

{#- A rule's sentence without a value: the column's header, then `message` (e.g. "is missing"). -#}
{% macro validation_note(codes, details, condition, code, column, message) %}
  {% do codes.append("case when " ~ condition ~ " then " ~ sql_string(code) ~ " end") %}
  {% do details.append("case when " ~ condition ~ " then " ~ sql_string(column ~ " " ~ message) ~ " end") %}
{% endmacro %}
