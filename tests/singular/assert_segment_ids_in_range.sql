{#-
  Segment ids run from 1 to the algorithm's n_segments; 0 (noise) only for the density
  model. Returns offending (algorithm, segment_id) pairs with their counts.
-#}
select
    assignments.algorithm,
    assignments.segment_id,
    metrics.n_segments,
    count(*) as customers
from {{ ref('segment_assignments') }} as assignments
inner join {{ ref('segment_metrics') }} as metrics
    on assignments.algorithm = metrics.algorithm
where assignments.segment_id > metrics.n_segments
   or assignments.segment_id < 0
   or (assignments.segment_id = 0 and assignments.algorithm <> 'density')
group by all
