{#-
  One row per model version and measure column of the input (features and profiled
  measures): the value that fills its gaps and the cap of its outliers, from the kept
  customer records. A refit appends its version's rows; a score run appends nothing and the
  run uses the saved version's (consumers read at_model_version(...)).

  * fill_value: the median of the observed values (rounded for whole-number kinds);
  * cap_value: the `outlier_upper_quantile` (default 0.995) of the observed values, for the
    kinds whose outliers are capped (amounts, counts, ratios, durations; not shares, ages,
    years, scores or flags), unless outlier_method is none. The cap is applied in the model
    space only: customer_features keeps the values as they were, so BI totals match the
    source.
-#}
{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}
{%- set settings = run_context().settings -%}
{%- set measures = measure_columns(run_context().input.contract) -%}
{%- set run = run_context().models -%}

with kept as (

    select * from {{ ref('customer_segmentation', 'int_customers__deduplicated') }}
    where record_rank = 1

),

stats as (

    select
        {%- for c in measures %}
        {{ 'round(' ~ median(quote_identifier(c.name)) ~ ')' if c.impute == 'round_median' else median(quote_identifier(c.name)) }} as {{ quote_identifier(c.name ~ '__fill') }},
        {%- if c.is_capped and settings.outlier_method != 'none' %}
        {{ ('round(' if c.is_integer else '(') ~ quantile_cont(quote_identifier(c.name), settings.outlier_upper_quantile) ~ ')' }} as {{ quote_identifier(c.name ~ '__cap') }},
        {%- else %}
        cast(null as double) as {{ quote_identifier(c.name ~ '__cap') }},
        {%- endif %}
        count({{ quote_identifier(c.name) }}) as {{ quote_identifier(c.name ~ '__observed') }},
        {%- endfor %}
        count(*) as customers
    from kept

)

{%- for c in measures %}
select
    cast({{ run.model_version }} as integer) as model_version,
    cast({{ sql_string(c.name) }} as string) as column_name,
    cast({{ sql_string(c.kind) }} as string) as kind,
    cast({{ quote_identifier(c.name ~ '__fill') }} as double) as fill_value,
    cast({{ quote_identifier(c.name ~ '__cap') }} as double) as cap_value,
    cast({{ quote_identifier(c.name ~ '__observed') }} as bigint) as observed_values
from stats
{%- if run.mode != 'refit' %}
where false
{%- endif %}
{% if not loop.last %}union all
{% endif %}
{%- else %}
select cast(null as integer) as model_version, cast(null as string) as column_name, cast(null as string) as kind, cast(null as double) as fill_value,
    cast(null as double) as cap_value, cast(0 as bigint) as observed_values
from stats
where false
{%- endfor %}
