{#-
  The customers the models are fitted on: a deterministic pseudo-random sample of
  `fit_sample_size` clean customers (everyone when there are fewer), ordered by
  sample_rank. Ranking by a hash of the id with `random_state` makes the sample independent
  of input order and identical between runs; any prefix of it (used for the Ward, DBSCAN
  and evaluation samples) is itself a random sample.
-#}
{%- set settings = segmentation_settings() -%}

with ranked as (

    select
        *,
        row_number() over (
            order by {{ row_hash(['customer_id', settings.random_state]) }}, customer_id
        ) as sample_rank
    from {{ ref('customer_features') }}

)

select *
from ranked
where sample_rank <= {{ settings.fit_sample_size }}
order by sample_rank
