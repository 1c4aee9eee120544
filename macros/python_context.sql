{#-
  What the Python models learn from dbt: the validated settings of this invocation, the
  input contract and the run id, compiled into each Python model's code (dbt calls
  py_script_comment() at the end of the code it generates for a Python model). The
  models read it with custseg.pipeline.RunContext.from_dbt(dbt).

  Compiling it into the code, rather than reading a settings table, means the vars of the
  current invocation apply to every model it builds, whatever --select says.
-#}
{% macro py_script_comment() %}
{%- if execute %}
dbtObj.custseg_context = {{ tojson(tojson(python_context())) }}
{%- endif %}
{% endmacro %}

{% macro python_context() %}
  {% set context = {
      'settings': segmentation_settings(),
      'contract': customer_input().contract,
      'run_id': current_run_id(),
      'models': run_models(),
  } %}
  {% if model.name == 'segment_names' %}
    {# the names saved for each model version so far (segment_name_versions: not a ref, it comes after) #}
    {% set store = adapter.get_relation(database=this.database, schema=this.schema, identifier='segment_name_versions') %}
    {% do context.update({'saved_names': run_query("select model_version, algorithm, segment_id, segment_name from "
        ~ store).rows | map('list') | list if store else []}) %}
  {% endif %}
  {{ return(context) }}
{% endmacro %}

{#-
  The id of this run: when it started (UTC) and the start of dbt's invocation id, so ids
  sort in time order, e.g. 20261127T120501Z-1a2b3c4d. Every mart built by one invocation
  carries it; a run is published when every BI mart and test of the invocation passed.
-#}
{% macro current_run_id() %}
  {{ return(run_started_at.strftime('%Y%m%dT%H%M%SZ') ~ '-' ~ invocation_id[:8]) }}
{% endmacro %}
