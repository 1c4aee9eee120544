"""What the user's input is, and what its columns mean: the input contract.

Called when dbt compiles the staging models (through the dbt-duckdb plugin in
`custseg.dbt_plugin`), so every model of one invocation sees the same answer:

1. `inspect_source`: the file(s) behind `customers_path` / `transactions_path` (or the
   embedded sample): format (CSV or Parquet), compression (by content, not by name),
   encoding (UTF-8 with or without a byte-order mark, UTF-16, Latin-1, or Windows-1252,
   which is converted to UTF-8 first), delimiter, header, the column names as the file
   spells them, and an independent count of the lines (no comment characters, nothing
   skipped: the row-conservation test compares it with what the parser produced).
2. `profile_columns`: statistics of each column over the first rows, read the way the
   models read them (text), in an in-memory DuckDB of its own.
3. `resolve_contract`: the role of every column (the customer id, a feature with its kind,
   a profiled-only measure, a categorical attribute, ignored, or dropped as empty or
   constant) and why: declared in the vars, known from the catalogue (the CC GENERAL
   preset), or inferred from the name and the values.

Every problem a user can fix ends in an `InputError` with one line naming the file,
column, value or setting and what to do.
"""

from __future__ import annotations

import codecs
import glob
import hashlib
import json
import math
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from .. import catalogue
from ..catalogue import (ROLE_CATEGORICAL, ROLE_DROPPED, ROLE_FEATURE, ROLE_ID, ROLE_IGNORED, ROLE_PROFILE)
from ..errors import InputError
from ..sql import quote_identifier
from ..sql import sql_literal as sql_string
from .columns import MAX_CATEGORIES, ContractColumn, drop_if_empty, infer_column, set_feature
from .kinds import ID_NAME, date_formats_for, humanize, infer_id, infer_kind, snake_case, tokens, whole_number_ids
from .csv_layout import DELIMITERS, InputOptions, first_lines, lines_above_header, sniff_layout, split_line
from .formats import inspect_relation, inspect_source, parquet_columns
from .files import (cached_copy, cr_to_lf_copy, detect_compression, detect_encoding, expand_pattern,
                    HEAD_BYTES, literal_path_sql, magic_bytes, read_chunks, scan_bytes, transcode_cp1252, utf16_lines)
from .profiling import PROFILE_ROWS, ColumnProfile, profile_columns
from .lines import MAX_SET_ASIDE, check_lines, physical_lines_at, repaired_copy, set_aside_rows, unreadable_reason
from .source import FileInfo, Source, source_dict
from .values import (DATE_FORMATS, DATE_SHAPE, FOUR_DIGITS, MISSING_TOKENS, NUMBER_FORMATS, NUMBER_PATTERN,
                     NUMERIC_SHARE, missing_condition, number_text_sql)


# --------------------------------------------------------------------------- the files


# --------------------------------------------------------------------------- profiling


# --------------------------------------------------------------------------- the contract


#: Columns of the CC GENERAL preset a file needs (without its CUST_ID) for the preset to apply.
PRESET_MIN_COLUMNS = 3
#: What customer_id holds for a table with no id column: the row's number in the input.
ROW_NUMBER_ID = "row_number"


def _settings_list(settings: dict, key: str) -> list[str]:
    value = settings.get(key)
    if value is None:
        return []
    return list(value)


def resolve_contract(settings: dict, source: Source, profiles: dict[str, ColumnProfile]) -> dict:
    """The role, kind and rules of every input column (see the module docstring)."""
    role = source.role
    setting = "customers_path" if role == "customers" else "transactions_path"
    column_map: dict[str, str] = dict(settings.get("column_map") or {})
    by_lower = {c.lower(): c for c in source.columns}
    found = ", ".join(source.columns)

    def must_exist(var: str, name: str) -> str:
        key = name.lower()
        if key not in by_lower:
            raise InputError(f"{var} names '{name}', but {source.label} has no such column (columns: {found}).")
        return by_lower[key]

    # column_map: renames only.
    renamed: dict[str, str] = {}
    targets: dict[str, str] = {}
    for src, target in column_map.items():
        real = must_exist("column_map", src)
        t = target.lower()
        if t in targets:
            raise InputError(f"column_map maps both '{targets[t]}' and '{real}' onto '{target}'; map one column "
                             "onto each name.")
        targets[t] = real
        renamed[real] = target
    for real, target in renamed.items():
        clash = by_lower.get(target.lower())
        if clash is not None and clash not in renamed and clash != real:
            raise InputError(f"column_map renames '{real}' to '{target}', but {source.label} already has a column "
                             f"'{clash}'; map or ignore that one too.")
    names = {c: renamed.get(c, c) for c in source.columns}          # file name -> name after column_map
    by_mapped = {names[c].lower(): c for c in source.columns}

    def declared(var: str) -> list[str]:
        out = []
        for name in _settings_list(settings, var):
            key = name.lower()
            if key not in by_mapped:
                raise InputError(f"{var} names '{name}', but {source.label} has no such column (columns: "
                                 f"{', '.join(names[c] for c in source.columns)}).")
            out.append(by_mapped[key])
        return out

    ignored = declared("ignore_columns")
    categorical_declared = declared("categorical_columns") if settings.get("categorical_columns") is not None else None
    feature_setting = settings.get("feature_columns")
    feature_kinds_declared: dict[str, str | None] = {}
    if isinstance(feature_setting, dict):
        for name, kind in feature_setting.items():
            real = declared_one(by_mapped, names, source, "feature_columns", name)
            if kind is not None and kind not in catalogue.kinds():
                raise InputError(f"feature_columns gives '{name}' the kind '{kind}'; kinds are "
                                 f"{', '.join(catalogue.kinds())}.")
            feature_kinds_declared[real] = kind
    elif feature_setting is not None:
        for name in feature_setting:
            feature_kinds_declared[declared_one(by_mapped, names, source, "feature_columns", name)] = None

    id_setting = settings.get("id_column")
    for col in ignored:
        if col in feature_kinds_declared:
            raise InputError(f"column '{names[col]}' is both in ignore_columns and in feature_columns; keep it in one.")
        if categorical_declared and col in categorical_declared:
            raise InputError(f"column '{names[col]}' is both in ignore_columns and in categorical_columns; keep it in one.")
    for col in categorical_declared or []:
        if col in feature_kinds_declared:
            raise InputError(f"column '{names[col]}' is both in categorical_columns and in feature_columns; keep it "
                             "in one (declare it in feature_columns with kind 'category' to cluster on it).")

    # --- the id
    if role == "transactions":
        id_col = None
    elif id_setting:
        id_col = declared_one(by_mapped, names, source, "id_column", id_setting)
    elif "cust_id" in by_mapped:
        id_col = by_mapped["cust_id"]
    else:
        id_col = infer_id(source, names, profiles, set(ignored) | set(feature_kinds_declared)
                           | set(categorical_declared or []))
    if id_col is not None and (id_col in ignored or id_col in feature_kinds_declared
                               or id_col in (categorical_declared or [])):
        raise InputError(f"column '{names[id_col]}' is the customer id and cannot also be in ignore_columns, "
                         "feature_columns or categorical_columns.")

    # The CC GENERAL preset (names, kinds and row rules such as "BALANCE is not negative")
    # describes CC GENERAL files: ones with its CUST_ID or at least PRESET_MIN_COLUMNS of its
    # columns. Elsewhere a column that happens to share a name (a bank's balance, which may
    # be negative; a telecom's tenure, 0 for a new customer) is inferred like any other.
    preset = catalogue.preset_by_input_column() if role == "customers" else {}
    shared = [c for c in source.columns if names[c].lower() in preset]
    if not (id_col is not None and names[id_col].lower() == "cust_id") and len(shared) < PRESET_MIN_COLUMNS:
        preset = {}

    columns: list[ContractColumn] = []
    warnings: list[str] = []
    above = max((f.preamble_lines for f in source.files), default=0)
    if above:
        warnings.append(f"the first {above} line(s) of {source.label}, above its header, were skipped (a title, "
                        "notes, comments or blank lines)")
    used_names: set[str] = {"customer_id", "source_row_number", "reject_reasons", "reject_detail", "is_valid",
                            "record_hash", "source_row_count", "imputed_columns", "outlier_columns", "run_id",
                            "line_span", "line_customer_id"}
    for f in catalogue.derived_features():
        used_names.add(f.name)
    # a preset column keeps its name, even when another header snake_cases to it first
    for col in source.columns:
        known = preset.get(names[col].lower())
        if known and col != id_col and col not in ignored and col not in (categorical_declared or []):
            used_names.add(known.name)

    def unique_name(base: str) -> str:
        name, i = base, 2
        while name in used_names:
            name = f"{base}_{i}"
            i += 1
        used_names.add(name)
        return name

    for position, col in enumerate(source.columns, start=1):
        mapped = names[col]
        p = profiles.get(col)
        entry = ContractColumn(mapped, col, position, "", ROLE_IGNORED, None, p.dtype if p else "text", "",
                               humanize(mapped), number_format=p.number_format if p else None)
        if col == id_col:
            entry.name, entry.role, entry.kind = "customer_id", ROLE_ID, "id"
            entry.reason = ("declared (id_column)" if id_setting else "named CUST_ID" if mapped.lower() == "cust_id"
                            else "inferred: named like an e-mail address or user name"
                            if not ID_NAME.search(snake_case(mapped))
                            else "inferred: named like an id, unique values" if p and p.distinct == p.non_missing
                            else "inferred: named like an id, mostly unique values (repeats are de-duplicated)")
            entry.is_required = True
            columns.append(entry)
            continue
        if col in ignored:
            entry.name = unique_name(snake_case(mapped))
            entry.reason = "declared (ignore_columns)"
            columns.append(entry)
            continue
        known = preset.get(mapped.lower())
        if col in feature_kinds_declared:
            kind = feature_kinds_declared[col] or (known.kind if known else None)
            why = "declared (feature_columns)"
            if kind is None:
                if p is None or p.numbers == 0:
                    if p is not None and p.non_missing and date_formats_for(p):
                        kind, why = "duration", "declared (feature_columns); a date, as days before the latest one"
                    else:
                        raise InputError(f"feature_columns names '{mapped}', but it holds no numbers (e.g. "
                                         f"{', '.join(repr(v) for v in (p.top_values[:3] if p else []))}); give it the "
                                         "kind 'category' to cluster on its values, or move it to categorical_columns.")
                else:
                    kind, inferred_why = infer_kind(mapped, p)
                    why += f"; kind inferred: {inferred_why}"
            elif feature_kinds_declared[col]:
                why += f" with kind {kind}"
            set_feature(entry, kind, ROLE_FEATURE, known, p, why)
            entry.name = known.name if known else unique_name(snake_case(mapped))
            if known:
                used_names.add(known.name)
            columns.append(entry)
            continue
        if categorical_declared is not None and col in categorical_declared:
            entry.name = unique_name(snake_case(mapped))
            entry.role, entry.kind, entry.reason = ROLE_CATEGORICAL, None, "declared (categorical_columns)"
            columns.append(entry)
            continue
        if known is not None:
            role_here = known.role if feature_setting is None else ROLE_PROFILE
            why = f"CC GENERAL column {known.input_column} ({known.kind})"
            if feature_setting is not None and known.role == ROLE_FEATURE:
                why += "; not in feature_columns, so profiled only"
            set_feature(entry, known.kind, role_here, known, p, why)
            entry.name = known.name
            used_names.add(known.name)
            drop_if_empty(entry, p, warnings)
            columns.append(entry)
            continue
        infer_column(entry, p, feature_setting is not None, categorical_declared is not None, id_col, warnings)
        entry.name = unique_name(("days_since_" if entry.dtype in ("text", "date") and entry.kind == "duration"
                                  and entry.date_formats else "") + snake_case(mapped))
        columns.append(entry)

    id_source = "column"
    if role == "customers" and id_col is None:
        id_source = ROW_NUMBER_ID
        warnings.append(f"no column of {source.label} is named like a customer id, so customers are numbered by "
                        "their row (1 = the first data row); name the id with id_column if there is one (history "
                        "and score runs then follow customers, not rows)")

    present = {c.name for c in columns if c.role in (ROLE_FEATURE, ROLE_PROFILE)}
    derived = []
    for f in catalogue.derived_features():
        if all(i in present for i in f.inputs):
            k = catalogue.kind_of(f.kind)
            derived.append({"name": f.name, "kind": f.kind, "role": f.role, "operation": f.operation,
                            "inputs": list(f.inputs), "label": f.label, "phrase_high": f.phrase_high,
                            "phrase_low": f.phrase_low, "description": f.description, "is_capped": k.is_capped,
                            "transform": k.transform, "scale": k.scale})

    clustered = [c for c in columns if c.role == ROLE_FEATURE] + [d for d in derived if d["role"] == ROLE_FEATURE]
    if role == "customers" and len(clustered) < 2:
        usable = [c.input_column for c in columns if c.role == ROLE_FEATURE]
        dropped = [f"{c.input_column} ({c.reason})" for c in columns if c.role == ROLE_DROPPED]
        raise InputError(f"fewer than two usable features in {source.label}: "
                         f"{', '.join(usable) if usable else 'none'}"
                         f"{'; dropped: ' + ', '.join(dropped) if dropped else ''}. Declare numeric columns with "
                         "feature_columns, or check ignore_columns.")
    return {
        "role": role,
        "source": source_dict(source),
        "columns": [asdict(c) for c in columns],
        "derived": derived,
        "warnings": warnings,
        "id_source": id_source,
        "id_whole_numbers": bool(id_col is not None and whole_number_ids(profiles.get(id_col))),
        "missing_tokens": list(MISSING_TOKENS),
        "number_pattern": NUMBER_PATTERN,
        "number_formats": NUMBER_FORMATS,
    }


def declared_one(by_mapped: dict, names: dict, source: Source, var: str, name: str) -> str:
    key = str(name).lower()
    if key not in by_mapped:
        raise InputError(f"{var} names '{name}', but {source.label} has no such column (columns: "
                         f"{', '.join(names[c] for c in source.columns)}).")
    return by_mapped[key]


# --------------------------------------------------------------------------- entry point
_PROFILES: dict[str, tuple[Source, dict[str, ColumnProfile]]] = {}
_ANSWERS: dict[str, dict] = {}
_LOCK = threading.Lock()
#: The settings the contract depends on (the rest cannot change it).
CONTRACT_SETTINGS = ("customers_path", "transactions_path", "customers_relation", "transactions_relation",
                     "column_map", "id_column", "feature_columns", "categorical_columns", "ignore_columns", "input_options", "as_of")


def _stamp(paths: Iterable[Path]) -> str:
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
              'profile_store': where a build keeps its profile, 'reuse_profile': read it (score_changes)}
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
                seed_path = Path(request["seed_path"]) if request.get("seed_path") else None
                if relation:
                    source = inspect_relation(relation, role, setting.replace("_path", "_relation"),
                                              Path(request.get("cache_dir", "target")))
                else:
                    source = inspect_source(pattern, role, setting, options, Path(request.get("cache_dir", "target")),
                                            seed_path, request.get("seed_label", ""))
                # the file's columns, not its name, decide whether the last build's profile applies
                store, store_key = request.get("profile_store"), json.dumps([role, asdict(options)], default=str)
                profiles = _stored_profiles(store, store_key, source) if request.get("reuse_profile") else None
                if profiles is None:
                    profiles = profile_columns(source)
                    if store and not request.get("reuse_profile"):
                        _store_profiles(store, store_key, source, profiles)
                _PROFILES[profile_key] = (source, profiles)
            source, profiles = _PROFILES[profile_key]
            read_settings = settings
            if source.type_notes:   # PostgreSQL columns of types the product cannot use
                from ..postgres import explain_types, settings_for

                read_settings = settings_for(settings, source.type_notes, role, source.label)
            if role == "transactions":
                from ..transactions import resolve_transactions

                answer = resolve_transactions(read_settings, source, profiles)
            else:
                answer = {"contract": resolve_contract(read_settings, source, profiles)}
            if source.type_notes:
                explain_types(answer, source.type_notes, settings)
        except InputError as err:
            answer = {"error": str(err)}
        _ANSWERS[key] = answer
        return answer
