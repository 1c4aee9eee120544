{#- Rows of a long scores table (algorithm, segment_id, distance_to_centre,
    membership_probability) that break what each algorithm's model says it gives
    (custseg.algorithms.base.SegmentModel, through the registry): a probability exactly
    where the model gives one; a distance everywhere but in a noise segment (0) and the
    RFM rules. -#}
{% test scores_follow_the_models(model) %}
select *
from {{ model }}
where ({{ is_one_of('algorithm', segmentation_algorithms('gives_probability')) }}) <> (membership_probability is not null)
    or (distance_to_centre is null and algorithm <> 'rfm'
        and not (segment_id = 0 and {{ is_one_of('algorithm', segmentation_algorithms('has_noise')) }}))
{% endtest %}
