{#-
  Query plumbing: CTE materialization hints, and stopping a query with a message.
  One dispatch family each (adapter.dispatch): the DuckDB default, and the Spark variant
  where the syntax differs (make test-spark). See README "Beyond one machine".
-#}

{# Hint that a CTE read several times should be re-read rather than held in memory
   (DuckDB materializes such CTEs by default; other engines ignore or reject the hint). #}
{% macro cte_not_materialized() %}
  {{ return(adapter.dispatch('cte_not_materialized', 'customer_segmentation')()) }}
{% endmacro %}
{% macro default__cte_not_materialized() %}not materialized{% endmacro %}
{% macro spark__cte_not_materialized() %}{% endmacro %}

{# Hint that a CTE should be computed once and held (DuckDB); other engines decide themselves. #}
{% macro cte_materialized() %}
  {{ return(adapter.dispatch('cte_materialized', 'customer_segmentation')()) }}
{% endmacro %}
{% macro default__cte_materialized() %}materialized{% endmacro %}
{% macro spark__cte_materialized() %}{% endmacro %}

{# Stop the query with a message (one line) when the condition holds; NULL otherwise. #}
{% macro fail_when(condition, message) %}
  {{ return(adapter.dispatch('fail_when', 'customer_segmentation')(condition, message)) }}
{% endmacro %}
{% macro default__fail_when(condition, message) %}case when {{ condition }} then error({{ message }}) end{% endmacro %}
{% macro spark__fail_when(condition, message) %}case when {{ condition }} then raise_error({{ message }}) end{% endmacro %}
