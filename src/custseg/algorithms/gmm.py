"""Gaussian mixture: full covariances in the reduced PCA space, k by the rule on BIC
(scanned on the evaluation sample); a customer takes its most probable component, with that
probability. A refit with a previous version keeps its k when that k is as good and starts
from its components (means, weights and covariances of the previous segments)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..catalogue import NOISE_SEGMENT
from ..metrics import choose_k
from .base import Fit, SegmentModel, Segmenter, Spaces, k_range, scan_candidates, size_order

if TYPE_CHECKING:
    from sklearn.mixture import GaussianMixture

REG_COVAR = 1e-4


def gaussian_model(gm: GaussianMixture, Z: np.ndarray) -> SegmentModel:
    labels = gm.predict(Z)
    order = size_order(labels, np.arange(gm.n_components))
    perm = [old for old, _ in sorted(order.items(), key=lambda kv: kv[1])]
    return SegmentModel(
        "gmm", gm.n_components, space="reduced",
        means=gm.means_[perm], precisions_cholesky=gm.precisions_cholesky_[perm],
        log_weights=np.log(gm.weights_[perm]),
    )


def mixture(k: int, seed: int, **init) -> GaussianMixture:
    from sklearn.mixture import GaussianMixture   # here: scoring never imports scikit-learn

    return GaussianMixture(n_components=k, covariance_type="full", reg_covar=REG_COVAR, max_iter=200,
                           n_init=1, random_state=seed, **init)


class GaussianMixtureSegmenter(Segmenter):
    name = "gmm"
    label = "Gaussian mixture"
    space = "reduced"

    def _warm_start(self, Z: np.ndarray, k: int) -> dict:
        p = self.previous
        if p is None:
            return {}
        ids = [i for i in np.unique(p.labels) if i != NOISE_SEGMENT and (p.labels == i).sum() > Z.shape[1]]
        if len(ids) != k:
            return {}
        means = np.vstack([Z[p.labels == i].mean(axis=0) for i in ids])
        weights = np.array([(p.labels == i).mean() for i in ids])
        covs = [np.cov(Z[p.labels == i], rowvar=False) + REG_COVAR * np.eye(Z.shape[1]) for i in ids]
        return {"means_init": means, "weights_init": weights / weights.sum(),
                "precisions_init": np.array([np.linalg.inv(c) for c in covs])}

    def fit(self, spaces: Spaces, evaluation: Spaces) -> Fit:
        s = self.settings
        scan_rows = spaces.head(s.evaluation_sample_size)
        k_scan = []
        for k in k_range(s, len(scan_rows)):
            gm = mixture(k, s.random_state).fit(scan_rows.reduced)
            k_scan.append((k, "bic", gm.bic(scan_rows.reduced), gm.predict(evaluation.reduced)))
        candidates = scan_candidates(k_scan, evaluation.full, s)
        chosen = s.gmm_k or self.sticky_k(candidates, choose_k(candidates))
        init = self._warm_start(spaces.reduced, chosen)
        model = gaussian_model(mixture(chosen, s.random_state, **init).fit(spaces.reduced), spaces.reduced)

        def refit(sub: Spaces):
            return gaussian_model(mixture(chosen, s.random_state).fit(sub.reduced), sub.reduced).labels

        params = {"k": chosen, "k_rule": "fixed" if s.gmm_k else "silhouette+elbow (BIC)",
                  "covariance_type": "full", "reg_covar": REG_COVAR,
                  "start": "the previous version's segments" if init else "k-means (scikit-learn default)",
                  "space": f"PCA, {spaces.reduced.shape[1]} components"}
        return Fit(model, candidates, params, len(spaces), scan_rows, refit)
