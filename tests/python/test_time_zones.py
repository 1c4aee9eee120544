"""Every time is UTC, whatever the machine's time zone: a Parquet input whose last purchase is a
TIMESTAMPTZ near midnight UTC gives, built under TZ=America/Los_Angeles (DuckDB's TimeZone
follows it), the recency days computed in UTC from the data, a full build and a score_changes night alike, and
the runs' started_at and finished_at are both UTC (a local finished_at would come hours before
a UTC started_at)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import PROJECT_DIR

pytestmark = pytest.mark.dbt

DBT = str(Path(sys.executable).parent / "dbt")
VARS = {"stability_resamples": 0, "k_max": 4}
N = 300


def _customers(spend_bump: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    days = pd.to_timedelta(rng.integers(0, 150, N), unit="D")
    # half the purchases at 00:30 UTC (the evening before in Los Angeles), half at 23:30 UTC
    minutes = np.where(np.arange(N) % 2 == 0, 30, 23 * 60 + 30)
    last = pd.Timestamp("2024-01-01", tz="UTC") + days + pd.to_timedelta(minutes, unit="min")
    last = last.where(np.arange(N) != 0, pd.Timestamp("2024-06-30 23:30", tz="UTC"))   # the latest: customer 0
    frame = pd.DataFrame({"customer_id": [f"Z{i:04d}" for i in range(N)], "last_purchase": last,
                          "spend": rng.gamma(2.0, 300.0, N).round(2), "visits": rng.poisson(6, N).astype(float),
                          "basket": rng.gamma(3.0, 20.0, N).round(2)})
    if spend_bump:
        frame.loc[7, "spend"] = 99999.0
    return frame


def _write(frame: pd.DataFrame, path: Path) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert str(table.schema.field("last_purchase").type.tz) == "UTC"   # TIMESTAMPTZ in DuckDB
    pq.write_table(table, path)
    return path


def _expected_days(frame: pd.DataFrame) -> pd.Series:
    dates = frame.set_index("customer_id")["last_purchase"].dt.tz_convert("UTC").dt.normalize()
    return (dates.max() - dates).dt.days


def _build(work: Path, tz: str, path: Path, night: bool = False) -> str:
    vars = {**VARS, "customers_path": str(path), **({"segment_mode": "score_changes"} if night else {})}
    env = {**os.environ, "TZ": tz, "DBT_DUCKDB_PATH": str(work / "segments.duckdb"),
           "DBT_PROFILES_DIR": str(PROJECT_DIR), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "DBT_TARGET_PATH": str(work / ("target_night" if night else "target")), "DBT_LOG_PATH": str(work / "logs")}
    selector = ["--selector", "score_changes"] if night else []
    proc = subprocess.run([DBT, "build", *selector, "--vars", json.dumps(vars)],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc.stdout


def _days(work: Path) -> pd.Series:
    with duckdb.connect(str(work / "segments.serving.duckdb"), read_only=True) as con:
        frame = con.sql("select customer_id, days_since_last_purchase from customer_features").df()
    return frame.set_index("customer_id")["days_since_last_purchase"].astype(int).sort_index()


def _runs(work: Path) -> list[tuple]:
    with duckdb.connect(str(work / "segments.duckdb"), read_only=True) as con:
        return con.sql("select run_id, status, started_at, finished_at from custseg_runs "
                       "order by started_at").fetchall()


def test_recency_and_run_times_do_not_depend_on_the_time_zone(tmp_path):
    assert subprocess.run([sys.executable, "-c", "import duckdb; print(duckdb.sql(\"select current_setting("
                           "'TimeZone')\").fetchall()[0][0])"], env={**os.environ, "TZ": "America/Los_Angeles"},
                          capture_output=True, text=True).stdout.strip() == "America/Los_Angeles"
    frame = _customers()
    expected = _expected_days(frame).sort_index()
    assert expected["Z0000"] == 0 and expected.max() > 100
    # the days expected are computed in UTC from the data, so one build in Los Angeles tells
    pacific = tmp_path / "pacific"
    pacific.mkdir()
    _build(pacific, "America/Los_Angeles", _write(frame, pacific / "customers.parquet"))
    pd.testing.assert_series_equal(_days(pacific), expected, check_names=False)

    # a score_changes night in Los Angeles: one customer changed, the others' days as they were
    out = _build(pacific, "America/Los_Angeles", _write(_customers(spend_bump=True), pacific / "customers.parquet"),
                 night=True)
    assert "1 changed (" in out
    pd.testing.assert_series_equal(_days(pacific), expected, check_names=False)

    for work in (pacific,):
        runs = _runs(work)
        assert [r[1] for r in runs] == ["published"] * len(runs)
        assert all(finished >= started for _, _, started, finished in runs), runs
        with duckdb.connect(str(work / "segments.serving.duckdb"), read_only=True) as con:
            served = con.sql("select run_id, started_at, finished_at from segment_runs order by started_at").fetchall()
        assert [r[0] for r in served] == [r[0] for r in runs]
        assert all(finished >= started for _, started, finished in served), served
