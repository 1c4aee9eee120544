"""What the user's input is, and what its columns mean: the input contract.

Called when dbt compiles the staging models (through the dbt-duckdb plugin in
`custseg.dbt_plugin`), so every model of one invocation sees the same answer:

1. `inspect_source`: the file(s) behind `customers_path` / `transactions_path` (or the
   embedded sample): format (CSV or Parquet), compression (by content, not by name),
   encoding (UTF-8 with or without a byte-order mark, UTF-16, Latin-1, or Windows-1252,
   which is converted to UTF-8 first), delimiter, header, the column names as the file
   spells them, and an independent count of the lines (no comment characters, nothing
   skipped: the row-conservation test compares it with what the parser produced).
2. `profile_columns`: statistics of each column over the first rows, read the way the
   models read them (text), in an in-memory DuckDB of its own.
3. `resolve_contract`: the role of every column (the customer id, a feature with its kind,
   a profiled-only measure, a categorical attribute, ignored, or dropped as empty or
   constant) and why: declared in the vars, known from the catalogue (the CC GENERAL
   preset), or inferred from the name and the values.

Every problem a user can fix ends in an `InputError` (custseg.errors) with one line naming
the file, column, value or setting and what to do.

One module per concern, each importing only those before it in this list:
- values: missing-value tokens, number patterns and formats, date formats;
- files: the files a setting names, compression, encodings, byte scans, converted copies;
- source: `FileInfo`, `Source` and its `read_sql`, the source's JSON;
- csv_layout: delimiter, header and the lines above it, `InputOptions`;
- lines: the lines set aside before DuckDB reads a file, physical line numbers;
- formats: the readers (CSV and the seed, Parquet, JSON, a PostgreSQL relation): `inspect_source`;
- profiling: `ColumnProfile`, `profile_columns`;
- kinds: names and labels, the word lists, kind, date-format and id inference;
- columns: `ContractColumn`, the rules of a kind, the role of a column nobody described;
- contract: `resolve_contract`, the customer table's contract;
- transaction_contract: `resolve_transactions`, a transaction log's contract (custseg.transactions
  holds its canonical columns);
- entry: `resolve(request)`, the entry point, with the caches of the process (a module named
  `resolve` would be hidden by the function it exports).
"""

from ..errors import InputError
from .columns import ContractColumn
from .contract import resolve_contract
from .csv_layout import InputOptions
from .entry import CONTRACT_SETTINGS, resolve
from .formats import inspect_source
from .kinds import humanize, infer_kind, snake_case
from .lines import physical_lines_at
from .profiling import ColumnProfile, profile_columns
from .source import FileInfo, Source
from .transaction_contract import resolve_transactions
from .values import (DATE_FORMATS, FOUR_DIGITS, MISSING_TOKENS, NUMBER_FORMATS, NUMBER_PATTERN, NUMERIC_SHARE,
                     number_text_sql)

__all__ = ["CONTRACT_SETTINGS", "DATE_FORMATS", "FOUR_DIGITS", "MISSING_TOKENS", "NUMBER_FORMATS", "NUMBER_PATTERN",
           "NUMERIC_SHARE", "ColumnProfile", "ContractColumn", "FileInfo", "InputError", "InputOptions", "Source",
           "humanize", "infer_kind", "inspect_source", "number_text_sql", "physical_lines_at", "profile_columns",
           "resolve", "resolve_contract", "resolve_transactions", "snake_case"]
