{#-
  Add one validation rule to the lists stg_customers builds: the reason code when
  `condition` holds, and a sentence naming the column, its value (`value`, a SQL expression
  evaluated only when the rule fails) and what is wrong.
-#}
{% macro validation_rule(codes, details, condition, code, column, message, value) %}
  {% do codes.append("case when " ~ condition ~ " then '" ~ code ~ "' end") %}
  {% do details.append("case when " ~ condition ~ " then '" ~ column ~ "=' || " ~ value ~ " || ' " ~ message ~ "' end") %}
{% endmacro %}
