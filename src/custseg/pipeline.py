"""Entry points of the dbt Python models (python_models/*.py stay a few lines each).

Each function takes what `dbt.ref()` returns (a DuckDB relation in dbt-duckdb; see
custseg.frames for other engines) and returns what the model materializes: a pandas frame
for small tables, an Arrow RecordBatchReader for per-customer tables, which stream back to
the database batch by batch.

The settings, the input contract and the run id reach the Python models through the code
dbt compiles for them (macros/python_context.sql), so the vars of the current invocation
apply to every model it builds, whatever --select says.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from . import frames
from .algorithms import ALGORITHM_LABELS, ALGORITHMS, FitResult, SegmentModel, Spaces, fit_algorithm
from .naming import name_all
from .preprocessing import FeatureSpec, Preprocessor
from .settings import Settings


@dataclass(frozen=True)
class RunContext:
    """What the current invocation says: validated settings, the input contract, the run id."""

    settings: Settings
    contract: dict
    run_id: str

    @classmethod
    def from_dbt(cls, dbt) -> "RunContext":
        raw = json.loads(getattr(dbt, "custseg_context"))
        return cls(Settings.from_mapping(raw["settings"]), raw["contract"], raw["run_id"])


def _sample_frame(sample_relation) -> pd.DataFrame:
    frame = frames.to_pandas(sample_relation, order_by="sample_rank")
    if len(frame) < 10:
        raise ValueError(f"only {len(frame)} clean customers to fit on; the input checks should have stopped "
                         "the build before the models (see input_summary)")
    return frame


# ------------------------------------------------------------------ preprocessing model
def fit_preprocessing(ctx: RunContext, sample_relation, parameters_relation) -> pd.DataFrame:
    """segment_preprocessing: one row per model column (how to rebuild it, PCA loadings)."""
    frame = _sample_frame(sample_relation)
    params = frames.to_pandas(parameters_relation)
    caps = dict(zip(params["column_name"], params["cap_value"].astype("float64")))
    specs = FeatureSpec.from_contract(ctx.contract, {k: (None if pd.isna(v) else float(v)) for k, v in caps.items()})
    with threadpool_limits(limits=1):
        pre = Preprocessor(specs).fit(frame)
    out = pre.to_frame()
    out.insert(0, "run_id", ctx.run_id)
    return out


def load_preprocessor(preprocessing_relation) -> Preprocessor:
    return Preprocessor.from_frame(frames.to_pandas(preprocessing_relation))


def model_spaces(pre: Preprocessor, data) -> Spaces:
    X = pre.transform(data)
    return Spaces(X, pre.reduce(X))


# ------------------------------------------------------------------ algorithm models
MODEL_RECORD_COLUMNS = [
    "run_id", "algorithm", "algorithm_label", "fit_space", "n_segments", "has_noise_segment", "parameters_json",
    "model_json", "k_selection_json", "fit_sample_size", "evaluation_sample_size", "silhouette",
    "davies_bouldin", "calinski_harabasz", "stability_ari", "stability_resamples", "fit_seconds",
    "evaluation_seconds", "fitted_at",
]


def model_record(algorithm: str, result: FitResult, run_id: str) -> pd.DataFrame:
    """The one-row table an algorithm model materializes."""
    row = {
        "run_id": run_id,
        "algorithm": algorithm,
        "algorithm_label": ALGORITHM_LABELS[algorithm],
        "fit_space": result.model.space,
        "n_segments": int(result.model.n_segments),
        "has_noise_segment": bool(result.model.has_noise),
        "parameters_json": json.dumps(result.parameters, sort_keys=True),
        "model_json": result.model.to_json(),
        "k_selection_json": json.dumps(result.candidates),
        "fit_sample_size": int(result.fit_rows),
        "evaluation_sample_size": int(result.eval_rows),
        "silhouette": result.silhouette,
        "davies_bouldin": result.davies_bouldin,
        "calinski_harabasz": result.calinski_harabasz,
        "stability_ari": result.stability_ari,
        "stability_resamples": int(result.stability_resamples),
        "fit_seconds": float(result.fit_seconds),
        "evaluation_seconds": float(result.evaluation_seconds),
        "fitted_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
    }
    frame = pd.DataFrame([row], columns=MODEL_RECORD_COLUMNS)
    for col in ("silhouette", "davies_bouldin", "calinski_harabasz", "stability_ari"):
        frame[col] = frame[col].astype("float64")
    return frame


def fit_model(algorithm: str, ctx: RunContext, sample_relation, preprocessing_relation) -> pd.DataFrame:
    """<algorithm>_model: fit on the fit sample, return the one-row model record.

    The algorithm models run side by side (one per dbt thread), so each keeps its
    numerical libraries to one thread: oversubscribing the cores made the build slower."""
    frame = _sample_frame(sample_relation)
    pre = load_preprocessor(preprocessing_relation)
    with threadpool_limits(limits=1):
        spaces = model_spaces(pre, frame)
        result = fit_algorithm(algorithm, spaces, ctx.settings, pre.explained_variance_ratio_)
    return model_record(algorithm, result, ctx.run_id)


def load_models(models_relation) -> dict[str, SegmentModel]:
    rows = frames.to_pandas(models_relation, columns=["algorithm", "model_json"])
    models = {a: SegmentModel.from_json(text) for a, text in zip(rows["algorithm"], rows["model_json"])}
    missing = [a for a in ALGORITHMS if a not in models]
    if missing:
        raise ValueError(f"fitted models missing for: {', '.join(missing)}")
    return models


# ------------------------------------------------------------------ scoring every customer
def score_schema() -> pa.Schema:
    """int_customer_scores: one row per customer; the PCA view coordinates, and per algorithm
    the segment, the distance to its centre, the membership probability (mixtures) and the
    prototype node (SOM), NULL where the algorithm has none."""
    fields = [pa.field("customer_id", pa.string()), pa.field("pca_1", pa.float64()),
              pa.field("pca_2", pa.float64()), pa.field("pca_3", pa.float64())]
    for a in ALGORITHMS:
        fields += [pa.field(f"{a}_segment_id", pa.int32()), pa.field(f"{a}_distance", pa.float64()),
                   pa.field(f"{a}_probability", pa.float64()), pa.field(f"{a}_node", pa.int32())]
    return pa.schema(fields)


SCORE_SCHEMA = score_schema()


def score_batch(batch: pa.RecordBatch, pre: Preprocessor, models: dict[str, SegmentModel]) -> pa.RecordBatch:
    """One batch of customers in, their PCA coordinates and every algorithm's segment out."""
    X = pre.transform(batch)
    spaces = Spaces(X, pre.reduce(X))
    view = pre.project(X)
    n = batch.num_rows
    columns = [batch.column("customer_id").cast(pa.string())]
    for i in range(3):
        columns.append(pa.array(view[:, i] if view.shape[1] > i else np.zeros(n), pa.float64()))
    for algorithm in ALGORITHMS:
        assigned = models[algorithm].assign(spaces)
        columns.append(pa.array(assigned.segment_id, pa.int32()))
        columns.append(pa.array(assigned.distance, pa.float64()))
        columns.append(pa.array(assigned.probability, pa.float64()) if assigned.probability is not None
                       else pa.nulls(n, pa.float64()))
        columns.append(pa.array(assigned.node + 1, pa.int32()) if assigned.node is not None
                       else pa.nulls(n, pa.int32()))   # 1-based node ids
    return pa.RecordBatch.from_arrays(columns, schema=SCORE_SCHEMA)


def ordered_parallel_map(fn, items, workers: int) -> Iterator:
    """`map(fn, items)` on `workers` threads, in order, holding at most `workers + 1`
    results at a time (so a stream of batches stays a stream)."""
    if workers <= 1:
        yield from map(fn, items)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def scoring_threads() -> int:
    """Threads that score batches side by side (NumPy and SciPy release the GIL in the
    heavy parts); env CUSTSEG_SCORE_THREADS overrides the default of one per core, up to 4."""
    value = os.environ.get("CUSTSEG_SCORE_THREADS")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"CUSTSEG_SCORE_THREADS must be a positive integer, got {value!r}")
        return int(value)
    return max(1, min(4, os.cpu_count() or 1))


def _stream(relation, columns: list[str], batch_rows: int, fn, schema: pa.Schema) -> pa.RecordBatchReader:
    reader = frames.arrow_batches(relation, columns, batch_rows)

    def batches() -> Iterator[pa.RecordBatch]:
        with threadpool_limits(limits=1):
            yield from ordered_parallel_map(fn, (b for b in reader if b.num_rows), scoring_threads())

    return pa.RecordBatchReader.from_batches(schema, batches())


def score_customers(ctx: RunContext, features_relation, preprocessing_relation,
                    models_relation) -> pa.RecordBatchReader:
    """int_customer_scores: every customer, streamed through the fitted models in Arrow
    batches of `assign_batch_rows`, so memory stays flat however many customers there are.
    Batches are scored on `scoring_threads()` threads, single-threaded BLAS each."""
    pre = load_preprocessor(preprocessing_relation)
    models = load_models(models_relation)
    return _stream(features_relation, ["customer_id", *pre.source_columns], ctx.settings.assign_batch_rows,
                   lambda b: score_batch(b, pre, models), SCORE_SCHEMA)


# ------------------------------------------------------------------ naming
def name_segments(ctx: RunContext, feature_stats_relation) -> pd.DataFrame:
    """segment_names: one row per algorithm and segment."""
    names = name_all(frames.to_pandas(feature_stats_relation), ctx.contract)
    names["segment_id"] = names["segment_id"].astype("int32")
    names.insert(0, "run_id", ctx.run_id)
    return names


# ------------------------------------------------------------------ report
def silhouette_values(ctx: RunContext, sample_relation, preprocessing_relation, scores_relation) -> pd.DataFrame:
    """report_silhouette: each customer's silhouette in its primary-algorithm segment, on the
    customers segment_metrics averages over (the head of the fit sample; density noise left
    out), so the report's silhouette plot and the metric agree."""
    from .metrics import silhouette_values as values

    s = ctx.settings
    frame = _sample_frame(sample_relation).head(s.evaluation_sample_size)
    scores = frames.to_pandas(frames.semi_join(scores_relation, sample_relation, "customer_id"),
                              columns=["customer_id", f"{s.primary_algorithm}_segment_id"]).rename(
        columns={f"{s.primary_algorithm}_segment_id": "segment_id"})
    frame = frame.merge(scores, on="customer_id", how="inner", sort=False)
    if s.primary_algorithm == "density":
        frame = frame[frame["segment_id"] != 0]
    frame = frame.head(s.silhouette_sample_size)
    pre = load_preprocessor(preprocessing_relation)
    labels = frame["segment_id"].to_numpy()
    with threadpool_limits(limits=1):
        sil = values(pre.transform(frame), labels) if len(np.unique(labels)) > 1 else np.zeros(len(frame))
    return pd.DataFrame({"run_id": ctx.run_id, "customer_id": frame["customer_id"].astype(str),
                         "segment_id": labels.astype("int32"), "silhouette": sil.astype("float64")})
