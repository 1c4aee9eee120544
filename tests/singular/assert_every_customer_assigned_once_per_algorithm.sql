{#-
  Every clean customer appears exactly once per algorithm in segment_assignments, and every
  algorithm is there: per algorithm, as many rows as clean customers and as many distinct
  customers, and no assigned customer that is not clean. Returns what breaks this.
-#}
with features as (
    select customer_id from {{ ref('customer_segmentation', 'customer_features') }}
),
expected as (
    select count(*) as customers from features
),
algorithms as (
    {%- for algorithm in all_segmentations() %}
    select {{ sql_string(algorithm) }} as algorithm{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),
assigned as (
    select algorithm, count(*) as rows_assigned, count(distinct customer_id) as customers_assigned
    from {{ ref('customer_segmentation', 'segment_assignments') }}
    group by algorithm
)
select 'wrong row count' as problem, algorithms.algorithm, assigned.rows_assigned, null as customer_id
from algorithms
cross join expected
left join assigned on algorithms.algorithm = assigned.algorithm
where coalesce(assigned.rows_assigned, 0) <> expected.customers
   or coalesce(assigned.customers_assigned, 0) <> expected.customers
union all
select 'assigned but not clean', assignments.algorithm, null, assignments.customer_id
from {{ ref('customer_segmentation', 'segment_assignments') }} as assignments
where not exists (select 1 from features where features.customer_id = assignments.customer_id)
