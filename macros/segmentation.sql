{#- Lists shared by the segmentation SQL models (kept in step with src/custseg/catalogue.py). -#}

{% macro segmentation_algorithms() %}
  {{ return(['kmeans', 'hierarchical', 'som', 'density', 'gmm']) }}
{% endmacro %}

{# customer_features columns summarised per segment in segment_profiles. #}
{% macro profile_features() %}
  {{ return([
    'balance', 'balance_frequency', 'purchases', 'oneoff_purchases', 'installments_purchases',
    'cash_advance', 'purchases_frequency', 'oneoff_purchases_frequency',
    'purchases_installments_frequency', 'cash_advance_frequency', 'cash_advance_trx',
    'purchases_trx', 'credit_limit', 'payments', 'minimum_payments', 'prc_full_payment', 'tenure',
    'credit_utilization', 'total_transactions', 'payment_to_minimum_ratio', 'avg_purchase_amount',
    'avg_cash_advance_amount', 'cash_advance_share', 'oneoff_purchase_share',
    'installment_purchase_share', 'purchases_to_limit_ratio', 'monthly_purchases', 'monthly_cash_advance',
  ]) }}
{% endmacro %}
