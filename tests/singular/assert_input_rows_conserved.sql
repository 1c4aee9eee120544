{#-
  Conservation: every input row is either a clean customer (an exact duplicate counts in
  its kept row's source_row_count) or a row of rejected_customers, and the input had as
  many rows as a count independent of the parser says.

  The independent count (custseg.inputs) reads the file's bytes: its non-blank lines, less
  the header and any comment lines above it (a line starting with '#' below the header is
  data). The parser's side: the physical lines its rows took (a quoted value may hold line
  breaks), plus the lines it could not parse (malformed_line rows). For Parquet the count
  is the file's row count; for the embedded sample, the lines of seeds/raw_customers.csv;
  for a transaction log, the customers built from it (assert_transaction_lines_conserved
  checks the log's lines).
  Returns a row when the counts do not add up.
-#}
-- depends_on: {{ ref('int_transaction_customers') }}
with independent as (
    select cast({{ customer_rows_in() }} as bigint) as n
),
parsed as (
    select
        coalesce(sum(line_span), 0) as line_count,
        count(*) as row_count
    from {{ ref('stg_customers') }}
),
clean as (
    select coalesce(sum(source_row_count), 0) as n from {{ ref('customer_features') }}
),
rejected as (
    select count(*) as n from {{ ref('rejected_customers') }}
)
select
    independent.n as independent_input_rows,
    parsed.line_count as parsed_lines,
    parsed.row_count as staged_rows,
    clean.n as clean_rows,
    rejected.n as rejected_rows
from independent, parsed, clean, rejected
where independent.n <> parsed.line_count
   or parsed.row_count <> clean.n + rejected.n
