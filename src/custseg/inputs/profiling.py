"""Statistics of each input column over its first rows (`ColumnProfile`), read the way the
models read them (text, unless the input is typed), in an in-memory DuckDB of its own; and
which text columns hold numbers written with separators or signs (values.NUMBER_FORMATS)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import InputError
from ..sql import quote_identifier
from ..sql import sql_literal as sql_string
from .lines import unreadable_reason
from .source import Source
from .values import (DATE_FORMATS, DATE_SHAPE, FOUR_DIGITS, NUMBER_FORMATS, NUMBER_PATTERN, NUMERIC_SHARE,
                     missing_condition, number_text_sql)

#: Rows read to infer the columns (the first ones of the input).
PROFILE_ROWS = 100_000


@dataclass
class ColumnProfile:
    """Statistics of one input column over the profiled rows."""

    name: str
    dtype: str                # text | number | date | boolean
    rows: int
    non_missing: int
    numbers: int              # values that are numbers (all non-missing ones for typed columns)
    integers: int
    negatives: int
    minimum: float | None
    maximum: float | None
    mean: float | None
    stddev: float | None
    skewness: float | None
    distinct: int
    distinct_numbers: int
    with_at_sign: int
    sequence: bool            # values 0..n-1 or 1..n in row order (a row index)
    datelike: int = 0         # values shaped like a date (digits and - / . separators, 8 digits, month names)
    date_counts: dict[str, int] = field(default_factory=dict)
    top_values: list[str] = field(default_factory=list)
    number_format: str | None = None   # a key of NUMBER_FORMATS: numbers written with separators or signs

    @property
    def numeric_share(self) -> float:
        return self.numbers / self.non_missing if self.non_missing else 0.0

    def date_share(self, fmt: str) -> float:
        return self.date_counts.get(fmt, 0) / self.non_missing if self.non_missing else 0.0


def profile_columns(source: Source, rows: int = PROFILE_ROWS, connection=None) -> dict[str, ColumnProfile]:
    """Profile every column over the first `rows` rows of the input, read as the models read it:
    in an in-memory DuckDB of its own, or for a relation through a cursor of `connection` (the
    build's database; the profiled rows are a temporary table of the cursor)."""
    import duckdb

    con = connection.cursor() if connection is not None else duckdb.connect()
    try:
        if connection is None:
            con.execute("set threads = 2")
        base = f"select * from {source.read_sql()} limit {int(rows)}"
        if source.whitespace:
            parts = ", ".join(
                f"nullif(string_split_regex(trim(line), '\\s+')[{i + 1}], '') as {quote_identifier(c)}"
                for i, c in enumerate(source.columns))
            base = f"select {parts} from ({base}) as lines"
        con.execute(f"create temp table profiled as select *, row_number() over () as __row from ({base}) as t")
        specs = {name: _profile_sql(name, source.column_types.get(name, "VARCHAR")) for name in source.columns}
        first = con.execute("select " + ", ".join(
            f"[{', '.join(parts)}]" for _, parts, _ in specs.values()) + " from profiled").fetchone()
        profiles = {name: _profile_from(name, kind, values)
                    for (name, (kind, _, _)), values in zip(specs.items(), first)}
        # text columns that are not plain numbers may be numbers written with separators or signs
        formats = _number_formats(con, [n for n, p in profiles.items() if p.dtype == "text" and p.non_missing
                                        and p.numbers < NUMERIC_SHARE * p.non_missing], source.delimiter)
        if formats:
            specs.update({name: _profile_sql(name, "VARCHAR", fmt) for name, fmt in formats.items()})
            again = con.execute("select " + ", ".join(
                f"[{', '.join(specs[name][1])}]" for name in formats) + " from profiled").fetchone()
            for (name, fmt), values in zip(formats.items(), again):
                profiles[name] = _profile_from(name, "text", values)
                profiles[name].number_format = fmt
        date_queries = []
        for name, (kind, _, present) in specs.items():
            p = profiles[name]
            if kind == "text" and p.non_missing and p.datelike >= 0.5 * p.non_missing:
                date_queries.append((name, present))
        if date_queries:
            counts = con.execute("select " + ", ".join(
                f"count(*) filter (where {present} and try_strptime(trim({quote_identifier(name)}), {sql_string(f)}) "
                "is not null" + (f" and regexp_matches({quote_identifier(name)}, {sql_string(FOUR_DIGITS)})"
                                 if "%Y" in f else "") + ")"
                for name, present in date_queries for f in DATE_FORMATS) + " from profiled").fetchone()
            for i, (name, _) in enumerate(date_queries):
                chunk = counts[i * len(DATE_FORMATS):(i + 1) * len(DATE_FORMATS)]
                profiles[name].date_counts = {f: int(c) for f, c in zip(DATE_FORMATS, chunk) if c}
        for name, (kind, _, present) in specs.items():
            if kind == "date":
                profiles[name].date_counts = {"native": profiles[name].non_missing}
            col = quote_identifier(name)
            profiles[name].top_values = [t for (t,) in con.execute(
                f"select trim(cast({col} as varchar)) as t from profiled where {present} group by t "
                "order by count(*) desc, t limit 12").fetchall()]
        return profiles
    except duckdb.Error as err:
        raise InputError(f"{source.label} cannot be read: {unreadable_reason(source, err)}") from None
    finally:
        con.close()


_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL")


def _number_formats(con, names: list[str], delimiter: str) -> dict[str, str]:
    """Which of these text columns hold numbers written with separators or signs (see
    NUMBER_FORMATS): nearly all non-missing values fit one format. A value such as 1,234
    fits both: a ';'-separated file reads it as 1.234, any other as 1234."""
    if not names:
        return {}
    parts = []
    for name in names:
        text = f"trim(cast({quote_identifier(name)} as varchar))"
        present = f"not {missing_condition(text)}"
        parts.append(f"count(*) filter (where {present})")
        for fmt in NUMBER_FORMATS.values():
            pattern = sql_string(fmt["pattern"])
            parts.append(f"count(*) filter (where {present} and regexp_full_match({text}, {pattern}))")
    counts = con.execute("select " + ", ".join(parts) + " from profiled").fetchone()
    width = 1 + len(NUMBER_FORMATS)
    found = {}
    for i, name in enumerate(names):
        present, *fitting = counts[i * width:(i + 1) * width]
        by_format = dict(zip(NUMBER_FORMATS, fitting))
        best = max(by_format.values())
        if not present or best < NUMERIC_SHARE * present:
            continue
        tied = [f for f, c in by_format.items() if c == best]
        found[name] = tied[0] if len(tied) == 1 else ("decimal_comma" if delimiter == ";" else "grouped")
    return found


def _profile_sql(name: str, dtype: str, number_format: str | None = None) -> tuple[str, list[str], str]:
    """(dtype, the aggregates of one column as SQL, the condition 'has a value')."""
    col = quote_identifier(name)
    upper = dtype.upper()
    if upper.startswith(_NUMERIC_TYPES):
        kind = "number"
        value = f"try_cast({col} as double)"
        present = f"({col} is not null and not isnan({value}))"
        number = f"case when {present} and isfinite({value}) then {value} end"
    elif upper.startswith("BOOLEAN"):
        kind, present, number = "boolean", f"{col} is not null", f"cast({col} as double)"
    elif upper.startswith(("DATE", "TIMESTAMP")):
        kind, present, number = "date", f"{col} is not null", "cast(null as double)"
    else:
        kind = "text"
        text = f"cast({col} as varchar)"
        present = f"not {missing_condition(text)}"
        pattern = NUMBER_FORMATS[number_format]["pattern"] if number_format else NUMBER_PATTERN
        parsed = (f"case when regexp_full_match({text}, {sql_string(pattern)}) "
                  f"then try_cast(trim({number_text_sql(text, number_format)}) as double) end")
        number = f"case when isfinite({parsed}) then {parsed} end"
    txt = f"cast({col} as varchar)"
    typed = kind != "text"   # typed columns need no text work (a Parquet input of millions of rows)
    parts = [
        "cast(count(*) as double)",
        f"cast(count(*) filter (where {present}) as double)",
        f"cast(count({number}) filter (where {present}) as double)",
        f"cast(count(*) filter (where {present} and {number} = floor({number})) as double)",
        f"cast(count(*) filter (where {number} < 0) as double)",
        f"cast(min({number}) as double)", f"cast(max({number}) as double)", f"cast(avg({number}) as double)",
        f"cast(stddev_pop({number}) as double)", f"cast(skewness({number}) as double)",
        (f"cast(count(distinct {col}) filter (where {present}) as double)" if typed
         else f"cast(count(distinct trim({txt})) filter (where {present}) as double)"),
        f"cast(count(distinct {number}) as double)",
        ("cast(0 as double)" if typed
         else f"cast(count(*) filter (where {present} and strpos({txt}, '@') > 0) as double)"),
        f"cast(count(*) filter (where {number} = __row) = count(*) or count(*) filter (where {number} = __row - 1)"
        " = count(*) as double)",
        "cast(0 as double)" if typed else (f"cast(count(*) filter (where {present} and regexp_matches(trim({txt}), "
                                           f"{sql_string(DATE_SHAPE)})) as double)"),
    ]
    return kind, parts, present


def _profile_from(name: str, kind: str, r: list) -> ColumnProfile:
    def f(x):
        return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)

    return ColumnProfile(name, kind, int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), f(r[5]), f(r[6]),
                         f(r[7]), f(r[8]), f(r[9]), int(r[10]), int(r[11]), int(r[12]),
                         bool(r[13]) and int(r[0]) > 20, datelike=int(r[14]))
