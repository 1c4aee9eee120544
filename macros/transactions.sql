{#-
  A transaction log as the input (README: "From transactions"). transaction_input() is the
  log's contract (custseg.inputs.transaction_contract): which column is the customer id, the time, the
  amount or quantity and unit price, the order, product, category, channel and country.
  Without transactions_path it is disabled and the models of models/transactions are empty.
-#}

{% macro transaction_input() %}
  {% do input_relation_refs() %}
  {% set input = run_context().input %}
  {% set tx = input.get('transactions') %}
  {% if not tx %}
    {{ return({'enabled': false, 'contract': {'columns': [], 'shares': {'category': [], 'channel': []}},
               'relation': none, 'is_csv': false, 'source': {'whitespace': false, 'columns': []}, 'roles': {}}) }}
  {% endif %}
  {% set roles = {} %}
  {% for c in tx.columns if c.role != 'ignored' %}{% do roles.update({c.role: c}) %}{% endfor %}
  {{ return({'enabled': true, 'contract': tx, 'relation': tx.source.read_sql, 'is_csv': tx.source.kind == 'csv' and not is_spark(),
             'source': tx.source, 'roles': roles, 'label': tx.source.label}) }}
{% endmacro %}

{#- The snapshot date: as_of, or the latest time in the log (a rebuild is reproducible). -#}
{% macro transactions_as_of(times) %}
  {% set as_of = run_context().settings.as_of %}
  {{ return(("cast(" ~ sql_string(as_of) ~ " as timestamp)") if as_of else ("max(" ~ times ~ ") over ()")) }}
{% endmacro %}
