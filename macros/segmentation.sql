{#- Lists shared by the segmentation SQL models. -#}

{#- The learned algorithms, from the Python registry (custseg.algorithms.REGISTRY, through the
    run context), in its order: their names, or with `flag` the names of those whose model has
    it (has_noise, gives_probability, gives_node, distance_to_centre;
    custseg.algorithms.base.SegmentModel). While dbt parses the list is empty: no model needs
    it to know its refs. -#}
{% macro segmentation_algorithms(flag=none) %}
  {% set names = [] %}
  {% for a in run_context().algorithms if flag is none or a[flag] %}{% do names.append(a.name) %}{% endfor %}
  {{ return(names) }}
{% endmacro %}

{#- SQL: `column` is one of `names` (false for none). -#}
{% macro is_one_of(column, names) %}
  {% if not names %}{{ return('false') }}{% endif %}
  {% set quoted = [] %}{% for n in names %}{% do quoted.append(sql_string(n)) %}{% endfor %}
  {{ return(column ~ ' in (' ~ (quoted | join(', ')) ~ ')') }}
{% endmacro %}

{#- The measures profiled per segment: the input's features and profiled measures, then the
    engineered features whose inputs exist. Each: name, kind, label, derived (bool),
    operation and inputs (derived only). -#}
{% macro profile_features(contract) %}
  {% set out = [] %}
  {% for c in contract.columns if c.role in ('feature', 'profile') %}
    {% do out.append({'name': c.name, 'kind': c.kind, 'label': c.label, 'derived': false, 'input_column': c.input_column}) %}
  {% endfor %}
  {% for d in contract.derived %}
    {% do out.append({'name': d.name, 'kind': d.kind, 'label': d.label, 'derived': true, 'operation': d.operation,
                      'inputs': d.inputs, 'input_column': d.name}) %}
  {% endfor %}
  {{ return(out) }}
{% endmacro %}

{#- SQL for an engineered feature from its input columns: each input quoted as a column, or
    the SQL expression `inputs` (a mapping) gives for it (e.g. the capped inputs). -#}
{% macro derived_feature_sql(feature, inputs=none) %}
  {% set args = [] %}
  {% for i in feature.inputs %}{% do args.append(inputs[i] if inputs else quote_identifier(i)) %}{% endfor %}
  {% if feature.operation == 'ratio' %}
    {{ return(safe_divide(args[0], args[1])) }}
  {% elif feature.operation == 'sum' %}
    {{ return('(' ~ (args | join(' + ')) ~ ')') }}
  {% else %}
    {{ return(safe_divide(args[0], '(' ~ (args | join(' + ')) ~ ')')) }}
  {% endif %}
{% endmacro %}

{#- int_customer_scores (one row per customer, per-algorithm columns) as one row per
    customer and algorithm: customer_id, algorithm, segment_id, distance_to_centre,
    membership_probability, som_node_id; then the RFM segments (int_rfm_segments). -#}
{% macro long_scores(scores) %}
  {%- for algorithm in segmentation_algorithms() %}
    select
        customer_id,
        {{ sql_string(algorithm) }} as algorithm,
        {{ quote_identifier(algorithm ~ '_segment_id') }} as segment_id,
        {{ quote_identifier(algorithm ~ '_distance') }} as distance_to_centre,
        {{ quote_identifier(algorithm ~ '_probability') }} as membership_probability,
        {{ quote_identifier(algorithm ~ '_node') }} as som_node_id
    from {{ scores }}
    {% if not loop.last or not is_spark() %}union all{% endif %}
  {%- endfor %}
  {%- if not is_spark() %}
    {#- the rule-based RFM segments of a transaction log (no rows for a customer table) #}
    select
        customer_id,
        'rfm' as algorithm,
        segment_id,
        cast(null as double) as distance_to_centre,
        cast(null as double) as membership_probability,
        cast(null as integer) as som_node_id
    from {{ ref('customer_segmentation', 'int_rfm_segments') }}
  {%- endif %}
{% endmacro %}

{#- Every segmentation of this build: the learned algorithms, and `rfm` for a transaction log. -#}
{% macro all_segmentations() %}
  {% set names = measure_columns(run_context().input.contract) | map(attribute='name') | list %}
  {{ return(segmentation_algorithms() + (['rfm'] if 'rfm_recency_score' in names and not is_spark() else [])) }}
{% endmacro %}
