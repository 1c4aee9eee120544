"""Entry points of the dbt Python models (python_models/*.py stay a few lines each).

Each function takes what `dbt.ref()` returns (a DuckDB relation in dbt-duckdb; see
custseg.frames for other engines) and returns what the model materializes: a pandas frame
for small tables, an Arrow RecordBatchReader for per-customer tables, which stream back to
the database batch by batch (on Spark, a DataFrame its executors compute batch by batch).

The settings, the input contract and the run id reach the Python models through the code
dbt compiles for them (macros/python_context.sql), so the vars of the current invocation
apply to every model it builds, whatever --select says.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from . import frames
from .algorithms import ALGORITHM_LABELS, ALGORITHMS, REGISTRY, FitResult, PreviousFit, SegmentModel, Spaces, \
    fit_algorithm
from .catalogue import NOISE_SEGMENT
from .naming import name_all
from .preprocessing import FeatureSpec, Preprocessor
from .run_context import RunContext
from .stable_ids import IdMatch, match_ids


def _sample_frame(sample_relation) -> pd.DataFrame:
    frame = frames.to_pandas(sample_relation, order_by="sample_rank")
    if len(frame) < 10:
        raise ValueError(f"only {len(frame)} clean customers to fit on; the input checks should have stopped "
                         "the build before the models (see input_summary)")
    return frame


def _at_version(table: pd.DataFrame, version: int | None) -> pd.DataFrame:
    return table[table["model_version"] == version] if version is not None else table.iloc[0:0]


def _nothing_new(existing) -> pd.DataFrame:
    """What an incremental artifact appends in a score run: nothing (its own columns, no rows)."""
    if existing is None:
        raise ValueError("segment_mode score needs saved models; run a build with segment_mode: refit first")
    return frames.empty_like(existing)


# ------------------------------------------------------------------ preprocessing model
def _native_libraries(fitting: bool = True) -> None:
    """Load scikit-learn's and SciPy's native libraries before `threadpool_limits`, which caps
    only the thread pools already loaded. Scoring needs scikit-learn not at all, so the
    algorithm modules import it where they fit, and this loads it first."""
    import scipy.spatial  # noqa: F401  (k-d trees: scoring the density model)

    if fitting:
        import scipy.cluster.hierarchy  # noqa: F401
        import scipy.optimize  # noqa: F401
        import sklearn.cluster  # noqa: F401
        import sklearn.mixture  # noqa: F401
        import sklearn.neighbors  # noqa: F401


def fit_preprocessing(ctx: RunContext, sample_relation, parameters_relation, existing=None) -> pd.DataFrame:
    """segment_preprocessing (incremental, one version per refit): one row per model column
    (how to rebuild it, PCA loadings). A score run appends nothing."""
    if not ctx.refit:
        return _nothing_new(existing)
    frame = _sample_frame(sample_relation)
    params = frames.to_pandas(parameters_relation)
    params = _at_version(params, ctx.version_at(params["model_version"]))
    caps = {k: (None if pd.isna(v) else float(v)) for k, v in zip(params["column_name"], params["cap_value"])}
    _native_libraries()
    with threadpool_limits(limits=1):
        pre = Preprocessor(FeatureSpec.from_contract(ctx.contract, caps)).fit(frame)
    out = pre.to_frame()
    out.insert(0, "model_version", np.int32(ctx.model_version))
    out.insert(0, "run_id", ctx.run_id)
    return out


def preprocessors(preprocessing_relation, versions) -> dict[int, Preprocessor]:
    """The preprocessing of each given model version (from segment_preprocessing)."""
    table = frames.to_pandas(preprocessing_relation)
    return {int(v): Preprocessor.from_frame(_at_version(table, int(v))) for v in set(versions)
            if (table["model_version"] == int(v)).any()}


def model_spaces(pre: Preprocessor, data) -> Spaces:
    X = pre.transform(data)
    return Spaces(X, pre.reduce(X))


# ------------------------------------------------------------------ algorithm models
MODEL_RECORD_COLUMNS = [
    "run_id", "model_version", "preprocessing_version", "previous_version", "algorithm", "algorithm_label",
    "fit_space", "n_segments", "has_noise_segment", "segment_ids_json", "kept_ids_json", "new_ids_json",
    "retired_ids_json", "next_segment_id", "parameters_json", "model_json", "k_selection_json", "fit_sample_size",
    "evaluation_sample_size", "silhouette", "davies_bouldin", "calinski_harabasz", "stability_ari",
    "stability_resamples", "fit_seconds", "evaluation_seconds", "fitted_at",
]


MODEL_RECORD_DTYPES = {
    "run_id": "object", "model_version": "Int32", "preprocessing_version": "Int32", "previous_version": "Int32",
    "n_segments": "int64", "has_noise_segment": "bool", "next_segment_id": "int64", "fit_sample_size": "int64",
    "evaluation_sample_size": "int64", "silhouette": "float64", "davies_bouldin": "float64",
    "calinski_harabasz": "float64", "stability_ari": "float64", "stability_resamples": "int64",
    "fit_seconds": "float64", "evaluation_seconds": "float64", "fitted_at": "datetime64[us]",
}


def model_record(algorithm: str, result: FitResult, ctx: RunContext, preprocessing_version: int,
                 previous_version: int | None, model: SegmentModel, match: IdMatch) -> pd.DataFrame:
    """The one-row table an algorithm model appends."""
    row = {
        "run_id": ctx.run_id,
        "model_version": ctx.model_version,
        "preprocessing_version": preprocessing_version,
        "previous_version": previous_version,
        "algorithm": algorithm,
        "algorithm_label": ALGORITHM_LABELS[algorithm],
        "fit_space": model.space,
        "n_segments": int(model.n_segments),
        "has_noise_segment": bool(model.has_noise),
        "segment_ids_json": json.dumps(model.segments()),
        "kept_ids_json": json.dumps(sorted(match.kept)),
        "new_ids_json": json.dumps(match.new),
        "retired_ids_json": json.dumps(match.retired),
        "next_segment_id": int(match.next_id),
        "parameters_json": json.dumps(result.parameters, sort_keys=True),
        "model_json": model.to_json(),
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
    for col in ("model_version", "preprocessing_version", "previous_version"):
        frame[col] = frame[col].astype("Int32")
    return frame


def _previous_fit(ctx: RunContext, rows: pd.DataFrame | None, preprocessing: pd.DataFrame,
                  frame: pd.DataFrame, pre: Preprocessor) -> tuple[PreviousFit | None, pd.Series | None]:
    """The previous usable version among one algorithm's saved rows, and what it says about
    the fit sample."""
    if rows is None or not len(rows):
        return None, None
    version = ctx.version_at(rows["model_version"].dropna(), below=True)
    if version is None:
        return None, None
    row = rows[rows["model_version"] == version].iloc[-1]
    pre_rows = _at_version(preprocessing, int(row["preprocessing_version"]))
    if not len(pre_rows) or not set(pre_rows["source_column"]) <= set(frame.columns):
        return None, row            # the input lost a column the previous version used: a fresh fit
    previous_pre = Preprocessor.from_frame(pre_rows)
    previous_model = SegmentModel.from_json(row["model_json"])
    assigned = previous_model.assign(model_spaces(previous_pre, frame))
    prototypes, prototype_segments = previous_model.refit_hints()
    carried = pre.carry(previous_pre, prototypes) if prototypes is not None else None
    return PreviousFit(assigned.segment_id, assigned.node, int(row["n_segments"]), json.loads(row["parameters_json"]),
                       prototype_segments, carried), row


def fit_threads() -> int:
    """Algorithms fitted side by side (each on one BLAS thread); env CUSTSEG_FIT_THREADS
    overrides the default of 2."""
    value = os.environ.get("CUSTSEG_FIT_THREADS")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"CUSTSEG_FIT_THREADS must be a positive integer, got {value!r}")
        return int(value)
    return 2


def _fit_one(algorithm: str, ctx: RunContext, rows: pd.DataFrame | None, preprocessing: pd.DataFrame,
             frame: pd.DataFrame, pre: Preprocessor, pre_version: int) -> pd.DataFrame:
    """One algorithm's new version: fit on the fit sample, starting from its previous
    version, keeping the ids of the segments that match it."""
    previous, previous_row = _previous_fit(ctx, rows, preprocessing, frame, pre)
    spaces = model_spaces(pre, frame)
    result = fit_algorithm(algorithm, spaces, ctx.settings, pre.explained_variance_ratio_, previous)
    fitted = result.model.labels(spaces)
    if previous is not None:
        match = match_ids(previous.labels, fitted, int(previous_row["next_segment_id"]))
    else:
        first = int(previous_row["next_segment_id"]) if previous_row is not None else 1
        ids = result.model.segments()
        match = match_ids(np.zeros_like(fitted), fitted, first) if first > 1 else \
            IdMatch({i: i for i in [0, *ids]}, {}, ids, [], max(ids, default=0) + 1)
    model = result.model.relabelled(match.mapping)
    return model_record(algorithm, result, ctx, pre_version, int(previous_row["model_version"])
                        if previous_row is not None else None, model, match)


def _typed_records(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[MODEL_RECORD_COLUMNS].astype({c: t for c, t in MODEL_RECORD_DTYPES.items()})


def legacy_model_rows(session, schema: str) -> pd.DataFrame | None:
    """The rows of the tables that held one algorithm each before segment_model_fits
    (<algorithm>_model, same columns), or None when there are none."""
    tables = frames.tables_named(session, schema, [f"{a}_model" for a in ALGORITHMS])
    return pd.concat([frames.to_pandas(t) for t in tables], ignore_index=True) if tables else None


def fit_models(ctx: RunContext, sample_relation, preprocessing_relation, existing=None, carried=None) -> pd.DataFrame:
    """segment_model_fits (incremental, one row per algorithm and version): every registered
    algorithm fitted on the fit sample, `fit_threads()` side by side, each starting from its
    previous version. A score run appends nothing.

    `carried`: the rows of the tables that held the models before this one (one per
    algorithm, <algorithm>_model), when this table is being created: they come first, so the
    saved versions survive the upgrade. Each fit keeps its numerical libraries to one thread:
    oversubscribing the cores made the build slower."""
    carried = _typed_records(carried) if carried is not None and len(carried) else None
    if not ctx.refit:
        return carried if carried is not None else _nothing_new(existing)
    saved = frames.to_pandas(existing) if existing is not None else None
    history = pd.concat([t for t in (saved, carried) if t is not None], ignore_index=True) \
        if saved is not None or carried is not None else None
    frame = _sample_frame(sample_relation)
    preprocessing = frames.to_pandas(preprocessing_relation)
    pre_version = ctx.version_at(preprocessing["model_version"])
    pre = Preprocessor.from_frame(_at_version(preprocessing, pre_version))
    _native_libraries()

    def fit(algorithm: str) -> pd.DataFrame:
        rows = history[history["algorithm"] == algorithm] if history is not None else None
        with threadpool_limits(limits=1):  # OpenMP's limit holds for the thread that sets it
            return _fit_one(algorithm, ctx, rows, preprocessing, frame, pre, pre_version)

    with threadpool_limits(limits=1):      # BLAS's is process-wide: set around every fit
        records = list(ordered_parallel_map(fit, ALGORITHMS, fit_threads()))
    return _typed_records(pd.concat([t for t in (carried, *records) if t is not None], ignore_index=True))


def load_models(models_relation) -> tuple[dict[str, SegmentModel], dict[str, int]]:
    """The run's fitted models (int_segment_models) and each one's preprocessing version."""
    rows = frames.to_pandas(models_relation, columns=["algorithm", "model_json", "preprocessing_version"])
    rows = rows[rows["algorithm"].isin(ALGORITHMS)]        # not the rule-based RFM segments
    models = {a: SegmentModel.from_json(text) for a, text in zip(rows["algorithm"], rows["model_json"])}
    missing = [a for a in ALGORITHMS if a not in models]
    if missing:
        raise ValueError(f"fitted models missing for: {', '.join(missing)}")
    return models, {a: int(v) for a, v in zip(rows["algorithm"], rows["preprocessing_version"])}


def model_parameters(ctx: RunContext, models_relation, existing=None) -> pd.DataFrame:
    """segment_model_parameters (incremental): the fitted parameters of this run's new
    version as rows (centres, SOM weights, core customers, mixture parameters), so any SQL
    engine or BI tool can read them. A score run appends nothing."""
    if not ctx.refit:
        return _nothing_new(existing)
    rows = frames.to_pandas(models_relation, columns=["algorithm", "model_version", "model_json"])
    parts = []
    for algorithm, version, text in zip(rows["algorithm"], rows["model_version"], rows["model_json"]):
        if int(version) != ctx.model_version or algorithm not in ALGORITHMS:
            continue
        part = pd.DataFrame(SegmentModel.from_json(text).parameter_rows(),
                            columns=["parameter", "segment_id", "prototype", "row_index", "column_index", "value"])
        part.insert(0, "algorithm", algorithm)
        part.insert(0, "model_version", int(version))
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    for col in ("model_version", "segment_id", "prototype", "row_index", "column_index"):
        out[col] = out[col].astype("Int32")
    out["value"] = out["value"].astype("float64")
    return out


# ------------------------------------------------------------------ rule-based RFM segments
RFM_LABEL = "RFM rules"


def rfm_record(ctx: RunContext, sample_relation, preprocessing_relation, segments_relation,
               rules_relation) -> pd.DataFrame:
    """rfm_model: the RFM segments (int_rfm_segments, from the rule table) described like a
    fitted model, so segment_metrics compares them with the learned ones: the same
    silhouette, Davies-Bouldin and Calinski-Harabasz on the same evaluation sample, in the
    same model space. No rows when the input is not a transaction log."""
    segments = frames.to_pandas(segments_relation)
    if not len(segments):
        return pd.DataFrame({c: pd.Series(dtype=MODEL_RECORD_DTYPES.get(c, "object")) for c in MODEL_RECORD_COLUMNS})
    from .metrics import scan_qualities

    started = time.perf_counter()
    s = ctx.settings
    frame = _sample_frame(sample_relation).head(s.evaluation_sample_size)
    frame = frame.merge(segments[["customer_id", "segment_id"]], on="customer_id", how="inner", sort=False)
    preprocessing = frames.to_pandas(preprocessing_relation)
    pre_version = ctx.version_at(preprocessing["model_version"])
    pre = Preprocessor.from_frame(_at_version(preprocessing, pre_version))
    labels = frame["segment_id"].to_numpy()
    _native_libraries()
    with threadpool_limits(limits=1):
        q = scan_qualities(pre.transform(frame), [labels], s.silhouette_sample_size)[0] \
            if len(np.unique(labels)) > 1 else None
    rules = frames.to_pandas(rules_relation).sort_values("segment_id")
    used = sorted(int(i) for i in segments["segment_id"].unique())
    row = {
        "run_id": ctx.run_id, "model_version": ctx.model_version, "preprocessing_version": pre_version,
        "previous_version": None, "algorithm": "rfm", "algorithm_label": RFM_LABEL, "fit_space": "rules",
        "n_segments": len(used), "has_noise_segment": False, "segment_ids_json": json.dumps(used),
        "kept_ids_json": "[]", "new_ids_json": "[]", "retired_ids_json": "[]",
        "next_segment_id": int(rules["segment_id"].max()) + 1,
        "parameters_json": json.dumps({"rules": "R x F score map, src/custseg/seeds/rfm_segments.csv",
                                       "scores": "quintiles over every customer: 1 + floor(5 x percent rank), "
                                                 "ties share the lower score"}),
        "model_json": json.dumps({"rules": rules.to_dict(orient="records")}, default=str),
        "k_selection_json": "[]", "fit_sample_size": 0, "evaluation_sample_size": int(len(frame)),
        "silhouette": q.silhouette if q else None, "davies_bouldin": q.davies_bouldin if q else None,
        "calinski_harabasz": q.calinski_harabasz if q else None, "stability_ari": None, "stability_resamples": 0,
        "fit_seconds": 0.0, "evaluation_seconds": time.perf_counter() - started,
        "fitted_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
    }
    out = pd.DataFrame([row], columns=MODEL_RECORD_COLUMNS)
    return out.astype({c: t for c, t in MODEL_RECORD_DTYPES.items()})


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


def score_batch(batch: pa.RecordBatch, pres: dict[int, Preprocessor], models: dict[str, SegmentModel],
                versions: dict[str, int], view_version: int) -> pa.RecordBatch:
    """One batch of customers in, their PCA coordinates and every algorithm's segment out.
    Each algorithm sees the batch through its own version's preprocessing (one, normally)."""
    spaces = {v: model_spaces(pre, batch) for v, pre in pres.items()}
    view = pres[view_version].project(spaces[view_version].full)
    n = batch.num_rows
    columns = [batch.column("customer_id").cast(pa.string())]
    for i in range(3):
        columns.append(pa.array(view[:, i] if view.shape[1] > i else np.zeros(n), pa.float64()))
    for algorithm in ALGORITHMS:
        assigned = models[algorithm].assign(spaces[versions[algorithm]])
        columns.append(pa.array(assigned.segment_id, pa.int32()))
        columns.append(pa.array(assigned.distance, pa.float64(), from_pandas=True))   # NaN -> NULL
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


def score_customers(ctx: RunContext, features_relation, preprocessing_relation, models_relation):
    """int_customer_scores: every customer, streamed through the run's models in Arrow
    batches of `assign_batch_rows`, so memory stays flat however many customers there are.
    On DuckDB, batches are scored on `scoring_threads()` threads, single-threaded BLAS each
    (an Arrow RecordBatchReader); on Spark, by the engine's batch map (a Spark DataFrame)."""
    models, versions = load_models(models_relation)
    pres = preprocessors(preprocessing_relation, versions.values())
    _native_libraries(fitting=False)
    columns = list(dict.fromkeys(c for pre in pres.values() for c in pre.source_columns))
    view = versions[ctx.settings.primary_algorithm]
    columns = ["customer_id", *columns]

    def score(batch: pa.RecordBatch) -> pa.RecordBatch:
        return score_batch(batch, pres, models, versions, view)

    if frames.engine_of(features_relation) == "spark":   # Spark's executors score their partitions
        return frames.spark_map_batches(features_relation, columns, score, SCORE_SCHEMA)
    return _stream(features_relation, columns, ctx.settings.assign_batch_rows, score, SCORE_SCHEMA)


# ------------------------------------------------------------------ naming
def name_segments(ctx: RunContext, feature_stats_relation, models_relation, rules_relation=None) -> pd.DataFrame:
    """segment_names: one row per algorithm and segment. A segment keeps the name it was saved
    with for its model version (segment_name_versions); in a new version, a segment that kept
    its id keeps the previous version's name; only new segments get new names."""
    models = frames.to_pandas(models_relation, columns=["algorithm", "model_version", "previous_version",
                                                        "kept_ids_json"])
    saved = pd.DataFrame(list(ctx.saved_names), columns=["model_version", "algorithm", "segment_id", "segment_name"])
    keep: dict[tuple[str, int], str] = {}
    for r in models.itertuples(index=False):
        mine = saved[(saved["algorithm"] == r.algorithm) & (saved["model_version"] == r.model_version)]
        if len(mine):
            keep.update({(r.algorithm, int(i)): n for i, n in zip(mine["segment_id"], mine["segment_name"])})
        elif not pd.isna(r.previous_version):
            kept = set(json.loads(r.kept_ids_json))
            before = saved[(saved["algorithm"] == r.algorithm) & (saved["model_version"] == r.previous_version)
                           & saved["segment_id"].isin(kept)]
            keep.update({(r.algorithm, int(i)): n for i, n in zip(before["segment_id"], before["segment_name"])})
    if rules_relation is not None and "rfm" in set(models["algorithm"]):
        rules = frames.to_pandas(rules_relation)
        keep.update({("rfm", int(i)): n for i, n in zip(rules["segment_id"], rules["segment_name"])})
    names = name_all(frames.to_pandas(feature_stats_relation), ctx.contract, keep)
    names["segment_id"] = names["segment_id"].astype("int32")
    names = names.merge(models[["algorithm", "model_version"]], on="algorithm", how="left")
    names["model_version"] = names["model_version"].astype("int32")
    names.insert(0, "run_id", ctx.run_id)
    return names


# ------------------------------------------------------------------ report
def silhouette_values(ctx: RunContext, sample_relation, preprocessing_relation, models_relation,
                      scores_relation) -> pd.DataFrame:
    """report_silhouette: each customer's silhouette in its primary-algorithm segment, on the
    customers segment_metrics averages over (the head of the fit sample; noise left out), so
    the report's silhouette plot and the metric agree."""
    from .metrics import silhouette_values as values

    s = ctx.settings
    frame = _sample_frame(sample_relation).head(s.evaluation_sample_size)
    scores = frames.to_pandas(frames.semi_join(scores_relation, sample_relation, "customer_id"),
                              columns=["customer_id", f"{s.primary_algorithm}_segment_id"]).rename(
        columns={f"{s.primary_algorithm}_segment_id": "segment_id"})
    frame = frame.merge(scores, on="customer_id", how="inner", sort=False)
    if REGISTRY[s.primary_algorithm].model.has_noise:
        frame = frame[frame["segment_id"] != NOISE_SEGMENT]
    frame = frame.head(s.silhouette_sample_size)
    models, versions = load_models(models_relation)
    pre = preprocessors(preprocessing_relation, [versions[s.primary_algorithm]])[versions[s.primary_algorithm]]
    labels = frame["segment_id"].to_numpy()
    _native_libraries()
    with threadpool_limits(limits=1):
        sil = values(pre.transform(frame), labels) if len(np.unique(labels)) > 1 else np.zeros(len(frame))
    return pd.DataFrame({"run_id": ctx.run_id, "customer_id": frame["customer_id"].astype(str),
                         "segment_id": labels.astype("int32"), "silhouette": sil.astype("float64")})
