"""Cluster-quality measures, the k-selection rule, and resampling stability.

Everything that needs pairwise distances works on a sample, so nothing here is quadratic
in the number of customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .catalogue import NOISE_SEGMENT

#: Silhouettes within this distance of the best count as ties in the k-selection rule.
SILHOUETTE_TOLERANCE = 0.01


def elbow_index(values: Sequence[float]) -> int:
    """Index of the elbow of a monotone-ish curve: the point farthest from the chord that
    joins its first and last points, both axes scaled to [0, 1] (the "kneedle" idea).

    Works for decreasing curves (inertia, BIC, sorted-descending distances) and increasing
    ones (sorted k-distances).
    """
    y = np.asarray(values, dtype=float)
    if y.size < 3:
        return 0
    span = y.max() - y.min()
    if span == 0:
        return 0
    x = np.linspace(0.0, 1.0, y.size)
    yn = (y - y.min()) / span
    if y[0] > y[-1]:
        gap = (1.0 - x) - yn  # decreasing: distance below the chord from (0,1) to (1,0)
    else:
        gap = x - yn  # increasing: distance below the chord from (0,0) to (1,1)
    return int(np.argmax(gap))


def choose_k(candidates: Sequence[dict], tolerance: float = SILHOUETTE_TOLERANCE) -> int:
    """The k-selection rule shared by the algorithms that have a k.

    Among the candidate k whose silhouette is within `tolerance` of the best silhouette,
    take the one closest to the elbow of the candidates' `criterion_value` curve (inertia
    for K-Means, within-segment sum of squares for hierarchical and SOM, BIC for the
    Gaussian mixture); ties go to the smaller k. Silhouette rewards separated segments, the elbow rewards parsimony; the
    tolerance keeps a negligible silhouette gain from buying an extra segment.
    """
    if not candidates:
        raise ValueError("no candidate k to choose from")
    rows = [c for c in candidates if c.get("silhouette") is not None and np.isfinite(c["silhouette"])]
    ks = [c["k"] for c in candidates]
    elbow_k = ks[elbow_index([c["criterion_value"] for c in candidates])]
    if not rows:
        # No candidate splits the customers into two segments or more on the silhouette
        # sample (e.g. a handful of distinct customers): the elbow alone decides.
        return elbow_k
    best = max(c["silhouette"] for c in rows)
    near = [c["k"] for c in rows if c["silhouette"] >= best - tolerance]
    return min(near, key=lambda k: (abs(k - elbow_k), k))


#: Cells (rows x columns) of one block of pairwise distances: 1M doubles = 8 MB, small
#: enough for the allocator to reuse memory between blocks instead of mapping fresh pages.
BLOCK_CELLS = 1_000_000


def silhouette_values_many(X: np.ndarray, labelings: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Exact per-customer silhouette values, (b - a) / max(a, b), of several labelings of
    the same customers (the candidate k of a scan). The pairwise distances are computed
    once, block by block with matrix products, and shared by every labeling, so they are
    never held for more than one block of rows. Customers alone in their segment get 0, as
    in scikit-learn."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    encoded = []  # (codes, counts, first column in the stacked one-hot matrix)
    width = 0
    for labels in labelings:
        _, codes, counts = np.unique(np.asarray(labels), return_inverse=True, return_counts=True)
        encoded.append((codes, counts, width))
        width += len(counts)
    onehot = np.zeros((n, width))
    for codes, _, first in encoded:
        onehot[np.arange(n), first + codes] = 1.0
    sq = np.einsum("ij,ij->i", X, X)
    sums_all = np.empty((n, width))
    block_rows = max(32, BLOCK_CELLS // max(1, n))
    for start in range(0, n, block_rows):
        block = slice(start, start + block_rows)
        d2 = sq[block, None] + sq[None, :] - 2.0 * (X[block] @ X.T)
        sums_all[block] = np.sqrt(np.maximum(d2, 0.0)) @ onehot
    results = []
    for codes, counts, first in encoded:
        sums = sums_all[:, first:first + len(counts)]
        own_count = counts[codes]
        a = sums[np.arange(n), codes] / np.maximum(own_count - 1, 1)
        mean_other = sums / counts[None, :]
        mean_other[np.arange(n), codes] = np.inf
        b = mean_other.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = (b - a) / np.maximum(a, b)
        values[(own_count == 1) | ~np.isfinite(values)] = 0.0
        results.append(values)
    return results


def silhouette_values(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Exact per-customer silhouette values of one labeling (see silhouette_values_many)."""
    return silhouette_values_many(X, [labels])[0]


def silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (needs at least two segments)."""
    return float(silhouette_values(X, labels).mean())


@dataclass(frozen=True)
class Quality:
    silhouette: float | None
    davies_bouldin: float | None
    calinski_harabasz: float | None
    evaluated: int  # customers scored (noise excluded)


def quality(X: np.ndarray, labels: np.ndarray, silhouette_rows: int, exclude_noise: bool = False) -> Quality:
    """Silhouette (on the first `silhouette_rows` customers, which callers pass in random
    order), Davies-Bouldin and Calinski-Harabasz on all the given customers; with
    `exclude_noise`, customers in the noise segment (0) are left out."""
    labels = np.asarray(labels)
    if exclude_noise:
        keep = labels != NOISE_SEGMENT
        X, labels = X[keep], labels[keep]
    return scan_qualities(X, [labels], silhouette_rows)[0]


def scan_qualities(X: np.ndarray, labelings: Sequence[np.ndarray], silhouette_rows: int) -> list[Quality]:
    """quality() of each labeling of the same customers (the candidates of a k scan), with
    the silhouettes' pairwise distances computed once for all of them. A labeling with
    fewer than two segments has no measures."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score  # here: the report needs none of it

    head = slice(0, silhouette_rows)
    labelings = [np.asarray(labels) for labels in labelings]
    scored = [i for i, labels in enumerate(labelings) if len(np.unique(labels[head])) > 1]
    silhouettes = dict(zip(scored, (float(v.mean()) for v in silhouette_values_many(
        X[head], [labelings[i][head] for i in scored])))) if scored else {}
    results = []
    for i, labels in enumerate(labelings):
        if len(np.unique(labels)) < 2 or len(labels) < 3:
            results.append(Quality(None, None, None, int(len(labels))))
            continue
        results.append(Quality(silhouettes.get(i), float(davies_bouldin_score(X, labels)),
                               float(calinski_harabasz_score(X, labels)), int(len(labels))))
    return results


def within_sum_of_squares(X: np.ndarray, labels: np.ndarray) -> float:
    total = 0.0
    for lab in np.unique(labels):
        if lab == NOISE_SEGMENT:
            continue
        part = X[labels == lab]
        total += float(((part - part.mean(axis=0)) ** 2).sum())
    return total


def resampling_stability(
    refit: Callable,
    X_fit,
    X_eval,
    reference: np.ndarray,
    resamples: int,
    random_state: int,
    fraction: float = 0.8,
) -> float | None:
    """Mean adjusted Rand index between the reference segments of `X_eval` and the segments
    that refits on `resamples` random subsamples give them. `refit(X_sub)` fits the
    algorithm, with the chosen settings, and returns a function labelling rows. `X_fit`
    and `X_eval` are anything indexable by row (arrays, or algorithms.Spaces). 1 means
    every refit reproduces the segmentation.

    Subsamples (`fraction` of `X_fit`, without replacement) rather than bootstrap draws:
    duplicated points would fake density for the density model, and subsampling is the
    usual scheme for clustering stability.
    """
    from sklearn.metrics import adjusted_rand_score

    if resamples <= 0:
        return None
    rng = np.random.default_rng(random_state)
    n = len(X_fit)
    size = max(2, int(round(fraction * n)))
    scores = []
    for _ in range(resamples):
        idx = np.sort(rng.choice(n, size=size, replace=False))
        predict = refit(X_fit.rows(idx) if hasattr(X_fit, "rows") else X_fit[idx])
        scores.append(adjusted_rand_score(reference, predict(X_eval)))
    return float(np.mean(scores))
