{#-
  PostgreSQL out (README "For BI tools"; custseg.postgres.publish). With publish_postgres:
  true, a build that has just published the serving database copies its marts into the
  PostgreSQL schema postgres_schema (default segments) of $CUSTSEG_POSTGRES_URL: written
  into a staging schema, commented from the models' docs and indexed on customer_id, then
  swapped in one transaction, so a PostgreSQL reader sees the previous run or the new one.

  The tables are read from the serving database itself, so PostgreSQL gets exactly what
  the DuckDB readers see (after a full build or a score_changes night alike). A PostgreSQL
  publish that fails after the serving database was published fails the build in one line
  and is recorded in custseg_runs (detail): the serving database holds the new run,
  PostgreSQL still the previous one.
-#}

{#- The marts (models/marts) among the serving tables, and segment_runs: what BI dashboards
    read; the report's and the input's tables stay in the serving database. -#}
{% macro postgres_tables() %}
  {% set names = [] %}
  {% for name in serving_tables() %}
    {% set node = _postgres_model(name) %}
    {% if node and node.original_file_path.startswith('models/marts/') %}{% do names.append(name) %}{% endif %}
  {% endfor %}
  {{ return(names + ['segment_runs']) }}
{% endmacro %}

{% macro _postgres_model(name) %}
  {% for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name
                                          and node.package_name == 'customer_segmentation' %}
    {{ return(node) }}
  {% endfor %}
  {{ return(none) }}
{% endmacro %}

{#- on-run-start: stop before any model when the publish could not happen (no URL, no server,
    no right to create schemas). -#}
{% macro check_postgres_publish() %}
  {% set settings = run_context().settings %}
  {% if not settings.publish_postgres %}{{ return(none) }}{% endif %}
  {% set problem = run_query("select custseg_postgres_check(" ~ sql_string(settings.postgres_schema) ~ ")").columns[0].values()[0] %}
  {% if problem %}{{ refuse_run(problem) }}{% endif %}
{% endmacro %}

{#- on-run-end, after the serving database at `path` was published. -#}
{% macro publish_to_postgres(path) %}
  {% set settings = run_context().settings %}
  {% if not settings.publish_postgres %}{{ return(none) }}{% endif %}
  {% set schema = settings.postgres_schema %}
  {% set tables = [] %}
  {% for name in postgres_tables() %}
    {% set node = _postgres_model(name) %}
    {% set columns = {} %}
    {% for column_name, column in (node.columns if node else {}).items() %}
      {% do columns.update({column_name: column.description}) %}
    {% endfor %}
    {% do tables.append({'name': name, 'sql': 'select * from custseg_pg_source.main.' ~ quote_identifier(name),
        'description': node.description if node else
            'One row per published run: run_id, status, when it started and finished, segment_mode, model_version.',
        'columns': columns}) %}
  {% endfor %}
  {% set request = {'schema': schema, 'run_id': current_run_id(), 'tables': tables} %}
  {% do run_query("attach " ~ sql_string(path) ~ " as custseg_pg_source (read_only)") %}
  {% set answer = fromjson(run_query("select custseg_publish_postgres(" ~ sql_string(tojson(request)) ~ ")").columns[0].values()[0]) %}
  {% do run_query("detach custseg_pg_source") %}
  {% if answer.get('error') %}
    {% do run_query("update " ~ working_table('custseg_runs') ~ " set detail = coalesce(detail, '') || "
        ~ sql_string('; not published to PostgreSQL: ' ~ answer.error) ~ " where run_id = " ~ sql_string(current_run_id())) %}
    {{ exceptions.raise_compiler_error('Published run ' ~ current_run_id() ~ ' to ' ~ path ~ ', but not to PostgreSQL '
        ~ '(it keeps the previous run): ' ~ answer.error) }}
  {% endif %}
  {% do run_query("update " ~ working_table('custseg_runs') ~ " set detail = coalesce(detail, '') || "
      ~ sql_string('; published to PostgreSQL schema ' ~ schema) ~ " where run_id = " ~ sql_string(current_run_id())) %}
  {% do log('Published run ' ~ current_run_id() ~ ' to PostgreSQL schema ' ~ schema ~ ' (' ~ answer.tables ~ ' tables, '
      ~ answer.rows ~ ' rows, ' ~ ('%.1f' % answer.seconds) ~ ' s).', info=true) %}
{% endmacro %}
