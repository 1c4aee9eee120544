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
  * The input checks of a full build hold over tonight's whole input: input_summary__changes
    counts the unchanged customers' rows (int_customer_input_hashes keeps their rows and lines)
    with the staged ones, and stops the run above max_rejected_share, below the customers the
    algorithms need, or without two features that vary; the conservation tests check the
    staged rows exactly, and that the rest of the file's lines are the unchanged customers'.
  * On success, on-run-end applies the changes to a copy of the serving database (delete
    the changed ids, insert their new rows), then to the working tables in one transaction
    that records the run `swapping`, commits, and swaps the copy in (then `published`; and a Parquet folder of it,
    with serving_format parquet). A
    run killed between the commit and the swap is swapped in by the next build from its
    copy, or recorded `not swapped` (score_changes then waits for a full build). Profiles,
    metrics and the report's tables stay those of the last full build (segment sizes are
    recounted).
-#}

{% macro score_changes_mode() %}
  {{ return(run_context().settings.segment_mode == 'score_changes') }}
{% endmacro %}

{#- The models a score_changes run builds into <model>__changes: for the changed customers only,
    and the input checks (input_summary) over the whole input. -#}
{% macro score_changes_models() %}
  {{ return(['custseg_stg_customers', 'int_customers__deduplicated', 'int_customers__imputed', 'int_customers__outliers',
             'customer_features', 'rejected_customers', 'input_summary', 'int_customer_scores', 'segment_assignments',
             'customer_segments']) }}
{% endmacro %}

{#- The published tables with one row per customer (or rejected row) that a score_changes run
    updates by customer id. -#}
{% macro score_changes_published() %}
  {{ return(['customer_features', 'rejected_customers', 'segment_assignments', 'customer_segments']) }}
{% endmacro %}

{#- SQL: one row per customer id of the input: customer_id, input_hash. The row hashes come
    from `staged` (stg_customers, which hashed each row as it read it: a full build) or from
    reading the input again (customer_changes); both hash the same fields the same way. From
    `staged`, also the customer's input_rows and input_lines (the physical lines they took),
    which a score_changes run counts for the customers it does not stage. -#}
{% macro customer_input_hashes_sql(staged=none) %}
  {%- set input = run_context().input -%}
  {%- set fields = [] -%}
  {%- for c in input.contract.columns if staged is none %}{% do fields.append(input_field(input, c)) %}{% endfor -%}
  {%- set references = [] -%}
  {%- if not run_context().settings.as_of -%}
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
    select customer_id, source_row_number, input_row_hash as row_hash, line_span
    from {{ staged }}
    where input_row_hash is not null
    {%- endif %}

),

per_customer as (

    select
        customer_id,
        count(*) as input_rows,
        {%- if staged is not none %}
        sum(line_span) as input_lines,
        {%- endif %}
        min(row_hash) as first_hash
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
    rows_hashed.customer_id,
    {{ row_hash(['rows_hash'] + references) if references else 'rows_hash' }} as input_hash
    {%- if staged is not none %},
    cast(per_customer.input_rows as bigint) as input_rows,
    cast(per_customer.input_lines as bigint) as input_lines
    {%- endif %}
from rows_hashed
{%- if staged is not none %}
inner join per_customer
    on rows_hashed.customer_id = per_customer.customer_id
{%- endif %}
{%- endmacro %}

{#- SQL: the customer ids a score_changes run rebuilds. -#}
{% macro changed_customer_ids() %}
  {{ return('(select customer_id from ' ~ ref('customer_segmentation', 'customer_changes') ~ ')') }}
{% endmacro %}

{#- SQL condition: the rows of published table `name` a score_changes run replaces: those of the
    customers in `changed` (a subquery of ids), and, in rejected_customers, every row without an
    id and every line that did not parse (tonight's run stages all of those again). -#}
{% macro replaced_rows_condition(name, changed) %}
  {{ return('(customer_id in ' ~ changed ~ ((" or customer_id is null or reject_stage = 'reading'")
      if name == 'rejected_customers' else '') ~ ')') }}
{% endmacro %}

{#- The working table `name` itself, not the <name>__changes a score_changes run builds. -#}
{% macro full_table(name) %}
  {% set relation = ref('customer_segmentation', name) %}
  {{ return(relation.incorporate(path={'identifier': name})) }}
{% endmacro %}

{#- SQL (a subquery): published table `name` (customer_features or rejected_customers) as it
    will be once tonight's changes are applied: its rows this run keeps, and tonight's. -#}
{% macro after_changes_sql(name) %}
  {{ return('(select * from ' ~ full_table(name) ~ ' where not ' ~ replaced_rows_condition(name, changed_customer_ids())
      ~ ' union all by name select * from ' ~ ref('customer_segmentation', name) ~ ')') }}
{% endmacro %}

{#- SQL: one row, the input rows and lines of the customers a score_changes run does not stage
    (their input is as in the last published run: int_customer_input_hashes), and where those
    rows are: clean_rows in customer_features, rejected_rows in rejected_customers. -#}
{% macro unchanged_input_sql() %}
  {{ return("select
        (select coalesce(sum(input_rows), 0) from " ~ ref('customer_segmentation', 'int_customer_input_hashes') ~ "
         where customer_id not in " ~ changed_customer_ids() ~ ") as input_rows,
        (select coalesce(sum(input_lines), 0) from " ~ ref('customer_segmentation', 'int_customer_input_hashes') ~ "
         where customer_id not in " ~ changed_customer_ids() ~ ") as input_lines,
        (select coalesce(sum(source_row_count), 0) from " ~ full_table('customer_features') ~ "
         where not " ~ replaced_rows_condition('customer_features', changed_customer_ids()) ~ ") as clean_rows,
        (select count(*) from " ~ full_table('rejected_customers') ~ "
         where not " ~ replaced_rows_condition('rejected_customers', changed_customer_ids()) ~ ") as rejected_rows") }}
{% endmacro %}

{#- on-run-start: a score_changes run builds only its selector, from a customer table, after a
    published full build (`context`: the run's, none when it could not be made). -#}
{% macro check_score_changes_run(context) %}
  {% set allowed = score_changes_models() + ['customer_changes', 'segment_history', 'segment_migrations'] %}
  {#- and the model a relation input names, which the selection may rebuild first -#}
  {% set relation = (context.settings.customers_relation if context else none) or {} %}
  {% if relation.get('model') %}{% do allowed.append(relation.model) %}{% endif %}
  {% set others = [] %}
  {% for uid in selected_resources if uid.startswith('model.') %}
    {% set node = graph.nodes[uid] %}
    {% if node.name not in allowed or node.package_name != 'customer_segmentation' %}{% do others.append(node.name) %}{% endif %}
  {% endfor %}
  {% if others %}
    {{ refuse_run("segment_mode score_changes rebuilds only the changed customers; run it as "
        ~ "dbt build --selector score_changes (make score-changes), not with " ~ (others[:3] | join(', '))
        ~ (' and ' ~ (others | length - 3) ~ ' more' if others | length > 3 else '') ~ '.') }}
  {% endif %}
  {#- the last full build, skipping runs that ran no model: refused ones, and (in databases from
      before runs recorded their mode at the start) ones with no mode -#}
  {% set full = run_query("select run_id, status from " ~ working_table('custseg_runs') ~ "
      where coalesce(segment_mode, 'score_changes') <> 'score_changes' and status <> 'refused'
        and run_id <> " ~ sql_string(current_run_id())
      ~ " order by started_at desc limit 1").rows %}
  {% set hashes = adapter.get_relation(database=target.database, schema=custseg_schema(),
                                       identifier='int_customer_input_hashes') %}
  {% if not full or full[0][1] != 'published' or hashes is none %}
    {{ refuse_run("segment_mode score_changes updates the last published full build, and "
        ~ (("the last one (run " ~ full[0][0] ~ ") was " ~ full[0][1]) if full else "there is none in " ~ target.path)
        ~ "; run dbt build (segment_mode refit or score) first.") }}
  {% endif %}
  {#- (not adapter.get_columns_in_relation: it opens a transaction that dbt rolls back after the hook) -#}
  {% if not run_query("select count(*) from information_schema.columns where table_schema = " ~ sql_string(hashes.schema)
      ~ " and table_name = 'int_customer_input_hashes' and column_name = 'input_lines'").columns[0].values()[0] %}
    {{ refuse_run("segment_mode score_changes counts the rows of the customers it does not "
        ~ "stage from int_customer_input_hashes, which the last full build (run " ~ full[0][0] ~ ") built without "
        ~ "them; run dbt build (segment_mode refit or score) once first.") }}
  {% endif %}
  {#- a night whose changes reached the working tables but never the serving database: the
      serving database lacks them, so only a full build can bring the two together again -#}
  {% set lost = run_query("select run_id from " ~ working_table('custseg_runs') ~ " where status = 'not swapped' and started_at > "
      ~ "(select max(started_at) from " ~ working_table('custseg_runs') ~ " where status = 'published' "
      ~ "and coalesce(segment_mode, 'score_changes') <> 'score_changes')"
      ).rows %}
  {% if lost %}
    {{ refuse_run("segment_mode score_changes updates the serving database night by night, and "
        ~ "the changes of run " ~ lost[-1][0] ~ " reached the working tables but never the serving database (its "
        ~ "copy could not be swapped in); run dbt build (segment_mode refit or score) to publish everything again.") }}
  {% endif %}
  {% if context and context.input.source.get('kind') == 'transactions' %}
    {{ refuse_run("segment_mode score_changes reads a customer table; a transaction log moves "
        ~ "every customer's recency each night, so build it with segment_mode score (or refit).") }}
  {% endif %}
{% endmacro %}

{#- SQL statements applying this run's changes to the tables of `db` (working_schema() or the
    main schema of an attached copy of the serving database, `serving`). -#}
{% macro _apply_changes_sql(db, serving) %}
  {% set changed = '(select customer_id from ' ~ working_table('customer_changes') ~ ')' %}
  {% set sql = [] %}
  {#- in the working database segment_assignments is a view of int_customer_scores -#}
  {% set tables = score_changes_published() if serving
      else (score_changes_published() | reject('equalto', 'segment_assignments') | list) + ['int_customer_scores'] %}
  {% for t in tables %}
    {% do sql.append('delete from ' ~ db ~ '.' ~ t ~ ' where ' ~ replaced_rows_condition(t, changed)) %}
    {% do sql.append('insert into ' ~ db ~ '.' ~ t ~ ' by name select * from ' ~ working_table(t ~ '__changes')) %}
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
    {% do sql.append('insert into ' ~ db ~ '.segment_history by name select * from ' ~ working_table('segment_history') ~ ' '
        ~ 'where customer_id in ' ~ changed) %}
    {% do sql.append('insert into ' ~ db ~ '.segment_migrations by name select * from ' ~ working_table('segment_migrations') ~ ' '
        ~ 'where to_run_id = ' ~ sql_string(current_run_id())) %}
    {% for t in ['segment_model_versions', 'segment_runs'] %}
      {% do sql.append('delete from ' ~ db ~ '.' ~ t) %}
    {% endfor %}
    {% do sql.append('insert into ' ~ db ~ '.segment_model_versions by name '
        ~ 'select * from ' ~ working_table('segment_model_versions')) %}
    {% do sql.append("insert into " ~ db ~ ".segment_runs " ~ published_runs_sql()) %}
  {% else %}
    {% do sql.append('delete from ' ~ working_table('int_customer_input_hashes') ~ ' where customer_id in ' ~ changed) %}
    {#- the rows and lines of each changed customer, as staged tonight (not the lines that did not parse) -#}
    {% do sql.append('insert into ' ~ working_table('int_customer_input_hashes') ~ ' by name
        select changes.customer_id, changes.input_hash, staged.input_rows, staged.input_lines
        from ' ~ working_table('customer_changes') ~ ' as changes
        left join (select customer_id, cast(count(*) as bigint) as input_rows, cast(sum(line_span) as bigint) as input_lines
                   from ' ~ working_table('stg_customers__changes') ~ ' where input_row_hash is not null group by customer_id) as staged
          on changes.customer_id = staged.customer_id
        where changes.input_hash is not null') %}
  {% endif %}
  {{ return(sql) }}
{% endmacro %}

{#- on-run-end of a passed score_changes run: update a copy of the serving database; then, in
    one transaction of the working database, apply the changes and record the run `swapping`;
    commit; then swap the copy in and record the run published. The serving database never
    holds a run the working tables do not; a kill or a failed swap after the commit leaves the
    copy for the next build to swap in (finish_unswapped_runs). -#}
{% macro publish_changes(path) %}
  {% set started = modules.datetime.datetime.now(modules.pytz.utc) %}
  {% set run_id = current_run_id() %}
  {% set tmp = run_query("select custseg_publish_tmp(" ~ sql_string(path) ~ ", " ~ sql_string(run_id) ~ ")"
      ).columns[0].values()[0] %}
  {% set counts = run_query("select change, count(*) from " ~ working_table('customer_changes') ~ " group by change order by change").rows %}
  {% do attach_serving_copy(path, tmp) %}
  {% for statement in _apply_changes_sql('custseg_publish.main', true) %}{% do run_query(statement) %}{% endfor %}
  {% set parquet = write_serving_parquet('custseg_publish') %}
  {% do run_query("detach custseg_publish") %}
  {% do run_query('begin transaction') %}
  {% for statement in _apply_changes_sql(working_schema(), false) %}{% do run_query(statement) %}{% endfor %}
  {% do run_query("update " ~ working_table('custseg_runs') ~ " set status = 'swapping', finished_at = " ~ utc_now_sql() ~ ", detail = "
      ~ sql_string('in the working tables; its copy ' ~ tmp ~ ' replaces ' ~ path) ~ " where run_id = " ~ sql_string(run_id)) %}
  {% do run_query('commit') %}
  {% set failed = run_query("select custseg_swap_in(" ~ sql_string(tmp) ~ ", " ~ sql_string(path) ~ ")"
      ).columns[0].values()[0] %}
  {% if failed %}
    {{ exceptions.raise_compiler_error("Run " ~ run_id ~ " is in the working tables, but its copy of the serving "
        ~ "database could not replace " ~ path ~ " (" ~ failed ~ "); the next build swaps it in, or says why it "
        ~ "cannot. Readers still see " ~ _serving_run() ~ ".") }}
  {% endif %}
  {% do _record_run('published', 'published to ' ~ path) %}
  {% do swap_serving_parquet(parquet) %}
  {% set seconds = (modules.datetime.datetime.now(modules.pytz.utc) - started).total_seconds() %}
  {% set said = [] %}
  {% for row in counts %}{% do said.append(row[1] ~ ' ' ~ row[0]) %}{% endfor %}
  {% do log('Published run ' ~ run_id ~ ' to ' ~ path ~ ': ' ~ ((said | join(', ')) or 'no customer changed')
      ~ ' (' ~ '%.1f' % seconds ~ ' s). BI tools and the report read it.', info=true) %}
{% endmacro %}

{#- on-run-start: a score_changes run killed (or whose swap failed) after it committed its
    changes to the working tables, before its copy replaced the serving database. When the
    serving database holds it after all, it is published; when its copy is still there (the
    next build has not removed it yet), the copy is swapped in now; otherwise it is recorded
    `not swapped`, and score_changes waits for a full build. -#}
{% macro finish_unswapped_runs() %}
  {% set path = serving_path() %}
  {% for row in run_query("select run_id from " ~ working_table('custseg_runs') ~ " where status = 'swapping' order by started_at").rows %}
    {% set run_id = row[0] %}
    {% set serving = _serving_run_row() %}
    {% set copy = run_query("select custseg_publish_copy(" ~ sql_string(path) ~ ", " ~ sql_string(run_id) ~ ")"
        ).columns[0].values()[0] %}
    {% if serving and serving[0] == run_id %}
      {% set failed, how = none, 'recorded by the next build' %}
    {% elif not copy %}
      {% set failed = 'its copy of the serving database is gone' %}
    {% else %}
      {% do run_query("attach " ~ sql_string(copy) ~ " as custseg_pending (read_only)") %}
      {% set held = run_query("select run_id from custseg_pending.main.segment_runs order by finished_at desc limit 1").rows %}
      {% do run_query("detach custseg_pending") %}
      {% set failed = ('its copy ' ~ copy ~ ' holds another run') if not held or held[0][0] != run_id
          else run_query("select custseg_swap_in(" ~ sql_string(copy) ~ ", " ~ sql_string(path) ~ ")").columns[0].values()[0] %}
      {% set how = 'its copy swapped in by the next build' %}
    {% endif %}
    {% if failed %}
      {% do run_query("update " ~ working_table('custseg_runs') ~ " set status = 'not swapped', detail = "
          ~ sql_string('changed the working tables, never the serving database: ' ~ failed) ~ " where run_id = " ~ sql_string(run_id)) %}
      {% do log('Run ' ~ run_id ~ ' changed the working tables but never reached the serving database (' ~ failed
          ~ '); ' ~ path ~ ' holds ' ~ _serving_run() ~ '. Run a full dbt build (segment_mode refit or score) to '
          ~ 'publish again; score_changes waits for it.', info=true) %}
    {% else %}
      {% do run_query("update " ~ working_table('custseg_runs') ~ " set status = 'published', detail = "
          ~ sql_string('published to ' ~ path ~ ' (' ~ how ~ ')') ~ " where run_id = " ~ sql_string(run_id)) %}
      {% do log('Run ' ~ run_id ~ ' stopped between committing its changes and recording its swap; published ('
          ~ how ~ '): ' ~ path ~ ' holds it.', info=true) %}
    {% endif %}
  {% endfor %}
{% endmacro %}
