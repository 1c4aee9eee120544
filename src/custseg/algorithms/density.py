"""Density-based clustering: DBSCAN on `density_sample_size` customers in the reduced PCA
space, with min_samples = 2 x its dimensions and eps at the elbow of the sorted k-distance
curve; clusters under 1% of the sample join the noise. A customer takes the segment of the
nearest core customer within eps, otherwise it is noise (segment 0)."""

from __future__ import annotations

import math

import numpy as np

from ..catalogue import NOISE_SEGMENT
from ..metrics import elbow_index
from .base import Fit, SegmentModel, Segmenter, Spaces, size_order

#: Core customers kept as density prototypes (a deterministic random subsample).
MAX_DENSITY_PROTOTYPES = 4_000
#: A DBSCAN cluster with fewer than this share of the fitted customers is not a segment a
#: marketer can act on (and, in few dimensions, DBSCAN finds dozens of such specks): its
#: customers join the noise.
MIN_DENSITY_SEGMENT_SHARE = 0.01


def density_min_segment_size(n: int, min_samples: int) -> int:
    """Smallest DBSCAN cluster kept as a segment: MIN_DENSITY_SEGMENT_SHARE of the fitted
    customers (and at least min_samples); smaller clusters join the noise."""
    return max(min_samples, int(math.ceil(MIN_DENSITY_SEGMENT_SHARE * n)))


def density_model(Zd: np.ndarray, eps: float, min_samples: int, seed: int) -> SegmentModel:
    from sklearn.cluster import DBSCAN   # here: scoring never imports scikit-learn

    db = DBSCAN(eps=eps, min_samples=min_samples).fit(Zd)
    labels = db.labels_.copy()
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    labels[np.isin(labels, ids[counts < density_min_segment_size(len(Zd), min_samples)])] = -1
    cluster_ids = np.unique(labels[labels >= 0])
    if cluster_ids.size == 0:
        # Everyone is noise: a negative radius sends every customer to the noise segment.
        return SegmentModel("density", 0, space="reduced", has_noise=True, prototypes=np.zeros((1, Zd.shape[1])),
                            prototype_segments=np.zeros(1, dtype=np.int32), radius=-1.0)
    order = size_order(labels, cluster_ids)
    core = np.zeros(len(Zd), dtype=bool)
    core[db.core_sample_indices_] = True
    core_idx = np.flatnonzero(core & (labels >= 0))
    if len(core_idx) > MAX_DENSITY_PROTOTYPES:
        rng = np.random.default_rng(seed)
        core_idx = np.sort(rng.choice(core_idx, MAX_DENSITY_PROTOTYPES, replace=False))
    segs = np.array([order[int(label)] for label in labels[core_idx]], dtype=np.int32)
    return SegmentModel("density", len(cluster_ids), space="reduced", has_noise=True, prototypes=Zd[core_idx],
                        prototype_segments=segs, radius=float(eps))


def k_distance_eps(Zd: np.ndarray, min_samples: int) -> tuple[float, np.ndarray]:
    """eps at the elbow of the sorted k-distance curve, read on a regular grid of quantiles
    so the rule does not depend on the sample size; never 0 (duplicated customers make the
    first quantiles 0)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=min(min_samples, len(Zd))).fit(Zd)
    kdist = np.sort(nn.kneighbors(Zd)[0][:, -1])
    grid = np.quantile(kdist, np.linspace(0.0, 1.0, 200))
    eps = float(grid[min(len(grid) - 1, max(1, elbow_index(grid)))])
    if not eps > 0:
        positive = kdist[kdist > 0]
        eps = float(np.median(positive)) if positive.size else 1e-6
    return eps, grid


class DensitySegmenter(Segmenter):
    name = "density"
    label = "Density (DBSCAN)"
    space = "reduced"
    has_noise = True

    def fit(self, spaces: Spaces, evaluation: Spaces) -> Fit:
        s = self.settings
        base = spaces.head(s.density_sample_size)
        Zd = base.reduced
        min_samples = max(5, 2 * Zd.shape[1])
        eps, grid = k_distance_eps(Zd, min_samples)
        model = density_model(Zd, eps, min_samples, s.random_state)
        model.extras["k_distance_quantiles"] = grid.tolist()

        def refit(sub: Spaces):
            return density_model(sub.reduced, eps, min_samples, s.random_state).labels

        params = {"eps": eps, "min_samples": min_samples, "space": f"PCA, {Zd.shape[1]} components",
                  "eps_rule": "elbow of the sorted k-distance curve", "min_samples_rule": "2 x dimensions",
                  "sample_size": len(Zd), "prototypes": int(len(model.prototypes)),
                  "min_segment_size": density_min_segment_size(len(Zd), min_samples),
                  "min_segment_rule": f"clusters under {MIN_DENSITY_SEGMENT_SHARE:.0%} of the sample join the noise",
                  "assignment": f"nearest core customer within eps, else noise (segment {NOISE_SEGMENT})"}
        return Fit(model, [], params, len(Zd), base, refit)
