{#-
  The usable transaction lines, one row each (exact duplicates collapsed): the customer, an
  order key (the order id, or the purchase day when the log has none), the time, the line's
  amount (negative: a return) and quantity, and the optional attributes.
-#}
select
    customer_id,
    coalesce(order_id, cast(cast(occurred_at as date) as string)) as order_key,
    occurred_at,
    amount,
    quantity,
    (amount < 0 or coalesce(quantity, 0) < 0) as is_return,
    product_id,
    category,
    channel,
    country
from {{ ref('customer_segmentation', 'int_transactions__deduplicated') }}
where is_valid
