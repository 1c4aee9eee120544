{#-
  Publish, then swap: BI tools and the report read a serving database, never the one a
  build writes. At the end of a `dbt build` (on-run-end) that passed every model and test
  and rebuilt every published table, the tables (with their comments: macros/comments.sql)
  are copied into a new DuckDB file beside the serving database, which then replaces it in
  one atomic rename (custseg_replace_file, a Python function of the dbt-duckdb plugin; its
  format and the Parquet folder: macros/serving_files.sql). A reader sees the previous run
  or the new one, never a mix; a reader holding the file open keeps its run and never
  blocks a build.
  A failed, partial or killed build leaves the serving database as it was, and says so.

  custseg_runs (in the working database) records every build: running, published, not
  published (and why), refused (stopped in one line before any model: refuse_run), or
  interrupted (found still running by the next build); a score_changes run also swapping
  (committed, its copy not yet swapped in) and not swapped (see publish_changes). Its times
  are UTC, whatever the machine's time zone.
-#}

{# The tables the serving database holds: the BI marts and what the report reads. #}
{% macro serving_tables() %}
  {{ return([
    'customer_segments', 'segment_assignments', 'segment_profiles', 'segment_feature_profiles',
    'segment_category_profiles', 'segment_metrics', 'segment_k_selection', 'som_nodes', 'segment_models',
    'segment_preprocessing', 'segment_model_parameters', 'segment_history', 'segment_migrations',
    'customer_features', 'rejected_customers', 'rejected_transactions', 'transaction_summary',
    'segmentation_config', 'input_columns',
    'input_summary', 'report_data_quality', 'report_feature_distributions', 'report_correlations',
    'report_points', 'report_silhouette', 'report_segment_crosstab',
  ]) }}
{% endmacro %}

{#- The serving database: $SEGMENTS_SERVING_PATH, else the working database's path with
    .serving before its extension (customer_segmentation.duckdb ->
    customer_segmentation.serving.duckdb), so two builds with different DBT_DUCKDB_PATH never
    share one. custseg.serving.default_serving_path is the same rule in Python. -#}
{% macro serving_path() %}
  {% set explicit = env_var('SEGMENTS_SERVING_PATH', '') %}
  {% if explicit %}{{ return(explicit) }}{% endif %}
  {% set working = target.path %}
  {% if working.endswith('.duckdb') %}{{ return(working[:-7] ~ '.serving.duckdb') }}{% endif %}
  {{ return(working ~ '.serving.duckdb') }}
{% endmacro %}

{#- SQL: the current time in UTC, as a timestamp (now() cast to timestamp is local time). -#}
{% macro utc_now_sql() %}
  {{ return("timezone('UTC', now())") }}
{% endmacro %}

{#- SQL: the published runs, this one included (the serving database's segment_runs). -#}
{% macro published_runs_sql() %}
  {{ return("select run_id, status, started_at, finished_at, segment_mode, model_version, detail from " ~ working_table('custseg_runs') ~ " "
      ~ "where status = 'published' union all select run_id, 'published', started_at, " ~ utc_now_sql() ~ ", "
      ~ "segment_mode, model_version, 'published to ' || serving_path "
      ~ "from " ~ working_table('custseg_runs') ~ " where run_id = " ~ sql_string(current_run_id()) ~ " order by started_at") }}
{% endmacro %}

{% macro _publishes() %}
  {{ return(execute and target.type == 'duckdb' and flags.WHICH in ('build', 'run')) }}
{% endmacro %}

{% macro custseg_on_run_start() %}
  {% if execute and is_spark() %}
    {% do log('Spark target: scoring with saved model version ' ~ run_context().models.model_version
        ~ ' (fitted on DuckDB; models/spark/ reads it). The warehouse tables are what BI reads.', info=true) %}
  {% endif %}
  {% if not _publishes() %}
    {#- compile, test, docs: the vars are still checked before anything runs -#}
    {% if execute and not is_spark() %}{% do run_context() %}{% endif %}
    {{ return('select 1') }}
  {% endif %}
  {% do run_query("create schema if not exists " ~ working_schema()) %}
  {% do run_query("create table if not exists " ~ working_table('custseg_runs') ~ " (run_id varchar, status varchar, started_at timestamp,
      finished_at timestamp, detail varchar, serving_path varchar, invocation varchar)") %}
  {% set stale = run_query("select run_id, cast(started_at as string) from " ~ working_table('custseg_runs') ~ " where status = 'running' order by started_at").rows %}
  {% do finish_unswapped_runs() %}
  {% set serving = _serving_run_row() if stale else none %}
  {% for row in stale %}
    {% if serving and serving[0] == row[0] %}
      {# killed after the swap, before it was recorded: it is published #}
      {% do run_query("update " ~ working_table('custseg_runs') ~ " set status = 'published', finished_at = cast(" ~ sql_string(serving[1])
          ~ " as timestamp), detail = 'published (recorded by the next build)' where run_id = " ~ sql_string(row[0])) %}
    {% else %}
      {% do log('The build of run ' ~ row[0] ~ ' (started ' ~ row[1] ~ ') did not finish (killed or crashed); '
          ~ 'the serving database was not touched by it.', info=true) %}
      {% do run_query("update " ~ working_table('custseg_runs') ~ " set status = 'interrupted', detail = 'the build did not finish' where run_id = " ~ sql_string(row[0])) %}
    {% endif %}
  {% endfor %}
  {% do _ensure_model_tables() %}
  {#- segment_mode as asked (record_model_plan records what auto chose) -#}
  {% set asked = raw_var('segment_mode') %}
  {% do run_query("insert into " ~ working_table('custseg_runs') ~ " (run_id, status, started_at, serving_path, invocation, segment_mode) values ("
      ~ sql_string(current_run_id()) ~ ", 'running', cast(" ~ sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S'))
      ~ " as timestamp), " ~ sql_string(serving_path()) ~ ", " ~ sql_string(flags.WHICH) ~ ", "
      ~ sql_string(asked if asked is string else 'refit') ~ ")") %}
  {#- the run's context: the vars checked, the input read, the mode decided (custseg.run_context) -#}
  {% set answer = run_context_answer() %}
  {% if asked == 'score_changes' %}{% do check_score_changes_run(answer.get('context')) %}{% endif %}
  {% if answer.get('error') %}{{ refuse_run(answer.error) }}{% endif %}
  {% do check_postgres_publish() %}
  {#- a relation input still to be read: the node that reads it records the plan (macros/run_context.sql) -#}
  {% if not answer.context.models.get('pending') %}{% do record_model_plan(answer.context.models) %}{% endif %}
  {% do check_serving_parquet_path() %}
  {{ return('select 1') }}
{% endmacro %}

{#- Stop the run before any model, in one line, recorded as refused (not as a crash: the next
    build does not report it as killed, and a score_changes run looks past it). -#}
{% macro refuse_run(message) %}
  {% if _publishes() %}{% do _record_run('refused', message) %}{% endif %}
  {{ exceptions.raise_compiler_error(message) }}
{% endmacro %}

{% macro _record_run(status, detail) %}
  {% do run_query("update " ~ working_table('custseg_runs') ~ " set status = " ~ sql_string(status) ~ ", finished_at = " ~ utc_now_sql() ~ ", detail = "
      ~ sql_string(detail) ~ " where run_id = " ~ sql_string(current_run_id())) %}
{% endmacro %}

{#- The run the serving database holds (read from the file itself), or none. -#}
{% macro _serving_run_row() %}
  {% set path = serving_path() %}
  {% if not run_query("select count(*) from glob(" ~ sql_string(path) ~ ")").columns[0].values()[0] %}
    {{ return(none) }}
  {% endif %}
  {% do run_query("attach " ~ sql_string(path) ~ " as custseg_serving (read_only)") %}
  {% set rows = run_query("select run_id, cast(finished_at as string) from custseg_serving.main.segment_runs "
      ~ "order by finished_at desc limit 1").rows %}
  {% do run_query("detach custseg_serving") %}
  {{ return(rows[0] if rows else none) }}
{% endmacro %}

{% macro _serving_run() %}
  {% set row = _serving_run_row() %}
  {{ return(('run ' ~ row[0] ~ ', published ' ~ row[1][:19]) if row else 'no run yet') }}
{% endmacro %}

{% macro custseg_on_run_end(results) %}
  {% if not _publishes() %}{{ return('select 1') }}{% endif %}
  {#- refused by the node that read a relation input: it stays refused, with its line -#}
  {% set refused = run_query("select detail from " ~ working_table('custseg_runs') ~ " where status = 'refused' and run_id = "
      ~ sql_string(current_run_id())).rows %}
  {% if refused %}
    {% do log('Serving database not updated: ' ~ refused[0][0] ~ ' ' ~ serving_path() ~ ' still holds '
        ~ _serving_run() ~ '.', info=true) %}
    {{ return('select 1') }}
  {% endif %}
  {% set problems = [] %}
  {% set skipped = [] %}
  {% set rebuilt = [] %}
  {#- this project's nodes (installed as a package, the consumer's own are not its to judge) -#}
  {% for r in results if r.node.package_name == 'customer_segmentation' %}
    {% if r.status in ('error', 'fail', 'runtime error') %}
      {% do problems.append(r.node.name) %}
    {% elif r.status == 'skipped' %}
      {% do skipped.append(r.node.name) %}
    {% elif r.node.resource_type == 'model' and r.status == 'success' %}
      {% do rebuilt.append(r.node.name) %}
    {% endif %}
  {% endfor %}
  {% set changes_only = score_changes_mode() %}
  {% set needed = (score_changes_models() + ['customer_changes', 'segment_history', 'segment_migrations'])
      if changes_only else serving_tables() %}
  {% set missing = needed | reject('in', rebuilt) | list %}
  {% set path = serving_path() %}
  {% if problems or skipped %}
    {% set detail = (problems | length) ~ ' failed (' ~ (problems[:3] | join(', ')) ~ (', ...' if problems | length > 3 else '')
        ~ ')' ~ ((' and ' ~ (skipped | length) ~ ' skipped') if skipped else '') %}
  {% elif flags.WHICH != 'build' %}
    {% set detail = 'dbt ' ~ flags.WHICH ~ ' runs no tests; only dbt build publishes' %}
  {% elif missing %}
    {% set detail = 'this build rebuilt ' ~ (needed | length - missing | length) ~ ' of the '
        ~ (needed | length) ~ (' models of --selector score_changes' if changes_only else ' published tables') ~ ', not ' ~ (missing[:4] | join(', ')) ~ (' and ' ~ (missing | length - 4) ~ ' more' if missing | length > 4 else '')
        ~ '; a full dbt build publishes' %}
  {% else %}
    {% set detail = none %}
  {% endif %}
  {% if detail is not none %}
    {% do _record_run('not published', detail) %}
    {% do log('Serving database not updated: ' ~ detail ~ '. ' ~ path ~ ' still holds ' ~ _serving_run() ~ '.', info=true) %}
    {{ return('select 1') }}
  {% endif %}
  {% if changes_only %}
    {% do publish_changes(path) %}
    {% do publish_to_postgres(path) %}
    {{ return('select 1') }}
  {% endif %}
  {% set started = modules.datetime.datetime.now(modules.pytz.utc) %}
  {% set tmp = run_query("select custseg_publish_tmp(" ~ sql_string(path) ~ ", " ~ sql_string(current_run_id()) ~ ")").columns[0].values()[0] %}
  {% do run_query(attach_serving_sql(tmp)) %}
  {% for t in serving_tables() %}
    {% do run_query("create table custseg_publish.main." ~ t ~ " as select * from " ~ working_table(t)) %}
  {% endfor %}
  {% do run_query("create table custseg_publish.main.segment_model_versions as select * from " ~ working_table('segment_model_versions')) %}
  {% do run_query("create table custseg_publish.main.segment_runs as " ~ published_runs_sql()) %}
  {% do copy_comments(target.database, 'custseg_publish', custseg_schema()) %}
  {% set parquet = write_serving_parquet('custseg_publish') %}
  {% do run_query("detach custseg_publish") %}
  {% do run_query("select custseg_replace_file(" ~ sql_string(tmp) ~ ", " ~ sql_string(path) ~ ")") %}
  {% do swap_serving_parquet(parquet) %}
  {% do _record_run('published', 'published to ' ~ path) %}
  {% set seconds = (modules.datetime.datetime.now(modules.pytz.utc) - started).total_seconds() %}
  {% do log('Published run ' ~ current_run_id() ~ ' to ' ~ path ~ ' (' ~ (serving_tables() | length + 1) ~ ' tables, '
      ~ '%.1f' % seconds ~ ' s). BI tools and the report read it.', info=true) %}
  {% do publish_to_postgres(path) %}
  {{ return('select 1') }}
{% endmacro %}
