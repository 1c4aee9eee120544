{#-
  The customers the models are fitted on: the `fit_sample_size` clean customers with the
  smallest hash of (id, random_state), as a fraction in [0, 1) (everyone when there are
  fewer), ordered by sample_rank. The hash makes the sample pseudo-random, independent of input order and
  identical between runs; any prefix of it (used for the Ward, DBSCAN and evaluation
  samples) is itself a random sample.

  To keep the sort small, a first filter keeps the customers whose hash falls in the
  lowest slice of [0, 1) expected to hold 1.2 x the sample plus a 10-sigma
  margin (a threshold computed once); the exact ranking then runs on the ids in that slice
  only, and the picked ids are joined back to their features. (The slice contains the
  smallest hashes, so the result is the same as ranking everyone.)
-#}
{%- set settings = run_context().settings -%}
{%- set n = settings.fit_sample_size -%}
{%- set key = hash_fraction(['customer_id', settings.random_state]) -%}

with checks as (

    -- the input checks (rejected share, enough customers and features) pass before any fit
    select clean_customers from {{ ref('customer_segmentation', 'input_summary') }}

),

threshold as (

    select
        (1.2 * {{ n }} + 10 * sqrt({{ n }}) + 100) / greatest(max(checks.clean_customers), 1) as max_key
    from checks

),

slice as (

    select
        customer_id,
        {{ key }} as sample_key
    from {{ ref('customer_segmentation', 'customer_features') }}
    where {{ key }} <= (select max_key from threshold)

),

picked as (

    select
        customer_id,
        row_number() over (order by sample_key, customer_id) as sample_rank
    from slice
    order by sample_key, customer_id
    limit {{ n }}

)

select
    features.*,
    picked.sample_rank
from picked
inner join {{ ref('customer_segmentation', 'customer_features') }} as features
    on picked.customer_id = features.customer_id
order by picked.sample_rank
