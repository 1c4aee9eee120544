"""The segmentation algorithms: one module each, one registry.

Adding an algorithm means one module here, with a `Segmenter` subclass and the
`SegmentModel` subclass it fits (assignment, JSON, parameter rows, scoring SQL), and one line
in `REGISTERED`. Everything else reads the registry: the dbt model that fits every
algorithm (python_models/segment_model_fits.py), the scores and marts (through
macros/segmentation.sql: segmentation_algorithms), the spark target's scoring SQL and the
report.
"""

from __future__ import annotations

import importlib
import time

import numpy as np

from ..metrics import elbow_index, quality, resampling_stability
from ..settings import Settings
from .base import (Assignment, Fit, FitResult, PreviousFit, ReportFigure, SegmentModel, Segmenter, Spaces,
                   compact_linkage, nearest_prototype, size_order)
from .prototypes import CentroidModel, PrototypeModel, centroid_model
from .som import som_grid_shape

#: Every algorithm ("module.Segmenter" in this package), in the order tables and the report list them.
REGISTERED = (
    "kmeans.KMeansSegmenter",
    "hierarchical.HierarchicalSegmenter",
    "som.SOMSegmenter",
    "density.DensitySegmenter",
    "gmm.GaussianMixtureSegmenter",
)


def _load(entry: str) -> type[Segmenter]:
    module, _, name = entry.rpartition(".")
    cls = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    if not (isinstance(cls, type) and issubclass(cls, Segmenter) and issubclass(cls.model, SegmentModel)):
        raise TypeError(f"registry entry {entry!r} is not a Segmenter with a SegmentModel class `model`")
    return cls


REGISTRY: dict[str, type[Segmenter]] = {cls.name: cls for cls in map(_load, REGISTERED)}
ALGORITHMS: tuple[str, ...] = tuple(REGISTRY)
ALGORITHM_LABELS: dict[str, str] = {name: cls.label for name, cls in REGISTRY.items()}

__all__ = ["ALGORITHMS", "ALGORITHM_LABELS", "REGISTERED", "REGISTRY", "Assignment", "CentroidModel", "Fit",
           "FitResult", "PreviousFit", "PrototypeModel", "ReportFigure", "SegmentModel", "Segmenter", "Spaces",
           "algorithm_info", "centroid_model", "compact_linkage", "fit_algorithm", "nearest_prototype", "size_order",
           "som_grid_shape"]


def algorithm_info() -> list[dict]:
    """The registry as the SQL side reads it (macros/segmentation.sql), in registry order."""
    return [cls.info() for cls in REGISTRY.values()]


def fit_algorithm(algorithm: str, spaces: Spaces, settings: Settings,
                  explained_variance: np.ndarray | None = None, previous: PreviousFit | None = None) -> FitResult:
    """Fit one algorithm on the fit sample (rows in random order, in both spaces), choose
    its settings, and measure it on the first `evaluation_sample_size` rows: silhouette,
    Davies-Bouldin and Calinski-Harabasz in the full model space (noise left out) and the
    resampling stability."""
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
