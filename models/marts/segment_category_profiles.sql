{#-
  One row per algorithm, segment, categorical attribute and category: how many of the
  segment's customers have it, their share of the segment, the category's share of all
  customers, and the index (segment share / population share). Empty when the input has
  no categorical attribute.
-#}
-- depends_on: {{ ref('customer_segmentation', 'customer_features') }}
-- depends_on: {{ ref('customer_segmentation', 'segment_names') }}
{% if not is_spark() %}-- depends_on: {{ ref('customer_segmentation', 'int_rfm_segments') }}{% endif %}
-- depends_on: {{ ref('customer_segmentation', 'int_customer_scores') }}
{% set categoricals = contract_columns(run_context().input.contract, ['categorical']) -%}

{%- if categoricals %}
with long as (

    {%- for c in categoricals %}
    select
        scores.algorithm,
        scores.segment_id,
        {{ sql_string(c.name) }} as attribute,
        {{ sql_string(c.input_column) }} as attribute_label,
        cast(features.{{ quote_identifier(c.name) }} as string) as category
    from ({{ long_scores(ref('customer_segmentation', 'int_customer_scores')) }}) as scores
    inner join {{ ref('customer_segmentation', 'customer_features') }} as features
        on scores.customer_id = features.customer_id
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

counts as (

    select algorithm, segment_id, attribute, attribute_label, category, count(*) as customers
    from long
    group by algorithm, segment_id, attribute, attribute_label, category

),

segment_sizes as (

    select algorithm, segment_id, attribute, sum(customers) as segment_customers
    from counts
    group by algorithm, segment_id, attribute

),

population as (

    select algorithm, attribute, category, sum(customers) * 1.0
        / sum(sum(customers)) over (partition by algorithm, attribute) as population_share
    from counts
    group by algorithm, attribute, category

)

select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(counts.algorithm as string) as algorithm,
    cast(counts.segment_id as integer) as segment_id,
    cast(names.segment_name as string) as segment_name,
    cast(counts.attribute as string) as attribute,
    cast(counts.attribute_label as string) as attribute_label,
    cast(counts.category as string) as category,
    cast(counts.customers as bigint) as customers,
    cast(counts.customers * 1.0 / segment_sizes.segment_customers as double) as share_of_segment,
    cast(population.population_share as double) as population_share,
    cast({{ safe_divide('counts.customers * 1.0 / segment_sizes.segment_customers', 'population.population_share', 'null') }} as double) as index_value
from counts
inner join segment_sizes
    on counts.algorithm = segment_sizes.algorithm
    and counts.segment_id = segment_sizes.segment_id
    and counts.attribute = segment_sizes.attribute
inner join population
    on counts.algorithm = population.algorithm
    and counts.attribute = population.attribute
    and counts.category = population.category
left join {{ ref('customer_segmentation', 'segment_names') }} as names
    on counts.algorithm = names.algorithm
    and counts.segment_id = names.segment_id
{%- else %}
select
    cast(null as string) as run_id, cast(null as string) as algorithm, cast(null as integer) as segment_id,
    cast(null as string) as segment_name, cast(null as string) as attribute, cast(null as string) as attribute_label,
    cast(null as string) as category, cast(null as bigint) as customers, cast(null as double) as share_of_segment,
    cast(null as double) as population_share, cast(null as double) as index_value
from {{ ref('customer_segmentation', 'int_customer_scores') }}
where false
{%- endif %}
