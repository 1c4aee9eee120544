"""What a column's name and values say it is: names as identifiers and labels (snake_case,
humanize), the English (and a few other languages') word lists behind the guesses, the kind
of a numeric column, the formats of a date column, and which column is the customer id."""

from __future__ import annotations

import re

from ..errors import InputError
from .profiling import ColumnProfile
from .source import Source
from .values import DATE_FORMATS

#: Words snake_case appends '_col' to ('order' -> 'order_col'). Every name is quoted wherever it
#: reaches SQL (custseg.sql, macros/quoting.sql), so this list is not what keeps a name safe: it
#: stays as it was so existing inputs keep their column names. Do not extend it.
RESERVED_WORDS = frozenset("""all and any array as asc between both by case cast check collate column constraint create
cross current date default desc distinct do else end except exists false fetch filter for foreign from full grant
group having in inner intersect interval into is join key lateral leading left like limit map natural not null of
offset on only or order outer over partition pivot primary qualify range references right row rows select session
some table then time timestamp to trailing true union unique unknown unpivot user using values when where window
with""".split())


def snake_case(name: str) -> str:
    """A column name as a plain lower-case identifier: 'Annual Income (k$)' -> annual_income_k."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    if not text:
        text = "column"
    if text[0].isdigit():
        text = "c_" + text
    text = text[:60]
    return text + "_col" if text in RESERVED_WORDS else text


def tokens(name: str) -> list[str]:
    return [t for t in snake_case(name).split("_") if t]


def humanize(name: str) -> str:
    """A label for descriptions: 'MntWines' -> 'wines spend', 'NumStorePurchases' -> 'store
    purchases', 'Annual Income (k$)' -> 'annual income (k$)'."""
    if re.search(r"[ ()$%]", name):
        return re.sub(r"\s+", " ", name.replace("_", " ")).strip().lower()
    words = tokens(name)
    if len(words) > 1 and words[0] in ("num", "number", "n", "cnt", "count", "no"):
        words = words[1:]
    elif len(words) > 1 and words[0] in ("mnt", "amt", "amount"):
        words = words[1:] + ["spend"]
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


#: Abbreviations common in column names, spelled out in descriptions.
_ABBREVIATIONS = {"ct": "count", "cnt": "count", "amt": "amount", "bal": "balance", "trans": "transaction",
                  "trx": "transactions", "txn": "transactions", "avg": "average", "chng": "change", "mon": "months",
                  "qty": "quantity", "pct": "percent", "num": "number", "freq": "frequency", "yr": "year",
                  "yrs": "years", "cust": "customer", "acct": "account", "util": "utilization"}


#: Name words of a number that codes a category (a region, a plan, a branch), not a quantity.
CODE_WORDS = {"code", "cd", "type", "category", "class", "group", "region", "zone", "segment", "tier", "status",
               "cluster", "channel", "branch", "area", "sector", "plan", "gender", "sex"}


#: Numeric columns that locate or reach a customer rather than measure behaviour: carried into
#: customer_features, never clustered unless declared.
CONTACT_WORDS = {"phone", "mobile", "tel", "telephone", "fax", "msisdn", "zip", "zipcode", "postal", "postcode",
                  "plz", "latitude", "longitude", "lat", "lon", "lng", "ssn", "iban"}


#: "customer" in the languages exports often come in (German, Dutch, Swedish, French, Spanish,
#: Italian, Portuguese), and the words that make it a number: Kundennummer, Kunde Nr.,
#: klantnummer, numero_client, id_cliente, codice_cliente.
_CUSTOMER_WORDS = "customer|cust|client|account|acct|member|user|subscriber|person|contact|household|shopper|buyer"
_FOREIGN_CUSTOMER = "kunde|kunden|kund|klant|cliente|client"
_NUMBER_WORDS = "id|num|number|nummer|numero|no|nr|key|code|codigo|codice|ref"
ID_NAME = re.compile(rf"^(id|key|uuid|guid)$|(^|_)(id|key|uuid|guid)$"
                      rf"|^({_CUSTOMER_WORDS})_?(id|num|number|no|nr|key|code|ref)?$"
                      rf"|^({_FOREIGN_CUSTOMER})_?({_NUMBER_WORDS})?$"
                      rf"|^({_NUMBER_WORDS})_({_FOREIGN_CUSTOMER}|{_CUSTOMER_WORDS})$")
#: Columns that identify a person when nothing is named like an id: an e-mail address, a
#: user name or login.
KEY_NAME = re.compile(r"^(e_?mail|email_address|e_mail_address|mail|user_?name|login|handle)$")


#: Name words that suggest a kind. The first word of a name decides when it is a prefix
#: such as Num or Mnt ("NumWebVisitsMonth" is a count, "MntMeatProducts" an amount);
#: otherwise the last word that suggests a kind does ("Spending Score" is a score,
#: "Total_Amt_Chng_Q4_Q1" a ratio): in English names the head noun comes last.
_PREFIX_KINDS: dict[str, str] = {"num": "count", "number": "count", "n": "count", "count": "count", "cnt": "count",
                                 "no": "count", "mnt": "amount", "amt": "amount", "amount": "amount"}
_KIND_TOKENS: dict[str, set[str]] = {
    "year": {"year", "yob", "yr", "birth"},
    "age": {"age"},
    "percent": {"pct", "percent", "percentage"},
    "share": {"frequency", "freq", "share", "proportion", "prc", "rate", "utilization", "utilisation"},
    "duration": {"months", "month", "days", "day", "weeks", "week", "tenure", "recency", "since", "duration",
                 "book", "inactive", "seniority", "lifetime", "hours", "minutes", "years"},
    "ratio": {"ratio", "chng", "change", "growth", "util", "multiple"},
    "count": {"count", "cnt", "ct", "trx", "txn", "transactions", "qty", "quantity", "visits", "orders", "kids",
              "kid", "children", "child", "dependents", "dependent", "teens", "teen", "items", "contacts", "times",
              "calls", "logins", "sessions", "products", "accounts", "cards"},
    "score": {"score", "rating", "rank", "grade", "satisfaction", "nps", "index", "level", "points"},
    "limit": {"limit"},
    "amount": {"amount", "amt", "mnt", "spend", "spent", "spending", "price", "revenue", "income", "salary",
               "balance", "bal", "payment", "payments", "value", "cost", "sales", "purchases", "purchase", "credit",
               "debt", "fee", "fees", "wage", "earnings", "wealth", "deposit", "deposits", "loan", "total", "sum",
               "money", "profit", "buy", "net", "gross", "monetary"},
}


def _kind_by_name(name: str) -> tuple[str | None, str]:
    words = tokens(name)
    if not words:
        return None, ""
    if words[0] in _PREFIX_KINDS and len(words) > 1:
        return _PREFIX_KINDS[words[0]], words[0]
    for word in reversed(words):
        for kind, names in _KIND_TOKENS.items():
            if word in names:
                return kind, word
    return None, ""


def infer_kind(name: str, p: ColumnProfile) -> tuple[str, str]:
    """(kind, why) for a numeric column that neither the vars nor the catalogue describe."""
    lo, hi = p.minimum, p.maximum
    whole = p.non_missing > 0 and p.integers >= p.numbers
    if p.distinct_numbers <= 2 and lo is not None and lo >= 0 and hi is not None and hi <= 1 and whole:
        return "flag", "only the values 0 and 1"
    by_name, word = _kind_by_name(name)
    if lo is None or hi is None:
        return "number", "no numbers in the profiled rows"
    if by_name == "year" and whole and lo >= 1000 and hi <= 2999:
        return "year", f"named '{word}', whole numbers between 1000 and 2999"
    if by_name == "age" and lo >= 0 and hi <= 120:
        return "age", "named 'age', values within 0..120"
    if by_name == "percent" and lo >= 0 and hi <= 100:
        return ("share", f"named '{word}', values within 0..1") if hi <= 1 else \
               ("percent", f"named '{word}', values within 0..100")
    if by_name in ("share", "ratio") and lo >= 0:
        if hi <= 1:
            return "share", f"named '{word}', values within 0..1"
        return "ratio", f"named '{word}', non-negative values above 1"
    if by_name == "duration" and lo >= 0:
        return "duration", f"named '{word}', non-negative values"
    if by_name == "count" and whole and lo >= 0:
        return "count", f"named '{word}', non-negative whole numbers"
    if by_name == "score":
        return "score", f"named '{word}'"
    if by_name == "limit" and lo > 0:
        return "limit", f"named '{word}', positive values"
    if by_name in ("amount", "limit", "count"):
        if lo >= 0:
            return "amount", f"named '{word}', non-negative values"
        return "net_amount", f"named '{word}', with negative values"
    if lo >= 0 and hi <= 1 and not whole:
        return "share", "values within 0..1"
    if whole and lo >= 0:
        return "count", "non-negative whole numbers"
    return "number", "a number with no recognised name"


def date_formats_for(p: ColumnProfile) -> list[str]:
    """The formats a date column is read with: the one most values fit, then others that read
    more values without contradicting it (never both day-first and month-first; neither when
    as many values fit one as the other, so such values are rejected as ambiguous)."""
    ranked = sorted(p.date_counts, key=lambda f: (-p.date_counts[f], DATE_FORMATS.index(f)))
    chosen: list[str] = []
    for fmt in ranked:
        if any(_conflict(fmt, c) for c in chosen):
            continue
        rival = [f for f in ranked if _conflict(fmt, f) and p.date_counts[f] == p.date_counts[fmt]]
        if rival:      # as many values read day-first as month-first: nothing tells which; read neither
            continue
        chosen.append(fmt)
    return chosen


def _conflict(a: str, b: str) -> bool:
    """Whether two formats read the same text as different dates (day-first and month-first,
    with the same separators): a column uses at most one of such a pair."""
    pa = re.findall(r"%[dm]", a)
    pb = re.findall(r"%[dm]", b)
    seps_a = re.sub(r"%[a-zA-Z]", "", a)[:2]
    seps_b = re.sub(r"%[a-zA-Z]", "", b)[:2]
    return len(pa) == 2 and len(pb) == 2 and pa != pb and seps_a == seps_b


def whole_number_ids(p: ColumnProfile | None) -> bool:
    """True when every id is a whole number, so '17850.0' (a spreadsheet or pandas export of
    an id column with gaps) is the customer 17850."""
    return bool(p is not None and p.non_missing and p.numbers == p.non_missing and p.integers == p.numbers)


def infer_id(source: Source, names: dict[str, str], profiles: dict[str, ColumnProfile],
              excluded: set[str]) -> str | None:
    """The id column: one named like an id with unique values; failing that, one named like
    an id whose values mostly differ (a customer table with some duplicate rows: they are
    de-duplicated later); failing that, one named like an e-mail address or a user name. None
    when the table has no such column: its rows are numbered instead (ROW_NUMBER_ID)."""
    def named(pattern: re.Pattern) -> list[str]:
        return [c for c in source.columns if c not in excluded and (p := profiles.get(c)) is not None
                and p.non_missing and pattern.search(snake_case(names[c]))]

    def one(found: list[str]) -> str | None:
        if len(found) > 1:
            raise InputError(f"several columns of {source.label} could be the customer id: "
                             f"{', '.join(names[c] for c in found)}. Name one with id_column.")
        return found[0] if found else None

    id_named = named(ID_NAME)
    unique = [c for c in id_named if profiles[c].distinct == profiles[c].non_missing
              and profiles[c].non_missing >= 0.99 * profiles[c].rows]
    if unique:
        return one(unique)
    repeated = [c for c in id_named if profiles[c].distinct < profiles[c].non_missing]
    dated = [c for c in source.columns if (p := profiles.get(c)) is not None and p.date_counts]
    if repeated and dated:
        raise InputError(f"{source.label} looks like a transaction log, not a customer table ('{names[repeated[0]]}' "
                         f"repeats, '{names[dated[0]]}' holds dates): pass it as transactions_path.")
    mostly = [c for c in repeated if profiles[c].distinct >= 0.5 * profiles[c].non_missing]
    if mostly:
        return one(mostly)
    keyed = [c for c in named(KEY_NAME) if profiles[c].distinct >= 0.5 * profiles[c].non_missing]
    return one(keyed)
