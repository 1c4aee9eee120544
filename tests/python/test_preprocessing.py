"""The shared preprocessing: transforms, scaling, encoding, PCA, and its table round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from custseg.preprocessing import ONE_HOT_SCALE, FeatureSpec, Preprocessor


def specs(*names, categorical=(), caps=None, transforms=None):
    """Feature specs as the input contract would give them (CC GENERAL kinds)."""
    kinds = {"balance": ("amount", "log1p"), "purchases_frequency": ("share", "identity"),
             "minimum_payments": ("amount", "log1p"), "cash_advance": ("amount", "log1p")}
    out = []
    for n in names:
        kind, transform = kinds.get(n, ("number", "auto"))
        transform = (transforms or {}).get(n, transform)
        out.append(FeatureSpec(n, kind, transform, (caps or {}).get(n), n.upper()))
    out += [FeatureSpec(c, "category", "one_hot", None, c) for c in categorical]
    return out


@pytest.fixture()
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(n)],
        "balance": rng.lognormal(6, 1.5, n),
        "purchases_frequency": rng.uniform(0, 1, n),
        "minimum_payments": np.where(rng.uniform(size=n) < 0.1, np.nan, rng.lognormal(5, 1, n)),
        "cash_advance": np.full(n, np.nan),  # an optional column the input lacked
        "card_type": rng.choice(["gold", "classic", "platinum"], n, p=[0.3, 0.6, 0.1]),
    })


def test_amounts_are_logged_and_every_column_standardized(frame):
    pre = Preprocessor(specs("balance", "purchases_frequency", "minimum_payments")).fit(frame)
    transforms = {c.name: c.transform for c in pre.columns_}
    assert transforms == {"balance": "log1p", "purchases_frequency": "identity", "minimum_payments": "log1p"}
    X = pre.transform(frame)
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(X.std(axis=0), 1, atol=1e-9)
    logged = np.log1p(frame["balance"].to_numpy())
    expected = (logged - logged.mean()) / logged.std()
    np.testing.assert_allclose(X[:, 0], expected)


def test_missing_values_get_the_fit_sample_median(frame):
    pre = Preprocessor(specs("balance", "minimum_payments")).fit(frame)
    col = pre.columns_[1]
    observed = np.log1p(frame["minimum_payments"].dropna())
    assert col.fill_value == pytest.approx(float(np.median(observed)))
    one = pd.DataFrame({"balance": [100.0], "minimum_payments": [np.nan]})
    assert pre.transform(one)[0, 1] == pytest.approx((col.fill_value - col.center) / col.scale)


def test_empty_features_are_dropped_and_reported(frame):
    pre = Preprocessor(specs("balance", "purchases_frequency", "cash_advance")).fit(frame)
    assert pre.column_names == ["balance", "purchases_frequency"]
    assert pre.dropped_features_ == ["cash_advance"]


def test_unknown_feature_names_fail_with_the_list(frame):
    with pytest.raises(ValueError, match="model features not in customer_features: balanse"):
        Preprocessor(specs("balanse", "purchases_frequency")).fit(frame)


def test_one_hot_categories_differ_by_one_unit_of_squared_distance(frame):
    pre = Preprocessor(specs("balance", "purchases_frequency", categorical=["card_type"])).fit(frame)
    names = pre.column_names
    assert names[2:] == ["card_type=classic", "card_type=gold", "card_type=platinum"]
    X = pre.transform(frame)
    gold = X[frame["card_type"].to_numpy() == "gold"][0, 2:]
    classic = X[frame["card_type"].to_numpy() == "classic"][0, 2:]
    assert np.sum((gold - classic) ** 2) == pytest.approx(1.0)
    assert set(np.unique(X[:, 2:])) == {0.0, ONE_HOT_SCALE}


def test_rare_categories_beyond_the_cap_share_an_other_column():
    frame = pd.DataFrame({"balance": np.arange(60.0), "purchases_frequency": np.linspace(0, 1, 60),
                          "region": [f"r{i % 6}" for i in range(60)]})
    pre = Preprocessor(specs("balance", "purchases_frequency", categorical=["region"]), max_categories=3).fit(frame)
    assert pre.column_names[-1] == "region=__other__"
    X = pre.transform(pd.DataFrame({"balance": [1.0], "purchases_frequency": [0.5], "region": ["never-seen"]}))
    assert X[0, -1] == pytest.approx(ONE_HOT_SCALE)


def test_pca_views_and_reduced_space(frame):
    pre = Preprocessor(specs("balance", "purchases_frequency", "minimum_payments")).fit(frame)
    X = pre.transform(frame)
    view = pre.project(X)
    assert view.shape == (len(frame), 3)
    # components are uncorrelated and ordered by variance
    cov = np.cov(view.T)
    assert abs(cov[0, 1]) < 1e-8 and cov[0, 0] >= cov[1, 1] >= cov[2, 2]
    assert pre.explained_variance_ratio_.sum() == pytest.approx(1.0)
    assert 2 <= pre.reduced_components_ <= 3
    assert pre.reduce(X).shape == (len(frame), pre.reduced_components_)


def test_table_round_trip_reproduces_the_transform(frame):
    wanted = specs("balance", "purchases_frequency", "minimum_payments", categorical=["card_type"])
    pre = Preprocessor(wanted).fit(frame)
    table = pre.to_frame()
    assert list(table["column_position"]) == list(range(1, len(table) + 1))
    rebuilt = Preprocessor.from_frame(table)
    np.testing.assert_array_equal(rebuilt.transform(frame), pre.transform(frame))
    X = pre.transform(frame)
    np.testing.assert_array_equal(rebuilt.project(X), pre.project(X))
    np.testing.assert_array_equal(rebuilt.reduce(X), pre.reduce(X))


def test_transform_accepts_arrow_batches(frame):
    wanted = specs("balance", "purchases_frequency", "minimum_payments", categorical=["card_type"])
    pre = Preprocessor(wanted).fit(frame)
    batch = pa.RecordBatch.from_pandas(frame, preserve_index=False)
    np.testing.assert_array_equal(pre.transform(batch), pre.transform(frame))


def test_outliers_are_capped_before_the_transform(frame):
    cap = float(np.quantile(frame["balance"], 0.9))
    pre = Preprocessor(specs("balance", "purchases_frequency", caps={"balance": cap})).fit(frame)
    raw = np.log1p(np.minimum(frame["balance"].to_numpy(), cap))
    np.testing.assert_allclose(pre.transform(frame)[:, 0], (raw - raw.mean()) / raw.std())
    huge = pd.DataFrame({"balance": [cap * 1000], "purchases_frequency": [0.5]})
    at_cap = pd.DataFrame({"balance": [cap], "purchases_frequency": [0.5]})
    assert pre.transform(huge)[0, 0] == pre.transform(at_cap)[0, 0]
    assert Preprocessor.from_frame(pre.to_frame()).transform(huge)[0, 0] == pre.transform(at_cap)[0, 0]


def test_signed_log_keeps_the_sign_and_auto_logs_only_skewed_measures():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"net": rng.normal(0, 500, 300), "skewed": rng.lognormal(2, 1.5, 300),
                          "even": rng.uniform(0, 10, 300)})
    pre = Preprocessor([FeatureSpec("net", "net_amount", "signed_log1p"), FeatureSpec("skewed", "number", "auto"),
                        FeatureSpec("even", "number", "auto")]).fit(frame)
    assert [c.transform for c in pre.columns_] == ["signed_log1p", "log1p", "identity"]
    z = pre.transform(pd.DataFrame({"net": [-100.0, 100.0], "skewed": [1.0, 1.0], "even": [5.0, 5.0]}))
    centre, scale = pre.columns_[0].center, pre.columns_[0].scale
    np.testing.assert_allclose(z[:, 0] * scale + centre, [-np.log1p(100), np.log1p(100)])


def test_constant_features_are_dropped_and_two_are_needed():
    frame = pd.DataFrame({"a": np.ones(50), "b": np.arange(50.0), "c": np.full(50, 7.0)})
    with pytest.raises(ValueError, match="fewer than two usable model features .*dropped: a, c"):
        Preprocessor([FeatureSpec(n, "number", "identity") for n in "abc"]).fit(frame)


def test_specs_come_from_the_input_contract():
    contract = {"columns": [
        {"name": "customer_id", "role": "id", "kind": "id", "input_column": "ID"},
        {"name": "income", "role": "feature", "kind": "amount", "transform": "log1p", "is_capped": True,
         "input_column": "Income"},
        {"name": "age", "role": "feature", "kind": "age", "transform": "identity", "is_capped": False,
         "input_column": "Age"},
        {"name": "tenure", "role": "profile", "kind": "duration", "transform": "identity", "is_capped": True,
         "input_column": "Tenure"},
        {"name": "gender", "role": "categorical", "kind": None, "input_column": "Gender"},
        {"name": "tier", "role": "categorical", "kind": "category", "input_column": "Tier"},
    ], "derived": []}
    got = FeatureSpec.from_contract(contract, {"income": 900.0, "age": 99.0})
    assert got == [FeatureSpec("income", "amount", "log1p", 900.0, "Income"),
                   FeatureSpec("age", "age", "identity", None, "Age"),
                   FeatureSpec("tier", "category", "one_hot", None, "Tier")]
