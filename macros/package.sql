{#-
  Where the project's tables live (README: "Use it in your dbt project"). Standalone, every
  model, seed and table the hooks write is in the target's schema (main), as always. Installed
  as a package in another dbt project, they all go to one schema of that project's database,
  the var package_schema (default segments), so none of them meets a table of the consumer's
  (its stg_customers, raw_customers ...). dbt applies a package's own generate_schema_name and
  generate_alias_name to the package's nodes only; every ref inside the project names the
  package (ref('customer_segmentation', 'x')), so a consumer's model of the same name is never
  read instead. The serving database keeps its tables in its own main.
-#}

{% macro custseg_installed() %}
  {{ return(project_name != 'customer_segmentation') }}
{% endmacro %}

{#- The schema of every table of the project in the working database. -#}
{% macro custseg_schema() %}
  {% if not custseg_installed() %}{{ return(target.schema) }}{% endif %}
  {% set name = raw_var('package_schema') %}
  {% if name is not string or name | trim == '' or name == target.schema %}
    {{ exceptions.raise_compiler_error("Invalid var 'package_schema' (customer_segmentation): got '" ~ name
        ~ "'; expected a schema of its own for the segmentation tables, not the target's schema ('" ~ target.schema
        ~ "'), e.g. segments. Set it under vars: customer_segmentation: in your dbt_project.yml.") }}
  {% endif %}
  {{ return(name) }}
{% endmacro %}

{#- SQL: a table of the working database the macros read or write by name (custseg_runs,
    segment_model_versions, a model's table), in the project's schema. -#}
{% macro working_table(name) %}
  {{ return(working_schema() ~ '.' ~ quote_identifier(name)) }}
{% endmacro %}

{#- SQL: the project's schema of the working database, database-qualified. -#}
{% macro working_schema() %}
  {{ return(quote_identifier(target.database) ~ '.' ~ quote_identifier(custseg_schema())) }}
{% endmacro %}

{#- Every model and seed of the project in custseg_schema(); a +schema config would split them
    from the tables the hooks write, so it is refused. (Tests storing failures keep dbt's rule:
    <schema>_dbt_test__audit.) -#}
{% macro generate_schema_name(custom_schema_name=none, node=none) -%}
  {%- if custom_schema_name is not none and node.resource_type not in ('model', 'seed', 'snapshot') -%}
    {{ custseg_schema() ~ '_' ~ (custom_schema_name | trim) }}
  {%- elif custom_schema_name is not none -%}
    {{ exceptions.raise_compiler_error("customer_segmentation keeps every table in one schema, but +schema '"
        ~ custom_schema_name ~ "' is set for " ~ node.name ~ ": remove it and set vars: customer_segmentation: "
        ~ "package_schema instead.") }}
  {%- else -%}
    {{ custseg_schema() }}
  {%- endif -%}
{%- endmacro %}

{#- In segment_mode score_changes the models of score_changes_models() write <model>__changes,
    so the full tables stay as they are until the run has passed (macros/score_changes.sql). -#}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
  {%- set name = custom_alias_name or node.name -%}
  {%- if node.resource_type == 'model' and node.name in score_changes_models() and score_changes_mode() -%}
    {{ name ~ '__changes' }}
  {%- else -%}
    {{ name }}
  {%- endif -%}
{%- endmacro %}
