"""The segmentation algorithms: one module each, one registry.

Adding an algorithm means one module with a `Segmenter` subclass, one line in `REGISTRY`,
its thin dbt Python model (python_models/<name>_model.py) and its name in the SQL list
(macros/segmentation.sql: segmentation_algorithms); a test checks the two lists agree.
"""

from __future__ import annotations

import time

import numpy as np

from ..metrics import elbow_index, quality, resampling_stability
from ..settings import Settings
from .base import (Assignment, Fit, FitResult, PreviousFit, SegmentModel, Segmenter, Spaces, centroid_model,
                   compact_linkage, nearest_prototype, size_order)
from .density import DensitySegmenter
from .gmm import GaussianMixtureSegmenter
from .hierarchical import HierarchicalSegmenter
from .kmeans import KMeansSegmenter
from .som import SOMSegmenter, som_grid_shape

#: Every algorithm, in the order tables and the report list them.
REGISTRY: dict[str, type[Segmenter]] = {
    cls.name: cls
    for cls in (KMeansSegmenter, HierarchicalSegmenter, SOMSegmenter, DensitySegmenter, GaussianMixtureSegmenter)
}
ALGORITHMS: tuple[str, ...] = tuple(REGISTRY)
ALGORITHM_LABELS: dict[str, str] = {name: cls.label for name, cls in REGISTRY.items()}

__all__ = ["ALGORITHMS", "ALGORITHM_LABELS", "REGISTRY", "Assignment", "Fit", "FitResult", "PreviousFit",
           "SegmentModel", "Segmenter", "Spaces", "centroid_model", "compact_linkage", "fit_algorithm",
           "nearest_prototype", "size_order", "som_grid_shape"]


def fit_algorithm(algorithm: str, spaces: Spaces, settings: Settings,
                  explained_variance: np.ndarray | None = None, previous: PreviousFit | None = None) -> FitResult:
    """Fit one algorithm on the fit sample (rows in random order, in both spaces), choose
    its settings, and measure it on the first `evaluation_sample_size` rows: silhouette,
    Davies-Bouldin and Calinski-Harabasz in the full model space (density noise left out)
    and the resampling stability."""
    if algorithm not in REGISTRY:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")
    if len(spaces) < max(10, settings.k_max + 1):
        raise ValueError(f"need more than k_max + 1 = {settings.k_max + 1} customers to fit {algorithm}; "
                         f"got {len(spaces)}")
    evaluation = spaces.head(settings.evaluation_sample_size)
    segmenter = REGISTRY[algorithm](settings, explained_variance, previous)
    start = time.perf_counter()
    fit = segmenter.fit(spaces, evaluation)
    fit_seconds = time.perf_counter() - start

    start = time.perf_counter()
    candidates = fit.candidates
    elbow_k = candidates[elbow_index([c["criterion_value"] for c in candidates])]["k"] if candidates else None
    for c in candidates:
        c["is_chosen"] = c["k"] == fit.parameters.get("k")
        c["is_elbow"] = c["k"] == elbow_k
    reference = fit.model.labels(evaluation)
    q = quality(evaluation.full, reference, settings.silhouette_sample_size, exclude_noise=fit.model.has_noise)
    stability = resampling_stability(fit.refit, fit.stability_base, evaluation, reference,
                                     settings.stability_resamples, settings.random_state)
    evaluation_seconds = time.perf_counter() - start
    fit.parameters["stability_scheme"] = (f"{settings.stability_resamples} refits on random 80% subsamples of "
                                          f"{len(fit.stability_base)} customers, compared on {len(evaluation)}")
    return FitResult(fit.model, candidates, fit.parameters, fit.fit_rows, len(evaluation), q.silhouette,
                     q.davies_bouldin, q.calinski_harabasz, stability, settings.stability_resamples, fit_seconds,
                     evaluation_seconds)
