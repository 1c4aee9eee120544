{#-
  The input as SQL: how the staging models read each column of the input contract.

  run_context().input (macros/run_context.sql) says what the input is and what each column
  became, as custseg.inputs resolved it once for the run: the source's format, encoding,
  delimiter and header, an independent count of its lines, and per column its role (id,
  feature, profile, categorical, ignored, dropped), kind, rules and the reason. The macros
  below turn that into SQL: the source relation, the id, fields, numbers and dates, and the
  lines the reader set aside. The line checks read files, so they are DuckDB-specific (see
  README, "Beyond one machine").
-#}

{#- The customer rows the input should yield, as SQL: the independent line count of the file,
    or for a transaction log the customers built from it (callers declare
    `-- depends_on: ref('customer_segmentation', 'int_transaction_customers')`). -#}
{% macro customer_rows_in() %}
  {% set input = run_context().input %}
  {% if input.source.get('kind') == 'transactions' %}
    {{ return('(select count(*) from ' ~ ref('customer_segmentation', 'int_transaction_customers') ~ ')') }}
  {% endif %}
  {{ return(input.contract.source.get('data_lines') or 0) }}
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
  {% set input = transaction_input() if role == 'transactions' else run_context().input %}
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
              ~ (sql_string(row[2]) if row[2] is not none else 'null') ~ ', ' ~ sql_string(row[3]) ~ ', '
              ~ (row[4] | int) ~ ')') -%}
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
        select aside.file_id, aside.line, aside.span, aside.first_field, names.path, aside.what, aside.text
        from ({{ _values(set_aside, 'file_id, line, what, first_field, text, span') }}) as aside
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

{#- The relation the customer rows are read from: the file or relation, the transaction log's
    customers or the seed (callers declare `-- depends_on` for the last two; a relation var's
    model or source is ref'd here while dbt parses; the spark target always reads a file, and
    has no seeds). -#}
{% macro customer_source(input) %}
  {% do input_relation_refs() %}
  {% if input.relation %}{{ return(input.relation) }}{% endif %}
  {% if input.source.get('kind') == 'transactions' %}{{ return(ref('customer_segmentation', 'int_transaction_customers')) }}{% endif %}
  {{ return(none if is_spark() else ref('customer_segmentation', 'custseg_sample_customers')) }}
{% endmacro %}

{#- SQL: the customer id of a source row (needs `source_row_number` for numbered rows). -#}
{% macro customer_id_sql(input) %}
  {% set contract = input.contract %}
  {% set id_column = (contract_columns(contract, ['id']) or [none])[0] %}
  {% if id_column is not none %}
    {% set id_text = "nullif(trim(cast(" ~ input_field(input, id_column) ~ " as string)), '')" %}
    {{ return(whole_number_id(id_text) if contract.get('id_whole_numbers') else id_text) }}
  {% elif contract.get('id_source') == 'row_number' %}
    {#- consecutive on every engine (Spark's source_row_number is increasing, not consecutive) #}
    {{ return('cast(row_number() over (order by source_row_number) as string)') }}
  {% endif %}
  {{ return('cast(null as string)') }}
{% endmacro %}

{#- SQL: a date column's value as a timestamp (NULL when unreadable); an instant (TIMESTAMPTZ)
    as its UTC date and time, whatever the machine's time zone. -#}
{% macro date_time_sql(input, column) %}
  {% set field = input_field(input, column) %}
  {% if column.date_formats == ['native'] %}
    {% set stored = ((input.source.get('column_types') or {}).get(column.source_column) or '') | upper %}
    {% if not is_spark() and ('TIME ZONE' in stored or stored == 'TIMESTAMPTZ') %}
      {{ return("timezone('UTC', " ~ field ~ ")") }}
    {% endif %}
    {{ return('cast(' ~ field ~ ' as timestamp)') }}
  {% endif %}
  {% set text = 'trim(cast(' ~ field ~ ' as string))' %}
  {% set parsed = [] %}
  {% for f in column.date_formats %}{% do parsed.append(parse_timestamp(text, f)) %}{% endfor %}
  {{ return('coalesce(' ~ (parsed | join(', ')) ~ ')') }}
{% endmacro %}

{#- SQL: the latest date of a date column over every row of `rows` (a CTE of source rows). -#}
{% macro date_reference_sql(input, column, rows) %}
  {{ return('(select max(' ~ date_time_sql(input, column) ~ ') from ' ~ rows ~ ')') }}
{% endmacro %}
