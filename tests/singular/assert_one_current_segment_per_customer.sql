{#-
  segment_history: one current segment (valid_to_run_id null) per customer and algorithm. A
  score_changes run checks the customers it changed (the others were checked when they were
  written). Returns the customers and algorithms with more than one.
-#}
{% if score_changes_mode() %}-- depends_on: {{ ref('customer_segmentation', 'customer_changes') }}{% endif %}
select customer_id, algorithm, count(*) as current_rows
from {{ ref('customer_segmentation', 'segment_history') }}
where valid_to_run_id is null
{%- if score_changes_mode() %}
  and customer_id in (select customer_id from {{ ref('customer_segmentation', 'customer_changes') }})
{%- endif %}
group by customer_id, algorithm
having count(*) > 1
