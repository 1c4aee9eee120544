{#-
  One row per kept customer record, with the outlier rule applied to amounts and counts.

  The cap of each amount / count column is its `outlier_upper_quantile` (default 0.995)
  over the kept customers (rounded for counts). `outlier_columns` names the columns whose
  value was above their cap. Then, by `outlier_method`:
    cap    (default) values above the cap are replaced by the cap (winsorizing);
    reject the whole customer goes to rejected_customers (reason `extreme_outlier`);
    none   values are kept as they are (the columns are still reported).
-#}
{%- set settings = segmentation_settings() -%}
{%- set numeric = customer_numeric_columns() -%}
{%- set capped = numeric | selectattr('kind', 'in', ['amount', 'count', 'limit']) | list -%}
{%- set method = settings.outlier_method -%}

with customers as (

    select * from {{ ref('int_customers__imputed') }}

),

caps as (

    select
        {%- for c in capped %}
        {%- if c.kind == 'count' %}
        round({{ quantile_cont(c.name, settings.outlier_upper_quantile) }}) as {{ c.name }}__cap{{ ',' if not loop.last }}
        {%- else %}
        {{ quantile_cont(c.name, settings.outlier_upper_quantile) }} as {{ c.name }}__cap{{ ',' if not loop.last }}
        {%- endif %}
        {%- endfor %}
    from customers

),

{%- set flags = [] %}
{%- for c in capped %}
  {%- do flags.append("case when customers." ~ c.name ~ " > caps." ~ c.name ~ "__cap then '" ~ c.name ~ "' end") %}
{%- endfor %}

flagged as (

    select
        customers.customer_id,
        customers.record_hash,
        {%- for c in numeric %}
        {%- if c in capped and method == 'cap' %}
        case when customers.{{ c.name }} > caps.{{ c.name }}__cap then caps.{{ c.name }}__cap else customers.{{ c.name }} end as {{ c.name }},
        {%- else %}
        customers.{{ c.name }},
        {%- endif %}
        {%- endfor %}
        {%- for name in settings.categorical_columns %}
        customers.{{ name }},
        {%- endfor %}
        customers.source_row_count,
        customers.imputed_columns,
        {{ concat_non_null(flags) }} as outlier_columns
    from customers
    cross join caps

)

select
    *,
    {{ "outlier_columns <> ''" if method == 'reject' else 'false' }} as is_outlier_rejected
from flagged
