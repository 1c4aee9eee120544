{#-
  One row per algorithm run: how good and how stable the segmentation is, how it was
  fitted, and when. Silhouette, Davies-Bouldin and Calinski-Harabasz are measured on the
  evaluation sample in the full model space (noise left out); inertia is the
  within-segment sum of squared distances over every customer, for the algorithms whose
  model assigns by the nearest segment centre (SegmentModel.distance_to_centre);
  stability is the mean adjusted Rand index of refits on resamples.
-#}
{%- set primary = run_context().settings.primary_algorithm -%}
{%- set settings = run_context().settings -%}

with models as (

    select * from {{ ref('customer_segmentation', 'int_segment_models') }}

),

scores as (

    {{ long_scores(ref('customer_segmentation', 'int_customer_scores')) }}

),

whole_population as (

    select
        algorithm,
        count(*) as customers,
        count(distinct case when segment_id <> 0 then segment_id end) as segments_used,
        avg(case when segment_id = 0 then 1.0 else 0.0 end) as noise_share,
        sum(distance_to_centre * distance_to_centre) as sum_squared_distance
    from scores
    group by algorithm

)

select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(models.algorithm as string) as algorithm,
    cast(models.algorithm_label as string) as algorithm_label,
    cast(models.model_version as integer) as model_version,
    cast(models.algorithm = {{ sql_string(primary) }} as boolean) as is_primary,
    cast(models.n_segments as integer) as n_segments,
    cast(whole_population.customers as bigint) as customers,
    cast(models.silhouette as double) as silhouette,
    cast(models.davies_bouldin as double) as davies_bouldin,
    cast(models.calinski_harabasz as double) as calinski_harabasz,
    cast(case when {{ is_one_of('models.algorithm', segmentation_algorithms('distance_to_centre')) }}
              then whole_population.sum_squared_distance end as double) as inertia,
    cast(whole_population.noise_share as double) as noise_share,
    cast(models.stability_ari as double) as stability_ari,
    cast(models.stability_resamples as integer) as stability_resamples,
    cast(models.fit_space as string) as fit_space,
    cast(models.fit_sample_size as bigint) as fit_sample_size,
    cast(models.evaluation_sample_size as bigint) as evaluation_sample_size,
    cast(least(models.evaluation_sample_size, {{ settings.silhouette_sample_size }}) as bigint) as silhouette_sample_size,
    cast(models.fit_seconds as double) as fit_seconds,
    cast(models.evaluation_seconds as double) as evaluation_seconds,
    cast({{ sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }} as timestamp) as run_started_at,
    cast(models.fitted_at as timestamp) as fitted_at,
    cast(models.parameters_json as string) as parameters_json
from models
inner join whole_population
    on models.algorithm = whole_population.algorithm
