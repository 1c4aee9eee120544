"""Density-based clustering: DBSCAN on `density_sample_size` customers in the reduced PCA
space, with min_samples = 2 x its dimensions and eps at the elbow of the sorted k-distance
curve; clusters under 1% of the sample join the noise. A customer takes the segment of the
nearest core customer within eps, otherwise it is noise (segment 0)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..catalogue import NOISE_SEGMENT
from ..metrics import elbow_index
from .base import KD_TREE_MAX_DIMENSIONS, Assignment, Fit, Segmenter, Spaces, nearest_prototype, parameter_row, \
    size_order
from .prototypes import PrototypeModel

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

    from ..scoring_sql import ScoreQuery

#: Core customers kept as density prototypes (a deterministic random subsample).
MAX_DENSITY_PROTOTYPES = 4_000
#: A DBSCAN cluster with fewer than this share of the fitted customers is not a segment a
#: marketer can act on (and, in few dimensions, DBSCAN finds dozens of such specks): its
#: customers join the noise.
MIN_DENSITY_SEGMENT_SHARE = 0.01


#: Reduced coordinates the SQL join's grid of radius-sized cells uses (3^4 cells per core).
SQL_GRID_DIMENSIONS = 4


@dataclass(kw_only=True, eq=False)
class DensityModel(PrototypeModel):
    """Core customers (prototypes) of the density clusters, in the reduced space: a customer
    takes the segment of the nearest core within `radius`, else it is noise (segment 0, no
    distance)."""

    prototype_parameter: ClassVar[str] = "core_point"
    has_noise: ClassVar[bool] = True

    radius: float
    _kdtree: "cKDTree | None" = field(default=None, init=False, repr=False)
    _kdtree_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def assign(self, data: "Spaces | np.ndarray") -> Assignment:
        X = self.matrix(data)
        if self.prototypes.shape[1] <= KD_TREE_MAX_DIMENSIONS:
            # Many prototypes in few dimensions (DBSCAN core customers): a k-d tree is
            # exact and far cheaper than comparing with every prototype.
            dist, idx = self._tree().query(X, k=1)
            idx = idx.astype(np.int32)
        else:
            idx, dist = nearest_prototype(X, self.prototypes)
        seg = self.prototype_segments[idx].astype(np.int32)
        seg = np.where(dist <= self.radius, seg, NOISE_SEGMENT).astype(np.int32)
        dist = np.where(seg == NOISE_SEGMENT, np.nan, dist)   # noise: no segment, so no distance to one
        return Assignment(seg, dist, None, None)

    def __getstate__(self) -> dict:
        # pickled to reach Spark's Python workers: the lock and the lazily built tree stay here
        state = dict(self.__dict__)
        state.pop("_kdtree_lock", None)
        state["_kdtree"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._kdtree_lock = threading.Lock()

    def _tree(self) -> "cKDTree":
        # built once, on first use; batches are scored on several threads
        with self._kdtree_lock:
            if self._kdtree is None:
                from scipy.spatial import cKDTree

                self._kdtree = cKDTree(self.prototypes)
        return self._kdtree

    def state(self) -> dict:
        return {**super().state(), "radius": self.radius}

    @classmethod
    def from_state(cls, common: dict, raw: dict) -> "DensityModel":
        return cls(**common, prototypes=np.asarray(raw["prototypes"], dtype=np.float64),
                   prototype_segments=np.asarray(raw["prototype_segments"], dtype=np.int32),
                   radius=float(raw["radius"]))

    def parameter_rows(self) -> list[dict]:
        return [*super().parameter_rows(), parameter_row("radius", NOISE_SEGMENT, 0, None, None, self.radius)]

    def score_sql(self, q: "ScoreQuery") -> list[tuple[str, str]]:
        """A join on a grid of radius-sized cells of the first (up to) four reduced coordinates:
        each core is listed in its 3^4 neighbouring cells, so a customer meets, in its own cell
        only, every core within the radius. The cores are read from the parameter rows (there
        may be thousands), the rest is written from the model."""
        dims = self.prototypes.shape[1]
        grid = min(dims, SQL_GRID_DIMENSIONS)
        r = q.num(self.radius)
        cores, cells, near = q.cte("cores"), q.cte("core_cells"), q.cte("near")
        columns = ",\n        ".join(f"max(case when column_index = {j} then value end) as c{j}"
                                      for j in range(1, dims + 1))
        steps = " union all ".join(f"select {s} as s" for s in (-1, 0, 1))
        shifted = ",\n        ".join(f"floor(cores.c{j} / {r}) + step_{j}.s as g{j}" for j in range(1, grid + 1))
        crosses = "\n    ".join(f"cross join ({steps}) as step_{j}" for j in range(1, grid + 1))
        d2 = " + ".join(f"(customers.z{j} - cores.c{j}) * (customers.z{j} - cores.c{j})" for j in range(1, dims + 1))
        same_cell = " and ".join(f"floor(customers.z{j} / {r}) = cores.g{j}" for j in range(1, grid + 1))
        return [
            (cores, f"""    select
        prototype,
        segment_id,
        {columns}
    from {q.parameters}
    where algorithm = {q.lit(self.algorithm)} and model_version = {q.lit(q.model_version)}
        and parameter = {q.lit(self.prototype_parameter)}
    group by prototype, segment_id"""),
            (cells, f"""    select
        cores.*,
        {shifted}
    from {cores} as cores
    {crosses}"""),
            (near, f"""    select
        customer_id,
        min_by(segment_id, d2) as segment_id,
        min(d2) as d2
    from (
        select
            customers.customer_id,
            cores.segment_id,
            ({d2}) as d2
        from {q.space} as customers
        inner join {cells} as cores
            on {same_cell}
    ) as candidates
    where sqrt(d2) <= {r}
    group by customer_id"""),
            (q.cte(), f"""    select
        customers.customer_id,
        coalesce(near.segment_id, {q.lit(NOISE_SEGMENT)}) as segment_id,
        sqrt(near.d2) as distance,
        cast(null as double) as probability,
        cast(null as integer) as node
    from {q.space} as customers
    left join {near} as near
        on customers.customer_id = near.customer_id"""),
        ]


def density_min_segment_size(n: int, min_samples: int) -> int:
    """Smallest DBSCAN cluster kept as a segment: MIN_DENSITY_SEGMENT_SHARE of the fitted
    customers (and at least min_samples); smaller clusters join the noise."""
    return max(min_samples, int(math.ceil(MIN_DENSITY_SEGMENT_SHARE * n)))


def density_model(Zd: np.ndarray, eps: float, min_samples: int, seed: int) -> DensityModel:
    from sklearn.cluster import DBSCAN   # here: scoring never imports scikit-learn

    db = DBSCAN(eps=eps, min_samples=min_samples).fit(Zd)
    labels = db.labels_.copy()
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    labels[np.isin(labels, ids[counts < density_min_segment_size(len(Zd), min_samples)])] = -1
    cluster_ids = np.unique(labels[labels >= 0])
    if cluster_ids.size == 0:
        # Everyone is noise: a negative radius sends every customer to the noise segment.
        return DensityModel(algorithm="density", n_segments=0, space="reduced", prototypes=np.zeros((1, Zd.shape[1])),
                            prototype_segments=np.zeros(1, dtype=np.int32), radius=-1.0)
    order = size_order(labels, cluster_ids)
    core = np.zeros(len(Zd), dtype=bool)
    core[db.core_sample_indices_] = True
    core_idx = np.flatnonzero(core & (labels >= 0))
    if len(core_idx) > MAX_DENSITY_PROTOTYPES:
        rng = np.random.default_rng(seed)
        core_idx = np.sort(rng.choice(core_idx, MAX_DENSITY_PROTOTYPES, replace=False))
    segs = np.array([order[int(label)] for label in labels[core_idx]], dtype=np.int32)
    return DensityModel(algorithm="density", n_segments=len(cluster_ids), space="reduced", prototypes=Zd[core_idx],
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
    model = DensityModel

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
