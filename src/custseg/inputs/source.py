"""The input as the staging models read it: its files (`FileInfo`), how they are read
(`Source` and the FROM expression `read_sql`), and the JSON of both the macros receive."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..sql import sql_literal as sql_string
from .files import literal_path_sql


@dataclass
class FileInfo:
    path: str                 # as matched (absolute)
    read_path: str            # what DuckDB reads (a UTF-8 copy for Windows-1252 files)
    size: int
    compression: str          # none | gzip | zstd
    encoding: str             # utf-8 | utf-16 | latin-1 | cp1252 (converted to UTF-8)
    lines: int                # physical lines with any non-blank character
    blank_lines: int          # physical lines that are empty or only whitespace
    header: list[str] | None  # the header fields as written (None without a header)
    preamble_lines: int = 0   # lines above the header (comments, a title, blank lines), skipped
    preamble_blank_lines: int = 0   # how many of them are blank
    #: data lines DuckDB is not shown (read_path has an empty line there), each a rejected
    #: row: [line number, what is wrong, the first field, the line cut to 200 characters]
    set_aside: list = field(default_factory=list)
    header_lines: int = 1   # physical lines of the header (a quoted name may hold a line break)


@dataclass
class Source:
    """The input as the staging models read it."""

    role: str                 # customers | transactions
    kind: str                 # csv | parquet | table (the embedded seed) | relation (a table or view of the database)
    label: str                # for messages: "file 'x.csv'" or "seed 'custseg_sample_customers' ..."
    pattern: str | None
    files: list[FileInfo] = field(default_factory=list)
    delimiter: str = ","
    whitespace: bool = False  # fields separated by runs of spaces/tabs (read as one line each)
    header: bool = True
    encoding: str = "utf-8"
    compression: str = "none"
    columns: list[str] = field(default_factory=list)      # as spelled by the input (or named by the vars)
    column_types: dict[str, str] = field(default_factory=dict)  # DuckDB types (Parquet); text otherwise
    files_preamble: int | None = None
    type_notes: dict[str, tuple[str, str]] = field(default_factory=dict)  # PostgreSQL: column -> (how, why)
    relation: str | None = None   # kind relation: the quoted name the models read
    relation_rows: int = 0        # ... and its count(*), taken when the contract was resolved

    @property
    def data_lines(self) -> int:
        """Non-blank lines that are not a header: the rows the input should yield."""
        if self.kind == "relation":
            return self.relation_rows
        return sum(f.lines - (f.preamble_lines - f.preamble_blank_lines)
                   - (f.header_lines if f.header is not None else 0) for f in self.files)

    def read_sql(self, extra: str = "ignore_errors = true") -> str:
        """The FROM expression that reads the input as text (CSV) or typed (Parquet, a relation)."""
        if self.kind == "relation":
            return str(self.relation)
        paths = "[" + ", ".join(literal_path_sql(f.read_path) for f in self.files) + "]"
        if self.kind == "parquet":
            return f"read_parquet({paths}, union_by_name = true)"
        if self.whitespace:
            columns = "{'line': 'VARCHAR'}"
            options = "delim = chr(31), quote = '', escape = ''"
        else:
            columns = "{" + ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in self.columns) + "}"
            delim = "chr(9)" if self.delimiter == "\t" else sql_string(self.delimiter)
            options = f"delim = {delim}, quote = '\"', escape = '\"'"
        encoding = "utf-8" if self.encoding == "cp1252" else self.encoding
        compression = "none" if any(f.read_path != f.path for f in self.files) else self.compression
        # the header is skipped as one record, not parsed: the names are known (DuckDB's skip
        # counts records, so a header with a quoted line break is one)
        skip = (self.files[0].preamble_lines + (1 if self.header else 0)) if self.files else 0
        # parallel = false: DuckDB 2.0's parallel scan with ignore_errors drops every row after a
        # line whose quote is followed by text ('"a"b,'); the single-threaded one does not, and
        # reads what the store_rejects scan of the pre-hook counts
        return (f"read_csv({paths}, {options}, header = false, comment = '', skip = {skip}, "
                f"encoding = {sql_string(encoding)}, compression = {sql_string(compression)}, "
                f"columns = {columns}, auto_detect = false, null_padding = false, parallel = false, {extra})")


def source_dict(source: Source) -> dict:
    return {
        "role": source.role,
        "kind": source.kind,
        "label": source.label,
        "pattern": source.pattern,
        "files": [asdict(f) for f in source.files],
        "delimiter": source.delimiter,
        "whitespace": source.whitespace,
        "header": source.header,
        "encoding": source.encoding if source.kind not in ("parquet", "relation") else "binary",
        "compression": source.files[0].compression if source.files else "none",
        "columns": source.columns,
        "relation": source.relation,
        "column_types": source.column_types,
        "data_lines": source.data_lines,
        "read_sql": source.read_sql() if source.kind != "table" else None,
        "scan_sql": source.read_sql("store_rejects = true, rejects_table = 'custseg_input_line_errors', "
                                    "rejects_scan = 'custseg_input_scans'") if source.kind == "csv" else None,
    }
