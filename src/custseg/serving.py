"""The serving database: where BI tools and the report read the last published run.

    python -m custseg.serving status     # which run is published, and how the last build ended

A `dbt build` that passes every model and test copies the BI marts and the report's tables
into a new file and renames it onto the serving path (macros/publish.sql), so readers see
one complete run at a time and never block a build. Its path is $SEGMENTS_SERVING_PATH,
else the working database's path with `.serving` before the extension
(customer_segmentation.duckdb -> customer_segmentation.serving.duckdb).

With `serving_format: parquet` a build also writes each serving table as a Parquet file in
a folder of its own, with manifest.json, and repoints a symlink to it
(macros/serving_files.sql; the functions below do the file work for the dbt plugin). The
link is $SEGMENTS_PARQUET_PATH, else the serving path with `.parquet` for `.duckdb`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import re
import shutil
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


def default_parquet_path(serving: Path | str | None = None) -> Path:
    """The Parquet folder's link for a serving database (the rule macros/serving_files.sql applies)."""
    explicit = os.environ.get("SEGMENTS_PARQUET_PATH")
    if explicit:
        return Path(explicit)
    text = str(serving if serving is not None else default_serving_path())
    return Path(text[:-len(".duckdb")] + ".parquet" if text.endswith(".duckdb") else text + ".parquet")


MANIFEST = "manifest.json"
#: a run's folder is <link>.<run_id>; run ids are macros/run_context.sql's current_run_id()
RUN_FOLDER = re.compile(r"\.\d{8}T\d{6}Z-[0-9a-f]{8}$")


def parquet_path_problem(link: str) -> str:
    """Why a build could not publish the Parquet folder at `link` ('' when it can)."""
    if os.path.lexists(link) and not os.path.islink(link):
        return (f"serving_format parquet: {link} exists and is not the symlink a build makes; move it away, "
                "or set SEGMENTS_PARQUET_PATH to another path")
    return ""


def parquet_folder(link: str, run_id: str) -> str:
    """A new, empty folder for this run's Parquet files, beside the link."""
    problem = parquet_path_problem(link)
    if problem:
        raise ValueError(problem)
    folder = f"{link}.{run_id}"
    if not RUN_FOLDER.search(folder):
        raise ValueError(f"unexpected run id {run_id!r}")
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    return folder


def write_manifest(folder: str, run_id: str) -> str:
    """manifest.json of a run's folder: run_id, published_at (UTC) and, read back from each
    Parquet file's footer, its rows and columns."""
    import pyarrow.parquet as pq

    tables = {}
    for path in sorted(Path(folder).glob("*.parquet")):
        meta = pq.read_metadata(path)
        tables[path.stem] = {"file": path.name, "rows": meta.num_rows,
                             "columns": [{"name": f.name, "type": str(f.type)} for f in meta.schema.to_arrow_schema()]}
    published = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    target = Path(folder) / MANIFEST
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps({"run_id": run_id, "published_at": published, "tables": tables}, indent=2))
    os.replace(partial, target)
    return str(target)


def swap_parquet_link(link: str, folder: str) -> str:
    """Repoint `link` to `folder` in one atomic rename (a new symlink renamed over the old one);
    keep the folder it pointed to before, remove older run folders (and killed runs' ones)."""
    previous = os.path.realpath(link) if os.path.islink(link) else None
    staged = f"{link}.swap-{os.getpid()}"
    if os.path.lexists(staged):
        os.remove(staged)
    os.symlink(os.path.basename(folder), staged)   # relative: the folders move together
    os.replace(staged, link)
    keep = {os.path.realpath(folder), previous}
    for candidate in glob.glob(glob.escape(link) + ".*"):
        if RUN_FOLDER.search(candidate) and not os.path.islink(candidate) and os.path.realpath(candidate) not in keep:
            shutil.rmtree(candidate, ignore_errors=True)
    return link


def read_parquet_manifest(link: Path | str | None = None) -> tuple[Path, dict] | None:
    """(the folder the link points to now, its manifest), or None. A reader resolves the link
    once and reads every file from that folder: one run, even if a build swaps the link."""
    link = Path(link) if link is not None else default_parquet_path()
    if not link.is_symlink():
        return None
    folder = Path(os.path.realpath(link))
    try:
        return folder, json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return None   # removed by two later publishes since it was resolved


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
    parquet = read_parquet_manifest(default_parquet_path(serving))
    if parquet:
        held += f"; the Parquet folder {default_parquet_path(serving)} holds run {parquet[1]['run_id']}"
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
