{#-
  Conservation for a transaction log: its lines (an independent count of the file, see
  custseg.inputs) = the physical lines the parser's rows took, and every row is used,
  rejected, or an exact duplicate of a kept one. No rows without transactions_path.
-#}
select *
from {{ ref('customer_segmentation', 'transaction_summary') }}
where input_lines <> parsed_lines
   or staged_rows <> used_lines + rejected_lines + collapsed_duplicates
