"""The dbt-duckdb plugin of the project (profiles.yml: plugins: [{module: custseg.dbt_plugin}]).

It registers SQL functions that run Python in the dbt process, for the few things SQL
cannot do well:

* `custseg_start_run(request_json)`, `custseg_run_context(invocation_id, unit_test)`: the
  run's context (custseg.run_context), computed once per invocation, then answered from its
  cache; macros/run_context.sql reads it.
* `custseg_resolve_input(invocation_id, relations_json)`: completes a run context whose input
  is a relation of this database, read through this connection when the first node that
  reads it compiles (custseg.run_context.resolve_pending).
* `custseg_physical_lines(path, compression, encoding, byte_positions, line_starts)`: the
  physical line of each record DuckDB's CSV reject table names (custseg.inputs.lines.physical_lines_at).
* `custseg_publish_tmp(serving_path, run_id)`: the temporary file a build publishes into,
  beside the serving database (its directory created, left-overs of killed builds removed).
* `custseg_replace_file(source, target)`: moves the finished file onto the serving path
  atomically (os.replace): readers see the old file or the new one, never a mix.
* `custseg_copy_file(source, target)`: a copy of the serving database, which a
  `score_changes` run updates before it replaces the original.
* `custseg_parquet_path_problem(link)`, `custseg_parquet_folder(link, run_id)`,
  `custseg_parquet_manifest(folder, run_id)`, `custseg_swap_parquet(link, folder)`: the
  Parquet folder of `serving_format: parquet` (custseg.serving).
* `custseg_postgres_check(schema)` and `custseg_publish_postgres(request_json)`
  (publish_postgres: true): the PostgreSQL connection can publish; the marts, read as Arrow
  through this connection, written to PostgreSQL (custseg.postgres.publish). Each answers
  with one line (or JSON holding it) instead of raising.
* `custseg_swap_in(source, target)`: `custseg_replace_file` for a run that has already
  committed: '' when done, else why not (one line), so the run records it.
* `custseg_publish_copy(serving_path, run_id)`: the copy a run published into, if it is still
  there ('' if not): the next build swaps in the copy of a run stopped before its swap.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import glob
import json
import os
import time

from dbt.adapters.duckdb.plugins import BasePlugin

from . import serving


def start_run(request_json: str) -> str:
    from .run_context import start_json

    return start_json(request_json)


def run_context(invocation_id: str, unit_test: bool) -> str:
    from .run_context import cached

    return cached(invocation_id, bool(unit_test)) if not unit_test else ""


def resolve_input(conn, invocation_id: str, relations_json: str) -> str:
    from .run_context import resolve_pending_json

    return resolve_pending_json(invocation_id, relations_json, conn)


def physical_lines(path: str, compression: str, encoding: str, positions: list[int],
                   starts: list[str]) -> list[int]:
    from .inputs import physical_lines_at

    return physical_lines_at(path, compression, encoding, positions or [], starts or [])


TMP_MARKER = ".publishing-"


def _tmp_path(serving_path: str, run_id: str) -> str:
    return serving_path + TMP_MARKER + run_id


def publish_tmp(serving_path: str, run_id: str) -> str:
    directory = os.path.dirname(os.path.abspath(serving_path))
    os.makedirs(directory, exist_ok=True)
    for stale in glob.glob(glob.escape(serving_path) + TMP_MARKER + "*"):
        os.remove(stale)   # a killed build's unfinished copy
    return _tmp_path(serving_path, run_id)


def publish_copy(serving_path: str, run_id: str) -> str:
    path = _tmp_path(serving_path, run_id)
    return path if os.path.isfile(path) else ""


def replace_file(source: str, target: str) -> str:
    delay = float(os.environ.get("CUSTSEG_PUBLISH_DELAY", "0") or 0)
    if delay > 0:  # tests: a window in which to kill a build in the middle of publishing
        print(f"custseg: waiting {delay:g} s before replacing {target} (CUSTSEG_PUBLISH_DELAY)", flush=True)
        time.sleep(delay)
    os.replace(source, target)
    return target


def swap_in(source: str, target: str) -> str:
    try:
        replace_file(source, target)
    except OSError as err:
        return f"{type(err).__name__}: {err.strerror or err}"
    return ""


def copy_file(source: str, target: str) -> str:
    """A copy of the serving database for a `score_changes` run to update (readers keep the original)."""
    import shutil

    shutil.copyfile(source, target)
    return target


def postgres_check(schema: str) -> str:
    """'' when a PostgreSQL publish into `schema` can start, else the one line why not."""
    from .postgres import PostgresError, check_publish, mask

    try:
        check_publish(schema)
    except PostgresError as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 - one line, whatever failed
        return mask(f"publish_postgres: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
    return ""


def publish_postgres(conn, request_json: str) -> str:
    """Publish the tables of the request ({schema, run_id, tables: [{name, sql, description,
    columns}]}) to PostgreSQL, each read with its SQL through a cursor of this connection."""
    from .postgres import PostgresError, mask, publish, request_tables

    request = json.loads(request_json)
    sql = {t["name"]: t["sql"] for t in request["tables"]}
    cursors = []

    def read(name: str):
        cursor = conn.cursor()
        cursors.append(cursor)
        return cursor.sql(sql[name]).to_arrow_reader(100_000)

    try:
        return json.dumps(publish(request["schema"], request["run_id"], request_tables(request), read))
    except PostgresError as err:
        return json.dumps({"error": str(err)})
    except Exception as err:  # noqa: BLE001 - one line, whatever failed
        return json.dumps({"error": mask(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")})
    finally:
        for cursor in cursors:
            cursor.close()


FUNCTIONS = {
    "custseg_start_run": (start_run, ["VARCHAR"], "VARCHAR"),
    "custseg_run_context": (run_context, ["VARCHAR", "BOOLEAN"], "VARCHAR"),
    "custseg_physical_lines": (physical_lines, ["VARCHAR", "VARCHAR", "VARCHAR", "UBIGINT[]", "VARCHAR[]"],
                               "UBIGINT[]"),
    "custseg_publish_tmp": (publish_tmp, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    "custseg_copy_file": (copy_file, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    "custseg_replace_file": (replace_file, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    "custseg_parquet_path_problem": (serving.parquet_path_problem, ["VARCHAR"], "VARCHAR"),
    "custseg_parquet_folder": (serving.parquet_folder, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    "custseg_parquet_manifest": (serving.write_manifest, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    "custseg_swap_parquet": (serving.swap_parquet_link, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    "custseg_postgres_check": (postgres_check, ["VARCHAR"], "VARCHAR"),
    "custseg_swap_in": (swap_in, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    "custseg_publish_copy": (publish_copy, ["VARCHAR", "VARCHAR"], "VARCHAR"),
}
#: Functions that read through the connection they are registered on.
CONNECTION_FUNCTIONS = {
    "custseg_publish_postgres": (publish_postgres, ["VARCHAR"], "VARCHAR"),
    "custseg_resolve_input": (resolve_input, ["VARCHAR", "VARCHAR"], "VARCHAR"),
}


#: Build locks this process holds, by lock file path (kept until the process ends).
_LOCKS: dict[str, int] = {}


def acquire_build_lock(database: str) -> None:
    """One dbt invocation at a time per working database, for the whole invocation.

    DuckDB's own file lock is only held while dbt has the database open, and dbt-duckdb
    closes it between models; a second build could slip in between and interleave its
    writes. A lock file held from the start to the end of the process prevents that, and
    the second build stops at once with one line saying who holds it."""
    if not database or database == ":memory:":
        return
    path = os.path.abspath(database) + ".build-lock"
    if path in _LOCKS:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
        os.close(fd)
        from dbt_common.exceptions import DbtRuntimeError

        raise DbtRuntimeError(f"Another dbt command is using {database} ({holder}); wait for it to finish, "
                              "or set DBT_DUCKDB_PATH to build into another database.") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()}, since {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC".encode())
    _LOCKS[path] = fd


def release_build_locks() -> None:
    """Release the build locks this process holds (tests that run dbt in-process)."""
    for path, fd in list(_LOCKS.items()):
        os.close(fd)
        del _LOCKS[path]


class Plugin(BasePlugin):
    def initialize(self, plugin_config) -> None:
        acquire_build_lock(getattr(self.creds, "path", None) or "")

    def configure_connection(self, conn) -> None:
        bound = {name: (functools.partial(fn, conn), params, returns)
                 for name, (fn, params, returns) in CONNECTION_FUNCTIONS.items()}
        for name, (fn, params, returns) in {**FUNCTIONS, **bound}.items():
            try:
                conn.remove_function(name)
            except Exception:  # noqa: BLE001 - not registered yet on this connection
                pass
            conn.create_function(name, fn, params, returns, side_effects=True)
