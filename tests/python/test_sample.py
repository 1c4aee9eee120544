"""The embedded sample generator: deterministic, in the CC GENERAL schema, realistic, dirty."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg import sample
from conftest import PROJECT_DIR

SEED_CSV = PROJECT_DIR / "seeds" / "custseg_sample_customers.csv"


@pytest.fixture(scope="module")
def committed() -> pd.DataFrame:
    return pd.read_csv(SEED_CSV, dtype=str, keep_default_na=False)


def test_committed_seed_is_what_the_generator_writes(tmp_path):
    out = tmp_path / "raw.csv"
    sample.write_sample(9000, out)
    assert out.read_bytes() == SEED_CSV.read_bytes()


def test_generator_is_deterministic_and_seed_sensitive():
    a = sample.generate_clean(500, seed=3)
    b = sample.generate_clean(500, seed=3)
    c = sample.generate_clean(500, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["BALANCE"].equals(c["BALANCE"])


def test_seed_has_the_cc_general_columns(committed):
    assert tuple(committed.columns) == sample.CC_GENERAL_COLUMNS
    assert len(sample.CC_GENERAL_COLUMNS) == 18


def test_seed_carries_every_kind_of_dirt(committed):
    def numeric(col):
        return pd.to_numeric(committed[col].replace("", np.nan), errors="coerce")

    ids = committed["CUST_ID"]
    assert (ids == "").sum() >= 1, "rows without an id"
    assert committed.duplicated().sum() >= 30, "exact duplicate rows"
    dup_ids = committed[ids != ""].drop_duplicates()["CUST_ID"]
    assert dup_ids.duplicated().sum() >= 10, "conflicting rows sharing an id"
    missing_min = (committed["MINIMUM_PAYMENTS"] == "").mean()
    assert 0.02 <= missing_min <= 0.05, f"missing MINIMUM_PAYMENTS share {missing_min:.3f}"
    assert (committed["CREDIT_LIMIT"] == "").sum() >= 1
    assert (numeric("BALANCE") < 0).sum() + (numeric("PURCHASES") < 0).sum() + (numeric("CASH_ADVANCE") < 0).sum() \
        + (numeric("PAYMENTS") < 0).sum() >= 5, "negative amounts"
    freq_cols = ["BALANCE_FREQUENCY", "PURCHASES_FREQUENCY", "CASH_ADVANCE_FREQUENCY", "PRC_FULL_PAYMENT"]
    assert sum(((numeric(c) < 0) | (numeric(c) > 1)).sum() for c in freq_cols) >= 5
    assert (numeric("CREDIT_LIMIT") <= 0).sum() >= 1
    text = sum((committed[c].ne("") & numeric(c).isna()).sum() for c in sample.NUMERIC_COLUMNS)
    assert text >= 5, "text in numeric columns"
    assert numeric("BALANCE").max() > 50 * numeric("BALANCE").quantile(0.99), "extreme outliers"


def test_marginals_look_like_cc_general():
    """Calibration facts of the public file (quantiles, zero shares), loosely."""
    clean = sample.generate_clean(9000)
    assert 500 <= clean["BALANCE"].median() <= 1200           # real: 873
    assert 2500 <= clean["CREDIT_LIMIT"].median() <= 4500     # real: 3000
    assert 0.15 <= (clean["PURCHASES"] == 0).mean() <= 0.40   # real: 0.23
    assert 0.40 <= (clean["CASH_ADVANCE"] == 0).mean() <= 0.70  # real: 0.52
    assert 0.50 <= (clean["PRC_FULL_PAYMENT"] == 0).mean() <= 0.75  # real: 0.66
    assert 0.75 <= (clean["TENURE"] == 12).mean() <= 0.92     # real: 0.85
    # every amount column is right-skewed (mean well above median)
    for col in ["BALANCE", "PURCHASES", "CASH_ADVANCE", "PAYMENTS", "MINIMUM_PAYMENTS"]:
        assert clean[col].mean() > 1.2 * clean[col].median()
    # log-scale correlations with the sign the real file shows
    logged = np.log1p(clean[list(sample.NUMERIC_COLUMNS)].clip(lower=0))
    corr = logged.corr()
    assert corr.loc["PURCHASES", "PURCHASES_TRX"] > 0.8        # real: 0.89
    assert corr.loc["CASH_ADVANCE", "CASH_ADVANCE_TRX"] > 0.8  # real: 0.90
    assert corr.loc["BALANCE", "MINIMUM_PAYMENTS"] > 0.5       # real: 0.82
    assert corr.loc["PURCHASES", "CASH_ADVANCE"] < 0           # real: -0.50


def test_latent_groups_are_all_present():
    clean = sample.generate_clean(9000)
    shares = clean["LATENT_GROUP"].value_counts(normalize=True)
    assert set(shares.index) == {g.name for g in sample.LATENT_GROUPS}
    for group in sample.LATENT_GROUPS:
        assert abs(shares[group.name] - group.share) < 0.02


def test_typed_chunks_cover_the_requested_rows():
    chunks = list(sample.iter_typed_chunks(2500, chunk_rows=1000))
    assert len(chunks) == 3
    total = pd.concat(chunks)
    # dirt adds rows, never removes them
    assert len(total) > 2500
    assert total["BALANCE"].dtype.kind == "f"
    # ids do not collide across chunks (only deliberate duplicates share an id)
    kept = total.dropna(subset=["CUST_ID"]).drop_duplicates()
    assert kept["CUST_ID"].duplicated().sum() < 0.01 * len(kept)


def test_generate_clean_rejects_bad_size():
    with pytest.raises(ValueError, match="n must be positive"):
        sample.generate_clean(0)
