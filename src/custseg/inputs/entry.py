"""The entry point `resolve(request)`: the answer for one request of the SQL side (the macros,
through the dbt-duckdb plugin, or the Spark path), cached per process; and the profile a full
build keeps for the `score_changes` runs after it."""

from __future__ import annotations

import glob
import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

from ..errors import InputError
from ..postgres import explain_types, settings_for
from .contract import resolve_contract
from .csv_layout import InputOptions
from .formats import DATABASE_RELATIONS, inspect_database_relation, inspect_relation, inspect_source
from .profiling import ColumnProfile, profile_columns
from .source import Source
from .transaction_contract import resolve_transactions

#: The files read and their profiles, and the answers, of this process (see `resolve`).
_PROFILES: dict[str, tuple[Source, dict[str, ColumnProfile]]] = {}
_ANSWERS: dict[str, dict] = {}
_LOCK = threading.Lock()
#: The settings the contract depends on (the rest cannot change it).
CONTRACT_SETTINGS = ("customers_path", "transactions_path", "customers_relation", "transactions_relation",
                     "column_map", "id_column", "feature_columns", "categorical_columns", "ignore_columns",
                     "input_options", "as_of")


def _stamp(paths: Iterable[Path]) -> str:
    """The files' paths, sizes and modification times: a changed file changes the stamp."""
    parts = []
    for p in paths:
        try:
            s = p.stat()
            parts.append(f"{p}|{s.st_size}|{s.st_mtime_ns}")
        except OSError:
            parts.append(f"{p}|missing")
    return ";".join(parts)


def _ensure_transactions_sample(path: Path) -> None:
    """The embedded transaction sample (`transactions_path: sample`): generated on first use
    (deterministic, byte for byte), written aside and renamed into place."""
    if path.exists():
        return
    from ..transactions_sample import write_sample

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial.gz")
    write_sample(partial)
    os.replace(partial, path)


def _source_signature(source: Source) -> list:
    """What decides how the columns are read (names without case: SQL identifiers ignore it)."""
    return [source.role, source.kind, [c.lower() for c in source.columns],
            {k.lower(): v for k, v in source.column_types.items()}, source.delimiter, source.whitespace,
            source.header, source.encoding]


def _store_profiles(path: str, key: str, source: Source, profiles: dict[str, ColumnProfile]) -> None:
    """Keep the profile of a full build beside its working database (`<database>.input-profile.json`)."""
    data = {"key": key, "source": _source_signature(source), "profiles": [asdict(p) for p in profiles.values()]}
    partial = f"{path}.{os.getpid()}.partial"
    try:
        with open(partial, "w", encoding="utf-8") as fh:
            json.dump(data, fh, default=str)
        os.replace(partial, path)
    except OSError:
        pass   # an optimisation only: score_changes profiles the file itself


def _stored_profiles(path: str | None, key: str, source: Source) -> dict[str, ColumnProfile] | None:
    """segment_mode score_changes: the last full build's profile, when it read the same columns the
    same way, so tonight's file is read with the column kinds and formats the models were fitted on."""
    try:
        with open(path or "", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if data.get("key") != key or data.get("source") != json.loads(json.dumps(_source_signature(source), default=str)):
        return None
    names = {c.lower(): c for c in source.columns}   # tonight's spelling
    profiles = [ColumnProfile(**{**p, "name": names[p["name"].lower()]}) for p in data["profiles"]]
    return {p.name: p for p in profiles}


def resolve(request: dict) -> dict:
    """The whole answer for one request from the SQL side: {'contract': ...} or {'error': one line}.

    request: {'settings': validated settings, 'role': 'customers'|'transactions',
              'seed_path': path of the embedded sample's CSV, 'seed_label': ..., 'cache_dir': ...,
              'profile_store': where a build keeps its profile, 'reuse_profile': read it (score_changes),
              for a relation of the build's database: 'relations' ({role: what dbt's graph says of
              it}) and 'connection' (the build's DuckDB connection)}
    The file inspection and profile are cached per process while the files are unchanged,
    and the answer per relevant setting, so the models of one build pay for them once.
    """
    settings = {k: request["settings"].get(k) for k in CONTRACT_SETTINGS}
    role = request.get("role", "customers")
    setting = "customers_path" if role == "customers" else "transactions_path"
    pattern = settings.get(setting)
    if role == "transactions" and pattern == "sample":
        pattern = request.get("transactions_sample_path")
        _ensure_transactions_sample(Path(pattern))
    relation = settings.get(setting.replace("_path", "_relation"))
    stamp_paths = ([Path(p) for p in sorted(glob.glob(pattern))]
                   if pattern and any(c in pattern for c in "*?[") and not Path(pattern).is_file()
                   else [Path(pattern)] if pattern else [Path(request.get("seed_path", ""))])
    # a relation is read once per dbt invocation (a table has no modification time to compare)
    stamp = f"relation {request.get('invocation_id')}" if relation else _stamp(stamp_paths)
    key = json.dumps([settings, role, request.get("seed_path"), request.get("transactions_sample_path")],
                     sort_keys=True, default=str) + stamp
    with _LOCK:
        if key in _ANSWERS:
            return _ANSWERS[key]
        try:
            options = InputOptions.from_setting(settings.get("input_options"))
            profile_key = json.dumps([pattern, role, asdict(options), request.get("seed_path")], default=str) + stamp
            if profile_key not in _PROFILES:
                _PROFILES[profile_key] = _read(request, role, setting, pattern, relation, options)
            source, profiles = _PROFILES[profile_key]
            answer = _answer(settings, role, source, profiles)
        except InputError as err:
            answer = {"error": str(err)}
        _ANSWERS[key] = answer
        return answer


def _read(request: dict, role: str, setting: str, pattern: str | None, relation: dict | None,
          options: InputOptions) -> tuple[Source, dict[str, ColumnProfile]]:
    """The input found, described and profiled (or given the last full build's profile)."""
    seed_path = Path(request["seed_path"]) if request.get("seed_path") else None
    connection = None
    if relation and next(iter(relation)) in DATABASE_RELATIONS:
        connection = request.get("connection")
        found = (request.get("relations") or {}).get(role)
        if connection is None or not found:
            raise InputError(f"{setting.replace('_path', '_relation')}: a relation of the build's database is read "
                             "by the dbt-duckdb plugin of a build (custseg.dbt_plugin), not here.")
        source = inspect_database_relation(found, role, setting.replace("_path", "_relation"), connection)
    elif relation:
        source = inspect_relation(relation, role, setting.replace("_path", "_relation"),
                                  Path(request.get("cache_dir", "target")))
    else:
        source = inspect_source(pattern, role, setting, options, Path(request.get("cache_dir", "target")),
                                seed_path, request.get("seed_label", ""))
    # the file's columns, not its name, decide whether the last build's profile applies
    store, store_key = request.get("profile_store"), json.dumps([role, asdict(options)], default=str)
    profiles = _stored_profiles(store, store_key, source) if request.get("reuse_profile") else None
    if profiles is None:
        profiles = profile_columns(source, connection=connection)
        if store and not request.get("reuse_profile"):
            _store_profiles(store, store_key, source, profiles)
    return source, profiles


def _answer(settings: dict, role: str, source: Source, profiles: dict[str, ColumnProfile]) -> dict:
    """The contract (and for a transaction log its own contract) of an input read."""
    read_settings = settings
    if source.type_notes:   # PostgreSQL columns of types the product cannot use
        read_settings = settings_for(settings, source.type_notes, role, source.label)
    if role == "transactions":
        answer = resolve_transactions(read_settings, source, profiles)
    else:
        answer = {"contract": resolve_contract(read_settings, source, profiles)}
    if source.type_notes:
        explain_types(answer, source.type_notes, settings)
    return answer
