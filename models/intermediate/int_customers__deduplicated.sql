{#-
  One row per distinct valid record (customer id + every value).

  * Exact duplicates (same id, same values after typing) collapse into one record;
    `source_row_count` says how many input rows it stands for.
  * Conflicting records (same id, different values) are ranked: the most complete record
    (fewest missing values) wins, then the one that appears last in the input (exports
    append newer snapshots). `record_rank` = 1 is kept; the others go to
    rejected_customers with reason `conflicting_duplicate_id`.
-#}
{%- set settings = segmentation_settings() -%}
{%- set numeric = customer_numeric_columns() -%}
{%- set value_columns = (numeric | map(attribute='name') | list) + settings.categorical_columns -%}

with valid_rows as (

    select * from {{ ref('stg_customers') }}
    where is_valid

),

records as (

    select
        customer_id,
        record_hash,
        {%- for col in value_columns %}
        any_value({{ col }}) as {{ col }},
        {%- endfor %}
        count(*) as source_row_count,
        min(source_row_number) as first_source_row_number,
        max(source_row_number) as last_source_row_number
    from valid_rows
    group by customer_id, record_hash

),

ranked as (

    select
        *,
        {% for col in numeric | map(attribute='name') -%}
        (case when {{ col }} is null then 0 else 1 end){{ ' +' if not loop.last }}
        {% endfor -%}
            as non_missing_values,
        count(*) over (partition by customer_id) as records_for_customer
    from records

)

select
    *,
    row_number() over (
        partition by customer_id
        order by non_missing_values desc, last_source_row_number desc
    ) as record_rank
from ranked
