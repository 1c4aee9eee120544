{#-
  One row per customer id of the input: a hash of its input rows as read (in file order) and
  of the latest date of each date column. A score_changes run compares tonight's input with
  it to find the customers that changed, then updates it (macros/score_changes.sql). The row
  hashes come from stg_customers, so a full build reads the input once (the latest dates,
  when there are date columns, read their columns again). A score_changes run does not build
  it (and its stg_customers depends on this table: no ref there).
-#}
-- depends_on: {{ ref('customer_segmentation', 'int_transaction_customers') }}
{%- set seed = ref('customer_segmentation', 'custseg_sample_customers') if not is_spark() else none %}
{{ customer_input_hashes_sql(none if score_changes_mode() else ref('customer_segmentation', 'custseg_stg_customers')) }}
