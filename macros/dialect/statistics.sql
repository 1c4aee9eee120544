{#-
  Quantiles and medians (aggregates).
  One dispatch family each (adapter.dispatch): the DuckDB default, and the Spark variant
  where the syntax differs (make test-spark). See README "Beyond one machine".
-#}

{# Continuous quantile of a column (aggregate). #}
{% macro quantile_cont(column, q) %}
  {{ return(adapter.dispatch('quantile_cont', 'customer_segmentation')(column, q)) }}
{% endmacro %}
{% macro default__quantile_cont(column, q) %}percentile_cont({{ q }}) within group (order by {{ column }}){% endmacro %}
{% macro duckdb__quantile_cont(column, q) %}quantile_cont({{ column }}, {{ q }}){% endmacro %}
{% macro spark__quantile_cont(column, q) %}percentile({{ column }}, {{ q }}){% endmacro %}

{# Approximate quantile of a column (aggregate) in bounded memory: a sketch, not every value. #}
{% macro approx_quantile(column, q) %}
  {{ return(adapter.dispatch('approx_quantile', 'customer_segmentation')(column, q)) }}
{% endmacro %}
{% macro default__approx_quantile(column, q) %}approx_percentile({{ column }}, {{ q }}){% endmacro %}
{% macro duckdb__approx_quantile(column, q) %}approx_quantile({{ column }}, {{ q }}){% endmacro %}
{% macro spark__approx_quantile(column, q) %}percentile_approx({{ column }}, {{ q }}){% endmacro %}

{# Median (aggregate). #}
{% macro median(column) %}
  {{ return(adapter.dispatch('median', 'customer_segmentation')(column)) }}
{% endmacro %}
{% macro default__median(column) %}median({{ column }}){% endmacro %}
{% macro spark__median(column) %}percentile({{ column }}, 0.5){% endmacro %}
