{#- The wide scores (int_customer_scores): per registered algorithm, how many customers lack
    the segment, or the node where the model gives nodes (the test fails if any). -#}
{% test scored_by_every_algorithm(model) %}
{%- set checks = [] %}
{%- for a in segmentation_algorithms() %}{% do checks.append(a ~ '_segment_id') %}{% endfor %}
{%- for a in segmentation_algorithms('gives_node') %}{% do checks.append(a ~ '_node') %}{% endfor %}
{%- for c in checks %}
select {{ sql_string(c) }} as column_name, count(*) as null_rows
from {{ model }}
where {{ quote_identifier(c) }} is null
having count(*) > 0
{{ 'union all' if not loop.last }}
{%- endfor %}
{%- if not checks %}
select 'no algorithm' as column_name, 0 as null_rows where false
{%- endif %}
{% endtest %}
