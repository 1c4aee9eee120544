"""The one quoting helper of the Python side: identifiers and literals that reach SQL text
(DuckDB or Spark SQL) go through these two functions, never through concatenation."""

from __future__ import annotations

import math
import numbers

DIALECTS = ("duckdb", "spark")


def _check(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")


def quote_identifier(name: str, dialect: str) -> str:
    """A column, table or CTE name as a quoted identifier: "name" (DuckDB), `name` (Spark)."""
    _check(dialect)
    text = str(name)
    if dialect == "spark":
        return "`" + text.replace("`", "``") + "`"
    return '"' + text.replace('"', '""') + '"'


def sql_literal(value, dialect: str) -> str:
    """A value as a SQL literal: NULL, true/false, an integer, a double (always written with an
    exponent: Spark reads 1.5 as a DECIMAL, 1.5e0 as a DOUBLE; 17 digits round-trip exactly),
    or a string (Spark processes backslash escapes in string literals, DuckDB does not)."""
    _check(dialect)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"cannot write the non-finite number {number!r} into SQL")
        return "%.17e" % number
    text = str(value)
    if dialect == "spark":
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + text.replace("'", "''") + "'"
