{#-
  One row per column of the input: what the project made of it and why (the input
  contract, see macros/input.sql and custseg.inputs). Declared in the vars (id_column,
  feature_columns, categorical_columns, ignore_columns), known from the catalogue (the CC
  GENERAL preset), or inferred from the name and the values. A table without an id column
  gets a customer_id row of position 0: its rows are numbered.
-#}
{%- do input_relation_refs() -%}
{%- set contract = run_context().input.contract -%}

{%- if contract.get('id_source') == 'row_number' %}
select
    cast(0 as integer) as position,
    cast(null as string) as source_column,
    cast(null as string) as input_column,
    cast('customer_id' as string) as column_name,
    cast('id' as string) as role,
    cast('id' as string) as kind,
    cast('no column is named like an id: the row number in the input (1 = the first data row)' as string) as reason,
    cast('customer id' as string) as label
{% if contract.columns %}union all
{% endif %}
{%- endif %}
{%- for c in contract.columns %}
select
    cast({{ c.position }} as integer) as position,
    cast({{ sql_string(c.source_column) }} as string) as source_column,
    cast({{ sql_string(c.input_column) }} as string) as input_column,
    cast({{ sql_string(c.name) }} as string) as column_name,
    cast({{ sql_string(c.role) }} as string) as role,
    cast({{ sql_string(c.kind) if c.kind else 'null' }} as string) as kind,
    cast({{ sql_string(c.reason) }} as string) as reason,
    cast({{ sql_string(c.label) }} as string) as label
{% if not loop.last %}union all
{% endif %}
{%- else %}
select cast(null as integer) as position, cast(null as string) as source_column, cast(null as string) as input_column,
    cast(null as string) as column_name, cast(null as string) as role, cast(null as string) as kind,
    cast(null as string) as reason, cast(null as string) as label
where false
{%- endfor %}
