"""The serving database: where BI tools and the report read the last published run.

    python -m custseg.serving status     # which run is published, and how the last build ended

A `dbt build` that passes every model and test copies the BI marts and the report's tables
into a new file and renames it onto the serving path (macros/publish.sql), so readers see
one complete run at a time and never block a build. Its path is $SEGMENTS_SERVING_PATH,
else the working database's path with `.serving` before the extension
(customer_segmentation.duckdb -> customer_segmentation.serving.duckdb).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import duckdb

WORKING_DEFAULT = "customer_segmentation.duckdb"


def working_path() -> Path:
    return Path(os.environ.get("DBT_DUCKDB_PATH", WORKING_DEFAULT))


def default_serving_path(working: Path | str | None = None) -> Path:
    """The serving database for a working database (the rule macros/publish.sql applies)."""
    explicit = os.environ.get("SEGMENTS_SERVING_PATH")
    if explicit:
        return Path(explicit)
    text = str(working if working is not None else working_path())
    return Path(text[:-len(".duckdb")] + ".serving.duckdb" if text.endswith(".duckdb") else text + ".serving.duckdb")


def _connect(path: Path):
    return duckdb.connect(str(path), read_only=True)


def published_run(serving: Path | None = None) -> tuple[str, str] | None:
    """(run_id, published at) of the run the serving database holds, or None."""
    serving = serving or default_serving_path()
    if not serving.exists():
        return None
    with _connect(serving) as con:
        row = con.execute("select run_id, cast(finished_at as varchar) from segment_runs "
                          "order by finished_at desc limit 1").fetchall()
    return (row[0][0], row[0][1][:19]) if row else None


def last_build(working: Path | None = None) -> tuple[str, str, str | None] | None:
    """(run_id, status, detail) of the last build recorded in the working database."""
    working = working or working_path()
    if not working.exists():
        return None
    try:
        with _connect(working) as con:
            row = con.execute("select run_id, status, detail from custseg_runs order by started_at desc limit 1"
                              ).fetchall()
    except duckdb.IOException:
        return None   # a build is writing it
    except duckdb.CatalogException:
        return None
    return tuple(row[0]) if row else None


def status_line() -> str:
    serving = default_serving_path()
    run = published_run(serving)
    held = f"{serving} holds run {run[0]} (published {run[1]})" if run else f"nothing is published at {serving} yet"
    build = last_build()
    if build is None or build[1] == "published":
        return f"Serving database: {held}."
    detail = (build[2] or "see the dbt output").rstrip(".")
    return f"The last build (run {build[0]}) was {build[1]}: {detail}. {held[:1].upper()}{held[1:]}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The serving database: which run BI tools and the report read.")
    parser.add_argument("command", choices=["status", "path"])
    args = parser.parse_args(argv)
    if args.command == "path":
        print(default_serving_path())
        return 0
    print(status_line())
    build = last_build()
    return 0 if build is None or build[1] == "published" else 1


if __name__ == "__main__":
    sys.exit(main())
