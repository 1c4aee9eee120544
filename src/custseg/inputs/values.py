"""What a value looks like as text: the tokens of a missing value, numbers (plain, or written
with separators and signs), and the date formats tried. Read by the sniffing, the profile, the
contract and, through the contract's JSON, the staging SQL."""

from __future__ import annotations

from ..sql import sql_literal as sql_string

#: Texts that mean "no value" in a numeric or categorical column (compared trimmed, lower-case).
MISSING_TOKENS: tuple[str, ...] = ("", "na", "n/a", "n.a.", "#n/a", "null", "(null)", "none", "nan", "-", "--",
                                   "\u2013", "\u2014", "?", "nil", "missing", "(blank)")
#: A number as text: digits with an optional sign, decimal point and exponent. Nothing else
#: (no thousands separators, no underscores, no currency signs, no hexadecimal).
NUMBER_PATTERN = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"

_CURRENCY_CODES = ("USD EUR GBP JPY CHF CAD AUD NZD INR CNY HKD SGD SEK NOK DKK PLN CZK HUF BRL MXN ZAR KRW TRY "
                   "ILS RUB")
_CURRENCY = "(?:[$\u20ac\u00a3\u00a5\u20b9]|" + "|".join(_CURRENCY_CODES.split()) + ")"  # a sign or a code
_SPACE = "[ \u00a0\u202f\u2009]"   # a space, no-break, narrow no-break or thin space
_THOUSANDS = "[,'\u2019]"              # 1,234 or the Swiss 1'234
#: Numbers as spreadsheets and exports write them, chosen per text column when nearly all of its
#: values fit one (and not the plain pattern): "grouped" 1,234.56 / $1,234.56 / USD 1,234 / 12.5% /
#: 1'234.50; "decimal_comma" 264,41 / 1.234,56 / 1 234,56 EUR. Either may put a negative number
#: in brackets, as accounting does: (1,234.56). Each: the pattern a value must match, what to
#: delete before reading it, and whether the comma is the decimal mark. A percent sign is
#: dropped (12.5% reads 12.5).
NUMBER_FORMATS = {
    "grouped": {
        "pattern": (rf"^\s*\(?[+-]?{_SPACE}?(?:{_CURRENCY}{_SPACE}?)?\(?[+-]?"
                    rf"(?:[0-9]{{1,3}}(?:{_THOUSANDS}[0-9]{{3}})+|[0-9]+)"
                    rf"(?:\.[0-9]+)?{_SPACE}?(?:%|{_CURRENCY})?\)?\s*$"),
        "strip": "[^0-9.+-]", "decimal_comma": False},
    "decimal_comma": {
        "pattern": (rf"^\s*\(?[+-]?{_SPACE}?(?:{_CURRENCY}{_SPACE}?)?\(?[+-]?"
                    rf"(?:[0-9]{{1,3}}(?:(?:\.|{_SPACE})[0-9]{{3}})+|[0-9]+)"
                    rf"(?:,[0-9]+)?{_SPACE}?(?:%|{_CURRENCY})?\)?\s*$"),
        "strip": "[^0-9,+-]", "decimal_comma": True},
}


def number_text_sql(text: str, number_format: str | None) -> str:
    """DuckDB SQL: the text of a number in `number_format`, rewritten as a plain number (the
    dbt macro number_from_text does the same on every engine)."""
    if not number_format:
        return text
    fmt = NUMBER_FORMATS[number_format]
    out = f"regexp_replace({text}, {sql_string(fmt['strip'])}, '', 'g')"
    out = f"replace({out}, ',', '.')" if fmt["decimal_comma"] else out
    return f"(case when {text} like '%(%' then '-' || {out} else {out} end)"


#: A column is numeric when at least this share of its non-missing values are numbers; the
#: rest become rejected rows (a description line under the header does not make it text).
NUMERIC_SHARE = 0.90
#: Date formats tried on text columns, in order of preference (strftime codes).
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y/%m/%d %H:%M:%S",
    "%Y%m%d", "%d-%m-%Y", "%d/%m/%Y", "%m/%d/%Y", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S", "%d.%m.%Y", "%d.%m.%Y %H:%M", "%m-%d-%Y",
    # two-digit years (19/9/16, 12.5.74): 1969-2068, as strptime's %y reads them
    "%d/%m/%y", "%m/%d/%y", "%d-%m-%y", "%d.%m.%y", "%d/%m/%y %H:%M", "%m/%d/%y %H:%M",
    # ISO timestamps as APIs and databases export them: fractions of a second, Z, an offset
    # (read as UTC: 2023-01-05T10:00:00+01:00 is 09:00)
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S UTC",
    # month names in English (31-Jul-14, 31 Jul 2014, Jul 31, 2014)
    "%d-%b-%y", "%d-%b-%Y", "%d-%b-%Y %H:%M:%S", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y",
)
#: Text shaped like a date (digits with - / . separators, 8 digits, or English month names):
#: only such columns are tried against DATE_FORMATS.
DATE_SHAPE = (r"^(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{8}|\d{1,2}[- ][A-Za-z]{3,9}[- ]\d{2,4}"
              r"|[A-Za-z]{3,9} \d{1,2}, \d{4})")
#: A format with a four-digit year (%Y) reads only text holding four digits in a row, so
#: '19/9/16' is never the year 16 (DuckDB's and Spark's parsers would take it).
FOUR_DIGITS = r"[0-9]{4}"


def missing_condition(expr: str) -> str:
    """SQL: the text `expr` means no value."""
    tokens = ", ".join(sql_string(t) for t in MISSING_TOKENS)
    return f"({expr} is null or lower(trim({expr})) in ({tokens}))"
