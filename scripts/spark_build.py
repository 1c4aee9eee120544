"""`make spark-build`: the whole pipeline with every SQL model on Spark, one command.

dbt-spark runs Python models only on Databricks, so on the local `spark` target the fit
runs on DuckDB (the documented route; README "Beyond one machine"):

  1. DuckDB: `dbt build` into the working database: a refit when it has no saved model,
     else a `score` run with the saved one (the baseline the Spark run is compared with);
  2. the saved model of that run (cleaning values, preprocessing, the model fits and their
     parameters, segment names) is exported as Parquet into .spark/saved/, with the SQL
     that scores every customer (custseg.scoring_sql, Spark dialect); the run context
     (custseg.run_context: settings, input contract, algorithms) goes to dbt in
     CUSTSEG_RUN_CONTEXT_JSON;
  3. Spark: `dbt build --target spark` with segment_mode score and that model version:
     staging, cleaning, features, scoring (SQL over the saved parameters), profiles, marts
     and tests, on a local SparkSession, tables as Parquet in .spark/warehouse/;
  4. the two runs are compared row by row (segments per algorithm, row counts) and the
     result is written to .spark/comparison.json.

    python scripts/spark_build.py [--vars '{customers_path: data/customers.csv}']
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (scripts/bench.py: tree_rss, the memory measure of make bench)
from custseg.sql import sql_literal  # noqa: E402

ROOT = bench.ROOT
BIN = Path(sys.executable).parent
SPARK_DIR = Path(os.environ.get("DBT_SPARK_DIR", ROOT / ".spark"))
SAVED = "saved"
#: Share of customers in the same segment on both engines under which the command fails.
#: Measured runs agree on every customer (README "Beyond one machine"); a customer whose
#: two nearest prototypes (or the density radius) tie to the last bits may legitimately
#: fall either way, the two engines rounding differently.
AGREEMENT_TARGET = 0.999


class SparkBuildError(RuntimeError):
    """A problem the user can act on; the message is one line."""


def log(message: str) -> None:
    print(f"[spark-build {time.strftime('%H:%M:%S')}] {message}", flush=True)


def java_or_fail() -> str:
    java = Path(os.environ["JAVA_HOME"]) / "bin" / "java" if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java or not Path(java).exists():
        raise SparkBuildError("the spark target needs Java 17 or later: install it (Debian/Ubuntu: apt-get install "
                              "openjdk-17-jre-headless) or set JAVA_HOME")
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True)
    first = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else ""
    digits = first.split('"')[1].split(".")[0] if '"' in first else "0"
    if not digits.isdigit() or int(digits) < 17:
        raise SparkBuildError(f"the spark target needs Java 17 or later, found: {first or java}")
    return str(java)


def ensure_spark_packages() -> None:
    """Install the optional Spark packages (requirements-spark.txt) on top of the pinned
    environment, constrained by requirements.txt so no pin changes."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
        return
    except ImportError:
        pass
    log("installing the Spark extras (requirements-spark.txt; pyspark is a large download the first time)")
    subprocess.run([str(BIN / "pip"), "install", "-q", "-c", str(ROOT / "requirements.txt"), "-r",
                    str(ROOT / "requirements-spark.txt")], check=True)


def base_env() -> dict:
    env = dict(os.environ)
    env.update({
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(ROOT),
        "PYTHONWARNINGS": "ignore:PySpark does not yet fully support pandas:FutureWarning",
    })
    return env


def spark_env() -> dict:
    env = base_env()
    env.update({
        "DBT_SPARK_DIR": str(SPARK_DIR),
        "SPARK_LAUNCHER_OPTS": "-XX:-UsePerfData",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "DBT_TARGET_PATH": str(SPARK_DIR / "target"),    # the DuckDB build's target/ stays as it was
        "DBT_LOG_PATH": str(SPARK_DIR / "logs"),
    })
    return env


def dbt(args: list[str], env: dict, log_file: Path) -> tuple[int, str, float]:
    """Run dbt; its exit code, its output and the peak memory (GiB, summed RSS of its whole
    process tree, the Spark JVM included, sampled every 0.1 s as `make bench` does)."""
    import psutil

    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "w") as out:
        proc = subprocess.Popen([str(BIN / "dbt"), *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        root, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            peak = max(peak, bench.tree_rss(root))
            time.sleep(0.1)
    return proc.returncode, log_file.read_text(), peak / bench.GIB


def duckdb_paths() -> tuple[Path, Path]:
    working = Path(os.environ.get("DBT_DUCKDB_PATH", ROOT / "customer_segmentation.duckdb"))
    working = working if working.is_absolute() else ROOT / working
    serving = os.environ.get("SEGMENTS_SERVING_PATH")
    return working, Path(serving) if serving else working.with_name(working.stem + ".serving.duckdb")


def saved_version(working: Path) -> int | None:
    import duckdb

    if not working.exists():
        return None
    with duckdb.connect(str(working), read_only=True) as con:
        tables = {r[0] for r in con.sql("select table_name from information_schema.tables").fetchall()}
        if "custseg_runs" not in tables:
            return None
        row = con.sql("select max(model_version) from custseg_runs where status = 'published'").fetchall()
    return row[0][0] if row and row[0][0] is not None else None


def export_saved_model(working: Path, out: Path) -> int:
    """The saved model of the working database's last run, as Parquet files: one per table
    that models/spark/ reads with saved_artifact(), and custseg_scoring (one row: the SQL
    that scores every customer, in the Spark dialect)."""
    import duckdb
    import pandas as pd

    from custseg.algorithms import ALGORITHMS
    from custseg.scoring_sql import saved_scores_sql
    from custseg.settings import Settings
    from custseg.sql import sql_literal

    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(working), read_only=True) as con:
        models = con.sql("select algorithm, model_version, preprocessing_version, model_json "
                         "from int_segment_models").df()
        models = models[models["algorithm"].isin(ALGORITHMS)]
        versions = {r.algorithm: (int(r.model_version), int(r.preprocessing_version))
                    for r in models.itertuples(index=False)}
        pre = sorted({p for _, p in versions.values()})
        pre_list = ", ".join(str(p) for p in pre)

        def write(name: str, sql: str) -> None:
            con.sql(f"copy ({sql}) to {sql_literal(str(out / (name + '.parquet')))} (format parquet)")

        conditions = " or ".join(f"(algorithm = {sql_literal(a, 'duckdb')} and model_version = {v})"
                                 for a, (v, _) in versions.items())
        write("segment_model_fits", f"select * from segment_model_fits where {conditions}")
        write("segment_preprocessing", f"select * exclude (pca_loadings, explained_variance_ratios) "
                                       f"from segment_preprocessing where model_version in ({pre_list})")
        write("segment_model_parameters", f"select * from segment_model_parameters where {conditions}")
        preprocessing = con.sql(f"select * from segment_preprocessing where model_version in ({pre_list})").df()
        primary = Settings.from_json(con.sql("select settings_json from segmentation_config").fetchall()[0][0]
                                     ).primary_algorithm
        scoring = pd.DataFrame([{
            "scores_sql": saved_scores_sql(models, preprocessing, primary, "spark", features="custseg_features",
                                           parameters="custseg_parameters"),
        }])
        con.register("custseg_scoring_frame", scoring)
        write("custseg_scoring", "select * from custseg_scoring_frame")
        run_version = max(v for v, _ in versions.values())
        write("int_cleaning_parameters", f"""
            select * from int_cleaning_parameters where model_version =
                (select max(model_version) from int_cleaning_parameters where model_version <= {run_version})""")
        write("segment_names", "select * from segment_names")
    return run_version


def compare(working: Path, warehouse: Path) -> dict:
    """Row-by-row agreement of the Spark run with the DuckDB run."""
    import duckdb

    spark_scores = f"read_parquet({sql_literal(str(warehouse / 'int_customer_scores' / '*.parquet'))})"
    spark_summary = f"read_parquet({sql_literal(str(warehouse / 'input_summary' / '*.parquet'))})"
    result: dict = {"algorithms": {}}
    with duckdb.connect(str(working), read_only=True) as con:
        counts = "input_rows, clean_customers, rejected_rows"
        names = counts.split(", ")
        result["duckdb_counts"] = dict(zip(names, con.sql(f"select {counts} from input_summary").fetchall()[0]))
        result["spark_counts"] = dict(zip(names, con.sql(f"select {counts} from {spark_summary}").fetchall()[0]))
        spark_tx = warehouse / "transaction_summary"
        if con.sql("select count(*) from transaction_summary").fetchall()[0][0]:   # a transaction log
            lines = "input_lines, collapsed_duplicates, rejected_lines, guest_lines, used_lines, customers"
            spark_lines = f"read_parquet({sql_literal(str(spark_tx / '*.parquet'))})"
            for engine, source in (("duckdb", "transaction_summary"), ("spark", spark_lines)):
                row = con.sql(f"select {lines} from {source}").fetchall()[0]
                result[f"{engine}_counts"].update({f"transaction_{k}": v for k, v in zip(lines.split(", "), row)})
        from custseg.algorithms import ALGORITHMS
        from custseg.sql import quote_identifier

        for a in ALGORITHMS:
            column = quote_identifier(f"{a}_segment_id", "duckdb")
            same, total, only_one = con.sql(f"""
                select count(*) filter (where d.{column} = s.{column}),
                       count(*),
                       count(*) filter (where d.customer_id is null or s.customer_id is null)
                from int_customer_scores as d
                full outer join {spark_scores} as s on d.customer_id = s.customer_id""").fetchall()[0]
            result["algorithms"][a] = {"same_segment": same, "customers": total, "in_one_run_only": only_one,
                                       "agreement": same / total if total else 0.0}
    result["counts_agree"] = result["duckdb_counts"] == result["spark_counts"]
    result["agreement_ok"] = all(r["agreement"] >= AGREEMENT_TARGET for r in result["algorithms"].values())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vars", default="{}", help="dbt vars (YAML or JSON), as for dbt build")
    parser.add_argument("--skip-duckdb", action="store_true",
                        help="no DuckDB build: score on Spark with the model the working database last published")
    args = parser.parse_args(argv)
    import yaml

    user_vars = yaml.safe_load(args.vars) or {}
    for key in ("segment_mode", "model_version"):
        if key in user_vars:
            raise SparkBuildError(f"spark-build decides {key} itself (it scores with the DuckDB run's saved model); "
                                  "remove it from --vars")
    java_or_fail()
    ensure_spark_packages()
    logs = SPARK_DIR / "logs"
    working, _ = duckdb_paths()

    duckdb_seconds = duckdb_peak = None
    if args.skip_duckdb:
        if not saved_version(working):
            raise SparkBuildError(f"--skip-duckdb needs a published DuckDB build in {working}: run without it first")
    else:
        mode = "score" if saved_version(working) else "refit"
        log(f"DuckDB: dbt build ({mode}) into {working}")
        started = time.perf_counter()
        code, out, duckdb_peak = dbt(["build", "--vars", json.dumps({**user_vars, "segment_mode": mode})],
                                     base_env(), logs / "duckdb_build.log")
        duckdb_seconds = time.perf_counter() - started
        if code != 0:
            raise SparkBuildError(f"the DuckDB build failed; see {logs / 'duckdb_build.log'}")
    version = export_saved_model(working, SPARK_DIR / SAVED)
    log(f"saved model version {version} exported to {SPARK_DIR / SAVED}")

    from custseg import spark_support

    env = spark_env()
    spark_vars = {**user_vars, "segment_mode": "score", "model_version": version}
    env["CUSTSEG_RUN_CONTEXT_JSON"] = json.dumps(spark_support.run_context_for_spark(spark_vars, ROOT), default=str)
    env["CUSTSEG_SAVED_DIR"] = str(SPARK_DIR / SAVED)
    log("Spark: dbt build --target spark (score with the saved model)")
    started = time.perf_counter()
    code, out, spark_peak = dbt(["build", "--target", "spark", "--vars",
                                 json.dumps(spark_vars)],
                                env, logs / "spark_build.log")
    spark_seconds = time.perf_counter() - started
    summary = [line for line in out.splitlines() if "Done. PASS=" in line or "Finished running" in line]
    for line in summary:
        print(line.split("  ", 1)[-1])
    if code != 0:
        raise SparkBuildError(f"the Spark build failed; see {logs / 'spark_build.log'}")

    result = compare(working, SPARK_DIR / "warehouse" / "custseg.db")
    result.update(duckdb_seconds=duckdb_seconds and round(duckdb_seconds, 1),
                  duckdb_peak_gib=duckdb_peak and round(duckdb_peak, 2), spark_seconds=round(spark_seconds, 1),
                  spark_peak_gib=round(spark_peak, 2), model_version=version)
    (SPARK_DIR / "comparison.json").write_text(json.dumps(result, indent=2, default=str))
    for a, r in result["algorithms"].items():
        log(f"{a}: {r['same_segment']:,} of {r['customers']:,} customers in the same segment "
            f"({100 * r['agreement']:.3f}%)")
    log(f"row counts: DuckDB {result['duckdb_counts']}, Spark {result['spark_counts']}")
    duck = f"DuckDB build {duckdb_seconds:.1f} s ({duckdb_peak:.2f} GiB), " if duckdb_seconds else ""
    log(f"{duck}Spark build {spark_seconds:.1f} s ({spark_peak:.2f} GiB); details in {SPARK_DIR / 'comparison.json'}")
    if not (result["counts_agree"] and result["agreement_ok"]):
        raise SparkBuildError("the Spark and DuckDB runs disagree beyond the target (99.9% of customers in the same "
                              f"segment, equal row counts); see {SPARK_DIR / 'comparison.json'}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    try:
        sys.exit(main())
    except SparkBuildError as err:
        print(f"spark-build: {err}", file=sys.stderr)
        sys.exit(1)
