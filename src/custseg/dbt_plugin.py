"""The dbt-duckdb plugin of the project (profiles.yml: plugins: [{module: custseg.dbt_plugin}]).

It registers SQL functions that run Python in the dbt process, for the few things SQL
cannot do well:

* `custseg_resolve_input(request_json)`: the input contract (custseg.inputs.resolve), as
  JSON; the macros call it when they compile the staging models.
* `custseg_replace_file(source, target)`: moves a finished file onto a path atomically
  (os.replace), for publishing the serving database (custseg.publish).
* `custseg_remove_file(path)`: removes a left-over temporary file, if any.
"""

from __future__ import annotations

import json
import os

from dbt.adapters.duckdb.plugins import BasePlugin


def resolve_input(request_json: str) -> str:
    from .inputs import resolve

    return json.dumps(resolve(json.loads(request_json)), default=str)


def replace_file(source: str, target: str) -> str:
    os.replace(source, target)
    return target


def remove_file(path: str) -> bool:
    try:
        os.remove(path)
        return True
    except FileNotFoundError:
        return False


FUNCTIONS = {
    "custseg_resolve_input": (resolve_input, ["VARCHAR"], "VARCHAR"),
    "custseg_replace_file": (replace_file, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    "custseg_remove_file": (remove_file, ["VARCHAR"], "BOOLEAN"),
}


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        for name, (fn, params, returns) in FUNCTIONS.items():
            try:
                conn.remove_function(name)
            except Exception:  # noqa: BLE001 - not registered yet on this connection
                pass
            conn.create_function(name, fn, params, returns, side_effects=True)
