{#-
  The one place where text becomes SQL text (custseg.sql is the same for Python code).
  Everything from a file or a var (column names, category values, paths, run ids, messages)
  reaches SQL only through these two macros, never by pasting quotes around it:

    quote_identifier(name)  a column or table name, whatever characters it holds
    sql_string(value)       a string literal (none: null)

  The text is never rendered as Jinja again: the result is plain SQL. A test
  (tests/python/test_sql_quoting.py) fails on quotes pasted around values elsewhere.
-#}

{% macro quote_identifier(name) %}
  {{ return(adapter.dispatch('quote_identifier', 'customer_segmentation')(name)) }}
{% endmacro %}
{% macro default__quote_identifier(name) %}
  {{ return('"' ~ (_sql_text(name) | replace('"', '""')) ~ '"') }}
{% endmacro %}
{% macro spark__quote_identifier(name) %}
  {{ return('`' ~ (_sql_text(name) | replace('`', '``')) ~ '`') }}
{% endmacro %}

{% macro sql_string(value) %}
  {{ return(adapter.dispatch('sql_string', 'customer_segmentation')(value)) }}
{% endmacro %}
{% macro default__sql_string(value) %}
  {% if value is none %}{{ return('null') }}{% endif %}
  {{ return(_nul_joined("'" ~ (value | string | replace("'", "''")) ~ "'")) }}
{% endmacro %}
{#- Spark reads backslash escapes inside literals (and two quotes as two literals), so there
    backslashes and quotes are escaped with a backslash. -#}
{% macro spark__sql_string(value) %}
  {% if value is none %}{{ return('null') }}{% endif %}
  {{ return(_nul_joined("'" ~ (value | string | replace("\\", "\\\\") | replace("'", "\\'")) ~ "'")) }}
{% endmacro %}

{#- A NUL character cannot stand inside SQL text: a literal holding one is spliced from chr(0). -#}
{% macro _nul_joined(literal) %}
  {% if '\x00' not in literal %}{{ return(literal) }}{% endif %}
  {{ return("(" ~ (literal.split('\x00') | join("' || chr(0) || '")) ~ ")") }}
{% endmacro %}

{% macro _sql_text(name) %}
  {% set text = name | string %}
  {% if '\x00' in text %}
    {{ exceptions.raise_compiler_error("the column name '" ~ (text | replace('\x00', '\\0'))
        ~ "' holds a NUL character, which no SQL name can; rename the column (or map it with column_map).") }}
  {% endif %}
  {{ return(text) }}
{% endmacro %}
