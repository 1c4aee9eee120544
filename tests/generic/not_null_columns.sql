{#- Columns of one model that must never be NULL, checked in one scan instead of a test per
    column: a row per column that has NULLs, with how many (the test fails if any). -#}
{% test not_null_columns(model, columns) %}
with null_counts as (
    select
        {%- for c in columns %}
        sum(case when {{ c }} is null then 1 else 0 end) as nulls_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
)
{% for c in columns %}
select {{ sql_string(c) }} as column_name, nulls_{{ loop.index }} as null_rows from null_counts where nulls_{{ loop.index }} > 0
{{ 'union all' if not loop.last }}
{%- endfor %}
{% endtest %}
