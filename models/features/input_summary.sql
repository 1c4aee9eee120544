{#-
  One row: what happened to the input, and the checks that must pass before any model is
  fitted. Each failing check stops the build here, with one line saying what is wrong and
  what to do (DuckDB's error(); Spark's raise_error()):

  * more than `max_rejected_share` (default 10%) of the input rows rejected: the share, the
    most common reasons, and where to look (rejected_customers);
  * fewer clean customers than the algorithms need (k_max + 1, and at least 10);
  * fewer than two clustered features that vary (every value the same).

  Above `warn_rejected_share` (default 1%) the test rejected_share_below_warning warns.
  input_rows is counted independently of the parser (see custseg.inputs): the
  conservation test compares the two.

  With segment_mode score_changes (input_summary__changes) the counts and checks are those
  of tonight's whole input, as a full build would find them: the rows of the customers that
  did not change (int_customer_input_hashes) and where the published tables have them, plus
  tonight's staged rows and their outcome.
-#}
-- depends_on: {{ ref('customer_segmentation', 'int_transaction_customers') }}
{% set changes_only = score_changes_mode() -%}
{% if changes_only %}-- depends_on: {{ ref('customer_segmentation', 'customer_changes') }}, {{ ref('customer_segmentation', 'int_customer_input_hashes') }}
{% endif %}
{%- set settings = run_context().settings -%}
{%- set features = after_changes_sql('customer_features') if changes_only else ref('customer_segmentation', 'customer_features') -%}
{%- set rejected = after_changes_sql('rejected_customers') if changes_only else ref('customer_segmentation', 'rejected_customers') -%}
{%- set contract = run_context().input.contract -%}
{%- set clustered = contract.columns | selectattr('role', 'equalto', 'feature') | list -%}
{%- set clustered_derived = contract.derived | selectattr('role', 'equalto', 'feature') | list -%}
{#- every candidate k, and any fixed k, needs more customers than segments -#}
{%- set ks = [9, settings.k_max] -%}
{%- for k in [settings.kmeans_k, settings.hierarchical_k, settings.gmm_k] if k is not none %}{% do ks.append(k) %}{% endfor -%}
{%- set needed = (ks | max) + 1 -%}

with staged as (

    select
        cast(count(*){{ (' + (select input_rows from (' ~ unchanged_input_sql() ~ ') as unchanged)') if changes_only }}
             as bigint) as staged_rows
    from {{ ref('customer_segmentation', 'custseg_stg_customers') }}

),

clean as (

    select
        count(*) as clean_customers,
        coalesce(sum(source_row_count), 0) as clean_rows,
        {%- for c in clustered + clustered_derived %}
        (min({{ quote_identifier(c.name) }}) < max({{ quote_identifier(c.name) }})) as {{ quote_identifier(c.name ~ '__varies') }},
        {%- endfor %}
        count(*) as counted
    from {{ features }} as features

),

rejected as (

    select count(*) as rejected_rows from {{ rejected }} as rejected

),

reasons as (

    select
        {{ joined_in_order("primary_reject_reason || ' ' || cast(rows_rejected as string)", "', '", "order by rows_rejected desc, primary_reject_reason") }} as top_reasons
    from (
        select primary_reject_reason, count(*) as rows_rejected
        from {{ rejected }} as rejected
        group by primary_reject_reason
        order by rows_rejected desc, primary_reject_reason
        limit 3
    ) as top

),

summary as (

    select
        cast({{ customer_rows_in() }} as bigint) as input_rows,
        staged.staged_rows,
        clean.clean_customers,
        clean.clean_rows - clean.clean_customers as collapsed_duplicates,
        rejected.rejected_rows,
        {{ safe_divide('rejected.rejected_rows', 'staged.staged_rows') }} as rejected_share,
        coalesce(reasons.top_reasons, '') as top_reasons,
        {%- set varying = [] %}
        {%- for c in clustered + clustered_derived %}{% do varying.append("case when clean." ~ quote_identifier(c.name ~ '__varies') ~ " then 1 else 0 end") %}{% endfor %}
        {{ (varying | join(' + ')) if varying else '0' }} as varying_features
    from staged
    cross join clean
    cross join rejected
    cross join reasons

)

select
    input_rows,
    staged_rows,
    clean_customers,
    collapsed_duplicates,
    rejected_rows,
    rejected_share,
    top_reasons,
    varying_features,
    cast({{ settings.max_rejected_share }} as double) as max_rejected_share,
    cast({{ settings.warn_rejected_share }} as double) as warn_rejected_share,
    {{ fail_when('rejected_share > ' ~ settings.max_rejected_share,
        "cast(round(100 * rejected_share, 1) as string) || "
        ~ sql_string("% of the input rows were rejected, above max_rejected_share " ~ settings.max_rejected_share ~ " (top reasons: ")
        ~ " || top_reasons || "
        ~ sql_string("); see the table rejected_customers, fix the input, or raise max_rejected_share.")) }} as rejected_check,
    {{ fail_when('clean_customers < ' ~ needed,
        "'only ' || cast(clean_customers as string) || "
        ~ sql_string(" clean customers: the algorithms need at least " ~ needed ~ " (one more than the largest k, and at least 10); "
        ~ "add customers or lower k_max (or a fixed k). See rejected_customers for the rows that were dropped.")) }} as customers_check,
    {%- set every = (clustered + clustered_derived) | map(attribute='name') | join(', ') %}
    {{ fail_when('varying_features < 2',
        sql_string("fewer than two clustered features vary (every customer has the same value" ~ ((' in ' ~ every) if every else '')
        ~ "); declare other columns with feature_columns.")) }} as features_check
from summary
