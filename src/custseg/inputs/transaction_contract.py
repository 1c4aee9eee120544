"""A transaction log as the input: which of its columns are the canonical transaction
columns (custseg.transactions), and the customer table the SQL builds from it (one row per
customer: recency, frequency, monetary value and more).

`resolve_transactions` returns two contracts:

* `transactions`: per column of the log, its canonical role (customer_id, occurred_at,
  amount, quantity, unit_price, order_id, product_id, category, channel, country,
  event_type) or `ignored`, and how it is parsed (date formats). Canonical columns are
  found by `column_map` (`{your_column: canonical_name}`) or by common names (InvoiceNo,
  StockCode, InvoiceDate, UnitPrice, CustomerID, ...). An event-type column whose values
  include a purchase (view, cart, purchase) keeps only the purchase lines.
* the customer contract the rest of the build reads, exactly like a customer table's:
  the features the log allows (from the catalogue rows whose operation is `transactions`,
  when the canonical columns they need exist), the spend shares of its main categories
  and channels, the customer's country, and the RFM scores.
"""

from __future__ import annotations

from dataclasses import asdict

from .. import catalogue
from ..catalogue import ROLE_CATEGORICAL, ROLE_FEATURE, ROLE_ID, ROLE_IGNORED, ROLE_PROFILE
from ..errors import InputError
from ..transactions import CANONICAL, PURCHASE_EVENTS, canonical_roles
from .columns import ContractColumn, set_feature
from .kinds import date_formats_for, humanize, snake_case, whole_number_ids
from .profiling import ColumnProfile
from .source import Source, source_dict
from .values import MISSING_TOKENS, NUMBER_FORMATS, NUMBER_PATTERN, NUMERIC_SHARE

#: Categories and channels with a spend-share measure: the most frequent ones, at most this many.
MAX_SHARES = 8
#: Days before as_of that count as "recent" for recent_spend_share.
RECENT_DAYS = 90


def resolve_transactions(settings: dict, source: Source, profiles: dict[str, ColumnProfile]) -> dict:
    """The transaction contract and the customer contract built from it (see the module
    docstring)."""
    column_map: dict[str, str] = dict(settings.get("column_map") or {})
    by_lower = {c.lower(): c for c in source.columns}
    found = ", ".join(source.columns)
    names = {c: c for c in source.columns}
    for src, target in column_map.items():
        real = by_lower.get(str(src).lower())
        if real is None:
            raise InputError(f"column_map names '{src}', but {source.label} has no such column (columns: {found}).")
        names[real] = str(target)
    targets = [names[c].lower() for c in source.columns]
    for t in set(targets):
        if targets.count(t) > 1 and t in CANONICAL:
            both = [c for c in source.columns if names[c].lower() == t]
            raise InputError(f"column_map maps both '{both[0]}' and '{both[1]}' onto '{t}'; map one column onto it.")
    ignored = {by_lower[str(n).lower()] for n in (settings.get("ignore_columns") or []) if str(n).lower() in by_lower}
    roles = canonical_roles([c for c in source.columns if c not in ignored], names)
    by_role = {role: col for col, role in roles.items()}
    purchase_events: list[str] = []
    if "event_type" in by_role:   # a clickstream: only purchase events are purchases
        p = profiles.get(by_role["event_type"])
        values = sorted({v.strip().lower() for v in (p.top_values if p else [])} - set(MISSING_TOKENS))
        purchase_events = [v for v in values if v in PURCHASE_EVENTS]
        if not purchase_events or len(purchase_events) == len(values):
            del roles[by_role.pop("event_type")]     # no purchase among other events: not a filter

    if "occurred_at" not in by_role:
        dated = [c for c in source.columns if (p := profiles.get(c)) is not None and p.date_counts]
        if not dated:
            raise InputError(f"{source.label} has no date column, so it looks like a customer table rather than a "
                             "transaction log: pass it as customers_path (or name its date column with column_map, "
                             "e.g. {your_column: occurred_at}).")
    missing = [r for r in ("customer_id", "occurred_at") if r not in by_role]
    if "amount" not in by_role and "unit_price" not in by_role:
        missing.append("amount (or unit_price, with quantity if there is one)")
    if missing:
        raise InputError(f"{source.label} lacks the transaction columns {', '.join(missing)} (columns: {found}); "
                         "name yours with column_map, e.g. {InvoiceDate: occurred_at}.")

    columns = []
    for position, col in enumerate(source.columns, start=1):
        p = profiles.get(col)
        role = roles.get(col)
        entry = {"input_column": names[col], "source_column": col, "position": position,
                 "name": role or snake_case(names[col]), "role": role or ROLE_IGNORED,
                 "dtype": p.dtype if p else "text", "date_formats": [],
                 "number_format": p.number_format if p and role in ("amount", "quantity", "unit_price") else None,
                 "whole_numbers": role == "customer_id" and whole_number_ids(p),
                 "reason": ("declared (column_map)" if role and col in {by_lower[str(s).lower()] for s in column_map}
                            else f"named like {role}" if role else
                            "declared (ignore_columns)" if col in ignored else "not a transaction column: not used")}
        if role == "occurred_at":
            formats = ["native"] if p is not None and p.dtype == "date" else date_formats_for(p) if p else []
            if not formats:
                shown = ", ".join(repr(v) for v in (p.top_values[:3] if p else []))
                raise InputError(f"column '{names[col]}' ({role}) of {source.label} holds no dates in a known format "
                                 f"(e.g. {shown}); see README 'From transactions' for the formats read.")
            entry["date_formats"] = formats
        if role in ("amount", "quantity", "unit_price") and p is not None and p.non_missing \
                and p.numeric_share < NUMERIC_SHARE:
            shown = ", ".join(repr(v) for v in p.top_values[:3])
            raise InputError(f"column '{names[col]}' ({role}) of {source.label} is not numeric (e.g. {shown}).")
        columns.append(entry)

    def top_values(role: str) -> list[str]:
        p = profiles.get(by_role.get(role, ""))
        if p is None or not p.non_missing:
            return []
        return [v for v in p.top_values if v.strip().lower() not in MISSING_TOKENS][:MAX_SHARES]

    shares = {"category": top_values("category"), "channel": top_values("channel")}
    transactions = {"role": "transactions", "source": source_dict(source), "columns": columns,
                    "shares": shares, "recent_days": RECENT_DAYS, "purchase_events": purchase_events,
                    "missing_tokens": list(MISSING_TOKENS), "number_pattern": NUMBER_PATTERN,
                    "number_formats": NUMBER_FORMATS}
    return {"transactions": transactions, "contract": customer_contract(transactions, set(by_role), source.label)}


def customer_contract(transactions: dict, present: set[str], label: str) -> dict:
    """The contract of the customer table built from the log (models/transactions)."""
    columns: list[dict] = []

    def add(name: str, role: str, kind: str | None, reason: str, known=None, label_text: str | None = None,
            high: str = "", low: str = "") -> None:
        entry = ContractColumn(name, name, len(columns) + 1, name, role, kind, "number", reason,
                                      label_text or (known.label if known else humanize(name)))
        if role in (ROLE_FEATURE, ROLE_PROFILE):
            set_feature(entry, kind, role, known, None, reason)
            if high:
                entry.phrase_high, entry.phrase_low = high, low
        elif role == ROLE_CATEGORICAL:
            entry.dtype = "text"
        columns.append(asdict(entry))

    add("customer_id", ROLE_ID, "id", "the transactions' customer_id")
    columns[-1]["is_required"] = True
    columns[-1]["dtype"] = "text"
    for f in catalogue.transaction_features():
        if all(i in present for i in f.inputs):
            add(f.name, f.role, f.kind, f"from the transactions: {f.description}", f)
    used = {"customer_id", "country"} | {f.name for f in catalogue.transaction_features()}
    for role, word in (("category", "spend"), ("channel", "spend")):
        for value in transactions["shares"][role]:
            base = f"{role}_share_{snake_case(value) or 'other'}"
            name, i = base, 2
            while name in used:
                name, i = f"{base}_{i}", i + 1
            used.add(name)
            text = f"{value} share of {word}"
            add(name, ROLE_PROFILE, "share", f"from the transactions: the share of net spend on {role} '{value}'",
                label_text=text, high=f"buy much {value}" if role == "category" else f"buy much via {value}",
                low=f"buy little {value}" if role == "category" else f"buy little via {value}")
            columns[-1]["share_of"] = {"role": role, "value": value}
    if "country" in present:
        add("country", ROLE_CATEGORICAL, None, "from the transactions: the customer's most frequent country")
    return {
        "role": "customers",
        "source": {"role": "customers", "kind": "transactions", "label": f"the customers of {label}",
                   "pattern": None, "files": [], "columns": [c["name"] for c in columns], "column_types": {},
                   "whitespace": False, "header": True, "data_lines": None, "read_sql": None, "scan_sql": None},
        "columns": columns,
        "derived": [],
        "warnings": [],
        "missing_tokens": list(MISSING_TOKENS),
        "number_pattern": NUMBER_PATTERN,
    }
