{#- The given columns identify a row: no combination appears twice (with `latest_of`, a column:
    among the rows holding its latest value). -#}
{% test unique_combination_of_columns(model, combination_of_columns, latest_of=none) %}
select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
from {{ model }}
{%- if latest_of %}
where {{ latest_of }} = (select max({{ latest_of }}) from {{ model }})
{%- endif %}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
