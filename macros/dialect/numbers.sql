{#-
  Numbers: safe division, finite values, NaN, text that is a number, ids written as whole numbers.
  One dispatch family each (adapter.dispatch): the DuckDB default, and the Spark variant
  where the syntax differs (make test-spark). See README "Beyond one machine".
-#}

{# numerator / denominator, with `fallback` when the denominator is 0 and NULL when either is NULL. #}
{% macro safe_divide(numerator, denominator, fallback=0) %}
  case
    when ({{ numerator }}) is null or ({{ denominator }}) is null then null
    when ({{ denominator }}) = 0 then {{ fallback }}
    else ({{ numerator }}) / ({{ denominator }})
  end
{% endmacro %}

{# Parse text as a double; NULL when it is not a number. #}
{% macro try_to_double(expression) %}
  {{ return(adapter.dispatch('try_to_double', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__try_to_double(expression) %}try_cast({{ expression }} as double){% endmacro %}
{% macro spark__try_to_double(expression) %}try_cast({{ expression }} as double){% endmacro %}

{# The value when it is a finite number, else NULL (NaN and +-infinity parse as doubles). #}
{% macro finite_or_null(expression) %}
  {{ return(adapter.dispatch('finite_or_null', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__finite_or_null(expression) %}case when isfinite({{ expression }}) then {{ expression }} end{% endmacro %}
{% macro spark__finite_or_null(expression) %}case when not isnan({{ expression }}) and abs({{ expression }}) < double('infinity') then {{ expression }} end{% endmacro %}

{# True when a double is NaN (NULL stays NULL). #}
{% macro is_nan(expression) %}
  {{ return(adapter.dispatch('is_nan', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__is_nan(expression) %}isnan({{ expression }}){% endmacro %}
{% macro spark__is_nan(expression) %}isnan({{ expression }}){% endmacro %}

{# True when a text is a plain number (digits, optional sign, point and exponent; no '1_000'). #}
{% macro text_is_number(expression, pattern) %}
  {{ return(adapter.dispatch('text_is_number', 'customer_segmentation')(expression, pattern)) }}
{% endmacro %}
{% macro default__text_is_number(expression, pattern) %}regexp_full_match({{ expression }}, {{ sql_string(pattern) }}){% endmacro %}
{% macro spark__text_is_number(expression, pattern) %}({{ expression }} rlike {{ sql_string(pattern) }}){% endmacro %}

{# An id written as a whole number with a decimal fraction of zeros ('17850.0', as spreadsheets
   and pandas export an id column with gaps) as the whole number ('17850'); others as they are. #}
{% macro whole_number_id(expression) %}
  {{ return(adapter.dispatch('whole_number_id', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__whole_number_id(expression) %}regexp_replace({{ expression }}, '^([0-9]+)[.]0+$', '\1'){% endmacro %}
{% macro spark__whole_number_id(expression) %}regexp_replace({{ expression }}, '^([0-9]+)[.]0+$', '$1'){% endmacro %}
