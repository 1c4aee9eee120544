"""What every segmentation algorithm shares: the spaces customers live in, the fitted
parameters that assign them (`SegmentModel`), the estimator interface (`Segmenter`) and
typed results.

A `Segmenter` is fitted on a sample and returns a `Fit`: a `SegmentModel` (a small set of
parameters that assigns customers in batches with no reference to the fit sample, so
scoring millions of customers streams in bounded memory), the k-selection curve, the
chosen parameters, and how to refit it for the stability measure. `fit_algorithm` in the
package adds the quality measures. A model saves and loads as JSON and lists its
parameters as rows (`SegmentModel.parameter_rows`), so any SQL engine can read them.

Segment ids run from 1 by decreasing size on the fit sample; 0 is density noise. When the
previous version of a model is known (`PreviousFit`), a refit starts from it, so small
changes of the input give small changes of the segments (see custseg.stable_ids).
"""

from __future__ import annotations

import json
import math
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar

import numpy as np

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

from ..catalogue import NOISE_SEGMENT
from ..metrics import scan_qualities, within_sum_of_squares
from ..settings import Settings

#: Upper bound on the cells of one distance block (rows x prototypes) while assigning:
#: 1M doubles = 8 MB, which the allocator reuses from block to block.
DISTANCE_BLOCK_CELLS = 1_000_000
#: Up to this many dimensions, nearest-prototype search uses a k-d tree.
KD_TREE_MAX_DIMENSIONS = 12
#: A refit keeps the previous number of segments unless another k's silhouette beats it by
#: more than this (on weakly clustered data, silhouettes of neighbouring k differ by about
#: this much from one sample to the next).
STICKY_TOLERANCE = 0.03


# --------------------------------------------------------------------------- spaces
@dataclass(frozen=True)
class Spaces:
    """The same customers in the full model space and in the reduced PCA space."""

    full: np.ndarray
    reduced: np.ndarray

    def __len__(self) -> int:
        return len(self.full)

    def rows(self, idx) -> "Spaces":
        return Spaces(self.full[idx], self.reduced[idx])

    def head(self, n: int) -> "Spaces":
        return Spaces(self.full[:n], self.reduced[:n])

    def get(self, space: str) -> np.ndarray:
        return self.full if space == "full" else self.reduced


# --------------------------------------------------------------------------- assigning
@dataclass
class Assignment:
    segment_id: np.ndarray          # int32, 1..k (0 = noise)
    distance: np.ndarray            # float64, distance to the segment's centre / prototype
    probability: np.ndarray | None  # float64, membership probability (Gaussian mixture)
    node: np.ndarray | None         # int32, prototype index (SOM node), else None


def nearest_prototype(X: np.ndarray, prototypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of and Euclidean distance to the nearest prototype of each row, computed in
    blocks so memory stays bounded whatever the number of rows."""
    n = len(X)
    idx = np.empty(n, dtype=np.int32)
    dist = np.empty(n, dtype=np.float64)
    p2 = np.einsum("ij,ij->i", prototypes, prototypes)
    rows = max(256, DISTANCE_BLOCK_CELLS // max(1, len(prototypes)))
    for start in range(0, n, rows):
        block = X[start:start + rows]
        d2 = np.einsum("ij,ij->i", block, block)[:, None] + p2[None, :] - 2.0 * (block @ prototypes.T)
        j = np.argmin(d2, axis=1)
        idx[start:start + rows] = j
        dist[start:start + rows] = np.sqrt(np.maximum(d2[np.arange(len(block)), j], 0.0))
    return idx, dist


@dataclass
class SegmentModel:
    """Fitted parameters that assign customers to segments."""

    algorithm: str
    n_segments: int
    space: str = "full"                           # "full" or "reduced"
    has_noise: bool = False
    prototypes: np.ndarray | None = None          # (m, d)
    prototype_segments: np.ndarray | None = None  # (m,) segment id of each prototype
    radius: float | None = None                   # density: farther than this -> noise
    means: np.ndarray | None = None               # GMM (k, d), row i is segment i + 1
    precisions_cholesky: np.ndarray | None = None  # GMM (k, d, d)
    log_weights: np.ndarray | None = None          # GMM (k,)
    segment_ids: np.ndarray | None = None          # GMM: segment id of component i (default i + 1)
    prototype_is_node: bool = False               # SOM: report the prototype as the customer's node
    extras: dict = field(default_factory=dict)
    _kdtree: cKDTree | None = field(default=None, init=False, repr=False, compare=False)
    _kdtree_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def assign(self, data: "Spaces | np.ndarray") -> Assignment:
        """Segments of customers given as Spaces, or as a matrix already in `self.space`."""
        X = data.get(self.space) if isinstance(data, Spaces) else data
        if self.means is not None:
            return self._assign_gaussian(X)
        if self.radius is not None and self.prototypes.shape[1] <= KD_TREE_MAX_DIMENSIONS:
            # Many prototypes in few dimensions (DBSCAN core customers): a k-d tree is
            # exact and far cheaper than comparing with every prototype.
            dist, idx = self._tree().query(X, k=1)
            idx = idx.astype(np.int32)
        else:
            idx, dist = nearest_prototype(X, self.prototypes)
        seg = self.prototype_segments[idx].astype(np.int32)
        if self.radius is not None:     # noise: no segment, so no distance to one (NaN)
            seg = np.where(dist <= self.radius, seg, NOISE_SEGMENT).astype(np.int32)
            dist = np.where(seg == NOISE_SEGMENT, np.nan, dist)
        node = idx if self.prototype_is_node else None
        return Assignment(seg, dist, None, node)

    def __getstate__(self) -> dict:
        # pickled to reach Spark's Python workers: the lock and the lazily built tree stay here
        state = dict(self.__dict__)
        state.pop("_kdtree_lock", None)
        state["_kdtree"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._kdtree_lock = threading.Lock()

    def _tree(self) -> cKDTree:
        # built once, on first use; batches are scored on several threads
        with self._kdtree_lock:
            if self._kdtree is None:
                from scipy.spatial import cKDTree

                self._kdtree = cKDTree(self.prototypes)
        return self._kdtree

    def _assign_gaussian(self, X: np.ndarray) -> Assignment:
        k, d = self.means.shape
        log_prob = np.empty((len(X), k))
        for c in range(k):
            chol = self.precisions_cholesky[c]
            y = X @ chol - self.means[c] @ chol
            log_det = np.sum(np.log(np.diag(chol)))
            log_prob[:, c] = -0.5 * (d * math.log(2 * math.pi) + np.einsum("ij,ij->i", y, y)) + log_det
        weighted = log_prob + self.log_weights
        top = weighted.max(axis=1, keepdims=True)
        resp = np.exp(weighted - top)
        resp /= resp.sum(axis=1, keepdims=True)
        best = np.argmax(resp, axis=1)
        diff = X - self.means[best]
        dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        ids = self.component_ids()
        return Assignment(ids[best], dist, resp[np.arange(len(X)), best], None)

    def component_ids(self) -> np.ndarray:
        """Segment id of each mixture component."""
        if self.segment_ids is not None:
            return self.segment_ids.astype(np.int32)
        return np.arange(1, len(self.means) + 1, dtype=np.int32)

    def labels(self, data: "Spaces | np.ndarray") -> np.ndarray:
        return self.assign(data).segment_id

    # -- storage --------------------------------------------------------------------
    def to_json(self) -> str:
        def arr(a):
            return None if a is None else np.asarray(a).tolist()

        return json.dumps({
            "algorithm": self.algorithm,
            "n_segments": self.n_segments,
            "space": self.space,
            "has_noise": self.has_noise,
            "prototypes": arr(self.prototypes),
            "prototype_segments": arr(self.prototype_segments),
            "radius": self.radius,
            "means": arr(self.means),
            "precisions_cholesky": arr(self.precisions_cholesky),
            "log_weights": arr(self.log_weights),
            "segment_ids": arr(self.segment_ids),
            "prototype_is_node": self.prototype_is_node,
            "extras": self.extras,
        })

    @classmethod
    def from_json(cls, text: str) -> "SegmentModel":
        raw = json.loads(text)

        def arr(key, dtype=np.float64):
            return None if raw.get(key) is None else np.asarray(raw[key], dtype=dtype)

        return cls(
            algorithm=raw["algorithm"],
            n_segments=int(raw["n_segments"]),
            space=raw.get("space", "full"),
            has_noise=bool(raw["has_noise"]),
            prototypes=arr("prototypes"),
            prototype_segments=arr("prototype_segments", np.int32),
            radius=raw.get("radius"),
            means=arr("means"),
            precisions_cholesky=arr("precisions_cholesky"),
            log_weights=arr("log_weights"),
            segment_ids=arr("segment_ids", np.int32),
            prototype_is_node=bool(raw.get("prototype_is_node", False)),
            extras=raw.get("extras") or {},
        )

    # -- segment ids ----------------------------------------------------------------
    def segments(self) -> list[int]:
        """The model's segment ids (noise not included)."""
        if self.means is not None:
            return sorted(int(i) for i in self.component_ids())
        return sorted(int(i) for i in np.unique(self.prototype_segments) if i != NOISE_SEGMENT)

    def relabelled(self, mapping: dict[int, int]) -> "SegmentModel":
        """The same model with segment ids renamed by `mapping` (ids not in it keep theirs;
        noise stays 0). Used to keep the ids of the previous version's segments."""
        def remap(ids: np.ndarray) -> np.ndarray:
            return np.array([mapping.get(int(i), int(i)) if i != NOISE_SEGMENT else NOISE_SEGMENT for i in ids],
                            dtype=np.int32)

        model = SegmentModel.from_json(self.to_json())
        if model.means is not None:
            model.segment_ids = remap(model.component_ids())
        else:
            model.prototype_segments = remap(model.prototype_segments)
        return model

    # -- parameters as rows -----------------------------------------------------------
    def parameter_rows(self) -> list[dict]:
        """The fitted parameters as rows any SQL engine can read: one row per prototype (a
        centre, a SOM node, a core customer of the density model or a mixture component)
        and model-space coordinate, plus the mixture's weights and precision factors.
        Columns: parameter, segment_id, prototype, row_index, column_index, value."""
        rows: list[dict] = []

        def add(parameter, segment, prototype, i, j, value):
            rows.append({"parameter": parameter, "segment_id": int(segment), "prototype": int(prototype),
                         "row_index": i, "column_index": j, "value": float(value)})

        if self.means is not None:
            ids = self.component_ids()
            for c, seg in enumerate(ids):
                add("log_weight", seg, c + 1, None, None, self.log_weights[c])
                for j, v in enumerate(self.means[c]):
                    add("mean", seg, c + 1, None, j + 1, v)
                chol = self.precisions_cholesky[c]
                for i in range(chol.shape[0]):
                    for j in range(chol.shape[1]):
                        if chol[i, j] != 0.0:
                            add("precision_cholesky", seg, c + 1, i + 1, j + 1, chol[i, j])
            return rows
        name = "node_weight" if self.prototype_is_node else "core_point" if self.radius is not None else "centre"
        for p, (seg, proto) in enumerate(zip(self.prototype_segments, self.prototypes)):
            for j, v in enumerate(proto):
                add(name, seg, p + 1, None, j + 1, v)
        if self.radius is not None:
            add("radius", NOISE_SEGMENT, 0, None, None, self.radius)
        return rows


# --------------------------------------------------------------------------- helpers
def size_order(labels: np.ndarray, ids: np.ndarray) -> dict[int, int]:
    """Map original cluster ids to 1..k by decreasing size (ties: smaller original id)."""
    counts = {int(i): int((labels == i).sum()) for i in ids}
    ordered = sorted(counts, key=lambda i: (-counts[i], i))
    return {old: new for new, old in enumerate(ordered, start=1)}


def centroid_model(algorithm: str, X: np.ndarray, labels: np.ndarray,
                   centres: np.ndarray | None = None) -> SegmentModel:
    """Nearest-centroid model from labelled rows: one prototype per label (the mean of its
    rows, or `centres[label]` when given), numbered 1..k by decreasing size."""
    ids = np.unique(labels)
    order = size_order(labels, ids)
    by_new_id = sorted(order, key=order.get)
    if centres is None:
        protos = np.vstack([X[labels == old].mean(axis=0) for old in by_new_id])
    else:
        protos = centres[by_new_id]
    return SegmentModel(algorithm, len(ids), prototypes=protos,
                        prototype_segments=np.arange(1, len(ids) + 1, dtype=np.int32))


def k_range(settings: Settings, n: int) -> list[int]:
    top = min(settings.k_max, max(settings.k_min, n - 1))
    return list(range(settings.k_min, top + 1))


def scan_candidates(scan: list[tuple[int, str, float, np.ndarray]], X_eval: np.ndarray,
                settings: Settings) -> list[dict]:
    """The rows of a k scan: for each (k, criterion, criterion value, labels of the
    evaluation sample), the quality measures of those labels."""
    qualities = scan_qualities(X_eval, [labels for *_, labels in scan], settings.silhouette_sample_size)
    return [{"k": k, "criterion": criterion, "criterion_value": float(value), "silhouette": q.silhouette,
             "davies_bouldin": q.davies_bouldin, "calinski_harabasz": q.calinski_harabasz}
            for (k, criterion, value, _), q in zip(scan, qualities)]


def compact_linkage(Z: np.ndarray, n: int, leaves: int = 30) -> dict:
    """The top of a dendrogram: the last `leaves - 1` merges, renumbered so the `leaves`
    clusters they start from are leaves 0..leaves-1. Enough to draw a truncated dendrogram
    without storing the whole tree: `linkage` is a valid scipy linkage over those leaves,
    `leaf_sizes` says how many customers each leaf holds."""
    leaves = max(2, min(leaves, n))
    top = Z[-(leaves - 1):]
    first_new = n + (len(Z) - (leaves - 1))
    leaf_ids: list[int] = []
    for a, b in top[:, :2].astype(int):
        for node in (a, b):
            if node < first_new and node not in leaf_ids:
                leaf_ids.append(node)
    remap = {old: i for i, old in enumerate(leaf_ids)}
    sizes = [1 if old < n else int(Z[old - n, 3]) for old in leaf_ids]
    rows: list[list] = []
    leaf_count: list[int] = []
    for a, b, height, _ in top:
        new_ids = [remap[node] if node in remap else len(leaf_ids) + (node - first_new)
                   for node in (int(a), int(b))]
        count = sum(1 if i < len(leaf_ids) else leaf_count[i - len(leaf_ids)] for i in new_ids)
        leaf_count.append(count)
        rows.append([new_ids[0], new_ids[1], float(height), count])
    return {"linkage": rows, "leaf_sizes": sizes}


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class PreviousFit:
    """What the previous version of a model said about the current fit sample: each
    customer's segment (and SOM node), so a refit can start from it."""

    labels: np.ndarray              # segment id per fit-sample row (0 = noise)
    nodes: np.ndarray | None        # SOM: node index per row
    n_segments: int
    parameters: dict
    prototype_segments: np.ndarray | None = None   # the segment of each previous prototype
    prototypes: np.ndarray | None = None   # the previous prototypes carried into the current full space


@dataclass
class Fit:
    """What a Segmenter's fit returns."""

    model: SegmentModel
    candidates: list[dict]          # the k scan: k, criterion, criterion_value, silhouette, ...
    parameters: dict                # chosen parameters and the rules behind them
    fit_rows: int                   # customers the model was fitted on
    stability_base: "Spaces"        # customers the stability refits subsample
    refit: Callable[["Spaces"], Callable[["Spaces"], np.ndarray]]  # refit on other customers -> labeller


@dataclass
class FitResult:
    """A fitted model with its evaluation (what <algorithm>_model stores)."""

    model: SegmentModel
    candidates: list[dict]
    parameters: dict
    fit_rows: int
    eval_rows: int
    silhouette: float | None
    davies_bouldin: float | None
    calinski_harabasz: float | None
    stability_ari: float | None
    stability_resamples: int
    fit_seconds: float
    evaluation_seconds: float


class Segmenter(ABC):
    """One segmentation algorithm, in the style of a scikit-learn estimator: configured by
    the settings (`get_params`), fitted on a sample (`fit`), and producing a SegmentModel
    that predicts in batches (`SegmentModel.assign`) and saves as JSON."""

    name: ClassVar[str]
    label: ClassVar[str]
    space: ClassVar[str] = "full"       # full model space, or the reduced PCA space
    has_noise: ClassVar[bool] = False

    def __init__(self, settings: Settings, explained_variance: np.ndarray | None = None,
                 previous: PreviousFit | None = None):
        self.settings = settings
        self.explained_variance = explained_variance
        self.previous = previous

    def get_params(self) -> dict:
        return {"random_state": self.settings.random_state, "k_min": self.settings.k_min,
                "k_max": self.settings.k_max}

    @abstractmethod
    def fit(self, spaces: Spaces, evaluation: Spaces) -> Fit:
        """Fit on `spaces` (the fit sample, rows in random order); scan k on `evaluation`."""

    # helpers for subclasses
    def warm_centres(self, X: np.ndarray) -> np.ndarray | None:
        """Centres of the previous segments in the current space: the mean of the current
        rows of each previous segment (None without a usable previous fit)."""
        if self.previous is None:
            return None
        labels = self.previous.labels[:len(X)]     # X may be the head of the fit sample
        ids = [i for i in np.unique(labels) if i != NOISE_SEGMENT and (labels == i).sum() >= 2]
        if len(ids) < 2:
            return None
        return np.vstack([X[labels == i].mean(axis=0) for i in ids])

    def keep_previous(self, X: np.ndarray, fresh: SegmentModel) -> SegmentModel | None:
        """The previous version's centres (carried into the current space) when the fresh fit
        with the same number of segments is not better by more than STICKY_TOLERANCE (relative
        within-segment sum of squares, both as nearest-centre models): a method whose fit is
        not continuous in its input (a dendrogram cut) should not reshuffle customers for a
        gain within noise."""
        p = self.previous
        if p is None or p.prototypes is None or fresh.prototypes is None \
                or len(np.unique(p.prototype_segments)) != len(p.prototypes) or len(p.prototypes) != fresh.n_segments:
            return None
        kept = nearest_prototype(X, p.prototypes)[0]
        if len(np.unique(kept)) != len(p.prototypes):
            return None
        new = nearest_prototype(X, fresh.prototypes)[0]
        if within_sum_of_squares(X, kept) > (1 + STICKY_TOLERANCE) * within_sum_of_squares(X, new):
            return None
        return centroid_model(fresh.algorithm, X, kept, p.prototypes)

    def sticky_k(self, candidates: list[dict], chosen: int) -> int:
        """Keep the previous number of segments unless another k's silhouette is better by more
        than STICKY_TOLERANCE: a refit on slightly different data should not add or remove a
        segment for a gain within the noise of the k scan."""
        if self.previous is None:
            return chosen
        previous_k = self.previous.n_segments
        scores = {c["k"]: c.get("silhouette") for c in candidates}
        best = max((v for v in scores.values() if v is not None), default=None)
        if best is None or scores.get(previous_k) is None:
            return chosen
        return previous_k if scores[previous_k] >= best - STICKY_TOLERANCE else chosen

