"""Shared helpers: run dbt against a throw-away DuckDB file and read the results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
SHARED_DATA = PROJECT_DIR.parent / "shared" / "data"
SHARED_CC_GENERAL = SHARED_DATA / "cc_general.csv"


def shared_data(name: str) -> Path:
    """A real file of ../shared/data (CI has them): missing is a failure, not a skip."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.fail(f"real data missing: {path} (clone the project beside ../shared, as CI does)")
    return path


class DbtRun:
    """The outcome of one dbt invocation: success, everything dbt said, and the database."""

    def __init__(self, success: bool, output: str, db_path: Path, target_path: Path):
        self.returncode = 0 if success else 1
        self.output = output
        self.db_path = db_path
        self.target_path = target_path

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.sql(sql).fetchall()

    def scalar(self, sql: str):
        return self.query(sql)[0][0]

    def df(self, sql: str):
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.sql(sql).df()

    def run_results(self) -> dict:
        return json.loads((self.target_path / "run_results.json").read_text())


def run_dbt(args: list[str], workdir: Path, vars: dict | None = None, db_name: str = "test.duckdb") -> DbtRun:
    """Run a dbt command in-process (dbtRunner) against its own database, target and log dirs.

    In-process saves dbt's ~2 s start-up per call; each call still parses afresh when the
    vars change, exactly as the command line does.
    """
    from dbt.cli.main import dbtRunner

    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / db_name
    target_path = workdir / "target"
    env = {
        "DBT_DUCKDB_PATH": str(db_path),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_LOG_PATH": str(workdir / "logs"),
        "DBT_TARGET_PATH": str(target_path),
    }
    saved = {key: os.environ.get(key) for key in env}
    saved_cwd = os.getcwd()
    messages: list[str] = []
    cli = [*args, "--quiet", "--no-use-colors"]
    if vars:
        cli += ["--vars", json.dumps(vars)]
    os.environ.update(env)
    os.chdir(PROJECT_DIR)
    try:
        result = dbtRunner(callbacks=[lambda event: messages.append(event.info.msg)]).invoke(cli)
    finally:
        _release_duckdb()
        os.chdir(saved_cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    output = "\n".join(str(m) for m in messages)
    if result.exception is not None:
        output += "\n" + str(result.exception)
    return DbtRun(bool(result.success), output, db_path, target_path)


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open in-process between invocations; close it so the
    test can open the file read-only (as a BI tool would)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    from custseg.dbt_plugin import release_build_locks

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
    release_build_locks()


def assert_ok(run: DbtRun) -> None:
    assert run.returncode == 0, run.output[-6000:]


def run_mf(build: DbtRun, args: list[str]) -> subprocess.CompletedProcess:
    """MetricFlow's `mf` on a build, as a user runs it from a project root: mf reads
    <root>/dbt_project.yml, the profile (DBT_PROFILES_DIR) and <root>/target/semantic_manifest.json,
    so the root is the build's folder (its target/) with a link to the project file, and the
    profile's database is the build's (DBT_DUCKDB_PATH)."""
    root = build.target_path.parent
    assert build.target_path == root / "target"
    project = root / "dbt_project.yml"
    if not project.exists():
        project.symlink_to(PROJECT_DIR / "dbt_project.yml")
    env = {**os.environ, "DBT_PROFILES_DIR": str(PROJECT_DIR), "DBT_DUCKDB_PATH": str(build.db_path),
           "DBT_LOG_PATH": str(root / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("DBT_TARGET_PATH", None)
    env.pop("DBT_PROJECT_DIR", None)
    mf = Path(sys.executable).with_name("mf")
    return subprocess.run([str(mf), *args], cwd=root, env=env, capture_output=True, text=True, timeout=600)


def mf_query(build: DbtRun, args: list[str]):
    """The rows of `mf query <args>` (written with --csv), as a pandas frame."""
    import pandas as pd

    out = build.target_path.parent / "mf_query.csv"
    out.unlink(missing_ok=True)
    proc = run_mf(build, ["query", *args, "--csv", str(out)])
    assert proc.returncode == 0 and out.exists(), (proc.stdout + proc.stderr)[-4000:]
    return pd.read_csv(out, keep_default_na=False, na_values=[""])


def assert_refused_before_any_model(run, message: str) -> None:
    """The run stopped in its on-run-start step: no model was built, and it is recorded as
    refused with the one line."""
    tables = {r[0] for r in run.query("select table_name from information_schema.tables")}
    assert tables <= {"custseg_runs", "segment_model_versions"}, tables
    assert run.query("select status from custseg_runs") == [("refused",)]
    assert message in run.scalar("select detail from custseg_runs")


@pytest.fixture(scope="session")
def cc_general_path() -> Path:
    return shared_data("cc_general.csv")


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory) -> DbtRun:
    """`dbt build` of the whole project on the embedded sample (shared by several tests)."""
    run = run_dbt(["build"], tmp_path_factory.mktemp("sample_build"))
    assert_ok(run)
    return run


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server (tests/python/postgres_server.py), stopped at the end. No
    server binaries is a failure naming what to install, not a skip."""
    import shutil

    from postgres_server import ServerMissing, start_server

    try:
        server = start_server()
    except ServerMissing as err:
        pytest.fail(str(err))
    yield server
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)


# The two xdist workers take whole files (--dist loadfile) in collection order as they free
# up: starting with the slowest files lets both finish at about the same time.
SLOWEST_FIRST = ["test_publishing.py", "test_postgres.py", "test_day_two.py", "test_any_input.py",
                 "test_score_changes.py", "test_serving_formats.py",
                 "test_segmentation_pipeline.py", "test_hostile.py", "test_transactions.py",
                 "test_cleaning_pipeline.py", "test_hostile_headers.py", "test_hostile_lines.py",
                 "test_new_algorithm.py", "test_bench.py", "test_model_fits.py"]


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
