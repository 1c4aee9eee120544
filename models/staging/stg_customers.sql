{#-
  One row per input row: renamed to snake_case, typed, and validated.
  Nothing is dropped here: a row that breaks a rule keeps its place with the reasons in
  `reject_reasons` (codes) and `reject_detail` (which value, which rule), and
  rejected_customers picks it up.
-#}
{%- set settings = segmentation_settings() -%}
{%- set input = resolve_customer_input() -%}
{%- set numeric = customer_numeric_columns() -%}
{%- set required_values = customer_columns_required_values() -%}

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
        cast(null as varchar) as {{ c.name }}__text,
        cast(null as double) as {{ c.name }}__parsed,
        false as {{ c.name }}__present
        {%- elif col.type == 'VARCHAR' %}
        {%- set text = "nullif(trim(" ~ quote_identifier(col.source) ~ "), '')" %}
        {{ text }} as {{ c.name }}__text,
        {{ try_to_double(text) }} as {{ c.name }}__parsed,
        ({{ text }} is not null and lower({{ text }}) <> 'nan') as {{ c.name }}__present
        {%- else %}
        cast({{ quote_identifier(col.source) }} as varchar) as {{ c.name }}__text,
        {{ try_to_double(quote_identifier(col.source)) }} as {{ c.name }}__parsed,
        ({{ quote_identifier(col.source) }} is not null
            and not coalesce(isnan({{ try_to_double(quote_identifier(col.source)) }}), false)) as {{ c.name }}__present
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
        case when isfinite({{ c.name }}__parsed) then {{ c.name }}__parsed end as {{ c.name }},
        ({{ c.name }}__present and not coalesce(isfinite({{ c.name }}__parsed), false)) as {{ c.name }}__not_a_number,
        {{ c.name }}__text{{ ',' if not loop.last }}
        {%- endfor %}
    from parsed

),

{#- Each rule yields a reason code (or NULL) and a sentence naming the value. -#}
{%- set codes = ["case when customer_id is null then 'missing_customer_id' end"] %}
{%- set details = ["case when customer_id is null then 'customer id is missing' end"] %}
{%- for c in numeric %}
  {%- do codes.append("case when " ~ c.name ~ "__not_a_number then 'non_numeric_value' end") %}
  {%- do details.append("case when " ~ c.name ~ "__not_a_number then '" ~ c.name ~ "=''' || " ~ c.name ~ "__text || ''' is not a number' end") %}
  {%- if c.name in required_values %}
    {%- do codes.append("case when " ~ c.name ~ " is null and not " ~ c.name ~ "__not_a_number then 'missing_required_value' end") %}
    {%- do details.append("case when " ~ c.name ~ " is null and not " ~ c.name ~ "__not_a_number then '" ~ c.name ~ " is missing' end") %}
  {%- endif %}
  {%- if c.kind in ('amount', 'count') %}
    {%- do codes.append("case when " ~ c.name ~ " < 0 then 'negative_amount' end") %}
    {%- do details.append("case when " ~ c.name ~ " < 0 then '" ~ c.name ~ "=' || " ~ c.name ~ "__text || ' is negative' end") %}
  {%- endif %}
  {%- if c.kind == 'count' %}
    {%- do codes.append("case when " ~ c.name ~ " >= 0 and " ~ c.name ~ " <> floor(" ~ c.name ~ ") then 'non_integer_count' end") %}
    {%- do details.append("case when " ~ c.name ~ " >= 0 and " ~ c.name ~ " <> floor(" ~ c.name ~ ") then '" ~ c.name ~ "=' || " ~ c.name ~ "__text || ' is not a whole number' end") %}
  {%- endif %}
  {%- if c.kind == 'frequency' %}
    {%- do codes.append("case when " ~ c.name ~ " < 0 or " ~ c.name ~ " > 1 then 'frequency_out_of_range' end") %}
    {%- do details.append("case when " ~ c.name ~ " < 0 or " ~ c.name ~ " > 1 then '" ~ c.name ~ "=' || " ~ c.name ~ "__text || ' is outside [0, 1]' end") %}
  {%- endif %}
  {%- if c.kind == 'limit' %}
    {%- do codes.append("case when " ~ c.name ~ " <= 0 then 'invalid_credit_limit' end") %}
    {%- do details.append("case when " ~ c.name ~ " <= 0 then '" ~ c.name ~ "=' || " ~ c.name ~ "__text || ' is not positive' end") %}
  {%- endif %}
  {%- if c.kind == 'months' %}
    {%- do codes.append("case when " ~ c.name ~ " < 1 or " ~ c.name ~ " > 600 or " ~ c.name ~ " <> floor(" ~ c.name ~ ") then 'invalid_tenure' end") %}
    {%- do details.append("case when " ~ c.name ~ " < 1 or " ~ c.name ~ " > 600 or " ~ c.name ~ " <> floor(" ~ c.name ~ ") then '" ~ c.name ~ "=' || " ~ c.name ~ "__text || ' is not a whole number of months from 1 to 600' end") %}
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
    coalesce(array_to_string(list_sort(list_distinct(string_split(nullif(reject_codes_in_order, ''), ','))), ','), '')
        as reject_reasons,
    reject_detail,
    reject_codes_in_order = '' as is_valid,
    {{ row_hash(['customer_id'] + (numeric | map(attribute='name') | list) + (input.categoricals.keys() | list)) }}
        as record_hash
from validated
