"""The one preprocessing every algorithm shares.

Fitted once on the fit sample, stored as a table (one row per model column), and rebuilt
from that table wherever customers are scored:

1. keep the clustered features that have data and vary (empty or constant ones are dropped
   and reported);
2. cap outliers at the column's cap (int_cleaning_parameters: a high quantile over every
   kept customer), for the kinds that are capped; customer_features keeps the raw values;
3. transform by kind (feature_kinds seed): log1p for amounts, counts and unbounded ratios
   (heavy right tails with a mass at zero), a signed log1p for amounts that can be
   negative, nothing for shares, ages, scores and the like; `auto` (a measure of no known
   kind) takes log1p when it is non-negative and strongly skewed on the fit sample;
4. fill any remaining gap with the column's median on the fit sample, then standardize
   (centre and scale from the fit sample);
5. one-hot encode categorical attributes (the most frequent categories, the rest as
   "other"), each indicator scaled by 1/sqrt(2) so that differing in one attribute adds 1
   to a squared distance, as one standard deviation of a numeric feature does;
6. PCA: the first three components are the 2D and 3D views (the first two are the 2D
   view); the components that together keep `REDUCED_VARIANCE` (80%) of the variance
   form the reduced space the density and Gaussian-mixture models are fitted in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import pandas as pd


ONE_HOT_SCALE = 1.0 / math.sqrt(2.0)
#: Share of variance the reduced (PCA) space keeps; it has between 2 and 10 components.
REDUCED_VARIANCE = 0.80
MIN_REDUCED, MAX_REDUCED = 2, 10
OTHER_CATEGORY = "__other__"


@dataclass(frozen=True)
class FeatureSpec:
    """A clustered feature as the input contract describes it."""

    name: str                  # the customer_features column
    kind: str                  # feature_kinds: amount, count, share, ..., category
    transform: str             # log1p | signed_log1p | identity | auto | one_hot
    cap: float | None = None   # upper cap (None: not capped)
    input_column: str = ""     # as the input spells it

    @classmethod
    def from_contract(cls, contract: dict, caps: Mapping[str, float | None] | None = None) -> list["FeatureSpec"]:
        """The clustered columns of an input contract (custseg.inputs), with their caps."""
        caps = caps or {}
        specs = []
        for c in contract.get("columns", []):
            if c["role"] == "feature" or (c["role"] == "categorical" and c.get("kind") == "category"):
                transform = "one_hot" if c["role"] == "categorical" else c["transform"]
                specs.append(cls(c["name"], c.get("kind") or "category", transform,
                                 caps.get(c["name"]) if c.get("is_capped") else None, c["input_column"]))
        for d in contract.get("derived", []):
            if d["role"] == "feature":
                specs.append(cls(d["name"], d["kind"], d["transform"], caps.get(d["name"]) if d["is_capped"] else None,
                                 d["name"]))
        return specs


@dataclass(frozen=True)
class ModelColumn:
    """One column of the model matrix."""

    name: str             # e.g. "balance" or "card_type=gold"
    source: str           # the customer_features column it comes from
    transform: str        # "log1p", "signed_log1p", "identity" or "one_hot"
    category: str | None  # for one_hot: the category (OTHER_CATEGORY for the rest)
    fill_value: float     # value used where the (transformed) input is missing
    center: float
    scale: float
    kind: str = ""
    cap: float | None = None
    input_column: str = ""


def _as_float(values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    return arr


def _column(data: Mapping[str, Iterable], name: str) -> np.ndarray:
    if isinstance(data, pd.DataFrame):
        return data[name].to_numpy()
    col = data[name]
    if hasattr(col, "to_numpy"):
        try:
            return col.to_numpy(zero_copy_only=False)  # pyarrow
        except TypeError:
            return col.to_numpy()
    return np.asarray(col)


def resolve_auto_transform(values: np.ndarray) -> str:
    """`auto`: log1p when the values are non-negative and strongly skewed, else identity."""
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() >= 0:
        std = finite.std()
        if std > 0 and ((finite - finite.mean()) ** 3).mean() / std**3 > 2.0:
            return "log1p"
    return "identity"


class Preprocessor:
    """Fit-once, apply-anywhere preprocessing of customer features into the model space."""

    def __init__(self, specs: Iterable[FeatureSpec], max_categories: int = 20, n_components: int = 3):
        self.specs = tuple(specs)
        self.max_categories = max_categories
        self.n_components = n_components
        self.columns_: list[ModelColumn] = []
        self.dropped_features_: list[str] = []
        self.pca_components_: np.ndarray | None = None  # all components (d x d), rows
        self.pca_mean_: np.ndarray | None = None
        self.explained_variance_ratio_: np.ndarray | None = None  # all components
        self.reduced_components_: int = 0

    # -- fitting ----------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame) -> "Preprocessor":
        missing = [s.name for s in self.specs if s.name not in frame.columns]
        if missing:
            raise ValueError(
                f"model features not in customer_features: {', '.join(missing)} "
                f"(available: {', '.join(map(str, frame.columns))})"
            )
        if len(frame) < 10:
            raise ValueError(f"need at least 10 customers to fit the preprocessing; got {len(frame)}")
        columns: list[ModelColumn] = []
        self.dropped_features_ = []
        for spec in self.specs:
            if spec.transform == "one_hot":
                counts = frame[spec.name].astype("string").fillna("unknown").value_counts()
                ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                kept = [str(cat) for cat, _ in ordered[: self.max_categories]]
                if len(ordered) > self.max_categories:
                    kept.append(OTHER_CATEGORY)
                if len(kept) < 2:
                    self.dropped_features_.append(spec.name)
                    continue
                for cat in kept:  # 0/1 indicators scaled to 0/0.707
                    columns.append(ModelColumn(f"{spec.name}={cat}", spec.name, "one_hot", cat, 0.0, 0.0,
                                               1.0 / ONE_HOT_SCALE, spec.kind, None, spec.input_column))
                continue
            raw = _as_float(frame[spec.name].to_numpy(dtype=np.float64, na_value=np.nan))
            if not np.isfinite(raw).any():
                self.dropped_features_.append(spec.name)
                continue
            capped = self._cap(raw, spec.cap)
            transform = resolve_auto_transform(capped) if spec.transform == "auto" else spec.transform
            values = self._apply_transform(capped, transform)
            finite = values[np.isfinite(values)]
            fill = float(np.median(finite))
            values = np.where(np.isfinite(values), values, fill)
            center = float(values.mean())
            scale = float(values.std())
            if not scale > 1e-12 * max(1.0, abs(center)):
                self.dropped_features_.append(spec.name)  # constant: carries no information
                continue
            columns.append(ModelColumn(spec.name, spec.name, transform, None, fill, center, scale, spec.kind,
                                       spec.cap, spec.input_column))
        if len(columns) < 2:
            raise ValueError(
                "fewer than two usable model features after dropping empty or constant ones "
                f"(dropped: {', '.join(self.dropped_features_) or 'none'}); check feature_columns"
            )
        self.columns_ = columns
        X = self.transform(frame)
        self.pca_mean_ = X.mean(axis=0)
        _, s, vt = np.linalg.svd(X - self.pca_mean_, full_matrices=False)
        # deterministic signs: the largest loading of each component is positive
        signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
        signs[signs == 0] = 1.0
        vt = vt * signs[:, None]
        variance = s**2
        self.pca_components_ = vt
        self.explained_variance_ratio_ = variance / variance.sum()
        needed = int(np.searchsorted(np.cumsum(self.explained_variance_ratio_), REDUCED_VARIANCE) + 1)
        self.reduced_components_ = int(np.clip(needed, MIN_REDUCED, min(MAX_REDUCED, len(vt))))
        return self

    @staticmethod
    def _cap(values: np.ndarray, cap: float | None) -> np.ndarray:
        if cap is None or not np.isfinite(cap):
            return values
        with np.errstate(invalid="ignore"):
            return np.where(values > cap, cap, values)

    @staticmethod
    def _apply_transform(values: np.ndarray, transform: str) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            if transform == "log1p":
                return np.log1p(np.clip(values, 0.0, None))
            if transform == "signed_log1p":
                return np.sign(values) * np.log1p(np.abs(values))
        return values

    # -- applying -----------------------------------------------------------------------
    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns_]

    @property
    def source_columns(self) -> list[str]:
        return list(dict.fromkeys(c.source for c in self.columns_))

    def transform(self, data: Mapping[str, Iterable]) -> np.ndarray:
        """Model matrix (n x d, float64) for a DataFrame, Arrow table/batch or dict of arrays."""
        if not self.columns_:
            raise RuntimeError("Preprocessor is not fitted")
        n = len(_column(data, self.columns_[0].source))
        X = np.empty((n, len(self.columns_)), dtype=np.float64)
        cache: dict[str, np.ndarray] = {}
        for j, col in enumerate(self.columns_):
            if col.transform == "one_hot":
                if col.source not in cache:
                    raw = _column(data, col.source)
                    cache[col.source] = np.array(
                        ["unknown" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in raw],
                        dtype=object,
                    )
                cats = cache[col.source]
                if col.category == OTHER_CATEGORY:
                    known = {c.category for c in self.columns_
                             if c.source == col.source and c.category != OTHER_CATEGORY}
                    hit = ~np.isin(cats, list(known))
                else:
                    hit = cats == col.category
                X[:, j] = (hit.astype(np.float64) - col.center) / col.scale
                continue
            raw = _column(data, col.source)
            values = self._apply_transform(self._cap(np.asarray(raw, dtype=np.float64), col.cap), col.transform)
            values = np.where(np.isfinite(values), values, col.fill_value)
            X[:, j] = (values - col.center) / col.scale
        return X

    def carry(self, other: "Preprocessor", points: np.ndarray) -> np.ndarray | None:
        """Points of `other`'s model space (a previous version's centres) expressed in this
        one's: exact for the standardisation, which is all that differs when both have the
        same columns and transforms; None when they do not."""
        key = [(c.name, c.transform) for c in self.columns_]
        if key != [(c.name, c.transform) for c in other.columns_] or points.shape[1] != len(key):
            return None
        old_center = np.array([c.center for c in other.columns_])
        old_scale = np.array([c.scale for c in other.columns_])
        center = np.array([c.center for c in self.columns_])
        scale = np.array([c.scale for c in self.columns_])
        return (points * old_scale + old_center - center) / scale

    def project(self, X: np.ndarray) -> np.ndarray:
        """View coordinates: the first `n_components` (3) PCA scores of model-space rows."""
        return (X - self.pca_mean_) @ self.pca_components_[: self.n_components].T

    def reduce(self, X: np.ndarray) -> np.ndarray:
        """Reduced-space coordinates: the PCA scores keeping REDUCED_VARIANCE of the variance."""
        return (X - self.pca_mean_) @ self.pca_components_[: self.reduced_components_].T

    # -- SQL ----------------------------------------------------------------------------
    def space_sql(self, features: str, dialect: str, components: int) -> str:
        """The same model space in SQL (custseg.scoring_sql): a query over `features` giving
        customer_id, x1..xd (the model columns, as `transform` computes them) and z1..z
        `components` (the PCA scores; 0 past the last component)."""
        from .sql import quote_identifier, sql_literal

        def num(value) -> str:
            return sql_literal(float(value), dialect)

        xs = []
        for col in self.columns_:
            source = "features." + quote_identifier(col.source, dialect)
            if col.transform == "one_hot":
                value = f"coalesce(cast({source} as string), {sql_literal('unknown', dialect)})"
                if col.category == OTHER_CATEGORY:
                    known = [sql_literal(c.category, dialect) for c in self.columns_
                             if c.source == col.source and c.category != OTHER_CATEGORY]
                    hit = (f"case when {value} in ({', '.join(known)}) then {num(0)} else {num(1)} end" if known
                           else num(1))
                else:
                    hit = f"case when {value} = {sql_literal(col.category, dialect)} then {num(1)} else {num(0)} end"
                xs.append(f"({hit} - {num(col.center)}) / {num(col.scale)}")
                continue
            v = f"cast({source} as double)"
            if col.cap is not None and math.isfinite(col.cap):
                v = f"case when {v} > {num(col.cap)} then {num(col.cap)} else {v} end"
            if col.transform == "log1p":   # not greatest(): it skips NULLs, which must stay missing
                v = f"ln({num(1)} + case when {v} < {num(0)} then {num(0)} else {v} end)"
            elif col.transform == "signed_log1p":
                v = f"sign({v}) * ln({num(1)} + abs({v}))"
            xs.append(f"(coalesce({v}, {num(col.fill_value)}) - {num(col.center)}) / {num(col.scale)}")
        zs = []
        for i in range(components):
            if i < len(self.pca_components_):
                terms = [f"{num(w)} * (x{j + 1} - {num(m)})"
                         for j, (w, m) in enumerate(zip(self.pca_components_[i], self.pca_mean_))]
                zs.append("(" + " + ".join(terms) + ")")
            else:
                zs.append(num(0))
        inner = ",\n        ".join(["features.customer_id", *(f"{x} as x{j}" for j, x in enumerate(xs, 1))])
        outer = ",\n    ".join(["model_space.*", *(f"{z} as z{i}" for i, z in enumerate(zs, 1))])
        return (f"select\n    {outer}\nfrom (\n    select\n        {inner}\n    from {features} as features\n"
                ") as model_space")

    # -- storage ------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per model column: how to rebuild the column, and its PCA loadings."""
        rows = []
        for j, col in enumerate(self.columns_):
            row = {
                "column_position": j + 1,
                "column_name": col.name,
                "source_column": col.source,
                "input_column": col.input_column,
                "kind": col.kind,
                "transform": col.transform,
                "cap_value": col.cap,
                "category": col.category,
                "fill_value": col.fill_value,
                "center": col.center,
                "scale": col.scale,
                "pca_mean": float(self.pca_mean_[j]),
            }
            for i in range(3):
                row[f"pc{i + 1}_loading"] = float(self.pca_components_[i, j]) if i < len(self.pca_components_) else None
            row["pca_loadings"] = [float(v) for v in self.pca_components_[:, j]]
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame["explained_variance_ratios"] = [[float(v) for v in self.explained_variance_ratio_]] * len(frame)
        frame["reduced_components"] = self.reduced_components_
        frame["dropped_features"] = json.dumps(self.dropped_features_)
        return frame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "Preprocessor":
        frame = frame.sort_values("column_position")
        pre = cls([])
        pre.columns_ = [
            ModelColumn(
                r.column_name, r.source_column, r.transform,
                None if pd.isna(r.category) else r.category,
                float(r.fill_value), float(r.center), float(r.scale), r.kind,
                None if pd.isna(r.cap_value) else float(r.cap_value), r.input_column,
            )
            for r in frame.itertuples(index=False)
        ]
        specs = {}
        for c in pre.columns_:
            specs.setdefault(c.source, FeatureSpec(c.source, c.kind, c.transform, c.cap, c.input_column))
        pre.specs = tuple(specs.values())
        pre.pca_components_ = np.array([list(v) for v in frame["pca_loadings"]], dtype=float).T
        pre.pca_mean_ = frame["pca_mean"].to_numpy(dtype=float)
        pre.explained_variance_ratio_ = np.asarray(list(frame["explained_variance_ratios"].iloc[0]), dtype=float)
        pre.reduced_components_ = int(frame["reduced_components"].iloc[0])
        pre.dropped_features_ = json.loads(frame["dropped_features"].iloc[0])
        return pre
