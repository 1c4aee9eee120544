{#-
  One row per kept customer record, with its outliers named: `outlier_columns` lists the
  columns whose value is above the column's cap (int_cleaning_parameters: the
  `outlier_upper_quantile` of the kept customers, for the kinds that are capped). Values are
  not changed here; what happens to an outlier depends on `outlier_method`:
    cap    (default) the models see the value capped (in the model space only);
    reject the whole customer goes to rejected_customers (reason `extreme_outlier`);
    none   nothing is capped or reported.
-#}
{%- set settings = run_context().settings -%}
{%- set contract = run_context().input.contract -%}
{%- set capped = measure_columns(contract) | selectattr('is_capped') | list -%}

with customers as (

    select * from {{ ref('customer_segmentation', 'int_customers__imputed') }}

),

caps as (

    select
        {%- for c in capped %}
        max(case when column_name = {{ sql_string(c.name) }} then cap_value end) as {{ quote_identifier(c.name ~ '__cap') }},
        {%- endfor %}
        count(*) as parameters
    from ({{ at_model_version(ref('customer_segmentation', 'int_cleaning_parameters')) }}) as parameters

),

{%- set flags = [] %}
{%- for c in capped %}
  {%- do flags.append("case when customers." ~ quote_identifier(c.name) ~ " > caps." ~ quote_identifier(c.name ~ '__cap')
      ~ " then " ~ sql_string(c.name) ~ " end") %}
{%- endfor %}

flagged as (

    select
        customers.*,
        {{ concat_non_null(flags) if flags and settings.outlier_method != 'none' else "''" }} as outlier_columns
    from customers
    cross join caps

)

select
    *,
    {{ "outlier_columns <> ''" if settings.outlier_method == 'reject' else 'false' }} as is_outlier_rejected
from flagged
