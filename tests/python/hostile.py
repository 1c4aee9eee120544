"""A generator of hostile input files, each with the outcome the product must give.

Two kinds of case:
* rows: one CSV mixing every kind of bad row real exports carry, with the fate of each
  (clean customer, imputed, or rejected with a given reason); every line accounted for.
* files: a file (or setting) the build must refuse with one line a user can act on, with
  words from that line. The message names the file or setting; no traceback.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

HEADER = "CUST_ID,BALANCE,PURCHASES,PURCHASES_TRX,CREDIT_LIMIT,PAYMENTS,SEGMENT_NOTE"


def good_row(i: int) -> str:
    return f"C{i},{100 + i * 7},{50 + i * 3},{i % 9},{1000 + i * 10},{20 + i},plain"


@dataclass(frozen=True)
class RowCase:
    """A row of the mixed file and what must become of it."""

    line: str
    customer_id: str | None     # as it must appear (None: no id)
    fate: str                   # clean | imputed:<column> | rejected:<reason>
    why: str


ROW_CASES = [
    RowCase("#H1,100,50,3,1000,NA,hash id", "#H1", "imputed:payments",
            "an id starting with '#' is data, never a comment; NA is a missing value"),
    RowCase("ÄÖ-ü,120,60,4,1100,N/A,unicode", "ÄÖ-ü", "imputed:payments", "a unicode id; N/A is missing"),
    RowCase("H3,130,1_000,4,1100,null,underscore", "H3", "rejected:non_numeric_value", "'1_000' is not a number"),
    RowCase("H4,inf,60,4,1100,-,infinite", "H4", "rejected:non_numeric_value", "'inf' is not a number"),
    RowCase("H5,NaN,60,4,1100,,nan balance", "H5", "rejected:missing_required_value",
            "NaN is missing, and the preset's BALANCE is required"),
    RowCase("H6,140,60,4,-500,30,negative limit", "H6", "rejected:invalid_credit_limit", "a limit must be positive"),
    RowCase('H7,150,60,4,1200,30,"two\nlines"', "H7", "clean", "a quoted value holding a line break"),
    RowCase("C1,999,999,9,9999,99,conflict", "C1", "rejected:conflicting_duplicate_id",
            "same id, other values: the complete, later record wins, this one is the later one"),
    RowCase(good_row(2), "C2", "clean", "an exact duplicate of C2: collapsed into it"),
    RowCase("H8,160,70,5,1300,,trailing", "H8", "imputed:payments", "an empty optional value"),
    RowCase("H10,170,80,6,n.a.,\u2014,dashes", "H10", "imputed:credit_limit,payments",
            "n.a. and a dash are missing values"),
    RowCase("H11,170,80,6,#DIV/0!,30,spreadsheet error", "H11", "rejected:non_numeric_value",
            "a spreadsheet's error cell is a broken value: rejected, so the export gets fixed"),
]
#: The file ends with a partial line (no newline, too few fields): rejected as malformed.
TRAILING_PARTIAL = "H9,1"
GOOD_ROWS = 60


def mixed_rows_file(path: Path) -> Path:
    """CRLF line ends, the row cases after 60 good rows, and a trailing partial line."""
    lines = [HEADER] + [good_row(i) for i in range(GOOD_ROWS)] + [c.line for c in ROW_CASES]
    path.write_bytes(("\r\n".join(lines) + "\r\n" + TRAILING_PARTIAL).encode("utf-8"))
    return path


def expected_lines() -> int:
    """Data lines of the mixed file, counted by hand: 60 good, the cases (one spans two
    lines), and the trailing partial line."""
    return GOOD_ROWS + sum(1 + c.line.count("\n") for c in ROW_CASES) + 1


@dataclass(frozen=True)
class FileCase:
    name: str
    make: object        # (directory) -> path given as customers_path
    words: tuple[str, ...]
    vars: dict | None = None


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def _customers(n: int, bad_every: int = 0) -> bytes:
    rows = [HEADER]
    for i in range(n):
        rows.append(f"C{i},x,{i},1,1000,5,a" if bad_every and i % bad_every else good_row(i))
    return ("\n".join(rows) + "\n").encode()


FILE_CASES = [
    FileCase("empty file", lambda d: _write(d, "empty.csv", b""), ("is empty", "empty.csv")),
    FileCase("only a header", lambda d: _write(d, "header.csv", (HEADER + "\n").encode()),
             ("has a header but no data rows", "header.csv")),
    FileCase("a directory", lambda d: d, ("is a directory",)),
    FileCase("no file matches the glob", lambda d: d / "exports-*.csv", ("no file matches", "exports-*.csv")),
    FileCase("duplicate header", lambda d: _write(d, "dup.csv", b"CUST_ID,BALANCE,PURCHASES,balance\n1,2,3,4\n"),
             ("duplicate column 'balance'", "dup.csv")),
    FileCase("a zip archive", lambda d: _write(d, "archive.csv", b"PK\x03\x04" + b"\x00" * 40), ("zip archive",)),
    FileCase("UTF-16 without a byte-order mark",
             lambda d: _write(d, "u16.csv", (HEADER + "\n" + good_row(1) + "\n").encode("utf-16-le")),
             ("UTF-16 without a byte-order mark",)),
    FileCase("5 customers", lambda d: _write(d, "five.csv", _customers(5)), ("only 5 clean customers", "k_max")),
    FileCase("95% rejected", lambda d: _write(d, "bad.csv", _customers(200, bad_every=20)),
             ("95.0% of the input rows were rejected", "max_rejected_share", "rejected_customers")),
    FileCase("every feature constant",
             lambda d: _write(d, "flat.csv", ("CUST_ID,BALANCE,PURCHASES\n" + "".join(
                 f"C{i},5,7\n" for i in range(40))).encode()),
             ("fewer than two usable features", "constant")),
    FileCase("k larger than the customers", lambda d: _write(d, "small.csv", _customers(30)),
             ("only 30 clean customers", "need at least 41"), {"kmeans_k": 40}),
    FileCase("gzip named .csv is read (its 8 customers are counted, and too few)",
             lambda d: _write(d, "packed.csv", gzip.compress(_customers(8))), ("only 8 clean customers",)),
]


# --------------------------------------------------------------------------- lines that break readers
@dataclass(frozen=True)
class LineCase:
    """A line that trips CSV readers, and what must become of it: only that line is lost."""

    line: str
    customer_id: str
    fate: str                   # clean | rejected:<reason>
    words: tuple[str, ...]      # in its reject_detail, after "line <n> of <file> "
    why: str


#: The longest line DuckDB's CSV reader takes (max_line_size), in bytes.
READER_MAX_LINE = 2_000_000

LINE_CASES = [
    LineCase("L1,110,5\x000,4,1100,30,nul", "L1", "rejected:malformed_line", ("holds a NUL byte",),
             "a NUL byte in a value"),
    LineCase('L2,12"5,60,4,1100,30,inch', "L2", "rejected:non_numeric_value", ("BALANCE='12\"5' is not a number",),
             "a stray quote in the middle of a number"),
    LineCase('L3,120,60,4,1100,30,a 5" screen', "L3", "clean", (), "a stray quote in the middle of a text: text"),
    LineCase("L4," + "9" * (READER_MAX_LINE + 100_000) + ",60,4,1100,30,long", "L4", "rejected:malformed_line",
             (f"is longer than {READER_MAX_LINE:,} bytes",), "a 2 MB field, longer than the reader's lines"),
    LineCase("L5,1,2,3,4,5,6,7,8", "L5", "rejected:malformed_line", ("has 9 fields instead of 7",),
             "two fields too many"),
    LineCase("L6,130,60\r,4,1100,30,cr", "L6", "rejected:malformed_line", ("holds a carriage return",),
             "a carriage return alone inside a line"),
    LineCase('L7,"140,60,4,1100,30,stray', "L7", "rejected:malformed_line", ('opens a quote (") that is never closed',),
             "an opening quote never closed (the next quoted value must not close it)"),
    LineCase('L8,150,60,4,1100,30,"two\r\nlines"', "L8", "clean", (), "a quoted value holding CR LF"),
]
#: The last line: truncated inside a quoted value (no closing quote, too few fields, no newline).
LINES_TRAILING = LineCase('L9,"1', "L9", "rejected:malformed_line", ('opens a quote (") that is never closed',),
                          "a last line cut inside a quote")
LINES_GOOD = 60


def lines_file(path: Path) -> dict[str, int]:
    """Good rows around the LINE_CASES, lines ending alternately in LF and CR LF (two exports
    joined), and LINES_TRAILING last. Returns the first physical line of each case's id."""
    lines = [HEADER] + [good_row(i) for i in range(LINES_GOOD // 2)] + [c.line for c in LINE_CASES] + \
        [good_row(i) for i in range(LINES_GOOD // 2, LINES_GOOD)]
    first_line, n = {}, 1
    for line in lines + [LINES_TRAILING.line]:
        first_line[line.split(",")[0]] = n
        n += 1 + line.count("\n")
    body = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines)) + LINES_TRAILING.line
    path.write_bytes(body.encode("utf-8"))
    return first_line


def lines_expected() -> int:
    """Data lines of lines_file, counted by hand: the good rows, the cases (one spans two
    lines), the trailing line."""
    return LINES_GOOD + sum(1 + c.line.count("\n") for c in LINE_CASES) + 1
