{#-
  stg_transactions with exact duplicate lines collapsed: lines whose every field is the same
  as written (an export that repeats a line) count once. The first line is kept;
  source_row_count says how many lines it stands for. (Grouped on the hash of the raw
  fields and on the parsed values, so a hash collision cannot merge different lines.)
-#}
select
    min(source_row_number) as source_row_number,
    cast(count(*) as bigint) as source_row_count,
    customer_id,
    occurred_at,
    amount,
    quantity,
    order_id,
    product_id,
    category,
    channel,
    country,
    reject_reasons,
    reject_detail,
    is_valid,
    is_guest,
    is_other_event
from {{ ref('customer_segmentation', 'custseg_stg_transactions') }}
group by raw_hash, customer_id, occurred_at, amount, quantity, order_id, product_id, category, channel, country,
    reject_reasons, reject_detail, is_valid, is_guest, is_other_event
