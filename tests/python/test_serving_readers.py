"""The serving database opens in what BI tools bundle: older DuckDB releases (0.10.3, 1.4.4)
read every table of the sample build's serving file with the same values as DuckDB 2.0,
and SQLAlchemy with duckdb-engine lists and reads them read-only, as Superset does."""

from __future__ import annotations

import re
import sys

import pytest

from conftest import PROJECT_DIR
from old_readers import READER_VERSIONS, SQLALCHEMY, read_all, reader_python, run_script, storage_version

pytestmark = pytest.mark.dbt


def serving_file(build):
    return build.db_path.with_name(build.db_path.stem + ".serving.duckdb")


def published_tables() -> set[str]:
    """macros/publish.sql's serving_tables(), plus the two tables the publish adds."""
    text = (PROJECT_DIR / "macros" / "publish.sql").read_text()
    macro = re.search(r"macro serving_tables\(\) %\}(.*?)endmacro", text, re.S).group(1)
    return set(re.findall(r"'(\w+)'", macro)) | {"segment_model_versions", "segment_runs"}


@pytest.fixture(scope="module")
def reference(sample_build):
    """Every table as this environment's DuckDB (2.0) reads it."""
    got = read_all(serving_file(sample_build))
    assert "error" not in got, got
    return got


def test_the_serving_file_has_the_default_storage_version(sample_build, reference):
    assert storage_version(serving_file(sample_build)) == "v1.0.0+"
    assert set(reference["tables"]) == published_tables()
    customers = sample_build.scalar("select count(*) from customer_segments")
    assert customers > 8000 and reference["tables"]["customer_segments"]["rows"] == customers


@pytest.mark.parametrize("version", READER_VERSIONS)
def test_older_duckdb_releases_read_every_table_with_the_same_values(sample_build, reference, version):
    got = read_all(serving_file(sample_build), version)
    assert got.get("duckdb") == version, got
    assert got["tables"] == reference["tables"]


def _expect_sqlalchemy(got, reference):
    assert set(got["tables"]) == set(reference["tables"])
    for name, table in reference["tables"].items():
        assert got["tables"][name] == {"columns": table["columns"], "rows": table["rows"]}, name
    assert "read-only" in got["refused"]


def test_sqlalchemy_reads_every_table_read_only(sample_build, reference):
    """duckdb-engine on SQLAlchemy 2.0 and DuckDB 2.0 (this environment)."""
    got = run_script(sys.executable, SQLALCHEMY, serving_file(sample_build))
    assert got["sqlalchemy"].startswith("2.0")
    _expect_sqlalchemy(got, reference)


def test_sqlalchemy_1_4_on_duckdb_1_4_reads_every_table_read_only(sample_build, reference):
    """duckdb-engine on SQLAlchemy 1.4 (Superset's long-time pin) and DuckDB 1.4.4."""
    got = run_script(reader_python("1.4.4"), SQLALCHEMY, serving_file(sample_build))
    assert got["sqlalchemy"].startswith("1.4")
    _expect_sqlalchemy(got, reference)
