"""Hierarchical clustering: Ward linkage on `hierarchical_sample_size` customers (memory
grows with n squared, so never on everyone); k by the rule on the within-segment sum of
squares; every customer then goes to the nearest segment centroid. A refit with a previous
version keeps its k when that k is as good, and its segments (recentred on the current
customers) unless the new cut's within-segment sum of squares is lower by more than the
tolerance: a dendrogram cut jumps under small changes of the input."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..metrics import choose_k, within_sum_of_squares
from .base import Fit, ReportFigure, SegmentModel, Segmenter, Spaces, compact_linkage, k_range, scan_candidates
from .prototypes import CentroidModel, centroid_model, keep_previous

if TYPE_CHECKING:
    import pandas as pd


def ward_labels(Z: np.ndarray, k: int) -> np.ndarray:
    from scipy.cluster.hierarchy import fcluster

    return fcluster(Z, k, criterion="maxclust")


class HierarchicalSegmenter(Segmenter):
    name = "hierarchical"
    label = "Hierarchical (Ward)"
    model = CentroidModel

    @classmethod
    def report_figures(cls, model: SegmentModel, names: dict[int, str], nodes: "pd.DataFrame") -> list[ReportFigure]:
        tree = model.extras.get("dendrogram")
        if not tree:
            return []
        return [ReportFigure("dendrogram", "dendrogram_figure", (tree, int(model.n_segments)),
                             "Hierarchical clustering",
                             "The top of the Ward tree on the hierarchical sample: each leaf is a cluster (its size "
                             "in brackets); cutting at the dashed line gives the chosen segments.")]

    def fit(self, spaces: Spaces, evaluation: Spaces) -> Fit:
        from scipy.cluster.hierarchy import linkage   # here: scoring never imports it

        s = self.settings
        base = spaces.head(s.hierarchical_sample_size)
        Xh = base.full
        Z = linkage(Xh, method="ward")
        scan = []
        for k in k_range(s, len(Xh)):
            labels = ward_labels(Z, k)
            scan.append((k, "within_ss", within_sum_of_squares(Xh, labels),
                         centroid_model(self.name, Xh, labels).labels(evaluation)))
        candidates = scan_candidates(scan, evaluation.full, s)
        chosen = s.hierarchical_k or self.sticky_k(candidates, choose_k(candidates))
        model = centroid_model(self.name, Xh, ward_labels(Z, chosen))
        kept = keep_previous(self.previous, Xh, model)
        segments = "the dendrogram cut"
        if kept is not None:
            model, segments = kept, "the previous version's, recentred (the new cut was not better)"
        model.extras["dendrogram"] = compact_linkage(Z, len(Xh))
        model.extras["dendrogram"]["cut_height"] = float((Z[-chosen, 2] + Z[-chosen + 1, 2]) / 2)

        def refit(sub: Spaces):
            return centroid_model(self.name, sub.full, ward_labels(linkage(sub.full, method="ward"), chosen)).labels

        params = {"k": chosen, "k_rule": "fixed" if s.hierarchical_k else "silhouette+elbow (within-segment SS)",
                  "linkage": "ward", "sample_size": len(Xh), "segments": segments,
                  "assignment": "nearest segment centroid"}
        return Fit(model, candidates, params, len(Xh), base, refit)
