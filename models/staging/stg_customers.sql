{#-
  One row per input row: renamed to snake_case, typed, and validated.
  Nothing is dropped here: a row that breaks a rule keeps its place with the reasons in
  `reject_reasons` (codes) and `reject_detail` (which value, which rule), and
  rejected_customers picks it up.
  A CSV line that does not parse (too few or too many fields, a broken quote, invalid
  UTF-8) is appended as a row of its own, numbered after the readable rows, with reason
  malformed_line (see customer_input_line_check_hooks in macros/input.sql).
-#}
{{ config(pre_hook=customer_input_line_check_hooks()) }}
{%- set settings = segmentation_settings() -%}
{%- set input = resolve_customer_input() -%}
{%- set is_csv_input = customer_input_relation().is_csv -%}
{%- set numeric = customer_numeric_columns() -%}
{%- set required_values = customer_columns_required_values() -%}

{#- How each numeric column is read: text (CSV) is trimmed and parsed, typed columns (Parquet)
    are cast, absent optional columns are NULL. -#}
{%- set is_text = {} -%}
{%- for c in numeric -%}
  {%- set col = input.columns[c.name] -%}
  {%- do is_text.update({c.name: (col is not none and col.type == 'VARCHAR')}) -%}
{%- endfor -%}

with source_rows as (

    select
        *,
        row_number() over () as source_row_number
    from {{ input.relation }}

),

parsed as (

    select
        source_row_number,
        {%- set id_col = input.columns['customer_id'] %}
        nullif(trim(cast({{ quote_identifier(id_col.source) }} as varchar)), '') as customer_id,
        {%- for name, source in input.categoricals.items() %}
        nullif(trim(cast({{ quote_identifier(source) }} as varchar)), '') as {{ name }},
        {%- endfor %}
        {%- for c in numeric %}
        {%- set col = input.columns[c.name] %}
        {%- if col is none %}
        cast(null as double) as {{ c.name }}__parsed,
        false as {{ c.name }}__present
        {%- elif is_text[c.name] %}
        {%- set text = "nullif(trim(" ~ quote_identifier(col.source) ~ "), '')" %}
        {{ text }} as {{ c.name }}__text,
        {{ try_to_double(text) }} as {{ c.name }}__parsed,
        ({{ text }} is not null and lower({{ text }}) <> 'nan') as {{ c.name }}__present
        {%- else %}
        {{ try_to_double(quote_identifier(col.source)) }} as {{ c.name }}__parsed,
        ({{ quote_identifier(col.source) }} is not null
            and not coalesce({{ is_nan(try_to_double(quote_identifier(col.source))) }}, false)) as {{ c.name }}__present
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from source_rows

),

typed as (

    select
        source_row_number,
        customer_id,
        {%- for name in input.categoricals %}
        {{ name }},
        {%- endfor %}
        {%- for c in numeric %}
        {{ finite_or_null(c.name ~ '__parsed') }} as {{ c.name }},
        ({{ c.name }}__present and {{ finite_or_null(c.name ~ '__parsed') }} is null) as {{ c.name }}__not_a_number,
        {%- if is_text[c.name] %}
        {{ c.name }}__text,
        {%- endif %}
        {{ c.name }}__parsed{{ ',' if not loop.last }}
        {%- endfor %}
    from parsed

),

{#- Each rule yields a reason code (or NULL) and a sentence naming the value. The value is
    quoted as read: the text itself for a CSV, the typed value cast to text otherwise. The
    sentence is built only inside the CASE branch of a failing rule, so valid rows pay
    nothing for it. -#}
{%- set codes = ["case when customer_id is null then 'missing_customer_id' end"] %}
{%- set details = ["case when customer_id is null then 'customer id is missing' end"] %}
{%- for c in numeric %}
  {%- set v = c.name %}
  {%- set shown = (v ~ "__text") if is_text[v] else ("cast(" ~ v ~ "__parsed as varchar)") %}
  {%- set quoted = "'''' || " ~ shown ~ " || ''''" if is_text[v] else shown %}
  {%- do validation_rule(codes, details, v ~ "__not_a_number", "non_numeric_value", v, "is not a number", quoted) %}
  {%- if v in required_values %}
    {%- do codes.append("case when " ~ v ~ " is null and not " ~ v ~ "__not_a_number then 'missing_required_value' end") %}
    {%- do details.append("case when " ~ v ~ " is null and not " ~ v ~ "__not_a_number then '" ~ v ~ " is missing' end") %}
  {%- endif %}
  {%- if c.kind in ('amount', 'count') %}
    {%- do validation_rule(codes, details, v ~ " < 0", "negative_amount", v, "is negative", shown) %}
  {%- endif %}
  {%- if c.kind == 'count' %}
    {%- do validation_rule(codes, details, v ~ " >= 0 and " ~ v ~ " <> floor(" ~ v ~ ")", "non_integer_count", v,
                           "is not a whole number", shown) %}
  {%- endif %}
  {%- if c.kind == 'frequency' %}
    {%- do validation_rule(codes, details, v ~ " < 0 or " ~ v ~ " > 1", "frequency_out_of_range", v,
                           "is outside [0, 1]", shown) %}
  {%- endif %}
  {%- if c.kind == 'limit' %}
    {%- do validation_rule(codes, details, v ~ " <= 0", "invalid_credit_limit", v, "is not positive", shown) %}
  {%- endif %}
  {%- if c.kind == 'months' %}
    {%- do validation_rule(codes, details, v ~ " < 1 or " ~ v ~ " > 600 or " ~ v ~ " <> floor(" ~ v ~ ")",
                           "invalid_tenure", v, "is not a whole number of months from 1 to 600", shown) %}
  {%- endif %}
{%- endfor %}

validated as (

    select
        *,
        {{ concat_non_null(codes) }} as reject_codes_in_order,
        {{ concat_non_null(details, '; ') }} as reject_detail
    from typed

)

select
    source_row_number,
    customer_id,
    {%- for c in numeric %}
    {{ c.name }},
    {%- endfor %}
    {%- for name in input.categoricals %}
    {{ name }},
    {%- endfor %}
    {#- Distinct codes in a fixed (alphabetical) order, comma-separated; '' for a valid row. #}
    case when reject_codes_in_order = '' then ''
         else {{ sorted_distinct_codes('reject_codes_in_order') }}
    end as reject_reasons,
    reject_detail,
    reject_codes_in_order = '' as is_valid,
    {{ row_hash(['customer_id'] + (numeric | map(attribute='name') | list) + (input.categoricals.keys() | list)) }}
        as record_hash
from validated
{%- if is_csv_input %}

union all

select
    source_row_number,
    line_customer_id as customer_id,
    {%- for c in numeric %}
    cast(null as double) as {{ c.name }},
    {%- endfor %}
    {%- for name in input.categoricals %}
    cast(null as varchar) as {{ name }},
    {%- endfor %}
    'malformed_line' as reject_reasons,
    reject_detail,
    false as is_valid,
    {{ row_hash(['source_row_number', 'reject_detail']) }} as record_hash
from ({{ customer_input_malformed_lines() }}) as malformed_lines
{%- endif %}
