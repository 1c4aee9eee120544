{#- Rows whose algorithm is not a registered one (macros/segmentation.sql), nor `rfm` (the
    RFM rules) where `rules` allows it: the accepted values come from the registry when the
    test runs, so a new algorithm needs no YAML edit. -#}
{% test known_algorithm(model, column_name, rules=true) %}
select {{ column_name }} as algorithm, count(*) as rows_found
from {{ model }}
where not ({{ is_one_of(column_name, segmentation_algorithms() + (['rfm'] if rules else [])) }})
group by {{ column_name }}
{% endtest %}
