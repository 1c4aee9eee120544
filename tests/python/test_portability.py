"""Portability check behind README "Beyond one machine": DuckDB-only SQL appears only in
the cross-database macros (dispatched per adapter) and in the exceptions
docs/beyond-one-machine.md lists.

This scans the literal SQL of every model, macro and data test (Jinja comments and tags
stripped, so a macro call such as `{{ median(x) }}` is not flagged, but SQL written inside
a macro body is). It is a lint; the run on Spark is tests/spark (make test-spark)."""

from __future__ import annotations

import re

from conftest import PROJECT_DIR

# Functions and syntax that DuckDB has and Spark SQL lacks (or spells differently).
DUCKDB_ONLY = {
    "read_csv": r"\bread_csv\w*\s*\(",
    "read_parquet": r"\bread_parquet\s*\(",
    "glob": r"\bglob\s*\(",
    "describe": r"\bdescribe\s+select\b",
    "list_*": r"\blist_\w+\s*\(",
    "string_split": r"\bstring_split\s*\(",
    "from_json": r"\bfrom_json\s*\(",
    "unnest": r"\bunnest\s*\(",
    "isfinite": r"\bisfinite\s*\(",
    "isnan": r"\bisnan\s*\(",
    "* exclude": r"\*\s*exclude\s*\(",
    "not materialized": r"\bnot\s+materialized\b",
    "quantile_cont": r"\bquantile_cont\s*\(",
    "hash": r"(?<![\w.])hash\s*\(",
    "try_cast": r"\btry_cast\s*\(",
    "struct_*": r"\bstruct_\w+\s*\(",
    "regexp_matches": r"\bregexp_matches\s*\(",
    "strptime": r"\bstrptime\s*\(",
    ":: cast": r"::\s*[a-z]",
}

# Where DuckDB-only SQL is allowed. The dispatch macros hold the DuckDB default next to the
# Spark variant; the rest are the exceptions README "Beyond one machine" lists.
DISPATCH_DIR = "macros/dialect"   # one file per family of dispatch macros
EXCEPTIONS = {
    "macros/publish.sql": {"glob"},   # publishing a serving database is DuckDB's; on Spark BI reads the warehouse
    "models/marts/som_nodes.sql": {"from_json", "unnest"},
    "models/marts/segment_k_selection.sql": {"from_json", "unnest"},
}


def literal_sql(text: str) -> str:
    text = re.sub(r"\{#.*?#\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    return re.sub(r"--[^\n]*", " ", text)


def duckdb_only_constructs(path) -> set[str]:
    text = path.read_text()
    # Models and tests: the literal SQL. Macros also build SQL inside Jinja strings, so
    # everything but their comments is scanned.
    sql = re.sub(r"\{#.*?#\}", " ", text, flags=re.S) if path.parent.name == "macros" else literal_sql(text)
    return {name for name, pattern in DUCKDB_ONLY.items() if re.search(pattern, sql, re.I)}


def sql_files():
    for folder in ("models", "macros", "tests"):
        yield from sorted((PROJECT_DIR / folder).rglob("*.sql"))


def test_duckdb_only_sql_stays_in_dispatch_macros_and_listed_exceptions():
    found = {}
    for path in sql_files():
        rel = path.relative_to(PROJECT_DIR).as_posix()
        if rel.startswith(DISPATCH_DIR + "/"):
            continue
        constructs = duckdb_only_constructs(path)
        if constructs:
            found[rel] = constructs
    assert found == EXCEPTIONS, (
        f"DuckDB-only SQL outside macros/dialect/ changed: {found}; move it behind a dispatch macro, "
        "or update EXCEPTIONS here and docs/beyond-one-machine.md"
    )


def test_dispatch_macros_whose_default_is_duckdb_syntax_have_a_spark_variant():
    text = "\n".join(p.read_text() for p in sorted((PROJECT_DIR / DISPATCH_DIR).glob("*.sql")))
    bodies = dict(re.findall(r"\{%\s*macro\s+(\w+)\(.*?%\}(.*?)\{%\s*endmacro\s*%\}", text, flags=re.S))
    dispatched = re.findall(r"adapter\.dispatch\('(\w+)'", text)
    assert dispatched, "no dispatch macros found"
    for name in dispatched:
        default = literal_sql(bodies.get(f"default__{name}", ""))   # what any adapter without a variant gets
        uses_duckdb_syntax = any(re.search(p, default, re.I) for p in DUCKDB_ONLY.values())
        if uses_duckdb_syntax:
            assert f"spark__{name}" in bodies, f"{name}: DuckDB syntax in the default but no spark variant"


def test_the_docs_list_the_same_exceptions():
    doc = (PROJECT_DIR / "docs" / "beyond-one-machine.md").read_text()
    section = doc.split("## Portability lint", 1)[1].split("\n## ", 1)[0]
    for path in EXCEPTIONS:
        assert path in section, f"docs/beyond-one-machine.md 'Portability lint' does not mention {path}"


def test_spark_build_without_java_says_what_to_install_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, JAVA_HOME=str(tmp_path / "no-java"), DBT_SPARK_DIR=str(tmp_path / "spark"))
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "scripts" / "spark_build.py")], cwd=PROJECT_DIR,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "spark-build: the spark target needs Java 17 or later: install it (Debian/Ubuntu: apt-get install "
        "openjdk-17-jre-headless) or set JAVA_HOME"]
    assert not (tmp_path / "spark").exists()
