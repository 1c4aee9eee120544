"""Entry points of the dbt Python models (python_models/*.py stay a few lines each).

Each function takes DuckDB relations (what `dbt.ref()` returns in dbt-duckdb) and
returns what the model materializes: a pandas frame for small tables, an Arrow
RecordBatchReader for the per-customer scores, which stream back to DuckDB batch by batch.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from .algorithms import FitResult, SegmentModel, Spaces, fit_algorithm
from .catalogue import ALGORITHM_LABELS, ALGORITHMS
from .naming import name_all
from .preprocessing import Preprocessor
from .settings import Settings


def read_settings(config_relation) -> Settings:
    """Settings from the one-row `segmentation_config` relation."""
    rows = config_relation.project("settings_json").limit(1).fetchall()
    if not rows:
        raise ValueError("segmentation_config is empty; build it first (dbt build)")
    return Settings.from_json(rows[0][0])


def _sample_frame(sample_relation, settings: Settings) -> pd.DataFrame:
    frame = sample_relation.order("sample_rank").df()
    if len(frame) < max(10, settings.k_max + 1):
        raise ValueError(
            f"only {len(frame)} clean customers to fit on; need more than k_max + 1 = {settings.k_max + 1}. "
            "Check rejected_customers for why rows were dropped."
        )
    return frame


# ------------------------------------------------------------------ preprocessing model
def fit_preprocessing(config_relation, sample_relation) -> pd.DataFrame:
    """segment_preprocessing: one row per model column (how to rebuild it, PCA loadings)."""
    settings = read_settings(config_relation)
    frame = _sample_frame(sample_relation, settings)
    with threadpool_limits(limits=1):
        pre = Preprocessor(settings.model_features, settings.categorical_columns).fit(frame)
    return pre.to_frame()


def load_preprocessor(preprocessing_relation) -> Preprocessor:
    return Preprocessor.from_frame(preprocessing_relation.df())


def model_spaces(pre: Preprocessor, data) -> Spaces:
    X = pre.transform(data)
    return Spaces(X, pre.reduce(X))


# ------------------------------------------------------------------ algorithm models
MODEL_RECORD_COLUMNS = [
    "algorithm", "algorithm_label", "fit_space", "n_segments", "has_noise_segment", "parameters_json",
    "model_json", "k_selection_json", "fit_sample_size", "evaluation_sample_size", "silhouette",
    "davies_bouldin", "calinski_harabasz", "stability_ari", "stability_resamples", "fit_seconds",
    "evaluation_seconds", "fitted_at",
]


def model_record(algorithm: str, result: FitResult) -> pd.DataFrame:
    """The one-row table an algorithm model materializes."""
    row = {
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


def fit_model(algorithm: str, config_relation, sample_relation, preprocessing_relation) -> pd.DataFrame:
    """<algorithm>_model: fit on the fit sample, return the one-row model record.

    The five algorithm models run side by side (one per dbt thread), so each keeps its
    numerical libraries to one thread: oversubscribing the cores made the build slower."""
    settings = read_settings(config_relation)
    frame = _sample_frame(sample_relation, settings)
    pre = load_preprocessor(preprocessing_relation)
    with threadpool_limits(limits=1):
        spaces = model_spaces(pre, frame)
        result = fit_algorithm(algorithm, spaces, settings, pre.explained_variance_ratio_)
    return model_record(algorithm, result)


def load_models(models_relation) -> dict[str, SegmentModel]:
    rows = models_relation.project("algorithm, model_json").fetchall()
    models = {algorithm: SegmentModel.from_json(text) for algorithm, text in rows}
    missing = [a for a in ALGORITHMS if a not in models]
    if missing:
        raise ValueError(f"fitted models missing for: {', '.join(missing)}")
    return models


# ------------------------------------------------------------------ scoring every customer
def score_schema() -> pa.Schema:
    fields = [pa.field("customer_id", pa.string()), pa.field("pca_1", pa.float64()),
              pa.field("pca_2", pa.float64()), pa.field("pca_3", pa.float64())]
    for algorithm in ALGORITHMS:
        fields += [pa.field(f"{algorithm}_segment_id", pa.int32()), pa.field(f"{algorithm}_distance", pa.float64())]
        if algorithm == "som":
            fields.append(pa.field("som_node_id", pa.int32()))
        if algorithm == "gmm":
            fields.append(pa.field("gmm_probability", pa.float64()))
    return pa.schema(fields)


def score_batch(batch: pa.RecordBatch, pre: Preprocessor, models: dict[str, SegmentModel],
                schema: pa.Schema) -> pa.RecordBatch:
    """Scores of one batch of customers: PCA view coordinates and every algorithm's segment."""
    spaces = model_spaces(pre, batch)
    view = pre.project(spaces.full)
    columns = {"customer_id": batch.column("customer_id")}
    for i in range(3):
        columns[f"pca_{i + 1}"] = pa.array(view[:, i] if view.shape[1] > i else np.zeros(len(view)))
    for algorithm in ALGORITHMS:
        assigned = models[algorithm].assign(spaces)
        columns[f"{algorithm}_segment_id"] = pa.array(assigned.segment_id, pa.int32())
        columns[f"{algorithm}_distance"] = pa.array(assigned.distance, pa.float64())
        if algorithm == "som":
            columns["som_node_id"] = pa.array(assigned.node + 1, pa.int32())  # 1-based node ids
        if algorithm == "gmm":
            columns["gmm_probability"] = pa.array(assigned.probability, pa.float64())
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


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


def score_customers(config_relation, features_relation, preprocessing_relation, models_relation) -> pa.RecordBatchReader:
    """int_customer_scores: every customer, streamed through the fitted models in Arrow
    batches of `assign_batch_rows`, so memory stays flat however many customers there are.
    Batches are scored on `scoring_threads()` threads, each with single-threaded BLAS."""
    settings = read_settings(config_relation)
    pre = load_preprocessor(preprocessing_relation)
    models = load_models(models_relation)
    needed = ["customer_id", *pre.source_columns]
    reader = features_relation.project(", ".join(f'"{c}"' for c in needed)).to_arrow_reader(settings.assign_batch_rows)
    schema = score_schema()

    def batches() -> Iterator[pa.RecordBatch]:
        with threadpool_limits(limits=1):
            non_empty = (batch for batch in reader if batch.num_rows)
            yield from ordered_parallel_map(lambda b: score_batch(b, pre, models, schema), non_empty,
                                            scoring_threads())

    return pa.RecordBatchReader.from_batches(schema, batches())


# ------------------------------------------------------------------ naming
def name_segments(profile_stats_relation) -> pd.DataFrame:
    """segment_names: one row per algorithm and segment."""
    names = name_all(profile_stats_relation.df())
    names["segment_id"] = names["segment_id"].astype("int32")
    return names
