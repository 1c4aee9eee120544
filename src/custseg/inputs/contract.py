"""The contract of a customer table: the role, kind and rules of every input column (the
customer id, a feature with its kind, a profiled-only measure, a categorical attribute,
ignored, or dropped as empty or constant) and why: declared in the vars, known from the
catalogue (the CC GENERAL preset), or inferred from the name and the values.

`resolve_contract` takes these steps, each a function below:
1. `_mapped_names`: column_map, which only renames;
2. `_declared`: the columns the vars give a role, checked against the input and each other;
3. `_id_column`: the customer id, declared, named CUST_ID, or inferred (kinds.infer_id);
4. `_preset`: the CC GENERAL preset, when the input is a CC GENERAL file;
5. `_column`, per input column: declared, from the preset, or inferred (columns.infer_column);
6. `_derived_features`: the catalogue's engineered features whose inputs are present;
7. `_require_two_features`: a customer table clusters on two features at least.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .. import catalogue
from ..catalogue import ROLE_CATEGORICAL, ROLE_DROPPED, ROLE_FEATURE, ROLE_ID, ROLE_IGNORED, ROLE_PROFILE
from ..errors import InputError
from .columns import ContractColumn, drop_if_empty, infer_column, set_feature
from .kinds import ID_NAME, date_formats_for, humanize, infer_id, infer_kind, snake_case, whole_number_ids
from .profiling import ColumnProfile
from .source import Source, source_dict
from .values import MISSING_TOKENS, NUMBER_FORMATS, NUMBER_PATTERN

#: Columns of the CC GENERAL preset a file needs (without its CUST_ID) for the preset to apply.
PRESET_MIN_COLUMNS = 3
#: What customer_id holds for a table with no id column: the row's number in the input.
ROW_NUMBER_ID = "row_number"
#: The columns the staging models add: no input column is given one of these names (nor the
#: name of a derived feature of the catalogue).
_MODEL_COLUMNS = ("customer_id", "source_row_number", "reject_reasons", "reject_detail", "is_valid", "record_hash",
                  "source_row_count", "imputed_columns", "outlier_columns", "run_id", "line_span", "line_customer_id")


@dataclass
class _Declared:
    """What the vars say of the input's columns (named as the input spells them)."""

    names: dict[str, str]                 # input column -> its name after column_map
    by_mapped: dict[str, str]             # name after column_map, lower case -> input column
    ignored: list[str]                    # ignore_columns
    categorical: list[str] | None         # categorical_columns; None when the var is not set
    feature_kinds: dict[str, str | None]  # feature_columns -> the kind declared (None: inferred)
    features_set: bool                    # feature_columns is set: other measures are profiled only
    id_setting: str | None                # id_column


def resolve_contract(settings: dict, source: Source, profiles: dict[str, ColumnProfile]) -> dict:
    """The role, kind and rules of every input column (see the module docstring)."""
    role = source.role
    names = _mapped_names(settings, source)
    declared = _declared(settings, source, names)
    id_col = _id_column(source, profiles, declared)
    preset = _preset(source, names, id_col)

    warnings: list[str] = []
    above = max((f.preamble_lines for f in source.files), default=0)
    if above:
        warnings.append(f"the first {above} line(s) of {source.label}, above its header, were skipped (a title, "
                        "notes, comments or blank lines)")
    used_names = set(_MODEL_COLUMNS) | {f.name for f in catalogue.derived_features()}
    # a preset column keeps its name, even when another header snake_cases to it first
    for col in source.columns:
        known = preset.get(names[col].lower())
        if known and col != id_col and col not in declared.ignored and col not in (declared.categorical or []):
            used_names.add(known.name)
    columns = [_column(position, col, profiles.get(col), declared, id_col, preset, used_names, warnings)
               for position, col in enumerate(source.columns, start=1)]

    id_source = "column"
    if role == "customers" and id_col is None:
        id_source = ROW_NUMBER_ID
        warnings.append(f"no column of {source.label} is named like a customer id, so customers are numbered by "
                        "their row (1 = the first data row); name the id with id_column if there is one (history "
                        "and score runs then follow customers, not rows)")
    derived = _derived_features(columns)
    if role == "customers":
        _require_two_features(source, columns, derived)
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


def _mapped_names(settings: dict, source: Source) -> dict[str, str]:
    """{input column: its name after column_map}. column_map renames only."""
    column_map: dict[str, str] = dict(settings.get("column_map") or {})
    by_lower = {c.lower(): c for c in source.columns}
    renamed: dict[str, str] = {}
    targets: dict[str, str] = {}
    for src, target in column_map.items():
        real = by_lower.get(src.lower())
        if real is None:
            raise InputError(f"column_map names '{src}', but {source.label} has no such column (columns: "
                             f"{', '.join(source.columns)}).")
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
    return {c: renamed.get(c, c) for c in source.columns}


def _declared(settings: dict, source: Source, names: dict[str, str]) -> _Declared:
    """The columns ignore_columns, categorical_columns, feature_columns (with their kinds) and
    id_column name, each of them in the input, none in two of the lists."""
    by_mapped = {names[c].lower(): c for c in source.columns}

    def listed(var: str) -> list[str]:
        out = []
        value = settings.get(var)
        for name in [] if value is None else list(value):
            key = name.lower()
            if key not in by_mapped:
                raise InputError(f"{var} names '{name}', but {source.label} has no such column (columns: "
                                 f"{', '.join(names[c] for c in source.columns)}).")
            out.append(by_mapped[key])
        return out

    ignored = listed("ignore_columns")
    categorical = listed("categorical_columns") if settings.get("categorical_columns") is not None else None
    feature_setting = settings.get("feature_columns")
    feature_kinds: dict[str, str | None] = {}
    if isinstance(feature_setting, dict):
        for name, kind in feature_setting.items():
            real = declared_one(by_mapped, names, source, "feature_columns", name)
            if kind is not None and kind not in catalogue.kinds():
                raise InputError(f"feature_columns gives '{name}' the kind '{kind}'; kinds are "
                                 f"{', '.join(catalogue.kinds())}.")
            feature_kinds[real] = kind
    elif feature_setting is not None:
        for name in feature_setting:
            feature_kinds[declared_one(by_mapped, names, source, "feature_columns", name)] = None

    for col in ignored:
        if col in feature_kinds:
            raise InputError(f"column '{names[col]}' is both in ignore_columns and in feature_columns; keep it in one.")
        if categorical and col in categorical:
            raise InputError(f"column '{names[col]}' is both in ignore_columns and in categorical_columns; "
                             "keep it in one.")
    for col in categorical or []:
        if col in feature_kinds:
            raise InputError(f"column '{names[col]}' is both in categorical_columns and in feature_columns; keep it "
                             "in one (declare it in feature_columns with kind 'category' to cluster on it).")
    return _Declared(names, by_mapped, ignored, categorical, feature_kinds, feature_setting is not None,
                     settings.get("id_column"))


def declared_one(by_mapped: dict, names: dict, source: Source, var: str, name: str) -> str:
    """The input column a var names (after column_map, ignoring case)."""
    key = str(name).lower()
    if key not in by_mapped:
        raise InputError(f"{var} names '{name}', but {source.label} has no such column (columns: "
                         f"{', '.join(names[c] for c in source.columns)}).")
    return by_mapped[key]


def _id_column(source: Source, profiles: dict[str, ColumnProfile], d: _Declared) -> str | None:
    """The customer id column: id_column, else CUST_ID, else inferred; None when there is none
    (and for a transaction log, whose customers are built from its customer_id)."""
    if source.role == "transactions":
        id_col = None
    elif d.id_setting:
        id_col = declared_one(d.by_mapped, d.names, source, "id_column", d.id_setting)
    elif "cust_id" in d.by_mapped:
        id_col = d.by_mapped["cust_id"]
    else:
        id_col = infer_id(source, d.names, profiles, set(d.ignored) | set(d.feature_kinds) | set(d.categorical or []))
    if id_col is not None and (id_col in d.ignored or id_col in d.feature_kinds or id_col in (d.categorical or [])):
        raise InputError(f"column '{d.names[id_col]}' is the customer id and cannot also be in ignore_columns, "
                         "feature_columns or categorical_columns.")
    return id_col


def _preset(source: Source, names: dict[str, str], id_col: str | None) -> dict:
    """The CC GENERAL preset by input column name (lower case), or {} when it does not apply.

    The preset (names, kinds and row rules such as "BALANCE is not negative") describes CC
    GENERAL files: ones with its CUST_ID or at least PRESET_MIN_COLUMNS of its columns.
    Elsewhere a column that happens to share a name (a bank's balance, which may be negative;
    a telecom's tenure, 0 for a new customer) is inferred like any other."""
    preset = catalogue.preset_by_input_column() if source.role == "customers" else {}
    shared = [c for c in source.columns if names[c].lower() in preset]
    if not (id_col is not None and names[id_col].lower() == "cust_id") and len(shared) < PRESET_MIN_COLUMNS:
        return {}
    return preset


def _unique_name(base: str, used: set[str]) -> str:
    """`base`, or `base_2`, `base_3`, ... when it is taken; taken from then on."""
    name, i = base, 2
    while name in used:
        name = f"{base}_{i}"
        i += 1
    used.add(name)
    return name


def _column(position: int, col: str, p: ColumnProfile | None, d: _Declared, id_col: str | None, preset: dict,
            used: set[str], warnings: list[str]) -> ContractColumn:
    """The contract entry of one input column, in this order of precedence: the id, declared
    (ignore_columns, feature_columns, categorical_columns), the preset, inferred."""
    mapped = d.names[col]
    entry = ContractColumn(mapped, col, position, "", ROLE_IGNORED, None, p.dtype if p else "text", "",
                           humanize(mapped), number_format=p.number_format if p else None)
    known = preset.get(mapped.lower())
    if col == id_col:
        entry.name, entry.role, entry.kind = "customer_id", ROLE_ID, "id"
        entry.reason = ("declared (id_column)" if d.id_setting else "named CUST_ID" if mapped.lower() == "cust_id"
                        else "inferred: named like an e-mail address or user name"
                        if not ID_NAME.search(snake_case(mapped))
                        else "inferred: named like an id, unique values" if p and p.distinct == p.non_missing
                        else "inferred: named like an id, mostly unique values (repeats are de-duplicated)")
        entry.is_required = True
    elif col in d.ignored:
        entry.name = _unique_name(snake_case(mapped), used)
        entry.reason = "declared (ignore_columns)"
    elif col in d.feature_kinds:
        _declared_feature(entry, p, d.feature_kinds[col], known)
        entry.name = known.name if known else _unique_name(snake_case(mapped), used)
        if known:
            used.add(known.name)
    elif d.categorical is not None and col in d.categorical:
        entry.name = _unique_name(snake_case(mapped), used)
        entry.role, entry.kind, entry.reason = ROLE_CATEGORICAL, None, "declared (categorical_columns)"
    elif known is not None:
        role = known.role if not d.features_set else ROLE_PROFILE
        why = f"CC GENERAL column {known.input_column} ({known.kind})"
        if d.features_set and known.role == ROLE_FEATURE:
            why += "; not in feature_columns, so profiled only"
        set_feature(entry, known.kind, role, known, p, why)
        entry.name = known.name
        used.add(known.name)
        drop_if_empty(entry, p, warnings)
    else:
        infer_column(entry, p, d.features_set, d.categorical is not None, id_col, warnings)
        entry.name = _unique_name(("days_since_" if entry.dtype in ("text", "date") and entry.kind == "duration"
                                   and entry.date_formats else "") + snake_case(mapped), used)
    return entry


def _declared_feature(entry: ContractColumn, p: ColumnProfile | None, declared_kind: str | None, known) -> None:
    """A column of feature_columns: clustered, with the kind declared, the preset's, or inferred."""
    mapped = entry.input_column
    kind = declared_kind or (known.kind if known else None)
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
    elif declared_kind:
        why += f" with kind {kind}"
    set_feature(entry, kind, ROLE_FEATURE, known, p, why)


def _derived_features(columns: list[ContractColumn]) -> list[dict]:
    """The catalogue's engineered features whose inputs are all features or measures here."""
    present = {c.name for c in columns if c.role in (ROLE_FEATURE, ROLE_PROFILE)}
    derived = []
    for f in catalogue.derived_features():
        if all(i in present for i in f.inputs):
            k = catalogue.kind_of(f.kind)
            derived.append({"name": f.name, "kind": f.kind, "role": f.role, "operation": f.operation,
                            "inputs": list(f.inputs), "label": f.label, "phrase_high": f.phrase_high,
                            "phrase_low": f.phrase_low, "description": f.description, "is_capped": k.is_capped,
                            "transform": k.transform, "scale": k.scale})
    return derived


def _require_two_features(source: Source, columns: list[ContractColumn], derived: list[dict]) -> None:
    """Refuse a customer table with fewer than two features to cluster on, naming what was dropped."""
    clustered = [c for c in columns if c.role == ROLE_FEATURE] + [d for d in derived if d["role"] == ROLE_FEATURE]
    if len(clustered) < 2:
        usable = [c.input_column for c in columns if c.role == ROLE_FEATURE]
        dropped = [f"{c.input_column} ({c.reason})" for c in columns if c.role == ROLE_DROPPED]
        raise InputError(f"fewer than two usable features in {source.label}: "
                         f"{', '.join(usable) if usable else 'none'}"
                         f"{'; dropped: ' + ', '.join(dropped) if dropped else ''}. Declare numeric columns with "
                         "feature_columns, or check ignore_columns.")
