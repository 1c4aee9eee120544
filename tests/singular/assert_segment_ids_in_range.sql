{#-
  Every assigned segment id is one of its model version's segments (segment_model_parameters
  lists each segment's prototypes); 0 (noise) only for a model with noise (density). Ids are not 1..k:
  a segment keeps its id across refits and retired ids are never reused. Returns offending
  (algorithm, segment_id) pairs with their counts.
-#}
select
    assignments.algorithm,
    assignments.segment_id,
    assignments.model_version,
    count(*) as customers
from {{ ref('customer_segmentation', 'segment_assignments') }} as assignments
where not (assignments.segment_id = 0 and {{ is_one_of('assignments.algorithm', segmentation_algorithms('has_noise')) }})
    and assignments.algorithm <> 'rfm'     -- rule segments: int_rfm_segments joins the rule table
    and not exists (
        select 1
        from {{ ref('customer_segmentation', 'segment_model_parameters') }} as parameters
        where parameters.algorithm = assignments.algorithm
            and parameters.model_version = assignments.model_version
            and parameters.segment_id = assignments.segment_id
    )
group by assignments.algorithm, assignments.segment_id, assignments.model_version
