{#-
  Saved models and the mode of a run (README: "Running it every day").

  Every refit creates a model version: a number, recorded in segment_model_versions, on every
  fitted artifact (cleaning parameters, preprocessing, the models, parameter rows, segment
  names) and on every mart row. The artifacts are incremental tables of the working database,
  so every version is kept across builds (--full-refresh too: they say full_refresh=false).

  segment_mode, decided once per run by the on-run-start hook (custseg_start_models):
    refit  fit a new version (starting from the last one, so segments keep their ids);
    score  fit nothing: score the customers with the last saved version (or the one
           model_version pins), its cleaning parameters and preprocessing included;
    score_changes  score as `score` does, only the customers whose input changed since the
           last published run (macros/score_changes.sql; dbt build --selector score_changes);
    auto   score, unless there is no saved version, the input's clustered columns changed, the
           version is older than refit_after_days (30) or the input has changed by more than
           refit_after_change (20%) of its rows since: then refit.

  A version is usable when a published run made or used it, or it is this run's: a failed
  refit's models are never scored with. Each artifact table is read at its latest usable
  version not above the run's (so a partial build still finds what it did not rebuild).
-#}

{% macro _ensure_model_tables() %}
  {% do run_query("create table if not exists main.segment_model_versions (model_version integer, run_id varchar,
      created_at timestamp, input_rows bigint, features_json varchar)") %}
  {% do run_query("alter table main.custseg_runs add column if not exists segment_mode varchar") %}
  {% do run_query("alter table main.custseg_runs add column if not exists model_version integer") %}
{% endmacro %}

{#- Decide the run's mode and model version, and record them (on-run-start). -#}
{% macro custseg_start_models() %}
  {% do _ensure_model_tables() %}
  {% set settings = segmentation_settings() %}
  {% set requested = settings.segment_mode %}
  {% set versions = run_query("select model_version, cast(created_at as string), input_rows, features_json
      from main.segment_model_versions order by model_version").rows %}
  {% set published = run_query("select distinct model_version from main.custseg_runs
      where status = 'published' and model_version is not null").columns[0].values() | list %}
  {% set usable = versions | selectattr(0, 'in', published) | list %}
  {% set pin = settings.model_version %}
  {% if pin is not none %}
    {% set pinned = versions | selectattr(0, 'equalto', pin) | list %}
    {% if not pinned %}
      {{ refuse_run("model_version " ~ pin ~ " is not a saved model version (saved: "
          ~ ((versions | map(attribute=0) | join(', ')) or 'none') ~ "); see segment_model_versions.") }}
    {% endif %}
    {% if requested == 'refit' %}
      {{ refuse_run("model_version pins a saved model to score with; set segment_mode: score "
          ~ "(a refit always fits a new version).") }}
    {% endif %}
    {% set usable = pinned %}
  {% endif %}
  {% set saved = usable[-1] if usable else none %}
  {% if requested == 'score_changes' %}
    {#- the version the published rows were scored with: that of the last full build -#}
    {% set full_version = run_query("select model_version from main.custseg_runs where status = 'published'
        and coalesce(segment_mode, '') <> 'score_changes' order by started_at desc limit 1"
        ).columns[0].values() | list %}
    {% if pin is not none and full_version and pin != full_version[0] %}
      {{ refuse_run("segment_mode score_changes scores with model version " ~ full_version[0]
          ~ ", the one the published segments come from; to score with version " ~ pin
          ~ ", run a full build with segment_mode: score.") }}
    {% endif %}
    {% set saved = (versions | selectattr(0, 'in', full_version) | list | last) if full_version else none %}
  {% endif %}
  {% set contract = customer_input().contract %}
  {% set features = contract.columns | selectattr('role', 'equalto', 'feature') | map(attribute='name') | list %}
  {% set missing = (fromjson(saved[3]) | reject('in', features) | list) if saved else [] %}

  {% set mode = requested %}
  {% set why = 'asked' %}
  {% if requested in ('score', 'score_changes') %}
    {% if saved is none %}
      {{ refuse_run("segment_mode is " ~ requested ~ ", but no model has been saved in " ~ target.path
          ~ " yet; run a build with segment_mode: refit first.") }}
    {% endif %}
    {% if missing %}
      {{ refuse_run("segment_mode is " ~ requested ~ ", but the input no longer has the columns model version "
          ~ saved[0] ~ " was fitted on: " ~ (missing | join(', ')) ~ "; run a build with segment_mode: refit to fit a new version.") }}
    {% endif %}
  {% elif requested == 'auto' %}
    {% if saved is none %}
      {% set mode, why = 'refit', 'no saved model' %}
    {% elif missing %}
      {% set mode, why = 'refit', 'the input no longer has ' ~ (missing | join(', ')) %}
    {% else %}
      {% set age = (modules.datetime.datetime.utcnow() - modules.datetime.datetime.fromisoformat(saved[1][:19])).days %}
      {% set rows = input_size() %}
      {% set change = ((rows - saved[2]) | abs) / ([saved[2], 1] | max) %}
      {% if age > settings.refit_after_days %}
        {% set mode, why = 'refit', 'model version ' ~ saved[0] ~ ' is ' ~ age ~ ' days old' %}
      {% elif change > settings.refit_after_change %}
        {% set mode, why = 'refit', 'the input changed by ' ~ ('%.0f' % (100 * change)) ~ '% of its rows' %}
      {% else %}
        {% set mode, why = 'score', 'model version ' ~ saved[0] ~ ' is ' ~ age ~ ' days old and the input changed by '
            ~ ('%.1f' % (100 * change)) ~ '%' %}
      {% endif %}
    {% endif %}
  {% endif %}

  {% if mode == 'refit' %}
    {% set version = ((versions | map(attribute=0) | max) if versions else 0) + 1 %}
    {% do run_query("insert into main.segment_model_versions values (" ~ version ~ ", " ~ sql_string(current_run_id())
        ~ ", cast(" ~ sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) ~ " as timestamp), "
        ~ input_size() ~ ", " ~ sql_string(tojson(features)) ~ ")") %}
    {% do log('Model version ' ~ version ~ ': a refit' ~ (' (' ~ why ~ ')' if requested == 'auto' else '')
        ~ ((', starting from version ' ~ saved[0]) if saved else '') ~ '.', info=true) %}
  {% else %}
    {% set version = saved[0] %}
    {% do log('Scoring with model version ' ~ version ~ ' (' ~ why ~ '); nothing is fitted.', info=true) %}
  {% endif %}
  {% do run_query("update main.custseg_runs set segment_mode = " ~ sql_string(mode) ~ ", model_version = " ~ version
      ~ " where run_id = " ~ sql_string(current_run_id())) %}
{% endmacro %}

{#-
  The run's models: {'mode', 'model_version', 'usable'}: the versions artifacts may be read
  at (published ones and this run's). While dbt parses, or outside a build, the latest saved
  version is assumed (refit when there is none).
-#}
{% macro run_models() %}
  {% if not execute or (model is defined and model is mapping and model.get('resource_type') == 'unit_test') %}
    {{ return({'mode': 'refit', 'model_version': 1, 'usable': [1], 'unit_test': true}) }}
  {% endif %}
  {% if is_spark() %}
    {# the spark target scores with the saved version scripts/spark_build.py exported #}
    {% set version = segmentation_settings().model_version or 1 %}
    {{ return({'mode': 'score', 'model_version': version, 'usable': [version]}) }}
  {% endif %}
  {% set exists = run_query("select count(*) from information_schema.tables where table_schema = 'main'
      and table_name in ('custseg_runs', 'segment_model_versions')").columns[0].values()[0] == 2 %}
  {% set row = run_query("select segment_mode, model_version from main.custseg_runs where run_id = "
      ~ sql_string(current_run_id())).rows if exists else [] %}
  {% set published = run_query("select distinct model_version from main.custseg_runs
      where status = 'published' and model_version is not null").columns[0].values() | list if exists else [] %}
  {% if row and row[0][1] is not none %}
    {{ return({'mode': row[0][0], 'model_version': row[0][1], 'usable': published + [row[0][1]]}) }}
  {% endif %}
  {% set latest = (published | max) if published else 1 %}
  {{ return({'mode': 'score' if published else 'refit', 'model_version': latest, 'usable': published or [1]}) }}
{% endmacro %}

{#- SQL: the rows of an artifact table at its latest usable version not above the run's; with
    `per` (a column), at that version for each value of the column (one algorithm of
    segment_model_fits may have been refitted without the others). -#}
{% macro at_model_version(relation, extra_condition='true', per=none) %}
  {% set run = run_models() %}
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
  {% set published = "(select run_id from main.custseg_runs where status = 'published')" %}
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
  {% set rows = run_query("select max(run_id) from main.custseg_runs where status = 'published' and run_id < "
      ~ sql_string(current_run_id())).rows %}
  {{ return(rows[0][0] if rows else none) }}
{% endmacro %}
