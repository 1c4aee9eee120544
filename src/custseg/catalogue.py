"""The one catalogue of features and kinds, read by the SQL models and by Python alike.

Two CSV files in `custseg/seeds/` hold it; dbt loads the same files as seeds
(`feature_catalogue`, `feature_kinds`), which the SQL models read when they compile, and
this module reads them from the package. Nothing here repeats them.

* `feature_kinds.csv`: one row per kind (amount, count, share, ratio, duration, age, ...):
  the valid range and the reject code for a value outside it, whether values are whole
  numbers, whether outliers are capped, the transform before clustering, how descriptions
  speak of it (multiples of the average, percentages or values) and how a missing value is
  imputed.
* `feature_catalogue.csv`: the features the product knows by name: the CC GENERAL preset
  columns (any input column called like one gets its kind, role and rules), the engineered
  features with the inputs they need and how they are computed (`ratio`, `sum`, `share`),
  with labels and phrases for names and descriptions. Input columns the catalogue does not
  know get their kind from `custseg.inputs.kinds`.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

#: Segment id of the customers a density model leaves unclustered.
NOISE_SEGMENT = 0

#: Roles a column of the input can have in the contract.
ROLE_ID, ROLE_FEATURE, ROLE_PROFILE, ROLE_CATEGORICAL, ROLE_IGNORED, ROLE_DROPPED = (
    "id", "feature", "profile", "categorical", "ignored", "dropped")


@dataclass(frozen=True)
class Kind:
    """What a kind of measure means: its rules, transform and wording."""

    kind: str
    description: str
    min_value: float | None
    max_value: float | None
    min_is_exclusive: bool
    is_integer: bool
    invalid_code: str | None
    non_integer_code: str | None
    is_capped: bool
    transform: str        # log1p | signed_log1p | identity | auto | one_hot
    scale: str            # ratio (multiples of the average) | share (percentages) | interval (values)
    impute: str           # median | round_median | unknown
    word_high: str
    word_low: str


@dataclass(frozen=True)
class CatalogueFeature:
    """A feature the product knows by name (a preset input column or an engineered one)."""

    name: str
    kind: str
    role: str             # id | feature (clustered) | profile (profiled only)
    operation: str        # input | ratio | sum | share
    inputs: tuple[str, ...]
    input_column: str | None
    is_required: bool
    min_value: float | None
    max_value: float | None
    is_integer: bool | None
    invalid_code: str | None
    impute_rule: str | None
    label: str
    phrase_high: str
    phrase_low: str
    description: str


def _read_csv(name: str) -> list[dict[str, str]]:
    with resources.files("custseg").joinpath("seeds", name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def _flag(text: str) -> bool | None:
    if not text.strip():
        return None
    if text.strip().lower() not in ("true", "false"):
        raise ValueError(f"expected true or false, got {text!r}")
    return text.strip().lower() == "true"


@functools.cache
def kinds() -> dict[str, Kind]:
    """Every kind, by name (from feature_kinds.csv)."""
    out = {}
    for row in _read_csv("feature_kinds.csv"):
        out[row["kind"]] = Kind(
            kind=row["kind"], description=row["description"], min_value=_number(row["min_value"]),
            max_value=_number(row["max_value"]), min_is_exclusive=bool(_flag(row["min_is_exclusive"])),
            is_integer=bool(_flag(row["is_integer"])), invalid_code=row["invalid_code"] or None,
            non_integer_code=row["non_integer_code"] or None, is_capped=bool(_flag(row["is_capped"])),
            transform=row["transform"], scale=row["scale"], impute=row["impute"],
            word_high=row["word_high"], word_low=row["word_low"])
    return out


@functools.cache
def features() -> dict[str, CatalogueFeature]:
    """Every catalogue feature, by name, in catalogue order (from feature_catalogue.csv)."""
    out = {}
    known = kinds()
    for row in _read_csv("feature_catalogue.csv"):
        if row["kind"] != "id" and row["kind"] not in known:
            raise ValueError(f"feature_catalogue.csv: {row['name']} has unknown kind {row['kind']!r}")
        out[row["name"]] = CatalogueFeature(
            name=row["name"], kind=row["kind"], role=row["role"], operation=row["operation"],
            inputs=tuple(row["inputs"].split()), input_column=row["input_column"] or None,
            is_required=bool(_flag(row["is_required"])), min_value=_number(row["min_value"]),
            max_value=_number(row["max_value"]), is_integer=_flag(row["is_integer"]),
            invalid_code=row["invalid_code"] or None, impute_rule=row["impute_rule"] or None,
            label=row["label"], phrase_high=row["phrase_high"], phrase_low=row["phrase_low"],
            description=row["description"])
    return out


def preset_by_input_column() -> dict[str, CatalogueFeature]:
    """Preset input columns by their input name, lower-cased (e.g. 'balance' -> balance)."""
    return {f.input_column.lower(): f for f in features().values() if f.operation == "input" and f.input_column}


def derived_features() -> list[CatalogueFeature]:
    """Engineered features, in catalogue order (computed when all their inputs exist)."""
    return [f for f in features().values() if f.operation in ("ratio", "sum", "share")]


def transaction_features() -> list[CatalogueFeature]:
    """Customer features computed from a transaction log (models/transactions), in catalogue
    order; each needs the canonical transaction columns in its `inputs`."""
    return [f for f in features().values() if f.operation == "transactions"]


def kind_of(kind: str) -> Kind:
    try:
        return kinds()[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; kinds are {', '.join(kinds())}") from None
