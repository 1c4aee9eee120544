{#-
  Lines of an input file: whitespace-separated fields, line spans, row numbers in file order.
  One dispatch family each (adapter.dispatch): the DuckDB default, and the Spark variant
  where the syntax differs (make test-spark). See README "Beyond one machine".
-#}

{# The n-th (1-based) field of a line whose fields are separated by runs of spaces or tabs. #}
{% macro whitespace_field(line, n) %}
  {{ return(adapter.dispatch('whitespace_field', 'customer_segmentation')(line, n)) }}
{% endmacro %}
{% macro default__whitespace_field(line, n) %}string_split_regex(trim({{ line }}), '\s+')[{{ n }}]{% endmacro %}
{% macro spark__whitespace_field(line, n) %}element_at(split(trim({{ line }}), '\\s+'), {{ n }}){% endmacro %}

{# Fields in a line whose fields are separated by runs of spaces or tabs. #}
{% macro whitespace_field_count(line) %}
  {{ return(adapter.dispatch('whitespace_field_count', 'customer_segmentation')(line)) }}
{% endmacro %}
{% macro default__whitespace_field_count(line) %}len(string_split_regex(trim({{ line }}), '\s+')){% endmacro %}
{% macro spark__whitespace_field_count(line) %}size(split(trim({{ line }}), '\\s+')){% endmacro %}

{# Physical lines a text spans beyond its first: its line breaks, less the lines inside it that are blank
   (an independent line count skips blank lines). #}
{% macro extra_lines(expression) %}
  {{ return(adapter.dispatch('extra_lines', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__extra_lines(expression) %}(length({{ expression }}) - length(replace({{ expression }}, chr(10), ''))
    - len(list_filter(string_split({{ expression }}, chr(10))[2:-2], lambda x: trim(x, ' ' || chr(9) || chr(13)) = ''))){% endmacro %}
{% macro spark__extra_lines(expression) %}(length({{ expression }}) - length(replace({{ expression }}, chr(10), ''))
    - size(filter(slice(split({{ expression }}, chr(10)), 2, greatest(size(split({{ expression }}, chr(10))) - 2, 0)), x -> trim(x) = ''))){% endmacro %}

{# A number per row of a file read, increasing in file order (DuckDB: 1, 2, 3, ...; Spark:
   increasing, not consecutive, without moving every row into one partition). #}
{% macro file_row_number() %}
  {{ return(adapter.dispatch('file_row_number', 'customer_segmentation')()) }}
{% endmacro %}
{% macro default__file_row_number() %}row_number() over (){% endmacro %}
{% macro spark__file_row_number() %}(monotonically_increasing_id() + 1){% endmacro %}
