"""segment_mode score_changes keeps every guard of a full build: the input checks of
input_summary over the whole night's file (too many rejected rows, too few customers), the
conservation tests, and publish-then-swap in that order: the serving database never holds
a night the working tables do not, and a night stopped between its commit and its swap is
swapped in, or recorded as not swapped, by the next build.

One full build of every fourth row of the embedded sample (its dirty rows included, and a
line that does not parse), copied into a fresh directory per test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import PROJECT_DIR, assert_ok, run_dbt

pytestmark = pytest.mark.dbt

FAST = {"stability_resamples": 0, "k_max": 6}
NIGHT = ["--selector", "score_changes"]
DBT = str(Path(sys.executable).parent / "dbt")
DB = "segments.duckdb"
SERVING = "segments.serving.duckdb"


def _write(frame: pd.DataFrame, path: Path, extra_line: str | None = "C19999,12,too,few") -> Path:
    frame.to_csv(path, index=False, lineterminator="\n")
    if extra_line:
        with open(path, "a") as out:
            out.write(extra_line + "\n")   # a malformed line: rejected at reading
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    work = tmp_path_factory.mktemp("guards_base")
    frame = pd.read_csv(PROJECT_DIR / "seeds" / "custseg_sample_customers.csv", dtype=str,
                        keep_default_na=False).iloc[::4]
    frame = frame.reset_index(drop=True)
    path = _write(frame, work / "customers.csv")
    assert_ok(run_dbt(["build"], work, vars={**FAST, "customers_path": str(path)}, db_name=DB))
    return work, frame


class Night:
    """A copy of the published base build, and the nights run on it."""

    def __init__(self, base, work: Path):
        source, self.frame = base
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        for name in (DB, SERVING):
            shutil.copy(source / name, work / name)
        self.database, self.serving = work / DB, work / SERVING
        with duckdb.connect(str(self.database), read_only=True) as con:
            kept = {r[0] for r in con.sql("select customer_id from customer_features").fetchall()}
        clean = [i for i in self.frame["CUST_ID"].drop_duplicates(keep=False) if i in kept]
        self.changed, self.departed, self.unchanged = clean[:10], clean[10:15], clean[50]
        self.new_row = self.frame[self.frame["CUST_ID"] == clean[20]].assign(CUST_ID="C70001")

    def tonight(self, frame: pd.DataFrame | None = None, name: str = "night.csv") -> Path:
        """The file of one night: 10 changed customers, 5 departed, 1 new (or `frame`)."""
        if frame is None:
            frame = self.frame.copy()
            frame.loc[frame["CUST_ID"].isin(self.changed), "PURCHASES"] = "25000"
            frame = frame[~frame["CUST_ID"].isin(self.departed)]
            frame = pd.concat([frame, self.new_row], ignore_index=True)
        return _write(frame, self.work / name)

    def build(self, path: Path, args=NIGHT, **vars):
        mode = {"segment_mode": "score_changes"} if args == NIGHT else {}
        return run_dbt(["build", *args], self.work, vars={**FAST, "customers_path": str(path), **mode, **vars},
                       db_name=DB)

    def env(self, **extra) -> dict:
        return {**os.environ, "DBT_DUCKDB_PATH": str(self.database), "DBT_PROFILES_DIR": str(PROJECT_DIR),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_TARGET_PATH": str(self.work / "target_cli"),
                "DBT_LOG_PATH": str(self.work / "logs"), **extra}

    def start(self, path: Path, **extra_env) -> subprocess.Popen:
        """A night from the command line (so that it can be killed)."""
        vars = {**FAST, "customers_path": str(path), "segment_mode": "score_changes"}
        return subprocess.Popen([DBT, "build", *NIGHT, "--vars", json.dumps(vars)], cwd=PROJECT_DIR,
                                env=self.env(**extra_env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)

    def runs(self) -> dict[str, str]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return dict(con.sql("select run_id, status from custseg_runs order by started_at").fetchall())

    def serving_runs(self) -> list[str]:
        with duckdb.connect(str(self.serving), read_only=True) as con:
            return [r[0] for r in con.sql("select run_id from segment_runs order by finished_at").fetchall()]

    def working(self, sql: str):
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.sql(sql).fetchall()

    def served(self, sql: str):
        with duckdb.connect(str(self.serving), read_only=True) as con:
            return con.sql(sql).fetchall()

    def assert_serving_behind_working(self) -> None:
        """The serving database holds no run the working tables do not have as published."""
        runs = self.runs()
        assert all(runs.get(r) == "published" for r in self.serving_runs()), (self.serving_runs(), runs)


def _published_nothing(night: Night, before: list[str], hashes_before) -> None:
    assert night.serving_runs() == before
    assert night.working("select customer_id, input_hash, input_rows, input_lines from int_customer_input_hashes "
                         "order by customer_id") == hashes_before
    assert list(night.runs().values())[-1] == "not published"


def _hashes(night: Night):
    return night.working("select customer_id, input_hash, input_rows, input_lines from int_customer_input_hashes "
                         "order by customer_id")


def test_a_night_checks_and_conserves_the_whole_input_as_a_full_build_would(base, tmp_path):
    night = Night(base, tmp_path / "night")
    full = Night(base, tmp_path / "full")
    path = night.tonight()
    run = night.build(path)
    assert_ok(run)
    assert "10 changed, 5 departed, 1 new" in run.output
    tests = {r["unique_id"].split(".")[2]: r["status"] for r in run.run_results()["results"]
             if r["unique_id"].startswith("test.")}
    assert tests["assert_input_rows_conserved"] == "pass" and tests["assert_each_input_row_placed_once"] == "pass"
    assert tests["rejected_share_below_warning"] in ("pass", "warn")
    assert_ok(full.build(path, args=[], segment_mode="score"))
    columns = ("input_rows, staged_rows, clean_customers, collapsed_duplicates, rejected_rows, rejected_share, "
               "top_reasons, varying_features")
    tonight = night.working(f"select {columns} from input_summary__changes")
    assert tonight == full.working(f"select {columns} from input_summary")
    lines = sum(1 for line in path.read_text().splitlines() if line.strip()) - 1
    assert tonight[0][0] == tonight[0][1] == lines
    # the customers' rows and lines, kept for the next night, are those a full build counts
    assert _hashes(night) == _hashes(full)
    night.assert_serving_behind_working()


def test_too_many_rejected_rows_stop_the_night_and_publish_nothing(base, tmp_path):
    night = Night(base, tmp_path)
    before, hashes = night.serving_runs(), _hashes(night)
    frame = night.frame.copy()
    broken = frame.index[frame["CUST_ID"].str.startswith("C1")][::6]   # 1 in 6 customers
    frame.loc[broken, "BALANCE"] = "lots"
    run = night.build(night.tonight(frame))
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if "Invalid Input Error" in line]
    assert lines, run.output[-3000:]
    assert "% of the input rows were rejected, above max_rejected_share 0.1 (top reasons: non_numeric_value" \
        in lines[0]
    assert "see the table rejected_customers" in lines[0]
    assert "Serving database not updated: 1 failed (input_summary)" in run.output
    _published_nothing(night, before, hashes)
    # nothing was scored: scoring waits for the checks
    assert "int_customer_scores" not in {r["unique_id"].split(".")[-1] for r in run.run_results()["results"]
                                         if r["status"] == "success"}


def test_too_few_customers_stop_the_night_and_publish_nothing(base, tmp_path):
    night = Night(base, tmp_path)
    before, hashes = night.serving_runs(), _hashes(night)
    frame = night.frame[night.frame["CUST_ID"].isin(night.changed[:8])]
    run = night.build(_write(frame, tmp_path / "night.csv", extra_line=None))
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if "Invalid Input Error" in line]
    assert lines and "only 8 clean customers: the algorithms need at least 10" in lines[0], run.output[-3000:]
    assert "Serving database not updated: 1 failed (input_summary)" in run.output
    _published_nothing(night, before, hashes)


def test_the_conservation_test_counts_the_unchanged_customers_exactly(base, tmp_path):
    """One line too many recorded for a customer that did not change: the night stops."""
    night = Night(base, tmp_path)
    before = night.serving_runs()
    with duckdb.connect(str(night.database)) as con:
        con.execute("update int_customer_input_hashes set input_lines = input_lines + 1 where customer_id = ?",
                    [night.unchanged])
    hashes = _hashes(night)
    run = night.build(night.tonight())
    assert run.returncode != 0
    assert "assert_input_rows_conserved" in run.output and "1 failed (assert_input_rows_conserved)" in run.output
    _published_nothing(night, before, hashes)


def _stop_before_the_swap(night: Night, path: Path, action: str) -> str:
    """Run a night until its swap is pending (committed; CUSTSEG_PUBLISH_DELAY waits before the
    swap), then `kill` it, or `remove` its copy so that its swap fails. Returns its run id."""
    proc = night.start(path, CUSTSEG_PUBLISH_DELAY="60" if action == "kill" else "10")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    deadline = time.time() + 300
    while not any("before replacing" in line for line in list(lines)):
        assert proc.poll() is None and time.time() < deadline, "".join(lines)[-3000:]
        time.sleep(0.05)
    (copy,) = night.work.glob(f"{SERVING}.publishing-*")
    run_id = copy.name.rsplit(".publishing-", 1)[1]
    if action == "kill":
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    else:
        copy.unlink()
        proc.wait(timeout=300)
        reader.join(timeout=10)
        out = "".join(lines)
        assert proc.returncode != 0, out[-3000:]
        assert f"Run {run_id} is in the working tables, but its copy of the serving database could not " \
               f"replace {night.serving} (FileNotFoundError" in out, out[-3000:]
    return run_id


def test_a_night_killed_between_its_commit_and_its_swap_is_swapped_in_by_the_next_build(base, tmp_path):
    night = Night(base, tmp_path)
    before = night.serving_runs()
    path = night.tonight()
    run_id = _stop_before_the_swap(night, path, "kill")
    # the working tables have the night; readers still see the run before it
    assert night.runs()[run_id] == "swapping" and night.serving_runs() == before
    assert night.served("select count(*) from customer_features where customer_id = 'C70001'") == [(0,)]
    night.assert_serving_behind_working()

    run = night.build(path)
    assert_ok(run)
    assert f"Run {run_id} stopped between committing its changes and recording its swap; published " \
           "(its copy swapped in by the next build)" in run.output
    assert "no customer changed" in run.output   # the killed night's changes are in the working tables
    runs = night.runs()
    assert runs[run_id] == "published" and list(runs.values())[-1] == "published"
    assert night.serving_runs()[-2:] == [run_id, list(runs)[-1]]
    assert night.served("select count(*) from customer_features where customer_id = 'C70001'") == [(1,)]
    assert night.served(f"select count(*) from customer_features where customer_id in "
                        f"({', '.join(repr(i) for i in night.departed)})") == [(0,)]
    assert not list(tmp_path.glob("*.publishing-*"))
    night.assert_serving_behind_working()


def test_a_failed_swap_is_recorded_and_score_changes_waits_for_a_full_build(base, tmp_path):
    night = Night(base, tmp_path)
    before = night.serving_runs()
    path = night.tonight()
    run_id = _stop_before_the_swap(night, path, "remove")
    assert night.runs()[run_id] == "swapping" and night.serving_runs() == before

    run = night.build(path)
    assert run.returncode != 0
    assert f"Run {run_id} changed the working tables but never reached the serving database (its copy of the " \
           "serving database is gone)" in run.output
    assert f"the changes of run {run_id} reached the working tables but never the serving database" in run.output
    assert night.runs()[run_id] == "not swapped" and night.serving_runs() == before
    night.assert_serving_behind_working()

    # a full build publishes everything again (without the night's history), then the nights go on
    assert_ok(night.build(path, args=[], segment_mode="score"))
    assert night.served(f"select count(*) from segment_history where valid_from_run_id = '{run_id}'") == [(0,)]
    assert night.served("select count(*) from customer_features where customer_id = 'C70001'") == [(1,)]
    run = night.build(path)
    assert_ok(run)
    assert "no customer changed" in run.output
    night.assert_serving_behind_working()
