"""The spark target's side of the run context: there the dbt-duckdb plugin that answers it
during a DuckDB build does not exist, so scripts/spark_build.py computes it here, with the
same custseg.run_context, and hands it to dbt in CUSTSEG_RUN_CONTEXT_JSON; each source is
read with `spark_read_sql`, the FROM expression that reads it on Spark."""

from __future__ import annotations

import re
from pathlib import Path

from .sql import quote_identifier, sql_literal


class ContractError(RuntimeError):
    """The input cannot be resolved; the message is custseg.inputs' one line."""


def hadoop_literal_paths(paths: list[str]) -> str:
    """One Spark path that reads exactly these files, never a glob of them: Hadoop globs
    '*', '?', '[', '{' and reads a backslash as an escape, so those are escaped; several
    files are an alternation {a,b} of the escaped names (the files a glob matched, not the
    glob again, which Hadoop would match by rules of its own)."""
    escaped = [re.sub(r"([\\*?\[\]{},])", r"\\\1", p) for p in paths]
    return escaped[0] if len(escaped) == 1 else "{" + ",".join(escaped) + "}"


def _spark_file(f: dict) -> str:
    """The file Spark reads: DuckDB's copy (UTF-8, decompressed, LF line ends), except that the
    lines DuckDB's copy leaves empty (set aside, rejected from DuckDB's rejects tables, which
    Spark has not) are read from the original, where Spark's permissive reader sees them."""
    plain = f.get("compression", "none") == "none" and f.get("encoding") != "cp1252"
    return f["path"] if f.get("set_aside") and plain else f["read_path"]


def spark_read_sql(source: dict, project_dir: Path) -> str | None:
    """How Spark reads the input the source dict describes (custseg.inputs.source.source_dict):
    Parquet and CSV by path, a whitespace-separated file as text lines (column `line`)."""
    kind = source.get("kind")
    if kind not in ("csv", "parquet", "table"):
        return None
    files = source.get("files") or []
    if kind == "table" and not files:
        return None
    path = hadoop_literal_paths(sorted({_spark_file(f) for f in files}))
    if kind == "parquet":
        return f"parquet.{quote_identifier(path, 'spark')}"
    if source.get("whitespace"):
        return f"(select value as line from text.{quote_identifier(path, 'spark')})"
    header = bool(source.get("header", True))
    options = {"header": "true" if header else "false", "sep": source.get("delimiter", ","), "quote": '"',
               "escape": '"', "multiLine": "true", "encoding": "UTF-8"}
    with_options = ", ".join(f"{sql_literal(k, 'spark')} = {sql_literal(v, 'spark')}" for k, v in options.items())
    columns = source.get("columns") or []
    if header:
        select = ", ".join(quote_identifier(c, "spark") for c in columns)
    else:
        select = ", ".join(f"_c{i} as {quote_identifier(c, 'spark')}" for i, c in enumerate(columns))
    return f"(select {select or '*'} from csv.{quote_identifier(path, 'spark')} with ({with_options}))"


def run_context_for_spark(user_vars: dict, project_dir: Path) -> dict:
    """The run context (custseg.run_context) of a spark build: the same settings, input
    contract and algorithms a DuckDB build reads, each source with its Spark FROM expression.
    macros/run_context.sql reads it from CUSTSEG_RUN_CONTEXT_JSON."""
    import uuid

    from .run_context import start

    answer = start({"invocation_id": f"spark-{uuid.uuid4()}", "command": "build", "target": {"type": "spark"},
                    "vars": dict(user_vars), "project_dir": str(project_dir),
                    "target_dir": str(project_dir / "target")})
    if answer.get("error"):
        raise ContractError(answer["error"])
    return answer
