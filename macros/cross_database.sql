{#-
  The few SQL pieces that differ between engines, behind adapter.dispatch so the models
  stay portable: DuckDB is the default implementation; the Spark/Databricks variants run in
  make test-spark (see README, "Beyond one machine").
-#}

{# numerator / denominator, with `fallback` when the denominator is 0 and NULL when either is NULL. #}
{% macro safe_divide(numerator, denominator, fallback=0) %}
  case
    when ({{ numerator }}) is null or ({{ denominator }}) is null then null
    when ({{ denominator }}) = 0 then {{ fallback }}
    else ({{ numerator }}) / ({{ denominator }})
  end
{% endmacro %}

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

{# Parse text as a double; NULL when it is not a number. #}
{% macro try_to_double(expression) %}
  {{ return(adapter.dispatch('try_to_double', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__try_to_double(expression) %}try_cast({{ expression }} as double){% endmacro %}
{% macro spark__try_to_double(expression) %}try_cast({{ expression }} as double){% endmacro %}

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

{# Join the non-NULL strings of a list with a separator ('' when all are NULL). #}
{% macro concat_non_null(expressions, separator=',') %}
  {{ return(adapter.dispatch('concat_non_null', 'customer_segmentation')(expressions, separator)) }}
{% endmacro %}
{% macro default__concat_non_null(expressions, separator) %}coalesce(concat_ws({{ sql_string(separator) }}, {{ expressions | join(', ') }}), ''){% endmacro %}

{# The value when it is a finite number, else NULL (NaN and +-infinity parse as doubles). #}
{% macro finite_or_null(expression) %}
  {{ return(adapter.dispatch('finite_or_null', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__finite_or_null(expression) %}case when isfinite({{ expression }}) then {{ expression }} end{% endmacro %}
{% macro spark__finite_or_null(expression) %}case when not isnan({{ expression }}) and abs({{ expression }}) < double('infinity') then {{ expression }} end{% endmacro %}

{# A comma-separated list of codes, de-duplicated and sorted alphabetically. #}
{% macro sorted_distinct_codes(expression) %}
  {{ return(adapter.dispatch('sorted_distinct_codes', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__sorted_distinct_codes(expression) %}array_to_string(list_sort(list_distinct(string_split({{ expression }}, ','))), ','){% endmacro %}
{% macro spark__sorted_distinct_codes(expression) %}array_join(array_sort(array_distinct(split({{ expression }}, ','))), ','){% endmacro %}

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

{# Stop the query with a message (one line) when the condition holds; NULL otherwise. #}
{% macro fail_when(condition, message) %}
  {{ return(adapter.dispatch('fail_when', 'customer_segmentation')(condition, message)) }}
{% endmacro %}
{% macro default__fail_when(condition, message) %}case when {{ condition }} then error({{ message }}) end{% endmacro %}
{% macro spark__fail_when(condition, message) %}case when {{ condition }} then raise_error({{ message }}) end{% endmacro %}

{# Seconds from one timestamp to another (a double). #}
{% macro seconds_between(start, finish) %}
  {{ return(adapter.dispatch('seconds_between', 'customer_segmentation')(start, finish)) }}
{% endmacro %}
{% macro default__seconds_between(start, finish) %}cast(date_diff('second', {{ start }}, {{ finish }}) as double){% endmacro %}
{% macro spark__seconds_between(start, finish) %}cast(unix_timestamp({{ finish }}) - unix_timestamp({{ start }}) as double){% endmacro %}

{# Strings of a group joined with a separator, in an order (Spark: in no particular order). #}
{% macro joined_in_order(expression, separator, order_by) %}
  {{ return(adapter.dispatch('joined_in_order', 'customer_segmentation')(expression, separator, order_by)) }}
{% endmacro %}
{% macro default__joined_in_order(expression, separator, order_by) %}{{ dbt.listagg(expression, separator, order_by) }}{% endmacro %}
{% macro spark__joined_in_order(expression, separator, order_by) %}concat_ws({{ separator }}, collect_list({{ expression }})){% endmacro %}

{# A number per row of a file read, increasing in file order (DuckDB: 1, 2, 3, ...; Spark:
   increasing, not consecutive, without moving every row into one partition). #}
{% macro file_row_number() %}
  {{ return(adapter.dispatch('file_row_number', 'customer_segmentation')()) }}
{% endmacro %}
{% macro default__file_row_number() %}row_number() over (){% endmacro %}
{% macro spark__file_row_number() %}(monotonically_increasing_id() + 1){% endmacro %}

{# True when a text is valid JSON. #}
{% macro is_json(expression) %}
  {{ return(adapter.dispatch('is_json', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__is_json(expression) %}json_valid({{ expression }}){% endmacro %}
{% macro spark__is_json(expression) %}(json_object_keys({{ expression }}) is not null){% endmacro %}

{# An id written as a whole number with a decimal fraction of zeros ('17850.0', as spreadsheets
   and pandas export an id column with gaps) as the whole number ('17850'); others as they are. #}
{% macro whole_number_id(expression) %}
  {{ return(adapter.dispatch('whole_number_id', 'customer_segmentation')(expression)) }}
{% endmacro %}
{% macro default__whole_number_id(expression) %}regexp_replace({{ expression }}, '^([0-9]+)[.]0+$', '\1'){% endmacro %}
{% macro spark__whole_number_id(expression) %}regexp_replace({{ expression }}, '^([0-9]+)[.]0+$', '$1'){% endmacro %}

{# Replace every match of a regular expression. #}
{% macro regexp_replace_all(expression, pattern, replacement) %}
  {{ return(adapter.dispatch('regexp_replace_all', 'customer_segmentation')(expression, pattern, replacement)) }}
{% endmacro %}
{% macro default__regexp_replace_all(expression, pattern, replacement) %}regexp_replace({{ expression }}, {{ sql_string(pattern) }}, {{ sql_string(replacement) }}, 'g'){% endmacro %}
{% macro spark__regexp_replace_all(expression, pattern, replacement) %}regexp_replace({{ expression }}, {{ sql_string(pattern) }}, {{ sql_string(replacement) }}){% endmacro %}
