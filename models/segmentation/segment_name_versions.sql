{#-
  One row per model version, algorithm and segment: the name the segment got when its version
  was first built. Kept across builds (incremental): segment_names reads it, so a segment keeps
  its name for as long as its version is used, and a segment that keeps its id in a refit
  keeps its name.
-#}
{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}

select
    cast(names.model_version as integer) as model_version,
    cast(names.algorithm as string) as algorithm,
    cast(names.segment_id as integer) as segment_id,
    cast(names.segment_name as string) as segment_name,
    cast(names.run_id as string) as run_id
from {{ ref('customer_segmentation', 'segment_names') }} as names
{%- if is_incremental() %}
where not exists (
    select 1 from {{ this }} as saved
    where saved.model_version = names.model_version
        and saved.algorithm = names.algorithm
        and saved.segment_id = names.segment_id
)
{%- endif %}
