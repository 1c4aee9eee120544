{#-
  One row per algorithm, segment and profiled measure: how many customers, and the mean,
  median and population standard deviation of the measure, plus the mean and standard
  deviation of its capped value (outliers at their cap, engineered features recomputed from
  capped inputs), which the names use so a few extreme customers do not decide a name.
  Feeds segment_names and the profile marts.

  Counts, means and standard deviations use every customer. Medians are exact for segments
  of up to `profile_median_sample_size` customers (default 50,000); for larger segments they
  come from a deterministic sample of about that many of the segment's customers (chosen by
  a hash of the id), because an exact median holds every value in memory. The CTEs are
  marked not materialized on DuckDB (each is re-read rather than held in memory).
-#}
{%- set settings = segmentation_settings() -%}
{%- set contract = customer_input().contract -%}
{%- set features = profile_features(contract) -%}
{%- set measures = measure_columns(contract) -%}

with caps as (

    select
        {%- for c in measures %}
        max(case when column_name = {{ sql_string(c.name) }} then cap_value end) as {{ c.name }}__cap,
        {%- endfor %}
        count(*) as parameters
    from {{ ref('int_cleaning_parameters') }}

),

capped as {{ cte_not_materialized() }} (

    select
        features.customer_id,
        {%- for c in measures %}
        features.{{ c.name }},
        case when features.{{ c.name }} > caps.{{ c.name }}__cap then caps.{{ c.name }}__cap
             else features.{{ c.name }} end as {{ c.name }}__capped,
        {%- endfor %}
        {%- for f in features if f.derived %}
        features.{{ f.name }},
        {{ derived_feature_sql(f, '(case when features.{} > caps.{}__cap then caps.{}__cap else features.{} end)') }}
            as {{ f.name }}__capped,
        {%- endfor %}
        floor({{ hash_fraction(['features.customer_id', settings.random_state + 1]) }} * 1000000) as sample_slot
    from {{ ref('customer_features') }} as features
    cross join caps

),

joined as {{ cte_not_materialized() }} (

    select
        scores.algorithm,
        scores.segment_id,
        capped.*
    from {{ ref('int_customer_scores') }} as scores
    inner join capped
        on scores.customer_id = capped.customer_id

),

moments as (

    select
        algorithm,
        segment_id,
        count(*) as customers,
        {%- for f in features %}
        count({{ f.name }}) as {{ f.name }}__observed,
        avg({{ f.name }}) as {{ f.name }}__mean,
        stddev_pop({{ f.name }}) as {{ f.name }}__stddev,
        avg({{ f.name }}__capped) as {{ f.name }}__capped_mean,
        stddev_pop({{ f.name }}__capped) as {{ f.name }}__capped_stddev,
        {%- endfor %}
        count(*) as rows_counted
    from joined
    group by algorithm, segment_id

),

medians as (

    select
        joined.algorithm,
        joined.segment_id,
        {%- for f in features %}
        {{ median('joined.' ~ f.name) }} as {{ f.name }}__median,
        {%- endfor %}
        count(*) as median_sample
    from joined
    inner join moments
        on joined.algorithm = moments.algorithm
        and joined.segment_id = moments.segment_id
    where joined.sample_slot
        < 1000000.0 * least(1.0, {{ settings.profile_median_sample_size }} / moments.customers)
    group by joined.algorithm, joined.segment_id

)

{%- for f in features %}
select
    cast(moments.algorithm as varchar) as algorithm,
    cast(moments.segment_id as integer) as segment_id,
    cast(moments.customers as bigint) as customers,
    cast({{ sql_string(f.name) }} as varchar) as feature,
    cast({{ sql_string(f.kind) }} as varchar) as kind,
    cast({{ sql_string(f.label) }} as varchar) as feature_label,
    cast(moments.{{ f.name }}__observed as bigint) as observed,
    cast(moments.{{ f.name }}__mean as double) as mean_value,
    cast(medians.{{ f.name }}__median as double) as median_value,
    cast(moments.{{ f.name }}__stddev as double) as stddev_value,
    cast(moments.{{ f.name }}__capped_mean as double) as capped_mean,
    cast(moments.{{ f.name }}__capped_stddev as double) as capped_stddev
from moments
left join medians
    on moments.algorithm = medians.algorithm
    and moments.segment_id = medians.segment_id
{% if not loop.last %}union all
{% endif %}
{%- endfor %}
