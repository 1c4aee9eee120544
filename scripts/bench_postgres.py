"""Benchmark: PostgreSQL in and out at N customers (default 1M).

  1. generates N customers as Parquet (scripts/bench.py's generator, cached under
     bench/data), starts a throw-away PostgreSQL (tests/python/postgres_server.py: Debian's
     postgresql, initdb in a temporary folder) and loads them as public.customers (typed);
  2. reading: the input contract (custseg.inputs.resolve: find, read, count, profile) of
     the Parquet file and of the table, each in a fresh process, --repeat times;
  3. builds, alternated --build-repeat times: `dbt build` from the Parquet file, and from
     the table with publish_postgres: true (the reading stage from run_results.json, the
     PostgreSQL publish's seconds from its log line).
Results: bench/results/postgres_latest.md.

    python scripts/bench_postgres.py --sizes 1m
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

ROOT = bench.ROOT
sys.path.insert(0, str(ROOT / "tests" / "python"))

RESOLVE = """
import json, sys, time
from custseg import inputs
start = time.perf_counter()
answer = inputs.resolve(json.loads(sys.argv[1]))
print("RESULT " + json.dumps({"seconds": time.perf_counter() - start, "error": answer.get("error"),
                  "rows": (answer.get("contract") or {}).get("source", {}).get("data_lines")}))
"""


def load(url: str, parquet: Path) -> int:
    import adbc_driver_postgresql.dbapi as pg
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    with pg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute("drop table if exists public.customers")
        cur.adbc_ingest("customers", table, mode="create", db_schema_name="public")
        cur.execute("analyze public.customers")
    return table.num_rows


def resolve_seconds(settings: dict, work: Path, env: dict, repeat: int) -> list[float]:
    times = []
    for i in range(repeat):
        cache = work / f"cache_{i}"
        shutil.rmtree(cache, ignore_errors=True)
        request = {"settings": settings, "role": "customers", "cache_dir": str(cache), "invocation_id": f"bench{i}"}
        out = subprocess.run([sys.executable, "-c", RESOLVE, json.dumps(request)], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)
        answer = json.loads(next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))[7:])
        if answer["error"]:
            raise SystemExit(answer["error"])
        times.append(answer["seconds"])
    return times


def build(n: int, vars: dict, work: Path, name: str, env: dict) -> dict:
    database = work / f"pg_{name}_{n}.duckdb"
    for p in bench.database_files(database):
        p.unlink(missing_ok=True)
    log_path = work / f"dbt_pg_{name}_{n}.log"
    cmd = [bench.bin_path("dbt"), "build", "--vars", json.dumps(vars), "--target-path", str(work / f"target_{name}"),
           "--log-path", str(work / f"logs_{name}")]
    bench.log(f"N={bench.human(n)}: dbt build ({name})")
    result = bench.run_monitored(cmd, bench.child_env({**env, "DBT_DUCKDB_PATH": str(database)}), log_path)
    text = log_path.read_text(errors="replace")
    published = re.search(r"to PostgreSQL schema \S+ \((\d+) tables, (\d+) rows, ([0-9.]+) s\)", text)
    row = {"build": name, "status": "ok" if result.returncode == 0 else f"failed; see {log_path}",
           "seconds": round(result.seconds, 1), "peak_gib": round(result.peak_rss / bench.GIB, 2)}
    if published:
        row.update(pg_tables=int(published.group(1)), pg_rows=int(published.group(2)),
                   pg_seconds=float(published.group(3)))
    if result.returncode == 0:
        # reading the input: the on-run-start hook (the input contract: for PostgreSQL the read
        # itself) and stg_customers (the typed scan of the file)
        times = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in
                 json.loads((work / f"target_{name}" / "run_results.json").read_text())["results"]}
        row["read_seconds"] = round(times.get("customer_segmentation-on-run-start-0", 0)
                                    + times.get("custseg_stg_customers", 0), 1)
    for p in bench.database_files(database):
        p.unlink(missing_ok=True)
    return row


def main(argv: list[str] | None = None) -> int:
    from postgres_server import start_server

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=bench.parse_sizes, default=bench.parse_sizes("1m"))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each input contract")
    parser.add_argument("--no-builds", action="store_true", help="time the input contracts only")
    parser.add_argument("--build-repeat", type=int, default=2, help="pairs of builds (Parquet, PostgreSQL)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data")
    args = parser.parse_args(argv)
    started = dt.datetime.now()
    server = start_server()
    lines = [f"# PostgreSQL benchmark, {started:%Y-%m-%d %H:%M}", "",
             (f"Machine: {bench.machine()}. {bench.versions()}. PostgreSQL on the same machine "
              "(fsync off, a throw-away server)."), ""]
    ok = True
    try:
        env = {"CUSTSEG_POSTGRES_URL": server.url()}
        for n in args.sizes:
            parquet = bench.generate(n, args.data_dir)
            work = args.data_dir / f"postgres_{n}"
            work.mkdir(parents=True, exist_ok=True)
            bench.log(f"N={bench.human(n)}: load into PostgreSQL")
            rows = load(server.url(), parquet)
            from_file = resolve_seconds({"customers_path": str(parquet)}, work, bench.child_env(env), args.repeat)
            from_pg = resolve_seconds({"customers_relation": {"postgres": "public.customers"}}, work,
                                      bench.child_env(env), args.repeat)
            file_s, pg_s = statistics.median(from_file), statistics.median(from_pg)
            lines += [f"## {rows:,} customers", "",
                      "| input contract (read, count, profile) | median s | runs |", "|---|---:|---|",
                      f"| Parquet file | {file_s:.2f} | {', '.join(f'{t:.2f}' for t in from_file)} |",
                      f"| PostgreSQL table | {pg_s:.2f} | {', '.join(f'{t:.2f}' for t in from_pg)} |",
                      "", f"PostgreSQL / Parquet: **{pg_s / file_s:.2f}x**.", ""]
            if not args.no_builds:
                lines += [("| dbt build | status | wall s | read s (contract + stg_customers) | peak GiB | "
                           "PostgreSQL publish |"), "|---|---|---:|---:|---:|---|"]
                for i in range(args.build_repeat):   # alternated: the machine's load varies
                    for b in (build(n, {"customers_path": str(parquet)}, work, "parquet", env),
                              build(n, {"customers_relation": {"postgres": "public.customers"},
                                        "publish_postgres": True}, work, "postgres", env)):
                        ok = ok and b["status"] == "ok"
                        publish = (f"{b['pg_seconds']:.1f} s for {b['pg_rows']:,} rows in {b['pg_tables']} tables "
                                   f"({100 * b['pg_seconds'] / b['seconds']:.0f}% of the build)"
                                   if "pg_seconds" in b else "–")
                        lines.append(f"| {i + 1}: from the {b['build']} input | {b['status']} | {b['seconds']} | "
                                     f"{b.get('read_seconds', '–')} | {b['peak_gib']} | {publish} |")
                lines.append("")
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "postgres_latest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
