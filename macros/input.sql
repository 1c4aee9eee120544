{#-
  The input and its contract.

  customer_input(): what stg_customers reads and what each column is. The answer comes
  from custseg.inputs (Python, through the custseg_resolve_input function the dbt-duckdb
  plugin custseg.dbt_plugin registers): the file's format, encoding, delimiter and header,
  an independent count of its lines, and per column its role (id, feature, profile,
  categorical, ignored, dropped), kind, rules and the reason. A problem the user can fix
  stops the build with the one line Python wrote. While dbt parses the project nothing is
  read and the contract is empty.

  Everything here reads files, so it is DuckDB-specific (see README, "Beyond one machine").
-#}

{% macro quote_identifier(name) %}
  {{ return(adapter.dispatch('quote_identifier', 'customer_segmentation')(name)) }}
{% endmacro %}
{% macro default__quote_identifier(name) %}
  {{ return('"' ~ (name | replace('"', '""')) ~ '"') }}
{% endmacro %}
{% macro spark__quote_identifier(name) %}
  {{ return('`' ~ (name | replace('`', '``')) ~ '`') }}
{% endmacro %}

{#- A string literal. Spark reads backslash escapes inside literals (and two quotes as two
    literals), so there backslashes and quotes are escaped with a backslash. -#}
{% macro sql_string(value) %}
  {% if target.type == 'spark' %}
    {{ return("'" ~ (value | string | replace("\\", "\\\\") | replace("'", "\\'")) ~ "'") }}
  {% endif %}
  {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{% endmacro %}

{% macro _input_request(role) %}
  {% set settings = segmentation_settings() %}
  {% if model is defined and model is mapping and model.get('resource_type') == 'unit_test' %}
    {# Unit tests pin the logic on the embedded sample's columns, whatever input the build reads. #}
    {% set settings = dict(settings, customers_path=none, transactions_path=none, customers_relation=none,
                           transactions_relation=none, column_map={}, id_column=none,
                           feature_columns=none, categorical_columns=none, ignore_columns=[], input_options=none) %}
  {% endif %}
  {{ return({
      'settings': settings,
      'role': 'transactions' if settings.transactions_path or settings.transactions_relation else role,
      'invocation_id': invocation_id,
      'transactions_sample_path': invocation_args_dict.get('project_dir', '.') ~ '/data/sample_transactions.csv.gz',
      'seed_path': invocation_args_dict.get('project_dir', '.') ~ '/seeds/raw_customers.csv',
      'seed_label': "seed 'raw_customers' (seeds/raw_customers.csv)",
      'cache_dir': _target_dir() ~ '/custseg_input',
      'profile_store': (target.path ~ '.input-profile.json') if target.type == 'duckdb' else none,
      'reuse_profile': score_changes_mode(),
  }) }}
{% endmacro %}

{#- The target folder: DBT_TARGET_PATH as given when absolute, else under the project. -#}
{% macro _target_dir() %}
  {% set path = env_var('DBT_TARGET_PATH', 'target') %}
  {{ return(path if path.startswith('/') else invocation_args_dict.get('project_dir', '.') ~ '/' ~ path) }}
{% endmacro %}

{#
  {'contract': {...}, 'relation': FROM expression of a file (None for the seed, which
  stg_customers refs itself), 'label': ..., 'is_csv': bool, 'source': {...}}
#}
{% macro customer_input() %}
  {% if not execute %}
    {{ return({'contract': {'columns': [], 'derived': [], 'warnings': [], 'source': {}}, 'relation': none,
               'label': 'the input', 'is_csv': false, 'source': {'whitespace': false, 'kind': 'table', 'columns': []}}) }}
  {% endif %}
  {% if is_spark() %}
    {% set answer = spark_input_answer() %}
    {% set source = answer.contract.source %}
    {% set tx = answer.get('transactions') %}
    {% if tx %}{% do tx.source.update({'read_sql': tx.source.spark_read_sql}) %}{% endif %}
    {# is_csv: no line checks on Spark (they use DuckDB's rejects tables) #}
    {{ return({'contract': answer.contract, 'relation': source.spark_read_sql, 'label': source.label, 'is_csv': false,
               'source': source, 'transactions': tx}) }}
  {% endif %}
  {% set request = _input_request('customers') %}
  {% set answer = fromjson(run_query('select custseg_resolve_input(' ~ sql_string(tojson(request)) ~ ')').columns[0].values()[0]) %}
  {% if answer.get('error') %}
    {{ exceptions.raise_compiler_error(answer.error) }}
  {% endif %}
  {% set contract = answer.contract %}
  {% set source = contract.source %}
  {{ return({'contract': contract, 'relation': source.read_sql, 'label': source.label, 'is_csv': source.kind == 'csv',
             'source': source, 'transactions': answer.get('transactions')}) }}
{% endmacro %}

{#- The customer rows the input should yield, as SQL: the independent line count of the file,
    or for a transaction log the customers built from it (callers declare
    `-- depends_on: ref('int_transaction_customers')`). -#}
{% macro customer_rows_in() %}
  {% set input = customer_input() %}
  {% if input.source.get('kind') == 'transactions' %}
    {{ return('(select count(*) from ' ~ ref('int_transaction_customers') ~ ')') }}
  {% endif %}
  {{ return(input.contract.source.get('data_lines') or 0) }}
{% endmacro %}

{#- The input's size in rows for the auto mode's change rule: lines of the file (or the log). -#}
{% macro input_size() %}
  {% set input = customer_input() %}
  {{ return(((input.transactions or {}).get('source', {}).get('data_lines')) or input.contract.source.get('data_lines') or 0) }}
{% endmacro %}

{# Contract columns with one of the given roles, in input order. #}
{% macro contract_columns(contract, roles) %}
  {{ return(contract.columns | selectattr('role', 'in', roles) | list) }}
{% endmacro %}

{# Names of the numeric columns of stg_customers (features and profiled measures). #}
{% macro measure_columns(contract) %}
  {{ return(contract_columns(contract, ['feature', 'profile'])) }}
{% endmacro %}

{#
  Pre-hooks of stg_customers (stg_transactions: role 'transactions') for a CSV input: one
  scan of the file that records every line DuckDB cannot parse (store_rejects) in session
  temp tables. The staging model appends those lines as rejected rows (reason
  malformed_line), so no input line is lost. Empty for the seed and for Parquet. The hook
  only calls a macro; the SQL it runs is built when the hook runs, and nothing in it is
  rendered again.
#}
{% macro input_line_check_hooks(role='customers') %}
  {% if is_spark() %}{{ return([]) }}{% endif %}
  {{ return([
    'drop table if exists temp.main.custseg_input_line_errors',
    'drop table if exists temp.main.custseg_input_scans',
    "{{ input_line_scan('" ~ role ~ "') }}",
  ]) }}
{% endmacro %}

{#- role: customers (customer_input) or transactions (transaction_input) -#}
{% macro input_line_scan(role) %}
  {% set input = transaction_input() if role == 'transactions' else customer_input() %}
  {% if not input.is_csv %}
    {{ return('select 1') }}
  {% endif %}
  {{ return('create or replace temp table custseg_input_readable as select count(*) as readable_rows from '
      ~ input.source.scan_sql) }}
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
        nullif(trim(split_part(replace(replace(errors.csv_line, chr(13), ''), chr(10), ''),
                               coalesce(scans.delimiter, ','), 1)), '') as line_customer_id,
        'line ' || cast(errors.line as string) || coalesce(' of ' || scans.file_path, '')
            || ' could not be read (' || lower(cast(errors.error_type as string)) || ': ' || errors.error_message
            || '): ' || left(trim(replace(replace(errors.csv_line, chr(13), ' '), chr(10), ' ')), 200) as reject_detail
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
  The text of one input column, as read: a quoted column, or for a file whose fields are
  separated by runs of spaces (delimiter whitespace) the n-th field of its line.
#}
{% macro input_field(input, column) %}
  {% if input.source.whitespace %}
    {{ return("nullif(" ~ whitespace_field('line', column.position) ~ ", '')") }}
  {% endif %}
  {{ return(quote_identifier(column.source_column)) }}
{% endmacro %}

{# True when a text means "no value": NULL, or a missing token ('', NA, N/A, null, -, ...) of the contract. #}
{% macro is_missing_text(text, tokens) %}
  {%- set listed = [] -%}
  {%- for t in tokens %}{% do listed.append(sql_string(t)) %}{% endfor -%}
  {{ return('(' ~ text ~ ' is null or lower(trim(' ~ text ~ ')) in (' ~ (listed | join(', ')) ~ '))') }}
{% endmacro %}

{#- A number read from text: a plain number, or one written as the column's number_format
    says (custseg.inputs.NUMBER_FORMATS: thousands separators, a decimal comma, currency or
    percent signs); NULL when the text does not fit. -#}
{% macro number_from_text(text, contract, column) %}
  {%- set fmt = (contract.get('number_formats') or {}).get(column.get('number_format') or '') -%}
  {%- if not fmt -%}
    {{ return('case when ' ~ text_is_number(text, contract.get('number_pattern', '')) ~ ' then ' ~ try_to_double(text) ~ ' end') }}
  {%- endif -%}
  {%- set plain = regexp_replace_all(text, fmt.strip, '') -%}
  {%- if fmt.decimal_comma %}{% set plain = "replace(" ~ plain ~ ", ',', '.')" %}{% endif -%}
  {#- a number in brackets is negative: (1,234.56) -#}
  {%- set sign = "case when " ~ text ~ " like '%(%' then -1 else 1 end" -%}
  {{ return('case when ' ~ text_is_number(text, fmt.pattern) ~ ' then ' ~ sign ~ ' * ' ~ try_to_double(plain) ~ ' end') }}
{% endmacro %}
