"""The five algorithms on data with a known answer, and the fitted models' behaviour."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from custseg.algorithms import (
    SegmentModel,
    Spaces,
    compact_linkage,
    fit_algorithm,
    nearest_prototype,
    som_grid_shape,
)
from custseg.settings import Settings

SETTINGS = Settings(k_min=2, k_max=7, fit_sample_size=3000, hierarchical_sample_size=1500,
                    density_sample_size=3000, silhouette_sample_size=1500, evaluation_sample_size=2000,
                    stability_resamples=2, random_state=7)


@pytest.fixture(scope="module")
def blobs():
    """Four well-separated groups in 6 dimensions (equidistant centres), rows in random order."""
    centres = 6.0 * np.eye(6)[:4]
    X, y = make_blobs(3000, n_features=6, centers=centres, cluster_std=0.7, random_state=11)
    # a PCA "reduced space" as the preprocessing would give it
    centred = X - X.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    return Spaces(X, centred @ vt[:3].T), y, (s**2 / (s**2).sum())


@pytest.mark.parametrize("algorithm", ["kmeans", "hierarchical", "som", "density", "gmm"])
def test_each_algorithm_recovers_four_blobs(blobs, algorithm):
    spaces, truth, evr = blobs
    result = fit_algorithm(algorithm, spaces, SETTINGS, evr)
    labels = result.model.labels(spaces)
    assert result.model.n_segments == 4
    clustered = labels != 0
    assert clustered.mean() > 0.9
    assert adjusted_rand_score(truth[clustered], labels[clustered]) > 0.95
    assert result.silhouette > 0.6
    assert result.stability_ari > 0.95
    # segment ids run 1..k by decreasing size on the fit sample (0 only for density noise)
    ids, counts = np.unique(labels[clustered], return_counts=True)
    assert list(ids) == [1, 2, 3, 4]
    if algorithm != "density":
        assert result.candidates and sum(c["is_chosen"] for c in result.candidates) == 1
        assert next(c["k"] for c in result.candidates if c["is_chosen"]) == 4


def test_fixed_k_overrides_the_rule(blobs):
    spaces, _, evr = blobs
    result = fit_algorithm("kmeans", spaces, Settings(**{**SETTINGS.to_dict(), "kmeans_k": 3}), evr)
    assert result.model.n_segments == 3 and result.parameters["k_rule"] == "fixed"


def test_fits_are_deterministic(blobs):
    spaces, _, evr = blobs
    for algorithm in ["kmeans", "som", "gmm"]:
        a = fit_algorithm(algorithm, spaces, SETTINGS, evr)
        b = fit_algorithm(algorithm, spaces, SETTINGS, evr)
        assert a.model.to_json() == b.model.to_json()
        assert a.silhouette == b.silhouette and a.stability_ari == b.stability_ari


def test_models_survive_a_json_round_trip_and_pickling(blobs):
    import pickle

    spaces, _, evr = blobs
    for algorithm in ["kmeans", "density", "gmm", "som"]:
        model = fit_algorithm(algorithm, spaces, SETTINGS, evr).model
        a = model.assign(spaces)
        # JSON: how models are saved; pickle: how Spark ships them to its Python workers
        for again in (SegmentModel.from_json(model.to_json()), pickle.loads(pickle.dumps(model))):
            b = again.assign(spaces)
            np.testing.assert_array_equal(a.segment_id, b.segment_id)
            np.testing.assert_array_equal(a.distance, b.distance)


def test_gaussian_mixture_gives_probabilities(blobs):
    spaces, _, evr = blobs
    assigned = fit_algorithm("gmm", spaces, SETTINGS, evr).model.assign(spaces)
    assert assigned.probability is not None
    assert ((assigned.probability > 0.25) & (assigned.probability <= 1.0)).all()
    assert np.median(assigned.probability) > 0.99  # well-separated blobs: confident


def test_density_sends_far_customers_to_noise(blobs):
    spaces, _, evr = blobs
    model = fit_algorithm("density", spaces, SETTINGS, evr).model
    far = Spaces(spaces.full[:3] + 100.0, spaces.reduced[:3] + 100.0)
    assert list(model.labels(far)) == [0, 0, 0]
    assert model.has_noise and model.space == "reduced"


def test_density_clusters_under_one_percent_join_the_noise():
    # Three groups of 1,000 and a tight speck of 20 (0.66%) far from them: DBSCAN finds
    # the speck as a cluster, the segmentation sends it to noise.
    centres = 6.0 * np.eye(4)[:3]
    X, y = make_blobs(3000, n_features=4, centers=centres, cluster_std=0.5, random_state=3)
    speck = np.random.default_rng(0).normal(loc=20.0, scale=0.05, size=(20, 4))
    X = np.vstack([X, speck])
    order = np.random.default_rng(1).permutation(len(X))
    X = X[order]
    is_speck = order >= 3000
    settings = Settings(k_min=2, k_max=5, density_sample_size=len(X), silhouette_sample_size=1000,
                        evaluation_sample_size=len(X), stability_resamples=0, random_state=7)
    result = fit_algorithm("density", Spaces(X, X), settings)
    labels = result.model.labels(Spaces(X, X))
    assert result.model.n_segments == 3
    assert (labels[is_speck] == 0).all()
    assert result.parameters["min_segment_size"] == 31


def test_density_model_scores_the_same_from_several_threads(blobs):
    """int_customer_scores assigns batches on a thread pool: the shared k-d tree is built
    once, and threaded assignment equals sequential assignment."""
    from custseg.pipeline import ordered_parallel_map

    spaces, _, evr = blobs
    fitted = fit_algorithm("density", spaces, SETTINGS, evr).model
    model = SegmentModel.from_json(fitted.to_json())          # fresh, no tree yet
    chunks = [spaces.rows(slice(i, i + 250)) for i in range(0, len(spaces), 250)]
    threaded = list(ordered_parallel_map(lambda c: model.labels(c), chunks, workers=4))
    tree = model._kdtree
    assert tree is not None
    np.testing.assert_array_equal(np.concatenate(threaded), fitted.labels(spaces))
    model.labels(chunks[0])
    assert model._kdtree is tree


def test_nearest_prototype_matches_brute_force():
    rng = np.random.default_rng(5)
    X, P = rng.normal(size=(5000, 7)), rng.normal(size=(300, 7))
    idx, dist = nearest_prototype(X, P)
    full = np.linalg.norm(X[:, None, :] - P[None, :, :], axis=2)
    np.testing.assert_array_equal(idx, full.argmin(axis=1))
    np.testing.assert_allclose(dist, full.min(axis=1), atol=1e-9)


def test_som_grid_rule():
    assert som_grid_shape(9000, np.array([0.5, 0.5])) == (15, 15)
    assert som_grid_shape(100, None) == (7, 7)  # 5 * sqrt(100) = 50 nodes
    rows, cols = som_grid_shape(1_000_000, np.array([0.6, 0.15]))
    assert rows * cols <= 225 + rows and rows > cols  # capped, elongated along PC1
    assert som_grid_shape(10, None, grid=[4, 6]) == (4, 6)


def test_compact_linkage_keeps_the_top_of_the_tree():
    from scipy.cluster.hierarchy import dendrogram, linkage

    X, _ = make_blobs(200, centers=3, random_state=0)
    Z = linkage(X, "ward")
    top = compact_linkage(Z, len(X), leaves=10)
    small = np.array(top["linkage"], dtype=float)
    assert len(top["leaf_sizes"]) == 10 and small.shape == (9, 4)
    assert sum(top["leaf_sizes"]) == 200
    assert small[-1, 3] == 10  # the root holds every leaf
    dendrogram(small, no_plot=True)  # a valid linkage matrix
    json.dumps(top)


def test_too_few_customers_is_a_clear_error():
    spaces = Spaces(np.zeros((5, 3)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="need more than k_max"):
        fit_algorithm("kmeans", spaces, SETTINGS)
    with pytest.raises(ValueError, match="unknown algorithm 'kmedoids'"):
        fit_algorithm("kmedoids", spaces, SETTINGS)


# --------------------------------------------------------------------------- scoring SQL
@pytest.fixture(scope="module")
def fitted_sample():
    """A generated customer sample through the real preprocessing (caps, log1p, a signed
    log1p, a share, a one-hot category with gaps and a column name that needs quoting), and
    every registered algorithm fitted on it."""
    from custseg.algorithms import ALGORITHMS
    from custseg.pipeline import model_spaces
    from custseg.preprocessing import FeatureSpec, Preprocessor
    from custseg.sample import generate_clean

    raw = generate_clean(2500, seed=5)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "customer_id": raw["CUST_ID"],
        "balance": raw["BALANCE"],
        "purchases": raw["PURCHASES"],
        "cash advance \"net\"": raw["CASH_ADVANCE"] - raw["PAYMENTS"] / 2,
        "purchases_frequency": raw["PURCHASES_FREQUENCY"],
        "credit_limit": raw["CREDIT_LIMIT"],
        "card": rng.choice(["gold", "silver", "it's blue", None], size=len(raw), p=[0.3, 0.4, 0.2, 0.1]),
    })
    frame.loc[rng.random(len(frame)) < 0.05, "balance"] = np.nan
    specs = [FeatureSpec("balance", "amount", "log1p", cap=float(frame["balance"].quantile(0.99))),
             FeatureSpec("purchases", "amount", "log1p"),
             FeatureSpec("cash advance \"net\"", "net_amount", "signed_log1p"),
             FeatureSpec("purchases_frequency", "share", "identity"),
             FeatureSpec("credit_limit", "limit", "log1p", cap=15000.0),
             FeatureSpec("card", "category", "one_hot")]
    pre = Preprocessor(specs).fit(frame)
    spaces = model_spaces(pre, frame)
    models = {a: fit_algorithm(a, spaces, SETTINGS, pre.explained_variance_ratio_).model for a in ALGORITHMS}
    return frame, pre, spaces, models


def _sql_scores(frame, pre, models):
    import duckdb

    from custseg.scoring_sql import customer_scores_sql

    con = duckdb.connect()
    con.register("customers", pa.Table.from_pandas(frame))       # missing values as NULL, as in a table
    rows = [{"algorithm": a, "model_version": 3, **r} for a, m in models.items() for r in m.parameter_rows()]
    con.register("parameter_rows", pd.DataFrame(rows))
    versions = {a: (3, 1) for a in models}
    sql = customer_scores_sql("customers", "parameter_rows", {1: pre}, models, versions, 1, "duckdb")
    return con.sql(sql).df().set_index("customer_id").loc[frame["customer_id"]]


def test_the_scoring_sql_assigns_every_customer_as_python_does(fitted_sample):
    """Each model's score_sql (and the preprocessing's space_sql), run in DuckDB on the same
    customers, gives the segment of every customer that `assign` gives, the same node, and
    the same distance and probability to 1e-9 (relative)."""
    frame, pre, spaces, models = fitted_sample
    got = _sql_scores(frame, pre, models)
    view = pre.project(spaces.full)
    for i in range(3):
        np.testing.assert_allclose(got[f"pca_{i + 1}"].to_numpy(float), view[:, i], rtol=1e-9, atol=1e-12)
    for algorithm, model in models.items():
        want = model.assign(spaces)
        np.testing.assert_array_equal(got[f"{algorithm}_segment_id"].to_numpy(int), want.segment_id, algorithm)
        distance = got[f"{algorithm}_distance"].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(distance), np.isnan(want.distance), algorithm)
        ok = ~np.isnan(want.distance)
        np.testing.assert_allclose(distance[ok], want.distance[ok], rtol=1e-9, atol=1e-12, err_msg=algorithm)
        probability = got[f"{algorithm}_probability"].to_numpy(float)
        if want.probability is None:
            assert np.isnan(probability).all(), algorithm
        else:
            np.testing.assert_allclose(probability, want.probability, rtol=1e-9, err_msg=algorithm)
        node = got[f"{algorithm}_node"]
        if want.node is None:
            assert node.isna().all(), algorithm
        else:
            np.testing.assert_array_equal(node.to_numpy(int), want.node + 1, algorithm)
    # the sample reaches every branch: noise, several segments per model, capped values
    assert (got["density_segment_id"] == 0).any() and (got["density_segment_id"] > 0).mean() > 0.5
    assert all(got[f"{a}_segment_id"].nunique() >= 2 for a in models)


def test_the_scoring_sql_quotes_what_comes_from_the_input(fitted_sample):
    frame, pre, spaces, models = fitted_sample
    from custseg.scoring_sql import customer_scores_sql

    versions = {a: (3, 1) for a in models}
    spark = customer_scores_sql("custseg_features", "custseg_parameters", {1: pre}, models, versions, 1, "spark")
    duck = customer_scores_sql("customers", "parameter_rows", {1: pre}, models, versions, 1, "duckdb")
    assert 'features.`cash advance "net"`' in spark and '\'it\\\'s blue\'' in spark
    assert 'features."cash advance ""net"""' in duck and "'it''s blue'" in duck
    # doubles always carry an exponent: Spark would read 0.5 as a DECIMAL
    assert not re.search(r"(?<![\w.])\d+\.\d+(?![\d.e])", spark)
