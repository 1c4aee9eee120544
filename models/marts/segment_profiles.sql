{#-
  One row per algorithm and segment: its readable name and one-line description, size and
  share. The columns are the same whatever the input; the measures per segment are in
  segment_feature_profiles (one row per feature) and the categorical attributes in
  segment_category_profiles.
-#}
{%- set primary = run_context().settings.primary_algorithm -%}

with sizes as (

    select distinct algorithm, segment_id, customers
    from {{ ref('customer_segmentation', 'int_segment_feature_stats') }}

),

totals as (

    select algorithm, sum(customers) as population_customers
    from sizes
    group by algorithm

)

select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(sizes.algorithm as string) as algorithm,
    cast(sizes.algorithm = {{ sql_string(primary) }} as boolean) as is_primary,
    cast(sizes.segment_id as integer) as segment_id,
    cast(names.segment_name as string) as segment_name,
    cast(names.segment_description as string) as segment_description,
    cast(sizes.segment_id = 0 as boolean) as is_noise,
    cast(sizes.customers as bigint) as customers,
    cast(sizes.customers / totals.population_customers as double) as share,
    cast(names.model_version as integer) as model_version
from sizes
inner join totals
    on sizes.algorithm = totals.algorithm
left join {{ ref('customer_segmentation', 'segment_names') }} as names
    on sizes.algorithm = names.algorithm
    and sizes.segment_id = names.segment_id
