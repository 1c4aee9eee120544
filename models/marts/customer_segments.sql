{#-
  One row per clean customer: the primary algorithm's segment (var primary_algorithm,
  default K-Means), its name and description, and the customer's PCA coordinates for the
  2D (pca_1, pca_2) and 3D (pca_1..pca_3) views.
-#}
{%- set primary = segmentation_settings().primary_algorithm -%}

with scores as (

    select * from {{ ref('int_customer_scores') }}

),

names as (

    select * from {{ ref('segment_names') }}
    where algorithm = '{{ primary }}'

)

select
    cast(scores.customer_id as varchar) as customer_id,
    cast('{{ primary }}' as varchar) as algorithm,
    cast(scores.{{ primary }}_segment_id as integer) as segment_id,
    cast(names.segment_name as varchar) as segment_name,
    cast(names.segment_description as varchar) as segment_description,
    cast(scores.{{ primary }}_distance as double) as distance_to_centre,
    cast({{ 'scores.gmm_probability' if primary == 'gmm' else 'null' }} as double) as membership_probability,
    cast(scores.pca_1 as double) as pca_1,
    cast(scores.pca_2 as double) as pca_2,
    cast(scores.pca_3 as double) as pca_3
from scores
left join names
    on scores.{{ primary }}_segment_id = names.segment_id
