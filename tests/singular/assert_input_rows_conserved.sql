{#-
  Conservation: every input row is either a clean customer (an exact duplicate counts in
  its kept row's source_row_count) or a row of rejected_customers. Returns a row when the
  counts do not add up.
-#}
with input_rows as (
    select count(*) as n from {{ customer_input_relation().sql }}
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
