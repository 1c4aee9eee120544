{#- Rows for which a boolean SQL expression does not hold (the test fails if any). -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
