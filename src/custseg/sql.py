"""The one place where Python code turns text into SQL text (macros/quoting.sql is the same
for the dbt models). A column name, category value, path, run id or any other text from a
file or a setting reaches SQL only through these two functions, never by pasting quotes
around it (tests/python/test_sql_quoting.py fails on that anywhere else).

    quote_identifier(name)  a column or table name, whatever characters it holds
    sql_literal(value)      a literal: text, a number, a bool or None

dialect: 'duckdb' (the default) and 'postgres': standard SQL quoting; 'spark': backticks for names (Spark
reads backslash escapes inside string literals, so there backslashes and quotes are escaped
with a backslash).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

DIALECTS = ("duckdb", "spark", "postgres")


def _dialect(dialect: str) -> str:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    return dialect


def quote_identifier(name: Any, dialect: str = "duckdb") -> str:
    """A quoted SQL name: "x" (DuckDB) or `x` (Spark), the quote character doubled inside."""
    text = str(name)
    if "\x00" in text:
        raise ValueError(f"the name {text!r} holds a NUL character, which no SQL name can")
    if _dialect(dialect) == "spark":
        return "`" + text.replace("`", "``") + "`"
    return '"' + text.replace('"', '""') + '"'


def sql_literal(value: Any, dialect: str = "duckdb") -> str:
    """A SQL literal for a Python value: None is null, a bool true/false, an integer, a finite
    double always with an exponent (Spark reads 1.5 as a DECIMAL, 1.5e0 as a DOUBLE; 17
    digits round-trip exactly), anything else a string literal (a path, a name: its str())."""
    _dialect(dialect)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no SQL literal")
        return "%.17e" % float(value)
    text = str(value)
    if dialect == "spark":
        literal = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    else:
        literal = "'" + text.replace("'", "''") + "'"
    if "\x00" in literal:
        # a NUL cannot stand inside SQL text: spliced from chr(0) (both engines have it)
        return "(" + "' || chr(0) || '".join(literal.split("\x00")) + ")"
    return literal
