{#-
  One row per distinct valid record (customer id + every value).

  * Exact duplicates (same id, same values after typing) collapse into one record;
    `source_row_count` says how many input rows it stands for.
  * Conflicting records (same id, different values) are ranked: the most complete record
    (fewest missing values) wins, then the one that appears last in the input (exports
    append newer snapshots). `record_rank` = 1 is kept; the others go to
    rejected_customers with reason `conflicting_duplicate_id`.
-#}
{%- set contract = run_context().input.contract -%}
{%- set measures = [] -%}
{%- for c in measure_columns(contract) %}{% do measures.append(quote_identifier(c.name)) %}{% endfor -%}
{%- set value_columns = measures[:] -%}
{%- for c in contract_columns(contract, ['categorical', 'ignored']) %}{% do value_columns.append(quote_identifier(c.name)) %}{% endfor -%}

with valid_rows as (

    select * from {{ ref('customer_segmentation', 'custseg_stg_customers') }}
    where is_valid

),

{#- Narrow first: grouping ids and hashes is far cheaper than carrying every value through
    the aggregate; the values are joined back from the first row of each record. #}
records as (

    select
        customer_id,
        record_hash,
        count(*) as source_row_count,
        min(source_row_number) as first_source_row_number,
        max(source_row_number) as last_source_row_number
    from valid_rows
    group by customer_id, record_hash

),

conflicting_ids as (

    select customer_id
    from records
    group by customer_id
    having count(*) > 1

),

with_values as (

    select
        records.customer_id,
        records.record_hash,
        {%- for col in value_columns %}
        valid_rows.{{ col }},
        {%- endfor %}
        records.source_row_count,
        records.first_source_row_number,
        records.last_source_row_number,
        {% for col in measures -%}
        (case when valid_rows.{{ col }} is null then 0 else 1 end) +
        {% endfor -%}
        0 as non_missing_values,
        conflicting_ids.customer_id is not null as has_conflict
    from records
    inner join valid_rows
        on records.first_source_row_number = valid_rows.source_row_number
    left join conflicting_ids
        on records.customer_id = conflicting_ids.customer_id

)

{%- set output_columns = ['customer_id', 'record_hash'] + value_columns + [
    'source_row_count', 'first_source_row_number', 'last_source_row_number', 'non_missing_values'] %}

{#- Most ids have one record: rank only the conflicting ones. #}
select
    {{ output_columns | join(', ') }},
    1 as records_for_customer,
    1 as record_rank
from with_values
where not has_conflict

union all

select
    {{ output_columns | join(', ') }},
    count(*) over (partition by customer_id) as records_for_customer,
    row_number() over (
        partition by customer_id
        order by non_missing_values desc, last_source_row_number desc
    ) as record_rank
from with_values
where has_conflict
