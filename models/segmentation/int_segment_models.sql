{#- One row per algorithm: the model each registered algorithm scores with in this run (its
    latest usable version not above the run's in segment_model_fits; see
    macros/model_versions.sql), and for a transaction log the RFM rules (rfm_model). -#}
select *
from ({{ at_model_version(ref('customer_segmentation', 'segment_model_fits'), per='algorithm') }}) as fits
where {{ is_one_of('fits.algorithm', segmentation_algorithms()) }}
{%- if not is_spark() %}
union all
{#- the rule-based RFM segments of a transaction log (no rows for a customer table) #}
select * from {{ ref('customer_segmentation', 'rfm_model') }}
{%- endif %}
