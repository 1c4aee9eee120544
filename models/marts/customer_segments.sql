{#-
  One row per clean customer: the primary algorithm's segment (var primary_algorithm,
  default K-Means), its name and description, and the customer's PCA coordinates for the
  2D (pca_1, pca_2) and 3D (pca_1..pca_3) views.
-#}
{%- set primary = run_context().settings.primary_algorithm -%}

with scores as (

    select * from ({{ long_scores(ref('customer_segmentation', 'int_customer_scores')) }}) as long
    where algorithm = {{ sql_string(primary) }}

),

names as (

    select * from {{ ref('customer_segmentation', 'segment_names') }}
    where algorithm = {{ sql_string(primary) }}

)

select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(scores.customer_id as string) as customer_id,
    cast(scores.algorithm as string) as algorithm,
    cast(scores.segment_id as integer) as segment_id,
    cast(names.segment_name as string) as segment_name,
    cast(names.segment_description as string) as segment_description,
    cast(scores.distance_to_centre as double) as distance_to_centre,
    cast(scores.membership_probability as double) as membership_probability,
    cast(wide.pca_1 as double) as pca_1,
    cast(wide.pca_2 as double) as pca_2,
    cast(wide.pca_3 as double) as pca_3,
    cast(names.model_version as integer) as model_version
from scores
inner join {{ ref('customer_segmentation', 'int_customer_scores') }} as wide
    on scores.customer_id = wide.customer_id
left join names
    on scores.segment_id = names.segment_id
