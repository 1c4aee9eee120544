{#-
  One row per line of the transaction log (transactions_path), typed and validated. Nothing
  is dropped here: exact duplicates are collapsed next (int_transactions__deduplicated) and
  a row that cannot be used keeps its place with its reasons (rejected_transactions):

    missing_customer_id   no customer id: a guest purchase (reported apart, and not counted
                          toward max_rejected_share)
    missing_date, unparseable_date (also a date that reads as well day-first as
                          month-first), date_after_as_of (on or after the as_of var)
    missing_amount, non_numeric_amount (or _quantity, _unit_price when the amount is
                          quantity x unit price)
    zero_amount           a line worth nothing (zero amount, or zero quantity)
    non_positive_price    a unit price of zero or below
    not_a_purchase        in a clickstream log (an event-type column whose values include a
                          purchase), a view, cart or other event: set apart like guests
    malformed_line        a CSV line that does not parse

  A negative quantity or amount is a return: kept. The amount of a line is `amount`, or
  quantity x unit_price, or unit_price alone (a log of single items, such as a clickstream's
  purchase events). Typed columns (Parquet) are read as they are; text is parsed.
  Empty without transactions_path.
-#}
{{ config(pre_hook=input_line_check_hooks('transactions')) }}
{%- set input = transaction_input() -%}
{%- set roles = input.roles -%}
{%- set tx = input.contract -%}
{%- set tokens = tx.get('missing_tokens', ['']) -%}
{%- set purchase_events = (tx.get('purchase_events') or []) if 'event_type' in roles else [] -%}
{%- set as_of = run_context().settings.as_of -%}
{%- set optional = ['order_id', 'product_id', 'category', 'channel', 'country'] -%}
{%- set numbers = ['amount'] if 'amount' in roles else (['quantity', 'unit_price'] if 'quantity' in roles else ['unit_price']) -%}
{%- if 'amount' in roles and 'quantity' in roles %}{% set numbers = ['amount', 'quantity'] %}{% endif -%}
{%- if not input.enabled %}

select
    cast(null as bigint) as source_row_number,
    cast(null as integer) as line_span,
    cast(null as string) as customer_id,
    cast(null as timestamp) as occurred_at,
    cast(null as double) as amount,
    cast(null as double) as quantity,
    cast(null as string) as order_id,
    cast(null as string) as product_id,
    cast(null as string) as category,
    cast(null as string) as channel,
    cast(null as string) as country,
    cast(null as string) as reject_reasons,
    cast(null as string) as reject_detail,
    cast(null as boolean) as is_valid,
    cast(null as boolean) as is_guest,
    cast(null as boolean) as is_other_event,
    cast(null as bigint) as raw_hash
where false
{%- else %}
{%- set all_fields = [] -%}
{%- for c in tx.columns %}{% do all_fields.append(input_field(input, c)) %}{% endfor -%}
{#- per canonical column: its text as written (trimmed), whether it is typed (Parquet), and
    when it counts as missing -#}
{%- set text_of = {} -%}
{%- set typed_roles = [] -%}
{%- set missing = {} -%}
{%- for role, c in roles.items() %}
  {%- set field = input_field(input, c) %}
  {%- set t = "trim(cast(" ~ field ~ " as string))" %}
  {%- do text_of.update({role: t}) %}
  {%- if input.source.get('kind') != 'csv' and (input.source.column_types.get(c.source_column, 'VARCHAR') | upper) not in ['VARCHAR', 'TEXT', 'STRING'] %}
    {%- do typed_roles.append(role) %}
    {%- do missing.update({role: "(" ~ field ~ " is null)"}) %}
  {%- else %}
    {%- do missing.update({role: is_missing_text(t, tokens)}) %}
  {%- endif %}
{%- endfor -%}

with source_rows as (

    select
        *,
        {{ file_row_number() }} as source_row_number
    from {{ input.relation }}

),

{#- The source columns stay (messages quote them, only for failing lines); what is derived
    here is named with a leading __. #}
parsed as (

    select
        *,
        {%- if input.source.get('whitespace') %}
        1 as __line_span,
        {{ whitespace_field_count('line') }} as __field_count,
        {%- elif input.is_csv %}
        1 + case when strpos(concat_ws(chr(31), {{ all_fields | join(', ') }}), chr(10)) > 0
                 then {{ extra_lines('concat_ws(chr(31), ' ~ (all_fields | join(', ')) ~ ')') }} else 0 end as __line_span,
        cast(null as integer) as __field_count,
        {%- else %}
        1 as __line_span,
        cast(null as integer) as __field_count,
        {%- endif %}
        {#- exact duplicates: every field of the line, as written #}
        {{ row_hash(all_fields) }} as __raw_hash,
        case when {{ missing['customer_id'] }} then null
             else {{ whole_number_id(text_of['customer_id']) if roles.customer_id.get('whole_numbers') else text_of['customer_id'] }} end as __customer_id,
        {{ missing['occurred_at'] }} as __missing_occurred_at,
        {%- if roles.occurred_at.date_formats == ['native'] %}
        cast({{ input_field(input, roles.occurred_at) }} as timestamp) as __occurred_at,
        {%- else %}
        coalesce({% for f in roles.occurred_at.date_formats %}{{ parse_timestamp(text_of['occurred_at'], f) }}{{ ', ' if not loop.last }}{% endfor %}) as __occurred_at,
        {%- endif %}
        {%- for n in numbers %}
        {{ missing[n] }} as __missing_{{ n }},
        {%- if n in typed_roles %}
        {{ finite_or_null("cast(" ~ input_field(input, roles[n]) ~ " as double)") }} as __{{ n }},
        {%- elif roles[n].get('number_format') %}
        {{ finite_or_null(number_from_text(text_of[n], tx, roles[n])) }} as __{{ n }},
        {%- else %}
        {{ finite_or_null(try_to_double(text_of[n])) }} as __{{ n }},
        {%- endif %}
        {%- endfor %}
        {%- if purchase_events %}
        coalesce(lower({{ text_of['event_type'] }}) in ({% for e in purchase_events %}{{ sql_string(e) }}{{ ', ' if not loop.last }}{% endfor %}), false) as __purchase_event,
        {%- else %}
        true as __purchase_event,
        {%- endif %}
        {%- for o in optional %}
        {%- if o in roles %}
        case when {{ missing[o] }} then null else {{ text_of[o] }} end as __{{ o }}
        {%- else %}
        cast(null as string) as __{{ o }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from source_rows

),

typed as (

    select
        *,
        {%- if 'amount' in roles %}
        __amount as __line_amount,
        {%- elif 'quantity' in roles %}
        __quantity * __unit_price as __line_amount,
        {%- else %}
        __unit_price as __line_amount,
        {%- endif %}
        {{ '__quantity' if 'quantity' in roles else 'cast(null as double)' }} as __line_quantity
    from parsed

),

{%- set when = roles.occurred_at.input_column %}
{%- set codes = ["case when __customer_id is null then 'missing_customer_id' end"] %}
{%- set details = ["case when __customer_id is null then 'customer id is missing (a guest purchase)' end"] %}
{%- do validation_note(codes, details, "__missing_occurred_at", "missing_date", when, "is missing") %}
{%- do validation_rule(codes, details, "not __missing_occurred_at and __occurred_at is null", "unparseable_date", when,
    "is not a date in a known format", text_of['occurred_at']) %}
{%- if as_of %}
  {%- do validation_rule(codes, details, "__occurred_at >= cast(" ~ sql_string(as_of) ~ " as timestamp)", "date_after_as_of",
      when, "is not before as_of " ~ as_of, text_of['occurred_at']) %}
{%- endif %}
{%- if input.source.get('whitespace') %}
  {%- set bad = "__field_count <> " ~ (tx.columns | length) %}
  {%- do codes.append("case when " ~ bad ~ " then 'malformed_line' end") %}
  {%- do details.append("case when " ~ bad ~ " then 'line has ' || cast(__field_count as string) || "
      ~ sql_string(" fields, not " ~ (tx.columns | length)) ~ " end") %}
{%- endif %}
{%- for n in numbers %}
  {%- do validation_note(codes, details, "__missing_" ~ n, "missing_" ~ n, roles[n].input_column, "is missing") %}
  {%- do validation_rule(codes, details, "not __missing_" ~ n ~ " and __" ~ n ~ " is null", "non_numeric_" ~ n,
      roles[n].input_column, "is not a number", text_of[n]) %}
{%- endfor %}
{%- if 'unit_price' in numbers %}
  {%- do validation_rule(codes, details, "__unit_price <= 0", "non_positive_price", roles.unit_price.input_column,
      "is not a price above 0", text_of['unit_price']) %}
{%- endif %}
{%- if purchase_events %}
  {%- do validation_rule(codes, details, "not __purchase_event", "not_a_purchase", roles.event_type.input_column,
      "is not a purchase", "coalesce(" ~ text_of['event_type'] ~ ", '')") %}
{%- endif %}
{%- set zero = "(__line_amount = 0 or __line_quantity = 0)" ~ (" and not __unit_price <= 0" if 'unit_price' in numbers else "") %}
{%- do codes.append("case when " ~ zero ~ " then 'zero_amount' end") %}
{%- do details.append("case when " ~ zero ~ " then 'the line is worth nothing (amount or quantity 0)' end") %}

validated as (

    select
        *,
        {{ concat_non_null(codes) }} as __codes,
        {{ concat_non_null(details, '; ') }} as __detail
    from typed

)

select
    source_row_number,
    __line_span as line_span,
    __customer_id as customer_id,
    __occurred_at as occurred_at,
    __line_amount as amount,
    __line_quantity as quantity,
    __order_id as order_id,
    __product_id as product_id,
    __category as category,
    __channel as channel,
    __country as country,
    case when __codes = '' then ''
         else {{ sorted_distinct_codes('__codes') }}
    end as reject_reasons,
    __detail as reject_detail,
    __codes = '' as is_valid,
    __customer_id is null as is_guest,
    not __purchase_event as is_other_event,
    __raw_hash as raw_hash
from validated
{%- if input.is_csv %}

union all

select
    source_row_number,
    line_span,
    line_customer_id as customer_id,
    cast(null as timestamp) as occurred_at,
    cast(null as double) as amount,
    cast(null as double) as quantity,
    cast(null as string) as order_id,
    cast(null as string) as product_id,
    cast(null as string) as category,
    cast(null as string) as channel,
    cast(null as string) as country,
    'malformed_line' as reject_reasons,
    reject_detail,
    false as is_valid,
    false as is_guest,
    false as is_other_event,
    {{ row_hash(['source_row_number', 'reject_detail']) }} as raw_hash
from ({{ customer_input_malformed_lines(input) }}) as malformed_lines
{%- endif %}
{%- endif %}
