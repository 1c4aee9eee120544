{#-
  One row per clean customer: the cleaned CC GENERAL measures, carried categorical
  attributes, and the engineered features. Every ratio goes through safe_divide: a zero
  denominator gives the stated fallback (0: "none of it"), a NULL input gives NULL (the
  input lacked the optional column the feature needs).
-#}
{%- set settings = segmentation_settings() -%}
{%- set numeric = customer_numeric_columns() -%}

with clean as (

    select * from {{ ref('int_customers__outliers') }}
    where not is_outlier_rejected

)

select
    customer_id,
    {%- for c in numeric %}
    {{ c.name }},
    {%- endfor %}
    {%- for name in settings.categorical_columns %}
    {{ name }},
    {%- endfor %}

    -- how much of the limit is in use (can exceed 1 when over the limit)
    {{ safe_divide('balance', 'credit_limit') }} as credit_utilization,
    -- purchase + cash-advance transactions (cash advances count 0 when the input has none)
    purchases_trx + coalesce(cash_advance_trx, 0) as total_transactions,
    {{ safe_divide('payments', 'minimum_payments') }} as payment_to_minimum_ratio,
    {{ safe_divide('purchases', 'purchases_trx') }} as avg_purchase_amount,
    {{ safe_divide('cash_advance', 'cash_advance_trx') }} as avg_cash_advance_amount,
    {{ safe_divide('cash_advance', 'purchases + cash_advance') }} as cash_advance_share,
    {{ safe_divide('oneoff_purchases', 'oneoff_purchases + installments_purchases') }} as oneoff_purchase_share,
    {{ safe_divide('installments_purchases', 'oneoff_purchases + installments_purchases') }} as installment_purchase_share,
    {{ safe_divide('purchases', 'credit_limit') }} as purchases_to_limit_ratio,
    {{ safe_divide('purchases', 'tenure') }} as monthly_purchases,
    {{ safe_divide('cash_advance', 'tenure') }} as monthly_cash_advance,

    source_row_count,
    imputed_columns,
    outlier_columns
from clean
