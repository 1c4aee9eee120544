{#-
  One row per customer and algorithm: the segment, its name, and how firmly the customer
  belongs to it (distance to the segment's centre or prototype in the algorithm's fitting
  space; membership probability for the Gaussian mixture).
-#}
with scores as (

    select * from {{ ref('int_customer_scores') }}

),

names as (

    select * from {{ ref('segment_names') }}

),

long as (

    {%- for algorithm in segmentation_algorithms() %}
    select
        customer_id,
        '{{ algorithm }}' as algorithm,
        {{ algorithm }}_segment_id as segment_id,
        {{ algorithm }}_distance as distance_to_centre,
        {{ 'gmm_probability' if algorithm == 'gmm' else 'cast(null as double)' }} as membership_probability
    from scores
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select
    cast(long.customer_id as varchar) as customer_id,
    cast(long.algorithm as varchar) as algorithm,
    cast(long.segment_id as integer) as segment_id,
    cast(names.segment_name as varchar) as segment_name,
    cast(long.distance_to_centre as double) as distance_to_centre,
    cast(long.membership_probability as double) as membership_probability
from long
left join names
    on long.algorithm = names.algorithm
    and long.segment_id = names.segment_id
