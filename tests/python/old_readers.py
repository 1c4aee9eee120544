"""Read the serving database as BI tools do: with older DuckDB releases (each in its own
virtual environment, made by `make readers`) and through SQLAlchemy with duckdb-engine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT_DIR

#: the releases of the Makefile's READER_DUCKDB, oldest first
READER_VERSIONS = re.search(r"^READER_DUCKDB := (.+)$", (PROJECT_DIR / "Makefile").read_text(), re.M).group(1).split()

#: every table: its columns, row count and a digest of every value (runs in any DuckDB release)
READ_ALL = r'''
import hashlib, json, sys, duckdb
try:
    con = duckdb.connect(sys.argv[1], read_only=True)
except Exception as e:
    print(json.dumps({"error": str(e).splitlines()[0]}))
    sys.exit(0)
tables = {}
for (t,) in con.execute("select table_name from information_schema.tables where table_schema = 'main' "
                        "order by table_name").fetchall():
    cursor = con.execute('select * from "' + t.replace('"', '""') + '" order by all')
    rows = cursor.fetchall()
    tables[t] = {"columns": [d[0] for d in cursor.description], "rows": len(rows),
                 "digest": hashlib.sha256(repr(rows).encode()).hexdigest()}
print(json.dumps({"duckdb": duckdb.__version__, "tables": tables}))
'''

#: what Superset does with a DuckDB URL: list the tables with the inspector, reflect each, select
SQLALCHEMY = r'''
import json, sys, warnings
import sqlalchemy as sa
warnings.simplefilter("ignore")   # list columns reflect as NullType, with a warning
engine = sa.create_engine("duckdb:///" + sys.argv[1] + "?access_mode=read_only")
inspector = sa.inspect(engine)
names = inspector.get_table_names(schema="main")
tables = {}
with engine.connect() as con:
    for name in names:
        table = sa.Table(name, sa.MetaData(), schema="main", autoload_with=engine)
        rows = con.execute(sa.select(table)).fetchall()
        tables[name] = {"columns": [c.name for c in table.columns], "rows": len(rows)}
    try:
        con.execute(sa.text("create table main.written_by_a_reader as select 1 as x"))
        refused = None
    except sa.exc.DBAPIError as e:
        refused = str(e.orig)
print(json.dumps({"sqlalchemy": sa.__version__, "tables": tables, "refused": refused}))
'''


def reader_python(version: str) -> Path:
    python = PROJECT_DIR / ".venv-readers" / f"duckdb-{version}" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no DuckDB {version} reader at {python}: run `make readers` (make test does; it needs PyPI)")
    return python


def run_script(python: Path | str, script: str, path: Path) -> dict:
    proc = subprocess.run([str(python), "-c", script, str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def read_all(path: Path, version: str | None = None) -> dict:
    """Every table of `path` read by DuckDB `version` (None: this environment's DuckDB)."""
    return run_script(reader_python(version) if version else sys.executable, READ_ALL, path)


def storage_version(path: Path) -> str:
    import duckdb

    with duckdb.connect() as con:
        con.sql("attach '" + str(path).replace("'", "''") + "' as served (read_only)")
        return con.sql("select tags['storage_version'] from duckdb_databases() "
                       "where database_name = 'served'").fetchall()[0][0]
