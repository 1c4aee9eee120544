{#-
  The catalog's comments: the models' descriptions, which persist_docs writes as COMMENT ON
  the working tables and views (dbt_project.yml), are what BI tools show beside each table
  and column. CREATE TABLE AS copies rows, not comments, so a copy into the serving database
  copies them after its tables: copy_comments(from, to, from_schema) comments each table and
  column of database `to` (schema main) as its namesake in schema `from_schema` (main) of
  database `from` is commented. Every text
  reaches SQL through quote_identifier and sql_string.
-#}

{% macro copy_comments(from_database, to_database, from_schema='main') %}
  {% set source = sql_string(from_database) %}
  {% set target = sql_string(to_database) %}
  {% set schema = sql_string(from_schema) %}
  {% set rows = run_query(
      "with relations as (
           select table_name, comment from duckdb_tables() where database_name = " ~ source ~ " and schema_name = " ~ schema ~ "
           union all
           select view_name, comment from duckdb_views() where database_name = " ~ source ~ " and schema_name = " ~ schema ~ "
       ),
       copied as (
           select table_name from duckdb_tables() where database_name = " ~ target ~ " and schema_name = 'main'
       )
       select table_name, null as column_name, comment from relations inner join copied using (table_name)
       where coalesce(comment, '') <> ''
       union all
       select columns.table_name, columns.column_name, columns.comment
       from duckdb_columns() as columns
       inner join (select table_name, column_name from duckdb_columns()
                   where database_name = " ~ target ~ " and schema_name = 'main') as copied_columns
           on columns.table_name = copied_columns.table_name and columns.column_name = copied_columns.column_name
       where columns.database_name = " ~ source ~ " and columns.schema_name = " ~ schema ~ "
           and coalesce(columns.comment, '') <> ''
       order by 1, 2 nulls first").rows %}
  {% set statements = [] %}
  {% for table_name, column_name, comment in rows %}
    {% set relation = quote_identifier(to_database) ~ '.main.' ~ quote_identifier(table_name) %}
    {% if column_name is none %}
      {% do statements.append('comment on table ' ~ relation ~ ' is ' ~ sql_string(comment)) %}
    {% else %}
      {% do statements.append('comment on column ' ~ relation ~ '.' ~ quote_identifier(column_name)
          ~ ' is ' ~ sql_string(comment)) %}
    {% endif %}
  {% endfor %}
  {% for batch in statements | batch(200) %}
    {% do run_query(batch | join(';\n')) %}
  {% endfor %}
  {{ return(rows | length) }}
{% endmacro %}
