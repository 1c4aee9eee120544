{#- Every non-NULL value lies in [min_value, max_value] (either bound optional). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
select {{ column_name }} as out_of_range_value
from {{ model }}
where {{ column_name }} is not null
  and not (
    {%- if min_value is not none %}
    {{ column_name }} >{{ '=' if inclusive }} {{ min_value }}
    {%- endif %}
    {%- if min_value is not none and max_value is not none %} and{% endif %}
    {%- if max_value is not none %}
    {{ column_name }} <{{ '=' if inclusive }} {{ max_value }}
    {%- endif %}
  )
{% endtest %}
