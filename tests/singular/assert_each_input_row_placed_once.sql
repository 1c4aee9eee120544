{#-
  Row-level conservation: each staged input row lands in exactly one place, either a
  kept customer record or rejected_customers. Returns the rows placed 0 or 2+ times.
-#}
with staged as (
    select source_row_number, customer_id, record_hash, is_valid
    from {{ ref('customer_segmentation', 'custseg_stg_customers') }}
),
kept_rows as (
    select staged.source_row_number
    from staged
    inner join {{ ref('customer_segmentation', 'int_customers__outliers') }} as kept
        on staged.customer_id = kept.customer_id
        and staged.record_hash = kept.record_hash
    where staged.is_valid and not kept.is_outlier_rejected
),
placed as (
    select source_row_number from kept_rows
    union all
    select source_row_number from {{ ref('customer_segmentation', 'rejected_customers') }}
)
select staged.source_row_number, count(placed.source_row_number) as placements
from staged
left join placed on staged.source_row_number = placed.source_row_number
group by staged.source_row_number
having count(placed.source_row_number) <> 1
