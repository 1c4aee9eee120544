{#-
  One row: the validated configuration of this run (every var, defaults filled in) and the
  input that was read. The Python models read their settings from here; BI users can see
  what produced the tables.
-#}
{%- set settings = segmentation_settings() -%}

select
    {{ sql_string(tojson(settings)) }} as settings_json,
    {{ sql_string(customer_input_relation().label) }} as input_label,
    {{ sql_string(invocation_id) }} as dbt_invocation_id,
    cast({{ sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }} as timestamp) as run_started_at
