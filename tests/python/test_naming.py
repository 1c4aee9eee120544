"""Segment names from profiles: readable, fitting, unique."""

from __future__ import annotations

import numpy as np
import pandas as pd

from custseg.catalogue import PROFILE_FEATURES
from custseg.naming import MAINSTREAM_DESCRIPTION, NOISE_NAME, name_all, name_segments, population_stats


def profiles(rows: list[dict], sd: float = 1.0) -> pd.DataFrame:
    """Segment stats: every feature mean defaults to 10 (population-average)."""
    out = []
    for row in rows:
        rec = {"algorithm": row.get("algorithm", "kmeans"), "segment_id": row["segment_id"],
               "customers": row["customers"]}
        for f in PROFILE_FEATURES:
            rec[f"{f}_mean"] = row.get(f, 10.0)
            rec[f"{f}_stddev"] = sd
        out.append(rec)
    return pd.DataFrame(out)


def test_population_stats_are_pooled_exactly():
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 1, 300), rng.normal(8, 2, 700)
    seg = pd.DataFrame({"customers": [300, 700], "x_mean": [a.mean(), b.mean()], "x_stddev": [a.std(), b.std()]})
    mean, sd = population_stats(seg, "x")
    both = np.concatenate([a, b])
    assert abs(mean - both.mean()) < 1e-12
    assert abs(sd - both.std()) < 1e-9


def test_archetypes_fit_their_profiles():
    table = profiles([
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
    table = profiles([
        {"segment_id": 1, "customers": 100, "credit_utilization": 40.0},
        {"segment_id": 2, "customers": 900},
    ])
    named = name_segments(table).set_index("segment_id")
    assert named.loc[1, "segment_description"].startswith("High credit utilization (3.1x average)")


def test_a_mainstream_segment_is_not_described_as_high_or_low():
    table = profiles([
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
    table = profiles([
        {"segment_id": 1, "customers": 50, **common},
        {"segment_id": 2, "customers": 900, **common, "purchases_trx": 12},
        {"segment_id": 3, "customers": 500},
    ])
    named = name_segments(table).set_index("segment_id")["segment_name"]
    assert named[2] == "Instalment buyers"
    assert named[1] != "Instalment buyers"
    assert named.is_unique


def test_noise_segment_has_its_own_name():
    table = profiles([{"segment_id": 0, "customers": 40, "algorithm": "density"},
                      {"segment_id": 1, "customers": 900, "algorithm": "density", "tenure": 2.0},
                      {"segment_id": 2, "customers": 500, "algorithm": "density"}])
    named = name_all(table)
    assert named.loc[named.segment_id == 0, "segment_name"].item() == NOISE_NAME
    assert named.loc[named.segment_id == 1, "segment_name"].item() == "New customers"


def test_identical_profiles_get_distinct_trait_names():
    table = profiles([{"segment_id": i, "customers": 100, "tenure": 10.0 + (i % 2) * 0.001} for i in range(1, 6)])
    names = name_segments(table)["segment_name"]
    assert names.is_unique
