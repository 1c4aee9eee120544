{#-
  Row hashes and the hash fractions samples are drawn by.
  One dispatch family each (adapter.dispatch): the DuckDB default, and the Spark variant
  where the syntax differs (make test-spark). See README "Beyond one machine".
-#}

{# A 64-bit hash of several columns, NULL-safe, for grouping identical records. #}
{% macro row_hash(columns) %}
  {{ return(adapter.dispatch('row_hash', 'customer_segmentation')(columns)) }}
{% endmacro %}
{% macro default__row_hash(columns) %}hash({{ columns | join(', ') }}){% endmacro %}
{% macro spark__row_hash(columns) %}xxhash64({{ columns | join(', ') }}){% endmacro %}

{# A number in [0, 1) from the hash of several columns: uniform and deterministic, for
   picking pseudo-random samples the same way on every engine (DuckDB's hash is unsigned,
   Spark's xxhash64 is signed 64-bit). #}
{% macro hash_fraction(columns) %}
  {{ return(adapter.dispatch('hash_fraction', 'customer_segmentation')(columns)) }}
{% endmacro %}
{% macro default__hash_fraction(columns) %}({{ row_hash(columns) }} / 18446744073709551616.0){% endmacro %}
{% macro spark__hash_fraction(columns) %}({{ row_hash(columns) }} / 18446744073709551616.0 + 0.5){% endmacro %}
