"""Benchmark: a transaction log in, at growing numbers of lines.

For each N it
  1. generates a log of N order lines as Parquet with DuckDB (cached under bench/data):
     N / 50 customers, three lines per order, 3% of lines returns, eight categories, three
     channels, two years of timestamps; deterministic (hashes of the line number);
  2. times `dbt build` of the transaction models alone (staging, de-duplication,
     rejections, the customer features and RFM scores, and their tests) into a fresh
     DuckDB file;
  3. times the full `dbt build` (every model and test, publishing included) into another.
Each run is a child process; wall time and the peak memory of its process tree are
recorded. Results: bench/results/transactions_latest.md and .csv.

    python scripts/bench_transactions.py --sizes 10m,100m
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
from custseg.sql import sql_literal  # noqa: E402

ROOT = bench.ROOT
LINES_PER_CUSTOMER = 50
FEATURE_MODELS = ["+int_transaction_customers", "+transaction_summary", "assert_transaction_lines_conserved",
                  "--indirect-selection", "cautious"]


def generate(n: int, data_dir: Path) -> Path:
    import duckdb

    path = data_dir / f"transactions_{n}.parquet"
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    customers = max(100, n // LINES_PER_CUSTOMER)
    partial = path.with_suffix(".partial")
    bench.log(f"generate {bench.human(n)} transaction lines ({bench.human(customers)} customers)")
    con = duckdb.connect()
    con.execute(f"set temp_directory = {sql_literal(str(data_dir / 'tmp'))}")
    con.execute(f"""copy (
        select
            'U' || lpad(cast(hash(o, 1) % {customers} as varchar), 8, '0') as customer_id,
            case when hash(i, 2) % 100 < 3 then 'C' else '' end || cast(500000 + o as varchar) as order_id,
            'P' || lpad(cast(hash(i, 3) % 5000 as varchar), 5, '0') as product_id,
            ['apparel', 'kitchen', 'toys', 'garden', 'beauty', 'electronics', 'home decor',
             'stationery'][1 + cast(hash(i, 4) % 8 as integer)] as category,
            ['web', 'store', 'app'][1 + cast(hash(o, 5) % 3 as integer)] as channel,
            case when hash(o, 6) % 10 = 0 then 'Germany' else 'United Kingdom' end as country,
            timestamp '2024-01-01' + to_seconds(cast(hash(o, 7) % (730 * 86400) as bigint)) as occurred_at,
            case when hash(i, 2) % 100 < 3 then -1 else 1 + cast(hash(i, 8) % 4 as integer) end as quantity,
            round(0.5 + (hash(i, 9) % 20000) / 100.0, 2) as unit_price
        from (select i, i // 3 as o from range({n}) as t(i))
    ) to {sql_literal(str(partial))} (format parquet, compression zstd, row_group_size 1000000)""")
    con.close()
    partial.rename(path)
    return path


def build(n: int, parquet: Path, work: Path, name: str, select: list[str] | None) -> dict:
    database = work / f"tx_{name}_{n}.duckdb"
    for p in bench.database_files(database):
        p.unlink(missing_ok=True)
    env = bench.child_env({"DBT_DUCKDB_PATH": str(database)})
    cmd = [bench.bin_path("dbt"), "build", "--vars", json.dumps({"transactions_path": str(parquet)}),
           "--target-path", str(work / f"target_tx_{name}_{n}"), "--log-path", str(work / f"logs_tx_{n}")]
    if select:
        cmd += ["--select", *select]
    bench.log(f"N={bench.human(n)}: dbt build ({name})")
    result = bench.run_monitored(cmd, env, work / f"dbt_tx_{name}_{n}.log")
    row = {"lines": n, "build": name, "status": "ok" if result.returncode == 0 else
           f"failed (exit {result.returncode}); see {work / f'dbt_tx_{name}_{n}.log'}",
           "seconds": round(result.seconds, 1), "peak_gib": round(result.peak_rss / bench.GIB, 2)}
    if result.returncode == 0:
        import duckdb

        with duckdb.connect(str(database), read_only=True) as con:
            row["customers"] = con.sql("select count(*) from int_transaction_customers").fetchall()[0][0]
        models = bench.model_times(work / f"target_tx_{name}_{n}")
        row["slowest"] = ", ".join(f"{m['name']} {m['seconds']:.1f} s" for m in
                                   sorted(models, key=lambda m: -m["seconds"])[:4])
    for p in bench.database_files(database):
        p.unlink(missing_ok=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=bench.parse_sizes, default=bench.parse_sizes("10m,100m"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data")
    args = parser.parse_args(argv)
    started = dt.datetime.now()
    rows = []
    for n in args.sizes:
        parquet = generate(n, args.data_dir)
        rows.append(build(n, parquet, args.data_dir, "transaction models", FEATURE_MODELS))
        rows.append(build(n, parquet, args.data_dir, "full", None))
        write(rows, args.out, started)
    print((args.out / "transactions_latest.md").read_text())
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def write(rows: list[dict], out: Path, started: dt.datetime) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fields = ["lines", "build", "status", "seconds", "peak_gib", "customers", "slowest"]
    with open(out / "transactions_latest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"# Transaction benchmark, {started:%Y-%m-%d %H:%M}", "",
             f"Machine: {bench.machine()}. {bench.versions()}.", "",
             "| lines | build | status | wall s | peak memory GiB | customers | slowest models |",
             "|---:|---|---|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['lines']:,} | {r['build']} | {r['status']} | {r['seconds']} | {r['peak_gib']} | "
                     f"{r.get('customers', '–'):,} | {r.get('slowest', '')} |" if isinstance(r.get("customers"), int)
                     else f"| {r['lines']:,} | {r['build']} | {r['status']} | {r['seconds']} | {r['peak_gib']} | – | |")
    (out / "transactions_latest.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
