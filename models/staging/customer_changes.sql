{#-
  segment_mode score_changes only: the customer ids whose input rows differ from those of the
  last published run (int_customer_input_hashes): `new`, `changed` or `departed`. The
  staging, cleaning, feature and scoring models then run on these customers alone.
-#}
{{ config(enabled=score_changes_mode() and not is_spark()) }}
-- depends_on: {{ ref('customer_segmentation', 'int_transaction_customers') }}
{%- set seed = ref('customer_segmentation', 'custseg_sample_customers') if not is_spark() else none %}

with tonight as (

    {{ customer_input_hashes_sql() | indent(4) }}

),

saved as (

    select customer_id, input_hash from {{ ref('customer_segmentation', 'int_customer_input_hashes') }}

)

select
    coalesce(tonight.customer_id, saved.customer_id) as customer_id,
    tonight.input_hash,
    case
        when saved.customer_id is null then 'new'
        when tonight.customer_id is null then 'departed'
        else 'changed'
    end as change
from tonight
full outer join saved
    on tonight.customer_id = saved.customer_id
where tonight.input_hash is distinct from saved.input_hash
