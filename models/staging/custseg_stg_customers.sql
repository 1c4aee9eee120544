{#-
  One row per input row: the columns of the input contract (macros/input.sql) renamed,
  typed and validated. Nothing is dropped here: a row that breaks a rule keeps its place
  with the reasons in `reject_reasons` (codes) and `reject_detail` (which value, which
  rule), and rejected_customers picks it up.

  * the id: trimmed text ('17850.0' is 17850 when every id is a whole number); a table
    without an id column numbers its rows instead (1 = the first data row);
  * features and profiled measures: numbers as the contract's kind says (text that means
    no value, such as '', NA, N/A, null or '-', is missing and imputed later; other text
    that is not a plain number is `non_numeric_value`); date columns become days before
    the latest date of the column (or `as_of`);
  * categorical attributes: trimmed text, missing tokens as NULL;
  * ignored columns: carried as they are, as text.

  With segment_mode score_changes, only the rows of customers in customer_changes (and rows
  without an id) are staged, into stg_customers__changes (macros/score_changes.sql).

  A CSV line that does not parse (too few or too many fields, a broken quote, invalid
  UTF-8) is appended as a row of its own, numbered after the readable rows, with reason
  malformed_line. `line_span` is how many physical lines a row took (a quoted value may
  hold line breaks); the conservation test compares its sum with an independent count.
-#}
{{ config(pre_hook=input_line_check_hooks('customers')) }}
-- depends_on: {{ ref('customer_segmentation', 'int_transaction_customers') }}
{% set settings = run_context().settings -%}
{%- set input = run_context().input -%}
{%- set seed = ref('customer_segmentation', 'custseg_sample_customers') if not is_spark() else none -%}
{%- set changes_only = score_changes_mode() -%}
{% if changes_only %}-- depends_on: {{ ref('customer_segmentation', 'customer_changes') }}
{% endif %}
{%- set contract = input.contract -%}
{%- set id_sql = customer_id_sql(input) -%}
{%- set by_id_column = contract_columns(contract, ['id']) | length > 0 -%}
{%- set measures = measure_columns(contract) -%}
{%- set categoricals = contract_columns(contract, ['categorical']) -%}
{%- set ignored = contract_columns(contract, ['ignored']) -%}
{%- set tokens = contract.get('missing_tokens', ['']) -%}
{%- set text_source = input.source.get('kind') in ('csv', 'table') -%}
{%- set all_fields = [] -%}
{%- for c in contract.columns -%}{%- do all_fields.append(input_field(input, c)) -%}{%- endfor -%}

with source_rows as (

    select
        *,
        {{ file_row_number() }} as source_row_number
    from {{ customer_source(input) }}

),

parsed as (

    select
        source_row_number,
        {%- if input.source.get('whitespace') %}
        1 as line_span,
        {{ whitespace_field_count('line') }} as field_count,
        {%- elif input.is_csv and all_fields %}
        1 + case when strpos(concat_ws(chr(31), {{ all_fields | join(', ') }}), chr(10)) > 0
                 then {{ extra_lines('concat_ws(chr(31), ' ~ (all_fields | join(', ')) ~ ')') }} else 0 end as line_span,
        cast(null as integer) as field_count,
        {%- else %}
        1 as line_span,
        cast(null as integer) as field_count,
        {%- endif %}
        {{ id_sql }} as customer_id,
        {{ row_hash(all_fields or ['source_row_number']) }} as input_row_hash,
        {%- for c in categoricals %}
        {%- set t = "cast(" ~ input_field(input, c) ~ " as string)" %}
        case when {{ is_missing_text(t, tokens) }} then null else trim({{ t }}) end as {{ quote_identifier(c.name) }},
        {%- endfor %}
        {%- for c in ignored %}
        cast({{ input_field(input, c) }} as string) as {{ quote_identifier(c.name) }},
        {%- endfor %}
        {%- for c in measures %}
        {%- set field = input_field(input, c) %}
        {%- set text_column = quote_identifier(c.name ~ '__text') %}
        {%- if c.date_formats and c.date_formats != ['native'] %}
        {%- set t = "trim(cast(" ~ field ~ " as string))" %}
        case when {{ is_missing_text(t, tokens) }} then null else {{ t }} end as {{ text_column }},
        {{ date_time_sql(input, c) }} as {{ quote_identifier(c.name ~ '__time') }}
        {%- elif c.date_formats %}
        cast({{ field }} as string) as {{ text_column }},
        {{ date_time_sql(input, c) }} as {{ quote_identifier(c.name ~ '__time') }}
        {%- elif c.dtype in ('text',) or text_source %}
        {%- set t = "trim(cast(" ~ field ~ " as string))" %}
        case when {{ is_missing_text(t, tokens) }} then null else {{ t }} end as {{ text_column }},
        case when not {{ is_missing_text(t, tokens) }} then {{ number_from_text(t, contract, c) }} end
            as {{ quote_identifier(c.name ~ '__parsed') }}
        {%- else %}
        case when {{ field }} is null or {{ is_nan(try_to_double(field)) }} then null
             else cast({{ field }} as string) end as {{ text_column }},
        {{ try_to_double(field) }} as {{ quote_identifier(c.name ~ '__parsed') }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from source_rows
    {%- if changes_only and by_id_column %}
    {#- before the values are parsed: the changed customers' rows only #}
    where {{ id_sql }} is null or {{ id_sql }} in {{ changed_customer_ids() }}
    {%- endif %}

),

typed as (

    select
        source_row_number,
        line_span,
        field_count,
        customer_id,
        input_row_hash,
        {%- for c in categoricals + ignored %}
        {{ quote_identifier(c.name) }},
        {%- endfor %}
        {%- for c in measures %}
        {%- set text_column = quote_identifier(c.name ~ '__text') %}
        {%- if c.date_formats %}
        {%- set time_column = quote_identifier(c.name ~ '__time') %}
        {%- if settings.as_of %}
        {%- set reference = "cast(" ~ sql_string(settings.as_of) ~ " as timestamp)" %}
        {%- elif changes_only %}
        {#- the latest date of the whole input, as in a full build #}
        {%- set reference = date_reference_sql(input, c, 'source_rows') %}
        {%- else %}
        {%- set reference = "max(" ~ time_column ~ ") over ()" %}
        {%- endif %}
        cast({{ days_between(time_column, reference) }} as double) as {{ quote_identifier(c.name) }},
        ({{ text_column }} is not null and {{ time_column }} is null) as {{ quote_identifier(c.name ~ '__unreadable') }},
        {%- else %}
        {%- set parsed_column = quote_identifier(c.name ~ '__parsed') %}
        {{ finite_or_null(parsed_column) }} as {{ quote_identifier(c.name) }},
        ({{ text_column }} is not null and {{ finite_or_null(parsed_column) }} is null)
            as {{ quote_identifier(c.name ~ '__unreadable') }},
        {%- endif %}
        {{ text_column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from parsed
    {%- if changes_only and not by_id_column %}
    {#- rows numbered as ids: after every row has its number #}
    where customer_id is null or customer_id in {{ changed_customer_ids() }}
    {%- endif %}

),

{#- Each rule yields a reason code (or NULL) and a sentence naming the value, built only
    inside the CASE branch of a failing rule, so valid rows pay nothing for it. -#}
{%- set codes = ["case when customer_id is null then 'missing_customer_id' end"] %}
{%- set details = ["case when customer_id is null then 'customer id is missing' end"] %}
{%- if input.source.get('whitespace') %}
  {%- set bad = "field_count <> " ~ (contract.columns | length) %}
  {%- do codes.append("case when " ~ bad ~ " then 'malformed_line' end") %}
  {%- do details.append("case when " ~ bad ~ " then 'line has ' || cast(field_count as string) || "
      ~ sql_string(" fields, not " ~ (contract.columns | length)) ~ " end") %}
{%- endif %}
{%- for c in measures %}
  {%- set v = quote_identifier(c.name) %}
  {%- set unreadable = quote_identifier(c.name ~ '__unreadable') %}
  {%- set shown = quote_identifier(c.name ~ '__text') %}
  {%- if c.date_formats %}
    {%- do validation_rule(codes, details, unreadable, "unparseable_date", c.input_column, "is not a date in a known format", shown) %}
  {%- else %}
    {%- do validation_rule(codes, details, unreadable, "non_numeric_value", c.input_column, "is not a number", shown) %}
  {%- endif %}
  {%- if c.is_required %}
    {%- do validation_note(codes, details, shown ~ " is null", "missing_required_value", c.input_column, "is missing") %}
  {%- endif %}
  {%- if c.min_value is not none and c.invalid_code %}
    {%- set op = "<=" if c.min_is_exclusive else "<" %}
    {%- set bound = (c.min_value | string) %}
    {%- set rule = v ~ " " ~ op ~ " " ~ c.min_value ~ ((" or " ~ v ~ " > " ~ c.max_value) if c.max_value is not none else "") %}
    {%- set message = "is " ~ ("not above " if c.min_is_exclusive else "below ") ~ ("%g" | format(c.min_value)) ~ ((" or above " ~ ("%g" | format(c.max_value))) if c.max_value is not none else "") %}
    {%- do validation_rule(codes, details, rule, c.invalid_code, c.input_column, message, shown) %}
  {%- elif c.max_value is not none and c.invalid_code %}
    {%- do validation_rule(codes, details, v ~ " > " ~ c.max_value, c.invalid_code, c.input_column, "is above " ~ ("%g" | format(c.max_value)), shown) %}
  {%- endif %}
  {%- if c.is_integer and c.non_integer_code %}
    {%- do validation_rule(codes, details, v ~ " <> floor(" ~ v ~ ")", c.non_integer_code, c.input_column, "is not a whole number", shown) %}
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
    line_span,
    customer_id,
    {%- for c in measures %}
    {{ quote_identifier(c.name) }},
    {%- endfor %}
    {%- for c in categoricals + ignored %}
    {{ quote_identifier(c.name) }},
    {%- endfor %}
    {#- Distinct codes in a fixed (alphabetical) order, comma-separated; '' for a valid row. #}
    case when reject_codes_in_order = '' then ''
         else {{ sorted_distinct_codes('reject_codes_in_order') }}
    end as reject_reasons,
    reject_detail,
    reject_codes_in_order = '' as is_valid,
    {%- set hashed = ['customer_id'] %}
    {%- for c in measures + categoricals + ignored %}{% do hashed.append(quote_identifier(c.name)) %}{% endfor %}
    {{ row_hash(hashed) }} as record_hash,
    input_row_hash
from validated
{%- if input.is_csv %}

union all

select
    source_row_number,
    line_span,
    {{ 'cast(source_row_number as string)' if contract.get('id_source') == 'row_number' else 'line_customer_id' }} as customer_id,
    {%- for c in measures %}
    cast(null as double) as {{ quote_identifier(c.name) }},
    {%- endfor %}
    {%- for c in categoricals + ignored %}
    cast(null as string) as {{ quote_identifier(c.name) }},
    {%- endfor %}
    'malformed_line' as reject_reasons,
    reject_detail,
    false as is_valid,
    {{ row_hash(['source_row_number', 'reject_detail']) }} as record_hash,
    null as input_row_hash
from ({{ customer_input_malformed_lines(input) }}) as malformed_lines
{%- endif %}
