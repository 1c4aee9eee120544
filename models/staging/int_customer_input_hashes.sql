{#-
  One row per customer id of the input: a hash of its input rows as read (in file order) and
  of the latest date of each date column. A score_changes run compares tonight's input with
  it to find the customers that changed, then updates it (macros/score_changes.sql).
-#}
-- depends_on: {{ ref('int_transaction_customers') }}
{%- set seed = ref('raw_customers') if not is_spark() else none %}
{{ customer_input_hashes_sql() }}
