{#-
  Every clean customer appears exactly once per algorithm in segment_assignments, and
  every algorithm is there. Returns the algorithms (or missing ones) that break this.
-#}
with expected as (
    select count(*) as customers from {{ ref('customer_features') }}
),
algorithms as (
    {%- for algorithm in segmentation_algorithms() %}
    select '{{ algorithm }}' as algorithm{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),
assigned as (
    select
        algorithm,
        count(*) as rows_assigned,
        count(distinct customer_id) as customers_assigned
    from {{ ref('segment_assignments') }}
    group by algorithm
)
select
    algorithms.algorithm,
    expected.customers,
    assigned.rows_assigned,
    assigned.customers_assigned
from algorithms
cross join expected
left join assigned on algorithms.algorithm = assigned.algorithm
where assigned.algorithm is null
   or assigned.rows_assigned <> expected.customers
   or assigned.customers_assigned <> expected.customers
