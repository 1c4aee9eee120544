"""The spark target, run for real on a local SparkSession (`make test-spark`; needs Java 17+).

One module-scoped run of scripts/spark_build.py on a small dirty file (DuckDB refit, then
every SQL model and test on Spark, scoring with the saved model), then:
  - the two engines agree on every row count and put every customer in the same segment,
    for every algorithm (the input is fixed and both engines are deterministic; README
    "Beyond one machine" says what the command itself tolerates);
  - the Python models, handed Spark DataFrames by a stand-in for dbt's `dbt` object, fit the
    same models from the same sample and score every customer through Spark's batch map.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from custseg.algorithms import ALGORITHMS
from custseg.sample import write_sample

ROOT = Path(__file__).resolve().parents[2]
#: What the Python models read, exported from the DuckDB build and read back by Spark.
REFS = ("int_model_fit_sample", "int_cleaning_parameters", "segment_preprocessing", "customer_features",
        "int_segment_models", "input_summary")


@pytest.fixture(scope="module")
def spark_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("spark")
    customers = work / "customers.csv"
    write_sample(3000, customers, seed=11)
    env = dict(os.environ, DBT_DUCKDB_PATH=str(work / "w.duckdb"), DBT_SPARK_DIR=str(work / "spark"),
               DBT_TARGET_PATH=str(work / "duckdb_target"), DBT_LOG_PATH=str(work / "logs"))
    env.pop("SEGMENTS_SERVING_PATH", None)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "spark_build.py"), "--vars",
                           json.dumps({"customers_path": str(customers)})],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    return work, proc


def test_spark_build_passes_and_agrees_with_duckdb(spark_run):
    work, proc = spark_run
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "ERROR=0" in proc.stdout and "SKIP=0" in proc.stdout, proc.stdout[-2000:]
    result = json.loads((work / "spark" / "comparison.json").read_text())
    assert result["duckdb_counts"] == result["spark_counts"]
    assert result["duckdb_counts"]["input_rows"] > result["duckdb_counts"]["clean_customers"] > 2900
    assert result["duckdb_counts"]["rejected_rows"] > 0            # the dirty rows, counted by both
    for algorithm in ALGORITHMS:
        r = result["algorithms"][algorithm]
        assert r["in_one_run_only"] == 0, algorithm
        assert r["same_segment"] == r["customers"] == result["duckdb_counts"]["clean_customers"], (algorithm, r)
    # BI reads the Spark warehouse: the marts are Parquet tables there
    warehouse = work / "spark" / "warehouse" / "custseg.db"
    for mart in ("customer_segments", "segment_assignments", "segment_profiles", "segment_metrics"):
        assert list((warehouse / mart).glob("*.parquet")), mart


class _FakeDbt:
    """What a dbt Python model sees of `dbt`, with Spark DataFrames behind ref()."""

    def __init__(self, context: str, tables: dict):
        self.custseg_context = context
        self._tables = tables
        self.is_incremental = False
        self.this = SimpleNamespace(schema="default")   # holds no tables of earlier versions

    def ref(self, *names: str):
        return self._tables[names[-1]]   # ref("x") or ref("package", "x")

    def config(self, **_):
        return None


def _python_model(name: str):
    spec = importlib.util.spec_from_file_location(f"pm_{name}", ROOT / "python_models" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.model


@pytest.fixture(scope="module")
def spark_models(spark_run):
    """A local SparkSession holding the DuckDB run's inputs of the Python models, and that
    run's context (what dbt compiled into its Python models)."""
    import duckdb
    from pyspark.sql import SparkSession

    work, proc = spark_run
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    compiled = (work / "duckdb_target" / "compiled" / "customer_segmentation" / "python_models" /
                "segment_model_fits.py").read_text()
    context = json.loads(re.search(r"^dbtObj\.custseg_context = (.*)$", compiled, re.M).group(1))
    exported = work / "exported"
    exported.mkdir()
    with duckdb.connect(str(work / "w.duckdb"), read_only=True) as con:
        for name in REFS:
            con.sql(f"copy (select * from {name}) to '{exported / name}.parquet' (format parquet)")
        duck = {name: con.sql(f"select * from {name}").df() for name in (
            "int_customer_scores", "segment_model_fits", "segment_preprocessing")}
    os.environ["PYSPARK_PYTHON"] = sys.executable      # the workers import custseg from this environment
    spark = (SparkSession.builder.master("local[2]").appName("custseg-test")
             .config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
             .config("spark.sql.warehouse.dir", str(work / "test_warehouse")).getOrCreate())
    tables = {name: spark.read.parquet(str(exported / f"{name}.parquet")) for name in REFS}
    yield _FakeDbt(context, tables), spark, duck
    spark.stop()
    shutil.rmtree(work / "test_warehouse", ignore_errors=True)


def test_python_models_fit_the_same_models_from_a_spark_sample(spark_models):
    dbt, spark, duck = spark_models
    pre = _python_model("segment_preprocessing")(dbt, spark)
    saved = duck["segment_preprocessing"]
    assert list(pre["source_column"]) == list(saved["source_column"])
    np.testing.assert_allclose(pre["scale"].to_numpy(float), saved["scale"].to_numpy(float), rtol=1e-9)
    fits = _python_model("segment_model_fits")(dbt, spark)
    assert list(fits["algorithm"]) == list(ALGORITHMS)
    for algorithm in ALGORITHMS:
        fitted = fits[fits["algorithm"] == algorithm]
        want = duck["segment_model_fits"][duck["segment_model_fits"]["algorithm"] == algorithm]
        assert int(fitted["n_segments"].item()) == int(want["n_segments"].item()), algorithm
        assert fitted["segment_ids_json"].item() == want["segment_ids_json"].item(), algorithm
        got_model, want_model = json.loads(fitted["model_json"].item()), json.loads(want["model_json"].item())
        assert sorted(got_model) == sorted(want_model), algorithm
        for key in ("prototypes", "means", "log_weights", "precisions_cholesky"):
            if key in want_model:
                np.testing.assert_allclose(np.asarray(got_model[key], float), np.asarray(want_model[key], float),
                                           rtol=1e-6, atol=1e-9, err_msg=f"{algorithm} {key}")


def test_scoring_on_spark_runs_in_the_engine_batch_map_and_matches_duckdb(spark_models):
    from pyspark.sql import DataFrame

    dbt, spark, duck = spark_models
    scores = _python_model("int_customer_scores")(dbt, spark)
    assert isinstance(scores, DataFrame)               # lazy: computed by Spark's executors
    assert "MapInArrow" in scores._jdf.queryExecution().executedPlan().toString()
    got = scores.toPandas().set_index("customer_id").sort_index()
    want = duck["int_customer_scores"].set_index("customer_id").sort_index()
    assert list(got.index) == list(want.index)
    for algorithm in ALGORITHMS:
        column = f"{algorithm}_segment_id"
        assert (got[column].to_numpy() == want[column].to_numpy()).all(), algorithm
    np.testing.assert_allclose(got["pca_1"].to_numpy(float), want["pca_1"].to_numpy(float), rtol=1e-9, atol=1e-9)
