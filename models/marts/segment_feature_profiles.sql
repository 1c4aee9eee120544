{#-
  One row per algorithm, segment and profiled measure: mean, median and standard deviation
  over the segment's customers (raw values: BI totals match the source), the population
  mean, the index (segment mean / population mean: 2.0 = twice the average customer) and
  the effect (how many population standard deviations the segment's mean sits from the
  population's, on capped values; what the names use).
-#}
with stats as (

    select * from {{ ref('customer_segmentation', 'int_segment_feature_stats') }}

),

population as (

    select
        algorithm,
        feature,
        sum(observed * mean_value) / nullif(sum(observed), 0) as population_mean,
        sum(observed * capped_mean) / nullif(sum(observed), 0) as population_capped_mean,
        sqrt(greatest(
            sum(observed * (capped_stddev * capped_stddev + capped_mean * capped_mean)) / nullif(sum(observed), 0)
            - power(sum(observed * capped_mean) / nullif(sum(observed), 0), 2), 0)) as population_capped_stddev
    from stats
    group by algorithm, feature

)

select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(stats.algorithm as string) as algorithm,
    cast(stats.segment_id as integer) as segment_id,
    cast(names.segment_name as string) as segment_name,
    cast(stats.feature as string) as feature,
    cast(stats.feature_label as string) as feature_label,
    cast(stats.kind as string) as kind,
    cast(stats.customers as bigint) as customers,
    cast(stats.observed as bigint) as observed,
    cast(stats.mean_value as double) as mean_value,
    cast(stats.median_value as double) as median_value,
    cast(stats.stddev_value as double) as stddev_value,
    cast(population.population_mean as double) as population_mean,
    cast({{ safe_divide('stats.mean_value', 'population.population_mean', 'null') }} as double) as index_value,
    cast({{ safe_divide('stats.capped_mean - population.population_capped_mean', 'population.population_capped_stddev', '0') }} as double)
        as effect_size
from stats
inner join population
    on stats.algorithm = population.algorithm
    and stats.feature = population.feature
left join {{ ref('customer_segmentation', 'segment_names') }} as names
    on stats.algorithm = names.algorithm
    and stats.segment_id = names.segment_id
