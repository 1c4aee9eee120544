"""Gaussian mixture: full covariances in the reduced PCA space, k by the rule on BIC
(scanned on the evaluation sample); a customer takes its most probable component, with that
probability. A refit with a previous version keeps its k when that k is as good and starts
from its components (means, weights and covariances of the previous segments)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..catalogue import NOISE_SEGMENT
from ..metrics import choose_k
from .base import Assignment, Fit, SegmentModel, Segmenter, Spaces, k_range, parameter_row, scan_candidates, \
    size_order

if TYPE_CHECKING:
    from sklearn.mixture import GaussianMixture

    from ..scoring_sql import ScoreQuery

REG_COVAR = 1e-4
LOG_2PI = math.log(2 * math.pi)


@dataclass(kw_only=True, eq=False)
class GaussianMixtureModel(SegmentModel):
    """Mixture components (row i of each array is component i): a customer takes the segment
    of its most probable component, with that probability, and its distance to the mean."""

    gives_probability: ClassVar[bool] = True

    means: np.ndarray                   # (k, d)
    precisions_cholesky: np.ndarray     # (k, d, d)
    log_weights: np.ndarray             # (k,)
    segment_ids: np.ndarray | None = None   # segment id of each component (default i + 1)

    def assign(self, data: "Spaces | np.ndarray") -> Assignment:
        X = self.matrix(data)
        k, d = self.means.shape
        log_prob = np.empty((len(X), k))
        for c in range(k):
            chol = self.precisions_cholesky[c]
            y = X @ chol - self.means[c] @ chol
            log_det = np.sum(np.log(np.diag(chol)))
            log_prob[:, c] = -0.5 * (d * LOG_2PI + np.einsum("ij,ij->i", y, y)) + log_det
        weighted = log_prob + self.log_weights
        top = weighted.max(axis=1, keepdims=True)
        resp = np.exp(weighted - top)
        resp /= resp.sum(axis=1, keepdims=True)
        best = np.argmax(resp, axis=1)
        diff = X - self.means[best]
        dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        return Assignment(self.component_ids()[best], dist, resp[np.arange(len(X)), best], None)

    def component_ids(self) -> np.ndarray:
        """Segment id of each mixture component."""
        if self.segment_ids is not None:
            return self.segment_ids.astype(np.int32)
        return np.arange(1, len(self.means) + 1, dtype=np.int32)

    def segments(self) -> list[int]:
        return sorted(int(i) for i in self.component_ids())

    def relabelled(self, mapping: dict[int, int]) -> "GaussianMixtureModel":
        model = self.copy()
        model.segment_ids = np.array([mapping.get(int(i), int(i)) if i != NOISE_SEGMENT else NOISE_SEGMENT
                                      for i in model.component_ids()], dtype=np.int32)
        return model

    def state(self) -> dict:
        return {"means": self.means.tolist(), "precisions_cholesky": self.precisions_cholesky.tolist(),
                "log_weights": self.log_weights.tolist(),
                "segment_ids": None if self.segment_ids is None else self.segment_ids.tolist()}

    @classmethod
    def from_state(cls, common: dict, raw: dict) -> "GaussianMixtureModel":
        ids = raw.get("segment_ids")
        return cls(**common, means=np.asarray(raw["means"], dtype=np.float64),
                   precisions_cholesky=np.asarray(raw["precisions_cholesky"], dtype=np.float64),
                   log_weights=np.asarray(raw["log_weights"], dtype=np.float64),
                   segment_ids=None if ids is None else np.asarray(ids, dtype=np.int32))

    def parameter_rows(self) -> list[dict]:
        """Per component: its log weight, its mean (one row per coordinate) and the non-zero
        entries of its precision's Cholesky factor."""
        rows = []
        for c, seg in enumerate(self.component_ids()):
            rows.append(parameter_row("log_weight", seg, c + 1, None, None, self.log_weights[c]))
            rows += [parameter_row("mean", seg, c + 1, None, j + 1, v) for j, v in enumerate(self.means[c])]
            chol = self.precisions_cholesky[c]
            rows += [parameter_row("precision_cholesky", seg, c + 1, i + 1, j + 1, chol[i, j])
                     for i in range(chol.shape[0]) for j in range(chol.shape[1]) if chol[i, j] != 0.0]
        return rows

    def score_sql(self, q: "ScoreQuery") -> list[tuple[str, str]]:
        """Each component's weighted log-density written out (w1..wk: log weight + log det of
        the Cholesky factor - (d log 2 pi + |y|^2) / 2, y = (z - mean) L), then the first
        most probable one, its probability 1 / sum exp(w - best) and the distance to its mean."""
        k, d = self.means.shape
        z = [q.coordinate(self.space, j) for j in range(1, d + 1)]
        weights = []
        for c in range(k):
            chol = self.precisions_cholesky[c]
            constant = self.log_weights[c] + float(np.sum(np.log(np.diag(chol)))) - 0.5 * d * LOG_2PI
            ys = []
            for j in range(d):
                terms = [f"{q.num(chol[i, j])} * ({z[i]} - {q.num(self.means[c, i])})"
                         for i in range(d) if chol[i, j] != 0.0]
                ys.append("(" + (" + ".join(terms) or q.num(0)) + ")")
            squares = " + ".join(f"{y} * {y}" for y in ys)
            weights.append(f"({q.num(constant)} - {q.num(0.5)} * ({squares})) as w{c + 1}")
        ids = self.component_ids()
        pick = "\n            ".join(f"when w{c + 1} = best then {q.lit(int(ids[c]))}" for c in range(k))
        dist = "\n            ".join(
            f"when w{c + 1} = best then "
            + " + ".join(f"({zj} - {q.num(m)}) * ({zj} - {q.num(m)})" for zj, m in zip(z, self.means[c]))
            for c in range(k))
        ws = [f"w{c + 1}" for c in range(k)]
        total = " + ".join(f"exp({w} - best)" for w in ws)
        components = ",\n                ".join([*z, *weights])
        return [(q.cte(), f"""    select
        customer_id,
        case
            {pick}
        end as segment_id,
        sqrt(case
            {dist}
        end) as distance,
        {q.num(1)} / ({total}) as probability,
        cast(null as integer) as node
    from (
        select *, {q.greatest(ws)} as best
        from (
            select
                customer_id,
                {components}
            from {q.space}
        ) as components
    ) as ranked""")]


def gaussian_model(gm: GaussianMixture, Z: np.ndarray) -> GaussianMixtureModel:
    labels = gm.predict(Z)
    order = size_order(labels, np.arange(gm.n_components))
    perm = [old for old, _ in sorted(order.items(), key=lambda kv: kv[1])]
    return GaussianMixtureModel(
        algorithm="gmm", n_segments=gm.n_components, space="reduced",
        means=gm.means_[perm], precisions_cholesky=gm.precisions_cholesky_[perm],
        log_weights=np.log(gm.weights_[perm]),
    )


def mixture(k: int, seed: int, **init) -> GaussianMixture:
    from sklearn.mixture import GaussianMixture   # here: scoring never imports scikit-learn

    return GaussianMixture(n_components=k, covariance_type="full", reg_covar=REG_COVAR, max_iter=200,
                           n_init=1, random_state=seed, **init)


class GaussianMixtureSegmenter(Segmenter):
    name = "gmm"
    label = "Gaussian mixture"
    space = "reduced"
    model = GaussianMixtureModel

    def _warm_start(self, Z: np.ndarray, k: int) -> dict:
        p = self.previous
        if p is None:
            return {}
        ids = [i for i in np.unique(p.labels) if i != NOISE_SEGMENT and (p.labels == i).sum() > Z.shape[1]]
        if len(ids) != k:
            return {}
        means = np.vstack([Z[p.labels == i].mean(axis=0) for i in ids])
        weights = np.array([(p.labels == i).mean() for i in ids])
        covs = [np.cov(Z[p.labels == i], rowvar=False) + REG_COVAR * np.eye(Z.shape[1]) for i in ids]
        return {"means_init": means, "weights_init": weights / weights.sum(),
                "precisions_init": np.array([np.linalg.inv(c) for c in covs])}

    def fit(self, spaces: Spaces, evaluation: Spaces) -> Fit:
        s = self.settings
        scan_rows = spaces.head(s.evaluation_sample_size)
        k_scan = []
        for k in k_range(s, len(scan_rows)):
            gm = mixture(k, s.random_state).fit(scan_rows.reduced)
            k_scan.append((k, "bic", gm.bic(scan_rows.reduced), gm.predict(evaluation.reduced)))
        candidates = scan_candidates(k_scan, evaluation.full, s)
        chosen = s.gmm_k or self.sticky_k(candidates, choose_k(candidates))
        init = self._warm_start(spaces.reduced, chosen)
        model = gaussian_model(mixture(chosen, s.random_state, **init).fit(spaces.reduced), spaces.reduced)

        def refit(sub: Spaces):
            return gaussian_model(mixture(chosen, s.random_state).fit(sub.reduced), sub.reduced).labels

        params = {"k": chosen, "k_rule": "fixed" if s.gmm_k else "silhouette+elbow (BIC)",
                  "covariance_type": "full", "reg_covar": REG_COVAR,
                  "start": "the previous version's segments" if init else "k-means (scikit-learn default)",
                  "space": f"PCA, {spaces.reduced.shape[1]} components"}
        return Fit(model, candidates, params, len(spaces), scan_rows, refit)
