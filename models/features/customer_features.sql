{#-
  One row per clean customer: the input's measures (imputed where they were missing, not
  capped: BI totals match the source), the engineered features of the catalogue whose
  inputs exist (feature_catalogue seed: ratio, sum, share), categorical attributes, and the
  ignored columns carried as they were read, for BI tools to join by customer_id.

  Every ratio goes through safe_divide: a zero denominator gives 0 ("none of it"), a NULL
  input gives NULL. The columns depend on the input; the marts do not (they hold features
  in long tables).
-#}
{%- set contract = run_context().input.contract -%}
{%- set measures = measure_columns(contract) -%}
{%- set others = contract_columns(contract, ['categorical', 'ignored']) -%}

with clean as (

    select * from {{ ref('customer_segmentation', 'int_customers__outliers') }}
    where not is_outlier_rejected

)

select
    customer_id,
    {%- for c in measures %}
    {{ quote_identifier(c.name) }},
    {%- endfor %}
    {%- for d in contract.derived %}
    {{ derived_feature_sql(d) }} as {{ quote_identifier(d.name) }},
    {%- endfor %}
    {%- for c in others %}
    {{ quote_identifier(c.name) }},
    {%- endfor %}
    source_row_count,
    imputed_columns,
    outlier_columns
from clean
