"""Segment names from profiles: readable, fitting, unique, and never contradicting their numbers."""

from __future__ import annotations

import numpy as np
import pytest
import pandas as pd

from custseg import catalogue
from custseg.naming import (MAINSTREAM_DESCRIPTION, NOISE_NAME, name_all, name_segments, population_stats,
                            usable_archetypes)

CC_FEATURES = [f.name for f in catalogue.features().values() if f.kind != "id"]


def stats(rows: list[dict], features=CC_FEATURES, sd: float = 1.0, kinds: dict | None = None) -> pd.DataFrame:
    """Long segment stats as int_segment_feature_stats gives them: every mean defaults to 10."""
    out = []
    for row in rows:
        for f in features:
            value = row.get(f, 10.0)
            out.append({"algorithm": row.get("algorithm", "kmeans"), "segment_id": row["segment_id"],
                        "customers": row["customers"], "feature": f, "kind": (kinds or {}).get(f, "amount"),
                        "feature_label": f, "observed": row["customers"], "mean_value": value,
                        "median_value": value, "stddev_value": sd, "capped_mean": value, "capped_stddev": sd})
    return pd.DataFrame(out)


def test_population_stats_are_pooled_exactly():
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 1, 300), rng.normal(8, 2, 700)
    mean, sd = population_stats([300, 700], [a.mean(), b.mean()], [a.std(), b.std()])
    both = np.concatenate([a, b])
    assert abs(mean - both.mean()) < 1e-12
    assert abs(sd - both.std()) < 1e-9


def test_archetypes_fit_their_profiles():
    table = stats([
        {"segment_id": 1, "customers": 500, "cash_advance": 30, "cash_advance_frequency": 25,
         "cash_advance_share": 28, "purchases": 2},
        {"segment_id": 2, "customers": 400, "purchases": 1, "cash_advance": 1, "total_transactions": 1,
         "balance_frequency": 3, "payments": 2},
        {"segment_id": 3, "customers": 300, "installments_purchases": 30, "purchases_installments_frequency": 25,
         "installment_purchase_share": 28, "oneoff_purchases": 3, "cash_advance": 3},
    ])
    names = name_segments(table).set_index("segment_id")["segment_name"].to_dict()
    assert names == {1: "Cash-advance users", 2: "Dormant accounts", 3: "Instalment buyers"}


def test_descriptions_quote_multiples_of_the_average():
    table = stats([
        {"segment_id": 1, "customers": 100, "credit_utilization": 40.0},
        {"segment_id": 2, "customers": 900},
    ])
    named = name_segments(table).set_index("segment_id")
    assert named.loc[1, "segment_description"].startswith("High credit utilization (3.1x average)")


def test_a_measure_is_called_high_only_when_its_index_says_so():
    # effect +0.5 sd but the raw mean only 2% above average: not called high
    table = stats([{"segment_id": 1, "customers": 500, "balance": 10.5},
                   {"segment_id": 2, "customers": 500, "balance": 9.5}], sd=1.0)
    table.loc[table["feature"] == "balance", "mean_value"] = table.loc[table["feature"] == "balance", "segment_id"] \
        .map({1: 102.0, 2: 98.0})
    named = name_segments(table).set_index("segment_id")
    assert "balance" not in named.loc[1, "segment_description"]
    assert "balances" not in named.loc[1, "segment_name"].lower()


def test_a_mainstream_segment_is_not_described_as_high_or_low():
    table = stats([
        {"segment_id": 1, "customers": 900, "credit_utilization": 10.1},
        {"segment_id": 2, "customers": 100, "cash_advance": 12.0},
    ])
    named = name_segments(table).set_index("segment_id")
    assert named.loc[1, "segment_name"] == "Mainstream customers"
    assert named.loc[1, "segment_description"] == MAINSTREAM_DESCRIPTION
    assert "x average" not in MAINSTREAM_DESCRIPTION


def test_larger_segments_choose_first_and_names_stay_unique():
    # two segments that both look like instalment buyers: the larger gets the archetype
    common = {"installments_purchases": 30, "purchases_installments_frequency": 25, "installment_purchase_share": 28}
    table = stats([
        {"segment_id": 1, "customers": 50, **common},
        {"segment_id": 2, "customers": 900, **common, "purchases_trx": 12},
        {"segment_id": 3, "customers": 500},
    ])
    named = name_segments(table).set_index("segment_id")["segment_name"]
    assert named[2] == "Instalment buyers"
    assert named[1] != "Instalment buyers"
    assert named.is_unique


def test_noise_segment_has_its_own_name():
    table = stats([{"segment_id": 0, "customers": 40, "algorithm": "density"},
                   {"segment_id": 1, "customers": 900, "algorithm": "density", "tenure": 2.0},
                   {"segment_id": 2, "customers": 500, "algorithm": "density"}])
    named = name_all(table)
    assert named.loc[named.segment_id == 0, "segment_name"].item() == NOISE_NAME
    assert named.loc[named.segment_id == 1, "segment_name"].item() == "New customers"


def test_identical_profiles_get_distinct_names():
    table = stats([{"segment_id": i, "customers": 100, "tenure": 10.0 + (i % 2) * 0.001} for i in range(1, 6)])
    names = name_segments(table)["segment_name"]
    assert names.is_unique


def demographic_contract() -> dict:
    def col(name, kind, label, scale, high, low):
        return {"name": name, "role": "feature", "kind": kind, "label": label, "phrase_high": high,
                "phrase_low": low, "scale": scale, "input_column": name}
    return {"columns": [col("age", "age", "age", "interval", "older", "younger"),
                        col("annual_income", "amount", "annual income (k$)", "ratio", "high annual income (k$)",
                            "low annual income (k$)"),
                        col("spending_score", "score", "spending score (1-100)", "interval",
                            "high spending score (1-100)", "low spending score (1-100)")],
            "derived": []}


def test_other_schemas_are_named_in_their_own_words():
    features = ["age", "annual_income", "spending_score"]
    kinds = {"age": "age", "annual_income": "amount", "spending_score": "score"}
    table = stats([{"segment_id": 1, "customers": 300, "age": 25.0, "annual_income": 60.0, "spending_score": 80.0},
                   {"segment_id": 2, "customers": 300, "age": 55.0, "annual_income": 60.0, "spending_score": 20.0},
                   {"segment_id": 3, "customers": 300, "age": 40.0, "annual_income": 60.0, "spending_score": 50.0}],
                  features=features, sd=5.0, kinds=kinds)
    named = name_segments(table, demographic_contract()).set_index("segment_id")
    assert named.loc[1, "segment_name"] == "High spending score (1-100), younger"
    assert named.loc[2, "segment_name"] == "Low spending score (1-100), older"
    assert named.loc[1, "segment_description"] == (
        "High spending score (1-100) (80 vs 50 on average), younger (25 vs 40 on average).")
    # no credit-card word anywhere
    words = " ".join(named["segment_name"]) + " ".join(named["segment_description"])
    for cc_word in ("cash", "instalment", "revolver", "balance", "credit"):
        assert cc_word not in words.lower()


@pytest.mark.parametrize("low_a, low_b, very", [
    ((45.0, 22.0), (25.0, 35.0), 3),   # the later segment is the more extreme on its first trait
    ((20.0, 30.0), (35.0, 38.0), 1),   # the earlier one is: it is renamed
])
def test_the_same_traits_in_another_order_are_not_a_second_name(low_a, low_b, very):
    """Two segments low on the same two measures are not named "Low X, low Y" and "Low Y, low
    X": the more extreme of the two on the trait that comes first is "very low" on it."""
    features = ["age", "annual_income", "spending_score"]
    kinds = {"age": "age", "annual_income": "amount", "spending_score": "score"}
    rows = [(1, 300, *low_a), (2, 300, 90.0, 80.0), (3, 250, *low_b)]
    table = stats([{"segment_id": i, "customers": n, "age": 40.0, "annual_income": income, "spending_score": score}
                   for i, n, income, score in rows], features=features, sd=5.0, kinds=kinds)
    named = name_segments(table, demographic_contract()).set_index("segment_id")["segment_name"]
    parts = {s: frozenset(n.lower().split(", ")) for s, n in named.items()}
    assert len(set(parts.values())) == len(parts), named.to_dict()
    assert "very low " in named[very].lower() and "very" not in named[4 - very].lower(), named.to_dict()
    assert "(segment" not in " ".join(named)


def test_an_archetype_needs_what_it_is_about():
    usable = {a.name for a, _ in usable_archetypes({"purchases", "balance", "credit_limit", "payments"})}
    assert "Cash-advance users" not in usable          # no cash advance in the input
    assert "Big spenders" in usable                     # purchases, credit_limit, payments: 80% of its weight


def test_a_kept_segment_keeps_its_previous_name():
    table = stats([{"segment_id": 1, "customers": 500, "cash_advance": 30, "cash_advance_frequency": 25,
                    "cash_advance_share": 28},
                   {"segment_id": 7, "customers": 400, "installments_purchases": 30}])
    named = name_segments(table, previous_names={1: "Revolvers"}).set_index("segment_id")["segment_name"]
    assert named[1] == "Revolvers"
    assert named[7] != "Revolvers"
