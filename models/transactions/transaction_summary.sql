{#-
  One row: what happened to the transaction log, and the check that must pass before the
  customers are built. Lines in (counted independently of the parser) = used lines +
  rejected lines + collapsed exact duplicates. Guest lines (no customer id) are rejected
  with their own reason and reported with their share, a clickstream's events other than
  purchases likewise (other_event_lines); the other rejections above
  max_rejected_share stop the build here with one line. Empty without transactions_path.
-#}
-- depends_on: {{ ref('customer_segmentation', 'custseg_stg_transactions') }}
-- depends_on: {{ ref('customer_segmentation', 'int_transactions__deduplicated') }}
-- depends_on: {{ ref('customer_segmentation', 'rejected_transactions') }}
-- depends_on: {{ ref('customer_segmentation', 'int_transactions') }}
{% set settings = run_context().settings -%}
{%- set input = transaction_input() -%}
{%- if not input.enabled %}

select
    cast(null as bigint) as input_lines,
    cast(null as bigint) as parsed_lines,
    cast(null as bigint) as staged_rows,
    cast(null as bigint) as collapsed_duplicates,
    cast(null as bigint) as rejected_lines,
    cast(null as bigint) as guest_lines,
    cast(null as double) as guest_share,
    cast(null as bigint) as other_event_lines,
    cast(null as double) as rejected_share,
    cast(null as string) as top_reasons,
    cast(null as bigint) as used_lines,
    cast(null as bigint) as customers,
    cast(null as timestamp) as as_of,
    cast(null as double) as max_rejected_share,
    cast(null as string) as rejected_check
where false
{%- else %}

with staged as (

    select coalesce(sum(line_span), 0) as parsed_lines, count(*) as staged_rows
    from {{ ref('customer_segmentation', 'custseg_stg_transactions') }}

),

kept as (

    select count(*) as kept_rows from {{ ref('customer_segmentation', 'int_transactions__deduplicated') }}

),

rejected as (

    select
        count(*) as rejected_lines,
        count(*) filter (where is_guest) as guest_lines,
        count(*) filter (where is_other_event) as other_event_lines,
        count(*) filter (where is_guest or is_other_event) as set_apart_lines
    from {{ ref('customer_segmentation', 'rejected_transactions') }}

),

reasons as (

    select
        {{ joined_in_order("primary_reject_reason || ' ' || cast(rows_rejected as string)", "', '", "order by rows_rejected desc, primary_reject_reason") }} as top_reasons
    from (
        select primary_reject_reason, count(*) as rows_rejected
        from {{ ref('customer_segmentation', 'rejected_transactions') }}
        where not is_guest and not is_other_event
        group by primary_reject_reason
        order by rows_rejected desc, primary_reject_reason
        limit 3
    ) as top

),

used as (

    select count(*) as used_lines, count(distinct customer_id) as customers, max(occurred_at) as latest
    from {{ ref('customer_segmentation', 'int_transactions') }}

),

summary as (

    select
        cast({{ input.source.get('data_lines', 0) }} as bigint) as input_lines,
        staged.parsed_lines,
        staged.staged_rows,
        staged.staged_rows - kept.kept_rows as collapsed_duplicates,
        rejected.rejected_lines,
        rejected.guest_lines,
        {{ safe_divide('rejected.guest_lines', 'staged.staged_rows') }} as guest_share,
        rejected.other_event_lines,
        {{ safe_divide('rejected.rejected_lines - rejected.set_apart_lines', 'staged.staged_rows - rejected.set_apart_lines') }} as rejected_share,
        coalesce(reasons.top_reasons, '') as top_reasons,
        used.used_lines,
        used.customers,
        {{ ("cast(" ~ sql_string(settings.as_of) ~ " as timestamp)") if settings.as_of else "used.latest" }} as as_of
    from staged
    cross join kept
    cross join rejected
    cross join reasons
    cross join used

)

select
    *,
    cast({{ settings.max_rejected_share }} as double) as max_rejected_share,
    {{ fail_when('rejected_share > ' ~ settings.max_rejected_share,
        "cast(round(100 * rejected_share, 1) as string) || "
        ~ sql_string("% of the transaction lines with a customer id were rejected, above max_rejected_share "
        ~ settings.max_rejected_share ~ " (top reasons: ") ~ " || top_reasons || "
        ~ sql_string("); see the table rejected_transactions, fix the log, or raise max_rejected_share.")) }} as rejected_check
from summary
{%- endif %}
