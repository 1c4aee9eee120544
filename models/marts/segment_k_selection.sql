{#-
  One row per algorithm and candidate k: the criterion whose elbow the k-selection rule
  looks for (inertia for K-Means, within-segment sum of squares for hierarchical and SOM,
  BIC for the Gaussian mixture), silhouette, Davies-Bouldin and Calinski-Harabasz on the
  evaluation sample, and which k is the elbow and which was chosen. The data behind the
  elbow and silhouette plots. (The density model has no k: it is not listed.)
-#}
{%- if is_spark() %}
with candidates as (

    select
        models.algorithm,
        explode(from_json(
            models.k_selection_json,
            'array<struct<k: int, criterion: string, criterion_value: double, silhouette: double,
                          davies_bouldin: double, calinski_harabasz: double, is_chosen: boolean,
                          is_elbow: boolean>>'
        )) as candidate
    from {{ ref('customer_segmentation', 'int_segment_models') }} as models

)

{%- else %}
with candidates as (

    select
        models.algorithm,
        unnest(from_json(
            models.k_selection_json,
            '[{"k": "INTEGER", "criterion": "VARCHAR", "criterion_value": "DOUBLE", "silhouette": "DOUBLE",
               "davies_bouldin": "DOUBLE", "calinski_harabasz": "DOUBLE", "is_chosen": "BOOLEAN",
               "is_elbow": "BOOLEAN"}]'
        )) as candidate
    from {{ ref('customer_segmentation', 'int_segment_models') }} as models

)

{%- endif %}
select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(algorithm as string) as algorithm,
    cast(candidate.k as integer) as k,
    cast(candidate.criterion as string) as criterion,
    cast(candidate.criterion_value as double) as criterion_value,
    cast(candidate.silhouette as double) as silhouette,
    cast(candidate.davies_bouldin as double) as davies_bouldin,
    cast(candidate.calinski_harabasz as double) as calinski_harabasz,
    cast(candidate.is_elbow as boolean) as is_elbow,
    cast(candidate.is_chosen as boolean) as is_chosen
from candidates
