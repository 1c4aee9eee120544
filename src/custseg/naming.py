"""Readable segment names and one-line descriptions, from the segment profiles.

For every profiled measure, a segment's effect is how far its mean sits from the population
mean, in population standard deviations (on capped values, so a few extreme customers do
not decide a name); its index is its raw mean over the population's. A measure is called
high (or low) only when both say so and the effect is at least TRAIT_EFFECT: names and
descriptions never contradict the numbers next to them.

* Archetypes (the CC GENERAL ones: Revolvers, Cash-advance users, ...; and purchase
  behaviours for transaction logs) are weighted combinations of effects. An archetype is a
  candidate only when the input has most of what it is about (ARCHETYPE_COVERAGE of its
  weight, its defining measure included): no "Cash-advance users" without cash advances.
  Within one algorithm, segments choose in order of size, each taking the best-scoring free
  archetype that fits (score >= MIN_ARCHETYPE_SCORE).
* Any other segment is named by its two most distinctive traits in the input's own words
  ("Younger, high spending score"), built from the measure's label and kind.
* A segment within MAINSTREAM_EFFECT of the population on every measure is "Mainstream
  customers"; density noise is "Unclustered (noise)".

Descriptions give the three most distinctive traits with their numbers: multiples of the
average for amounts, counts, ratios and durations; percentages for shares; values for ages,
years, scores and other measures. Names are unique within an algorithm; the same profile
always gives the same name. A segment that keeps its id from the previous model version
keeps its name (`previous_names`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from . import catalogue
from .catalogue import NOISE_SEGMENT

MIN_ARCHETYPE_SCORE = 0.35
ARCHETYPE_COVERAGE = 0.6
MAINSTREAM_EFFECT = 0.25
TRAIT_EFFECT = 0.25
#: A measure on a ratio scale is called high only from 1.1x the average up, low from 0.9x down;
#: a share only 2 percentage points or more away from the average.
TRAIT_INDEX = 0.10
TRAIT_SHARE_POINTS = 0.02
MAINSTREAM_NAME = "Mainstream customers"
MAINSTREAM_DESCRIPTION = (f"Close to the average customer on every measure (each within {MAINSTREAM_EFFECT} "
                          "standard deviations of the population mean).")
NOISE_NAME = "Unclustered (noise)"
NOISE_DESCRIPTION = ("Customers in sparse regions that no dense segment reaches; "
                     "look at them one by one rather than as a group.")


@dataclass(frozen=True)
class Archetype:
    name: str
    signature: dict[str, float]  # measure -> weight (+ wants high, - wants low); the first is what it is about


ARCHETYPES: tuple[Archetype, ...] = (
    # credit-card behaviour (the CC GENERAL preset)
    Archetype("Revolvers", {"credit_utilization": 1.0, "balance": 1.0, "prc_full_payment": -1.0,
                            "payment_to_minimum_ratio": -0.5}),
    Archetype("Cash-advance users", {"cash_advance": 1.0, "cash_advance_frequency": 1.0,
                                     "cash_advance_share": 1.0, "purchases": -0.5}),
    Archetype("Instalment buyers", {"installments_purchases": 1.0, "purchases_installments_frequency": 1.0,
                                    "installment_purchase_share": 1.0, "oneoff_purchases": -0.5,
                                    "cash_advance": -0.5}),
    Archetype("One-off shoppers", {"oneoff_purchases": 1.0, "oneoff_purchases_frequency": 1.0,
                                   "oneoff_purchase_share": 1.0, "installments_purchases": -0.5,
                                   "cash_advance": -0.5}),
    Archetype("Big spenders", {"purchases": 1.0, "purchases_trx": 1.0, "credit_limit": 1.0,
                               "payments": 1.0, "cash_advance": -0.5}),
    Archetype("All-round heavy users", {"purchases": 1.0, "cash_advance": 1.0, "total_transactions": 1.0,
                                       "balance": 0.5}),
    Archetype("Everyday shoppers", {"purchases_frequency": 1.0, "purchases_trx": 1.0, "cash_advance_share": -1.0,
                                    "avg_purchase_amount": -0.5}),
    Archetype("Full payers", {"prc_full_payment": 1.0, "credit_utilization": -1.0,
                              "payment_to_minimum_ratio": 1.0}),
    Archetype("Dormant accounts", {"purchases": -1.0, "cash_advance": -1.0, "total_transactions": -1.0,
                                   "balance_frequency": -1.0, "payments": -0.5}),
    Archetype("High-limit low users", {"credit_limit": 1.0, "credit_utilization": -1.0, "purchases": -0.5,
                                       "cash_advance": -0.5}),
    Archetype("Maxed-out", {"credit_utilization": 1.5, "credit_limit": -1.0, "payment_to_minimum_ratio": -0.5}),
    Archetype("New customers", {"tenure": -1.5}),
    # purchase behaviour (transaction logs)
    Archetype("Loyal frequent buyers", {"frequency": 1.0, "recency_days": -1.0, "tenure_days": 0.5,
                                        "monetary": 0.5}),
    Archetype("Big occasional buyers", {"avg_order_value": 1.5, "frequency": -0.5, "monetary": 0.5}),
    Archetype("Lapsed customers", {"recency_days": 1.5, "frequency": -0.5, "recent_spend_share": -0.5}),
    Archetype("New customers", {"tenure_days": -1.5, "recency_days": -0.5}),
    Archetype("Heavy returners", {"return_rate": 1.5}),
)


@dataclass(frozen=True)
class Measure:
    """How a profiled measure is spoken of."""

    name: str
    kind: str
    label: str
    phrase_high: str
    phrase_low: str
    scale: str      # ratio | share | interval


def measures(contract: dict | None) -> dict[str, Measure]:
    """The profiled measures of an input contract (custseg.inputs), with their wording.
    Without a contract, the catalogue's features (tests and notebooks). The RFM scores of a
    transaction log are left out: they restate recency, frequency and net spend, which names
    and descriptions use directly."""
    out: dict[str, Measure] = {}
    scores = {f.name for f in catalogue.transaction_features() if f.kind == "score"}
    if contract is None:
        for f in catalogue.features().values():
            if f.kind != "id" and f.name not in scores:
                k = catalogue.kind_of(f.kind)
                out[f.name] = Measure(f.name, f.kind, f.label, f.phrase_high, f.phrase_low, k.scale)
        return out
    for c in contract.get("columns", []):
        if c["role"] in ("feature", "profile") and c["name"] not in scores:
            out[c["name"]] = Measure(c["name"], c["kind"], c["label"], c.get("phrase_high") or f"high {c['label']}",
                                     c.get("phrase_low") or f"low {c['label']}", c.get("scale", "interval"))
    for d in contract.get("derived", []):
        out[d["name"]] = Measure(d["name"], d["kind"], d["label"], d["phrase_high"], d["phrase_low"], d["scale"])
    return out


def population_stats(n: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> tuple[float, float]:
    """Population mean and standard deviation, pooled exactly from per-segment counts,
    means and (population) standard deviations."""
    n, mean, sd = (np.asarray(a, dtype=float) for a in (n, mean, sd))
    ok = np.isfinite(mean) & np.isfinite(sd) & (n > 0)
    if not ok.any():
        return float("nan"), float("nan")
    n, mean, sd = n[ok], mean[ok], sd[ok]
    total = n.sum()
    pop_mean = float((n * mean).sum() / total)
    pop_var = float((n * (sd**2 + (mean - pop_mean) ** 2)).sum() / total)
    return pop_mean, float(np.sqrt(max(pop_var, 0.0)))


@dataclass
class Profile:
    """One algorithm's segments: effects, indexes and means per measure (rows: segment ids)."""

    segments: pd.DataFrame   # segment_id, customers
    effect: pd.DataFrame
    index: pd.DataFrame
    mean: pd.DataFrame
    population_mean: dict[str, float]


def profile(stats: pd.DataFrame, known: dict[str, Measure]) -> Profile:
    """Effects and indexes from the long stats of ONE algorithm (int_segment_feature_stats)."""
    segments = (stats[["segment_id", "customers"]].drop_duplicates("segment_id").sort_values("segment_id")
                .reset_index(drop=True))
    ids = segments["segment_id"].to_numpy()
    effect, index, mean, pop_means = {}, {}, {}, {}
    for feature, part in stats.groupby("feature", sort=False):
        if feature not in known:
            continue
        part = part.set_index("segment_id").reindex(ids)
        observed = part["observed"].to_numpy(dtype=float)
        capped_pop, capped_sd = population_stats(observed, part["capped_mean"], part["capped_stddev"])
        raw_pop, _ = population_stats(observed, part["mean_value"], part["stddev_value"])
        if not np.isfinite(capped_pop):
            continue
        m = part["capped_mean"].to_numpy(dtype=float)
        effect[feature] = (m - capped_pop) / capped_sd if capped_sd > 0 else np.zeros_like(m)
        raw = part["mean_value"].to_numpy(dtype=float)
        index[feature] = raw / raw_pop if raw_pop not in (0.0,) and np.isfinite(raw_pop) else np.full_like(raw, np.nan)
        mean[feature] = raw
        pop_means[feature] = raw_pop
    return Profile(segments, pd.DataFrame(effect, index=ids), pd.DataFrame(index, index=ids),
                   pd.DataFrame(mean, index=ids), pop_means)


def usable_archetypes(available) -> list[tuple[Archetype, dict[str, float]]]:
    """Archetypes the input can speak of: their defining measure present and at least
    ARCHETYPE_COVERAGE of their weight."""
    out = []
    for arch in ARCHETYPES:
        usable = {f: w for f, w in arch.signature.items() if f in available}
        total = sum(abs(w) for w in arch.signature.values())
        defining = next(iter(arch.signature))
        if defining in usable and sum(abs(w) for w in usable.values()) >= ARCHETYPE_COVERAGE * total:
            out.append((arch, usable))
    return out


def archetype_scores(effect: pd.DataFrame) -> pd.DataFrame:
    """Score of each usable archetype for each segment: the weighted mean of its signature
    effects over the measures the input has."""
    scores = {}
    for arch, usable in usable_archetypes(effect.columns):
        total = sum(abs(w) for w in usable.values())
        score = sum(w * effect[f].to_numpy() for f, w in usable.items()) / total
        # one name, several signatures (New customers of a card file and of a log): the better
        scores[arch.name] = np.fmax(scores[arch.name], score) if arch.name in scores else score
    return pd.DataFrame(scores, index=effect.index)


def _number(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 10:
        return f"{value:.0f}"
    if a >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass(frozen=True)
class Trait:
    feature: str
    high: bool
    phrase: str      # e.g. "large balances"
    short: str       # e.g. "High balance" (for names)
    numbers: str     # e.g. "2.3x average", "62% vs 31% on average"


def trait(measure: Measure, effect: float, index: float, mean: float, population_mean: float) -> Trait | None:
    """The trait a measure gives a segment, or None when it is not distinctive or when its
    effect and its index disagree (then calling it high or low would contradict a number)."""
    if not np.isfinite(effect) or abs(effect) < TRAIT_EFFECT:
        return None
    high = effect > 0
    if measure.scale == "ratio":
        if not np.isfinite(index) or population_mean <= 0 or (high and index < 1 + TRAIT_INDEX) \
                or (not high and index > 1 - TRAIT_INDEX):
            return None
        numbers = "almost none" if index < 0.05 else f"{index:.1f}x average"
    elif measure.scale == "share":
        if not np.isfinite(mean) or (high and mean < population_mean + TRAIT_SHARE_POINTS) \
                or (not high and mean > population_mean - TRAIT_SHARE_POINTS):
            return None
        numbers = f"{mean:.0%} vs {population_mean:.0%} on average"
    else:
        if not np.isfinite(mean) or (high and mean <= population_mean) or (not high and mean >= population_mean):
            return None
        numbers = f"{_number(mean)} vs {_number(population_mean)} on average"
    phrase = measure.phrase_high if high else measure.phrase_low
    phrase = measure.phrase_high if high else measure.phrase_low
    if measure.kind == "age":
        short = "Older" if high else "Younger"
    elif measure.kind == "year" and measure.label == "birth year":
        short = "Younger" if high else "Older"
    else:
        short = phrase[:1].upper() + phrase[1:]
    return Trait(measure.name, high, phrase, short, numbers)


def traits(p: Profile, segment: int, known: dict[str, Measure], count: int,
           must_include: str | None = None) -> list[Trait]:
    """The segment's most distinctive consistent traits, strongest first (plus the
    archetype's defining measure when it is a trait but not among them)."""
    row = p.effect.loc[segment]
    ranked = row.abs().sort_values(ascending=False, kind="mergesort").index
    out: list[Trait] = []
    for feature in ranked:
        t = trait(known[feature], row[feature], p.index.loc[segment, feature], p.mean.loc[segment, feature],
                  p.population_mean[feature])
        if t is not None and len(out) < count:
            out.append(t)
    if must_include is not None and must_include in row.index and all(t.feature != must_include for t in out):
        t = trait(known[must_include], row[must_include], p.index.loc[segment, must_include],
                  p.mean.loc[segment, must_include], p.population_mean[must_include])
        if t is not None:
            out.append(t)
    return out


def describe(found: list[Trait]) -> str:
    text = ", ".join(f"{t.phrase} ({t.numbers})" for t in found)
    return text[:1].upper() + text[1:] + "."


def trait_name(found: list[Trait]) -> str:
    parts = [t.short for t in found]
    return ", ".join([parts[0]] + [p[:1].lower() + p[1:] if not p.startswith(("Older", "Younger")) else p.lower()
                                   for p in parts[1:]])


def _traits_key(found: list[Trait]) -> frozenset:
    return frozenset((t.feature, t.high) for t in found)


def _very(found: list[Trait], feature: str) -> list[Trait]:
    """The traits with `feature` graded up: "Very low spend", "Much older"."""
    def graded(t: Trait) -> Trait:
        if t.feature != feature:
            return t
        return replace(t, short=("Much " + t.short.lower()) if t.short in ("Older", "Younger")
                       else "Very " + t.short[:1].lower() + t.short[1:])
    return [graded(t) for t in found]


def name_segments(stats: pd.DataFrame, contract: dict | None = None,
                  previous_names: dict[int, str] | None = None) -> pd.DataFrame:
    """Names for the segments of ONE algorithm, from its rows of int_segment_feature_stats.
    Returns segment_id, segment_name, segment_description, archetype_score."""
    known = measures(contract)
    p = profile(stats, known)
    previous_names = previous_names or {}
    ids = p.segments["segment_id"].astype(int).tolist()
    regular = [s for s in ids if s != NOISE_SEGMENT]
    sizes = dict(zip(p.segments["segment_id"].astype(int), p.segments["customers"]))
    names: dict[int, str] = {}
    scores_out: dict[int, float] = {}
    taken: set[str] = {previous_names[s] for s in regular if s in previous_names}
    for s in regular:
        if s in previous_names:
            names[s] = previous_names[s]
            scores_out[s] = float("nan")

    scores = archetype_scores(p.effect.loc[regular]) if regular and len(p.effect.columns) else pd.DataFrame()
    by_size = sorted((s for s in regular if s not in names), key=lambda s: (-sizes[s], s))
    for s in by_size:
        if p.effect.loc[s].abs().max() < MAINSTREAM_EFFECT and MAINSTREAM_NAME not in taken:
            names[s], scores_out[s] = MAINSTREAM_NAME, float("nan")
            taken.add(MAINSTREAM_NAME)
            continue
        if s in scores.index:
            for archetype, score in scores.loc[s].sort_values(ascending=False, kind="mergesort").items():
                if archetype not in taken and np.isfinite(score) and score >= MIN_ARCHETYPE_SCORE:
                    names[s], scores_out[s] = archetype, float(score)
                    taken.add(archetype)
                    break

    defining = {a.name: next(iter(a.signature)) for a in ARCHETYPES}
    descriptions: dict[int, str] = {}
    by_traits: dict[frozenset, tuple[int, list[Trait]]] = {}   # traits of a trait-built name -> its segment
    for s in regular:
        found = traits(p, s, known, 3, defining.get(names.get(s)))
        if names.get(s) == MAINSTREAM_NAME or not found:
            descriptions[s] = MAINSTREAM_DESCRIPTION if names.get(s) == MAINSTREAM_NAME or not found else ""
        else:
            descriptions[s] = describe(found)
        if s not in names:
            candidate, used = (trait_name(found[:2]), found[:2]) if found else (MAINSTREAM_NAME, [])
            # the same traits in another order are the same name to a reader: use a third
            # trait, else call the more extreme of the two "very" on their first trait
            if _traits_key(used) in by_traits and len(found) > 2 and _traits_key(found[:3]) not in by_traits:
                candidate, used = trait_name(found[:3]), found[:3]
            if used and _traits_key(used) in by_traits:
                other, other_used = by_traits[_traits_key(used)]
                feature = used[0].feature
                if abs(p.effect.loc[s, feature]) > abs(p.effect.loc[other, feature]):
                    candidate = trait_name(_very(used, feature))
                else:
                    stronger = trait_name(_very(other_used, feature))
                    if stronger not in taken:
                        taken.discard(names[other])
                        names[other] = stronger
                        taken.add(stronger)
            if candidate in taken:
                candidate = f"{candidate} (segment {s})"
            names[s], scores_out[s] = candidate, float("nan")
            taken.add(candidate)
            if used:
                by_traits.setdefault(_traits_key(used), (s, used))
            if not found:
                descriptions[s] = MAINSTREAM_DESCRIPTION

    rows = []
    for s in ids:
        if s == NOISE_SEGMENT:
            rows.append((s, NOISE_NAME, NOISE_DESCRIPTION, float("nan")))
        else:
            rows.append((s, names[s], descriptions[s], scores_out[s]))
    return pd.DataFrame(rows, columns=["segment_id", "segment_name", "segment_description", "archetype_score"])


def name_all(stats: pd.DataFrame, contract: dict | None = None,
             previous_names: dict[tuple[str, int], str] | None = None) -> pd.DataFrame:
    """Names for every algorithm's segments (input: int_segment_feature_stats, long)."""
    previous_names = previous_names or {}
    parts = []
    for algorithm, group in stats.groupby("algorithm", sort=True):
        kept = {seg: name for (a, seg), name in previous_names.items() if a == algorithm}
        named = name_segments(group, contract, kept)
        named.insert(0, "algorithm", algorithm)
        parts.append(named)
    if not parts:
        return pd.DataFrame(columns=["algorithm", "segment_id", "segment_name", "segment_description",
                                     "archetype_score"])
    return pd.concat(parts, ignore_index=True)
