{#-
  One row per rejected input row, with why. Together with customer_features this accounts
  for every input row: input rows = sum(customer_features.source_row_count) + rows here.

    reading         a CSV line that could not be parsed (malformed_line)
    validation      the row broke a rule in staging (reasons listed in reject_reasons)
    deduplication   another record for the same customer id was kept
    outliers        outlier_method = reject and a value was above its cap

  The measures are kept as typed (NULL where unreadable); reject_detail quotes the text.
-#}
{%- set measures = measure_columns(run_context().input.contract) -%}

with staged as (

    select * from {{ ref('customer_segmentation', 'custseg_stg_customers') }}

),

records as (

    select * from {{ ref('customer_segmentation', 'int_customers__deduplicated') }}

),

invalid_rows as (

    select
        source_row_number,
        customer_id,
        case when reject_reasons = 'malformed_line' then 'reading' else 'validation' end as reject_stage,
        reject_reasons,
        reject_detail{{ ',' if measures }}
        {%- for c in measures %}
        {{ quote_identifier(c.name) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from staged
    where not is_valid

),

conflict_losers as (

    select
        staged.source_row_number,
        staged.customer_id,
        'deduplication' as reject_stage,
        'conflicting_duplicate_id' as reject_reasons,
        'customer ' || staged.customer_id || ' has ' || cast(losing.records_for_customer as string)
            || ' different records; kept the most complete, latest one (input row '
            || cast(kept.last_source_row_number as string) || ')' as reject_detail{{ ',' if measures }}
        {%- for c in measures %}
        staged.{{ quote_identifier(c.name) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from staged
    inner join records as losing
        on staged.customer_id = losing.customer_id
        and staged.record_hash = losing.record_hash
        and losing.record_rank > 1
    inner join records as kept
        on kept.customer_id = losing.customer_id
        and kept.record_rank = 1
    where staged.is_valid

),

outlier_rows as (

    select
        staged.source_row_number,
        staged.customer_id,
        'outliers' as reject_stage,
        'extreme_outlier' as reject_reasons,
        'above the outlier cap: ' || outliers.outlier_columns as reject_detail{{ ',' if measures }}
        {%- for c in measures %}
        staged.{{ quote_identifier(c.name) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from staged
    inner join {{ ref('customer_segmentation', 'int_customers__outliers') }} as outliers
        on staged.customer_id = outliers.customer_id
        and staged.record_hash = outliers.record_hash
    where staged.is_valid
        and outliers.is_outlier_rejected

),

unioned as (

    select * from invalid_rows
    union all
    select * from conflict_losers
    union all
    select * from outlier_rows

)

select
    source_row_number,
    customer_id,
    reject_stage,
    reject_reasons,
    {{ dbt.split_part('reject_reasons', "','", 1) }} as primary_reject_reason,
    reject_detail{{ ',' if measures }}
    {%- for c in measures %}
    {{ quote_identifier(c.name) }}{{ ',' if not loop.last }}
    {%- endfor %}
from unioned
