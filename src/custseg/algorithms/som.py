"""Self-organizing map: a MiniSom grid (size from `som_grid`, or the rule in
`som_grid_shape`), PCA-initialised; its nodes are grouped into segments by Ward clustering
of the node weights, k by the rule; a customer takes the segment of its best-matching node.

A refit with a previous version of the same grid starts from the previous map (carried into
the current model space) and only fine-tunes it (small neighbourhood, low learning rate); it
keeps the previous map when fine-tuning lowers the segments' within sum of squares by less
than the tolerance, so the map, and the segments, move little."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from minisom import MiniSom

from ..metrics import choose_k, within_sum_of_squares
from .base import (STICKY_TOLERANCE, Assignment, Fit, ReportFigure, SegmentModel, Segmenter, Spaces,
                   nearest_prototype, scan_candidates)
from .hierarchical import ward_labels
from .prototypes import PrototypeModel

if TYPE_CHECKING:
    import pandas as pd

    from ..scoring_sql import ScoreQuery

LEARNING_RATE = 0.5
FINE_TUNE_SIGMA = 1.0
FINE_TUNE_LEARNING_RATE = 0.1


def som_grid_shape(n_rows: int, explained_variance: np.ndarray | None, grid=None) -> tuple[int, int]:
    """Grid size: `som_grid` when set; otherwise about 5 * sqrt(n) nodes (Vesanto's rule of
    thumb), capped to 16..225 so assignment stays cheap, with sides in the ratio of the
    square roots of the two largest PCA variances (Kohonen's advice)."""
    if grid:
        return int(grid[0]), int(grid[1])
    nodes = int(np.clip(round(5 * math.sqrt(n_rows)), 16, 225))
    ratio = 1.0
    if explained_variance is not None and len(explained_variance) >= 2 and explained_variance[1] > 0:
        ratio = math.sqrt(explained_variance[0] / explained_variance[1])
    rows = max(2, int(round(math.sqrt(nodes * ratio))))
    cols = max(2, int(round(nodes / rows)))
    return rows, cols


def som_iterations(rows: int, cols: int) -> int:
    """Training steps: 50 per node (5,000 to 100,000). With PCA initialisation the map
    settles well before that; more steps did not change quality on the sample or CC GENERAL."""
    return int(min(100_000, max(5_000, 50 * rows * cols)))


def train_som(X: np.ndarray, rows: int, cols: int, seed: int, init: np.ndarray | None = None) -> MiniSom:
    if init is None:
        som = MiniSom(rows, cols, X.shape[1], sigma=max(rows, cols) / 4.0, learning_rate=LEARNING_RATE,
                      neighborhood_function="gaussian", random_seed=seed)
        som.pca_weights_init(X)
        som.train(X, som_iterations(rows, cols), random_order=True)
        return som
    som = MiniSom(rows, cols, X.shape[1], sigma=FINE_TUNE_SIGMA, learning_rate=FINE_TUNE_LEARNING_RATE,
                  neighborhood_function="gaussian", random_seed=seed)
    som._weights = init.reshape(rows, cols, X.shape[1]).copy()
    som.train(X, som_iterations(rows, cols) // 2, random_order=True)
    return som


def som_node_segments(k: int, Zn: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """Segment of each node (Ward clusters of the node weights), numbered 1..k by
    decreasing hits on the fit sample."""
    raw = ward_labels(Zn, k)
    counts = {int(c): int(hits[raw == c].sum()) for c in np.unique(raw)}
    ordered = sorted(counts, key=lambda c: (-counts[c], c))
    remap = {old: new for new, old in enumerate(ordered, start=1)}
    return np.array([remap[int(c)] for c in raw], dtype=np.int32)


@dataclass(kw_only=True, eq=False)
class SOMModel(PrototypeModel):
    """The map's nodes (prototypes, row by row) with their segments: a customer takes the
    segment of its best-matching node, and that node (numbered from 1) is its `node`."""

    prototype_parameter: ClassVar[str] = "node_weight"
    gives_node: ClassVar[bool] = True

    def assign(self, data: "Spaces | np.ndarray") -> Assignment:
        idx, dist = nearest_prototype(self.matrix(data), self.prototypes)
        return Assignment(self.prototype_segments[idx].astype(np.int32), dist, None, idx)

    def score_sql(self, q: "ScoreQuery") -> list[tuple[str, str]]:
        return self.nearest_sql(q, node=True)


class SOMSegmenter(Segmenter):
    name = "som"
    label = "Self-organizing map"
    model = SOMModel

    @classmethod
    def report_figures(cls, model: SegmentModel, names: dict[int, str], nodes: "pd.DataFrame") -> list[ReportFigure]:
        if not len(nodes):
            return []
        return [ReportFigure("som_maps", "som_maps", (nodes, names), "Self-organizing map",
                             "The map's nodes on their grid: the U-matrix shows how far each node is from its "
                             "neighbours (dark ridges separate groups), the hit map how many customers each node "
                             "holds, and the node segments how the nodes were grouped.")]

    def _warm_weights(self, X: np.ndarray, rows: int, cols: int) -> np.ndarray | None:
        p = self.previous
        if p is None or p.nodes is None or p.parameters.get("grid_rows") != rows \
                or p.parameters.get("grid_cols") != cols:
            return None
        if p.prototypes is not None and len(p.prototypes) == rows * cols:
            return p.prototypes.copy()
        start = MiniSom(rows, cols, X.shape[1], random_seed=self.settings.random_state)
        start.pca_weights_init(X)
        weights = start.get_weights().reshape(rows * cols, -1).copy()
        for node in np.unique(p.nodes):
            weights[node] = X[p.nodes == node].mean(axis=0)
        return weights

    def fit(self, spaces: Spaces, evaluation: Spaces) -> Fit:
        from scipy.cluster.hierarchy import linkage   # here: scoring never imports it

        s = self.settings
        X, X_eval = spaces.full, evaluation.full
        rows, cols = som_grid_shape(len(X), self.explained_variance, s.som_grid)
        if self.previous is not None and not s.som_grid:
            rows = int(self.previous.parameters.get("grid_rows", rows))
            cols = int(self.previous.parameters.get("grid_cols", cols))
        warm = self._warm_weights(X, rows, cols)
        som = train_som(X, rows, cols, s.random_state, warm)
        weights = som.get_weights().reshape(rows * cols, -1)
        node_fit, node_dist = nearest_prototype(X, weights)
        hits = np.bincount(node_fit, minlength=rows * cols)
        node_eval, _ = nearest_prototype(X_eval, weights)
        Zn = linkage(weights, method="ward")
        scan = []
        for k in range(s.k_min, max(s.k_min, min(s.k_max, rows * cols - 1)) + 1):
            seg = som_node_segments(k, Zn, hits)
            scan.append((k, "within_ss", within_sum_of_squares(X_eval, seg[node_eval]), seg[node_eval]))
        candidates = scan_candidates(scan, X_eval, s)
        chosen = self.sticky_k(candidates, choose_k(candidates))
        kept_grouping = (warm is not None and self.previous.prototype_segments is not None
                         and chosen == self.previous.n_segments)
        if kept_grouping:
            # The fine-tuned map's nodes are the previous map's, moved a little: they keep their
            # segments (regrouping them from scratch would reshuffle the borders).
            seg = np.asarray(self.previous.prototype_segments, dtype=np.int32)
        else:
            seg = som_node_segments(chosen, Zn, hits)
        kept_map = False
        if kept_grouping:
            warm_fit, warm_dist = nearest_prototype(X, warm)
            warm_wss = within_sum_of_squares(X, seg[warm_fit])
            if within_sum_of_squares(X, seg[node_fit]) >= (1 - STICKY_TOLERANCE) * warm_wss:
                # fine-tuning did not improve the segments beyond noise: keep the previous map
                som._weights = warm.reshape(rows, cols, -1).copy()
                weights, node_fit, node_dist, kept_map = warm, warm_fit, warm_dist, True
                hits = np.bincount(node_fit, minlength=rows * cols)
        model = SOMModel(algorithm=self.name, n_segments=len(np.unique(seg)), prototypes=weights,
                         prototype_segments=seg)
        model.extras["grid"] = {"rows": rows, "cols": cols}
        model.extras["u_matrix"] = som.distance_map().reshape(rows * cols).tolist()
        model.extras["sample_hits"] = hits.tolist()
        model.extras["quantization_error"] = float(node_dist.mean())
        model.extras["topographic_error"] = float(som.topographic_error(X_eval[:2000]))

        def refit(sub: Spaces):
            som_b = train_som(sub.full, rows, cols, s.random_state)
            w = som_b.get_weights().reshape(rows * cols, -1)
            nodes_b, _ = nearest_prototype(sub.full, w)
            seg_b = som_node_segments(chosen, linkage(w, method="ward"), np.bincount(nodes_b, minlength=rows * cols))
            return lambda query: seg_b[nearest_prototype(query.full, w)[0]]

        params = {"k": chosen, "k_rule": "silhouette+elbow (within-segment SS) on node clusters",
                  "grid_rows": rows, "grid_cols": cols,
                  "sigma": FINE_TUNE_SIGMA if warm is not None else max(rows, cols) / 4.0,
                  "learning_rate": FINE_TUNE_LEARNING_RATE if warm is not None else LEARNING_RATE,
                  "iterations": som_iterations(rows, cols) // (2 if warm is not None else 1),
                  "initialisation": "the previous version's map" if warm is not None else "PCA",
                  "map": "the previous version's (fine-tuning gained less than the tolerance)" if kept_map
                  else "trained",
                  "node_grouping": "the previous version's" if kept_grouping else "ward on node weights",
                  "assignment": "best-matching node"}
        return Fit(model, candidates, params, len(X), spaces.head(s.evaluation_sample_size), refit)
