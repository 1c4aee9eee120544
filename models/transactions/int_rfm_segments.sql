{#-
  The rule-based RFM segmentation of a transaction log's customers: each clean customer's
  (R, F) scores looked up in the rfm_segments rule table. Empty for a customer table (it has
  no RFM scores).
-#}
-- depends_on: {{ ref('customer_segmentation', 'customer_features') }}
{% set names = measure_columns(run_context().input.contract) | map(attribute='name') | list -%}
{%- if 'rfm_recency_score' in names and 'rfm_frequency_score' in names %}
select
    features.customer_id,
    cast(rules.segment_id as integer) as segment_id
from {{ ref('customer_segmentation', 'customer_features') }} as features
inner join {{ ref('customer_segmentation', 'rfm_segments') }} as rules
    on features.rfm_recency_score between rules.recency_min and rules.recency_max
    and features.rfm_frequency_score between rules.frequency_min and rules.frequency_max
{%- else %}
select
    cast(null as string) as customer_id,
    cast(null as integer) as segment_id
from {{ ref('customer_segmentation', 'rfm_segments') }}
where false
{%- endif %}
