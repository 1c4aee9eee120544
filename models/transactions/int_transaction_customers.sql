{#-
  One row per customer of the transaction log: the customer table the rest of the build
  segments (stg_customers reads it as its input). Every measure is an aggregation of
  int_transactions (distinct counts as counts of distinct pairs, the country as the most
  frequent one), relative to the snapshot date as_of (the var, or the latest time in
  the log). A purchase line has a positive amount; a return line a negative one. The
  measures and their kinds are the catalogue rows with operation `transactions`
  (src/custseg/seeds/feature_catalogue.csv); which exist depends on the log's columns.

  RFM scores: quintiles over the customers, 1 + floor(5 x percent rank), 5 at most (5 = the
  most recent fifth, the most frequent, the highest net spend); tied customers share the
  score of the first of them, so the many one-order customers of a typical log all get F = 1.
  A customer without a purchase (only returns) has recency NULL (imputed later) and R = 1.
  Empty without transactions_path.
-#}
-- depends_on: {{ ref('customer_segmentation', 'int_transactions') }}
{% set input = transaction_input() -%}
{%- set roles = input.roles -%}
{%- set contract = run_context().input.contract -%}
{%- set present = contract.columns | map(attribute='name') | list -%}
{%- set shares = contract.columns | selectattr('share_of', 'defined') | list -%}
{%- set recent_days = input.contract.get('recent_days', 90) -%}
{%- if not input.enabled %}

select cast(null as string) as customer_id where false
{%- else %}

with snapshot as (

    {%- if run_context().settings.as_of %}
    select cast({{ sql_string(run_context().settings.as_of) }} as timestamp) as as_of
    {%- else %}
    select max(occurred_at) as as_of
    from {{ ref('customer_segmentation', 'int_transactions') }}
    {%- endif %}

),

transactions as (

    select
        lines.*,
        snapshot.as_of,
        case when not lines.is_return then lines.amount end as purchase_amount
    from {{ ref('customer_segmentation', 'int_transactions') }} as lines
    cross join snapshot

),

{#- distinct counts as plain aggregations of (customer, value) pairs: much cheaper than
    count(distinct) on a large log #}
{%- set counted = [('frequency', 'order_key')] %}
{%- if 'distinct_products' in present %}{% do counted.append(('distinct_products', 'product_id')) %}{% endif %}
{%- if 'distinct_categories' in present %}{% do counted.append(('distinct_categories', 'category')) %}{% endif %}
{%- for name, column in counted %}

{{ name }}_pairs as (

    select customer_id, count(*) as {{ name }}
    from (
        select customer_id, {{ column }}
        from transactions
        where not is_return and {{ column }} is not null
        group by customer_id, {{ column }}
    ) as pairs
    group by customer_id

),
{%- endfor %}
{%- if 'country' in present %}

countries as (

    select customer_id, country
    from (
        select
            customer_id,
            country,
            row_number() over (partition by customer_id order by lines desc, country) as preference
        from (
            select customer_id, country, count(*) as lines
            from transactions
            where country is not null
            group by customer_id, country
        ) as counted
    ) as ranked
    where preference = 1

),
{%- endif %}

customers as (

    select
        totals.*,
        {%- for name, column in counted %}
        coalesce({{ name }}_pairs.{{ name }}, 0) as {{ name }}{{ ',' if not loop.last or 'country' in present }}
        {%- endfor %}
        {%- if 'country' in present %}
        countries.country
        {%- endif %}
    from (
        select
            customer_id,
            max(as_of) as as_of,
            min(occurred_at) as first_at,
            max(case when not is_return then occurred_at end) as last_purchase_at,
            min(case when not is_return then occurred_at end) as first_purchase_at,
            sum(amount) as monetary,
            coalesce(sum(purchase_amount), 0) as purchased,
            coalesce(-sum(case when is_return then amount end), 0) as returned,
            coalesce(sum(case when not is_return and occurred_at > as_of - interval {{ recent_days }} day then amount end), 0) as recent_purchased
            {%- if 'quantity' in roles %},
            sum(case when not is_return then quantity end) as units
            {%- endif %}
            {%- for c in shares %},
            sum(case when not is_return and {{ c.share_of.role }} = {{ sql_string(c.share_of.value) }} then amount end) as {{ quote_identifier(c.name ~ '__spend') }}
            {%- endfor %}
        from transactions
        group by customer_id
    ) as totals
    {%- for name, column in counted %}
    left join {{ name }}_pairs on {{ name }}_pairs.customer_id = totals.customer_id
    {%- endfor %}
    {%- if 'country' in present %}
    left join countries on countries.customer_id = totals.customer_id
    {%- endif %}

),

features as (

    select
        customer_id,
        cast({{ days_between('last_purchase_at', 'as_of') }} as double) as recency_days,
        cast(frequency as double) as frequency,
        monetary,
        cast({{ days_between('first_at', 'as_of') }} as double) as tenure_days,
        case when frequency > 0 then purchased / frequency end as avg_order_value,
        case when purchased > 0 then least(returned / purchased, 1.0)
             when returned > 0 then 1.0 else 0.0 end as return_rate,
        {%- if 'distinct_products' in present %}
        cast(distinct_products as double) as distinct_products,
        {%- endif %}
        case when purchased > 0 then recent_purchased / purchased end as recent_spend_share,
        {%- if 'distinct_categories' in present %}
        cast(distinct_categories as double) as distinct_categories,
        {%- endif %}
        case when frequency > 1
             then {{ seconds_between('first_purchase_at', 'last_purchase_at') }} / 86400.0 / (frequency - 1) end
            as mean_days_between_orders,
        {%- if 'items_per_order' in present %}
        case when frequency > 0 then units / frequency end as items_per_order,
        {%- endif %}
        {%- for c in shares %}
        case when purchased > 0 then coalesce({{ quote_identifier(c.name ~ '__spend') }}, 0) / purchased end as {{ quote_identifier(c.name) }},
        {%- endfor %}
        {%- if 'country' in present %}
        country,
        {%- endif %}
        frequency as order_count
    from customers

)

select
    customer_id,
    recency_days,
    frequency,
    monetary,
    tenure_days,
    avg_order_value,
    return_rate,
    {%- for name in ['distinct_products', 'distinct_categories', 'items_per_order'] if name in present %}
    {{ name }},
    {%- endfor %}
    recent_spend_share,
    mean_days_between_orders,
    {%- for c in shares %}
    {{ quote_identifier(c.name) }},
    {%- endfor %}
    {%- if 'country' in present %}
    country,
    {%- endif %}
    {%- for name, measure in [('recency', 'coalesce(recency_days, 1e12) desc'), ('frequency', 'frequency'), ('monetary', 'monetary')] %}
    cast(least(5, 1 + floor(5 * percent_rank() over (order by {{ measure }}))) as double) as rfm_{{ name }}_score{{ ',' if not loop.last }}
    {%- endfor %}
from features
{%- endif %}
