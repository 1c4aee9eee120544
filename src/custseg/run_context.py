"""The run's context: what one dbt invocation does, decided once and read from one place.

    on-run-start    start_run() (macros/run_context.sql) -> custseg_start_run(request) -> start()
    every macro     run_context() -> the same answer, cached here per invocation
    Python models   RunContext.from_dbt(dbt): the same JSON, compiled into their code
    spark target    scripts/spark_build.py calls start() and hands dbt the JSON

start() validates the vars against the one schema (custseg.settings), resolves the input
contract (custseg.inputs), decides the mode and model version (custseg.model_versions) and
lists the algorithms (custseg.algorithms). A problem the user can act on comes back as one
line ({'error': ...}), which the hook records as a refused run and raises.

An input that is a relation of the build's database ({model: ...}, {source: ...}, {table: ...})
may be built by this very invocation, after on-run-start: start() then leaves the input and
the models `pending`, and resolve_pending() completes the cached context when the first
node that reads it compiles (stg_customers or stg_transactions, which are downstream of the
relation: macros/run_context.sql), through the build's connection. Every later node reads
the same completed context; the precondition checks and the decision of the mode then run in
that node, before anything is published.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model_versions import ModelState, RunRefused, decide
from .settings import SettingError, Settings

#: The input settings a unit test resets: dbt unit tests pin the SQL on the embedded sample.
SAMPLE_INPUT = {"customers_path": None, "transactions_path": None, "customers_relation": None,
                "transactions_relation": None, "column_map": {}, "id_column": None, "feature_columns": None,
                "categorical_columns": None, "ignore_columns": [], "input_options": None}

_CACHE: OrderedDict[str, dict] = OrderedDict()
_PACKAGE_DIRS: OrderedDict[str, str] = OrderedDict()   # invocation id -> this project's folder
_PENDING: dict[str, dict] = {}   # the request of each context whose input is resolved later
_LOCK = threading.Lock()
KEEP = 16          # invocations remembered (tests run many in one process)


def _key(invocation_id: str, unit_test: bool, vars: dict | None = None) -> str:
    # a unit test's context depends on its own var overrides
    return f"{invocation_id}|" + (f"unit|{json.dumps(vars, sort_keys=True, default=str)}" if unit_test else "run")


def cached(invocation_id: str, unit_test: bool) -> str:
    """The answer start() gave this invocation, as JSON, or '' when it has not run yet."""
    with _LOCK:
        answer = _CACHE.get(_key(invocation_id, unit_test))
    return json.dumps(answer, default=str) if answer is not None else ""


def start(request: dict) -> dict:
    """The run context of one invocation ({'context': ...} or {'error': one line}), computed
    once and cached: later calls of the same invocation get the same answer."""
    key = _key(request.get("invocation_id", ""), bool(request.get("unit_test")), request.get("vars"))
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        # a unit test cannot see dbt's graph: the samples' folder is the one its invocation's run found
        if request.get("package_dir"):
            _PACKAGE_DIRS[request.get("invocation_id", "")] = request["package_dir"]
        else:
            request = dict(request, package_dir=_PACKAGE_DIRS.get(request.get("invocation_id", "")))
        try:
            answer = {"context": _context(request)}
        except (SettingError, RunRefused) as err:
            answer = {"error": str(err)}
        _CACHE[key] = answer
        if answer.get("context", {}).get("input", {}).get("pending"):
            _PENDING[key] = request
        while len(_CACHE) > KEEP:
            _PENDING.pop(_CACHE.popitem(last=False)[0], None)
        while len(_PACKAGE_DIRS) > KEEP:
            _PACKAGE_DIRS.popitem(last=False)
        return answer


def resolve_pending(invocation_id: str, relations: dict, connection) -> dict:
    """Complete a context start() left pending: the input read through `connection` (the
    build's database, as committed so far) and the models decided. The answer is cached in
    place of the pending one; 'resolved_now' is true for the one caller that completed it."""
    key = _key(invocation_id, False)
    with _LOCK:
        answer = _CACHE.get(key)
        if answer is None:
            return {"error": "the run context of this invocation was not started (on-run-start did not run)."}
        request = _PENDING.pop(key, None)
        if request is None:
            return answer
        context = answer["context"]
        try:
            settings = Settings.from_mapping(context["settings"])
            data = _input({**request, "relations": relations, "connection": connection}, settings.to_dict(),
                          settings)
            features = [c["name"] for c in data["contract"]["columns"] if c["role"] == "feature"]
            answer = {"context": {**context, "input": data, "models": _models(request, settings, data, features)}}
        except (SettingError, RunRefused) as err:
            answer = {"error": str(err)}
        _CACHE[key] = answer
        return {**answer, "resolved_now": True}


def resolve_pending_json(invocation_id: str, relations_json: str, connection) -> str:
    return json.dumps(resolve_pending(invocation_id, json.loads(relations_json), connection), default=str)


def start_json(request_json: str) -> str:
    return json.dumps(start(json.loads(request_json)), default=str)


# --------------------------------------------------------------------------- the context
def _context(request: dict) -> dict:
    from .algorithms import algorithm_info

    target = request.get("target") or {}
    settings = Settings.validate(request.get("vars") or {})
    _check_target(settings, target)
    input_settings = dict(settings.to_dict(), **(SAMPLE_INPUT if request.get("unit_test") else {}))
    if not request.get("unit_test") and in_database_relation(settings):
        data, models = _pending_input(settings), {"pending": True, "mode": settings.segment_mode}
    else:
        data = _input(request, input_settings, settings)
        features = [c["name"] for c in data["contract"]["columns"] if c["role"] == "feature"]
        models = _models(request, settings, data, features)
    return {
        "run_id": request.get("run_id"),
        "invocation_id": request.get("invocation_id"),
        "run_started_at": request.get("run_started_at"),
        "command": request.get("command"),
        "target": target,
        "settings": settings.to_dict(),
        "input": data,
        "models": models,
        "algorithms": algorithm_info(),
    }


def _check_target(settings: Settings, target: dict) -> None:
    if target.get("type") == "spark" and (settings.customers_relation or settings.transactions_relation
                                          or settings.publish_postgres):
        raise SettingError("Relation inputs and publish_postgres work on the DuckDB target; on the spark target "
                           "give the input as a path (README, 'Beyond one machine').")


def in_database_relation(settings: Settings) -> str | None:
    """The role ('customers' or 'transactions') whose input is a relation of the build's
    database ({model}, {source} or {table}), else None."""
    from .inputs.formats import DATABASE_RELATIONS

    for role in ("customers", "transactions"):
        relation = getattr(settings, f"{role}_relation")
        if relation and next(iter(relation)) in DATABASE_RELATIONS:
            return role
    return None


def _pending_input(settings: Settings) -> dict:
    """The input of a context whose relation is read later (resolve_pending): what the hooks
    may know before, the role."""
    role = in_database_relation(settings)
    kind = "transactions" if role == "transactions" else "relation"
    return {"pending": True, "contract": {"columns": [], "derived": [], "warnings": [], "source": {"kind": kind}},
            "relation": None, "label": None, "is_csv": False, "transactions": None,
            "source": {"kind": kind, "whitespace": False, "columns": []}}


def _input(request: dict, input_settings: dict, settings: Settings) -> dict:
    """What the staging models read: the customer input's contract (and a transaction log's),
    with the FROM expression of each source for the target's engine."""
    from .inputs import resolve

    project = Path(request.get("project_dir") or ".")
    package = Path(request.get("package_dir") or project)   # the samples' folder (this project's, when installed)
    spark = (request.get("target") or {}).get("type") == "spark"
    is_log = bool(input_settings.get("transactions_path") or input_settings.get("transactions_relation"))
    working = (request.get("target") or {}).get("path")
    answer = resolve({
        "settings": input_settings,
        "role": "transactions" if is_log else "customers",
        "invocation_id": request.get("invocation_id"),
        "transactions_sample_path": str(package / "data" / "sample_transactions.csv.gz"),
        "seed_path": str(package / "seeds" / "custseg_sample_customers.csv"),
        "seed_label": "seed 'custseg_sample_customers' (seeds/custseg_sample_customers.csv)",
        "cache_dir": str(Path(request.get("target_dir") or project / "target") / "custseg_input"),
        "profile_store": f"{working}.input-profile.json" if working and not spark else None,
        "reuse_profile": settings.segment_mode == "score_changes",
        "relations": request.get("relations"),
        "connection": request.get("connection"),
    })
    if answer.get("error"):
        raise RunRefused(answer["error"])
    contract, tx = answer["contract"], answer.get("transactions")
    source = contract["source"]
    if spark:
        from .spark_support import spark_read_sql

        for part in (contract, tx):
            if part:
                part["source"]["read_sql"] = spark_read_sql(part["source"], package)
    return {"contract": contract, "relation": source.get("read_sql"), "label": source.get("label"),
            "is_csv": source.get("kind") == "csv" and not spark, "source": source, "transactions": tx}


def _input_size(data: dict) -> int:
    """The input's size in rows for the auto mode's change rule: lines of the file (or the log)."""
    tx = data.get("transactions") or {}
    return int((tx.get("source") or {}).get("data_lines") or data["contract"]["source"].get("data_lines") or 0)


def _models(request: dict, settings: Settings, data: dict, features: list[str]) -> dict:
    """The run's mode and model version (custseg.model_versions): decided for a build or run
    (which records it); a unit test, the spark target and the other commands (test, compile,
    docs) read the latest published version."""
    target = request.get("target") or {}
    if request.get("unit_test"):
        return {"mode": "refit", "model_version": 1, "usable": [1], "unit_test": True, "message": ""}
    if target.get("type") == "spark":
        version = settings.model_version or 1
        return {"mode": "score", "model_version": version, "usable": [version], "message": ""}
    state_rows = request.get("state") or {}
    state = ModelState.from_rows(state_rows.get("versions") or [], state_rows.get("published") or [],
                                 state_rows.get("last_full") or [])
    if request.get("command") not in ("build", "run"):
        published = sorted(set(state.published))
        latest = published[-1] if published else 1
        return {"mode": "score" if published else "refit", "model_version": latest, "usable": published or [1],
                "message": ""}
    plan = decide(settings, state, features, _input_size(data), dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                  request.get("run_started_at") or "", target.get("path") or "the working database")
    new = plan.new_version
    return {"mode": plan.mode, "model_version": plan.model_version, "usable": list(plan.usable),
            "message": plan.message, "why": plan.why,
            "new_version": None if new is None else {"model_version": new.model_version, "created_at": new.created_at,
                                                     "input_rows": new.input_rows, "features": list(new.features)}}


# --------------------------------------------------------------------------- Python models
@dataclass(frozen=True)
class RunContext:
    """The run context as the Python models read it: validated settings, the input contract, the
    run id, and the run's models (refit or score, the model version, the versions artifacts may
    be read at, and for segment_names the names saved so far)."""

    settings: Settings
    contract: dict
    run_id: str
    mode: str = "refit"
    model_version: int = 1
    usable: tuple[int, ...] = (1,)
    saved_names: tuple[tuple, ...] = ()

    @classmethod
    def from_json(cls, text: str) -> "RunContext":
        raw = json.loads(text)
        models = raw.get("models") or {}
        return cls(Settings.from_mapping(raw["settings"]), raw["input"]["contract"], raw["run_id"],
                   models.get("mode", "refit"), int(models.get("model_version", 1)),
                   tuple(int(v) for v in models.get("usable", [1])),
                   tuple(tuple(r) for r in raw.get("saved_names") or ()))

    @classmethod
    def from_dbt(cls, dbt: Any) -> "RunContext":
        return cls.from_json(getattr(dbt, "custseg_context"))

    @property
    def refit(self) -> bool:
        return self.mode == "refit"

    def version_at(self, versions, below: bool = False) -> int | None:
        """The latest usable version among `versions`, not above the run's (below: under it)."""
        top = self.model_version - 1 if below else self.model_version
        ok = [int(v) for v in set(versions) if int(v) in self.usable and int(v) <= top]
        return max(ok) if ok else None
