{#-
  The data-quality numbers of the report, one row per item: where the input rows went
  (stage), why rows were rejected (reason), which columns were imputed (imputed) or had
  outliers (outlier), with row counts over the whole input; for a transaction log, where
  its lines went (transaction_stage) and why lines were rejected (transaction_reason).
-#}
with summary as (

    select * from {{ ref('customer_segmentation', 'input_summary') }}

),

stages as (

    select 'stage' as section, 1 as position, 'Input rows' as item, input_rows as row_count from summary
    union all
    select 'stage', 2, 'Clean customers', clean_customers from summary
    union all
    select 'stage', 3, 'Duplicates collapsed', collapsed_duplicates from summary
    union all
    select 'stage', 4, 'Rejected', rejected_rows from summary

),

transaction_stages as (

    select 'transaction_stage' as section, 1 as position, 'Lines in' as item, input_lines as row_count
    from {{ ref('customer_segmentation', 'transaction_summary') }}
    union all
    select 'transaction_stage', 2, 'Used', used_lines from {{ ref('customer_segmentation', 'transaction_summary') }}
    union all
    select 'transaction_stage', 3, 'Exact duplicates collapsed', collapsed_duplicates from {{ ref('customer_segmentation', 'transaction_summary') }}
    union all
    select 'transaction_stage', 4, 'Guest lines (no customer id)', guest_lines from {{ ref('customer_segmentation', 'transaction_summary') }}
    union all
    select 'transaction_stage', 5, 'Rejected (other reasons)', rejected_lines - guest_lines from {{ ref('customer_segmentation', 'transaction_summary') }}

),

transaction_reasons as (

    select 'transaction_reason' as section, 0 as position, primary_reject_reason as item, count(*) as row_count
    from {{ ref('customer_segmentation', 'rejected_transactions') }}
    group by primary_reject_reason

),

reasons as (

    select 'reason' as section, 0 as position, reason as item, count(*) as row_count
    from (
        select {{ dbt.split_part('reject_reasons', "','", 1) }} as reason from {{ ref('customer_segmentation', 'rejected_customers') }}
        {%- for i in range(2, 6) %}
        union all
        select {{ dbt.split_part('reject_reasons', "','", i) }} from {{ ref('customer_segmentation', 'rejected_customers') }}
        {%- endfor %}
    ) as codes
    where reason is not null and reason <> ''
    group by reason

),

imputed as (

    select 'imputed' as section, 0 as position, item, count(*) as row_count
    from (
        select {{ dbt.split_part('imputed_columns', "','", 1) }} as item from {{ ref('customer_segmentation', 'customer_features') }}
        {%- for i in range(2, 31) %}
        union all
        select {{ dbt.split_part('imputed_columns', "','", i) }} from {{ ref('customer_segmentation', 'customer_features') }} where imputed_columns like '%,%'
        {%- endfor %}
    ) as columns
    where item is not null and item <> ''
    group by item

),

outliers as (

    select 'outlier' as section, 0 as position, item, count(*) as row_count
    from (
        select {{ dbt.split_part('outlier_columns', "','", 1) }} as item from {{ ref('customer_segmentation', 'customer_features') }}
        {%- for i in range(2, 31) %}
        union all
        select {{ dbt.split_part('outlier_columns', "','", i) }} from {{ ref('customer_segmentation', 'customer_features') }} where outlier_columns like '%,%'
        {%- endfor %}
    ) as columns
    where item is not null and item <> ''
    group by item

)

select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(section as string) as section,
    cast(item as string) as item,
    cast(row_count as bigint) as row_count,
    cast(position as integer) as position
from (
    select * from stages
    union all select * from transaction_stages
    union all select * from transaction_reasons
    union all select * from reasons
    union all select * from imputed
    union all select * from outliers
) as items
