{#-
  One row per kept customer record, with missing values filled in by the rule of the
  column's kind (int_cleaning_parameters) and `imputed_columns` naming what was filled:

  * numeric measures: the median of the observed values (rounded for counts, years and
    flags); a rule of the catalogue may say otherwise: MINIMUM_PAYMENTS is 0 when PAYMENTS
    is 0 (nothing was paid, so no minimum was paid; this is where the gaps sit in real
    exports), the median otherwise;
  * categorical attributes: 'unknown';
  * ignored columns: untouched.

  A required value (CC GENERAL's balance, purchases, purchases_trx) is never imputed: a row
  missing one was rejected in staging. A column with no observed value stays NULL.
-#}
{%- set contract = run_context().input.contract -%}
{%- set measures = measure_columns(contract) -%}
{%- set categoricals = contract_columns(contract, ['categorical']) -%}
{%- set ignored = contract_columns(contract, ['ignored']) -%}

with kept as (

    select * from {{ ref('customer_segmentation', 'int_customers__deduplicated') }}
    where record_rank = 1

),

fills as (

    select
        {%- for c in measures %}
        max(case when column_name = {{ sql_string(c.name) }} then fill_value end) as {{ quote_identifier(c.name ~ '__fill') }},
        {%- endfor %}
        count(*) as parameters
    from ({{ at_model_version(ref('customer_segmentation', 'int_cleaning_parameters')) }}) as parameters

),

{%- set imputed_flags = [] %}
{%- for c in measures %}
  {%- do imputed_flags.append("case when kept." ~ quote_identifier(c.name) ~ " is null and fills." ~ quote_identifier(c.name ~ '__fill')
      ~ " is not null then " ~ sql_string(c.name) ~ " end") %}
{%- endfor %}
{%- for c in categoricals %}
  {%- do imputed_flags.append("case when kept." ~ quote_identifier(c.name) ~ " is null then " ~ sql_string(c.name) ~ " end") %}
{%- endfor %}

imputed as (

    select
        kept.customer_id,
        kept.record_hash,
        {%- for c in measures %}
        {%- if c.impute == 'zero_when_zero' and c.impute_from in (measures | map(attribute='name') | list) %}
        case
            when kept.{{ quote_identifier(c.name) }} is not null then kept.{{ quote_identifier(c.name) }}
            when fills.{{ quote_identifier(c.name ~ '__fill') }} is null then null
            when kept.{{ quote_identifier(c.impute_from) }} = 0 then 0
            else fills.{{ quote_identifier(c.name ~ '__fill') }}
        end as {{ quote_identifier(c.name) }},
        {%- else %}
        coalesce(kept.{{ quote_identifier(c.name) }}, fills.{{ quote_identifier(c.name ~ '__fill') }}) as {{ quote_identifier(c.name) }},
        {%- endif %}
        {%- endfor %}
        {%- for c in categoricals %}
        coalesce(kept.{{ quote_identifier(c.name) }}, 'unknown') as {{ quote_identifier(c.name) }},
        {%- endfor %}
        {%- for c in ignored %}
        kept.{{ quote_identifier(c.name) }},
        {%- endfor %}
        kept.source_row_count,
        {{ concat_non_null(imputed_flags) if imputed_flags else "''" }} as imputed_columns
    from kept
    cross join fills

)

select * from imputed
