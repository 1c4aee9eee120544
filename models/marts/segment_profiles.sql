{#-
  One row per algorithm and segment: size, share, and for every profile feature the mean,
  the median and the index (segment mean / population mean: 2.0 = twice the average
  customer), with the segment's readable name and one-line description.
-#}
{%- set features = profile_features() -%}

with stats as (

    select * from {{ ref('int_segment_profile_stats') }}

),

names as (

    select * from {{ ref('segment_names') }}

),

population as (

    select
        algorithm,
        sum(customers) as population_customers,
        {%- for f in features %}
        sum(customers * {{ f }}_mean) / sum(customers) as {{ f }}_population_mean{{ ',' if not loop.last }}
        {%- endfor %}
    from stats
    group by algorithm

)

select
    cast(stats.algorithm as varchar) as algorithm,
    cast(stats.segment_id as integer) as segment_id,
    cast(names.segment_name as varchar) as segment_name,
    cast(names.segment_description as varchar) as segment_description,
    cast(stats.segment_id = 0 as boolean) as is_noise,
    cast(stats.customers as bigint) as customers,
    cast(stats.customers / population.population_customers as double) as share,
    {%- for f in features %}
    cast(stats.{{ f }}_mean as double) as {{ f }}_mean,
    cast(stats.{{ f }}_median as double) as {{ f }}_median,
    cast({{ safe_divide('stats.' ~ f ~ '_mean', 'population.' ~ f ~ '_population_mean', 'null') }} as double)
        as {{ f }}_index{{ ',' if not loop.last }}
    {%- endfor %}
from stats
inner join population
    on stats.algorithm = population.algorithm
left join names
    on stats.algorithm = names.algorithm
    and stats.segment_id = names.segment_id
