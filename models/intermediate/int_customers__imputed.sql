{#-
  One row per kept customer record, with missing values filled in by a fixed rule and
  `imputed_columns` naming what was filled:

  * minimum_payments: 0 when the customer made no payments (payments = 0: nothing was
    paid, so no minimum was paid; this is where the gaps sit in real exports), otherwise
    the median of the observed minimum payments;
  * every other optional numeric column: the median of its observed values (rounded for
    counts and months);
  * categorical attributes: 'unknown'.

  balance, purchases and purchases_trx are never imputed: a row missing one of them was
  rejected in staging. A column absent from the input stays NULL and is not reported as
  imputed.
-#}
{%- set settings = segmentation_settings() -%}
{%- set numeric = customer_numeric_columns() -%}
{%- set required_values = customer_columns_required_values() -%}
{%- set imputable = numeric | rejectattr('name', 'in', required_values) | list -%}

with kept as (

    select * from {{ ref('int_customers__deduplicated') }}
    where record_rank = 1

),

medians as (

    select
        {%- for c in imputable %}
        {%- if c.kind in ('count', 'months') %}
        round({{ median(c.name) }}) as {{ c.name }}__median{{ ',' if not loop.last }}
        {%- else %}
        {{ median(c.name) }} as {{ c.name }}__median{{ ',' if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from kept

),

{%- set imputed_flags = [] %}
{%- for c in imputable %}
  {%- do imputed_flags.append("case when kept." ~ c.name ~ " is null and medians." ~ c.name ~ "__median is not null then '" ~ c.name ~ "' end") %}
{%- endfor %}
{%- for name in settings.categorical_columns %}
  {%- do imputed_flags.append("case when kept." ~ name ~ " is null then '" ~ name ~ "' end") %}
{%- endfor %}

imputed as (

    select
        kept.customer_id,
        kept.record_hash,
        {%- for c in numeric %}
        {%- if c.name == 'minimum_payments' %}
        case
            when kept.minimum_payments is not null then kept.minimum_payments
            when medians.minimum_payments__median is null then null
            when kept.payments = 0 then 0
            else medians.minimum_payments__median
        end as minimum_payments,
        {%- elif c in imputable %}
        coalesce(kept.{{ c.name }}, medians.{{ c.name }}__median) as {{ c.name }},
        {%- else %}
        kept.{{ c.name }},
        {%- endif %}
        {%- endfor %}
        {%- for name in settings.categorical_columns %}
        coalesce(kept.{{ name }}, 'unknown') as {{ name }},
        {%- endfor %}
        kept.source_row_count,
        {{ concat_non_null(imputed_flags) }} as imputed_columns
    from kept
    cross join medians

)

select * from imputed
