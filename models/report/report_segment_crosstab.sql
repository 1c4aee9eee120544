{#-
  For a transaction log: how the rule-based RFM segments and the primary algorithm's
  learned segments overlap (customers in each pair), for the report's cross-table. Empty
  for a customer table.
-#}
{%- set primary = run_context().settings.primary_algorithm -%}
with assignments as (

    select customer_id, algorithm, segment_id, segment_name
    from {{ ref('customer_segmentation', 'segment_assignments') }}
    where algorithm in ('rfm', {{ sql_string(primary) }})

)

select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast('rfm' as string) as row_algorithm,
    cast(rules.segment_id as integer) as row_segment_id,
    cast(rules.segment_name as string) as row_segment_name,
    cast({{ sql_string(primary) }} as string) as column_algorithm,
    cast(learned.segment_id as integer) as column_segment_id,
    cast(learned.segment_name as string) as column_segment_name,
    cast(count(*) as bigint) as customers
from assignments as rules
inner join assignments as learned
    on rules.customer_id = learned.customer_id
    and learned.algorithm = {{ sql_string(primary) }}
where rules.algorithm = 'rfm'
group by rules.segment_id, rules.segment_name, learned.segment_id, learned.segment_name
