"""Benchmark: the full segmentation build against the notebook approach, at growing N.

For each N it
  1. generates N synthetic customers in the CC GENERAL input schema as Parquet (cached
     under bench/data, with a progress bar), dirt included;
  2. runs the product as a user would: `dbt build --vars {customers_path: ...}` into a
     fresh DuckDB file, then the report (`python -m custseg.report`), each as a child
     process; it records wall time, per-model times from dbt's run_results.json and the
     peak memory of the whole process tree (sum of RSS, sampled every 50 ms);
  3. for N <= --ari-max-n, fits K-Means on every customer (same features, same k) and
     measures the adjusted Rand index against the product's sample-fitted K-Means;
  4. runs the notebook approach on the same file (pandas read, median fill,
     StandardScaler, K-Means, agglomerative Ward, MiniSom, full silhouette, all on every
     row) in a child process under a memory cap and a per-step time cap, recording each
     step's time and where it fails.

Results: bench/results/latest.csv (one row per N and system), latest_models.csv (per
model times), latest.md (the tables the README quotes), plus timestamped copies.

    python scripts/bench.py --sizes 10000,100000,1000000,10000000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from custseg.sql import quote_identifier, sql_literal

ROOT = Path(__file__).resolve().parents[1]
BASELINE_STEPS = ["read", "median_fill", "scale", "kmeans", "agglomerative", "minisom", "silhouette"]
POLL_SECONDS = 0.05
GIB = 1024 ** 3
CHUNK_ROWS = 250_000   # customers generated, written and read back per batch

# Stages of the build, from the model names in run_results.json.
STAGES = {
    "load and clean (SQL)": ["custseg_stg_customers", "int_customers__deduplicated", "int_cleaning_parameters",
                             "int_customers__imputed", "int_customers__outliers", "rejected_customers",
                             "custseg_sample_customers", "input_summary"],
    "features (SQL)": ["customer_features"],
    "fit sample + preprocessing": ["segmentation_config", "input_columns", "int_model_fit_sample",
                                   "segment_preprocessing"],
    "fit models (Python)": ["segment_model_fits", "int_segment_models"],
    "score every customer (Python)": ["int_customer_scores"],
    "profiles and marts (SQL)": ["int_segment_feature_stats", "segment_names", "customer_segments",
                                 "segment_assignments", "segment_profiles", "segment_feature_profiles",
                                 "segment_category_profiles", "segment_metrics", "segment_k_selection",
                                 "som_nodes", "segment_models"],
    "report models": ["report_data_quality", "report_feature_distributions", "report_correlations",
                      "report_points", "report_silhouette"],
}
#: Every stage a row of latest.csv has: the models of no stage above are "other", so the stage times
#: add up to every model's and test's time.
STAGE_NAMES = [*STAGES, "other", "dbt tests"]


# --------------------------------------------------------------------------- helpers
def log(message: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.replace("_", "").split(","):
        part = part.strip().lower()
        if not part:
            continue
        scale = 1
        if part[-1] in "km":
            scale = 1_000 if part[-1] == "k" else 1_000_000
            part = part[:-1]
        try:
            value = int(float(part) * scale)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a size: {part!r} (use e.g. 10000,1m)") from None
        if value < 1000:
            raise argparse.ArgumentTypeError(f"size {value} is too small: the build needs at least 1000 customers")
        sizes.append(value)
    return sorted(set(sizes))


def human(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % (size // 10) == 0:
            value = n / size
            return f"{value:g}{unit}"
    return str(n)


@dataclass
class Monitored:
    returncode: int | None
    seconds: float
    peak_rss: int
    killed: str | None = None          # "memory cap" / "time cap" when we stopped it


def tree_rss(root) -> int:
    """Resident memory of a psutil process and all its descendants, in bytes (0 once gone)."""
    import psutil

    rss = 0
    try:
        for p in [root, *root.children(recursive=True)]:
            try:
                rss += p.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return rss


def run_monitored(cmd: list[str], env: dict, log_path: Path, memory_cap: int | None = None,
                  timeout: float | None = None, step_file: Path | None = None,
                  step_timeout: float | None = None) -> Monitored:
    """Run `cmd`, polling the RSS of its whole process tree; stop it past a cap.

    With `step_file` (JSON lines the child appends), the time cap applies per step: the
    clock restarts whenever the child reports a new step."""
    import psutil

    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log_path, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        root = psutil.Process(proc.pid)
        peak = 0
        killed = None
        step_seen, step_start = 0, start
        while proc.poll() is None:
            rss = tree_rss(root)
            peak = max(peak, rss)
            now = time.perf_counter()
            if step_file is not None and step_file.exists():
                lines = step_file.read_text().count("\n")
                if lines != step_seen:
                    step_seen, step_start = lines, now
            if memory_cap is not None and rss > memory_cap:
                killed = "memory cap"
            elif timeout is not None and now - start > timeout:
                killed = "time cap"
            elif step_timeout is not None and now - step_start > step_timeout:
                killed = "time cap"
            if killed:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(POLL_SECONDS)
    return Monitored(proc.returncode, time.perf_counter() - start, peak, killed)


def child_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update({
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.update(extra or {})
    return env


def bin_path(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


# --------------------------------------------------------------------------- data
def generate(n: int, data_dir: Path, seed: int = 7) -> Path:
    """N clean customers (plus the generator's dirt rows) as Parquet, cached by N and seed."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm import tqdm

    from custseg.sample import iter_typed_chunks

    path = data_dir / f"customers_{n}_seed{seed}.parquet"
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    writer = None
    with tqdm(total=n, unit=" customers", unit_scale=True, desc=f"generate {human(n)}", file=sys.stdout) as bar:
        for chunk in iter_typed_chunks(n, seed=seed, chunk_rows=CHUNK_ROWS):
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(partial, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=CHUNK_ROWS)
            bar.update(min(CHUNK_ROWS, n - bar.n))
    writer.close()
    partial.rename(path)
    return path


def parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq
    return pq.ParquetFile(path).metadata.num_rows


# --------------------------------------------------------------------------- the product
def model_times(target: Path) -> list[dict]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    rows = []
    for r in results:
        uid = r["unique_id"]
        kind = uid.split(".")[0]
        # model.<project>.<name>, seed..., test.<project>.<name>[.<hash>], unit_test.<project>.<model>.<name>
        name = uid.split(".")[-1] if kind == "unit_test" else uid.split(".")[2]
        rows.append({"kind": kind, "name": name, "status": r["status"], "seconds": round(r["execution_time"], 3)})
    return rows


def stage_seconds(rows: list[dict]) -> dict[str, float]:
    """Summed execution time per stage (models run two at a time, so stages can overlap)."""
    stages = {stage: 0.0 for stage in STAGE_NAMES}
    for r in rows:
        if r["kind"] in {"test", "unit_test"}:
            stages["dbt tests"] += r["seconds"]
            continue
        for stage, names in STAGES.items():
            if r["name"] in names:
                stages[stage] += r["seconds"]
                break
        else:
            stages["other"] += r["seconds"]
    return {k: round(v, 2) for k, v in stages.items()}


def database_files(database: Path) -> list[Path]:
    """The working database, its serving database and their side files."""
    from custseg.serving import default_serving_path

    serving = Path(str(default_serving_path(database)))
    return [database, Path(str(database) + ".wal"), Path(str(database) + ".build-lock"), serving,
            Path(str(serving) + ".wal")]


def run_product(n: int, parquet: Path, work: Path, threads: int) -> dict:
    database = work / f"bench_{n}.duckdb"
    for p in database_files(database):
        p.unlink(missing_ok=True)
    target, logs, report_dir = work / f"target_{n}", work / f"logs_{n}", work / f"report_{n}"
    shutil.rmtree(report_dir, ignore_errors=True)
    env = child_env({"DBT_DUCKDB_PATH": str(database), "DBT_THREADS": str(threads)})
    vars_json = json.dumps({"customers_path": str(parquet)})
    build_cmd = [bin_path("dbt"), "build", "--vars", vars_json, "--target-path", str(target),
                 "--log-path", str(logs)]
    log(f"N={human(n)}: dbt build")
    build = run_monitored(build_cmd, env, work / f"dbt_build_{n}.log")
    row = {"n": n, "system": "product", "build_seconds": round(build.seconds, 1),
           "build_peak_gib": round(build.peak_rss / GIB, 2), "database": str(database)}
    if build.returncode != 0:
        row.update(status=f"dbt build failed (exit {build.returncode}); see {work / f'dbt_build_{n}.log'}")
        return row
    models = model_times(target)
    row["models"] = models
    row["stages"] = stage_seconds(models)
    log(f"N={human(n)}: report")
    report = run_monitored([sys.executable, "-m", "custseg.report", "--database", str(database_files(database)[3]),
                            "--out-dir", str(report_dir)], env, work / f"report_{n}.log")
    row.update(report_seconds=round(report.seconds, 1), report_peak_gib=round(report.peak_rss / GIB, 2))
    if report.returncode != 0:
        row.update(status=f"report failed (exit {report.returncode}); see {work / f'report_{n}.log'}")
        return row
    html = report_dir / "segmentation_report.html"
    row["report_mb"] = round(html.stat().st_size / 1e6, 2)
    row["wall_seconds"] = round(build.seconds + report.seconds, 1)
    row["peak_gib"] = max(row["build_peak_gib"], row["report_peak_gib"])
    row.update(read_product_facts(database))
    row["status"] = "ok"
    return row


def day_two_input(parquet: Path, work: Path, share: float = 0.01, night: int = 2) -> Path:
    """The next night's file: the same customers with `share / 2` of them changed (balance up
    by half) and `share / 2` new ones (copies of sampled customers under new ids)."""
    import duckdb

    out = work / f"{parquet.stem.split('_day')[0]}_day{night}.parquet"
    if out.exists():
        return out
    con = duckdb.connect()
    k = max(1, int(parquet_rows(parquet) * share / 2))
    prefix = "NMOPQ"[(night - 2) % 5]
    con.sql(f"""copy (
        select * replace (case when row_number() over () <= {k} then balance * 1.5 else balance end as balance)
        from read_parquet({sql_literal(str(parquet))})
        union all
        select * replace ({sql_literal(prefix)} || cust_id as cust_id) from read_parquet({sql_literal(str(parquet))})
        using sample {k} rows (reservoir, {night + 1})
    ) to {sql_literal(str(out))} (format parquet)""")
    con.close()
    return out


def run_day_two(n: int, parquet: Path, database: Path, work: Path, threads: int) -> dict:
    """After the day-one refit in `database`, each timed as `dbt build` alone:
    * two nights of `segment_mode: score_changes` (make score-changes), each with 1% new or
      changed customers, from one landing path as a nightly job reads it: the first night
      parses the project afresh, the next one reuses that parse (same vars, same target path);
    * a full `score` build, then a `refit` build, of the next night's file."""
    day2 = day_two_input(parquet, work)
    day3 = day_two_input(day2, work, night=3)
    landing = work / f"landing_{n}.parquet"
    target = work / f"target_{n}_score_changes"
    shutil.rmtree(target, ignore_errors=True)   # the first night parses afresh
    env = child_env({"DBT_DUCKDB_PATH": str(database), "DBT_THREADS": str(threads)})
    out = {}
    for night, path in (("first", day2), ("next", day3)):
        log(f"N={human(n)}: score_changes, {night} night")
        shutil.copyfile(path, landing)
        cmd = [bin_path("dbt"), "build", "--selector", "score_changes",
               "--vars", json.dumps({"customers_path": str(landing), "segment_mode": "score_changes"}),
               "--target-path", str(target), "--log-path", str(work / f"logs_{n}")]
        result = run_monitored(cmd, env, work / f"dbt_score_changes_{night}_{n}.log")
        if result.returncode != 0:
            return {"day_two_status": f"score_changes build failed; see {work / f'dbt_score_changes_{night}_{n}.log'}"}
        out[f"day_two_changes_{night}_seconds"] = round(result.seconds, 1)
    for mode in ("score", "refit"):
        log(f"N={human(n)}: day two, {mode}")
        cmd = [bin_path("dbt"), "build", "--vars", json.dumps({"customers_path": str(day2), "segment_mode": mode}),
               "--target-path", str(work / f"target_{n}_{mode}"), "--log-path", str(work / f"logs_{n}")]
        result = run_monitored(cmd, env, work / f"dbt_{mode}_{n}.log")
        if result.returncode != 0:
            return {"day_two_status": f"{mode} build failed; see {work / f'dbt_{mode}_{n}.log'}"}
        out[f"day_two_{mode}_seconds"] = round(result.seconds, 1)
    out["day_two_status"] = "ok"
    return out


def run_spark(n: int, parquet: Path, database: Path, work: Path) -> dict:
    """The spark target on the same file, scoring with the model the DuckDB build just saved
    (scripts/spark_build.py --skip-duckdb): the Spark `dbt build`'s wall time and peak memory
    (JVM included), and its agreement with the DuckDB run."""
    spark_dir = work / f"spark_{n}"
    shutil.rmtree(spark_dir, ignore_errors=True)
    env = child_env({"DBT_DUCKDB_PATH": str(database), "DBT_SPARK_DIR": str(spark_dir)})
    log(f"N={human(n)}: Spark build (scoring with the saved model)")
    cmd = [sys.executable, str(ROOT / "scripts" / "spark_build.py"), "--skip-duckdb", "--vars",
           json.dumps({"customers_path": str(parquet)})]
    run = run_monitored(cmd, env, work / f"spark_build_{n}.log")
    row = {"n": n, "system": "spark"}
    result_file = spark_dir / "comparison.json"
    if not result_file.exists():
        first = (work / f"spark_build_{n}.log").read_text().strip().splitlines()[-1:] or [""]
        row["status"] = f"failed (exit {run.returncode}): {first[0][:200]}"
        return row
    result = json.loads(result_file.read_text())
    row.update(build_seconds=result["spark_seconds"], wall_seconds=result["spark_seconds"],
               peak_gib=result["spark_peak_gib"], build_peak_gib=result["spark_peak_gib"],
               agreement=round(min(r["agreement"] for r in result["algorithms"].values()), 6),
               counts_agree=result["counts_agree"], clean_customers=result["spark_counts"]["clean_customers"],
               rejected_rows=result["spark_counts"]["rejected_rows"],
               status="ok" if run.returncode == 0 else f"disagrees (exit {run.returncode})")
    shutil.rmtree(spark_dir / "warehouse", ignore_errors=True)
    return row


def read_product_facts(database: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        clean = con.sql("select count(*) from customer_features").fetchall()[0][0]
        rejected = con.sql("select count(*) from rejected_customers").fetchall()[0][0]
        collapsed = con.sql("select collapsed_duplicates from input_summary").fetchall()[0][0]
        k, sil, fit_n = con.sql(
            "select n_segments, silhouette, fit_sample_size from segment_metrics where algorithm = 'kmeans'"
        ).fetchall()[0]
        som_rows, som_cols = con.sql("select max(grid_row) + 1, max(grid_col) + 1 from som_nodes").fetchall()[0]
    finally:
        con.close()
    return {"clean_customers": clean, "rejected_rows": rejected, "collapsed_rows": collapsed, "kmeans_k": int(k),
            "kmeans_silhouette": round(float(sil), 4), "fit_sample_size": int(fit_n),
            "som_grid": f"{int(som_rows)}x{int(som_cols)}"}


# --------------------------------------------------------------------------- quality check
def full_fit_ari(database: Path, seed: int) -> dict:
    """Fit K-Means on every clean customer (the product's features and k) and compare."""
    import duckdb
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from custseg.algorithms import SegmentModel
    from custseg.pipeline import model_spaces
    from custseg.preprocessing import Preprocessor

    con = duckdb.connect(str(database), read_only=True)
    try:
        pre = Preprocessor.from_frame(con.sql("select * from segment_preprocessing").df())
        model_json = con.sql("select model_json from int_segment_models where algorithm = 'kmeans'").fetchall()[0][0]
        model = SegmentModel.from_json(model_json)
        columns = ", ".join("f." + quote_identifier(c) for c in pre.source_columns)
        reader = con.sql(
            f"select s.kmeans_segment_id, {columns} from customer_features f "
            "join int_customer_scores s using (customer_id) order by customer_id"
        ).to_arrow_reader(CHUNK_ROWS)
        parts, ours = [], []
        for batch in reader:
            parts.append(model_spaces(pre, batch).get(model.space).astype(np.float64))
            ours.append(batch.column(0).to_numpy())
    finally:
        con.close()
    X = np.vstack(parts)
    ours = np.concatenate(ours)
    start = time.perf_counter()
    full = KMeans(n_clusters=model.n_segments, n_init=3, random_state=seed).fit(X)
    seconds = time.perf_counter() - start
    return {"kmeans_ari_vs_full_fit": round(float(adjusted_rand_score(ours, full.labels_)), 4),
            "full_fit_seconds": round(seconds, 1)}


# --------------------------------------------------------------------------- the notebook approach
def baseline_worker(args: argparse.Namespace) -> int:
    """The notebook approach, one step after another, reporting each step to a file."""
    import resource

    if args.memory_cap_gib:
        # Backstop for allocations the RSS poll cannot see coming (e.g. a 40 GB distance matrix).
        limit = int(args.memory_cap_gib * GIB)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import numpy as np
    import pandas as pd
    from minisom import MiniSom
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    status = open(args.status_file, "a")
    first = BASELINE_STEPS.index(args.start_at)

    def report(step: str, state: str, seconds: float | None = None, detail: str = "") -> None:
        status.write(json.dumps({"step": step, "status": state, "seconds": seconds, "detail": detail}) + "\n")
        status.flush()

    state: dict = {}
    rows, cols = (int(v) for v in args.som_grid.split("x"))

    def run_step(step: str):
        if step == "read":
            state["df"] = pd.read_parquet(args.input)
        elif step == "median_fill":
            numeric = state["df"].drop(columns=["CUST_ID"]).apply(pd.to_numeric, errors="coerce")
            state["X"] = numeric.fillna(numeric.median())
            del state["df"]
        elif step == "scale":
            state["Z"] = StandardScaler().fit_transform(state.pop("X"))
        elif step == "kmeans":
            state["labels"] = KMeans(n_clusters=args.k, random_state=42).fit_predict(state["Z"])
        elif step == "agglomerative":
            AgglomerativeClustering(n_clusters=args.k, linkage="ward").fit(state["Z"])
        elif step == "minisom":
            Z = state["Z"]
            som = MiniSom(rows, cols, Z.shape[1], sigma=1.0, learning_rate=0.5, random_seed=42)
            som.random_weights_init(Z)
            som.train_random(Z, len(Z))
            nodes = som.get_weights().reshape(-1, Z.shape[1])
            # best-matching node of every customer, vectorised (|z|^2 is the same for every node)
            state["som_winners"] = np.argmin(-2.0 * Z @ nodes.T + (nodes ** 2).sum(axis=1), axis=1)
        elif step == "silhouette":
            silhouette_score(state["Z"], state["labels"])

    for i, step in enumerate(BASELINE_STEPS):
        needed = (i >= first or step in {"read", "median_fill", "scale"}
                  or (step == "kmeans" and args.start_at == "silhouette"))
        if not needed:
            continue
        prep = i < first
        if not prep:
            report(step, "start")
        start = time.perf_counter()
        try:
            run_step(step)
        except MemoryError as err:
            message = str(err).split(" for an array")[0]     # "Unable to allocate 3.73 TiB"
            detail = f"MemoryError ({message[:60]})" if message else "MemoryError"
            if prep:
                report(step, "failed", detail=f"{detail} while redoing an earlier step")
                return 1
            report(step, "failed", time.perf_counter() - start, detail)
            if step in {"read", "median_fill", "scale"}:
                return 1
            if step == "kmeans":
                report("silhouette", "skipped", detail="needs the K-Means labels")
                return 0
            continue
        if not prep:
            report(step, "ok", round(time.perf_counter() - start, 2))
    return 0


def run_baseline(n: int, parquet: Path, work: Path, k: int, som_grid: str, memory_cap_gib: float,
                 step_timeout: float) -> dict:
    """Run the notebook steps, restarting after a killed step so every step gets a verdict."""
    status_file = work / f"notebook_{n}.jsonl"
    status_file.unlink(missing_ok=True)
    steps: dict[str, dict] = {}
    peak = 0
    start_at = BASELINE_STEPS[0]
    env = child_env({"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")})
    attempt = 0
    while start_at is not None:
        attempt += 1
        cmd = [sys.executable, str(Path(__file__).resolve()), "--baseline-worker", "--input", str(parquet),
               "--k", str(k), "--som-grid", som_grid, "--status-file", str(status_file),
               "--start-at", start_at, "--memory-cap-gib", str(memory_cap_gib)]
        result = run_monitored(cmd, env, work / f"notebook_{n}_{attempt}.log", memory_cap=int(memory_cap_gib * GIB),
                               step_file=status_file, step_timeout=step_timeout)
        peak = max(peak, result.peak_rss)
        for line in status_file.read_text().splitlines():
            record = json.loads(line)
            if record["status"] != "start" or record["step"] not in steps:
                steps[record["step"]] = record
        running = [s for s, r in steps.items() if r["status"] == "start"]
        if running:
            cap = {"memory cap": f"memory cap (RSS over {memory_cap_gib:g} GiB)",
                   "time cap": f"time cap (over {step_timeout:g} s)"}.get(result.killed or "")
            steps[running[0]] = {"step": running[0], "status": "failed", "seconds": None,
                                 "detail": cap or f"exit {result.returncode}"}
        elif result.returncode not in (0, None) and not steps:
            steps["read"] = {"step": "read", "status": "failed", "detail": f"exit {result.returncode}"}
        if any(r["status"] == "failed" for s, r in steps.items() if s in {"read", "median_fill", "scale"}):
            break
        remaining = [s for s in BASELINE_STEPS if s not in steps]
        if "kmeans" in steps and steps["kmeans"]["status"] != "ok" and "silhouette" in remaining:
            steps["silhouette"] = {"step": "silhouette", "status": "skipped", "detail": "needs the K-Means labels"}
            remaining.remove("silhouette")
        start_at = remaining[0] if remaining else None
    row = {"n": n, "system": "notebook", "peak_gib": round(peak / GIB, 2)}
    failed = []
    for step in BASELINE_STEPS:
        record = steps.get(step, {"status": "not run"})
        row[f"step_{step}"] = (f"{record['seconds']:.1f}" if record["status"] == "ok"
                               else f"{record['status']}: {record.get('detail', '')}".strip(": "))
        if record["status"] != "ok":
            failed.append(f"{step} ({record.get('detail') or record['status']})")
    if failed:
        row["status"] = "failed at " + ", ".join(failed)
    else:
        row["status"] = "ok"
        row["wall_seconds"] = round(sum(float(steps[s]["seconds"]) for s in BASELINE_STEPS), 1)
    return row


# --------------------------------------------------------------------------- output
def machine() -> str:
    import psutil
    return (f"{platform.machine()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / GIB:.0f} GiB RAM, "
            f"Python {platform.python_version()}")


def versions() -> str:
    from importlib.metadata import version
    names = ["dbt-core", "dbt-duckdb", "duckdb", "scikit-learn", "minisom", "pandas"]
    return ", ".join(f"{n} {version(n)}" for n in names)


def write_outputs(rows: list[dict], out_dir: Path, args: argparse.Namespace, started: dt.datetime) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%S")
    flat_fields = ["n", "system", "status", "wall_seconds", "peak_gib", "build_seconds", "build_peak_gib",
                   "report_seconds", "report_peak_gib", "report_mb", "input_rows", "clean_customers",
                   "rejected_rows", "collapsed_rows", "kmeans_k", "kmeans_silhouette", "fit_sample_size", "som_grid",
                   "kmeans_ari_vs_full_fit", "full_fit_seconds", "day_two_status", "day_two_changes_first_seconds",
                   "day_two_changes_next_seconds", "day_two_score_seconds", "day_two_refit_seconds", "agreement",
                   "counts_agree",
                   *[f"stage_{s}" for s in STAGE_NAMES], *[f"step_{s}" for s in BASELINE_STEPS]]
    for name in (f"bench_{stamp}.csv", "latest.csv"):
        with open(out_dir / name, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=flat_fields, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                flat = dict(row)
                for stage, seconds in row.get("stages", {}).items():
                    flat[f"stage_{stage}"] = seconds
                writer.writerow(flat)
    with open(out_dir / "latest_models.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["n", "kind", "name", "status", "seconds"])
        writer.writeheader()
        for row in rows:
            for m in row.get("models", []):
                writer.writerow({"n": row["n"], **m})
    md = render_markdown(rows, args, started)
    (out_dir / f"bench_{stamp}.md").write_text(md)
    (out_dir / "latest.md").write_text(md)
    return out_dir / "latest.md"


def _fmt(value, suffix: str = "") -> str:
    if value is None or value == "":
        return "–"
    return f"{value}{suffix}"


def render_markdown(rows: list[dict], args: argparse.Namespace, started: dt.datetime) -> str:
    product = {r["n"]: r for r in rows if r["system"] == "product"}
    notebook = {r["n"]: r for r in rows if r["system"] == "notebook"}
    lines = [f"# Benchmark, {started:%Y-%m-%d %H:%M}", "",
             f"Machine: {machine()}. {versions()}. dbt threads: {args.threads}.", "",
             "## The product: full `dbt build` (all models and tests) + report", "",
             "| customers | input rows | status | build s | report s | total s | peak memory GiB | report MB | "
             "K-Means k | silhouette | ARI vs full-data K-Means |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, r in sorted(product.items()):
        lines.append(f"| {n:,} | {_fmt(r.get('input_rows'))} | {r['status']} | {_fmt(r.get('build_seconds'))} | "
                     f"{_fmt(r.get('report_seconds'))} | {_fmt(r.get('wall_seconds'))} | {_fmt(r.get('peak_gib'))} | "
                     f"{_fmt(r.get('report_mb'))} | {_fmt(r.get('kmeans_k'))} | {_fmt(r.get('kmeans_silhouette'))} | "
                     f"{_fmt(r.get('kmeans_ari_vs_full_fit'))} |")
    stage_names = STAGE_NAMES
    lines += ["", "Seconds per stage (sum of dbt's per-model execution times; two models run at once, "
              "so stages overlap and add up to more than the wall time):", "",
              "| customers | " + " | ".join(stage_names) + " |", "|---:|" + "---:|" * len(stage_names)]
    for n, r in sorted(product.items()):
        stages = r.get("stages", {})
        lines.append(f"| {n:,} | " + " | ".join(_fmt(stages.get(s)) for s in stage_names) + " |")
    nights = {n: r for n, r in product.items() if r.get("day_two_status")}
    if nights:
        lines += ["", "## Day two: the next nights' files (1% new or changed customers each) into the same database",
                  "", "| customers | day-one refit build s | score_changes, first night s "
                  "| score_changes, next night s "
                  "| next night / refit | full score build s | score / refit | refit build s | status |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]

        def ratio(part, whole):
            return f"{part / whole:.0%}" if part and whole else "–"

        for n, r in sorted(nights.items()):
            refit, nxt = r.get("build_seconds"), r.get("day_two_changes_next_seconds")
            score = r.get("day_two_score_seconds")
            lines.append(f"| {n:,} | {_fmt(refit)} | {_fmt(r.get('day_two_changes_first_seconds'))} | {_fmt(nxt)} | "
                         f"{ratio(nxt, refit)} | {_fmt(score)} | {ratio(score, refit)} | "
                         f"{_fmt(r.get('day_two_refit_seconds'))} | {r['day_two_status']} |")
    spark = {r["n"]: r for r in rows if r["system"] == "spark"}
    if spark:
        lines += ["", "## The spark target: `dbt build --target spark` on a local SparkSession, scoring with the "
                  "DuckDB build's saved model", "",
                  "| customers | status | Spark build s | Spark peak memory GiB (JVM included) | DuckDB build s | "
                  "DuckDB peak memory GiB | same segment (worst algorithm) | row counts agree |",
                  "|---:|---|---:|---:|---:|---:|---:|---|"]
        for n, r in sorted(spark.items()):
            d = product.get(n, {})
            agreement = f"{100 * r['agreement']:.3f}%" if r.get("agreement") is not None else "–"
            lines.append(f"| {n:,} | {r['status']} | {_fmt(r.get('wall_seconds'))} | {_fmt(r.get('peak_gib'))} | "
                         f"{_fmt(d.get('build_seconds'))} | {_fmt(d.get('build_peak_gib'))} | {agreement} | "
                         f"{_fmt(r.get('counts_agree'))} |")
    if notebook:
        lines += ["", f"## The notebook approach (memory cap {args.baseline_memory_gib:g} GiB, "
                  f"time cap {args.baseline_step_timeout:g} s per step)", "",
                  "| customers | status | " + " | ".join(BASELINE_STEPS) + " | total s | peak memory GiB |",
                  "|---:|---|" + "---|" * len(BASELINE_STEPS) + "---:|---:|"]
        for n, r in sorted(notebook.items()):
            lines.append(f"| {n:,} | {'ok' if r['status'] == 'ok' else 'failed'} | "
                         + " | ".join(str(r.get(f"step_{s}", "–")) for s in BASELINE_STEPS)
                         + f" | {_fmt(r.get('wall_seconds'))} | {_fmt(r.get('peak_gib'))} |")
        runs = [n for n, r in notebook.items() if r["status"] == "ok"]
        both = [n for n in runs if product.get(n, {}).get("status") == "ok"]
        lines.append("")
        if runs:
            lines.append(f"Largest N the notebook approach completed: {max(runs):,}.")
        else:
            lines.append("The notebook approach completed at none of the sizes tried.")
        if both:
            n = max(both)
            ratio = notebook[n]["wall_seconds"] / product[n]["wall_seconds"]
            mem = notebook[n]["peak_gib"] / product[n]["peak_gib"] if product[n]["peak_gib"] else float("nan")
            lines.append(f"At N = {n:,}, the largest both completed: notebook {notebook[n]['wall_seconds']} s, "
                         f"product {product[n]['wall_seconds']} s (notebook time / product time = {ratio:.2f}; "
                         f"the product's time includes dbt start-up, every dbt test, two more algorithms, "
                         f"profiles and the report); peak memory notebook {notebook[n]['peak_gib']} GiB, product "
                         f"{product[n]['peak_gib']} GiB (ratio {mem:.2f}).")
        largest = max(notebook)
        if notebook[largest]["status"] != "ok" and product.get(largest, {}).get("status") == "ok":
            lines.append(f"At N = {largest:,} the notebook approach {notebook[largest]['status']}; the product "
                         f"finished in {product[largest]['wall_seconds']} s with {product[largest]['peak_gib']} GiB.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("10000,40000,50000,100000,1000000,10000000"),
                        help="comma-separated customer counts (10000,1m,...)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("DBT_THREADS", "2")))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ari-max-n", type=int, default=1_000_000,
                        help="measure the ARI against a full-data K-Means up to this N (default 1,000,000)")
    parser.add_argument("--day-two-max-n", type=int, default=1_000_000,
                        help="up to this N, also time a score and a refit build of the next night's file "
                             "(1%% new or changed customers) into the same database")
    parser.add_argument("--spark-sizes", type=parse_sizes, default=[],
                        help="sizes (among --sizes) also built on the spark target (needs Java 17+)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the notebook approach")
    parser.add_argument("--baseline-memory-gib", type=float, default=16.0)
    parser.add_argument("--baseline-step-timeout", type=float, default=300.0, help="seconds per notebook step")
    parser.add_argument("--keep-db", action="store_true", help="keep the DuckDB file of each size")
    # internal: the notebook worker
    parser.add_argument("--baseline-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--som-grid", default="10x10", help=argparse.SUPPRESS)
    parser.add_argument("--status-file", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", default=BASELINE_STEPS[0], help=argparse.SUPPRESS)
    parser.add_argument("--memory-cap-gib", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_worker:
        return baseline_worker(args)

    started = dt.datetime.now()
    log(f"sizes {', '.join(human(n) for n in args.sizes)}; results to {args.out}")
    rows: list[dict] = []
    failed = False
    work = args.data_dir
    for n in args.sizes:
        parquet = generate(n, args.data_dir, args.seed)
        product = run_product(n, parquet, work, args.threads)
        product["input_rows"] = parquet_rows(parquet)
        database = Path(product.pop("database"))
        if product["status"] == "ok" and n <= args.ari_max_n:
            log(f"N={human(n)}: full-data K-Means for the ARI check")
            product.update(full_fit_ari(database, seed=42))
        if product["status"] == "ok" and n <= args.day_two_max_n:
            product.update(run_day_two(n, parquet, database, work, args.threads))
        spark_row = None
        if product["status"] == "ok" and n in args.spark_sizes:
            spark_row = run_spark(n, parquet, database, work)
            spark_row["input_rows"] = product["input_rows"]
            failed |= spark_row["status"] != "ok"
        if not args.keep_db:
            for p in database_files(database):
                p.unlink(missing_ok=True)
        log(f"N={human(n)}: product {product['status']}, {product.get('wall_seconds')} s, "
            f"peak {product.get('peak_gib', product.get('build_peak_gib'))} GiB")
        rows.append(product)
        if spark_row:
            log(f"N={human(n)}: spark {spark_row['status']}, {spark_row.get('wall_seconds')} s, "
                f"peak {spark_row.get('peak_gib')} GiB")
            rows.append(spark_row)
        failed |= product["status"] != "ok"
        if not args.no_baseline:
            k = product.get("kmeans_k", 4)
            log(f"N={human(n)}: notebook approach (k={k})")
            notebook = run_baseline(n, parquet, work, k, product.get("som_grid", "10x10"),
                                    args.baseline_memory_gib, args.baseline_step_timeout)
            log(f"N={human(n)}: notebook {notebook['status']}")
            rows.append(notebook)
        write_outputs(rows, args.out, args, started)   # after every size, so a long run leaves results
    path = write_outputs(rows, args.out, args, started)
    print(path.read_text())
    log(f"wrote {path} and {args.out / 'latest.csv'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
