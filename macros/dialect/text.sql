{#-
  Strings: joins of a group, distinct code lists, JSON checks, regular-expression replacement.
  One dispatch family each (adapter.dispatch): the DuckDB default, and the Spark variant
  where the syntax differs (make test-spark). See README "Beyond one machine".
-#}

{# Join the non-NULL strings of a list with a separator ('' when all are NULL). #}
{% macro concat_non_null(expressions, separator=',') %}
  {{ return(adapter.dispatch('concat_non_null', 'customer_segmentation')(expressions, separator)) }}
{% endmacro %}
{% macro default__concat_non_null(expressions, separator) %}coalesce(concat_ws({{ sql_string(separator) }}, {{ expressions | join(', ') }}), ''){% endmacro %}

{# A comma-separated list of codes, de-duplicated and sorted alphabetically. #}
{% macro sorted_distinct_codes(expression) %}
  {{ return(adapter.dispatch('sorted_distinct_codes', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__sorted_distinct_codes(expression) %}array_to_string(list_sort(list_distinct(string_split({{ expression }}, ','))), ','){% endmacro %}
{% macro spark__sorted_distinct_codes(expression) %}array_join(array_sort(array_distinct(split({{ expression }}, ','))), ','){% endmacro %}

{# Strings of a group joined with a separator, in an order (Spark: in no particular order). #}
{% macro joined_in_order(expression, separator, order_by) %}
  {{ return(adapter.dispatch('joined_in_order', 'customer_segmentation')(expression, separator, order_by)) }}
{% endmacro %}
{% macro default__joined_in_order(expression, separator, order_by) %}{{ dbt.listagg(expression, separator, order_by) }}{% endmacro %}
{% macro spark__joined_in_order(expression, separator, order_by) %}concat_ws({{ separator }}, collect_list({{ expression }})){% endmacro %}

{# True when a text is valid JSON. #}
{% macro is_json(expression) %}
  {{ return(adapter.dispatch('is_json', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__is_json(expression) %}json_valid({{ expression }}){% endmacro %}
{% macro spark__is_json(expression) %}(json_object_keys({{ expression }}) is not null){% endmacro %}

{# Replace every match of a regular expression. #}
{% macro regexp_replace_all(expression, pattern, replacement) %}
  {{ return(adapter.dispatch('regexp_replace_all', 'customer_segmentation')(expression, pattern, replacement)) }}
{% endmacro %}
{% macro default__regexp_replace_all(expression, pattern, replacement) %}regexp_replace({{ expression }}, {{ sql_string(pattern) }}, {{ sql_string(replacement) }}, 'g'){% endmacro %}
{% macro spark__regexp_replace_all(expression, pattern, replacement) %}regexp_replace({{ expression }}, {{ sql_string(pattern) }}, {{ sql_string(replacement) }}){% endmacro %}
