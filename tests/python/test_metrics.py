"""Quality measures, the elbow and k-selection rule, and resampling stability."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_samples

from custseg.metrics import (choose_k, elbow_index, quality, resampling_stability, scan_qualities,
                             silhouette_values, silhouette_values_many)


def test_silhouette_matches_scikit_learn_exactly():
    X, y = make_blobs(1500, n_features=5, centers=4, random_state=1)
    y[0] = 9  # a segment of one customer scores 0
    np.testing.assert_allclose(silhouette_values(X, y), silhouette_samples(X, y), atol=1e-9)


def test_a_k_scan_shares_distances_and_matches_one_by_one():
    X, y = make_blobs(1200, n_features=4, centers=5, random_state=2)
    labelings = [KMeans(k, n_init=2, random_state=0).fit_predict(X) for k in (2, 3, 5, 8)]
    for labels, values in zip(labelings, silhouette_values_many(X, labelings)):
        np.testing.assert_allclose(values, silhouette_samples(X, labels), atol=1e-9)
    constant = np.ones(len(X), dtype=int)
    scanned = scan_qualities(X, [*labelings, constant], 800)
    for labels, q in zip(labelings, scanned):
        single = quality(X, labels, 800)
        assert q.silhouette == pytest.approx(single.silhouette, abs=1e-12)
        assert (q.davies_bouldin, q.calinski_harabasz) == (single.davies_bouldin, single.calinski_harabasz)
    assert scanned[-1].silhouette is None and scanned[-1].davies_bouldin is None


def test_elbow_of_decreasing_and_increasing_curves():
    assert elbow_index([100, 60, 30, 25, 22, 20, 19]) == 2
    assert elbow_index([0.1, 0.2, 0.25, 0.3, 0.5, 2.0, 6.0]) == 4
    assert elbow_index([5, 5, 5]) == 0


def test_choose_k_prefers_best_silhouette_then_the_elbow():
    def cand(k, inertia, sil):
        return {"k": k, "criterion_value": inertia, "silhouette": sil}

    # clear winner on silhouette
    assert choose_k([cand(2, 100, 0.30), cand(3, 60, 0.25), cand(4, 50, 0.20)]) == 2
    # k=5 and k=6 tie within 0.01: the one nearer the elbow (k=4) wins
    curve = [cand(2, 100, 0.30), cand(3, 70, 0.33), cand(4, 40, 0.35), cand(5, 35, 0.386),
             cand(6, 33, 0.39), cand(7, 32, 0.34)]
    assert choose_k(curve) == 5
    # no candidate has a silhouette (too few distinct customers): the elbow decides, no error
    flat = [{"k": k, "criterion_value": v, "silhouette": None} for k, v in [(2, 100), (3, 20), (4, 15), (5, 12)]]
    assert choose_k(flat) == 3
    with pytest.raises(ValueError, match="no candidate k"):
        choose_k([])


def test_quality_leaves_noise_out_only_when_asked():
    X, y = make_blobs(600, centers=3, random_state=0)
    labels = y + 1
    labels[:50] = 0
    with_noise = quality(X, labels, 600)
    without = quality(X, labels, 600, exclude_noise=True)
    assert without.evaluated == 550 and with_noise.evaluated == 600
    assert without.silhouette > with_noise.silhouette
    assert quality(X, np.ones(600, dtype=int), 600).silhouette is None


def test_stability_is_high_for_clear_clusters_and_low_for_noise():
    X, _ = make_blobs(2000, centers=4, cluster_std=0.5, random_state=3)
    ref = KMeans(4, n_init=4, random_state=0).fit(X).predict(X)

    def refit(Xs):
        return KMeans(4, n_init=4, random_state=0).fit(Xs).predict

    assert resampling_stability(refit, X, X, ref, 3, random_state=1) > 0.99
    noise = np.random.default_rng(0).normal(size=(2000, 8))
    ref_noise = KMeans(6, n_init=1, random_state=0).fit(noise).predict(noise)

    def refit_noise(Xs):
        return KMeans(6, n_init=1, random_state=7).fit(Xs).predict

    assert resampling_stability(refit_noise, noise, noise, ref_noise, 3, random_state=1) < 0.9
    assert resampling_stability(refit, X, X, ref, 0, random_state=1) is None
