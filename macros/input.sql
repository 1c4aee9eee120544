{#-
  The input contract and how the input is found.

  customer_input_columns(): the canonical columns (CC GENERAL schema), their kind and
  whether the input must have them. Required columns are the ones the core features
  need; an absent optional column becomes NULL and the features that need it are NULL.

  resolve_customer_input(): which relation to read (the seed, or the file named by the
  `customers_path` var), and which input column feeds each canonical column (by name,
  case-insensitive, or through `column_map`). Fails with one line naming the missing
  column and the file.
-#}

{% macro customer_input_columns() %}
  {{ return([
    {'name': 'customer_id',                      'source': 'CUST_ID',                          'kind': 'id',        'required': true},
    {'name': 'balance',                          'source': 'BALANCE',                          'kind': 'amount',    'required': true},
    {'name': 'balance_frequency',                'source': 'BALANCE_FREQUENCY',                'kind': 'frequency', 'required': false},
    {'name': 'purchases',                        'source': 'PURCHASES',                        'kind': 'amount',    'required': true},
    {'name': 'oneoff_purchases',                 'source': 'ONEOFF_PURCHASES',                 'kind': 'amount',    'required': false},
    {'name': 'installments_purchases',           'source': 'INSTALLMENTS_PURCHASES',           'kind': 'amount',    'required': false},
    {'name': 'cash_advance',                     'source': 'CASH_ADVANCE',                     'kind': 'amount',    'required': false},
    {'name': 'purchases_frequency',              'source': 'PURCHASES_FREQUENCY',              'kind': 'frequency', 'required': false},
    {'name': 'oneoff_purchases_frequency',       'source': 'ONEOFF_PURCHASES_FREQUENCY',       'kind': 'frequency', 'required': false},
    {'name': 'purchases_installments_frequency', 'source': 'PURCHASES_INSTALLMENTS_FREQUENCY', 'kind': 'frequency', 'required': false},
    {'name': 'cash_advance_frequency',           'source': 'CASH_ADVANCE_FREQUENCY',           'kind': 'frequency', 'required': false},
    {'name': 'cash_advance_trx',                 'source': 'CASH_ADVANCE_TRX',                 'kind': 'count',     'required': false},
    {'name': 'purchases_trx',                    'source': 'PURCHASES_TRX',                    'kind': 'count',     'required': true},
    {'name': 'credit_limit',                     'source': 'CREDIT_LIMIT',                     'kind': 'limit',     'required': true},
    {'name': 'payments',                         'source': 'PAYMENTS',                         'kind': 'amount',    'required': false},
    {'name': 'minimum_payments',                 'source': 'MINIMUM_PAYMENTS',                 'kind': 'amount',    'required': false},
    {'name': 'prc_full_payment',                 'source': 'PRC_FULL_PAYMENT',                 'kind': 'frequency', 'required': false},
    {'name': 'tenure',                           'source': 'TENURE',                           'kind': 'months',    'required': false},
  ]) }}
{% endmacro %}

{# Numeric canonical columns (everything but the id). #}
{% macro customer_numeric_columns() %}
  {{ return(customer_input_columns() | rejectattr('kind', 'equalto', 'id') | list) }}
{% endmacro %}

{# Columns whose missing values reject the row (the rest are imputed). #}
{% macro customer_columns_required_values() %}
  {{ return(['balance', 'purchases', 'purchases_trx']) }}
{% endmacro %}

{% macro quote_identifier(name) %}
  {{ return(adapter.dispatch('quote_identifier', 'customer_segmentation')(name)) }}
{% endmacro %}
{% macro default__quote_identifier(name) %}
  {{ return('"' ~ (name | replace('"', '""')) ~ '"') }}
{% endmacro %}
{% macro spark__quote_identifier(name) %}
  {{ return('`' ~ (name | replace('`', '``')) ~ '`') }}
{% endmacro %}

{% macro sql_string(value) %}
  {{ return("'" ~ (value | replace("'", "''")) ~ "'") }}
{% endmacro %}

{# The FROM-clause expression that reads the raw input, and a label for messages. #}
{% macro customer_input_relation() %}
  {% set path = segmentation_settings().customers_path %}
  {% if path is none %}
    {{ return({'sql': ref('raw_customers') | string, 'label': "seed 'raw_customers' (seeds/raw_customers.csv)", 'path': none, 'is_csv': false}) }}
  {% endif %}
  {% set lower = path.lower() %}
  {% set is_csv = not (lower.endswith('.parquet') or lower.endswith('.pq')) %}
  {% if is_csv %}
    {# Lines that cannot be parsed are skipped here and picked up by the pre-hook's scan
       (customer_input_line_check_hooks), so they become rejected rows, not a failed read. #}
    {% set reader = csv_reader(path, 'ignore_errors = true') %}
  {% else %}
    {% set reader = 'read_parquet(' ~ sql_string(path) ~ ')' %}
  {% endif %}
  {{ return({'sql': reader, 'label': "file '" ~ path ~ "'", 'path': path, 'is_csv': is_csv}) }}
{% endmacro %}

{#
  How a CSV input is read. All text: a value that is not a number becomes a rejected row,
  not a failed read. A line that does not parse (too few or too many fields, a broken
  quote, invalid UTF-8) is handled by the `extra` options of the caller: skipped by the
  model's read, recorded by the pre-hook's.
#}
{% macro csv_reader(path, extra) %}
  {{ return('read_csv(' ~ sql_string(path) ~ ', header = true, all_varchar = true, auto_detect = true, ' ~ extra ~ ')') }}
{% endmacro %}

{#
  Pre-hooks of stg_customers for a CSV input: one scan of the file that records every line
  DuckDB cannot parse (store_rejects) in session temp tables, and counts the lines it can.
  stg_customers appends the unparseable lines as rejected rows (reason malformed_line), so
  no input line is lost. Empty for the seed and for Parquet. The scan is rendered when the
  hook runs (the columns are known only then).
#}
{% macro customer_input_line_check_hooks() %}
  {% if not customer_input_relation().is_csv %}
    {{ return([]) }}
  {% endif %}
  {{ return([
    'drop table if exists temp.main.custseg_input_line_errors',
    'drop table if exists temp.main.custseg_input_scans',
    '{{ customer_input_line_scan() }}',
  ]) }}
{% endmacro %}

{# The pre-hook's scan: counts the readable rows and records the others. #}
{% macro customer_input_line_scan() %}
  {{ return('create or replace temp table custseg_input_readable as '
      ~ customer_input_count_query("store_rejects = true, rejects_table = 'custseg_input_line_errors', rejects_scan = 'custseg_input_scans'")) }}
{% endmacro %}

{#
  A query counting the input rows that can be read (`readable_rows`). For a CSV it reads
  exactly the columns stg_customers reads: DuckDB checks a CSV field's encoding only when
  its column is read, so a count that read no column would also count lines stg_customers
  cannot read. `csv_options`: how a CSV is read (skip bad lines, or record them).
#}
{% macro customer_input_count_query(csv_options='ignore_errors = true') %}
  {% set relation = customer_input_relation() %}
  {% if not relation.is_csv %}
    {{ return('select count(*) as readable_rows from ' ~ relation.sql) }}
  {% endif %}
  {% set input = resolve_customer_input() %}
  {% set read = [quote_identifier(input.columns.customer_id.source)] %}
  {% for c in customer_numeric_columns() if input.columns[c.name] is not none %}
    {% do read.append(quote_identifier(input.columns[c.name].source)) %}
  {% endfor %}
  {% for source in input.categoricals.values() %}
    {% do read.append(quote_identifier(source)) %}
  {% endfor %}
  {# count(concat_ws(...)): concat_ws is never NULL, so this counts every row, and it cannot
     be computed without reading each column (a plain count(*) could skip them all). #}
  {{ return('select count(concat_ws(\'|\', ' ~ read | map('string') | join(', ') ~ ')) as readable_rows from '
      ~ csv_reader(relation.path, csv_options)) }}
{% endmacro %}

{#
  The unparseable lines recorded by the pre-hook, one row per line, numbered after the
  readable rows: source_row_number, line_customer_id (the first field, a best guess),
  reject_detail (file, line, what DuckDB found, the line itself, cut at 200 characters).
#}
{% macro customer_input_malformed_lines() %}
    select
        (select readable_rows from custseg_input_readable)
            + row_number() over (order by errors.file_id, errors.line) as source_row_number,
        nullif(trim(split_part(errors.csv_line, coalesce(scans.delimiter, ','), 1)), '') as line_customer_id,
        'line ' || cast(errors.line as varchar) || coalesce(' of ' || scans.file_path, '')
            || ' could not be read (' || lower(cast(errors.error_type as varchar)) || ': ' || errors.error_message
            || '): ' || left(errors.csv_line, 200) as reject_detail
    from (
        select
            scan_id,
            file_id,
            line,
            -- one row per field too many or too few: keep the one with the true field count
            max_by(error_type, column_idx) as error_type,
            case when max_by(error_type, column_idx) = 'MISSING COLUMNS'
                 then min_by(error_message, column_idx)
                 else max_by(error_message, column_idx) end as error_message,
            any_value(csv_line) as csv_line
        from custseg_input_line_errors
        group by scan_id, file_id, line
    ) as errors
    left join custseg_input_scans as scans
        on scans.scan_id = errors.scan_id
        and scans.file_id = errors.file_id
{% endmacro %}

{#
  Resolve which input column feeds each canonical column. Returns
    {'relation': <FROM expression>, 'label': ..., 'columns': {canonical: {'source': name, 'type': type} or none},
     'categoricals': {name: source_name}}
  At parse time (execute = false) nothing is queried and every column resolves to itself.
#}
{% macro resolve_customer_input() %}
  {% set settings = segmentation_settings() %}
  {% set input = customer_input_relation() %}
  {% set canonical = customer_input_columns() %}
  {% set resolved = {'relation': input.sql, 'label': input.label, 'columns': {}, 'categoricals': {}} %}

  {% if not execute %}
    {% for c in canonical %}
      {% do resolved.columns.update({c.name: {'source': c.source, 'type': 'VARCHAR'}}) %}
    {% endfor %}
    {% for name in settings.categorical_columns %}
      {% do resolved.categoricals.update({name: name}) %}
    {% endfor %}
    {{ return(resolved) }}
  {% endif %}

  {% if input.path is not none %}
    {% set found = run_query('select count(*) from glob(' ~ sql_string(input.path) ~ ')').columns[0].values()[0] %}
    {% if found == 0 %}
      {{ exceptions.raise_compiler_error(
          "customers_path: no file matches '" ~ input.path ~ "' (a relative path is read from the directory dbt was started in, which need not be the project directory). Check the path, or give an absolute one.") }}
    {% endif %}
  {% endif %}

  {% set described = run_query('describe select * from ' ~ input.sql ~ ' limit 0') %}
  {% set input_columns = {} %}
  {% for row in described.rows %}
    {% set key = row[0].lower() %}
    {% if key in input_columns %}
      {{ exceptions.raise_compiler_error(
          "Input " ~ input.label ~ " has two columns named '" ~ row[0] ~ "' (ignoring case); rename one.") }}
    {% endif %}
    {% do input_columns.update({key: {'source': row[0], 'type': row[1]}}) %}
  {% endfor %}
  {% set found_names = described.rows | map(attribute=0) | join(', ') %}

  {# column_map: {source column: canonical name} #}
  {% set mapped_to = {} %}
  {% for source_name, target in settings.column_map.items() %}
    {% if source_name.lower() not in input_columns %}
      {{ exceptions.raise_compiler_error(
          "column_map maps '" ~ source_name ~ "', but input " ~ input.label ~ " has no such column (found: " ~ found_names ~ ").") }}
    {% endif %}
    {% do mapped_to.update({target: input_columns[source_name.lower()]}) %}
  {% endfor %}
  {% set mapped_sources = settings.column_map.keys() | map('lower') | list %}

  {% for c in canonical %}
    {% if c.name in mapped_to %}
      {% set match = mapped_to[c.name] %}
    {% elif c.source.lower() in input_columns and c.source.lower() not in mapped_sources %}
      {% set match = input_columns[c.source.lower()] %}
    {% elif c.name in input_columns and c.name not in mapped_sources %}
      {% set match = input_columns[c.name] %}
    {% else %}
      {% set match = none %}
    {% endif %}
    {% if match is none and c.required %}
      {{ exceptions.raise_compiler_error(
          "Input " ~ input.label ~ " has no required column " ~ c.source ~ " (found: " ~ found_names
          ~ "). Add it, or map your column onto it with --vars '{column_map: {your_column: " ~ c.source ~ "}}'.") }}
    {% endif %}
    {% do resolved.columns.update({c.name: match}) %}
  {% endfor %}

  {% for name in settings.categorical_columns %}
    {% if name not in input_columns %}
      {{ exceptions.raise_compiler_error(
          "categorical_columns names '" ~ name ~ "', but input " ~ input.label ~ " has no such column (found: " ~ found_names ~ ").") }}
    {% endif %}
    {% do resolved.categoricals.update({name: input_columns[name].source}) %}
  {% endfor %}
  {{ return(resolved) }}
{% endmacro %}
