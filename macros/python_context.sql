{#-
  What the Python models learn from dbt: the run context (macros/run_context.sql), compiled
  into each Python model's code (dbt calls py_script_comment() at the end of the code it
  generates for a Python model). The models read it with
  custseg.run_context.RunContext.from_dbt(dbt).

  Compiling it into the code, rather than reading a settings table, means the vars of the
  current invocation apply to every model it builds, whatever --select says.
-#}
{% macro py_script_comment() %}
{%- if execute %}
dbtObj.custseg_context = {{ tojson(tojson(python_context())) }}
{%- endif %}
{% endmacro %}

{% macro python_context() %}
  {% set context = dict(run_context()) %}
  {% if model.name == 'segment_names' %}
    {# the names saved for each model version so far (segment_name_versions: not a ref, it comes after) #}
    {% set store = adapter.get_relation(database=this.database, schema=this.schema, identifier='segment_name_versions') %}
    {% do context.update({'saved_names': run_query("select model_version, algorithm, segment_id, segment_name from "
        ~ store).rows | map('list') | list if store else []}) %}
  {% endif %}
  {{ return(context) }}
{% endmacro %}
