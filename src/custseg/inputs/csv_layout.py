"""The layout of a CSV input, sniffed from its first lines: the delimiter (or columns padded
with spaces), whether the first line is a header, the lines above the header (a title,
notes, comments), the column names; and `InputOptions` (var `input_options`) for what
sniffing cannot tell."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .values import MISSING_TOKENS, NUMBER_PATTERN

if TYPE_CHECKING:
    from .source import Source

DELIMITERS = (",", ";", "\t", "|")
#: Lines above a header that may be a title, notes, comments or blank, at most.
MAX_PREAMBLE = 10
#: Data lines of the first ones after the header whose field count must agree with the header's
#: for a delimiter to be the file's (a header name holding '||' does not make '|' the delimiter).
SNIFF_LINES = 10


def split_line(line: str, delimiter: str) -> list[str]:
    """Fields of one CSV line (double quotes respected), trimmed of surrounding quotes."""
    fields, current, quoted, i = [], [], False, 0
    while i < len(line):
        ch = line[i]
        if quoted:
            if ch == '"' and i + 1 < len(line) and line[i + 1] == '"':
                current.append('"')
                i += 1
            elif ch == '"':
                quoted = False
            else:
                current.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == delimiter:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    fields.append("".join(current).strip())
    return fields


def _count_outside_quotes(line: str, ch: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            count += 1
    return count


#: Physical lines one quoted value may span in the sniffed head (a wrapped header cell).
MAX_LINES_PER_RECORD = 20


def logical_lines(text: str) -> list[tuple[int, int, str]]:
    """(first physical line, physical lines, text) of each record of `text`: a line that
    leaves a quote open (a quoted value holding a line break, as spreadsheets write a wrapped
    header cell) is joined with the next ones, up to MAX_LINES_PER_RECORD (then it stands
    alone, as the line check treats a quote that never closes)."""
    physical = [raw.rstrip("\r") for raw in text.split("\n")]
    out, i = [], 0
    while i < len(physical):
        j, quotes = i, physical[i].count('"')
        while quotes % 2 and j + 1 < len(physical) and j - i + 1 < MAX_LINES_PER_RECORD:
            j += 1
            quotes += physical[j].count('"')
        if quotes % 2:
            j = i
        out.append((i, j - i + 1, "\n".join(physical[i:j + 1])))
        i = j + 1
    return out


def first_lines(text: str, n: int = 20, start: int = 0) -> list[str]:
    """The first `n` non-blank records of `text` from physical line `start` on."""
    out = []
    for first, _, line in logical_lines(text):
        if first >= start and line.strip():
            out.append(line)
            if len(out) >= n:
                break
    return out


def record_lines(text: str, start: int) -> int:
    """The physical lines of the record that begins on physical line `start` (a header with a
    quoted line break takes several)."""
    return next((span for first, span, _ in logical_lines(text) if first == start), 1)


def _looks_like_value(text: str) -> bool:
    t = text.strip()
    return (t.lower() in MISSING_TOKENS or re.match(NUMBER_PATTERN, t) is not None
            or re.match(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?$", t) is not None)


@dataclass(frozen=True)
class InputOptions:
    """How to read a CSV input when sniffing is not enough (var `input_options`)."""

    header: bool | None = None          # None: detect (no header when the first line holds only values)
    delimiter: str | None = None        # None: detect; 'whitespace' for space-padded columns
    column_names: tuple[str, ...] = ()  # names for a file without a header
    encoding: str | None = None         # None: detect

    @classmethod
    def from_setting(cls, value: Any) -> "InputOptions":
        if value in (None, {}):
            return cls()
        if not isinstance(value, dict):
            raise InputError("Invalid var 'input_options': expected a mapping such as {header: false, "
                             "delimiter: whitespace, column_names: [customer_id, occurred_at, quantity, amount]}.")
        unknown = sorted(set(value) - {"header", "delimiter", "column_names", "encoding"})
        if unknown:
            raise InputError(f"Invalid var 'input_options': unknown key '{unknown[0]}'; keys are header, "
                             "delimiter, column_names, encoding.")
        header = value.get("header")
        if header not in (None, True, False):
            raise InputError(f"Invalid var 'input_options': header must be true or false, got {header!r}.")
        delimiter = value.get("delimiter")
        named = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|", "\\t": "\t"}
        if delimiter is not None:
            delimiter = named.get(delimiter, delimiter)
            if delimiter != "whitespace" and delimiter not in DELIMITERS:
                raise InputError(f"Invalid var 'input_options': delimiter must be one of , ; tab | whitespace, "
                                 f"got {value.get('delimiter')!r}.")
        names = value.get("column_names") or ()
        if isinstance(names, str) or not all(isinstance(n, str) and n.strip() for n in names):
            raise InputError("Invalid var 'input_options': column_names must be a list of names.")
        encoding = value.get("encoding")
        if encoding is not None:
            encoding = str(encoding).lower().replace("_", "-")
            aliases = {"utf8": "utf-8", "utf-8-sig": "utf-8", "latin1": "latin-1", "iso-8859-1": "latin-1",
                       "windows-1252": "cp1252", "utf16": "utf-16"}
            encoding = aliases.get(encoding, encoding)
            if encoding not in ("utf-8", "utf-16", "latin-1", "cp1252"):
                raise InputError(f"Invalid var 'input_options': encoding must be utf-8, utf-16, latin-1 or "
                                 f"cp1252, got {value.get('encoding')!r}.")
        return cls(header, delimiter, tuple(n.strip() for n in names), encoding)


def lines_above_header(text: str, options: InputOptions) -> tuple[int, int]:
    """(physical lines above the header, how many of them are blank). Comment lines ('#')
    may stand there, and, in a file with a header, blank lines and title lines with at most
    one non-empty field (a report's name, an export date), as report exports write them: the
    header is then the first line with two or more delimited fields, not all of them values.
    Below the header, '#' starts a value."""
    lines = [raw.rstrip("\r") for raw in text.split("\n")[:MAX_PREAMBLE + 1]]
    records = logical_lines(text)
    comment = {k for k, _, line in records if k <= MAX_PREAMBLE and _is_comment(line, records, k, options)}
    comments = 0
    while comments < len(lines) - 1 and comments in comment:
        comments += 1
    if options.header is False or options.delimiter == "whitespace":
        return comments, 0
    for k, _, line in records:
        if k > MAX_PREAMBLE:
            break
        if not line.strip() or k in comment:
            continue
        delimiter = options.delimiter or max(DELIMITERS, key=lambda d: (_count_outside_quotes(line, d),
                                                                         -DELIMITERS.index(d)))
        if not _count_outside_quotes(line, delimiter):
            continue
        fields = [f for f in split_line(line, delimiter) if f.strip()]
        if len(fields) < 2:
            continue   # a title padded with delimiters
        if k and all(_looks_like_value(f) for f in fields):
            break      # data: the lines above it are not a title over a header
        return k, sum(1 for above in lines[:k] if not above.strip())
    return comments, 0


def _is_comment(line: str, records: list[tuple[int, int, str]], k: int, options: InputOptions) -> bool:
    """A line starting with '#' above the header is a comment ("# exported 2026-11-01"), unless
    it has as many delimited fields (two or more) as the next line that does not start with
    '#': then it is the header, or data, whose first name or value starts with '#'."""
    if not line.lstrip().startswith("#"):
        return False
    if options.delimiter == "whitespace":
        return True
    below = next((text for first, _, text in records if first > k and text.strip()
                  and not text.lstrip().startswith("#")), None)
    if below is None:
        return True
    for d in ([options.delimiter] if options.delimiter else DELIMITERS):
        count = _count_outside_quotes(line, d)
        if count and count == _count_outside_quotes(below, d):
            return False
    return True


def _choose_delimiter(first: list[str]) -> str | None:
    """The delimiter of a file whose first non-blank lines (the header or first row, then
    data) are `first`: of those that split the first line, the one that splits the most of
    the next SNIFF_LINES lines into as many fields as the first, then the one that splits the
    first line most. A name such as "a || b" in the header splits it at '|', but no data line
    agrees. None when no delimiter splits the first line."""
    line, data = first[0], first[1:1 + SNIFF_LINES]
    scores = {}
    for d in DELIMITERS:
        count = _count_outside_quotes(line, d)
        if count:
            agree = sum(1 for other in data if _count_outside_quotes(other, d) == count)
            scores[d] = (agree, count, -DELIMITERS.index(d))
    return max(scores, key=scores.get) if scores else None


def sniff_layout(first: list[str], options: InputOptions, source: Source, path: Path) -> None:
    line = first[0]
    if options.delimiter == "whitespace":
        source.whitespace = True
    elif options.delimiter:
        source.delimiter = options.delimiter
    else:
        best = _choose_delimiter(first)
        if best:
            source.delimiter = best
        elif len(line.split()) > 1 and all(len(f.split()) == len(line.split()) for f in first[1:5]):
            source.whitespace = True
    fields = line.split() if source.whitespace else split_line(line, source.delimiter)
    if options.header is not None:
        source.header = options.header
    else:
        source.header = not all(_looks_like_value(f) for f in fields)
    if source.header:
        names = fields
        if options.column_names:
            if len(options.column_names) != len(names):
                raise InputError(f"input_options.column_names has {len(options.column_names)} names but "
                                 f"'{path}' has {len(names)} columns ({', '.join(names)}).")
            names = list(options.column_names)
    else:
        if options.column_names:
            if len(options.column_names) != len(fields):
                raise InputError(f"input_options.column_names has {len(options.column_names)} names but the "
                                 f"first line of '{path}' has {len(fields)} fields.")
            names = list(options.column_names)
        else:
            names = [f"column{i + 1}" for i in range(len(fields))]
    # a NUL byte is no character of a name (DuckDB's reader takes no name holding one); an
    # unnamed column (a trailing delimiter on every line, as many exports write) is named by
    # its position; empty, it is then dropped like any empty column
    names = [n.replace("\x00", "") for n in names]
    names = [n if n.strip() else f"column{i + 1}" for i, n in enumerate(names)]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        key = name.strip().lower()
        if key in seen:
            raise InputError(f"duplicate column '{name}' in the header of '{path}': column {i + 1} has the name of "
                             f"column {seen[key] + 1} '{names[seen[key]].strip()}', ignoring case; rename one.")
        seen[key] = i
    source.columns = [n.strip() for n in names]
