"""The Parquet folder's file work (custseg.serving; the dbt plugin calls it at publish time)
and the serving settings' validation."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custseg import serving

from conftest import assert_refused_before_any_model, run_dbt

RUNS = ["20261201T010000Z-0000000a", "20261202T010000Z-0000000b", "20261203T010000Z-0000000c"]


def publish(link, run_id, rows):
    folder = serving.parquet_folder(str(link), run_id)
    pq.write_table(pa.table({"run_id": [run_id] * rows, "x": list(range(rows))}), os.path.join(folder, "t.parquet"))
    serving.write_manifest(folder, run_id)
    serving.swap_parquet_link(str(link), folder)
    return folder


def test_each_publish_repoints_the_link_and_keeps_the_previous_folder(tmp_path):
    link = tmp_path / "x.serving.parquet"
    (tmp_path / "x.serving.parquet.backup").mkdir()          # not a run folder: never touched
    publish(link, RUNS[0], 3)
    held = serving.read_parquet_manifest(link)
    assert held[0].name == f"x.serving.parquet.{RUNS[0]}"
    assert held[1]["run_id"] == RUNS[0] and held[1]["published_at"].endswith("Z")
    assert held[1]["tables"] == {"t": {"file": "t.parquet", "rows": 3, "columns": [
        {"name": "run_id", "type": "string"}, {"name": "x", "type": "int64"}]}}
    assert os.readlink(link) == f"x.serving.parquet.{RUNS[0]}"   # relative: the folders move together

    publish(link, RUNS[1], 4)
    killed = serving.parquet_folder(str(link), "20261202T120000Z-000000ff")   # a build killed before its swap
    publish(link, RUNS[2], 5)
    names = sorted(p.name for p in tmp_path.iterdir())
    kept = [f"x.serving.parquet.{r}" for r in RUNS[1:]]
    assert names == sorted(["x.serving.parquet", "x.serving.parquet.backup", *kept])
    assert not os.path.exists(killed)
    folder, manifest = serving.read_parquet_manifest(link)
    assert manifest["tables"]["t"]["rows"] == 5
    assert pq.read_table(folder / "t.parquet").column("run_id").to_pylist() == [RUNS[2]] * 5


def test_a_path_that_is_not_the_link_is_refused(tmp_path):
    taken = tmp_path / "mine.parquet"
    taken.mkdir()
    with pytest.raises(ValueError, match="is not the symlink a build makes; move it away, or set SEGMENTS_PARQUET"):
        serving.parquet_folder(str(taken), RUNS[0])
    assert serving.read_parquet_manifest(taken) is None and list(tmp_path.iterdir()) == [taken]


def test_a_build_whose_parquet_path_is_taken_stops_before_any_model(tmp_path, monkeypatch):
    taken = tmp_path / "mine"
    taken.mkdir()
    monkeypatch.setenv("SEGMENTS_PARQUET_PATH", str(taken))
    run = run_dbt(["build", "--select", "segmentation_config"], tmp_path, vars={"serving_format": "parquet"})
    assert run.returncode != 0
    assert f"serving_format parquet: {taken} exists and is not the symlink a build makes" in run.output
    assert "Traceback" not in run.output
    assert run.query("select status from custseg_runs") == [("refused",)]
    assert list(tmp_path.glob("*.serving.*")) == [] and list(taken.iterdir()) == []


def test_the_parquet_path_follows_the_serving_path(monkeypatch):
    monkeypatch.delenv("SEGMENTS_PARQUET_PATH", raising=False)
    assert str(serving.default_parquet_path("a/b.serving.duckdb")) == "a/b.serving.parquet"
    assert str(serving.default_parquet_path("a/b.db")) == "a/b.db.parquet"
    monkeypatch.setenv("SEGMENTS_PARQUET_PATH", "/srv/segments")
    assert str(serving.default_parquet_path("a/b.serving.duckdb")) == "/srv/segments"


def test_the_status_line_names_the_parquet_run(tmp_path, monkeypatch):
    monkeypatch.setenv("DBT_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.delenv("SEGMENTS_SERVING_PATH", raising=False)
    monkeypatch.delenv("SEGMENTS_PARQUET_PATH", raising=False)
    publish(tmp_path / "w.serving.parquet", RUNS[0], 1)
    assert serving.status_line() == (f"Serving database: nothing is published at {tmp_path / 'w.serving.duckdb'} yet; "
                                     f"the Parquet folder {tmp_path / 'w.serving.parquet'} holds run {RUNS[0]}.")


@pytest.mark.parametrize(
    "vars, message",
    [
        ({"serving_storage_version": "v1.3.0"}, "Invalid var 'serving_storage_version': got \"v1.3.0\"; "
                                                "expected one of v1.0.0, v1.2.0, v1.4.0, v1.5.0, v2.0.0."),
        ({"serving_format": "csv"}, "Invalid var 'serving_format': got \"csv\"; expected one of duckdb, parquet."),
    ],
)
def test_bad_serving_vars_stop_the_run_naming_the_allowed_values(tmp_path, vars, message):
    run = run_dbt(["build", "--selector", "cleaning"], tmp_path, vars=vars)
    assert run.returncode != 0
    assert message in run.output, run.output[-2000:]
    assert_refused_before_any_model(run, message)
