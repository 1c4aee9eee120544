"""Smoke test of scripts/bench.py at a small N: the script works end to end and its numbers are
real: row counts against the generated data's known size, every row accounted for, timings as
parts of the time the script took (never checked for speed)."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from conftest import PROJECT_DIR

BENCH = PROJECT_DIR / "scripts" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module          # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_parse_sizes(bench):
    assert bench.parse_sizes("10000, 1m,100k,10000") == [10_000, 100_000, 1_000_000]
    with pytest.raises(Exception, match="too small"):
        bench.parse_sizes("10")
    with pytest.raises(Exception, match="not a size"):
        bench.parse_sizes("lots")


#: What the generator writes for 3,000 customers as Parquet (custseg.sample.DIRT_RATES, at least one of
#: each kind): the 3,000 customers; 18 exact duplicates of them (collapsed into them); 9 conflicting
#: rows (an id of theirs, other values: the losing record is rejected), 10 copies under new ids with
#: one invalid value each and 2 rows without an id (rejected). Text in numeric columns is CSV only.
GENERATED = {"input_rows": 3039, "clean_customers": 3000, "collapsed_rows": 18, "rejected_rows": 21}
THREADS = 2


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    out, data = root / "results", root / "data"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "3000", "--out", str(out), "--data-dir", str(data),
         "--baseline-step-timeout", "120", "--day-two-max-n", "0", "--threads", str(THREADS)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600,
    )
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "latest.csv") as fh:
        rows = {row["system"]: row for row in csv.DictReader(fh)}
    with open(out / "latest_models.csv") as fh:
        models = list(csv.DictReader(fh))
    return rows, models, (out / "latest.md").read_text(), data, elapsed


def test_product_row_counts_every_generated_row(small_run):
    rows, _, _, data, _ = small_run
    product = rows["product"]
    assert product["status"] == "ok"
    assert {name: int(product[name]) for name in GENERATED} == GENERATED
    # rows in = clean + collapsed + rejected, rows in counted from the file, not by the build
    parquet = next(data.glob("customers_3000_*.parquet"))
    assert pq.ParquetFile(parquet).metadata.num_rows == GENERATED["input_rows"]
    assert int(product["input_rows"]) == (int(product["clean_customers"]) + int(product["collapsed_rows"])
                                          + int(product["rejected_rows"]))


def test_product_row_is_measured(small_run, bench):
    rows, models, _, data, elapsed = small_run
    product, notebook = rows["product"], rows["notebook"]
    build, report = float(product["build_seconds"]), float(product["report_seconds"])
    assert build > 0 and report > 0
    # the script's measures are parts of the time it took: the build, the report, the full-data
    # K-Means and the notebook steps ran one after another inside it
    steps = sum(float(notebook[f"step_{s}"]) for s in bench.BASELINE_STEPS)
    assert build + report + float(product["full_fit_seconds"]) + steps < elapsed
    # dbt runs at most THREADS nodes at once, so their summed times fit in THREADS x the build
    stages = {name: float(product[f"stage_{name}"]) for name in bench.STAGE_NAMES}
    assert 0 < sum(stages.values()) <= THREADS * build
    # every model and test is in one stage: the stages add up to the per-model times
    assert sum(stages.values()) == pytest.approx(sum(float(m["seconds"]) for m in models),
                                                 abs=0.005 * len(stages))
    assert stages["score every customer (Python)"] > 0 and stages["dbt tests"] > 0
    assert 0.05 < float(product["peak_gib"]) < 8
    assert 0 < float(product["report_mb"]) < 10
    assert 0.9 <= float(product["kmeans_ari_vs_full_fit"]) <= 1.0
    names = {m["name"] for m in models}
    assert {"custseg_stg_customers", "int_customer_scores", "segment_model_fits", "segment_profiles"} <= names
    assert not list(data.glob("*.duckdb")), "the benchmark database is removed unless --keep-db"


def test_notebook_row_has_every_step(small_run, bench):
    rows, _, md, _, _ = small_run
    notebook = rows["notebook"]
    assert notebook["status"] == "ok"
    assert all(float(notebook[f"step_{s}"]) >= 0 for s in bench.BASELINE_STEPS)
    assert "Largest N the notebook approach completed: 3,000" in md
    assert "| 3,000 |" in md


def test_notebook_failure_is_recorded_with_its_step(bench, tmp_path):
    """Under a 1.5 GiB cap, Ward's n^2 distance matrix for 20,000 customers (1.6 GB) cannot
    be allocated: the step is marked failed and the steps after it still run."""
    parquet = bench.generate(20_000, tmp_path)
    row = bench.run_baseline(20_000, parquet, tmp_path, k=4, som_grid="5x5", memory_cap_gib=1.5, step_timeout=120)
    assert row["step_agglomerative"].startswith("failed: MemoryError")
    assert row["status"].startswith("failed at agglomerative")
    for step in ("read", "median_fill", "scale", "kmeans", "minisom"):
        assert float(row[f"step_{step}"]) >= 0, row
    # sklearn's silhouette works in 1 GiB chunks, so under this cap it may fail too: either way it ran
    assert row["step_silhouette"].replace(".", "").isdigit() or row["step_silhouette"].startswith("failed: MemoryError")
