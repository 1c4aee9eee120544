"""The visual report: one self-contained HTML page (and PNGs for slides) from the tables.

    python -m custseg.report [--database customer_segmentation.serving.duckdb] [--out-dir reports]

Reads the serving database (the last published run; see custseg.serving) read-only, so it
never blocks a build or a BI tool and can be rerun without rebuilding. It only reads the
marts and the report models (models/report): counts, histograms, box plots, correlations
and profiles are SQL aggregates over every customer; only the scatter plots draw a sample
of points (`report_max_points`, default 5,000: the first customers of the fit sample, a
deterministic random sample), so the page stays small whatever the number of customers.
Every chart draws only what the input has. The page embeds plotly.js once and requests
nothing from any host.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from . import charts
from .algorithms import ALGORITHM_LABELS, REGISTRY, ReportFigure, SegmentModel
from .escaping import html_text, script_json
from .settings import Settings
from .sql import sql_literal

#: Tables the report reads (the serving database holds them all).
REPORT_TABLES = ["segmentation_config", "input_columns", "input_summary", "report_data_quality",
                 "report_feature_distributions", "report_correlations", "report_points", "report_silhouette",
                 "segment_profiles", "segment_feature_profiles", "segment_category_profiles", "segment_metrics",
                 "segment_k_selection", "som_nodes", "segment_models"]
CARD_FEATURES = 6


class ReportError(RuntimeError):
    """A problem the user can act on (missing database, tables not built)."""


@dataclass
class ReportData:
    settings: Settings
    meta: dict
    columns: pd.DataFrame
    quality: pd.DataFrame
    distributions: pd.DataFrame
    correlations: pd.DataFrame
    points: pd.DataFrame
    silhouette: pd.DataFrame
    candidates: pd.DataFrame
    profiles: pd.DataFrame
    feature_profiles: pd.DataFrame
    category_profiles: pd.DataFrame
    metrics: pd.DataFrame
    som_nodes: pd.DataFrame
    models: pd.DataFrame
    explained_variance: list[float]
    labels: dict[str, str] = field(default_factory=dict)     # feature -> label
    transforms: dict[str, str] = field(default_factory=dict)  # feature -> transform
    names: dict[str, dict[int, str]] = field(default_factory=dict)
    migrations: pd.DataFrame = field(default_factory=pd.DataFrame)   # this run against the previous one
    crosstab: pd.DataFrame = field(default_factory=pd.DataFrame)     # RFM rules against the primary algorithm


def connect(database: Path) -> duckdb.DuckDBPyConnection:
    if not database.exists():
        raise ReportError(f"no database at {database}: run `make build` (or dbt build) first")
    try:
        return duckdb.connect(str(database), read_only=True)
    except duckdb.IOException as err:
        raise ReportError(f"cannot open {database} read-only ({err}); is dbt still writing it? "
                          "Run the report when the build has finished") from err


def load(con: duckdb.DuckDBPyConnection) -> ReportData:
    """Everything the page shows, from the marts and report models (no ad-hoc statistics)."""
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    missing = [t for t in REPORT_TABLES if t not in tables]
    if missing:
        raise ReportError(f"tables missing from the database: {', '.join(missing)}; run `make build` first")

    def df(sql: str) -> pd.DataFrame:
        return con.execute(sql).df()

    config = con.execute("select settings_json, contract_json, input_label, run_started_at from segmentation_config"
                         ).fetchall()[0]
    settings = Settings.from_json(config[0])
    contract = json.loads(config[1])
    labels = {c["name"]: c["label"] for c in contract["columns"]}
    labels.update({d["name"]: d["label"] for d in contract["derived"]})
    order = ", ".join(sql_literal(a) for a in ALGORITHM_LABELS)
    profiles = df(f"select * from segment_profiles order by list_position([{order}], algorithm), segment_id")
    summary = df("select * from input_summary").iloc[0]
    models = df("select algorithm, n_segments, model_json, parameters_json from segment_models")
    # the preprocessing version the primary algorithm's model was fitted with (the table keeps them all)
    version = (f"where model_version = (select preprocessing_version from segment_models "
               f"where algorithm = {sql_literal(settings.primary_algorithm)})")
    evr_rows = con.execute(f"select explained_variance_ratios from segment_preprocessing {version} limit 1"
                           ).fetchall() if "segment_preprocessing" in tables else []
    transforms = dict(con.execute(f"select source_column, any_value(transform) from segment_preprocessing {version} "
                                  "group by source_column").fetchall()) if "segment_preprocessing" in tables else {}
    run_id = str(df("select run_id from segment_metrics limit 1").iloc[0, 0])
    migrations = df(f"select * from segment_migrations where to_run_id = {sql_literal(run_id)}") \
        if "segment_migrations" in tables else pd.DataFrame()
    crosstab = df("select * from report_segment_crosstab") if "report_segment_crosstab" in tables else pd.DataFrame()
    names = {a: dict(zip(g["segment_id"].astype(int), g["segment_name"])) for a, g in profiles.groupby("algorithm")}
    points = df("select * from report_points order by sample_rank")
    meta = {
        "input": config[2],
        "run_started_at": str(config[3]),
        "run_id": run_id,
        "rows_in": int(summary["input_rows"]),
        "customers": int(summary["clean_customers"]),
        "primary": settings.primary_algorithm,
        "points": int(len(points)),
        "warnings": contract.get("warnings", []),
    }
    return ReportData(
        settings, meta,
        columns=df("select * from input_columns order by position"),
        quality=df("select * from report_data_quality order by section, position, row_count desc, item"),
        distributions=df("select * from report_feature_distributions order by feature, bin"),
        correlations=df("select * from report_correlations"),
        points=points,
        silhouette=df("select * from report_silhouette"),
        candidates=df(f"select * from segment_k_selection order by list_position([{order}], algorithm), k"),
        profiles=profiles,
        feature_profiles=df("select * from segment_feature_profiles"),
        category_profiles=df("select * from segment_category_profiles"),
        metrics=df("select * from segment_metrics"),
        som_nodes=df("select * exclude (weights) from som_nodes order by algorithm, som_node_id"),
        models=models,
        explained_variance=list(evr_rows[0][0]) if evr_rows else [],
        labels=labels, transforms=transforms, names=names, migrations=migrations, crosstab=crosstab,
    )


# --------------------------------------------------------------------------- page
CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#1f3a5f;color:#fff;padding:22px 32px}
header h1{margin:0 0 6px;font-size:24px} header p{margin:2px 0;opacity:.9;font-size:14px}
nav{background:#fff;border-bottom:1px solid #ddd;padding:8px 32px;position:sticky;top:0;z-index:5}
nav a{margin-right:16px;color:#1f3a5f;text-decoration:none;font-size:14px}
main{padding:8px 32px 40px;max-width:1500px}
section{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:16px 20px;margin:18px 0}
h2{margin:0 0 8px;font-size:19px;color:#1f3a5f} h3{font-size:15px;margin:16px 0 4px}
.caption{color:#555;font-size:13px;margin:2px 0 10px}
.figure svg{max-width:100%;height:auto}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:6px 0 14px}
.kpi{background:#f0f4fa;border-radius:6px;padding:8px 14px;min-width:130px}
.kpi b{display:block;font-size:20px;color:#1f3a5f} .kpi span{font-size:12px;color:#555}
table.columns td{text-align:left} ul.warnings{color:#8a4b00;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:12px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:12px}
.card{border:1px solid #e2e4e8;border-left:6px solid #999;border-radius:6px;padding:10px 14px}
.card h4{margin:0 0 4px;font-size:15px} .card p{margin:4px 0;font-size:13px;color:#333}
.card table{font-size:12px;border-collapse:collapse;margin-top:6px} .card td{padding:1px 10px 1px 0}
table.metrics{border-collapse:collapse;font-size:13px}
table.metrics th,table.metrics td{border-bottom:1px solid #e6e6e6;padding:5px 10px;text-align:right}
table.metrics th:first-child,table.metrics td:first-child{text-align:left}
details{margin:8px 0} summary{cursor:pointer;color:#1f3a5f}
footer{color:#777;font-size:12px;padding:0 32px 30px}
"""


def _figure(svg: str, caption: str, title: str | None = None) -> str:
    head = f"<h3>{html_text(title)}</h3>" if title else ""
    return f'{head}<p class="caption">{html_text(caption)}</p><div class="figure">{svg}</div>'


def _kpis(items: list[tuple[str, str]]) -> str:
    return '<div class="kpis">' + "".join(
        f'<div class="kpi"><b>{html_text(v)}</b><span>{html_text(k)}</span></div>' for k, v in items) + "</div>"


def _metrics_table(metrics: pd.DataFrame) -> str:
    order = {a: i for i, a in enumerate(ALGORITHM_LABELS)}
    m = metrics.sort_values("algorithm", key=lambda s: s.map(order))
    head = ["Algorithm", "Segments", "Silhouette", "Davies-Bouldin", "Calinski-Harabasz", "Inertia",
            "Noise", "Stability (ARI)", "Fit sample", "Fit seconds"]

    def num(v, fmt):
        return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else fmt.format(v)

    rows = []
    for r in m.itertuples(index=False):
        label = html_text(r.algorithm_label) + (" <b>(primary)</b>" if r.is_primary else "")
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in [
            label, r.n_segments, num(r.silhouette, "{:.3f}"), num(r.davies_bouldin, "{:.2f}"),
            num(r.calinski_harabasz, "{:,.0f}"), num(r.inertia, "{:,.0f}"), num(r.noise_share, "{:.1%}"),
            num(r.stability_ari, "{:.3f}"), f"{r.fit_sample_size:,}", num(r.fit_seconds, "{:.1f}")]) + "</tr>")
    return ('<table class="metrics"><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
            + "".join(rows) + "</table>")


def _value_text(kind: str, value) -> str:
    if value is None or pd.isna(value):
        return "–"
    if kind in ("share", "flag"):
        return f"{value:.0%}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.2f}"


def _cards(profiles: pd.DataFrame, features: pd.DataFrame) -> str:
    """One card per segment: name, size, description, and its most distinctive measures
    (largest effect sizes) with the segment mean and the population's."""
    out = []
    for r in profiles.sort_values("segment_id").itertuples(index=False):
        mine = features[features["segment_id"] == r.segment_id].copy()
        mine["strength"] = mine["effect_size"].abs()
        top = mine.sort_values(["strength", "feature"], ascending=[False, True]).head(CARD_FEATURES)
        numbers = "".join(
            f"<tr><td>{html_text(str(f.feature_label))}</td><td><b>{_value_text(f.kind, f.mean_value)}</b></td>"
            f"<td>avg {_value_text(f.kind, f.population_mean)}</td></tr>"
            for f in top.itertuples(index=False))
        out.append(
            f'<div class="card" style="border-left-color:{charts.segment_color(int(r.segment_id), r.segment_name)}">'
            f"<h4>{html_text(r.segment_name)}</h4>"
            f"<p><b>{int(r.customers):,}</b> customers ({r.share:.1%}) · segment {int(r.segment_id)}</p>"
            f"<p>{html_text(r.segment_description)}</p><table>{numbers}</table></div>")
    return '<div class="cards">' + "".join(out) + "</div>"


def _transactions_block(quality: pd.DataFrame) -> str:
    """For a transaction log: where its lines went and why lines were rejected."""
    stages = quality[quality["section"] == "transaction_stage"]
    if not len(stages):
        return ""
    reasons = quality[quality["section"] == "transaction_reason"].sort_values("row_count", ascending=False)
    listed = ", ".join(f"{html_text(str(r.item))} {int(r.row_count):,}" for r in reasons.itertuples())
    return ("<h3>Transaction lines</h3>" + _kpis([(str(r.item).lower(), f"{int(r.row_count):,}")
                                                 for r in stages.sort_values("position").itertuples()])
            + (f'<p class="caption">Rejected lines by first reason (rejected_transactions): {listed}. Guest lines '
               "(no customer id) do not count toward max_rejected_share. The customers below are built from the "
               "used lines.</p>" if listed else "") + "<h3>Customers</h3>")


def _changes_section(moves: pd.DataFrame, figure: str, meta: dict) -> str:
    """Since the previous run: who stayed, moved, arrived and left (primary algorithm)."""
    came = moves["from_segment_id"].isna()
    left = moves["to_segment_id"].isna()
    both = ~came & ~left
    stayed = int(moves.loc[both & (moves["from_segment_id"] == moves["to_segment_id"]), "customers"].sum())
    moved = int(moves.loc[both & (moves["from_segment_id"] != moves["to_segment_id"]), "customers"].sum())
    previous = html_text(str(moves["from_run_id"].iloc[0]))
    return (f'<section id="changes"><h2>Changes since the last run</h2>'
            f'<p class="caption">Run {previous} against run {html_text(meta["run_id"])}.</p>'
            + _kpis([("stayed", f"{stayed:,}"), ("moved", f"{moved:,}"),
                     ("new customers", f"{int(moves.loc[came, 'customers'].sum()):,}"),
                     ("left", f"{int(moves.loc[left, 'customers'].sum()):,}")])
            + figure + "</section>")


def _columns_table(columns: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr><td>{html_text(str(c.source_column))}</td><td>{html_text(str(c.role))}</td>"
        f"<td>{html_text(str(c.kind) if c.kind is not None and not pd.isna(c.kind) else '')}</td>"
        f"<td>{html_text(str(c.reason))}</td></tr>" for c in columns.itertuples(index=False))
    return ('<table class="metrics columns"><tr><th>Column</th><th>Role</th><th>Kind</th><th>Why</th></tr>'
            + rows + "</table>")


@dataclass(frozen=True)
class FigureJob:
    """One static figure: which chart function draws it, from what, and where it goes."""

    name: str
    chart: str          # function name in custseg.charts
    args: tuple
    png: str | None     # file name under figures/, or None for page-only figures
    svg: bool = True    # inline it in the page


def _draw(job: FigureJob, figures_dir: str | None) -> tuple[str, str | None]:
    fig = getattr(charts, job.chart)(*job.args)
    svg = charts.to_svg(fig, job.name) if job.svg else None
    if job.png and figures_dir is not None:
        charts.save_png(fig, Path(figures_dir) / job.png)
    charts.plt.close(fig)
    return job.name, svg


def draw_all(jobs: list[FigureJob], figures_dir: Path | None, workers: int) -> dict[str, str | None]:
    """Draw figures, in `workers` processes when more than one (matplotlib rendering is
    the report's main cost and is CPU-bound)."""
    target = str(figures_dir) if figures_dir is not None else None
    if workers <= 1:
        return dict(_draw(job, target) for job in jobs)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # biggest first, so the two workers finish together
    ordered = sorted(jobs, key=lambda j: -JOB_COST.get(j.chart, 1))
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return dict(pool.map(_draw, ordered, [target] * len(ordered)))


JOB_COST = {"pair_plot": 5, "correlation_heatmap": 4, "distributions": 4, "k_selection": 3, "data_quality": 3,
            "profile_heatmap": 2, "segment_sizes": 2, "som_maps": 2}


def _section_frames(data: ReportData) -> dict:
    """The frames the static charts take, shaped from the report tables."""
    q = data.quality
    stages = q[q["section"] == "stage"].rename(columns={"item": "stage", "row_count": "rows"})[["stage", "rows"]]
    items = {sec: q[q["section"] == sec][["item", "row_count"]].rename(columns={"row_count": "n"})
             .reset_index(drop=True) for sec in ("reason", "imputed", "outlier")}
    d = data.distributions
    histograms, box_rows = {}, []
    for feature, part in d.groupby("feature", sort=False):
        label = data.labels.get(feature, feature)
        histograms[label] = part[["bin", "bin_start", "bin_end", "customers"]].reset_index(drop=True)
        first = part.iloc[0]
        box_rows.append({"feature": label, "p01": first["p01"], "q25": first["q25"], "q50": first["q50"],
                         "q75": first["q75"], "p99": first["p99"]})
    boxes = pd.DataFrame(box_rows).set_index("feature") if box_rows else pd.DataFrame()
    log_features = {data.labels.get(f, f) for f in d["feature"].unique()
                    if data.transforms.get(f) in ("log1p", "signed_log1p")}
    c = data.correlations
    corr = c.pivot(index="feature_a", columns="feature_b", values="correlation") if len(c) else pd.DataFrame()
    if len(corr):
        order = list(dict.fromkeys(c["feature_a"]))
        corr = corr.loc[order, order].rename(index=data.labels, columns=data.labels)
    return {"stages": stages, **items, "histograms": histograms, "boxes": boxes, "log_features": log_features,
            "correlation": corr}


def _pair_points(data: ReportData) -> tuple[pd.DataFrame, list[str]]:
    p = data.points
    features = []
    frame = p[["customer_id"] + [c for c in p.columns if c.endswith("_segment_id")]].copy()
    for i in range(1, 5):
        name = p[f"feature_{i}"].dropna()
        if len(name):
            label = data.labels.get(name.iloc[0], name.iloc[0])
            frame[label] = p[f"value_{i}"]
            features.append(label)
    return frame, features


def _model_figures(data: ReportData, algorithms: list[str]) -> list[ReportFigure]:
    """The figures each algorithm adds for its model (Segmenter.report_figures: the SOM's
    maps, the Ward dendrogram), in registry order."""
    out: list[ReportFigure] = []
    nodes = data.som_nodes
    for a in algorithms:
        rows = data.models[data.models["algorithm"] == a]
        if len(rows):
            mine = nodes[nodes["algorithm"] == a] if "algorithm" in nodes.columns else nodes.iloc[0:0]
            out += REGISTRY[a].report_figures(SegmentModel.from_json(rows.iloc[0]["model_json"]), data.names[a], mine)
    return out


def render(data: ReportData, figures_dir: Path | None, workers: int | None = None) -> str:
    """The HTML page; with `figures_dir`, also writes the main figures there as PNG."""
    s, meta = data.settings, data.meta
    primary = s.primary_algorithm
    labels = ALGORITHM_LABELS
    seg_col = f"{primary}_segment_id"
    frames_ = _section_frames(data)
    pair_points, pair_features = _pair_points(data)
    sil = data.silhouette
    algorithms = [a for a in ALGORITHM_LABELS if a in data.names]
    model_figures = _model_figures(data, algorithms)
    scale_note = ("amounts, counts and ratios on a log1p scale, as the models see them"
                  if frames_["log_features"] else "on the scale the models see them")

    jobs = [FigureJob("data_quality", "data_quality", (frames_["stages"], frames_["reason"], frames_["imputed"],
                                                        frames_["outlier"]), "data_quality.png")]
    if frames_["histograms"]:
        jobs.append(FigureJob("distributions", "distributions",
                              (frames_["histograms"], frames_["boxes"], frames_["log_features"]), "distributions.png"))
    if len(frames_["correlation"]) > 1:
        jobs.append(FigureJob("correlation", "correlation_heatmap", (frames_["correlation"],), None))
    if len(pair_features) >= 2:
        jobs.append(FigureJob("pair_plot", "pair_plot", (pair_points, pair_features, seg_col, data.names[primary],
                                                         frames_["log_features"]), None))
    if len(data.candidates):
        jobs.append(FigureJob("k_selection", "k_selection", (data.candidates, labels), "k_selection.png"))
    if len(sil):
        jobs.append(FigureJob("silhouette", "silhouette_plot",
                              (sil["silhouette"].to_numpy(), sil["segment_id"].to_numpy(), data.names[primary],
                               float(sil["silhouette"].mean()),
                               f"{labels[primary]}: silhouette of {len(sil):,} customers"), "silhouette.png"))
    jobs += [
        FigureJob("segment_sizes", "segment_sizes", (data.profiles, labels), "segment_sizes.png"),
        FigureJob("pca_2d", "pca_scatter_png", (data.points, seg_col, data.names[primary],
                                               f"{labels[primary]} segments, PCA view"), "pca_2d.png", svg=False),
    ]
    jobs += [FigureJob(f.name, f.chart, f.args, f"{f.name}.png") for f in model_figures]
    moves = data.migrations[data.migrations["algorithm"] == primary] if len(data.migrations) else data.migrations
    if len(moves):
        jobs.append(FigureJob("migrations", "migration_matrix",
                              (moves, f"{labels[primary]}: moves since the previous run"),
                              "migrations.png"))
    if len(data.crosstab):
        jobs.append(FigureJob("rfm_crosstab", "crosstab_matrix",
                              (data.crosstab, f"RFM segments and {labels[primary]} segments",
                               "RFM segment (rules)", f"{labels[primary]} segment (learned)"), "rfm_crosstab.png"))
    fp = data.feature_profiles.copy()
    fp["label"] = fp["feature"].map(lambda f: data.labels.get(f, f))
    for algorithm in algorithms:
        part = fp[fp["algorithm"] == algorithm]
        if len(part):
            jobs.append(FigureJob(f"profile_heatmap_{algorithm}", "profile_heatmap",
                                  (part, f"{labels[algorithm]}: how far each segment sits from the average"),
                                  "profile_heatmap.png" if algorithm == primary else None))
    svgs = draw_all(jobs, figures_dir, workers if workers is not None else min(2, os.cpu_count() or 1))

    def fig(name: str, caption: str, title: str | None = None) -> str:
        return _figure(svgs[name], caption, title) if svgs.get(name) else ""

    specs = {}
    for a in algorithms:
        specs[f"pca2d_{a}"] = charts.pca_2d_spec(data.points, f"{a}_segment_id", data.names[a], labels[a])
    specs["pca3d"] = charts.pca_3d_spec(data.points, seg_col, data.names[primary],
                                        f"{labels[primary]} segments in the first three principal components")

    evr = data.explained_variance + [0.0, 0.0, 0.0]
    stages = dict(zip(frames_["stages"]["stage"], frames_["stages"]["rows"]))
    primary_metrics = data.metrics[data.metrics["algorithm"] == primary].iloc[0]
    primary_profiles = data.profiles[data.profiles["algorithm"] == primary]
    heatmaps = {a: svgs.get(f"profile_heatmap_{a}") for a in algorithms}
    other_heatmaps = "".join(
        f"<details><summary>{html_text(labels[a])}</summary><div class='figure'>{heatmaps[a]}</div></details>"
        for a in algorithms if a != primary and heatmaps[a])
    pca_divs = "".join(f'<div id="pca2d_{a}" class="plot"></div>' for a in algorithms)
    n_points = meta["points"]
    warnings = "".join(f"<li>{html_text(w)}</li>" for w in meta["warnings"])
    silhouette_caption = (
        f"Each bar is one customer's silhouette in its {labels[primary]} segment (1: clearly in it, 0: on a "
        "border, below 0: closer to another segment); the dashed line is the average reported in segment_metrics "
        f"({primary_metrics['silhouette']:.3f})." if pd.notna(primary_metrics["silhouette"]) else
        "The primary algorithm found a single segment: there is no silhouette to show.")
    imputed_total = int(frames_["imputed"]["n"].sum()) if len(frames_["imputed"]) else 0
    outlier_total = int(frames_["outlier"]["n"].sum()) if len(frames_["outlier"]) else 0

    body = f"""
<header>
  <h1>Customer segmentation report</h1>
  <p>Input: {html_text(meta['input'])} · run {html_text(meta['run_id'])}
     started {html_text(meta['run_started_at'])} UTC ·
     {meta['customers']:,} clean customers · primary algorithm: {html_text(labels[primary])}</p>
  <p>Counts, distributions, correlations and profiles use every customer; scatter plots draw
     {n_points:,} customers (a deterministic random sample, var report_max_points).</p>
</header>
<nav><a href="#input">Input</a><a href="#quality">Data quality</a><a href="#exploration">Exploration</a>
<a href="#k">Choosing k</a><a href="#pca">PCA views</a><a href="#segments">Segments</a>
{'<a href="#models">Inside the models</a>' if model_figures else ''}\
{'<a href="#changes">Changes</a>' if len(moves) else ''}<a href="#comparison">Algorithms</a></nav>
<main>
<section id="input"><h2>Input</h2>
<p class="caption">What each column of the input became (input_columns): the customer id, features the segments are
made from, measures profiled per segment, categorical attributes, ignored and dropped columns, and why.</p>
{'<ul class="warnings">' + warnings + '</ul>' if warnings else ''}
<details><summary>{len(data.columns)} columns</summary>{_columns_table(data.columns)}</details>
</section>
<section id="quality"><h2>Data quality</h2>
{_kpis([("input rows", f"{stages.get('Input rows', 0):,}"),
        ("clean customers", f"{stages.get('Clean customers', 0):,}"),
        ("duplicates collapsed", f"{stages.get('Duplicates collapsed', 0):,}"),
        ("rows rejected", f"{stages.get('Rejected', 0):,}"),
        ("values imputed", f"{imputed_total:,}"), ("outliers capped", f"{outlier_total:,}")])}
{_transactions_block(data.quality)}
{fig('data_quality', "Every input row ends as a clean customer, a collapsed exact duplicate or a rejected row "
    "(see rejected_customers for each row's reason); imputed values and outliers (capped in the model space) are "
    "counted per column.")}
</section>
<section id="exploration"><h2>Exploration</h2>
{fig('distributions', "Histogram (bars) and box plot (box: quartiles, whiskers: 1st to 99th percentile) of the "
    f"features that weigh most in the segments, over every clean customer; {scale_note}.", "Distributions")}
{fig('correlation', "Pearson correlation of the clustered features over every customer, on the models' scale: "
    "red pairs move together, blue pairs move in opposite directions.", "Correlations")}
{fig('pair_plot', f"Pairs of leading features for {n_points:,} sampled customers, coloured by {labels[primary]} "
    "segment; the diagonal shows each feature's histogram.", "Pair plot")}
</section>
<section id="k"><h2>Choosing k</h2>
{fig('k_selection', "Top: the elbow criterion against k (circled: its elbow). Bottom: silhouette against k "
    "(higher = better separated). The dashed line is the chosen k: the silhouette within 0.01 of the best that is "
    "closest to the elbow.")}
{fig('silhouette', silhouette_caption, "Silhouette of the chosen solution")}
</section>
<section id="pca"><h2>PCA views</h2>
<p class="caption">Customers projected on the first principal components of the model space
(PC1 {evr[0]:.0%}, PC2 {evr[1]:.0%}, PC3 {evr[2]:.0%} of the variance), coloured by segment. Hover a point for the
customer id and segment; drag the 3D view to rotate it; click legend entries to hide segments.</p>
<div id="pca3d" class="plot"></div>
<div class="grid">{pca_divs}</div>
</section>
<section id="segments"><h2>Segments</h2>
{fig('segment_sizes', "Customers per segment for each algorithm, with the share of all clean customers "
    "(counts over every customer).", "Segment sizes")}
<h3>Profiles</h3><p class="caption">Each cell says how far the segment's mean of a measure sits from the average
customer's, in standard deviations (red: above, blue: below); read a row to see what sets a segment apart.</p>
<div class="figure">{heatmaps.get(primary) or ''}</div>
{other_heatmaps}
<h3>{html_text(labels[primary])} segments</h3>
<p class="caption">One card per segment: its name and description come from its profile; the numbers are its
most distinctive measures (segment mean, and the average over every customer).</p>
{_cards(primary_profiles, data.feature_profiles[data.feature_profiles["algorithm"] == primary])}
</section>
{('<section id="models"><h2>Inside the models</h2>' + "".join(fig(f.name, f.caption, f.title) for f in model_figures)
  + '</section>') if model_figures else ''}
{_changes_section(moves, fig('migrations', "Each cell counts the customers who were in the row's segment in the "
    "previous run and are in the column's segment now (bold: stayed). From segment_migrations; segment_history has "
    "each customer's periods."), meta) if len(moves) else ''}
<section id="comparison"><h2>Algorithms compared</h2>
<p class="caption">From segment_metrics: silhouette (higher is better) and Davies-Bouldin (lower is better) on the
evaluation sample; stability is the mean adjusted Rand index of refits on 80% subsamples (1 = always the same
segments).</p>
{_metrics_table(data.metrics)}
{fig('rfm_crosstab', "Customers in each RFM segment (classic rules on the recency and frequency quintiles, rows) "
    "and each learned segment (columns): where the rules and the learned segments agree, and where one splits what "
    "the other keeps together.", "RFM rules against learned segments")}
</section>
</main>
<footer>Generated by custseg.report at {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC
from the tables of run {html_text(meta['run_id'])} (opened read-only).</footer>
"""
    script = ("const FIGURES = " + script_json(specs) + ";\n"
              "const CONFIG = {displaylogo: false, responsive: true};\n"
              "Promise.all(Object.entries(FIGURES).map(([id, f]) => Plotly.newPlot(id, f.data, f.layout, CONFIG)))\n"
              "  .then(() => { window.reportReady = true; document.body.dataset.ready = 'true'; });\n")
    from plotly.offline import get_plotlyjs

    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Customer segmentation report</title>"
            f"<style>{CSS}</style><script>{get_plotlyjs()}</script></head><body>{body}"
            f"<script>{script}</script></body></html>")


def build_report(database: Path, out_dir: Path, workers: int | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = out_dir / "figures"
    figures.mkdir(exist_ok=True)
    with connect(database) as con:
        data = load(con)
    page = render(data, figures, workers)
    path = out_dir / "segmentation_report.html"
    path.write_text(page, encoding="utf-8")
    return path


def default_database() -> Path:
    from .serving import default_serving_path

    return default_serving_path()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write reports/segmentation_report.html from the DuckDB tables.")
    parser.add_argument("--database", type=Path, default=default_database(),
                        help="DuckDB file (default: the serving database, see custseg.serving)")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        path = build_report(args.database, args.out_dir)
    except ReportError as err:
        print(f"report: {err}", file=sys.stderr)
        return 1
    size = path.stat().st_size / 1e6
    print(f"Report written to {path.resolve()} ({size:.1f} MB, {time.perf_counter() - start:.1f} s); "
          f"PNG figures in {(args.out_dir / 'figures').resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
