{#-
  One row per pair of consecutive published runs, algorithm, segment before and segment
  after: how many customers went from one to the other (the same segment: they stayed).
  NULL segments: customers that arrived (from) or left (to). Appended by each run for the
  pair (the previous published run, this run), from segment_history; a pre-hook first undoes
  pairs written by unpublished builds. Empty until there are two runs.
-#}
{{ config(
    materialized='incremental',
    full_refresh=false,
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ rewind_unpublished('to_run_id') }}",
) }}
{% if score_changes_mode() %}-- depends_on: {{ ref('customer_segmentation', 'customer_changes') }}
{% endif %}
{%- set previous = previous_published_run() -%}
{%- set current = current_run_id() -%}
{#- score_changes: only the changed customers can have moved; the others are counted as staying
    in their current segment -#}
{%- set changed_only = ('and customer_id in ' ~ changed_customer_ids()) if score_changes_mode() else '' -%}

with history as (

    select * from {{ ref('customer_segmentation', 'segment_history') }}

)

{%- if previous %},

before_run as (

    select customer_id, algorithm, segment_id, segment_name
    from history
    where valid_from_run_id <= {{ sql_string(previous) }}
        and (valid_to_run_id is null or valid_to_run_id > {{ sql_string(previous) }})
        {{ changed_only }}

),

after_run as (

    select customer_id, algorithm, segment_id, segment_name
    from history
    where valid_from_run_id <= {{ sql_string(current) }}
        and (valid_to_run_id is null or valid_to_run_id > {{ sql_string(current) }})
        {{ changed_only }}

),

moves as (

    select
        coalesce(before_run.algorithm, after_run.algorithm) as algorithm,
        before_run.segment_id as from_segment_id,
        before_run.segment_name as from_segment_name,
        after_run.segment_id as to_segment_id,
        after_run.segment_name as to_segment_name
    from before_run
    full outer join after_run
        on before_run.customer_id = after_run.customer_id
        and before_run.algorithm = after_run.algorithm
    {%- if changed_only %}
    union all
    select algorithm, segment_id, segment_name, segment_id, segment_name
    from history
    where valid_to_run_id is null
        and customer_id not in {{ changed_customer_ids() }}
    {%- endif %}

)

select
    cast(algorithm as string) as algorithm,
    cast({{ sql_string(previous) }} as string) as from_run_id,
    cast({{ sql_string(current) }} as string) as to_run_id,
    cast(from_segment_id as integer) as from_segment_id,
    cast(from_segment_name as string) as from_segment_name,
    cast(to_segment_id as integer) as to_segment_id,
    cast(to_segment_name as string) as to_segment_name,
    cast(count(*) as bigint) as customers
from moves
group by algorithm, from_segment_id, from_segment_name, to_segment_id, to_segment_name
{%- else %}

select
    cast(null as string) as algorithm,
    cast(null as string) as from_run_id,
    cast(null as string) as to_run_id,
    cast(null as integer) as from_segment_id,
    cast(null as string) as from_segment_name,
    cast(null as integer) as to_segment_id,
    cast(null as string) as to_segment_name,
    cast(null as bigint) as customers
from history
where false
{%- endif %}
