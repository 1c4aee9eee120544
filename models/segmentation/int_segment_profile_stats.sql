{#-
  One row per algorithm and segment: size and, for every profile feature, mean, median and
  population standard deviation. Feeds segment_names and segment_profiles.

  Counts, means and standard deviations use every customer. Medians are exact for segments
  of up to `profile_median_sample_size` customers (default 50,000); for larger segments they
  come from a deterministic sample of about that many of the segment's customers (chosen by
  a hash of the id), because an exact median holds every value in memory: 10 million
  customers x 5 algorithms x 28 features would need ~11 GB. The CTEs are marked not
  materialized on DuckDB (each is re-read rather than held in memory).
-#}
{%- set settings = segmentation_settings() -%}
{%- set features = profile_features() -%}

with joined as {{ cte_not_materialized() }} (

    select
        scores.*,
        floor({{ hash_fraction(['scores.customer_id', settings.random_state + 1]) }} * 1000000) as sample_slot,
        {%- for f in features %}
        features.{{ f }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_customer_scores') }} as scores
    inner join {{ ref('customer_features') }} as features
        on scores.customer_id = features.customer_id

),

assignments as {{ cte_not_materialized() }} (

    {%- for algorithm in segmentation_algorithms() %}
    select
        '{{ algorithm }}' as algorithm,
        {{ algorithm }}_segment_id as segment_id,
        sample_slot,
        {{ features | join(', ') }}
    from joined
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

moments as (

    select
        algorithm,
        segment_id,
        count(*) as customers,
        {%- for f in features %}
        avg({{ f }}) as {{ f }}_mean,
        stddev_pop({{ f }}) as {{ f }}_stddev{{ ',' if not loop.last }}
        {%- endfor %}
    from assignments
    group by algorithm, segment_id

),

medians as (

    select
        assignments.algorithm,
        assignments.segment_id,
        {%- for f in features %}
        {{ median('assignments.' ~ f) }} as {{ f }}_median{{ ',' if not loop.last }}
        {%- endfor %}
    from assignments
    inner join moments
        on assignments.algorithm = moments.algorithm
        and assignments.segment_id = moments.segment_id
    where assignments.sample_slot
        < 1000000.0 * least(1.0, {{ settings.profile_median_sample_size }} / moments.customers)
    group by assignments.algorithm, assignments.segment_id

)

select
    moments.algorithm,
    moments.segment_id,
    moments.customers,
    {%- for f in features %}
    moments.{{ f }}_mean,
    medians.{{ f }}_median,
    moments.{{ f }}_stddev{{ ',' if not loop.last }}
    {%- endfor %}
from moments
left join medians
    on moments.algorithm = medians.algorithm
    and moments.segment_id = medians.segment_id
