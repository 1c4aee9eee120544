{#- One row per algorithm: the fitted model records of the five algorithm models. -#}
{% for algorithm in segmentation_algorithms() %}
select * from {{ ref(algorithm ~ '_model') }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
