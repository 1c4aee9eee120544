"""serving_format parquet and serving_storage_version through builds and score_changes nights.

On one working database (every fourth row of the embedded sample): a build with
serving_format parquet; a second one in DuckDB 2.0's storage format while a reader polls the
Parquet folder; then two score_changes nights with the default format, the first rewriting
the serving database down to v1.0.0, the second updating a byte copy. After each publish:
the serving file's format and column comments, which DuckDB releases open it, and the
Parquet folder."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from custseg.serving import read_parquet_manifest

from conftest import PROJECT_DIR, assert_ok, run_dbt
from old_readers import READER_VERSIONS, read_all, storage_version

pytestmark = pytest.mark.dbt

FAST = {"stability_resamples": 0, "k_max": 6, "serving_format": "parquet"}
OLDEST, BUNDLED = READER_VERSIONS[0], READER_VERSIONS[-1]
#: marts whose every row a full build writes (their run_id is that build's)
ONE_RUN = ["customer_segments", "segment_assignments", "segment_profiles", "segment_feature_profiles",
           "segment_metrics", "segmentation_config", "report_points"]

POLLER = r'''
import json, os, sys, time
import pyarrow.parquet as pq
from custseg.serving import read_parquet_manifest
link, out, stop, tables = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
with open(out, "w") as fh:
    while not os.path.exists(stop):
        try:
            found = read_parquet_manifest(link)
            if found:
                folder, manifest = found
                runs = set()
                for t in tables:
                    runs |= set(pq.read_table(folder / manifest["tables"][t]["file"], columns=["run_id"])
                                .column("run_id").to_pylist())
                fh.write(json.dumps({"manifest": manifest["run_id"], "runs": sorted(runs)}) + "\n")
        except Exception as e:
            fh.write(json.dumps({"error": repr(e)}) + "\n")
        fh.flush()
        time.sleep(0.05)
'''


def _snapshot(work, run) -> dict:
    serving = work / "segments.serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        latest = con.sql("select run_id from segment_runs order by finished_at desc limit 1").fetchall()[0][0]
        tables = con.sql("select table_name from information_schema.tables where table_schema = 'main'").fetchall()
        counts = {t: con.sql(f'select count(*) from "{t}"').fetchall()[0][0] for (t,) in tables}
        segments = con.sql("select * from customer_segments").df()
        comments = dict(((t, c), comment) for t, c, comment in con.sql(
            "select table_name, column_name, comment from duckdb_columns() "
            "where schema_name = 'main' and comment is not null").fetchall())
    folder, manifest = read_parquet_manifest(work / "segments.serving.parquet")
    tables = {t: pq.read_table(folder / meta["file"]) for t, meta in manifest["tables"].items()}
    parquet = {"folder": folder.name, "manifest": manifest, "segments": tables["customer_segments"].to_pandas(),
               "shapes": {t: (data.num_rows, data.column_names) for t, data in tables.items()},
               "run_ids": {t: set(tables[t].column("run_id").to_pylist()) for t in ONE_RUN}}
    folders = sorted(p.name for p in work.glob("segments.serving.parquet.*"))
    return {"output": run.output, "latest_run": latest, "counts": counts, "segments": segments, "comments": comments,
            "storage": storage_version(serving), "folders": folders,
            "readers": {v: read_all(serving, v) for v in (OLDEST, BUNDLED)}, "parquet": parquet}


@pytest.fixture(scope="module")
def publishes(tmp_path_factory):
    work = tmp_path_factory.mktemp("serving_formats")
    base = pd.read_csv(PROJECT_DIR / "seeds" / "custseg_sample_customers.csv", dtype=str,
                       keep_default_na=False).iloc[::4]
    customers = work / "customers.csv"
    base.to_csv(customers, index=False)
    vars = {**FAST, "customers_path": str(customers)}
    seen = {}

    def build(name, args=(), **extra):
        run = run_dbt(["build", *args], work, vars={**vars, **extra}, db_name="segments.duckdb")
        assert_ok(run)
        seen[name] = _snapshot(work, run)

    build("first")
    stop, log = work / "stop", work / "poll.jsonl"
    poller = subprocess.Popen([sys.executable, "-c", POLLER, str(work / "segments.serving.parquet"), str(log),
                               str(stop), ",".join(ONE_RUN)])
    try:
        time.sleep(1)
        build("second", random_state=7, serving_storage_version="v2.0.0")
        time.sleep(1)
    finally:
        stop.touch()
        poller.wait(timeout=60)
    seen["polls"] = [json.loads(line) for line in log.read_text().splitlines()]

    changed = []
    for night in ("night1", "night2"):
        ids = base["CUST_ID"].iloc[[10 + len(changed), 20 + len(changed)]].tolist()
        base.loc[base["CUST_ID"].isin(ids), "PURCHASES"] = "25000"
        base.to_csv(customers, index=False)
        changed.append(ids)
        build(night, ["--selector", "score_changes"], segment_mode="score_changes")
        seen[night]["changed"] = ids
    return seen


def _run_id(snapshot) -> str:
    return snapshot["output"].split("Published run ")[1].split(" ")[0]


@pytest.mark.parametrize("name", ["first", "second", "night1", "night2"])
def test_the_parquet_folder_holds_the_published_run(publishes, name):
    snap = publishes[name]
    manifest = snap["parquet"]["manifest"]
    assert manifest["run_id"] == snap["latest_run"] == _run_id(snap)
    assert snap["parquet"]["folder"] == f"segments.serving.parquet.{manifest['run_id']}"
    assert manifest["published_at"].endswith("Z")
    assert {t: m["rows"] for t, m in manifest["tables"].items()} == snap["counts"]
    assert snap["parquet"]["shapes"] == {t: (m["rows"], [c["name"] for c in m["columns"]])
                                         for t, m in manifest["tables"].items()}
    segments = snap["parquet"]["segments"]
    key = ["customer_id"]
    pd.testing.assert_frame_equal(segments.sort_values(key, ignore_index=True),
                                  snap["segments"].sort_values(key, ignore_index=True), check_dtype=False)


def test_a_full_build_writes_one_run_into_the_parquet_folder(publishes):
    assert publishes["first"]["parquet"]["run_ids"] == {t: {_run_id(publishes["first"])} for t in ONE_RUN}


def test_a_reader_polling_the_folder_never_sees_two_runs(publishes):
    polls = publishes["polls"]
    assert [p for p in polls if "error" in p] == []
    assert all(p["runs"] == [p["manifest"]] for p in polls), [p for p in polls if p["runs"] != [p["manifest"]]][:3]
    first, second = _run_id(publishes["first"]), _run_id(publishes["second"])
    assert polls[0]["manifest"] == first and polls[-1]["manifest"] == second
    assert {p["manifest"] for p in polls} == {first, second}
    assert len(polls) > 20   # it read all along


def test_the_storage_version_decides_which_releases_open_the_serving_file(publishes):
    first, second = publishes["first"], publishes["second"]
    assert first["storage"] == "v1.0.0+"
    assert first["readers"][OLDEST]["tables"] == first["readers"][BUNDLED]["tables"]
    assert second["storage"] == "v2.0.0+"
    for version in (OLDEST, BUNDLED):
        assert "Trying to read a database file with version number" in second["readers"][version]["error"]


def test_score_changes_writes_the_serving_file_in_the_storage_version(publishes):
    night1, night2 = publishes["night1"], publishes["night2"]
    # the file of the second build (v2.0.0) is rewritten, the night's own copy is updated in place
    assert "was in DuckDB storage format v2.0.0+; this run writes it in v1.0.0" in night1["output"]
    assert "was in DuckDB storage format" not in night2["output"]
    for night in (night1, night2):
        assert night["storage"] == "v1.0.0+"
        assert night["readers"][OLDEST]["tables"] == night["readers"][BUNDLED]["tables"]
        assert night["readers"][BUNDLED]["tables"]["customer_segments"]["rows"] == night["counts"]["customer_segments"]


def test_every_publish_keeps_the_column_comments(publishes):
    """A byte copy keeps them; the copy into another storage version (night1) copies them."""
    first = publishes["first"]["comments"]
    assert first[("customer_segments", "segment_name")] == "Readable segment name (see segment_profiles)."
    assert len(first) > 150
    for name in ("second", "night1", "night2"):
        assert publishes[name]["comments"] == first, name


def test_score_changes_refreshes_the_parquet_folder_and_keeps_two(publishes):
    for name in ("night1", "night2"):
        night = publishes[name]
        segments = night["parquet"]["segments"]
        tonight = set(segments.loc[segments["run_id"] == _run_id(night), "customer_id"])
        assert tonight == set(night["changed"])
    # the current folder and the one before; the older ones are gone
    assert publishes["night2"]["folders"] == sorted(f"segments.serving.parquet.{_run_id(publishes[n])}"
                                                   for n in ("night1", "night2"))
    assert publishes["second"]["folders"] == sorted(f"segments.serving.parquet.{_run_id(publishes[n])}"
                                                   for n in ("first", "second"))
