"""The readers, one per kind of input: CSV (and the embedded seed's CSV), Parquet, JSON (read
through a Parquet copy), a PostgreSQL relation (through custseg.postgres, into a Parquet
file) and a relation of the build's own database (a dbt model, source or table, read where
it is). `inspect_source` finds the files a setting names and describes them as a `Source`."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from ..errors import InputError
from ..postgres import PostgresError, read_relation
from ..sql import quote_identifier
from ..sql import sql_literal as sql_string
from .csv_layout import InputOptions, first_lines, lines_above_header, record_lines, sniff_layout, split_line
from .files import (HEAD_BYTES, cached_copy, cr_to_lf_copy, detect_compression, detect_encoding, expand_pattern,
                    literal_path_sql, magic_bytes, read_chunks, scan_bytes, transcode_cp1252, utf16_lines)
from .lines import MAX_SET_ASIDE, blanked_lines, check_lines, repaired_copy, set_aside_rows
from .source import FileInfo, Source


def _refuse_spreadsheet(path: Path, head: bytes) -> None:
    """A workbook is not a table file: say how to export it (before the zip check would call
    an .xlsx a zip archive)."""
    workbook = path.suffix.lower() in (".xlsx", ".xlsm", ".xlsb", ".ods", ".numbers")
    if head[:4] == b"\xd0\xcf\x11\xe0" or (head[:4] == b"PK\x03\x04" and workbook):
        raise InputError(f"input file '{path}' is a spreadsheet workbook, which cannot be read directly: save the "
                         "sheet as CSV (UTF-8) or Parquet and point the setting at that file.")


def _is_json(path: Path, head: bytes) -> bool:
    """A JSON array of objects or one object per line (JSON Lines), named .json, .jsonl or
    .ndjson (also gzipped)."""
    name = path.name.lower().removesuffix(".gz")
    return name.endswith((".json", ".jsonl", ".ndjson")) and not head.startswith(b"PAR1")


def _json_to_parquet(path: Path, cache_dir: Path) -> str:
    """A Parquet copy of a JSON file (DuckDB's read_json_auto types the columns; nested
    values such as an address object become JSON text)."""
    import duckdb

    target = cached_copy(path, cache_dir, "parquet")
    if not target.exists():
        partial = target.with_suffix(".partial")
        with duckdb.connect() as con:
            try:
                read = f"read_json_auto({literal_path_sql(str(path.resolve()))})"
                described = con.execute(f"describe select * from {read}").fetchall()
                fields = [f"cast(to_json({quote_identifier(n)}) as varchar) as {quote_identifier(n)}"
                          if any(t in str(dtype).upper() for t in ("STRUCT", "MAP", "[]", "JSON"))
                          else quote_identifier(n) for n, dtype, *_ in described]
                con.execute(f"copy (select {', '.join(fields)} from {read}) "
                            f"to {sql_string(str(partial))} (format parquet)")
            except duckdb.Error as err:
                partial.unlink(missing_ok=True)
                raise InputError(f"input file '{path}' cannot be read as JSON: {str(err).splitlines()[0]}") from None
        os.replace(partial, target)
    return str(target)


def inspect_source(pattern: str | None, role: str, setting: str, options: InputOptions,
                   cache_dir: Path, seed_path: Path | None = None, seed_label: str = "") -> Source:
    """Find and describe the input: the seed's CSV when `pattern` is None."""
    if pattern is None:
        if seed_path is None or not seed_path.exists():
            raise InputError(f"the embedded sample is missing ({seed_path}); set {setting} to your file.")
        source = Source(role, "table", seed_label, None)
        info = _inspect_csv_file(seed_path, options, cache_dir, source)
        source.files = [info]
        source.encoding, source.compression = info.encoding, info.compression
        return source
    paths = expand_pattern(pattern, setting)
    heads = {p: magic_bytes(p) for p in paths}
    for p in paths:
        _refuse_spreadsheet(p, heads[p])
    json_files = [p for p in paths if _is_json(p, heads[p])]
    if json_files and len(json_files) != len(paths):
        raise InputError(f"{setting}: '{pattern}' matches both JSON and other files; point it at one kind.")
    if json_files:   # read through a Parquet copy: typed columns, like a Parquet input
        source = Source(role, "parquet", f"file '{pattern}'", pattern)
        for p in paths:
            source.files.append(FileInfo(str(p.resolve()), _json_to_parquet(p, cache_dir), p.stat().st_size, "none",
                                         "binary", 0, 0, None))
        parquet_columns(source)
        return source
    parquet = [p for p in paths if heads[p][:4] == b"PAR1"]
    if parquet and len(parquet) != len(paths):
        raise InputError(f"{setting}: '{pattern}' matches both Parquet and text files; point it at one kind.")
    source = Source(role, "parquet" if parquet else "csv", f"file '{pattern}'", pattern)
    if parquet:
        for p in paths:
            source.files.append(FileInfo(str(p.resolve()), str(p.resolve()), p.stat().st_size, "none", "binary",
                                         0, 0, None))
        parquet_columns(source)
        return source
    infos = [_inspect_csv_file(p, options, cache_dir, source) for p in paths]
    headers = {tuple(i.header or ()) for i in infos}
    if len(headers) > 1:
        first, other = infos[0], next(i for i in infos if tuple(i.header or ()) != tuple(infos[0].header or ()))
        raise InputError(f"{setting}: the files matched by '{pattern}' have different columns: '{first.path}' has "
                         f"{', '.join(first.header or [])}; '{other.path}' has {', '.join(other.header or [])}.")
    encodings = {i.encoding for i in infos}
    if len(encodings) > 1:
        raise InputError(f"{setting}: the files matched by '{pattern}' have different encodings "
                         f"({', '.join(sorted(encodings))}); convert them to one (UTF-8).")
    compressions = {i.compression for i in infos}
    if len(compressions) > 1 and all(i.read_path == i.path for i in infos):
        raise InputError(f"{setting}: the files matched by '{pattern}' are compressed differently; use one kind.")
    if any(i.read_path != i.path for i in infos):   # DuckDB reads the list with one compression: none
        for i in infos:
            if i.read_path == i.path and i.compression != "none":
                i.read_path = str(repaired_copy(Path(i.path), i.compression, cache_dir, []).resolve())
    source.files = infos
    source.encoding, source.compression = infos[0].encoding, infos[0].compression
    if source.data_lines == 0:
        raise InputError(f"{setting}: '{pattern}' has a header but no data rows; export the data again.")
    return source


def _inspect_csv_file(path: Path, options: InputOptions, cache_dir: Path, source: Source) -> FileInfo:
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"input file '{path}' is empty (0 bytes); export the data again.")
    compression = detect_compression(path, magic_bytes(path))
    head_raw = b""
    for chunk in read_chunks(path, compression):
        head_raw = chunk[:HEAD_BYTES]
        break
    if not head_raw:
        raise InputError(f"input file '{path}' is empty after decompression; export the data again.")
    if head_raw[:4] == b"PAR1":
        raise InputError(f"input file '{path}' is a Parquet file with a text extension; rename it to .parquet.")
    encoding, bom = detect_encoding(head_raw)
    if options.encoding:
        encoding = options.encoding
    read, read_compression = path, compression
    if b"\r" in head_raw and b"\n" not in head_raw:
        # old Mac line ends (CR only, as Excel for Mac's "CSV (Macintosh)" writes): a copy with LF
        read, read_compression = cr_to_lf_copy(path, compression, cache_dir), "none"
    scan = None
    if encoding in ("utf-16", "utf-16-nobom"):
        if encoding == "utf-16-nobom":
            raise InputError(f"input file '{path}' looks like UTF-16 without a byte-order mark; save it as UTF-8 "
                             "(or UTF-16 with a byte-order mark).")
        lines, blank, text = utf16_lines(read, read_compression)
        encoding = "utf-16"
    else:
        scan = scan_bytes(read, read_compression)
        lines, blank = scan.lines, scan.blank
        if not encoding:
            encoding = "utf-8" if scan.valid_utf8 else ("cp1252" if scan.c1_bytes else "latin-1")
        text = scan.head.decode({"cp1252": "cp1252", "latin-1": "latin-1"}.get(encoding, "utf-8"), errors="replace")
        if bom:
            text = text[1:] if text.startswith("\ufeff") else text
    if text.startswith("\ufeff"):
        text = text[1:]
    preamble, preamble_blank = lines_above_header(text, options)
    first = first_lines(text, start=preamble)
    if not first:
        raise InputError(f"input file '{path}' is empty (no line with data); export the data again.")
    if not source.columns:
        sniff_layout(first, options, source, path)
    header, header_lines = None, 0
    if source.header:
        header = (first[0].split() if source.whitespace else split_line(first[0], source.delimiter))
        header_lines = 1 if source.whitespace else record_lines(text, preamble)
    if source.files_preamble is not None and source.files_preamble != preamble:
        raise InputError(f"the files matched by '{source.pattern}' start differently (title or comment lines "
                         "above the header); make them alike.")
    source.files_preamble = preamble
    set_aside: list[list] = []
    if scan is not None and scan.needs_line_check:
        delimiter = None if source.whitespace else source.delimiter
        found = {}   # only CR LF and LF line ends: a copy with LF, nothing to walk
        if scan.lone_cr or scan.nul or scan.quotes % 2 == 1:
            found = check_lines(read, read_compression, f"input file '{path}'", delimiter, preamble + 1,
                                 preamble + 1 + header_lines)
        mixed = 0 < scan.crlf < scan.newlines
        if len(found) > MAX_SET_ASIDE:
            n = min(found)
            raise InputError(f"input file '{path}' cannot be read: line {n} {found[n][0]}, and so do "
                             f"{len(found) - 1:,} more lines; export the file again as CSV text (UTF-8).")
        if found or mixed:   # lines ending both in CR LF and LF (two exports joined) stop DuckDB's reader
            read, read_compression = repaired_copy(read, read_compression, cache_dir, blanked_lines(found)), "none"
        set_aside = set_aside_rows(found, encoding, delimiter)
    read_path = str(read.resolve())
    if encoding == "cp1252":
        read_path = transcode_cp1252(read, read_compression, cache_dir)
    return FileInfo(str(path.resolve()), read_path, size, compression, encoding, lines - blank, blank, header,
                    preamble, preamble_blank, set_aside, max(header_lines, 1))


def parquet_columns(source: Source) -> None:
    """The columns, types and row count of a Parquet input (the count from its metadata)."""
    import duckdb

    with duckdb.connect() as con:
        try:
            described = con.execute(f"describe select * from {source.read_sql()}").fetchall()
            rows = con.execute(f"select count(*) from {source.read_sql()}").fetchone()[0]
        except duckdb.Error as err:
            raise InputError(f"{source.label} cannot be read as Parquet: {str(err).splitlines()[0]}") from None
    seen: dict[str, str] = {}
    for name, dtype, *_ in described:
        if name.lower() in seen:
            raise InputError(f"duplicate column '{name}' in {source.label} (also '{seen[name.lower()]}', "
                             "ignoring case); rename one.")
        seen[name.lower()] = name
        source.columns.append(name)
        source.column_types[name] = dtype
    if rows == 0:
        raise InputError(f"{source.label} has no rows; export the data again.")
    for f in source.files:
        f.lines = 0
    source.files[0].lines = rows  # count(*) from the Parquet metadata: the rows the input holds


#: Relation kinds read in the build's own database (the others: custseg.postgres).
DATABASE_RELATIONS = ("model", "source", "table")


def inspect_database_relation(found: dict, role: str, setting: str, connection) -> Source:
    """The input Source of a relation of the build's database, typed by the relation's own
    types, read where it is (no copy); its count(*) is the independent row count.

    found: what macros/run_context.sql looked up in dbt's graph: {'kind', 'value' (as the var
    gives it: a name, source.table, a dotted table name), 'relation' (dbt's quoted name of the
    model or source; None for a table, or a name dbt does not know), 'ephemeral', 'names' (the
    project's models and seeds when none matched)}.
    `connection`: the build's DuckDB connection (a cursor of it reads what has been committed)."""
    import duckdb

    kind = found.get("kind")
    label = f"{kind} '{found.get('value')}'"
    if kind == "model" and not found.get("relation"):
        if found.get("ephemeral"):
            raise InputError(f"{setting}: {label} is ephemeral, so no table holds its rows; materialize it as a "
                             "view or a table.")
        close = difflib.get_close_matches(str(found.get("value")), found.get("names") or [], n=3, cutoff=0.5)
        raise InputError(f"{setting}: no model or seed of this project is named '{found.get('value')}'"
                         + (f" (closest: {', '.join(close)})" if close else "") + ".")
    relation = found.get("relation") if kind != "table" else \
        ".".join(quote_identifier(part) for part in str(found.get("value")).split("."))
    cursor = connection.cursor()
    try:
        try:
            described = cursor.execute(f"describe select * from {relation}").fetchall()
        except duckdb.CatalogException:
            raise InputError(_missing_relation(cursor, found, setting, relation)) from None
        rows = cursor.execute(f"select count(*) from {relation}").fetchone()[0]
    except duckdb.Error as err:
        raise InputError(f"{setting}: {label} cannot be read: {str(err).splitlines()[0]}") from None
    finally:
        cursor.close()
    source = Source(role, "relation", label, None, encoding="binary", relation=relation, relation_rows=int(rows))
    for name, dtype, *_ in described:
        source.columns.append(name)
        source.column_types[name] = str(dtype)
    if rows == 0:
        raise InputError(f"{setting}: {label} has no rows; fill it (or point {setting} elsewhere) and build again.")
    return source


def _missing_relation(cursor, found: dict, setting: str, relation: str) -> str:
    """One line: the relation is not in the database, and the tables and views with close names."""
    names = [".".join(p for p in row if p) for row in cursor.execute(
        "select case when database_name <> current_database() then database_name end, schema_name, table_name "
        "from duckdb_tables() where not internal and not temporary union all "
        "select case when database_name <> current_database() then database_name end, schema_name, view_name "
        "from duckdb_views() where not internal and not temporary order by 1 nulls first, 2, 3").fetchall()]
    wanted = str(found.get("value"))
    last = {n: n.rsplit(".", 1)[-1].lower() for n in names}   # names ignore case
    by_last = difflib.get_close_matches(wanted.rsplit(".", 1)[-1].lower(), list(set(last.values())), n=3,
                                        cutoff=0.75)
    close = [n for n in names if last[n] in by_last][:3]
    nearby = f"; tables and views with close names: {', '.join(close)}" if close else \
        "; no table or view has a close name"
    label = f"{found.get('kind')} '{found.get('value')}'"
    if found.get("kind") == "model":
        return (f"{setting}: {label} has not been built ({relation} does not exist): build it with the "
                f"segmentation, dbt build --select +customer_segments{nearby}.")
    if found.get("kind") == "source":
        return f"{setting}: {label} is declared, but its table {relation} does not exist{nearby}."
    return f"{setting}: {label} does not exist in the database or a database attached to it{nearby}."


def inspect_relation(relation: dict, role: str, setting: str, cache_dir: Path) -> Source:
    """The input Source of a PostgreSQL relation setting ({postgres: schema.table}): a typed
    Parquet input whose row count is the server's."""
    kinds = sorted(relation) if isinstance(relation, dict) else []
    if kinds != ["postgres"]:
        raise PostgresError(f"{setting}: {relation!r} is not a relation this build can read; use "
                            "{postgres: schema.table}.")
    value = str(relation["postgres"])
    got = read_relation(value, setting, cache_dir)
    source = Source(role, "parquet", got.label, None)
    source.files.append(FileInfo(f"postgres:{value}", got.parquet, os.path.getsize(got.parquet), "none", "binary",
                                 0, 0, None))
    parquet_columns(source)
    source.files[0].lines = got.rows   # the server's count(*), not the file's
    source.type_notes = got.notes
    return source
