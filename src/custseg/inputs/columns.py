"""One column of the input contract (`ContractColumn`): the rules its kind gives it
(`set_feature`), and the role and kind of a column nobody described (`infer_column`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import catalogue
from ..catalogue import ROLE_CATEGORICAL, ROLE_DROPPED, ROLE_FEATURE, ROLE_IGNORED, ROLE_PROFILE
from .kinds import CODE_WORDS, CONTACT_WORDS, ID_NAME, date_formats_for, humanize, infer_kind, snake_case, tokens
from .profiling import ColumnProfile
from .values import MISSING_TOKENS, NUMERIC_SHARE

#: Text columns with at most this many distinct values (and mostly repeated values) are
#: categorical attributes; other text (names, free text, e-mails) is ignored.
MAX_CATEGORIES = 30


@dataclass
class ContractColumn:
    input_column: str         # as the input spells it (after column_map: the mapped name)
    source_column: str        # as the file spells it (before column_map)
    position: int
    name: str                 # the column in stg_customers / customer_features
    role: str
    kind: str | None
    dtype: str                # text | number | date | boolean (how the input stores it)
    reason: str
    label: str
    phrase_high: str = ""
    phrase_low: str = ""
    date_formats: list[str] = field(default_factory=list)
    number_format: str | None = None   # a key of NUMBER_FORMATS (text numbers with separators or signs)
    min_value: float | None = None
    max_value: float | None = None
    min_is_exclusive: bool = False
    is_integer: bool = False
    invalid_code: str | None = None
    non_integer_code: str | None = None
    is_required: bool = False
    impute: str = "median"
    impute_from: str | None = None
    is_capped: bool = False
    transform: str = "identity"
    scale: str = "interval"


def set_feature(entry: ContractColumn, kind: str, role: str, known, p: ColumnProfile | None, why: str) -> None:
    k = catalogue.kind_of(kind)
    entry.role, entry.kind, entry.reason = role, kind, why
    if p is not None and p.number_format:
        shown = next((v for v in p.top_values if v.strip().lower() not in MISSING_TOKENS), "")
        entry.reason += (f"; written like {shown!r}: read with " + ("a decimal comma" if p.number_format ==
                         "decimal_comma" else "thousands separators") + ", currency and percent signs dropped")
    entry.min_value, entry.max_value, entry.min_is_exclusive = k.min_value, k.max_value, k.min_is_exclusive
    entry.is_integer, entry.invalid_code, entry.non_integer_code = k.is_integer, k.invalid_code, k.non_integer_code
    entry.impute, entry.is_capped, entry.transform, entry.scale = k.impute, k.is_capped, k.transform, k.scale
    high, low = k.word_high, k.word_low
    if kind == "count" and set(entry.label.split()) & {"count", "number"}:
        high, low = "high", "low"    # "many store purchases", but "high transaction count"
    entry.phrase_high = f"{high} {entry.label}"
    entry.phrase_low = f"{low} {entry.label}"
    if kind == "age":
        entry.phrase_high, entry.phrase_low = "older", "younger"
    if kind == "year" and "birth" in tokens(entry.input_column):
        entry.label, entry.phrase_high, entry.phrase_low = "birth year", "born later (younger)", "born earlier (older)"
    if known is not None:
        entry.label, entry.phrase_high, entry.phrase_low = known.label, known.phrase_high, known.phrase_low
        entry.is_required = known.is_required
        if known.min_value is not None:
            entry.min_value = known.min_value
        if known.max_value is not None:
            entry.max_value = known.max_value
        if known.is_integer is not None:
            entry.is_integer = known.is_integer
        if known.invalid_code:
            entry.invalid_code = known.invalid_code
        if known.impute_rule and known.impute_rule.startswith("zero_when_zero:"):
            entry.impute, entry.impute_from = "zero_when_zero", known.impute_rule.split(":", 1)[1]
    if kind == "category":
        entry.is_capped, entry.transform = False, "one_hot"
    if p is not None and p.dtype in ("text", "date") and p.numbers == 0 and kind != "category":
        formats = ["native"] if p.dtype == "date" else date_formats_for(p)
        if formats and p.non_missing:
            entry.date_formats = formats
            entry.kind = "duration"


def drop_if_empty(entry: ContractColumn, p: ColumnProfile | None, warnings: list[str]) -> None:
    if p is None or entry.role not in (ROLE_FEATURE, ROLE_PROFILE):
        return
    if p.non_missing == 0:
        entry.role, entry.reason = ROLE_DROPPED, f"empty: no value in the first {p.rows:,} rows"
        warnings.append(f"column '{entry.input_column}' is empty and was dropped")
    elif entry.dtype != "date" and not entry.date_formats and p.distinct_numbers <= 1 and p.numbers == p.non_missing:
        entry.role, entry.reason = ROLE_DROPPED, (f"constant: every value is {p.minimum:g} in the first "
                                                  f"{p.rows:,} rows")
        warnings.append(f"column '{entry.input_column}' is constant ({p.minimum:g}) and was dropped")


def infer_column(entry: ContractColumn, p: ColumnProfile | None, features_declared: bool,
                  categoricals_declared: bool, id_col: str | None, warnings: list[str]) -> None:
    """Role and kind of a column nobody described (see the module docstring)."""
    if p is None or p.non_missing == 0:
        entry.role, entry.reason = ROLE_DROPPED, "empty: no value in the profiled rows"
        warnings.append(f"column '{entry.input_column}' is empty and was dropped")
        return
    numeric = p.dtype in ("number", "boolean") or (p.dtype == "text" and p.numeric_share >= NUMERIC_SHARE)
    formats = ["native"] if p.dtype == "date" else date_formats_for(p) if p.dtype == "text" else []
    date_share = p.date_counts.get(formats[0], 0) / p.non_missing if formats else 0.0
    name_words = set(tokens(entry.input_column))
    dateish_name = bool(name_words & {"date", "dt", "time", "timestamp", "day", "at", "on", "since", "signup",
                                      "joined", "created", "registered"})
    if formats and date_share >= NUMERIC_SHARE and (not numeric or dateish_name):
        entry.dtype = "date" if p.dtype == "date" else "text"
        if features_declared:
            entry.role, entry.kind = ROLE_PROFILE, "duration"
            entry.reason = "a date (as days before the latest one); not in feature_columns, so profiled only"
        else:
            entry.role, entry.kind = ROLE_FEATURE, "duration"
            entry.reason = "inferred: a date, clustered as days before the latest one"
        set_feature(entry, "duration", entry.role, None, p, entry.reason)
        entry.date_formats = formats
        entry.label = f"days since {humanize(entry.input_column)}"
        entry.phrase_high, entry.phrase_low = f"long since {humanize(entry.input_column)}", \
            f"recent {humanize(entry.input_column)}"
        return
    if numeric:
        if p.sequence:
            entry.role, entry.reason = ROLE_IGNORED, "inferred: a row number (1, 2, 3, ... in file order)"
            return
        if ID_NAME.search(snake_case(entry.input_column)) and p.distinct == p.non_missing and p.non_missing > 20:
            entry.role, entry.reason = ROLE_IGNORED, "inferred: another identifier (named like an id, unique values)"
            return
        coded = set(tokens(entry.input_column)) & CODE_WORDS
        if coded and p.integers == p.numbers and p.distinct_numbers <= MAX_CATEGORIES:
            entry.role, entry.kind = ROLE_CATEGORICAL, None
            entry.reason = (f"inferred: an integer-coded category (named '{sorted(coded)[0]}', "
                            f"{p.distinct_numbers} distinct values)")
            return
        contact = sorted(set(tokens(entry.input_column)) & CONTACT_WORDS)
        if contact:
            entry.role = ROLE_IGNORED
            entry.reason = (f"inferred: a phone number, postal code or coordinate (named '{contact[0]}'), not a "
                            "measure of behaviour; declare it in feature_columns to cluster on it")
            return
        if p.distinct_numbers <= 1:
            entry.role = ROLE_DROPPED
            entry.reason = f"constant: every value is {p.minimum:g} in the first {p.rows:,} rows"
            warnings.append(f"column '{entry.input_column}' is constant ({p.minimum:g}) and was dropped")
            return
        kind, why = infer_kind(entry.input_column, p)
        role = ROLE_PROFILE if features_declared else ROLE_FEATURE
        reason = f"inferred: {kind} ({why})"
        if features_declared:
            reason += "; not in feature_columns, so profiled only"
        set_feature(entry, kind, role, None, p, reason)
        if p.dtype == "text" and p.numbers < p.non_missing:
            entry.reason += f"; {p.non_missing - p.numbers} non-numeric value(s) in the first rows become rejected rows"
        return
    if p.with_at_sign >= 0.5 * p.non_missing:
        entry.role, entry.reason = ROLE_IGNORED, "inferred: e-mail addresses"
        return
    if categoricals_declared:
        entry.role, entry.reason = ROLE_IGNORED, "text not in categorical_columns"
        return
    if p.distinct <= 1:
        entry.role, entry.reason = ROLE_DROPPED, f"constant: every value is '{p.top_values[0] if p.top_values else ''}'"
        warnings.append(f"column '{entry.input_column}' is constant and was dropped")
        return
    if p.distinct <= MAX_CATEGORIES and p.distinct <= max(2, 0.5 * p.non_missing):
        entry.role, entry.reason = ROLE_CATEGORICAL, f"inferred: text with {p.distinct} distinct values"
        return
    entry.role = ROLE_IGNORED
    entry.reason = f"inferred: free text ({p.distinct:,} distinct values in {p.non_missing:,} rows)"
