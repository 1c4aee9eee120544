{#-
  Histograms of the report's features (macros/report.sql: the clustered features that
  weigh most in the first principal components), over every clean customer, on the scale
  the models see them (log1p for amounts, counts and ratios): one row per feature and bin,
  plus the quartiles and the 1st and 99th percentiles for the box plots (approximate: a
  sketch in bounded memory; exact ones held every value, out of memory at 10M customers).
-#}
-- depends_on: {{ ref('customer_segmentation', 'segment_preprocessing') }}
{% set features = report_features() -%}
{%- set bins = 40 -%}

{%- if features %}
with values_long as {{ cte_not_materialized() }} (

    {%- for f in features %}
    select {{ sql_string(f.name) }} as feature, {{ report_scaled(quote_identifier(f.name), f.transform) }} as v
    from {{ ref('customer_segmentation', 'customer_features') }}
    where {{ quote_identifier(f.name) }} is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

ranges as (

    select
        feature,
        min(v) as lo,
        max(v) as hi,
        {{ approx_quantile('v', 0.01) }} as p01,
        {{ approx_quantile('v', 0.25) }} as q25,
        {{ approx_quantile('v', 0.5) }} as q50,
        {{ approx_quantile('v', 0.75) }} as q75,
        {{ approx_quantile('v', 0.99) }} as p99
    from values_long
    group by feature

),

binned as (

    select
        values_long.feature,
        least(floor((values_long.v - ranges.lo) / case when ranges.hi > ranges.lo then (ranges.hi - ranges.lo) / {{ bins }} else 1 end), {{ bins - 1 }}) as bin,
        count(*) as customers
    from values_long
    inner join ranges on values_long.feature = ranges.feature
    group by 1, 2

)

select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(binned.feature as string) as feature,
    cast(binned.bin as integer) as bin,
    cast(ranges.lo + binned.bin * case when ranges.hi > ranges.lo then (ranges.hi - ranges.lo) / {{ bins }} else 1 end as double) as bin_start,
    cast(ranges.lo + (binned.bin + 1) * case when ranges.hi > ranges.lo then (ranges.hi - ranges.lo) / {{ bins }} else 1 end as double) as bin_end,
    cast(binned.customers as bigint) as customers,
    cast(ranges.p01 as double) as p01,
    cast(ranges.q25 as double) as q25,
    cast(ranges.q50 as double) as q50,
    cast(ranges.q75 as double) as q75,
    cast(ranges.p99 as double) as p99
from binned
inner join ranges on binned.feature = ranges.feature
{%- else %}
select cast(null as string) as run_id, cast(null as string) as feature, cast(null as integer) as bin,
    cast(null as double) as bin_start, cast(null as double) as bin_end, cast(null as bigint) as customers,
    cast(null as double) as p01, cast(null as double) as q25, cast(null as double) as q50, cast(null as double) as q75,
    cast(null as double) as p99
from {{ ref('customer_segmentation', 'customer_features') }}
where false
{%- endif %}
