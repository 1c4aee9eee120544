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
    "{{ input_line_scan('transactions') }}" if role == 'transactions' else "{{ input_line_scan('customers') }}",
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
  The unparseable lines, one row per line, numbered after the readable rows: those the
  pre-hook's scan recorded, and those custseg.inputs.lines set aside before DuckDB read the file (a
  NUL byte, a quote never closed, a carriage return inside a line: FileInfo.set_aside).
  source_row_number, line_span (the physical lines the row took: a broken quote may take
  several), line_customer_id (the first field, a best guess), reject_detail (file, physical
  line, what is wrong in words, the line itself, cut at 200 characters). Never a NULL detail.
  DuckDB numbers records, not lines: custseg_physical_lines (custseg.dbt_plugin) turns the
  byte position of each bad record into its line.
#}
{% macro customer_input_malformed_lines(input) %}
    {%- set files = input.source.get('files') or [] -%}
    {%- set set_aside = [] -%}
    {%- set names = [] -%}
    {%- for f in files -%}
      {%- set file_id = loop.index0 -%}
      {%- set read_compression = 'none' if f.read_path != f.path else (f.compression or 'none') -%}
      {%- set read_encoding = 'utf-8' if f.encoding == 'cp1252' else (f.encoding or 'utf-8') -%}
      {%- do names.append('(' ~ file_id ~ ', ' ~ sql_string(f.path) ~ ', ' ~ sql_string(f.read_path) ~ ', '
            ~ sql_string(read_compression) ~ ', ' ~ sql_string(read_encoding) ~ ')') -%}
      {%- for row in f.get('set_aside') or [] -%}
        {%- do set_aside.append('(' ~ file_id ~ ', ' ~ (row[0] | int) ~ ', ' ~ sql_string(row[1]) ~ ', '
              ~ (sql_string(row[2]) if row[2] is not none else 'null') ~ ', ' ~ sql_string(row[3]) ~ ')') -%}
      {%- endfor -%}
    {%- endfor -%}
    {%- if not names -%}
      {%- do names.append("(-1, '', '', 'none', 'utf-8')") -%}
    {%- endif -%}
    {%- set text = "trim(coalesce(errors.csv_line, ''), ' ' || chr(9) || chr(10) || chr(13))" -%}
    with names as (
        {{ _values(names, 'file_id, path, read_path, read_compression, read_encoding') }}
    ),
    errors as (
        select
            scan_id,
            file_id,
            line,
            min(line_byte_position) as line_byte_position,
            -- one row per field too many or too few: keep the one with the true field count
            -- (a line too long for the reader has no field: column_idx is NULL)
            coalesce(max_by(error_type, column_idx), any_value(error_type)) as error_type,
            case when coalesce(max_by(error_type, column_idx), any_value(error_type)) = 'MISSING COLUMNS'
                 then min_by(error_message, column_idx)
                 else coalesce(max_by(error_message, column_idx), any_value(error_message)) end as error_message,
            any_value(csv_line) as csv_line
        from custseg_input_line_errors
        group by scan_id, file_id, line
    ),
    physical as (
        select
            errors.file_id,
            custseg_physical_lines(names.read_path, names.read_compression, names.read_encoding,
                                   list(errors.line_byte_position order by errors.line_byte_position),
                                   list(left(coalesce(errors.csv_line, ''), 40)
                                        order by errors.line_byte_position)) as lines
        from errors
        inner join names on names.file_id = errors.file_id
        where errors.line_byte_position is not null
        group by errors.file_id, names.read_path, names.read_compression, names.read_encoding
    ),
    lines as (
        select
            errors.file_id,
            coalesce(physical.lines[cast(row_number() over (partition by errors.file_id
                                                            order by errors.line_byte_position) as integer)],
                     errors.line) as line,
            1 + case when strpos({{ text }}, chr(10)) > 0 then {{ extra_lines(text) }} else 0 end as line_span,
            nullif(trim(split_part(replace(replace(errors.csv_line, chr(13), ''), chr(10), ''),
                                   coalesce(scans.delimiter, ','), 1)), '') as line_customer_id,
            coalesce(names.path, scans.file_path) as file_path,
            case errors.error_type
                when 'MISSING COLUMNS' then {{ _field_count_words('errors.error_message') }}
                when 'TOO MANY COLUMNS' then {{ _field_count_words('errors.error_message') }}
                when 'UNQUOTED VALUE'
                    then 'has a quote (") that does not close its value (text follows it, or it never closes)'
                when 'INVALID ENCODING' then 'is not valid ' || {{ sql_string(input.source.get('encoding') or 'utf-8') }}
                    || ' text (a byte sequence that is no character)'
                when 'LINE SIZE OVER MAXIMUM' then 'is longer than '
                    || coalesce(format('{:,}', cast(nullif(
                           regexp_extract(errors.error_message, 'size of (\d+) bytes', 1), '') as bigint)), 'the most')
                    || ' bytes, the longest line the reader takes ('
                    || coalesce(format('{:,}', cast(nullif(
                           regexp_extract(errors.error_message, 'Actual Size:\s*(\d+)', 1), '') as bigint)) || ' bytes',
                                'longer')
                    || ')'
                else 'could not be read (' || lower(coalesce(errors.error_type, 'error')) || ': '
                    || coalesce(errors.error_message, 'no message') || ')'
            end as what,
            coalesce(errors.csv_line, '') as csv_line
        from errors
        left join physical on physical.file_id = errors.file_id
        left join custseg_input_scans as scans
            on scans.scan_id = errors.scan_id
            and scans.file_id = errors.file_id
        left join names on names.file_id = errors.file_id
        {%- if set_aside %}
        union all
        select aside.file_id, aside.line, 1, aside.first_field, names.path, aside.what, aside.text
        from ({{ _values(set_aside, 'file_id, line, what, first_field, text') }}) as aside
        left join names on names.file_id = aside.file_id
        {%- endif %}
    )
    select
        (select readable_rows from custseg_input_readable)
            + row_number() over (order by lines.file_id, lines.line) as source_row_number,
        lines.line_span,
        lines.line_customer_id,
        'line ' || cast(lines.line as string) || coalesce(' of ' || lines.file_path, '') || ' ' || lines.what
            || ': ' || left(trim(replace(replace(lines.csv_line, chr(13), ' '), chr(10), ' ')), 200) as reject_detail
    from lines
{% endmacro %}

{#- SQL: "has 2 fields instead of 3" from DuckDB's "Expected Number of Columns: 3 Found: 2". -#}
{% macro _field_count_words(message) %}
  {%- set found = "regexp_extract(" ~ message ~ ", 'Found: (\\d+)', 1)" -%}
  {{ return("'has ' || " ~ found ~ " || case when " ~ found ~ " = '1' then ' field' else ' fields' end"
            ~ " || ' instead of ' || regexp_extract(" ~ message ~ ", 'Expected Number of Columns: (\\d+)', 1)") }}
{% endmacro %}

{#- A VALUES list (`rows`: '(a, b)' texts, at least one) as a subquery with named columns. -#}
{% macro _values(rows, columns) %}
  {{ return('select * from (values ' ~ (rows | join(', ')) ~ ') as v(' ~ columns ~ ')') }}
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
    says (custseg.inputs.values.NUMBER_FORMATS: thousands separators, a decimal comma, currency or
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
