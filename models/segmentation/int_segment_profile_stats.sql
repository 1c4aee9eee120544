{#-
  One row per algorithm and segment: size and, for every profile feature, mean, median and
  population standard deviation over all the segment's customers. Feeds segment_names and
  segment_profiles.
-#}
{%- set features = profile_features() -%}

with joined as materialized (

    select
        scores.*,
        {%- for f in features %}
        features.{{ f }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_customer_scores') }} as scores
    inner join {{ ref('customer_features') }} as features
        on scores.customer_id = features.customer_id

),

assignments as (

    {%- for algorithm in segmentation_algorithms() %}
    select
        '{{ algorithm }}' as algorithm,
        {{ algorithm }}_segment_id as segment_id,
        {{ features | join(', ') }}
    from joined
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select
    algorithm,
    segment_id,
    count(*) as customers,
    {%- for f in features %}
    avg({{ f }}) as {{ f }}_mean,
    {{ median(f) }} as {{ f }}_median,
    stddev_pop({{ f }}) as {{ f }}_stddev{{ ',' if not loop.last }}
    {%- endfor %}
from assignments
group by algorithm, segment_id
