{#-
  One row per algorithm, segment and profiled measure: how many customers, and the mean,
  median and population standard deviation of the measure, plus the mean and standard
  deviation of its capped value (outliers at their cap, engineered features recomputed from
  capped inputs), which the names use so a few extreme customers do not decide a name.
  Feeds segment_names and the profile marts.

  Counts, means and standard deviations use every customer. Medians are exact for segments
  of up to `profile_median_sample_size` customers (default 50,000); for larger segments they
  come from a deterministic sample of about that many of the segment's customers (chosen by
  a hash of the id), because an exact median holds every value in memory.
-#}
{%- set settings = run_context().settings -%}
{%- set contract = run_context().input.contract -%}
{%- set features = profile_features(contract) -%}
{%- set measures = measure_columns(contract) -%}
{#- each measure at its cap (the value itself where it has none) -#}
{%- set capped_of = {} -%}
{%- for c in measures -%}
  {%- set value = 'features.' ~ quote_identifier(c.name) -%}
  {%- set cap = 'caps.' ~ quote_identifier(c.name ~ '__cap') -%}
  {%- do capped_of.update({c.name: '(case when ' ~ value ~ ' > ' ~ cap ~ ' then ' ~ cap ~ ' else ' ~ value ~ ' end)'}) -%}
{%- endfor -%}

with scores as {{ cte_not_materialized() }} (

    {{ long_scores(ref('customer_segmentation', 'int_customer_scores')) }}

),

caps as (

    select
        {%- for c in measures %}
        max(case when column_name = {{ sql_string(c.name) }} then cap_value end) as {{ quote_identifier(c.name ~ '__cap') }},
        {%- endfor %}
        count(*) as parameters
    from ({{ at_model_version(ref('customer_segmentation', 'int_cleaning_parameters')) }}) as parameters

),

moments as (

    select
        scores.algorithm,
        scores.segment_id,
        count(*) as customers,
        {%- for f in features %}
        count(features.{{ quote_identifier(f.name) }}) as {{ quote_identifier(f.name ~ '__observed') }},
        avg(features.{{ quote_identifier(f.name) }}) as {{ quote_identifier(f.name ~ '__mean') }},
        stddev_pop(features.{{ quote_identifier(f.name) }}) as {{ quote_identifier(f.name ~ '__stddev') }},
        {%- set capped = derived_feature_sql(f, capped_of) if f.derived else capped_of[f.name] %}
        avg({{ capped }}) as {{ quote_identifier(f.name ~ '__capped_mean') }},
        stddev_pop({{ capped }}) as {{ quote_identifier(f.name ~ '__capped_stddev') }},
        {%- endfor %}
        count(*) as rows_counted
    from scores
    inner join {{ ref('customer_segmentation', 'customer_features') }} as features
        on scores.customer_id = features.customer_id
    cross join caps
    group by scores.algorithm, scores.segment_id

),

{#- The median sample: every customer of a segment up to profile_median_sample_size, else a
    deterministic sample of about that many (a hash of the id), picked before the join so
    only the sample's rows are read. #}
median_sample as (

    select scores.algorithm, scores.segment_id, scores.customer_id
    from scores
    inner join moments
        on scores.algorithm = moments.algorithm
        and scores.segment_id = moments.segment_id
    where moments.customers <= {{ settings.profile_median_sample_size }}
        or {{ hash_fraction(['scores.customer_id', settings.random_state + 1]) }}
            < {{ settings.profile_median_sample_size }} / moments.customers

),

{#- Materialized before the medians: DuckDB's median over a join pipeline held far more
    memory than over the joined rows (out of memory at 1M customers under 4 GB). #}
median_rows as {{ cte_materialized() }} (

    select
        median_sample.algorithm,
        median_sample.segment_id,
        {%- for f in features %}
        features.{{ quote_identifier(f.name) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from median_sample
    inner join {{ ref('customer_segmentation', 'customer_features') }} as features
        on median_sample.customer_id = features.customer_id

),

medians as (

    select
        algorithm,
        segment_id,
        {%- for f in features %}
        {{ median(quote_identifier(f.name)) }} as {{ quote_identifier(f.name ~ '__median') }},
        {%- endfor %}
        count(*) as median_sample
    from median_rows
    group by algorithm, segment_id

),

{#- one pass over moments and medians (a feature per row; engines that do not materialize
    CTEs would otherwise recompute both for every feature) -#}
joined as (

    select
        moments.*,
        {%- for f in features %}
        medians.{{ quote_identifier(f.name ~ '__median') }},
        {%- endfor %}
        medians.median_sample
    from moments
    left join medians
        on moments.algorithm = medians.algorithm
        and moments.segment_id = medians.segment_id

),

feature_positions as (
    {%- for f in features %}
    select {{ loop.index }} as position{{ ' union all' if not loop.last }}
    {%- endfor %}
)

{%- set picks = [('feature', 'string', none), ('kind', 'string', none), ('feature_label', 'string', none),
                 ('observed', 'bigint', '__observed'), ('mean_value', 'double', '__mean'),
                 ('median_value', 'double', '__median'), ('stddev_value', 'double', '__stddev'),
                 ('capped_mean', 'double', '__capped_mean'), ('capped_stddev', 'double', '__capped_stddev')] %}

select
    cast(joined.algorithm as string) as algorithm,
    cast(joined.segment_id as integer) as segment_id,
    cast(joined.customers as bigint) as customers,
    {%- for name, type, suffix in picks %}
    cast(case feature_positions.position
        {%- for f in features %}
        {%- if suffix %}
        when {{ loop.index }} then joined.{{ quote_identifier(f.name ~ suffix) }}
        {%- else %}
        when {{ loop.index }} then {{ sql_string(f.name if name == 'feature' else f.kind if name == 'kind' else f.label) }}
        {%- endif %}
        {%- endfor %}
    end as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
from joined
cross join feature_positions
