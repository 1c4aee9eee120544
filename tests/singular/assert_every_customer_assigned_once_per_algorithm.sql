{#-
  Every clean customer appears exactly once per algorithm in segment_assignments, and
  every algorithm is there. int_customer_scores has one row per customer (its customer_id
  is tested unique) and segment_assignments one row per score row and algorithm, so it is
  enough that the scored customers are exactly the clean ones and that each algorithm has
  as many rows as there are clean customers. Returns what breaks this.
-#}
with features as (
    select customer_id from {{ ref('customer_features') }}
),
scores as (
    select customer_id from {{ ref('int_customer_scores') }}
),
expected as (
    select count(*) as customers from features
),
algorithms as (
    {%- for algorithm in segmentation_algorithms() %}
    select '{{ algorithm }}' as algorithm{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),
assigned as (
    select algorithm, count(*) as rows_assigned
    from {{ ref('segment_assignments') }}
    group by algorithm
)
select 'not scored' as problem, features.customer_id, null as algorithm, null as rows_assigned
from features
where not exists (select 1 from scores where scores.customer_id = features.customer_id)
union all
select 'scored but not clean', scores.customer_id, null, null
from scores
where not exists (select 1 from features where features.customer_id = scores.customer_id)
union all
select 'wrong row count', null, algorithms.algorithm, assigned.rows_assigned
from algorithms
cross join expected
left join assigned on algorithms.algorithm = assigned.algorithm
where coalesce(assigned.rows_assigned, 0) <> expected.customers
