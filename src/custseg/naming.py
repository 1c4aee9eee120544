"""Readable segment names and one-line descriptions, derived from segment profiles.

For every feature, a segment's effect is how far its mean sits from the population mean,
in population standard deviations. Archetypes (Revolvers, Cash-advance users, Instalment
buyers, ...) are weighted combinations of such effects. Within one algorithm, segments
choose in order of size, largest first: each takes the best-scoring archetype not yet
taken, if it fits (score >= MIN_ARCHETYPE_SCORE); a segment no free archetype fits is
named by its two most distinctive traits, and a segment that differs from the population
by less than MAINSTREAM_EFFECT on every feature is "Mainstream customers". The description
lists the three most distinctive traits (and the archetype's defining trait when it is not
among them) with the segment mean as a multiple of the population mean.

Names are unique within an algorithm; the same profile always gives the same name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalogue import NOISE_SEGMENT, PROFILE_FEATURES

MIN_ARCHETYPE_SCORE = 0.35
MAINSTREAM_EFFECT = 0.25
MAINSTREAM_NAME = "Mainstream customers"
MAINSTREAM_DESCRIPTION = (f"Close to the average customer on every measure (each within {MAINSTREAM_EFFECT} "
                          "standard deviations of the population mean).")
NOISE_NAME = "Unclustered (noise)"
NOISE_DESCRIPTION = ("Customers in sparse regions that no dense segment reaches; "
                     "look at them one by one rather than as a group.")


@dataclass(frozen=True)
class Archetype:
    name: str
    signature: dict[str, float]  # feature -> weight (+ wants high, - wants low)


ARCHETYPES: tuple[Archetype, ...] = (
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
)

#: (phrase when high, phrase when low, short label) per feature.
PHRASES: dict[str, tuple[str, str, str]] = {
    "balance": ("large balances", "small balances", "balance"),
    "balance_frequency": ("balance updated every month", "balance rarely updated", "balance activity"),
    "purchases": ("high spend", "little spend", "spend"),
    "oneoff_purchases": ("big one-off purchases", "few one-off purchases", "one-off spend"),
    "installments_purchases": ("heavy instalment buying", "little instalment buying", "instalment spend"),
    "cash_advance": ("large cash advances", "few cash advances", "cash advance"),
    "purchases_frequency": ("buy often", "rarely buy", "purchase frequency"),
    "oneoff_purchases_frequency": ("frequent one-off purchases", "rare one-off purchases", "one-off frequency"),
    "purchases_installments_frequency": ("frequent instalment purchases", "rare instalment purchases",
                                         "instalment frequency"),
    "cash_advance_frequency": ("frequent cash advances", "rare cash advances", "cash-advance frequency"),
    "cash_advance_trx": ("many cash-advance transactions", "few cash-advance transactions", "cash-advance count"),
    "purchases_trx": ("many purchase transactions", "few purchase transactions", "purchase count"),
    "credit_limit": ("high credit limits", "low credit limits", "limit"),
    "payments": ("pay large amounts", "pay small amounts", "payments"),
    "minimum_payments": ("high minimum payments", "low minimum payments", "minimum payments"),
    "prc_full_payment": ("often pay in full", "rarely pay in full", "full payment"),
    "tenure": ("long-standing accounts", "newer accounts", "tenure"),
    "credit_utilization": ("high credit utilization", "low credit utilization", "utilization"),
    "total_transactions": ("many transactions", "few transactions", "activity"),
    "payment_to_minimum_ratio": ("pay well above the minimum", "pay close to the minimum", "payment ratio"),
    "avg_purchase_amount": ("large average purchase", "small average purchase", "basket size"),
    "avg_cash_advance_amount": ("large cash draws", "small cash draws", "cash draw size"),
    "cash_advance_share": ("spend mostly as cash", "spend little as cash", "cash share"),
    "oneoff_purchase_share": ("prefer one-off purchases", "avoid one-off purchases", "one-off share"),
    "installment_purchase_share": ("prefer instalments", "avoid instalments", "instalment share"),
    "purchases_to_limit_ratio": ("spend much of their limit", "spend little of their limit", "spend vs limit"),
    "monthly_purchases": ("high monthly spend", "low monthly spend", "monthly spend"),
    "monthly_cash_advance": ("high monthly cash advance", "low monthly cash advance", "monthly cash advance"),
}


def population_stats(segments: pd.DataFrame, feature: str) -> tuple[float, float]:
    """Population mean and standard deviation of a feature, pooled exactly from the
    per-segment count, mean and (population) standard deviation."""
    n = segments["customers"].to_numpy(dtype=float)
    mean = segments[f"{feature}_mean"].to_numpy(dtype=float)
    sd = segments[f"{feature}_stddev"].to_numpy(dtype=float)
    ok = np.isfinite(mean) & np.isfinite(sd) & (n > 0)
    if not ok.any():
        return float("nan"), float("nan")
    n, mean, sd = n[ok], mean[ok], sd[ok]
    total = n.sum()
    pop_mean = float((n * mean).sum() / total)
    pop_var = float((n * (sd**2 + (mean - pop_mean) ** 2)).sum() / total)
    return pop_mean, float(np.sqrt(max(pop_var, 0.0)))


def effects(segments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(effect sizes, index = segment mean / population mean), one row per segment."""
    eff, idx = {}, {}
    for feature in PROFILE_FEATURES:
        if f"{feature}_mean" not in segments:
            continue
        pop_mean, pop_sd = population_stats(segments, feature)
        if not np.isfinite(pop_mean):
            continue
        means = segments[f"{feature}_mean"].to_numpy(dtype=float)
        eff[feature] = (means - pop_mean) / pop_sd if pop_sd > 0 else np.zeros_like(means)
        idx[feature] = means / pop_mean if pop_mean != 0 else np.full_like(means, np.nan)
    index = segments["segment_id"].to_numpy()
    return pd.DataFrame(eff, index=index), pd.DataFrame(idx, index=index)


def archetype_scores(effect: pd.DataFrame) -> pd.DataFrame:
    """Score of each archetype for each segment: the weighted mean of its signature effects
    (features the input lacks are left out)."""
    scores = {}
    for arch in ARCHETYPES:
        usable = {f: w for f, w in arch.signature.items() if f in effect.columns}
        if not usable:
            scores[arch.name] = np.full(len(effect), -np.inf)
            continue
        total = sum(abs(w) for w in usable.values())
        scores[arch.name] = sum(w * effect[f].to_numpy() for f, w in usable.items()) / total
    return pd.DataFrame(scores, index=effect.index)


def _traits(effect_row: pd.Series, index_row: pd.Series, count: int,
            must_include: str | None = None) -> list[tuple[str, str, str]]:
    """The `count` most distinctive traits (plus `must_include` when it is not among them):
    (phrase, short label with direction, multiple)."""
    ranked = list(effect_row.abs().sort_values(ascending=False, kind="mergesort").index[:count])
    if must_include is not None and must_include in effect_row.index and must_include not in ranked:
        ranked.append(must_include)
    out = []
    for feature in ranked:
        high = effect_row[feature] > 0
        phrase_high, phrase_low, short = PHRASES.get(feature, (f"high {feature}", f"low {feature}", feature))
        ratio = index_row.get(feature, np.nan)
        if not np.isfinite(ratio):
            multiple = ""
        elif ratio < 0.05:
            multiple = "almost none"
        else:
            multiple = f"{ratio:.1f}x average"
        out.append((phrase_high if high else phrase_low, f"{'High' if high else 'Low'} {short}", multiple))
    return out


def _defining_feature(archetype: Archetype, available) -> str | None:
    """The archetype's heaviest signature feature the input has (the trait its name is about)."""
    usable = [(abs(w), f) for f, w in archetype.signature.items() if f in available]
    return max(usable)[1] if usable else None


def _describe(traits: list[tuple[str, str, str]]) -> str:
    parts = [f"{phrase} ({multiple})" if multiple else phrase for phrase, _, multiple in traits]
    text = ", ".join(parts)
    return text[:1].upper() + text[1:] + "."


def name_segments(segments: pd.DataFrame) -> pd.DataFrame:
    """Names for the segments of ONE algorithm.

    `segments`: one row per segment with segment_id, customers and, per profile feature,
    `<feature>_mean` and `<feature>_stddev`. Returns segment_id, segment_name,
    segment_description, archetype_score.
    """
    segments = segments.sort_values("segment_id").reset_index(drop=True)
    is_noise = segments["segment_id"].to_numpy() == NOISE_SEGMENT
    regular = segments[~is_noise].reset_index(drop=True)
    effect, index = effects(segments)
    effect_r, index_r = effect.loc[regular["segment_id"]], index.loc[regular["segment_id"]]
    names: dict[int, str] = {}
    scores_out: dict[int, float] = {}

    if len(regular):
        scores = archetype_scores(effect_r)
        taken: set[str] = set()
        by_size = regular.sort_values(["customers", "segment_id"], ascending=[False, True], kind="mergesort")
        for seg in by_size["segment_id"].astype(int):
            if effect_r.loc[seg].abs().max() < MAINSTREAM_EFFECT and MAINSTREAM_NAME not in taken:
                names[seg] = MAINSTREAM_NAME
                scores_out[seg] = float("nan")
                taken.add(MAINSTREAM_NAME)
                continue
            ranked = scores.loc[seg].sort_values(ascending=False, kind="mergesort")
            for archetype, score in ranked.items():
                if archetype not in taken and np.isfinite(score) and score >= MIN_ARCHETYPE_SCORE:
                    names[seg] = archetype
                    scores_out[seg] = float(score)
                    taken.add(archetype)
                    break

    descriptions: dict[int, str] = {}
    used = set(names.values())
    signature = {a.name: _defining_feature(a, effect_r.columns) for a in ARCHETYPES}
    for seg in regular["segment_id"].astype(int):
        traits = _traits(effect_r.loc[seg], index_r.loc[seg], 3, signature.get(names.get(seg)))
        descriptions[seg] = _describe(traits)
        if names.get(seg) == MAINSTREAM_NAME:
            # Its largest differences are too small to call high or low.
            descriptions[seg] = MAINSTREAM_DESCRIPTION
        if seg not in names:
            candidate = ", ".join(t[1] for t in traits[:2]).replace(", High", ", high").replace(", Low", ", low")
            if candidate in used:
                candidate = ", ".join(t[1] for t in traits).replace(", High", ", high").replace(", Low", ", low")
            if candidate in used:
                candidate = f"{candidate} (segment {seg})"
            names[seg] = candidate
            scores_out[seg] = float("nan")
        used.add(names[seg])

    rows_out = []
    for seg in segments["segment_id"].astype(int):
        if seg == NOISE_SEGMENT:
            rows_out.append((seg, NOISE_NAME, NOISE_DESCRIPTION, float("nan")))
        else:
            rows_out.append((seg, names[seg], descriptions[seg], scores_out[seg]))
    return pd.DataFrame(rows_out, columns=["segment_id", "segment_name", "segment_description", "archetype_score"])


def name_all(profile_stats: pd.DataFrame) -> pd.DataFrame:
    """Names for every algorithm's segments (input: one row per algorithm and segment)."""
    parts = []
    for algorithm, group in profile_stats.groupby("algorithm", sort=True):
        named = name_segments(group)
        named.insert(0, "algorithm", algorithm)
        parts.append(named)
    if not parts:
        return pd.DataFrame(columns=["algorithm", "segment_id", "segment_name", "segment_description",
                                     "archetype_score"])
    return pd.concat(parts, ignore_index=True)
