{#-
  Saved models and the mode of a run (README: "Running it every day").

  Every refit creates a model version: a number, recorded in segment_model_versions, on every
  fitted artifact (cleaning parameters, preprocessing, the models, parameter rows, segment
  names) and on every mart row. The artifacts are incremental tables of the working database,
  so every version is kept across builds (--full-refresh too: they say full_refresh=false).

  segment_mode (refit, score, score_changes, auto) is decided once per run, when the run
  starts, by custseg.model_versions (its docstring says what each does); the on-run-start
  hook gathers what it reads (model_state) and records what it decided (record_model_plan).

  A version is usable when a published run made or used it, or it is this run's: a failed
  refit's models are never scored with. Each artifact table is read at its latest usable
  version not above the run's (so a partial build still finds what it did not rebuild).
-#}

{% macro _ensure_model_tables() %}
  {% do run_query("create table if not exists " ~ working_table('segment_model_versions') ~ " (model_version integer, run_id varchar,
      created_at timestamp, input_rows bigint, features_json varchar)") %}
  {% do run_query("alter table " ~ working_table('custseg_runs') ~ " add column if not exists segment_mode varchar") %}
  {% do run_query("alter table " ~ working_table('custseg_runs') ~ " add column if not exists model_version integer") %}
{% endmacro %}

{#- What the decision reads (custseg.model_versions.ModelState): the saved versions, those a
    published run made or used, and the last published full build's. Empty on a new database. -#}
{% macro model_state() %}
  {% set exists = run_query("select count(*) from information_schema.tables where table_catalog = "
      ~ sql_string(target.database) ~ " and table_schema = " ~ sql_string(custseg_schema())
      ~ " and table_name in ('custseg_runs', 'segment_model_versions')").columns[0].values()[0] == 2 %}
  {% if not exists %}{{ return({'versions': [], 'published': [], 'last_full': []}) }}{% endif %}
  {% set versions = run_query("select model_version, cast(created_at as string), input_rows, features_json
      from " ~ working_table('segment_model_versions') ~ " order by model_version").rows | map('list') | list %}
  {% set published = run_query("select distinct model_version from " ~ working_table('custseg_runs') ~ "
      where status = 'published' and model_version is not null").rows | map('list') | list %}
  {% set last_full = run_query("select model_version from " ~ working_table('custseg_runs') ~ " where status = 'published'
      and coalesce(segment_mode, '') <> 'score_changes' order by started_at desc limit 1").rows | map('list') | list %}
  {{ return({'versions': versions, 'published': published, 'last_full': last_full}) }}
{% endmacro %}

{#- on-run-start: record the run's mode and model version (a refit's new version too). -#}
{% macro record_model_plan(models) %}
  {% set new = models.get('new_version') %}
  {% if new %}
    {% do run_query("insert into " ~ working_table('segment_model_versions') ~ " values (" ~ new.model_version ~ ", "
        ~ sql_string(current_run_id()) ~ ", cast(" ~ sql_string(new.created_at) ~ " as timestamp), "
        ~ new.input_rows ~ ", " ~ sql_string(tojson(new.features)) ~ ")") %}
  {% endif %}
  {% do log(models.message, info=true) %}
  {% do run_query("update " ~ working_table('custseg_runs') ~ " set segment_mode = " ~ sql_string(models.mode) ~ ", model_version = "
      ~ models.model_version ~ " where run_id = " ~ sql_string(current_run_id())) %}
{% endmacro %}

{#- SQL: the rows of an artifact table at its latest usable version not above the run's; with
    `per` (a column), at that version for each value of the column (one algorithm of
    segment_model_fits may have been refitted without the others). -#}
{% macro at_model_version(relation, extra_condition='true', per=none) %}
  {% set run = run_context().models %}
  {% if run.get('unit_test') %}{{ return("select * from " ~ relation) }}{% endif %}
  {% set usable = "model_version in (" ~ (run.usable | join(', ')) ~ ") and model_version <= " ~ run.model_version
      ~ " and " ~ extra_condition %}
  {% if per %}
    {% set key = quote_identifier(per) %}
    {{ return("select * from " ~ relation ~ " as artifact where model_version = (select max(model_version) from "
        ~ relation ~ " as versions where versions." ~ key ~ " = artifact." ~ key ~ " and " ~ usable ~ ")") }}
  {% endif %}
  {{ return("select * from " ~ relation ~ " where model_version = (select max(model_version) from " ~ relation
      ~ " where " ~ usable ~ ")") }}
{% endmacro %}

{#-
  Pre-hook of the history marts: undo what builds that were not published wrote (a failed or
  killed build may have updated them before it stopped), so history only ever holds runs
  that were published. `run_column`: the column naming the run that wrote a row.
-#}
{% macro rewind_unpublished(run_column, closing_column=none) %}
  {% set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) %}
  {% if existing is none %}{{ return('select 1') }}{% endif %}
  {% set published = "(select run_id from " ~ working_table('custseg_runs') ~ " where status = 'published')" %}
  {% set sql = "delete from " ~ this ~ " where " ~ run_column ~ " not in " ~ published %}
  {% if closing_column %}
    {% set sql = sql ~ "; update " ~ this ~ " set " ~ closing_column ~ " = null where " ~ closing_column
        ~ " is not null and " ~ closing_column ~ " not in " ~ published %}
  {% endif %}
  {{ return(sql) }}
{% endmacro %}

{#- The last published run before this one, or none. -#}
{% macro previous_published_run() %}
  {% if not execute %}{{ return(none) }}{% endif %}
  {% set rows = run_query("select max(run_id) from " ~ working_table('custseg_runs') ~ " where status = 'published' and run_id < "
      ~ sql_string(current_run_id())).rows %}
  {{ return(rows[0][0] if rows else none) }}
{% endmacro %}
