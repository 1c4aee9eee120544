"""Scoring customers in SQL with saved models: the query int_customer_scores runs on engines
without the Python models (the spark target), written by Python from the saved parameters.

Each part of the query is written by what owns the rule: the model space (caps, transforms,
fill, standardisation, one-hot, PCA scores) by `Preprocessor.space_sql`, each algorithm's
segment, distance, probability and node by its model's `score_sql`. This module only puts
them together, with the same columns as the Python model int_customer_scores. The saved
numbers are written into the query, so it needs no UDF and runs wherever SQL runs; every
identifier and literal goes through custseg.sql.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from .sql import quote_identifier, sql_literal

if TYPE_CHECKING:
    from .algorithms.base import SegmentModel
    from .preprocessing import Preprocessor

#: The columns a model's last CTE has, in this order.
SCORE_COLUMNS = ("customer_id", "segment_id", "distance", "probability", "node")
#: PCA scores of the view (pca_1..pca_3) and the columns each algorithm adds to the scores.
VIEW_COMPONENTS = 3
ALGORITHM_COLUMNS = (("segment_id", "integer"), ("distance", "double"), ("probability", "double"),
                     ("node", "integer"))


@dataclass(frozen=True)
class ScoreQuery:
    """What a model's `score_sql` writes against: the relation of the customers in the model
    space (customer_id, x1..xd: the full space; z1..zr: the PCA scores), the relation of the
    saved parameter rows (segment_model_parameters), the model's version and the dialect.
    Its CTEs are named with `cte(...)`, so models never collide."""

    dialect: str
    space: str
    parameters: str
    model_version: int
    prefix: str

    def ident(self, name: str) -> str:
        return quote_identifier(name, self.dialect)

    def lit(self, value) -> str:
        return sql_literal(value, self.dialect)

    def num(self, value) -> str:
        return sql_literal(float(value), self.dialect)

    def cte(self, suffix: str = "") -> str:
        return self.ident(f"{self.prefix}_{suffix}" if suffix else self.prefix)

    def coordinate(self, space: str, j: int) -> str:
        """Column of coordinate j (from 1) of the full ("x") or reduced ("z") space."""
        return ("x" if space == "full" else "z") + str(j)

    def struct(self, fields: list[tuple[str, str]]) -> str:
        """A struct value (compared field by field, in order: what `least` ranks by)."""
        if self.dialect == "spark":
            return "named_struct(" + ", ".join(f"{self.lit(k)}, {v}" for k, v in fields) + ")"
        return "struct_pack(" + ", ".join(f"{k} := {v}" for k, v in fields) + ")"

    def element(self, values: list[str], position: str) -> str:
        """values[position], position from 1."""
        if self.dialect == "spark":
            return f"element_at(array({', '.join(values)}), {position})"
        return f"list_extract([{', '.join(values)}], {position})"

    def least(self, values: list[str]) -> str:
        return values[0] if len(values) == 1 else f"least({', '.join(values)})"

    def greatest(self, values: list[str]) -> str:
        return values[0] if len(values) == 1 else f"greatest({', '.join(values)})"


def customer_scores_sql(features: str, parameters: str, preprocessors: Mapping[int, "Preprocessor"],
                        models: Mapping[str, "SegmentModel"], versions: Mapping[str, tuple[int, int]],
                        view_version: int, dialect: str) -> str:
    """The int_customer_scores query: one row per customer of `features` (a relation with
    customer_id and the source columns), the PCA view of `view_version`'s preprocessing and
    each model's columns. `versions`: each algorithm's (model version, preprocessing
    version); models are listed in the order of `models`."""
    q = lambda name: quote_identifier(name, dialect)   # noqa: E731
    reduced = max([VIEW_COMPONENTS, *(pre.reduced_components_ for pre in preprocessors.values())])
    ctes: list[tuple[str, str]] = []
    for v, pre in sorted(preprocessors.items()):
        ctes.append((q(f"space_{v}"), pre.space_sql(features, dialect, reduced)))
    for algorithm, model in models.items():
        model_version, pre_version = versions[algorithm]
        query = ScoreQuery(dialect, q(f"space_{pre_version}"), parameters, int(model_version),
                           f"scores_{algorithm}")
        ctes.extend(model.score_sql(query))
    view = q(f"space_{view_version}")
    columns = [f"cast({view}.customer_id as string) as customer_id"]
    columns += [f"cast({view}.z{i} as double) as pca_{i}" for i in range(1, VIEW_COMPONENTS + 1)]
    joins = []
    for algorithm in models:
        scores = q(f"scores_{algorithm}")
        for column, kind in ALGORITHM_COLUMNS:
            columns.append(f"cast({scores}.{column} as {kind}) as {q(f'{algorithm}_{column}')}")
        joins.append(f"inner join {scores} on {scores}.customer_id = {view}.customer_id")
    body = ",\n\n".join(f"{name} as (\n{sql}\n)" for name, sql in ctes)
    return (f"with {body}\n\nselect\n    " + ",\n    ".join(columns) + f"\nfrom {view}\n" + "\n".join(joins))


def saved_scores_sql(models, preprocessing, primary: str, dialect: str, features: str, parameters: str) -> str:
    """customer_scores_sql for saved rows: `models` (int_segment_models: algorithm,
    model_version, preprocessing_version, model_json) and `preprocessing`
    (segment_preprocessing), as pandas frames; the registered algorithms, in registry order."""
    from .algorithms import ALGORITHMS, SegmentModel
    from .preprocessing import Preprocessor

    rows = {r.algorithm: r for r in models.itertuples(index=False) if r.algorithm in ALGORITHMS}
    missing = [a for a in ALGORITHMS if a not in rows]
    if missing:
        raise ValueError(f"saved models missing for: {', '.join(missing)}")
    versions = {a: (int(rows[a].model_version), int(rows[a].preprocessing_version)) for a in ALGORITHMS}
    pres = {v: Preprocessor.from_frame(preprocessing[preprocessing["model_version"] == v])
            for v in sorted({p for _, p in versions.values()})}
    fitted = {a: SegmentModel.from_json(rows[a].model_json) for a in ALGORITHMS}
    return customer_scores_sql(features, parameters, pres, fitted, versions, versions[primary][1], dialect)
