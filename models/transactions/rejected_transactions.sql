{#-
  One row per transaction line that cannot be used (after exact duplicates are collapsed),
  with its reasons (see stg_transactions). Guest purchases (missing_customer_id) have
  is_guest = true: common in retail logs, reported apart and not counted toward
  max_rejected_share; so are a clickstream's other events (not_a_purchase,
  is_other_event). Lines in = used lines (int_transactions) + rows here + collapsed
  duplicates (the conservation test checks it against an independent count).
-#}
select
    source_row_number,
    source_row_count,
    customer_id,
    occurred_at,
    amount,
    quantity,
    order_id,
    product_id,
    reject_reasons,
    split_part(reject_reasons, ',', 1) as primary_reject_reason,
    reject_detail,
    is_guest,
    is_other_event
from {{ ref('customer_segmentation', 'int_transactions__deduplicated') }}
where not is_valid
