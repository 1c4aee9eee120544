{#- One row per algorithm: the model each algorithm scores with in this run (its latest usable
    version not above the run's; see macros/model_versions.sql). -#}
{% for algorithm in segmentation_algorithms() %}
select * from ({{ at_model_version(ref(algorithm ~ '_model')) }}) as {{ algorithm }}_model
{% if not loop.last %}union all{% endif %}
{% endfor %}
