{#-
  segment_mode: score_changes (README: "Running it every day"), the nightly run whose cost
  follows what changed. Run it as `dbt build --selector score_changes --vars
  '{segment_mode: score_changes}'` (make score-changes), after a published full build.

  * int_customer_input_hashes (every full build) keeps one hash per customer id: its input
    rows as read, in file order, and the latest date of each date column (recency is
    measured from it, so when it moves every customer has changed).
  * customer_changes hashes tonight's input the same way: the ids new, changed or departed.
  * The staging, cleaning, feature and scoring models then run on those customers' rows
    only (and every row without an id), into tables named <model>__changes, with the saved
    model version as `score` does; segment_history and segment_migrations take the moves.
  * On success, on-run-end applies the changes to a copy of the serving database (delete
    the changed ids, insert their new rows) and to the working tables in one transaction,
    then swaps the copy in (and a Parquet folder of it, with serving_format parquet).
    Profiles, metrics and the report's tables stay those of the last full build (segment
    sizes are recounted).
-#}

{% macro score_changes_mode() %}
  {{ return(var('segment_mode', 'refit') == 'score_changes') }}
{% endmacro %}

{#- The models a score_changes run builds for the changed customers only. -#}
{% macro score_changes_models() %}
  {{ return(['stg_customers', 'int_customers__deduplicated', 'int_customers__imputed', 'int_customers__outliers',
             'customer_features', 'rejected_customers', 'int_customer_scores', 'segment_assignments',
             'customer_segments']) }}
{% endmacro %}

{#- The published tables with one row per customer (or rejected row) that a score_changes run
    updates by customer id. -#}
{% macro score_changes_published() %}
  {{ return(['customer_features', 'rejected_customers', 'segment_assignments', 'customer_segments']) }}
{% endmacro %}

{#- In score_changes mode the models above write <model>__changes, so the full tables stay
    as they are until the run has passed. -#}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
  {%- set name = custom_alias_name or node.name -%}
  {%- if node.resource_type == 'model' and node.name in score_changes_models() and score_changes_mode() -%}
    {{ name ~ '__changes' }}
  {%- else -%}
    {{ name }}
  {%- endif -%}
{%- endmacro %}

{#- The relation the customer rows are read from: the file, the transaction log's customers or
    the seed (callers declare `-- depends_on` for the last two; the spark target always reads
    a file, and has no seeds). -#}
{% macro customer_source(input) %}
  {% if input.relation %}{{ return(input.relation) }}{% endif %}
  {% if input.source.get('kind') == 'transactions' %}{{ return(ref('int_transaction_customers')) }}{% endif %}
  {{ return(none if is_spark() else ref('raw_customers')) }}
{% endmacro %}

{#- SQL: the customer id of a source row (needs `source_row_number` for numbered rows). -#}
{% macro customer_id_sql(input) %}
  {% set contract = input.contract %}
  {% set id_column = (contract_columns(contract, ['id']) or [none])[0] %}
  {% if id_column is not none %}
    {% set id_text = "nullif(trim(cast(" ~ input_field(input, id_column) ~ " as string)), '')" %}
    {{ return(whole_number_id(id_text) if contract.get('id_whole_numbers') else id_text) }}
  {% elif contract.get('id_source') == 'row_number' %}
    {#- consecutive on every engine (Spark's source_row_number is increasing, not consecutive) #}
    {{ return('cast(row_number() over (order by source_row_number) as string)') }}
  {% endif %}
  {{ return('cast(null as string)') }}
{% endmacro %}

{#- SQL: a date column's value as a timestamp (NULL when unreadable). -#}
{% macro date_time_sql(input, column) %}
  {% set field = input_field(input, column) %}
  {% if column.date_formats == ['native'] %}{{ return('cast(' ~ field ~ ' as timestamp)') }}{% endif %}
  {% set text = 'trim(cast(' ~ field ~ ' as string))' %}
  {% set parsed = [] %}
  {% for f in column.date_formats %}{% do parsed.append(parse_timestamp(text, f)) %}{% endfor %}
  {{ return('coalesce(' ~ (parsed | join(', ')) ~ ')') }}
{% endmacro %}

{#- SQL: the latest date of a date column over every row of `rows` (a CTE of source rows). -#}
{% macro date_reference_sql(input, column, rows) %}
  {{ return('(select max(' ~ date_time_sql(input, column) ~ ') from ' ~ rows ~ ')') }}
{% endmacro %}

{#- SQL: one row per customer id of the input: customer_id, input_hash. The row hashes come
    from `staged` (stg_customers, which hashed each row as it read it: a full build) or from
    reading the input again (customer_changes); both hash the same fields the same way. -#}
{% macro customer_input_hashes_sql(staged=none) %}
  {%- set input = customer_input() -%}
  {%- set fields = [] -%}
  {%- for c in input.contract.columns if staged is none %}{% do fields.append(input_field(input, c)) %}{% endfor -%}
  {%- set references = [] -%}
  {%- if not segmentation_settings().as_of -%}
    {%- for c in measure_columns(input.contract) if c.date_formats -%}
      {%- do references.append(date_reference_sql(input, c, 'source_rows')) -%}
    {%- endfor -%}
  {%- endif -%}
with source_rows as (

    select *{{ (', ' ~ file_row_number() ~ ' as source_row_number') if staged is none }}
    from {{ customer_source(input) }}

),

hashed as {{ cte_materialized() }} (

    {%- if staged is none %}
    select
        {{ customer_id_sql(input) }} as customer_id,
        source_row_number,
        {{ row_hash(fields or ['source_row_number']) }} as row_hash
    from source_rows
    {%- else %}
    select customer_id, source_row_number, input_row_hash as row_hash
    from {{ staged }}
    where input_row_hash is not null
    {%- endif %}

),

per_customer as (

    select customer_id, count(*) as input_rows, min(row_hash) as first_hash
    from hashed
    where customer_id is not null
    group by customer_id

),

{#- one row: its hash; several: the hash of their hashes in file order (which one comes last
    decides between conflicting records) -#}
rows_hashed as (

    select customer_id, first_hash as rows_hash
    from per_customer
    where input_rows = 1
    union all
    select customer_id, {{ row_hash(['list(row_hash order by source_row_number)']) }} as rows_hash
    from hashed
    where customer_id in (select customer_id from per_customer where input_rows > 1)
    group by customer_id

)

select
    customer_id,
    {{ row_hash(['rows_hash'] + references) if references else 'rows_hash' }} as input_hash
from rows_hashed
{%- endmacro %}

{#- SQL: the customer ids a score_changes run rebuilds. -#}
{% macro changed_customer_ids() %}
  {{ return('(select customer_id from ' ~ ref('customer_changes') ~ ')') }}
{% endmacro %}

{#- on-run-start: a score_changes run builds only its selector, from a customer table, after a
    published full build. -#}
{% macro check_score_changes_run() %}
  {% set allowed = score_changes_models() + ['customer_changes', 'segment_history', 'segment_migrations'] %}
  {% set others = [] %}
  {% for uid in selected_resources if uid.startswith('model.') %}
    {% set node = graph.nodes[uid] %}
    {% if node.name not in allowed %}{% do others.append(node.name) %}{% endif %}
  {% endfor %}
  {% if others %}
    {{ exceptions.raise_compiler_error("segment_mode score_changes rebuilds only the changed customers; run it as "
        ~ "dbt build --selector score_changes (make score-changes), not with " ~ (others[:3] | join(', '))
        ~ (' and ' ~ (others | length - 3) ~ ' more' if others | length > 3 else '') ~ '.') }}
  {% endif %}
  {% if customer_input().source.get('kind') == 'transactions' %}
    {{ exceptions.raise_compiler_error("segment_mode score_changes reads a customer table; a transaction log moves "
        ~ "every customer's recency each night, so build it with segment_mode score (or refit).") }}
  {% endif %}
  {#- the last full build, skipping runs that ran no model: refused ones, and (in databases from
      before runs recorded their mode at the start) ones with no mode -#}
  {% set full = run_query("select run_id, status from main.custseg_runs
      where coalesce(segment_mode, 'score_changes') <> 'score_changes' and status <> 'refused'
        and run_id <> " ~ sql_string(current_run_id())
      ~ " order by started_at desc limit 1").rows %}
  {% set hashes = adapter.get_relation(database=target.database, schema='main',
                                       identifier='int_customer_input_hashes') %}
  {% if not full or full[0][1] != 'published' or hashes is none %}
    {{ exceptions.raise_compiler_error("segment_mode score_changes updates the last published full build, and "
        ~ (("the last one (run " ~ full[0][0] ~ ") was " ~ full[0][1]) if full else "there is none in " ~ target.path)
        ~ "; run dbt build (segment_mode refit or score) first.") }}
  {% endif %}
{% endmacro %}

{#- SQL statements applying this run's changes to the tables of `db` ('main' or an attached
    copy of the serving database, `serving`). -#}
{% macro _apply_changes_sql(db, serving) %}
  {% set changed = '(select customer_id from main.customer_changes)' %}
  {% set sql = [] %}
  {#- in the working database segment_assignments is a view of int_customer_scores -#}
  {% set tables = score_changes_published() if serving
      else (score_changes_published() | reject('equalto', 'segment_assignments') | list) + ['int_customer_scores'] %}
  {% for t in tables %}
    {% set extra = " or customer_id is null or reject_stage = 'reading'" if t == 'rejected_customers' else '' %}
    {% do sql.append('delete from ' ~ db ~ '.' ~ t ~ ' where customer_id in ' ~ changed ~ extra) %}
    {% do sql.append('insert into ' ~ db ~ '.' ~ t ~ ' by name select * from main.' ~ t ~ '__changes') %}
  {% endfor %}
  {#- segment sizes and shares, recounted over every customer -#}
  {% do sql.append("update " ~ db ~ ".segment_profiles set customers = sizes.customers, share = sizes.share
      from (select profiles.algorithm, profiles.segment_id, coalesce(counts.customers, 0) as customers,
                   coalesce(counts.customers, 0)
                     / sum(coalesce(counts.customers, 0)) over (partition by profiles.algorithm) as share
            from " ~ db ~ ".segment_profiles as profiles
            left join (select algorithm, segment_id, count(*) as customers from " ~ db ~ ".segment_assignments
                       group by algorithm, segment_id) as counts
              on profiles.algorithm = counts.algorithm and profiles.segment_id = counts.segment_id) as sizes
      where segment_profiles.algorithm = sizes.algorithm and segment_profiles.segment_id = sizes.segment_id") %}
  {% if serving %}
    {% do sql.append('delete from ' ~ db ~ '.segment_history where customer_id in ' ~ changed) %}
    {% do sql.append('insert into ' ~ db ~ '.segment_history by name select * from main.segment_history '
        ~ 'where customer_id in ' ~ changed) %}
    {% do sql.append('insert into ' ~ db ~ '.segment_migrations by name select * from main.segment_migrations '
        ~ 'where to_run_id = ' ~ sql_string(current_run_id())) %}
    {% for t in ['segment_model_versions', 'segment_runs'] %}
      {% do sql.append('delete from ' ~ db ~ '.' ~ t) %}
    {% endfor %}
    {% do sql.append('insert into ' ~ db ~ '.segment_model_versions by name '
        ~ 'select * from main.segment_model_versions') %}
    {% do sql.append("insert into " ~ db ~ ".segment_runs " ~ published_runs_sql()) %}
  {% else %}
    {% do sql.append('delete from main.int_customer_input_hashes where customer_id in ' ~ changed) %}
    {% do sql.append('insert into main.int_customer_input_hashes by name select customer_id, input_hash '
        ~ 'from main.customer_changes where input_hash is not null') %}
  {% endif %}
  {{ return(sql) }}
{% endmacro %}

{#- on-run-end of a passed score_changes run: update a copy of the serving database; then, in
    one transaction of the working database, apply the changes, record the run published and
    swap the copy in (a failed swap leaves both as they were). -#}
{% macro publish_changes(path) %}
  {% set started = modules.datetime.datetime.now() %}
  {% set run_id = current_run_id() %}
  {% set tmp = run_query("select custseg_publish_tmp(" ~ sql_string(path) ~ ", " ~ sql_string(run_id) ~ ")"
      ).columns[0].values()[0] %}
  {% set counts = run_query("select change, count(*) from main.customer_changes group by change order by change").rows %}
  {% do attach_serving_copy(path, tmp) %}
  {% for statement in _apply_changes_sql('custseg_publish.main', true) %}{% do run_query(statement) %}{% endfor %}
  {% set parquet = write_serving_parquet('custseg_publish') %}
  {% do run_query("detach custseg_publish") %}
  {% do run_query('begin transaction') %}
  {% for statement in _apply_changes_sql('main', false) %}{% do run_query(statement) %}{% endfor %}
  {% do run_query("update main.custseg_runs set status = 'published', finished_at = cast(now() as timestamp), detail = "
      ~ sql_string('published to ' ~ path) ~ " where run_id = " ~ sql_string(run_id)) %}
  {% do run_query("select custseg_replace_file(" ~ sql_string(tmp) ~ ", " ~ sql_string(path) ~ ")") %}
  {% do run_query('commit') %}
  {% do swap_serving_parquet(parquet) %}
  {% set seconds = (modules.datetime.datetime.now() - started).total_seconds() %}
  {% set said = [] %}
  {% for row in counts %}{% do said.append(row[1] ~ ' ' ~ row[0]) %}{% endfor %}
  {% do log('Published run ' ~ run_id ~ ' to ' ~ path ~ ': ' ~ ((said | join(', ')) or 'no customer changed')
      ~ ' (' ~ '%.1f' % seconds ~ ' s). BI tools and the report read it.', info=true) %}
{% endmacro %}
