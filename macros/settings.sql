{#-
  The pipeline's configuration: every `vars:` entry of dbt_project.yml, validated.

  segmentation_settings() is called by the models at parse time, so a bad value stops the
  run once, before anything is built, with a message naming the var, the value and what is
  allowed (dbt heads it with whichever model it was parsing). The resolved settings are
  stored in the `segmentation_config` table, which is how the Python models read them.
-#}

{% macro _settings_error(name, value, expected) %}
  {{ exceptions.raise_compiler_error(
      "Invalid var '" ~ name ~ "': got " ~ (value | tojson) ~ "; expected " ~ expected
      ~ ". Set it in dbt_project.yml or with --vars '{" ~ name ~ ": ...}'.") }}
{% endmacro %}

{% macro _is_identifier(value) %}
  {{ return(value is string and modules.re.match('^[A-Za-z_][A-Za-z0-9_]{0,62}$', value) is not none) }}
{% endmacro %}

{% macro _int_setting(name, min_value, max_value=none, allow_null=false) %}
  {% set value = var(name) %}
  {% if value is none and allow_null %}{{ return(none) }}{% endif %}
  {% if value is not number or value is sameas true or value is sameas false or value != (value | int) %}
    {{ _settings_error(name, value, "an integer" ~ (" or null" if allow_null else "")) }}
  {% endif %}
  {% if value < min_value or (max_value is not none and value > max_value) %}
    {{ _settings_error(name, value, "an integer from " ~ min_value ~ (" to " ~ max_value if max_value is not none else " up")) }}
  {% endif %}
  {{ return(value | int) }}
{% endmacro %}

{% macro _choice_setting(name, choices) %}
  {% set value = var(name) %}
  {% if value not in choices %}
    {{ _settings_error(name, value, "one of " ~ (choices | join(', '))) }}
  {% endif %}
  {{ return(value) }}
{% endmacro %}

{% macro segmentation_settings() %}
  {% set canonical = customer_input_columns() %}
  {% set known = {} %}
  {% for c in canonical %}
    {% do known.update({c.name: c.name, c.source.lower(): c.name}) %}
  {% endfor %}

  {# --- input -------------------------------------------------------------- #}
  {% set path = var('customers_path') %}
  {% if path is not none %}
    {% if path is not string or (path | trim) == '' or '\n' in path or '\r' in path or '\x00' in path %}
      {{ _settings_error('customers_path', path, "a path to a CSV or Parquet file, or null for the embedded sample") }}
    {% endif %}
    {% set lower = path.lower() %}
    {% if not (lower.endswith('.csv') or lower.endswith('.csv.gz') or lower.endswith('.tsv')
               or lower.endswith('.txt') or lower.endswith('.parquet') or lower.endswith('.pq')) %}
      {{ _settings_error('customers_path', path, "a file ending in .csv, .csv.gz, .tsv, .txt, .parquet or .pq") }}
    {% endif %}
  {% endif %}

  {% set column_map = var('column_map') %}
  {% if column_map is none %}{% set column_map = {} %}{% endif %}
  {% if column_map is not mapping %}
    {{ _settings_error('column_map', column_map, "a mapping {your_column: CANONICAL_COLUMN}") }}
  {% endif %}
  {% set resolved_map = {} %}
  {% for source_name, target in column_map.items() %}
    {% if not _is_identifier(source_name) %}
      {{ _settings_error('column_map', column_map, "keys that are plain column names (letters, digits, _); '" ~ source_name ~ "' is not") }}
    {% endif %}
    {% if target is not string or target.lower() not in known %}
      {{ _settings_error('column_map', column_map, "values among the canonical columns "
          ~ (canonical | map(attribute='source') | join(', ')) ~ "; '" ~ target ~ "' is not one") }}
    {% endif %}
    {% do resolved_map.update({source_name: known[target.lower()]}) %}
  {% endfor %}
  {% set targets = resolved_map.values() | list %}
  {% for t in targets %}
    {% if targets.count(t) > 1 %}
      {{ _settings_error('column_map', column_map, "each canonical column mapped at most once; " ~ t ~ " is mapped twice") }}
    {% endif %}
  {% endfor %}

  {% set categoricals = var('categorical_columns') %}
  {% if categoricals is none %}{% set categoricals = [] %}{% endif %}
  {% if categoricals is string or categoricals is mapping or categoricals is not iterable %}
    {{ _settings_error('categorical_columns', categoricals, "a list of column names, e.g. [card_type, income_band]") }}
  {% endif %}
  {% set categorical_names = [] %}
  {% for c in categoricals %}
    {% if not _is_identifier(c) %}
      {{ _settings_error('categorical_columns', categoricals, "plain column names (letters, digits, _); '" ~ c ~ "' is not") }}
    {% endif %}
    {% if c.lower() in known or c.lower() in categorical_names %}
      {{ _settings_error('categorical_columns', categoricals, "names that are not canonical columns and not repeated; '" ~ c ~ "' is") }}
    {% endif %}
    {% do categorical_names.append(c.lower()) %}
  {% endfor %}

  {# --- cleaning ----------------------------------------------------------- #}
  {% set outlier_method = _choice_setting('outlier_method', ['cap', 'reject', 'none']) %}
  {% set q = var('outlier_upper_quantile') %}
  {% if q is not number or q is sameas true or q is sameas false or q <= 0.5 or q >= 1 %}
    {{ _settings_error('outlier_upper_quantile', q, "a number strictly between 0.5 and 1, e.g. 0.995") }}
  {% endif %}

  {# --- modelling ---------------------------------------------------------- #}
  {% set features = var('model_features') %}
  {% if features is string or features is mapping or features is not iterable or (features | length) < 2 %}
    {{ _settings_error('model_features', features, "a list of at least two customer_features columns") }}
  {% endif %}
  {% for f in features %}
    {% if not _is_identifier(f) %}
      {{ _settings_error('model_features', features, "plain column names; '" ~ f ~ "' is not") }}
    {% endif %}
    {% if f | lower not in profile_features() %}
      {{ _settings_error('model_features', features, "numeric customer_features columns (" ~ (profile_features() | join(', '))
          ~ "); '" ~ f ~ "' is not one (categorical attributes go in categorical_columns)") }}
    {% endif %}
  {% endfor %}

  {% set k_min = _int_setting('k_min', 2, 50) %}
  {% set k_max = _int_setting('k_max', 2, 50) %}
  {% if k_max < k_min %}
    {{ _settings_error('k_max', k_max, "at least k_min (" ~ k_min ~ ")") }}
  {% endif %}

  {% set som_grid = var('som_grid') %}
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

  {% set settings = {
      'customers_path': path,
      'column_map': resolved_map,
      'categorical_columns': categorical_names,
      'outlier_method': outlier_method,
      'outlier_upper_quantile': q,
      'random_state': _int_setting('random_state', 0, 4294967295),
      'model_features': features | map('lower') | list,
      'primary_algorithm': _choice_setting('primary_algorithm', ['kmeans', 'hierarchical', 'som', 'density', 'gmm']),
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
  } %}
  {{ return(settings) }}
{% endmacro %}
