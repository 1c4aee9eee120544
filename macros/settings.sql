{#-
  The pipeline's configuration: every `vars:` entry of dbt_project.yml, validated as data.

  segmentation_settings() is called by the models when dbt parses the project, so a bad
  value stops the run once, before anything is built, with one line naming the var, the
  value and what is allowed. The resolved settings are stored in `segmentation_config`.

  Values given with --vars are read as they were given (invocation_args_dict), never
  through var(): dbt renders a string var as Jinja when var() reads it, so a value such as
  "{{ run_query(...) }}" would run. Only the project's own defaults (dbt_project.yml) go
  through var(). Paths are checked to be paths, column names are data (quoted wherever
  they reach SQL), and a var this project does not know is refused, so a typo is not
  silently ignored.
-#}

{% macro setting_names() %}
  {{ return([
    'customers_path', 'transactions_path', 'customers_relation', 'transactions_relation', 'column_map', 'id_column', 'feature_columns', 'categorical_columns',
    'ignore_columns', 'input_options', 'as_of',
    'outlier_method', 'outlier_upper_quantile', 'max_rejected_share', 'warn_rejected_share',
    'random_state', 'segment_mode', 'model_version', 'refit_after_days', 'refit_after_change', 'primary_algorithm', 'k_min', 'k_max', 'kmeans_k',
    'hierarchical_k', 'gmm_k', 'som_grid', 'fit_sample_size', 'hierarchical_sample_size', 'density_sample_size',
    'silhouette_sample_size', 'evaluation_sample_size', 'stability_resamples', 'assign_batch_rows',
    'profile_median_sample_size', 'report_max_points', 'serving_storage_version', 'serving_format',
    'publish_postgres', 'postgres_schema',
  ]) }}
{% endmacro %}

{% macro _settings_error(name, value, expected) %}
  {{ exceptions.raise_compiler_error(
      "Invalid var '" ~ name ~ "': got " ~ (value | tojson) ~ "; expected " ~ expected
      ~ ". Set it in dbt_project.yml or with --vars '{" ~ name ~ ": ...}'.") }}
{% endmacro %}

{# The value of a var: as given on the command line when it was, else the project default. #}
{% macro raw_var(name) %}
  {% if model is defined and model is mapping and model.get('resource_type') == 'unit_test' %}
    {# a unit test's own var overrides (YAML of this project) #}
    {{ return(var(name, none)) }}
  {% endif %}
  {% set cli = invocation_args_dict.get('vars') %}
  {% if cli is string %}{% set cli = fromyaml(cli) %}{% endif %}
  {% if cli is mapping and name in cli %}{{ return(cli[name]) }}{% endif %}
  {{ return(var(name, none)) }}
{% endmacro %}

{% macro _check_no_unknown_vars() %}
  {% set cli = invocation_args_dict.get('vars') %}
  {% if cli is string %}{% set cli = fromyaml(cli) %}{% endif %}
  {% if cli is mapping %}
    {% set known = setting_names() %}
    {% for key in cli %}
      {% if key == 'model_features' %}
        {{ exceptions.raise_compiler_error(
            "The var 'model_features' was renamed 'feature_columns' (a list of input columns, or a map {column: kind}); "
            ~ "see README, 'Bring your own customers'.") }}
      {% endif %}
      {% if key not in known %}
        {% set close = [] %}
        {% for k in known if (k[:4] == (key ~ '')[:4]) %}{% do close.append(k) %}{% endfor %}
        {{ exceptions.raise_compiler_error(
            "Unknown var '" ~ key ~ "'" ~ ((" (did you mean " ~ (close | join(' or ')) ~ "?)") if close else "")
            ~ "; the vars are listed in dbt_project.yml.") }}
      {% endif %}
    {% endfor %}
  {% endif %}
{% endmacro %}

{% macro _is_name(value) %}
  {{ return(value is string and (value | trim) != '' and (value | length) <= 200
            and modules.re.search('[\\x00-\\x1f]', value) is none) }}
{% endmacro %}

{% macro _int_setting(name, min_value, max_value=none, allow_null=false) %}
  {% set value = raw_var(name) %}
  {% if value is none and allow_null %}{{ return(none) }}{% endif %}
  {% if value is not number or value is sameas true or value is sameas false or value != (value | int) %}
    {{ _settings_error(name, value, "an integer" ~ (" or null" if allow_null else "")) }}
  {% endif %}
  {% if value < min_value or (max_value is not none and value > max_value) %}
    {{ _settings_error(name, value, "an integer from " ~ min_value ~ (" to " ~ max_value if max_value is not none else " up")) }}
  {% endif %}
  {{ return(value | int) }}
{% endmacro %}

{% macro _number_setting(name, low, high, expected) %}
  {% set value = raw_var(name) %}
  {% if value is not number or value is sameas true or value is sameas false or value <= low or value >= high %}
    {{ _settings_error(name, value, expected) }}
  {% endif %}
  {{ return(value) }}
{% endmacro %}

{% macro _choice_setting(name, choices) %}
  {% set value = raw_var(name) %}
  {% if value not in choices %}
    {{ _settings_error(name, value, "one of " ~ (choices | join(', '))) }}
  {% endif %}
  {{ return(value) }}
{% endmacro %}

{#- An algorithm of the registry: checked when dbt runs (the registry is Python; while dbt
    parses nothing runs), so a bad value stops the run in its on-run-start step. -#}
{% macro _algorithm_setting(name) %}
  {% set value = raw_var(name) %}
  {% if not execute %}
    {% if not _is_name(value) %}{{ _settings_error(name, value, "the name of an algorithm") }}{% endif %}
    {{ return(value) }}
  {% endif %}
  {{ return(_choice_setting(name, segmentation_algorithms())) }}
{% endmacro %}

{% macro _path_setting(name) %}
  {% set path = raw_var(name) %}
  {% if path is none %}{{ return(none) }}{% endif %}
  {% if path is not string or (path | trim) == '' or modules.re.search('[\\x00-\\x1f]', path) is not none %}
    {{ _settings_error(name, path, "a path to a CSV or Parquet file (or a glob), or null") }}
  {% endif %}
  {% if '{{' in path or '{%' in path or '{#' in path %}
    {{ _settings_error(name, path, "a file path (text, not a template: settings are data)") }}
  {% endif %}
  {{ return(path) }}
{% endmacro %}

{#- The kinds of relation an input var can name ({kind: what}); PostgreSQL reads schema.table
    (custseg.postgres). The value is data: never rendered, quoted wherever it reaches SQL. -#}
{% macro relation_kinds() %}
  {{ return({'postgres': 'schema.table'}) }}
{% endmacro %}

{% macro _relation_setting(name) %}
  {% set value = raw_var(name) %}
  {% if value is none %}{{ return(none) }}{% endif %}
  {% set kinds = relation_kinds() %}
  {% set shapes = [] %}
  {% for kind, what in kinds.items() %}{% do shapes.append('{' ~ kind ~ ': ' ~ what ~ '}') %}{% endfor %}
  {% if value is not mapping or (value | length) != 1 or (value.keys() | first) not in kinds %}
    {{ _settings_error(name, value, "a mapping with one key: " ~ (shapes | join(' or ')) ~ ", or null") }}
  {% endif %}
  {% set kind = value.keys() | first %}
  {% set target = value[kind] %}
  {% if kind == 'postgres' and (not _is_name(target) or (target.split('.') | length) != 2
                                 or (target.split('.') | map('trim') | select('equalto', '') | list)) %}
    {{ _settings_error(name, value, "{postgres: schema.table}, e.g. {postgres: public.customers}") }}
  {% endif %}
  {{ return({kind: target}) }}
{% endmacro %}

{% macro _names_setting(name, allow_null=false) %}
  {% set value = raw_var(name) %}
  {% if value is none %}{{ return(none if allow_null else []) }}{% endif %}
  {% if value is string or value is mapping or value is not iterable %}
    {{ _settings_error(name, value, "a list of column names, e.g. [card_type, income_band]" ~ (", or null to infer" if allow_null else "")) }}
  {% endif %}
  {% set seen = [] %}
  {% for c in value %}
    {% if not _is_name(c) %}
      {{ _settings_error(name, value, "column names as text; " ~ (c | tojson) ~ " is not one") }}
    {% endif %}
    {% if c.lower() in seen %}
      {{ _settings_error(name, value, "each column once; '" ~ c ~ "' is listed twice") }}
    {% endif %}
    {% do seen.append(c.lower()) %}
  {% endfor %}
  {{ return(value | list) }}
{% endmacro %}

{% macro segmentation_settings() %}
  {% do _check_no_unknown_vars() %}

  {# --- input -------------------------------------------------------------- #}
  {% set customers_path = _path_setting('customers_path') %}
  {% set transactions_path = _path_setting('transactions_path') %}
  {% set customers_relation = _relation_setting('customers_relation') %}
  {% set transactions_relation = _relation_setting('transactions_relation') %}
  {% for role, path, relation in [('customers', customers_path, customers_relation),
                                  ('transactions', transactions_path, transactions_relation)] %}
    {% if path is not none and relation is not none %}
      {{ exceptions.raise_compiler_error(
          "Set " ~ role ~ "_path or " ~ role ~ "_relation, not both: the " ~ role ~ " are read from one place.") }}
    {% endif %}
  {% endfor %}
  {% if (customers_path is not none or customers_relation is not none)
        and (transactions_path is not none or transactions_relation is not none) %}
    {{ exceptions.raise_compiler_error(
        "Set " ~ ('customers_path' if customers_path is not none else 'customers_relation') ~ " or "
        ~ ('transactions_path' if transactions_path is not none else 'transactions_relation')
        ~ ", not both: one input is segmented per build.") }}
  {% endif %}

  {% set column_map = raw_var('column_map') %}
  {% if column_map is none %}{% set column_map = {} %}{% endif %}
  {% if column_map is not mapping %}
    {{ _settings_error('column_map', column_map, "a mapping {your_column: new_name}") }}
  {% endif %}
  {% for source_name, target in column_map.items() %}
    {% if not _is_name(source_name) or not _is_name(target) %}
      {{ _settings_error('column_map', column_map, "column names as text on both sides") }}
    {% endif %}
  {% endfor %}

  {% set id_column = raw_var('id_column') %}
  {% if id_column is not none and not _is_name(id_column) %}
    {{ _settings_error('id_column', id_column, "a column name, or null to use CUST_ID or infer the id") }}
  {% endif %}

  {% set feature_columns = raw_var('feature_columns') %}
  {% if feature_columns is mapping %}
    {% for c, kind in feature_columns.items() %}
      {% if not _is_name(c) or (kind is not none and (kind is not string or kind not in feature_kind_names())) %}
        {{ _settings_error('feature_columns', feature_columns, "a map {column: kind} with kinds among "
            ~ (feature_kind_names() | join(', ')) ~ " (or null to infer the kind)") }}
      {% endif %}
    {% endfor %}
  {% elif feature_columns is not none %}
    {% set feature_columns = _names_setting('feature_columns', allow_null=true) %}
    {% if (feature_columns | length) < 2 %}
      {{ _settings_error('feature_columns', feature_columns, "at least two columns (or null to infer them)") }}
    {% endif %}
  {% endif %}

  {% set input_options = raw_var('input_options') %}
  {% if input_options is not none and input_options is not mapping %}
    {{ _settings_error('input_options', input_options, "a mapping such as {header: false, delimiter: whitespace, column_names: [...]}") }}
  {% endif %}

  {% set as_of = raw_var('as_of') %}
  {% if as_of is not none %}
    {% set as_of = as_of | string %}
    {% if modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', as_of) is none %}
      {{ _settings_error('as_of', as_of, "a date YYYY-MM-DD, or null for the latest date in the data") }}
    {% endif %}
  {% endif %}

  {# --- cleaning ----------------------------------------------------------- #}
  {% set outlier_method = _choice_setting('outlier_method', ['cap', 'reject', 'none']) %}
  {% set q = _number_setting('outlier_upper_quantile', 0.5, 1, "a number strictly between 0.5 and 1, e.g. 0.995") %}
  {% set max_rejected = _number_setting('max_rejected_share', 0, 1.000001, "a share above 0 and at most 1, e.g. 0.10") %}
  {% set warn_rejected = _number_setting('warn_rejected_share', -0.000001, 1.000001, "a share from 0 to 1, e.g. 0.01") %}
  {% if warn_rejected > max_rejected %}
    {{ _settings_error('warn_rejected_share', warn_rejected, "at most max_rejected_share (" ~ max_rejected ~ ")") }}
  {% endif %}

  {# --- modelling ---------------------------------------------------------- #}
  {% set k_min = _int_setting('k_min', 2, 50) %}
  {% set k_max = _int_setting('k_max', 2, 50) %}
  {% if k_max < k_min %}
    {{ _settings_error('k_max', k_max, "at least k_min (" ~ k_min ~ ")") }}
  {% endif %}

  {% set som_grid = raw_var('som_grid') %}
  {% if som_grid is not none %}
    {% if som_grid is string or som_grid is mapping or som_grid is not iterable or (som_grid | length) != 2 %}
      {{ _settings_error('som_grid', som_grid, "[rows, cols] with 2 to 50 nodes each, or null") }}
    {% endif %}
    {% for side in som_grid %}
      {% if side is not number or side != (side | int) or side < 2 or side > 50 %}
        {{ _settings_error('som_grid', som_grid, "[rows, cols] with 2 to 50 nodes each, or null") }}
      {% endif %}
    {% endfor %}
    {% set som_grid = som_grid | map('int') | list %}
  {% endif %}

  {# --- publishing --------------------------------------------------------- #}
  {% set publish_postgres = raw_var('publish_postgres') %}
  {% if publish_postgres is not sameas true and publish_postgres is not sameas false %}
    {{ _settings_error('publish_postgres', publish_postgres, "true or false") }}
  {% endif %}
  {% set postgres_schema = raw_var('postgres_schema') %}
  {% if not _is_name(postgres_schema) or (postgres_schema | length) > 40 or '__staging_' in postgres_schema
        or postgres_schema.lower() in ('public', 'information_schema') or postgres_schema.lower().startswith('pg_') %}
    {{ _settings_error('postgres_schema', postgres_schema, "a schema name of at most 40 characters that the publish "
        ~ "owns (it replaces the schema whole, so not public or a system schema), e.g. segments") }}
  {% endif %}
  {% if target.type == 'spark' and (customers_relation is not none or transactions_relation is not none
                                    or publish_postgres) %}
    {{ exceptions.raise_compiler_error("PostgreSQL inputs and publish_postgres work on the DuckDB target; on the "
        ~ "spark target give the input as a path (README, 'Beyond one machine').") }}
  {% endif %}
  {% for relation in [customers_relation, transactions_relation] if relation and relation.get('postgres') %}
    {% if publish_postgres and relation.postgres.split('.')[0] | trim == postgres_schema %}
      {{ _settings_error('postgres_schema', postgres_schema, "another schema than the input's ("
          ~ relation.postgres ~ "): the publish replaces that schema whole") }}
    {% endif %}
  {% endfor %}

  {% set settings = {
      'customers_path': customers_path,
      'transactions_path': transactions_path,
      'customers_relation': customers_relation,
      'transactions_relation': transactions_relation,
      'column_map': column_map,
      'id_column': id_column,
      'feature_columns': feature_columns,
      'categorical_columns': _names_setting('categorical_columns', allow_null=true),
      'ignore_columns': _names_setting('ignore_columns'),
      'input_options': input_options,
      'as_of': as_of,
      'outlier_method': outlier_method,
      'outlier_upper_quantile': q,
      'max_rejected_share': max_rejected,
      'warn_rejected_share': warn_rejected,
      'random_state': _int_setting('random_state', 0, 4294967295),
      'segment_mode': _choice_setting('segment_mode', ['refit', 'score', 'auto', 'score_changes']),
      'model_version': _int_setting('model_version', 1, none, allow_null=true),
      'refit_after_days': _int_setting('refit_after_days', 0, 36500),
      'refit_after_change': _number_setting('refit_after_change', 0, 1000, "a share above 0, e.g. 0.2"),
      'primary_algorithm': _algorithm_setting('primary_algorithm'),
      'k_min': k_min,
      'k_max': k_max,
      'kmeans_k': _int_setting('kmeans_k', 2, 50, allow_null=true),
      'hierarchical_k': _int_setting('hierarchical_k', 2, 50, allow_null=true),
      'gmm_k': _int_setting('gmm_k', 2, 50, allow_null=true),
      'som_grid': som_grid,
      'fit_sample_size': _int_setting('fit_sample_size', 100),
      'hierarchical_sample_size': _int_setting('hierarchical_sample_size', 100, 20000),
      'density_sample_size': _int_setting('density_sample_size', 100, 200000),
      'silhouette_sample_size': _int_setting('silhouette_sample_size', 100, 50000),
      'evaluation_sample_size': _int_setting('evaluation_sample_size', 100, 200000),
      'stability_resamples': _int_setting('stability_resamples', 0, 100),
      'assign_batch_rows': _int_setting('assign_batch_rows', 1000),
      'profile_median_sample_size': _int_setting('profile_median_sample_size', 1000),
      'report_max_points': _int_setting('report_max_points', 100, 200000),
      'serving_storage_version': _choice_setting('serving_storage_version', serving_storage_versions()),
      'serving_format': _choice_setting('serving_format', ['duckdb', 'parquet']),
      'publish_postgres': publish_postgres,
      'postgres_schema': postgres_schema,
  } %}
  {{ return(settings) }}
{% endmacro %}

{#- The DuckDB storage formats the serving database can be written in (ATTACH ... STORAGE_VERSION),
    oldest first: each is a distinct format (DuckDB 2.0 writes v1.1.0 as v1.0.0); README "For BI
    tools" says which DuckDB releases open each. Not v1.3.0: DuckDB 1.3.2 opens such a file but
    reads some of its text values as NULL (measured). -#}
{% macro serving_storage_versions() %}
  {{ return(['v1.0.0', 'v1.2.0', 'v1.4.0', 'v1.5.0', 'v2.0.0']) }}
{% endmacro %}

{# The kinds a feature can be declared with (feature_kinds seed; kept in step by a test). #}
{% macro feature_kind_names() %}
  {{ return(['amount', 'net_amount', 'limit', 'count', 'ratio', 'share', 'percent', 'duration', 'age', 'year',
             'score', 'flag', 'number', 'category']) }}
{% endmacro %}
