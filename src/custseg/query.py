"""Query the serving database read-only from the command line, without a DuckDB CLI:

    .venv/bin/python -m custseg.query "select * from segment_profiles limit 5"
    .venv/bin/python -m custseg.query --parquet customer_features.parquet "select * from customer_features"

Read-only, on the serving database (the last published run, see custseg.serving) by
default: it never blocks a build, and a build never blocks it. --database names another
file (the working database, for instance, when no build is writing it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from .serving import default_serving_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one SQL query on the DuckDB file, read-only.")
    parser.add_argument("sql", help="the query, e.g. \"select * from segment_metrics\"")
    parser.add_argument("--database", type=Path, default=default_serving_path(),
                        help="DuckDB file (default: the serving database, see custseg.serving)")
    parser.add_argument("--max-rows", type=int, default=40, help="rows to print (default 40)")
    parser.add_argument("--parquet", type=Path, help="write the whole result to this Parquet file instead")
    args = parser.parse_args(argv)
    if not args.database.exists():
        print(f"query: no database at {args.database}; run `make build` first, or pass --database", file=sys.stderr)
        return 1
    try:
        con = duckdb.connect(str(args.database), read_only=True)
    except duckdb.IOException as err:
        print(f"query: cannot open {args.database} read-only ({err}); is a build writing it?", file=sys.stderr)
        return 1
    try:
        relation = con.sql(args.sql)
        if relation is None:
            print("query: the statement returned no rows (this tool is read-only)", file=sys.stderr)
            return 1
        if args.parquet:
            relation.write_parquet(str(args.parquet))
            rows = con.execute("select count(*) from read_parquet(?)", [str(args.parquet)]).fetchone()[0]
            print(f"wrote {rows:,} rows to {args.parquet.resolve()}")
        else:
            relation.show(max_rows=args.max_rows, max_width=200)
    except duckdb.Error as err:
        print(f"query: {err}", file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
