{#-
  Pearson correlation of every pair of clustered numeric features over every clean
  customer, on the scale the models see them: one row per pair (both orders, and each
  feature with itself).
-#}
-- depends_on: {{ ref('customer_segmentation', 'segment_preprocessing') }}
{% set features = report_features(limit=30) -%}

{%- if features %}
with scaled as (

    select
        {%- for f in features %}
        {{ report_scaled(quote_identifier(f.name), f.transform) }} as {{ quote_identifier(f.name) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('customer_segmentation', 'customer_features') }}

),

pairs as (

    select
        {%- for a in features %}
        {%- for b in features %}
        {%- if a.name < b.name %}
        corr({{ quote_identifier(a.name) }}, {{ quote_identifier(b.name) }}) as {{ quote_identifier(a.name ~ '__' ~ b.name) }},
        {%- endif %}
        {%- endfor %}
        {%- endfor %}
        count(*) as customers
    from scaled

)

{%- set pairs_list = [] %}
{%- for a in features %}{% for b in features %}{% do pairs_list.append((a.name, b.name)) %}{% endfor %}{% endfor %}
{%- for a, b in pairs_list %}
select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast({{ sql_string(a) }} as string) as feature_a,
    cast({{ sql_string(b) }} as string) as feature_b,
    cast({{ '1.0' if a == b else quote_identifier(a ~ '__' ~ b if a < b else b ~ '__' ~ a) }} as double) as correlation
from pairs
{% if not loop.last %}union all
{% endif %}
{%- endfor %}
{%- else %}
select cast(null as string) as run_id, cast(null as string) as feature_a, cast(null as string) as feature_b,
    cast(null as double) as correlation
from {{ ref('customer_segmentation', 'customer_features') }}
where false
{%- endif %}
