"""The five segmentation algorithms: fitted on a sample, able to assign any customer.

Every fit returns a `SegmentModel`, a small set of parameters that assigns customers in
batches with no reference to the fit sample (so scoring millions of customers streams in
bounded memory), plus the k-selection curve and quality measures.

* K-Means: k-means++ with 4 restarts, k by the shared rule (metrics.choose_k) on inertia,
  scanned on the evaluation sample; the chosen k is then fitted on the whole fit sample.
* Hierarchical: Ward linkage on `hierarchical_sample_size` customers (memory grows with
  n squared, so never on everyone); k by the rule on the within-segment sum of squares;
  every customer then goes to the nearest segment centroid.
* SOM: a MiniSom grid (size from `som_grid` or the rule in `som_grid_shape`), PCA-
  initialised; its nodes are grouped into segments by Ward clustering of the node weights,
  k by the rule; a customer takes the segment of its best-matching node.
* Density: DBSCAN on `density_sample_size` customers in the reduced PCA space, with
  min_samples = 2 x its dimensions and eps at the elbow of the sorted k-distance curve; a
  customer takes the segment of the nearest core customer within eps, otherwise it is
  noise (segment 0).
* Gaussian mixture: full covariances in the reduced PCA space, k by the rule on BIC; a
  customer takes its most probable component, with that probability.

Density and mixture models work in the reduced space (the PCA components keeping 80% of
the variance, see preprocessing) because density estimates degrade in many correlated
dimensions; the others use the full model space. Quality measures are always computed in
the full model space, so algorithms compare on the same footing.

Segment ids run from 1 by decreasing size on the fit sample; 0 is density noise.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from minisom import MiniSom
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN, KMeans
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from .catalogue import ALGORITHMS, NOISE_SEGMENT
from .metrics import choose_k, elbow_index, quality, resampling_stability, scan_qualities, within_sum_of_squares
from .settings import Settings

#: Upper bound on the cells of one distance block (rows x prototypes) while assigning:
#: 1M doubles = 8 MB, which the allocator reuses from block to block.
DISTANCE_BLOCK_CELLS = 1_000_000
#: Core customers kept as density prototypes (a deterministic random subsample).
MAX_DENSITY_PROTOTYPES = 4_000
#: A DBSCAN cluster with fewer than this share of the fitted customers is not a segment a
#: marketer can act on (and, in few dimensions, DBSCAN finds dozens of such specks): its
#: customers join the noise.
MIN_DENSITY_SEGMENT_SHARE = 0.01
#: Up to this many dimensions, nearest-prototype search uses a k-d tree.
KD_TREE_MAX_DIMENSIONS = 12


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
        if self.radius is not None:
            seg = np.where(dist <= self.radius, seg, NOISE_SEGMENT).astype(np.int32)
        node = idx if self.algorithm == "som" else None
        return Assignment(seg, dist, None, node)

    def _tree(self) -> cKDTree:
        # built once, on first use; batches are scored on several threads
        with self._kdtree_lock:
            if self._kdtree is None:
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
        return Assignment((best + 1).astype(np.int32), dist, resp[np.arange(len(X)), best], None)

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
            extras=raw.get("extras") or {},
        )


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


def _k_range(settings: Settings, n: int) -> list[int]:
    top = min(settings.k_max, max(settings.k_min, n - 1))
    return list(range(settings.k_min, top + 1))


def _candidates(scan: list[tuple[int, str, float, np.ndarray]], X_eval: np.ndarray,
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
@dataclass
class FitResult:
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


# --------------------------------------------------------------------------- fitters
# Each fitter returns (model, candidates, parameters, refit, base): `refit(spaces)` re-runs
# the algorithm with the chosen settings on other customers and returns a function that
# labels customers (given as Spaces); `base` are the customers the model was fitted on,
# which the stability refits subsample.

def _fit_kmeans(S: Spaces, S_eval: Spaces, s: Settings):
    X, X_eval = S.full, S_eval.full
    scan = []
    for k in _k_range(s, len(X_eval)):
        # The k scan runs on the evaluation sample; the chosen k is refitted on the fit sample.
        km = KMeans(n_clusters=k, n_init=4, random_state=s.random_state).fit(X_eval)
        scan.append((k, "inertia", km.inertia_, km.labels_))
    candidates = _candidates(scan, X_eval, s)
    chosen = s.kmeans_k or choose_k(candidates)
    km = KMeans(n_clusters=chosen, n_init=4, random_state=s.random_state).fit(X)
    model = centroid_model("kmeans", X, km.labels_, km.cluster_centers_)

    def refit(Sr: Spaces):
        fitted = KMeans(n_clusters=chosen, n_init=4, random_state=s.random_state).fit(Sr.full)
        return lambda Sq: fitted.predict(Sq.full)

    params = {"k": chosen, "k_rule": "fixed" if s.kmeans_k else "silhouette+elbow (inertia)",
              "n_init": 4, "fit_sample_inertia": float(km.inertia_)}
    return model, candidates, params, refit, S.head(s.evaluation_sample_size)


def _ward_labels(Z: np.ndarray, k: int) -> np.ndarray:
    return fcluster(Z, k, criterion="maxclust")


def _fit_hierarchical(S: Spaces, S_eval: Spaces, s: Settings):
    base = S.head(s.hierarchical_sample_size)
    Xh = base.full
    Z = linkage(Xh, method="ward")
    scan = []
    for k in _k_range(s, len(Xh)):
        labels = _ward_labels(Z, k)
        model_k = centroid_model("hierarchical", Xh, labels)
        scan.append((k, "within_ss", within_sum_of_squares(Xh, labels), model_k.labels(S_eval)))
    candidates = _candidates(scan, S_eval.full, s)
    chosen = s.hierarchical_k or choose_k(candidates)
    model = centroid_model("hierarchical", Xh, _ward_labels(Z, chosen))
    model.extras["dendrogram"] = compact_linkage(Z, len(Xh))
    model.extras["dendrogram"]["cut_height"] = float((Z[-chosen, 2] + Z[-chosen + 1, 2]) / 2)

    def refit(Sr: Spaces):
        return centroid_model("hierarchical", Sr.full, _ward_labels(linkage(Sr.full, method="ward"), chosen)).labels

    params = {"k": chosen, "k_rule": "fixed" if s.hierarchical_k else "silhouette+elbow (within-segment SS)",
              "linkage": "ward", "sample_size": len(Xh), "assignment": "nearest segment centroid"}
    return model, candidates, params, refit, base


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


def _som_iterations(rows: int, cols: int) -> int:
    """Training steps: 50 per node (5,000 to 100,000). With PCA initialisation the map
    settles well before that; more steps did not change quality on the sample or CC GENERAL."""
    return int(min(100_000, max(5_000, 50 * rows * cols)))


def _train_som(X, rows, cols, seed) -> MiniSom:
    som = MiniSom(rows, cols, X.shape[1], sigma=max(rows, cols) / 4.0, learning_rate=0.5,
                  neighborhood_function="gaussian", random_seed=seed)
    som.pca_weights_init(X)
    som.train(X, _som_iterations(rows, cols), random_order=True)
    return som


def _som_node_segments(k: int, Zn: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """Segment of each node (Ward clusters of the node weights), numbered 1..k by
    decreasing hits on the fit sample."""
    raw = _ward_labels(Zn, k)
    counts = {int(c): int(hits[raw == c].sum()) for c in np.unique(raw)}
    ordered = sorted(counts, key=lambda c: (-counts[c], c))
    remap = {old: new for new, old in enumerate(ordered, start=1)}
    return np.array([remap[int(c)] for c in raw], dtype=np.int32)


def _fit_som(S: Spaces, S_eval: Spaces, s: Settings, explained_variance=None):
    X, X_eval = S.full, S_eval.full
    rows, cols = som_grid_shape(len(X), explained_variance, s.som_grid)
    som = _train_som(X, rows, cols, s.random_state)
    weights = som.get_weights().reshape(rows * cols, -1)
    node_fit, node_dist = nearest_prototype(X, weights)
    hits = np.bincount(node_fit, minlength=rows * cols)
    node_eval, _ = nearest_prototype(X_eval, weights)
    Zn = linkage(weights, method="ward")
    scan = []
    for k in range(s.k_min, max(s.k_min, min(s.k_max, rows * cols - 1)) + 1):
        seg = _som_node_segments(k, Zn, hits)
        scan.append((k, "within_ss", within_sum_of_squares(X_eval, seg[node_eval]), seg[node_eval]))
    candidates = _candidates(scan, X_eval, s)
    chosen = choose_k(candidates)
    seg = _som_node_segments(chosen, Zn, hits)
    model = SegmentModel("som", int(seg.max()), prototypes=weights, prototype_segments=seg)
    model.extras["grid"] = {"rows": rows, "cols": cols}
    model.extras["u_matrix"] = som.distance_map().reshape(rows * cols).tolist()
    model.extras["sample_hits"] = hits.tolist()
    model.extras["quantization_error"] = float(node_dist.mean())
    model.extras["topographic_error"] = float(som.topographic_error(X_eval[:2000]))

    def refit(Sr: Spaces):
        som_b = _train_som(Sr.full, rows, cols, s.random_state)
        w = som_b.get_weights().reshape(rows * cols, -1)
        nodes_b, _ = nearest_prototype(Sr.full, w)
        seg_b = _som_node_segments(chosen, linkage(w, method="ward"), np.bincount(nodes_b, minlength=rows * cols))
        return lambda Sq: seg_b[nearest_prototype(Sq.full, w)[0]]

    params = {"k": chosen, "k_rule": "silhouette+elbow (within-segment SS) on node clusters",
              "grid_rows": rows, "grid_cols": cols, "sigma": max(rows, cols) / 4.0, "learning_rate": 0.5,
              "iterations": _som_iterations(rows, cols), "initialisation": "PCA",
              "node_grouping": "ward on node weights", "assignment": "best-matching node"}
    return model, candidates, params, refit, S.head(s.evaluation_sample_size)


def density_min_segment_size(n: int, min_samples: int) -> int:
    """Smallest DBSCAN cluster kept as a segment: MIN_DENSITY_SEGMENT_SHARE of the fitted
    customers (and at least min_samples); smaller clusters join the noise."""
    return max(min_samples, int(math.ceil(MIN_DENSITY_SEGMENT_SHARE * n)))


def _density_model(Zd: np.ndarray, eps: float, min_samples: int, seed: int) -> SegmentModel:
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
    segs = np.array([order[int(l)] for l in labels[core_idx]], dtype=np.int32)
    return SegmentModel("density", len(cluster_ids), space="reduced", has_noise=True, prototypes=Zd[core_idx],
                        prototype_segments=segs, radius=float(eps))


def _fit_density(S: Spaces, S_eval: Spaces, s: Settings):
    base = S.head(s.density_sample_size)
    Zd = base.reduced
    min_samples = max(5, 2 * Zd.shape[1])
    nn = NearestNeighbors(n_neighbors=min(min_samples, len(Zd))).fit(Zd)
    kdist = np.sort(nn.kneighbors(Zd)[0][:, -1])
    # Elbow of the sorted k-distance curve, read on a regular grid of quantiles so the
    # rule does not depend on the sample size.
    grid = np.quantile(kdist, np.linspace(0.0, 1.0, 200))
    eps = float(grid[min(len(grid) - 1, max(1, elbow_index(grid)))])
    model = _density_model(Zd, eps, min_samples, s.random_state)
    model.extras["k_distance_quantiles"] = grid.tolist()

    def refit(Sr: Spaces):
        return _density_model(Sr.reduced, eps, min_samples, s.random_state).labels

    params = {"eps": eps, "min_samples": min_samples, "space": f"PCA, {Zd.shape[1]} components",
              "eps_rule": "elbow of the sorted k-distance curve", "min_samples_rule": "2 x dimensions",
              "sample_size": len(Zd), "prototypes": int(len(model.prototypes)),
              "min_segment_size": density_min_segment_size(len(Zd), min_samples),
              "min_segment_rule": f"clusters under {MIN_DENSITY_SEGMENT_SHARE:.0%} of the sample join the noise",
              "assignment": "nearest core customer within eps, else noise (segment 0)"}
    return model, [], params, refit, base


def _gaussian_model(gm: GaussianMixture, Z: np.ndarray) -> SegmentModel:
    labels = gm.predict(Z)
    order = size_order(labels, np.arange(gm.n_components))
    perm = [old for old, _ in sorted(order.items(), key=lambda kv: kv[1])]
    return SegmentModel(
        "gmm", gm.n_components, space="reduced",
        means=gm.means_[perm], precisions_cholesky=gm.precisions_cholesky_[perm],
        log_weights=np.log(gm.weights_[perm]),
    )


def _gmm(k: int, seed: int) -> GaussianMixture:
    return GaussianMixture(n_components=k, covariance_type="full", reg_covar=1e-4, max_iter=200,
                           n_init=1, random_state=seed)


def _fit_gmm(S: Spaces, S_eval: Spaces, s: Settings):
    scan = S.head(s.evaluation_sample_size)
    k_scan = []
    for k in _k_range(s, len(scan)):
        gm = _gmm(k, s.random_state).fit(scan.reduced)
        k_scan.append((k, "bic", gm.bic(scan.reduced), gm.predict(S_eval.reduced)))
    candidates = _candidates(k_scan, S_eval.full, s)
    chosen = s.gmm_k or choose_k(candidates)
    model = _gaussian_model(_gmm(chosen, s.random_state).fit(S.reduced), S.reduced)

    def refit(Sr: Spaces):
        return _gaussian_model(_gmm(chosen, s.random_state).fit(Sr.reduced), Sr.reduced).labels

    params = {"k": chosen, "k_rule": "fixed" if s.gmm_k else "silhouette+elbow (BIC)",
              "covariance_type": "full", "reg_covar": 1e-4, "space": f"PCA, {S.reduced.shape[1]} components"}
    return model, candidates, params, refit, scan


# --------------------------------------------------------------------------- entry point
def fit_algorithm(algorithm: str, spaces: Spaces, settings: Settings,
                  explained_variance: np.ndarray | None = None) -> FitResult:
    """Fit one algorithm on the fit sample (rows in random order, in both spaces), choose
    its settings, and measure it on the first `evaluation_sample_size` rows."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")
    if len(spaces) < max(10, settings.k_max + 1):
        raise ValueError(f"need more than k_max + 1 = {settings.k_max + 1} customers to fit {algorithm}; "
                         f"got {len(spaces)}")
    S_eval = spaces.head(settings.evaluation_sample_size)
    start = time.perf_counter()
    if algorithm == "kmeans":
        model, candidates, params, refit, base = _fit_kmeans(spaces, S_eval, settings)
    elif algorithm == "hierarchical":
        model, candidates, params, refit, base = _fit_hierarchical(spaces, S_eval, settings)
    elif algorithm == "som":
        model, candidates, params, refit, base = _fit_som(spaces, S_eval, settings, explained_variance)
    elif algorithm == "density":
        model, candidates, params, refit, base = _fit_density(spaces, S_eval, settings)
    else:
        model, candidates, params, refit, base = _fit_gmm(spaces, S_eval, settings)
    fit_seconds = time.perf_counter() - start

    start = time.perf_counter()
    elbow_k = candidates[elbow_index([c["criterion_value"] for c in candidates])]["k"] if candidates else None
    for c in candidates:
        c["is_chosen"] = c["k"] == params.get("k")
        c["is_elbow"] = c["k"] == elbow_k
    reference = model.labels(S_eval)
    q = quality(S_eval.full, reference, settings.silhouette_sample_size, exclude_noise=model.has_noise)
    stability = resampling_stability(refit, base, S_eval, reference, settings.stability_resamples,
                                     settings.random_state)
    evaluation_seconds = time.perf_counter() - start
    params["stability_scheme"] = (f"{settings.stability_resamples} refits on random 80% subsamples of "
                                  f"{len(base)} customers, compared on {len(S_eval)}")
    fit_rows = len(base) if algorithm in ("hierarchical", "density") else len(spaces)
    return FitResult(model, candidates, params, fit_rows, len(S_eval), q.silhouette, q.davies_bouldin,
                     q.calinski_harabasz, stability, settings.stability_resamples, fit_seconds,
                     evaluation_seconds)
