"""Models that assign a customer the segment of its nearest prototype: `PrototypeModel`,
and the nearest-centre model K-Means and hierarchical clustering share (`CentroidModel`).
The SOM and density models are prototype models too (som.py, density.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..catalogue import NOISE_SEGMENT
from ..metrics import within_sum_of_squares
from .base import STICKY_TOLERANCE, Assignment, PreviousFit, SegmentModel, Spaces, nearest_prototype, parameter_row, \
    size_order

if TYPE_CHECKING:
    from ..scoring_sql import ScoreQuery


@dataclass(kw_only=True, eq=False)
class PrototypeModel(SegmentModel):
    """Prototypes (m, d) in the model's space, and the segment of each."""

    #: What segment_model_parameters calls a prototype.
    prototype_parameter: ClassVar[str] = "centre"

    prototypes: np.ndarray
    prototype_segments: np.ndarray

    def segments(self) -> list[int]:
        return sorted(int(i) for i in np.unique(self.prototype_segments) if i != NOISE_SEGMENT)

    def relabelled(self, mapping: dict[int, int]) -> "PrototypeModel":
        model = self.copy()
        model.prototype_segments = np.array(
            [mapping.get(int(i), int(i)) if i != NOISE_SEGMENT else NOISE_SEGMENT for i in model.prototype_segments],
            dtype=np.int32)
        return model

    def state(self) -> dict:
        return {"prototypes": np.asarray(self.prototypes).tolist(),
                "prototype_segments": np.asarray(self.prototype_segments).tolist()}

    @classmethod
    def from_state(cls, common: dict, raw: dict) -> "PrototypeModel":
        return cls(**common, prototypes=np.asarray(raw["prototypes"], dtype=np.float64),
                   prototype_segments=np.asarray(raw["prototype_segments"], dtype=np.int32))

    def parameter_rows(self) -> list[dict]:
        """One row per prototype and model-space coordinate."""
        return [parameter_row(self.prototype_parameter, seg, p + 1, None, j + 1, v)
                for p, (seg, proto) in enumerate(zip(self.prototype_segments, self.prototypes))
                for j, v in enumerate(proto)]

    def refit_hints(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        return (self.prototypes if self.space == "full" else None), self.prototype_segments

    def nearest_sql(self, q: "ScoreQuery", node: bool) -> list[tuple[str, str]]:
        """Nearest prototype in SQL: the least of (|c|^2 - 2 x.c, position) pairs (one pass over
        the prototypes, ties to the first, as argmin), then its segment and the distance."""
        d = self.prototypes.shape[1]
        x = [q.coordinate(self.space, j) for j in range(1, d + 1)]
        pairs = []
        for p, proto in enumerate(self.prototypes, start=1):
            dot = " + ".join(f"{q.num(c)} * {xj}" for c, xj in zip(proto, x))
            rank = f"({q.num(float(np.dot(proto, proto)))} - {q.num(2)} * ({dot}))"
            pairs.append(q.struct([("d", rank), ("position", str(p))]))
        segment = q.element([q.lit(int(s)) for s in self.prototype_segments], "nearest.position")
        norm = " + ".join(f"{xj} * {xj}" for xj in x)
        return [(q.cte(), f"""    select
        customer_id,
        {segment} as segment_id,
        sqrt(greatest(norm + nearest.d, {q.num(0)})) as distance,
        cast(null as double) as probability,
        {"nearest.position" if node else "cast(null as integer)"} as node
    from (
        select
            customer_id,
            ({norm}) as norm,
            {q.least(pairs)} as nearest
        from {q.space}
    ) as distances""")]


@dataclass(kw_only=True, eq=False)
class CentroidModel(PrototypeModel):
    """Nearest segment centre, in the full model space (one prototype per segment)."""

    distance_to_centre: ClassVar[bool] = True

    def assign(self, data: "Spaces | np.ndarray") -> Assignment:
        idx, dist = nearest_prototype(self.matrix(data), self.prototypes)
        return Assignment(self.prototype_segments[idx].astype(np.int32), dist, None, None)

    def score_sql(self, q: "ScoreQuery") -> list[tuple[str, str]]:
        return self.nearest_sql(q, node=False)


def centroid_model(algorithm: str, X: np.ndarray, labels: np.ndarray,
                   centres: np.ndarray | None = None) -> CentroidModel:
    """Nearest-centroid model from labelled rows: one prototype per label (the mean of its
    rows, or `centres[label]` when given), numbered 1..k by decreasing size."""
    ids = np.unique(labels)
    order = size_order(labels, ids)
    by_new_id = sorted(order, key=order.get)
    if centres is None:
        protos = np.vstack([X[labels == old].mean(axis=0) for old in by_new_id])
    else:
        protos = centres[by_new_id]
    return CentroidModel(algorithm=algorithm, n_segments=len(ids), prototypes=protos,
                         prototype_segments=np.arange(1, len(ids) + 1, dtype=np.int32))


def keep_previous(previous: PreviousFit | None, X: np.ndarray, fresh: CentroidModel) -> CentroidModel | None:
    """The previous version's centres (carried into the current space) when the fresh fit
    with the same number of segments is not better by more than STICKY_TOLERANCE (relative
    within-segment sum of squares, both as nearest-centre models): a method whose fit is
    not continuous in its input (a dendrogram cut) should not reshuffle customers for a
    gain within noise."""
    p = previous
    if p is None or p.prototypes is None or len(np.unique(p.prototype_segments)) != len(p.prototypes) \
            or len(p.prototypes) != fresh.n_segments:
        return None
    kept = nearest_prototype(X, p.prototypes)[0]
    if len(np.unique(kept)) != len(p.prototypes):
        return None
    new = nearest_prototype(X, fresh.prototypes)[0]
    if within_sum_of_squares(X, kept) > (1 + STICKY_TOLERANCE) * within_sum_of_squares(X, new):
        return None
    return centroid_model(fresh.algorithm, X, kept, p.prototypes)
