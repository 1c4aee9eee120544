"""What every segmentation algorithm shares: the spaces customers live in, the fitted
parameters that assign them (`SegmentModel`), the estimator interface (`Segmenter`) and
typed results.

A `Segmenter` is fitted on a sample and returns a `Fit`: a `SegmentModel` (a small set of
parameters that assigns customers in batches with no reference to the fit sample, so
scoring millions of customers streams in bounded memory), the k-selection curve, the
chosen parameters, and how to refit it for the stability measure. `fit_algorithm` in the
package adds the quality measures. Each kind of model is a subclass of `SegmentModel`: it
saves and loads as JSON (which names its algorithm, so loading finds the class through the
registry), lists its parameters as rows (`parameter_rows`), so any SQL engine can read
them, and writes the SQL that scores it (`score_sql`).

Segment ids run from 1 by decreasing size on the fit sample; 0 is noise (`has_noise`). When the
previous version of a model is known (`PreviousFit`), a refit starts from it, so small
changes of the input give small changes of the segments (see custseg.stable_ids).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar

import numpy as np

from ..catalogue import NOISE_SEGMENT
from ..metrics import scan_qualities
from ..settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from ..scoring_sql import ScoreQuery

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


@dataclass(kw_only=True, eq=False)
class SegmentModel(ABC):
    """Fitted parameters that assign customers to segments: one subclass per kind of model,
    owning its fields, its assignment, its JSON, its parameter rows and its SQL.

    The class attributes say what its scores hold; the marts, the SQL and the report read
    them (through the registry), never the algorithm's name."""

    #: Segment 0 holds the customers no segment reaches (they have no distance).
    has_noise: ClassVar[bool] = False
    #: <algorithm>_probability holds the membership probability of the segment.
    gives_probability: ClassVar[bool] = False
    #: <algorithm>_node holds the customer's node on a map (som_nodes, which reads the JSON's
    #: prototypes, prototype_segments and extras grid and u_matrix).
    gives_node: ClassVar[bool] = False
    #: The distance is to the segment's own centre, so its sum of squares is an inertia.
    distance_to_centre: ClassVar[bool] = False

    algorithm: str
    n_segments: int
    space: str = "full"                 # "full" or "reduced"
    extras: dict = field(default_factory=dict)

    # -- assigning ----------------------------------------------------------------------
    def matrix(self, data: "Spaces | np.ndarray") -> np.ndarray:
        """Customers given as Spaces, or as a matrix already in `self.space`."""
        return data.get(self.space) if isinstance(data, Spaces) else data

    @abstractmethod
    def assign(self, data: "Spaces | np.ndarray") -> Assignment:
        """Segments of customers given as Spaces, or as a matrix already in `self.space`."""

    def labels(self, data: "Spaces | np.ndarray") -> np.ndarray:
        return self.assign(data).segment_id

    # -- segment ids --------------------------------------------------------------------
    @abstractmethod
    def segments(self) -> list[int]:
        """The model's segment ids (noise not included)."""

    @abstractmethod
    def relabelled(self, mapping: dict[int, int]) -> "SegmentModel":
        """The same model with segment ids renamed by `mapping` (ids not in it keep theirs;
        noise stays 0). Used to keep the ids of the previous version's segments."""

    def copy(self) -> "SegmentModel":
        return SegmentModel.from_json(self.to_json())

    # -- storage --------------------------------------------------------------------------
    @abstractmethod
    def state(self) -> dict:
        """The model's own fields, JSON-ready."""

    @classmethod
    @abstractmethod
    def from_state(cls, common: dict, raw: dict) -> "SegmentModel":
        """The model from `common` (algorithm, n_segments, space, extras) and its saved JSON."""

    def to_json(self) -> str:
        return json.dumps({"algorithm": self.algorithm, "n_segments": self.n_segments, "space": self.space,
                           "has_noise": self.has_noise, **self.state(), "extras": self.extras})

    @staticmethod
    def from_json(text: str) -> "SegmentModel":
        """A saved model, of the class its algorithm's Segmenter names (the registry)."""
        from . import REGISTRY   # here: the registry imports every algorithm module

        raw = json.loads(text)
        if raw.get("algorithm") not in REGISTRY:
            raise ValueError(f"a saved model of unknown algorithm {raw.get('algorithm')!r}; "
                             f"the registry has {', '.join(REGISTRY)}")
        common = {"algorithm": raw["algorithm"], "n_segments": int(raw["n_segments"]),
                  "space": raw.get("space", "full"), "extras": raw.get("extras") or {}}
        return REGISTRY[raw["algorithm"]].model.from_state(common, raw)

    # -- parameters as rows -------------------------------------------------------------
    @abstractmethod
    def parameter_rows(self) -> list[dict]:
        """The fitted parameters as rows any SQL engine can read (segment_model_parameters):
        parameter, segment_id, prototype, row_index, column_index, value."""

    # -- SQL --------------------------------------------------------------------------------
    @abstractmethod
    def score_sql(self, q: "ScoreQuery") -> list[tuple[str, str]]:
        """The SQL that assigns customers as `assign` does (custseg.scoring_sql): CTEs as
        (name, query), the last named `q.cte()` with the columns customer_id, segment_id,
        distance, probability, node (NULL where the model has none)."""

    # -- refits ---------------------------------------------------------------------------
    def refit_hints(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """For a refit's warm start (PreviousFit): the full-space prototypes (carried into
        the next model space) and the segment of each prototype, where the model has them."""
        return None, None


def parameter_row(parameter: str, segment, prototype, i, j, value) -> dict:
    return {"parameter": parameter, "segment_id": int(segment), "prototype": int(prototype),
            "row_index": i, "column_index": j, "value": float(value)}


# --------------------------------------------------------------------------- helpers
def size_order(labels: np.ndarray, ids: np.ndarray) -> dict[int, int]:
    """Map original cluster ids to 1..k by decreasing size (ties: smaller original id)."""
    counts = {int(i): int((labels == i).sum()) for i in ids}
    ordered = sorted(counts, key=lambda i: (-counts[i], i))
    return {old: new for new, old in enumerate(ordered, start=1)}


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


@dataclass(frozen=True)
class ReportFigure:
    """A figure an algorithm adds to the report: `chart` names a function of custseg.charts
    called with `args`; `name` is its id and PNG file name."""

    name: str
    chart: str
    args: tuple
    title: str
    caption: str


class Segmenter(ABC):
    """One segmentation algorithm, in the style of a scikit-learn estimator: configured by
    the settings (`get_params`), fitted on a sample (`fit`), and producing a SegmentModel
    (of its class `model`) that predicts in batches (`SegmentModel.assign`), saves as JSON
    and writes its own scoring SQL."""

    name: ClassVar[str]
    label: ClassVar[str]
    model: ClassVar[type[SegmentModel]]
    space: ClassVar[str] = "full"       # full model space, or the reduced PCA space

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

    @classmethod
    def info(cls) -> dict:
        """What the SQL side needs to know of the algorithm (macros/segmentation.sql)."""
        m = cls.model
        return {"name": cls.name, "label": cls.label, "space": cls.space, "has_noise": m.has_noise,
                "gives_probability": m.gives_probability, "gives_node": m.gives_node,
                "distance_to_centre": m.distance_to_centre}

    @classmethod
    def report_figures(cls, model: SegmentModel, names: dict[int, str], nodes: "pd.DataFrame") -> list[ReportFigure]:
        """The report's figures of this algorithm's model (`names`: segment names; `nodes`:
        its rows of som_nodes, when its model gives nodes). None by default."""
        return []

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

