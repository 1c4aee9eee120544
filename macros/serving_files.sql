{#-
  The files a publish writes for readers (README "For BI tools"):

  * the serving database in the DuckDB storage format of `serving_storage_version`
    (v1.0.0 by default, which DuckDB 0.10.3 and every later release opens), both by a full
    build and by a score_changes run;
  * with `serving_format: parquet`, also a folder of Parquet files, one per serving table,
    plus manifest.json (run_id, published_at, each table's rows and columns). Each run
    writes its own folder, <parquet path>.<run_id>; the path itself is a symlink that is
    repointed to it in one atomic rename, after the serving database is swapped. The
    previous run's folder is kept (readers that resolved the link before the swap keep
    reading it); older ones are removed.
-#}

{#- The Parquet folder's path: $SEGMENTS_PARQUET_PATH, else the serving database's with .parquet
    for .duckdb (customer_segmentation.serving.parquet). custseg.serving.default_parquet_path is
    the same rule in Python. -#}
{% macro serving_parquet_path() %}
  {% set explicit = env_var('SEGMENTS_PARQUET_PATH', '') %}
  {% if explicit %}{{ return(explicit) }}{% endif %}
  {% set serving = serving_path() %}
  {% if serving.endswith('.duckdb') %}{{ return(serving[:-7] ~ '.parquet') }}{% endif %}
  {{ return(serving ~ '.parquet') }}
{% endmacro %}

{#- on-run-start: a build that could not publish its Parquet folder stops before any model. -#}
{% macro check_serving_parquet_path() %}
  {% if run_context().settings.serving_format != 'parquet' %}{{ return(none) }}{% endif %}
  {% set problem = run_query("select custseg_parquet_path_problem(" ~ sql_string(serving_parquet_path()) ~ ")"
      ).columns[0].values()[0] %}
  {% if problem %}{{ refuse_run(problem) }}{% endif %}
{% endmacro %}

{#- SQL: attach a new file as custseg_publish, written in the serving_storage_version format. -#}
{% macro attach_serving_sql(path) %}
  {{ return("attach " ~ sql_string(path) ~ " as custseg_publish (storage_version "
      ~ sql_string(run_context().settings.serving_storage_version) ~ ")") }}
{% endmacro %}

{#- score_changes: a copy of the serving database `path` at `tmp`, attached as custseg_publish, in
    the serving_storage_version format. DuckDB keeps the format of a file it attaches and writes to,
    and cannot lower it: so a byte copy when the file has that format already, else its tables
    are copied into a new file (a serving database written before, or with another version). -#}
{% macro attach_serving_copy(path, tmp) %}
  {% set wanted = run_context().settings.serving_storage_version %}
  {% do run_query("attach " ~ sql_string(path) ~ " as custseg_serving_old (read_only)") %}
  {% set held = run_query("select tags['storage_version'] from duckdb_databases() "
      ~ "where database_name = 'custseg_serving_old'").columns[0].values()[0] %}
  {% if held == wanted ~ '+' %}
    {% do run_query("detach custseg_serving_old") %}
    {% do run_query("select custseg_copy_file(" ~ sql_string(path) ~ ", " ~ sql_string(tmp) ~ ")") %}
    {% do run_query(attach_serving_sql(tmp)) %}
  {% else %}
    {% do run_query(attach_serving_sql(tmp)) %}
    {% set tables = run_query("select table_name from duckdb_tables() where database_name = 'custseg_serving_old' "
        ~ "and schema_name = 'main' order by table_name").columns[0].values() %}
    {% for t in tables %}
      {% do run_query("create table custseg_publish.main." ~ quote_identifier(t) ~ " as select * from "
          ~ "custseg_serving_old.main." ~ quote_identifier(t)) %}
    {% endfor %}
    {% do copy_comments('custseg_serving_old', 'custseg_publish') %}
    {% do run_query("detach custseg_serving_old") %}
    {% do log('The serving database was in DuckDB storage format ' ~ held ~ '; this run writes it in '
        ~ wanted ~ ' (serving_storage_version).', info=true) %}
  {% endif %}
{% endmacro %}

{#- serving_format parquet: every table of the attached database `db` (custseg_publish, complete)
    as <parquet path>.<run_id>/<table>.parquet, and the manifest. Returns the folder, or none. -#}
{% macro write_serving_parquet(db) %}
  {% if run_context().settings.serving_format != 'parquet' %}{{ return(none) }}{% endif %}
  {% set run_id = current_run_id() %}
  {% set folder = run_query("select custseg_parquet_folder(" ~ sql_string(serving_parquet_path()) ~ ", "
      ~ sql_string(run_id) ~ ")").columns[0].values()[0] %}
  {% set tables = run_query("select table_name from duckdb_tables() where database_name = " ~ sql_string(db)
      ~ " and schema_name = 'main' order by table_name").columns[0].values() %}
  {% for t in tables %}
    {% do run_query("copy (select * from " ~ db ~ ".main." ~ quote_identifier(t) ~ ") to "
        ~ sql_string(folder ~ '/' ~ t ~ '.parquet') ~ " (format parquet)") %}
  {% endfor %}
  {% do run_query("select custseg_parquet_manifest(" ~ sql_string(folder) ~ ", " ~ sql_string(run_id) ~ ")") %}
  {{ return(folder) }}
{% endmacro %}

{#- Repoint the Parquet path to `folder` (none: nothing to do), after the serving database's swap. -#}
{% macro swap_serving_parquet(folder) %}
  {% if folder is none %}{{ return(none) }}{% endif %}
  {% set link = serving_parquet_path() %}
  {% do run_query("select custseg_swap_parquet(" ~ sql_string(link) ~ ", " ~ sql_string(folder) ~ ")") %}
  {% do log('Parquet folder ' ~ link ~ ' now holds run ' ~ current_run_id() ~ ' (see its manifest.json).', info=true) %}
{% endmacro %}
