{#- One row per algorithm: the model each algorithm scores with in this run (its latest usable
    version not above the run's; see macros/model_versions.sql), and for a transaction log
    the RFM rules (rfm_model). -#}
{% for algorithm in segmentation_algorithms() %}
select * from ({{ at_model_version(ref(algorithm ~ '_model')) }}) as {{ algorithm }}_model
{% if not loop.last or not is_spark() %}union all{% endif %}
{% endfor %}
{%- if not is_spark() %}
{#- the rule-based RFM segments of a transaction log (no rows for a customer table) #}
select * from {{ ref('rfm_model') }}
{%- endif %}
