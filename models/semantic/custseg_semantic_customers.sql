{#-
  customer_segments with the run's number of customers on every row: the denominator of the
  metric customer_share, counted once here (a window in a MetricFlow measure would be
  folded into an aggregate). A view: nothing is stored twice.
-#}
{{ config(materialized='view') }}

with totals as (

    select cast(count(*) as bigint) as all_customers
    from {{ ref('customer_segmentation', 'customer_segments') }}

)

select
    customer_segments.*,
    totals.all_customers
from {{ ref('customer_segmentation', 'customer_segments') }} as customer_segments
cross join totals
