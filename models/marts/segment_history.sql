{#-
  One row per customer, algorithm and membership period: the segment (id, name, model
  version) a customer was in from one published run (valid_from_run_id) until the run that
  moved it (valid_to_run_id; NULL while it stays). Maintained incrementally: each run closes
  the periods of customers that moved or left and opens periods for customers that moved or
  arrived; a pre-hook first undoes what unpublished builds wrote, so only published runs
  appear. Kept through --full-refresh (delete the working database to start over).
-#}
{{ config(
    materialized='incremental',
    full_refresh=false,
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['customer_id', 'algorithm', 'valid_from_run_id'],
    pre_hook="{{ rewind_unpublished('valid_from_run_id', 'valid_to_run_id') }}",
) }}
{% if score_changes_mode() %}-- depends_on: {{ ref('customer_segmentation', 'customer_changes') }}
{% endif %}
{%- set run_id = sql_string(current_run_id()) -%}

with current_segments as {{ cte_materialized() }} (

    select customer_id, algorithm, segment_id, segment_name, model_version
    from {{ ref('customer_segmentation', 'segment_assignments') }}

)

{%- if is_incremental() %},

open_periods as {{ cte_materialized() }} (

    select * from {{ this }}
    where valid_to_run_id is null
    {%- if score_changes_mode() %}
        {#- segment_assignments holds the changed customers only: the others stay as they are #}
        and customer_id in {{ changed_customer_ids() }}
    {%- endif %}

),

closed as (

    select
        open_periods.customer_id,
        open_periods.algorithm,
        open_periods.segment_id,
        open_periods.segment_name,
        open_periods.model_version,
        open_periods.valid_from_run_id,
        {{ run_id }} as valid_to_run_id
    from open_periods
    left join current_segments
        on open_periods.customer_id = current_segments.customer_id
        and open_periods.algorithm = current_segments.algorithm
    where current_segments.customer_id is null
        or current_segments.segment_id <> open_periods.segment_id
        or current_segments.segment_name <> open_periods.segment_name

),

opened as (

    select
        current_segments.customer_id,
        current_segments.algorithm,
        current_segments.segment_id,
        current_segments.segment_name,
        current_segments.model_version,
        {{ run_id }} as valid_from_run_id,
        cast(null as string) as valid_to_run_id
    from current_segments
    left join open_periods
        on open_periods.customer_id = current_segments.customer_id
        and open_periods.algorithm = current_segments.algorithm
    where open_periods.customer_id is null
        or current_segments.segment_id <> open_periods.segment_id
        or current_segments.segment_name <> open_periods.segment_name

),

changes as (

    select * from closed
    union all
    select * from opened

)
{%- else %},

changes as (

    select
        customer_id,
        algorithm,
        segment_id,
        segment_name,
        model_version,
        {{ run_id }} as valid_from_run_id,
        cast(null as string) as valid_to_run_id
    from current_segments

)
{%- endif %}

select
    cast(customer_id as string) as customer_id,
    cast(algorithm as string) as algorithm,
    cast(segment_id as integer) as segment_id,
    cast(segment_name as string) as segment_name,
    cast(model_version as integer) as model_version,
    cast(valid_from_run_id as string) as valid_from_run_id,
    cast(valid_to_run_id as string) as valid_to_run_id
from changes
