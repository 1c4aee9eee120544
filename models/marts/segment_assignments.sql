{#-
  One row per clean customer and algorithm: the segment, its name, and how firmly the
  customer belongs to it (distance to the segment's centre or prototype in the algorithm's
  fitting space; membership probability for the Gaussian mixture).
-#}
select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(scores.customer_id as string) as customer_id,
    cast(scores.algorithm as string) as algorithm,
    cast(scores.segment_id as integer) as segment_id,
    cast(names.segment_name as string) as segment_name,
    cast(scores.distance_to_centre as double) as distance_to_centre,
    cast(scores.membership_probability as double) as membership_probability,
    cast(models.model_version as integer) as model_version
from ({{ long_scores(ref('customer_segmentation', 'int_customer_scores')) }}) as scores
inner join {{ ref('customer_segmentation', 'int_segment_models') }} as models
    on scores.algorithm = models.algorithm
left join {{ ref('customer_segmentation', 'segment_names') }} as names
    on scores.algorithm = names.algorithm
    and scores.segment_id = names.segment_id
