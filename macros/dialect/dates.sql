{#-
  Timestamps parsed from text, and the time between two of them.
  One dispatch family each (adapter.dispatch): the DuckDB default, and the Spark variant
  where the syntax differs (make test-spark). See README "Beyond one machine".
-#}

{# Parse a text as a timestamp with a strftime format (%Y %y %m %d %b %B %H %M %S %f %z); NULL when it
   does not fit. A time with an offset (%z) is read as UTC. #}
{% macro parse_timestamp(expression, format) %}
  {{ return(adapter.dispatch('parse_timestamp', 'customer_segmentation')(expression, format)) }}
{% endmacro %}
{#- A format with a four-digit year reads only text holding four digits in a row: '19/9/16' is
    never the year 16 (custseg.inputs.values.FOUR_DIGITS). -#}
{% macro default__parse_timestamp(expression, format) %}{% set parsed = "try_strptime(" ~ (("case when regexp_matches(" ~ expression ~ ", '[0-9]{4}') then " ~ expression ~ " end") if '%Y' in format else expression) ~ ", " ~ sql_string(format) ~ ")" %}{{ ("timezone('UTC', " ~ parsed ~ ")") if '%z' in format else parsed }}{% endmacro %}
{#- Spark reads a two-digit year as 2000-2099; strptime (DuckDB) as 1969-2068: years from 2069
    on are moved back a century so both engines agree ('12/5/74' is 1974). -#}
{% macro spark__parse_timestamp(expression, format) %}{% set parsed = "try_to_timestamp(" ~ (("case when " ~ expression ~ " rlike '[0-9]{4}' then " ~ expression ~ " end") if '%Y' in format else expression) ~ ", " ~ sql_string(java_date_format(format)) ~ ")" %}{{ ("(case when year(" ~ parsed ~ ") >= 2069 then " ~ parsed ~ " - interval 100 years else " ~ parsed ~ " end)") if '%y' in format else parsed }}{% endmacro %}

{% macro java_date_format(format) %}
  {{ return(format | replace(' UTC', ' @') | replace('T', "'T'") | replace('Z', "'Z'") | replace('%Y', 'yyyy') | replace('%y', 'yy')
                   | replace('%m', 'M') | replace('%d', 'd') | replace('%B', 'MMMM') | replace('%b', 'MMM')
                   | replace('%H', 'H') | replace('%M', 'm') | replace('%S', 's') | replace('%f', 'SSSSSS')
                   | replace('%z', 'XXX') | replace('@', "'UTC'")) }}
{% endmacro %}

{# Whole days from one timestamp to another. #}
{% macro days_between(start, finish) %}
  {{ return(adapter.dispatch('days_between', 'customer_segmentation')(start, finish)) }}
{% endmacro %}
{% macro default__days_between(start, finish) %}date_diff('day', cast({{ start }} as date), cast({{ finish }} as date)){% endmacro %}
{% macro spark__days_between(start, finish) %}datediff(cast({{ finish }} as date), cast({{ start }} as date)){% endmacro %}

{# Seconds from one timestamp to another (a double). #}
{% macro seconds_between(start, finish) %}
  {{ return(adapter.dispatch('seconds_between', 'customer_segmentation')(start, finish)) }}
{% endmacro %}
{% macro default__seconds_between(start, finish) %}cast(date_diff('second', {{ start }}, {{ finish }}) as double){% endmacro %}
{% macro spark__seconds_between(start, finish) %}cast(unix_timestamp({{ finish }}) - unix_timestamp({{ start }}) as double){% endmacro %}
