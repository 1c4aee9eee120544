{#-
  Conservation: every input row is either a clean customer (an exact duplicate counts in
  its kept row's source_row_count) or a row of rejected_customers. Returns a row when the
  counts do not add up. Input rows are counted by a scan of their own; for a CSV, the lines
  that could not be parsed are the malformed_line rows of stg_customers (DuckDB's record
  of the lines it skipped).
-#}
with input_rows as (
    select readable_rows
        {%- if customer_input_relation().is_csv %}
        + (select count(*) from {{ ref('stg_customers') }} where reject_reasons = 'malformed_line')
        {%- endif %} as n
    from ({{ customer_input_count_query() }}) as readable
),
clean as (
    select coalesce(sum(source_row_count), 0) as n from {{ ref('customer_features') }}
),
rejected as (
    select count(*) as n from {{ ref('rejected_customers') }}
)
select
    input_rows.n as input_rows,
    clean.n as clean_rows,
    rejected.n as rejected_rows
from input_rows, clean, rejected
where input_rows.n <> clean.n + rejected.n
