{#-
  Conservation: every input row is either a clean customer (an exact duplicate counts in
  its kept row's source_row_count) or a row of rejected_customers, and the input had as
  many rows as a count independent of the parser says.

  The independent count (custseg.inputs) reads the file's bytes: its non-blank lines, less
  the header and any comment lines above it (a line starting with '#' below the header is
  data). The parser's side: the physical lines its rows took (a quoted value may hold line
  breaks), plus the lines it could not parse (malformed_line rows). For Parquet the count
  is the file's row count; for a relation, its count(*) when the contract was resolved; for
  the embedded sample, the lines of seeds/custseg_sample_customers.csv;
  for a transaction log, the customers built from it (assert_transaction_lines_conserved
  checks the log's lines).

  segment_mode score_changes stages the changed customers' rows, every row without an id and
  every line that did not parse: those rows add up exactly as in a full build (staged = clean
  + collapsed + rejected, in the __changes tables), the file's other lines are the unchanged
  customers' (their lines in int_customer_input_hashes), and those customers' rows are all in
  the published tables still (clean or rejected).
  Returns a row when the counts do not add up.
-#}
-- depends_on: {{ ref('customer_segmentation', 'int_transaction_customers') }}
{%- set changes_only = score_changes_mode() %}
{%- if changes_only %}
-- depends_on: {{ ref('customer_segmentation', 'customer_changes') }}, {{ ref('customer_segmentation', 'int_customer_input_hashes') }}
{%- endif %}
with independent as (
    select cast({{ customer_rows_in() }} as bigint) as n
),
parsed as (
    select
        coalesce(sum(line_span), 0) as line_count,
        count(*) as row_count
    from {{ ref('customer_segmentation', 'custseg_stg_customers') }}
),
clean as (
    select coalesce(sum(source_row_count), 0) as n from {{ ref('customer_segmentation', 'customer_features') }}
),
rejected as (
    select count(*) as n from {{ ref('customer_segmentation', 'rejected_customers') }}
),
unchanged as (
    {%- if changes_only %}
    {{ unchanged_input_sql() }}
    {%- else %}
    select 0 as input_rows, 0 as input_lines, 0 as clean_rows, 0 as rejected_rows
    {%- endif %}
)
select
    independent.n as independent_input_rows,
    parsed.line_count as parsed_lines,
    parsed.row_count as staged_rows,
    clean.n as clean_rows,
    rejected.n as rejected_rows,
    unchanged.input_lines as unchanged_lines,
    unchanged.input_rows as unchanged_rows,
    unchanged.clean_rows + unchanged.rejected_rows as unchanged_rows_placed
from independent, parsed, clean, rejected, unchanged
where independent.n <> parsed.line_count + unchanged.input_lines
   or parsed.row_count <> clean.n + rejected.n
   or unchanged.input_rows <> unchanged.clean_rows + unchanged.rejected_rows
