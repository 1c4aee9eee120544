{#-
  One row: the configuration this run used. Every var of dbt_project.yml, validated and
  with defaults filled in (custseg.settings), as JSON; the input that was read and its
  contract (which columns became features with which kind, which are categorical, ignored
  or dropped, and why), as JSON. The build log says the same (see input_columns).
-#}
{%- do input_relation_refs() -%}
{%- set settings = run_context().settings -%}
{%- set input = run_context().input -%}
{%- set contract = input.contract -%}
{%- if execute and model.unique_id in selected_resources %}
  {%- set by_role = {'id': ['(row numbers: no column is named like an id)']} if contract.get('id_source') == 'row_number' else {} %}
  {%- for c in contract.columns %}
    {%- do by_role.setdefault(c.role, []).append(c.input_column ~ ((' (' ~ c.kind ~ ')') if c.kind and c.role in ('feature', 'profile') else '')) %}
  {%- endfor %}
  {%- do log('Input ' ~ input.label ~ ': ' ~ (contract.columns | length) ~ ' columns.', info=true) %}
  {%- for role in ['id', 'feature', 'profile', 'categorical', 'ignored', 'dropped'] if role in by_role %}
    {%- do log('  ' ~ role ~ ': ' ~ (by_role[role] | join(', ')), info=true) %}
  {%- endfor %}
  {%- for w in contract.warnings %}
    {%- do log('  warning: ' ~ w, info=true) %}
  {%- endfor %}
{%- endif %}

select
    {{ sql_string(current_run_id()) }} as run_id,
    {{ sql_string(tojson(settings)) }} as settings_json,
    {{ sql_string(tojson(contract)) }} as contract_json,
    {{ sql_string(input.label) }} as input_label,
    {{ sql_string(invocation_id) }} as dbt_invocation_id,
    cast({{ sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }} as timestamp) as run_started_at
