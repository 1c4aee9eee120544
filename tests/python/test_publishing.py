"""Publish, then swap: a reader of the serving database never errors, never blocks a build
and never sees two runs at once, through builds that pass, fail, are partial, or are killed
before, during and after the Python models and in the middle of publishing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from conftest import PROJECT_DIR

pytestmark = pytest.mark.dbt

FAST = {"stability_resamples": 0, "k_max": 6}
#: every fourth row of the embedded sample (its dirty rows included): these tests are about
#: publishing, so a smaller input keeps each of their dozen builds short
SUBSET_EVERY = 4
DBT = str(Path(sys.executable).parent / "dbt")

READER = r'''
import json, sys, time, duckdb, os
serving, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
tables = ["customer_segments", "segment_assignments", "segment_profiles", "segment_feature_profiles",
          "segment_metrics", "segmentation_config", "report_points"]
with open(out, "w") as fh:
    while not os.path.exists(stop):
        start = time.time()
        try:
            if os.path.exists(serving):
                con = duckdb.connect(serving, read_only=True)
                seen = set()
                for t in tables:
                    seen |= {r[0] for r in con.execute(f"select distinct run_id from {t}").fetchall()}
                con.close()
                fh.write(json.dumps({"t": start, "runs": sorted(seen)}) + "\n")
        except Exception as e:
            fh.write(json.dumps({"t": start, "error": repr(e)}) + "\n")
        fh.flush()
        time.sleep(0.05)
'''


class Builds:
    """dbt builds as a user runs them (the command line), on one working database."""

    def __init__(self, work: Path):
        self.work = work
        seed = PROJECT_DIR / "seeds" / "custseg_sample_customers.csv"
        lines = seed.read_text(encoding="utf-8").splitlines(keepends=True)
        subset = work / "customers.csv"
        subset.write_text(lines[0] + "".join(lines[1::SUBSET_EVERY]), encoding="utf-8")
        self.vars = {**FAST, "customers_path": str(subset)}
        self.database = work / "segments.duckdb"
        self.serving = work / "segments.serving.duckdb"
        self.env = {**os.environ, "DBT_DUCKDB_PATH": str(self.database), "DBT_PROFILES_DIR": str(PROJECT_DIR),
                    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_TARGET_PATH": str(work / "target"),
                    "DBT_LOG_PATH": str(work / "logs")}

    def start(self, vars: dict, extra_env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen([DBT, "build", "--vars", json.dumps({**self.vars, **vars})], cwd=PROJECT_DIR,
                                env={**self.env, **(extra_env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def run(self, vars: dict) -> tuple[int, str]:
        proc = self.start(vars)
        out, _ = proc.communicate(timeout=600)
        return proc.returncode, out

    def kill_when(self, vars: dict, seen: str | None = None, file_glob: str | None = None,
                  extra_env: dict | None = None) -> str:
        """Start a build and kill it (SIGKILL, no clean-up) when its output shows `seen` or a
        file matching `file_glob` appears."""
        proc = self.start(vars, extra_env)
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
        deadline = time.time() + 300
        while time.time() < deadline:
            if seen and any(seen in line for line in list(lines)):
                break
            if file_glob and list(self.work.glob(file_glob)):
                time.sleep(0.5)
                break
            if proc.poll() is not None:
                raise AssertionError("the build ended before the kill point:\n" + "".join(lines)[-3000:])
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return "".join(lines)

    def serving_run(self) -> str:
        with duckdb.connect(str(self.serving), read_only=True) as con:
            runs = {r[0] for t in ("customer_segments", "segment_metrics", "segmentation_config")
                    for r in con.execute(f"select distinct run_id from {t}").fetchall()}
        assert len(runs) == 1, runs
        return runs.pop()


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    return Builds(tmp_path_factory.mktemp("publishing"))


def test_readers_see_one_whole_run_through_failed_killed_and_partial_builds(builds):
    code, out = builds.run({})
    assert code == 0, out[-3000:]
    first = builds.serving_run()
    assert f"Published run {first}" in out

    stop = builds.work / "stop"
    log = builds.work / "reader.jsonl"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(builds.serving), str(log), str(stop)])
    try:
        time.sleep(0.5)
        # killed before the Python models, while they run, after them, and while publishing
        builds.kill_when({"random_state": 7}, seen="OK created sql table model main.customer_features")
        assert builds.serving_run() == first
        builds.kill_when({"random_state": 7}, seen="START python incremental model main.segment_model_fits")
        assert builds.serving_run() == first
        builds.kill_when({"random_state": 7}, seen="OK created sql table model main.segment_profiles")
        assert builds.serving_run() == first
        builds.kill_when({"random_state": 7}, file_glob="*.publishing-*", extra_env={"CUSTSEG_PUBLISH_DELAY": "5"})
        assert builds.serving_run() == first
        assert list(builds.work.glob("*.publishing-*")), "the killed publish left its unfinished copy"

        # a failed build: nothing published, and it says so
        code, out = builds.run({"random_state": 7, "max_rejected_share": 0.001, "warn_rejected_share": 0.0005})
        assert code != 0
        assert "Serving database not updated: 1 failed (input_summary)" in out and f"still holds run {first}" in out
        # each build names the killed build before it (here: the one killed while publishing)
        assert out.count("did not finish (killed or crashed)") == 1
        assert builds.serving_run() == first

        # a partial build: not published either
        code, out = builds.run({"random_state": 7})
        assert code == 0
        second = builds.serving_run()
        assert second != first
        assert not list(builds.work.glob("*.publishing-*")), "left-overs of killed builds are removed"
        proc = subprocess.run([DBT, "build", "--select", "customer_segments", "--vars", json.dumps(builds.vars)],
                              cwd=PROJECT_DIR, env=builds.env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0 and "a full dbt build publishes" in proc.stdout
        assert builds.serving_run() == second
        time.sleep(0.5)
    finally:
        stop.touch()
        reader.wait(timeout=30)

    reads = [json.loads(line) for line in log.read_text().splitlines()]
    errors = [r for r in reads if "error" in r]
    assert errors == [], errors[:3]
    assert all(len(r["runs"]) == 1 for r in reads), [r for r in reads if len(r["runs"]) != 1][:3]
    seen = [r["runs"][0] for r in reads]
    assert seen[0] == first and seen[-1] == second and set(seen) == {first, second}
    assert len(reads) > 100   # it polled all along (every 50 ms)

    with duckdb.connect(str(builds.database), read_only=True) as con:
        statuses = [r[0] for r in con.execute("select status from custseg_runs order by started_at").fetchall()]
    assert statuses == ["published", "interrupted", "interrupted", "interrupted", "interrupted", "not published",
                        "published", "not published"]


def test_a_second_build_on_the_same_database_stops_at_once(builds):
    first = builds.start({})
    try:
        time.sleep(4)
        started = time.time()
        code, out = builds.run({})
        assert code != 0 and time.time() - started < 30
        assert "Another dbt command is using" in out and "wait for it to finish" in out
        assert "Traceback" not in out
    finally:
        first.communicate(timeout=600)
    assert first.returncode == 0
