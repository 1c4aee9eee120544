{#-
  The customers the report's scatter plots draw: the first `report_max_points` of the fit
  sample (a deterministic random sample), with their PCA coordinates, every algorithm's
  segment, and the report's four leading features on the models' scale (for the pair plot).
  Counts and profiles in the report use every customer; only scatter plots use these.
-#}
-- depends_on: {{ ref('customer_segmentation', 'segment_preprocessing') }}
{% set settings = run_context().settings -%}
{%- set features = report_features(limit=4) -%}

with points as (

    select customer_id, sample_rank
    from {{ ref('customer_segmentation', 'int_model_fit_sample') }}
    where sample_rank <= {{ settings.report_max_points }}

)

select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(points.customer_id as string) as customer_id,
    cast(points.sample_rank as bigint) as sample_rank,
    cast(scores.pca_1 as double) as pca_1,
    cast(scores.pca_2 as double) as pca_2,
    cast(scores.pca_3 as double) as pca_3,
    {%- for algorithm in segmentation_algorithms() %}
    cast(scores.{{ algorithm }}_segment_id as integer) as {{ algorithm }}_segment_id,
    {%- endfor %}
    {%- for i in range(4) %}
    cast({{ sql_string(features[i].name) if features | length > i else 'null' }} as string) as feature_{{ i + 1 }},
    cast({{ report_scaled('features.' ~ quote_identifier(features[i].name), features[i].transform) if features | length > i else 'null' }} as double) as value_{{ i + 1 }}{{ ',' if not loop.last }}
    {%- endfor %}
from points
inner join {{ ref('customer_segmentation', 'int_customer_scores') }} as scores
    on points.customer_id = scores.customer_id
inner join {{ ref('customer_segmentation', 'customer_features') }} as features
    on points.customer_id = features.customer_id
