{#-
  The features the report draws: the clustered numeric features, ordered by how much they
  weigh in the first two principal components (segment_preprocessing), so the charts show
  what drives the segments whatever the input. Each: name, label, kind, transform.
  Read when the report models run (segment_preprocessing is built before them), at the run's
  model version (an earlier version may have had other features).
-#}
{% macro report_features(limit=8) %}
  {% if not execute %}{{ return([]) }}{% endif %}
  {% set labels = {} %}
  {% set contract = run_context().input.contract %}
  {% for c in contract.columns %}{% do labels.update({c.name: c.label}) %}{% endfor %}
  {% for d in contract.derived %}{% do labels.update({d.name: d.label}) %}{% endfor %}
  {% set rows = run_query(
      "select source_column, any_value(kind), any_value(transform), max(greatest(abs(coalesce(pc1_loading, 0)), abs(coalesce(pc2_loading, 0)))) as weight"
      ~ " from (" ~ at_model_version(ref('customer_segmentation', 'segment_preprocessing')) ~ ") as preprocessing where transform <> 'one_hot'"
      ~ " group by source_column order by weight desc, source_column limit " ~ limit).rows %}
  {% set out = [] %}
  {% for r in rows %}
    {% do out.append({'name': r[0], 'kind': r[1], 'transform': r[2], 'label': labels.get(r[0], r[0])}) %}
  {% endfor %}
  {{ return(out) }}
{% endmacro %}

{# A feature's value as the models see its scale (log1p for heavy-tailed kinds). #}
{% macro report_scaled(column, transform) %}
  {%- if transform == 'log1p' -%}ln(1 + greatest({{ column }}, 0))
  {%- elif transform == 'signed_log1p' -%}(sign({{ column }}) * ln(1 + abs({{ column }})))
  {%- else -%}{{ column }}{%- endif -%}
{% endmacro %}
