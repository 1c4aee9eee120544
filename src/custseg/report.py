"""The visual report: one self-contained HTML page (and PNGs for slides) from the tables.

    python -m custseg.report [--database customer_segmentation.duckdb] [--out-dir reports]

Opens the DuckDB file read-only, so it never blocks a BI tool and can be rerun without
rebuilding the models. Counts, histograms, box plots, correlations and profiles are SQL
aggregates over every customer; only the scatter plots draw a sample of points
(`report_max_points`, default 5,000: the first customers of the fit sample, a
deterministic random sample), so the page stays small whatever the number of customers.
The page embeds plotly.js once and requests nothing from any host.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
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
from .catalogue import ALGORITHM_LABELS, FEATURE_KINDS, LOG_KINDS, NOISE_SEGMENT
from .metrics import silhouette_values
from .preprocessing import Preprocessor
from .settings import Settings

KEY_FEATURES = ["balance", "purchases", "cash_advance", "credit_limit", "payments", "credit_utilization",
                "purchases_frequency", "prc_full_payment"]
PAIR_FEATURES = ["balance", "purchases", "cash_advance", "credit_limit"]
CARD_NUMBERS = [("balance", "Balance", "{:,.0f}"), ("purchases", "Purchases", "{:,.0f}"),
                ("cash_advance", "Cash advance", "{:,.0f}"), ("credit_limit", "Credit limit", "{:,.0f}"),
                ("credit_utilization", "Utilization", "{:.0%}"), ("prc_full_payment", "Paid in full", "{:.0%}")]
HISTOGRAM_BINS = 40


class ReportError(RuntimeError):
    """A problem the user can act on (missing database, tables not built)."""


def _log_feature(feature: str) -> bool:
    return FEATURE_KINDS.get(feature) in LOG_KINDS


def _expr(feature: str) -> str:
    return f"ln(1 + greatest({feature}, 0))" if _log_feature(feature) else feature


@dataclass
class ReportData:
    settings: Settings
    meta: dict
    stages: pd.DataFrame
    reasons: pd.DataFrame
    imputed: pd.DataFrame
    capped: pd.DataFrame
    histograms: dict[str, pd.DataFrame]
    boxes: pd.DataFrame
    correlation: pd.DataFrame
    points: pd.DataFrame
    silhouette_points: pd.DataFrame
    preprocessing: pd.DataFrame
    candidates: pd.DataFrame
    profiles: pd.DataFrame
    metrics: pd.DataFrame
    som_nodes: pd.DataFrame
    models: pd.DataFrame
    names: dict[str, dict[int, str]] = field(default_factory=dict)


def connect(database: Path) -> duckdb.DuckDBPyConnection:
    if not database.exists():
        raise ReportError(f"no database at {database}: run `make build` (or dbt build) first")
    try:
        return duckdb.connect(str(database), read_only=True)
    except duckdb.IOException as err:
        raise ReportError(f"cannot open {database} read-only ({err}); is dbt still writing it? "
                          "Run the report when the build has finished") from err


def load(con: duckdb.DuckDBPyConnection, max_points: int | None = None) -> ReportData:
    tables = {r[0] for r in con.sql("select table_name from information_schema.tables").fetchall()}
    needed = ["segmentation_config", "stg_customers", "customer_features", "rejected_customers",
              "int_customer_scores", "int_model_fit_sample", "segment_preprocessing", "segment_profiles",
              "segment_metrics", "segment_k_selection", "som_nodes", "int_segment_models"]
    missing = [t for t in needed if t not in tables]
    if missing:
        raise ReportError(f"tables missing from the database: {', '.join(missing)}; run `make build` first")

    def df(sql: str) -> pd.DataFrame:
        return con.sql(sql).df()

    config = con.sql("select settings_json, input_label, run_started_at from segmentation_config").fetchall()[0]
    settings = Settings.from_json(config[0])
    max_points = max_points or settings.report_max_points

    rows_in = con.sql("select count(*) from stg_customers").fetchall()[0][0]
    clean, collapsed = con.sql(
        "select count(*), coalesce(sum(source_row_count - 1), 0) from customer_features").fetchall()[0]
    rejected = con.sql("select count(*) from rejected_customers").fetchall()[0][0]
    stages = pd.DataFrame({"stage": ["Input rows", "Clean customers", "Duplicates collapsed", "Rejected"],
                           "rows": [int(rows_in), int(clean), int(collapsed), int(rejected)]})

    def exploded(table: str, column: str) -> pd.DataFrame:
        return df(f"""
            select item, count(*) as n from (
                select unnest(string_split({column}, ',')) as item from {table} where {column} <> ''
            ) group by item order by n desc, item
        """)

    reasons = exploded("rejected_customers", "reject_reasons")
    imputed = exploded("customer_features", "imputed_columns")
    capped = exploded("customer_features", "outlier_columns")

    available = [f for f in KEY_FEATURES
                 if con.sql(f"select count({f}) from customer_features").fetchall()[0][0] > 0]
    histograms, box_rows = {}, []
    for f in available:
        e = _expr(f)
        lo, hi, qs = con.sql(
            f"select min({e}), max({e}), quantile_cont({e}, [0.01, 0.25, 0.5, 0.75, 0.99]) "
            f"from customer_features where {f} is not null").fetchall()[0]
        width = (hi - lo) / HISTOGRAM_BINS if hi > lo else 1.0
        h = df(f"""
            select least(floor(({e} - {lo}) / {width}), {HISTOGRAM_BINS - 1}) as bin, count(*) as customers
            from customer_features where {f} is not null group by bin order by bin
        """)
        h["bin_start"] = lo + h["bin"] * width
        h["bin_end"] = h["bin_start"] + width
        histograms[f] = h
        box_rows.append({"feature": f, "p01": qs[0], "q25": qs[1], "q50": qs[2], "q75": qs[3], "p99": qs[4]})
    boxes = pd.DataFrame(box_rows).set_index("feature")

    preprocessing = df("select * from segment_preprocessing order by column_position")
    corr_features = [c for c in preprocessing.loc[preprocessing["transform"] != "one_hot", "source_column"]]
    pairs = [(a, b) for i, a in enumerate(corr_features) for b in corr_features[i + 1:]]
    values = con.sql("select " + ", ".join(f"corr({_expr(a)}, {_expr(b)})" for a, b in pairs)
                     + " from customer_features").fetchall()[0] if pairs else []
    corr = pd.DataFrame(np.eye(len(corr_features)), index=corr_features, columns=corr_features)
    for (a, b), v in zip(pairs, values):
        corr.loc[a, b] = corr.loc[b, a] = v if v is not None else np.nan

    primary = settings.primary_algorithm
    points = df(f"""
        select sample.customer_id, {', '.join('sample.' + f for f in PAIR_FEATURES)}, scores.*
            exclude (customer_id)
        from int_model_fit_sample as sample
        inner join int_customer_scores as scores on scores.customer_id = sample.customer_id
        where sample.sample_rank <= {int(max_points)}
        order by sample.sample_rank
    """)
    silhouette_points = df(f"""
        select sample.*, scores.{primary}_segment_id as segment_id
        from int_model_fit_sample as sample
        inner join int_customer_scores as scores on scores.customer_id = sample.customer_id
        where sample.sample_rank <= {int(settings.evaluation_sample_size)}
        order by sample.sample_rank
    """)
    order = ", ".join(f"'{a}'" for a in ALGORITHM_LABELS)
    candidates = df(f"select * from segment_k_selection order by list_position([{order}], algorithm), k")
    profiles = df(f"select * from segment_profiles order by list_position([{order}], algorithm), segment_id")
    metrics = df("select * from segment_metrics")
    som_nodes = df("select * exclude (weights) from som_nodes order by som_node_id")
    models = df("select algorithm, n_segments, model_json from int_segment_models")
    names = {a: dict(zip(g["segment_id"].astype(int), g["segment_name"])) for a, g in profiles.groupby("algorithm")}
    meta = {
        "input": config[1],
        "run_started_at": str(config[2]),
        "rows_in": int(rows_in),
        "customers": int(clean),
        "primary": primary,
        "points": int(len(points)),
    }
    return ReportData(settings, meta, stages, reasons, imputed, capped, histograms, boxes, corr, points,
                      silhouette_points, preprocessing, candidates, profiles, metrics, som_nodes, models, names)


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
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:12px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:12px}
.card{border:1px solid #e2e4e8;border-left:6px solid #999;border-radius:6px;padding:10px 14px}
.card h4{margin:0 0 4px;font-size:15px} .card p{margin:4px 0;font-size:13px;color:#333}
.card table{font-size:12px;border-collapse:collapse;margin-top:6px} .card td{padding:1px 10px 1px 0}
table.metrics{border-collapse:collapse;font-size:13px} table.metrics th,table.metrics td{border-bottom:1px solid #e6e6e6;padding:5px 10px;text-align:right}
table.metrics th:first-child,table.metrics td:first-child{text-align:left}
details{margin:8px 0} summary{cursor:pointer;color:#1f3a5f}
footer{color:#777;font-size:12px;padding:0 32px 30px}
"""


def _figure(svg: str, caption: str, title: str | None = None) -> str:
    head = f"<h3>{html.escape(title)}</h3>" if title else ""
    return f'{head}<p class="caption">{html.escape(caption)}</p><div class="figure">{svg}</div>'


def _kpis(items: list[tuple[str, str]]) -> str:
    return '<div class="kpis">' + "".join(
        f'<div class="kpi"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>' for k, v in items) + "</div>"


def _metrics_table(metrics: pd.DataFrame) -> str:
    order = {a: i for i, a in enumerate(ALGORITHM_LABELS)}
    m = metrics.sort_values("algorithm", key=lambda s: s.map(order))
    head = ["Algorithm", "Segments", "Silhouette", "Davies-Bouldin", "Calinski-Harabasz", "Inertia",
            "Noise", "Stability (ARI)", "Fit sample", "Fit seconds"]

    def num(v, fmt):
        return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else fmt.format(v)

    rows = []
    for r in m.itertuples(index=False):
        label = html.escape(r.algorithm_label) + (" <b>(primary)</b>" if r.is_primary else "")
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in [
            label, r.n_segments, num(r.silhouette, "{:.3f}"), num(r.davies_bouldin, "{:.2f}"),
            num(r.calinski_harabasz, "{:,.0f}"), num(r.inertia, "{:,.0f}"), num(r.noise_share, "{:.1%}"),
            num(r.stability_ari, "{:.3f}"), f"{r.fit_sample_size:,}", num(r.fit_seconds, "{:.1f}")]) + "</tr>")
    return ('<table class="metrics"><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
            + "".join(rows) + "</table>")


def _cards(profiles: pd.DataFrame) -> str:
    out = []
    for r in profiles.sort_values("segment_id").itertuples(index=False):
        numbers = "".join(
            f"<tr><td>{label}</td><td><b>{fmt.format(getattr(r, f + '_mean'))}</b></td>"
            f"<td>{_index_text(getattr(r, f + '_index'))}</td></tr>"
            for f, label, fmt in CARD_NUMBERS if pd.notna(getattr(r, f + "_mean")))
        out.append(
            f'<div class="card" style="border-left-color:{charts.segment_color(int(r.segment_id), r.segment_name)}">'
            f"<h4>{html.escape(r.segment_name)}</h4>"
            f"<p><b>{int(r.customers):,}</b> customers ({r.share:.1%}) · segment {int(r.segment_id)}</p>"
            f"<p>{html.escape(r.segment_description)}</p><table>{numbers}</table></div>")
    return '<div class="cards">' + "".join(out) + "</div>"


def _index_text(index) -> str:
    return "" if index is None or pd.isna(index) else f"{index:.1f}x avg"


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


def render(data: ReportData, figures_dir: Path | None, workers: int | None = None) -> str:
    """The HTML page; with `figures_dir`, also writes the main figures there as PNG."""
    s, meta = data.settings, data.meta
    primary = s.primary_algorithm
    labels = ALGORITHM_LABELS
    seg_col = f"{primary}_segment_id"
    pair_points = data.points.copy()
    for f in PAIR_FEATURES:
        pair_points[f] = np.log1p(pair_points[f].clip(lower=0))

    # silhouette of the primary solution, on the customers segment_metrics measured
    pre = Preprocessor.from_frame(data.preprocessing)
    sp = data.silhouette_points
    if primary == "density":
        sp = sp[sp["segment_id"] != NOISE_SEGMENT]
    sp = sp.head(s.silhouette_sample_size)
    sil = silhouette_values(pre.transform(sp), sp["segment_id"].to_numpy()) if sp["segment_id"].nunique() > 1 \
        else np.zeros(len(sp))
    hier = data.models[data.models["algorithm"] == "hierarchical"].iloc[0]
    tree = json.loads(hier["model_json"])["extras"]["dendrogram"]
    heat_features = charts_profile_features(data.profiles)

    jobs = [
        FigureJob("data_quality", "data_quality", (data.stages, data.reasons, data.imputed, data.capped), "data_quality.png"),
        FigureJob("distributions", "distributions",
                  (data.histograms, data.boxes, {f for f in data.histograms if _log_feature(f)}), "distributions.png"),
        FigureJob("correlation", "correlation_heatmap", (data.correlation,), None),
        FigureJob("pair_plot", "pair_plot", (pair_points, PAIR_FEATURES, seg_col, data.names[primary]), None),
        FigureJob("k_selection", "k_selection", (data.candidates, labels), "k_selection.png"),
        FigureJob("silhouette", "silhouette_plot",
                  (sil, sp["segment_id"].to_numpy(), data.names[primary], float(sil.mean()),
                   f"{labels[primary]}: silhouette of {len(sp):,} customers"), "silhouette.png"),
        FigureJob("segment_sizes", "segment_sizes", (data.profiles, labels), "segment_sizes.png"),
        FigureJob("som_maps", "som_maps", (data.som_nodes, data.names["som"]), "som_maps.png"),
        FigureJob("dendrogram", "dendrogram_figure", (tree, int(hier["n_segments"])), "dendrogram.png"),
        FigureJob("pca_2d", "pca_scatter_png", (data.points, seg_col, data.names[primary],
                                               f"{labels[primary]} segments, PCA view"), "pca_2d.png", svg=False),
    ]
    for algorithm, part in data.profiles.groupby("algorithm"):
        jobs.append(FigureJob(f"profile_heatmap_{algorithm}", "profile_heatmap",
                              (part, heat_features, f"{labels[algorithm]}: segment mean / population mean"),
                              "profile_heatmap.png" if algorithm == primary else None))
    svgs = draw_all(jobs, figures_dir, workers if workers is not None else min(2, os.cpu_count() or 1))
    heatmaps = {a: svgs[f"profile_heatmap_{a}"] for a in data.names}

    specs = {}
    algorithms = [a for a in ALGORITHM_LABELS if a in data.names]
    for a in algorithms:
        specs[f"pca2d_{a}"] = charts.pca_2d_spec(data.points, f"{a}_segment_id", data.names[a], labels[a])
    specs["pca3d"] = charts.pca_3d_spec(data.points, seg_col, data.names[primary],
                                        f"{labels[primary]} segments in the first three principal components")

    evr = pre.explained_variance_ratio_
    stages = dict(zip(data.stages["stage"], data.stages["rows"]))
    primary_metrics = data.metrics[data.metrics["algorithm"] == primary].iloc[0]
    primary_profiles = data.profiles[data.profiles["algorithm"] == primary]
    other_heatmaps = "".join(
        f"<details><summary>{html.escape(labels[a])}</summary><div class='figure'>{heatmaps[a]}</div></details>"
        for a in algorithms if a != primary)
    pca_divs = "".join(f'<div id="pca2d_{a}" class="plot"></div>' for a in algorithms)
    n_points = meta["points"]

    body = f"""
<header>
  <h1>Customer segmentation report</h1>
  <p>Input: {html.escape(meta['input'])} · run started {html.escape(meta['run_started_at'])} UTC ·
     {meta['customers']:,} clean customers · primary algorithm: {html.escape(labels[primary])}</p>
  <p>Counts, distributions, correlations and profiles use every customer; scatter plots draw
     {n_points:,} customers (a deterministic random sample, var report_max_points).</p>
</header>
<nav><a href="#quality">Data quality</a><a href="#exploration">Exploration</a><a href="#k">Choosing k</a>
<a href="#pca">PCA views</a><a href="#segments">Segments</a><a href="#som">SOM &amp; dendrogram</a>
<a href="#comparison">Algorithms</a></nav>
<main>
<section id="quality"><h2>Data quality</h2>
{_kpis([("input rows", f"{stages['Input rows']:,}"), ("clean customers", f"{stages['Clean customers']:,}"),
        ("duplicates collapsed", f"{stages['Duplicates collapsed']:,}"), ("rows rejected", f"{stages['Rejected']:,}"),
        ("values imputed", f"{int(data.imputed['n'].sum()) if len(data.imputed) else 0:,}"),
        ("values capped", f"{int(data.capped['n'].sum()) if len(data.capped) else 0:,}")])}
{_figure(svgs['data_quality'], "Every input row ends as a clean customer, a collapsed exact duplicate or a rejected row (see rejected_customers for each row's reason); imputed and capped values are counted per column.")}
</section>
<section id="exploration"><h2>Exploration</h2>
{_figure(svgs['distributions'], "Histogram (bars) and box plot (box: quartiles, whiskers: 1st to 99th percentile) of key features over every clean customer; amounts and ratios on a log1p scale, as the models see them.", "Distributions")}
{_figure(svgs['correlation'], "Pearson correlation of the model features over every customer (amounts log1p-transformed): red pairs move together, blue pairs move in opposite directions.", "Correlations")}
{_figure(svgs['pair_plot'], f"Pairs of key features (log1p) for {n_points:,} sampled customers, coloured by {labels[primary]} segment; the diagonal shows each feature's histogram.", "Pair plot")}
</section>
<section id="k"><h2>Choosing k</h2>
{_figure(svgs['k_selection'], "Top: the elbow criterion against k (circled: its elbow). Bottom: silhouette against k (higher = better separated). The dashed line is the chosen k: the silhouette within 0.01 of the best that is closest to the elbow.")}
{_figure(svgs['silhouette'], f"Each bar is one customer's silhouette in its {labels[primary]} segment (1: clearly in it, 0: on a border, below 0: closer to another segment); the dashed line is the average reported in segment_metrics ({primary_metrics['silhouette']:.3f}).", "Silhouette of the chosen solution")}
</section>
<section id="pca"><h2>PCA views</h2>
<p class="caption">Customers projected on the first principal components of the model space (PC1 {evr[0]:.0%}, PC2 {evr[1]:.0%}, PC3 {evr[2] if len(evr) > 2 else 0:.0%} of the variance), coloured by segment. Hover a point for the customer id and segment; drag the 3D view to rotate it; click legend entries to hide segments.</p>
<div id="pca3d" class="plot"></div>
<div class="grid">{pca_divs}</div>
</section>
<section id="segments"><h2>Segments</h2>
{_figure(svgs['segment_sizes'], "Customers per segment for each algorithm, with the share of all clean customers (counts over every customer).", "Segment sizes")}
<h3>Profiles</h3><p class="caption">Each cell is the segment's mean of a feature divided by the average customer's (red: above, blue: below, on a log scale); read a row to see what sets a segment apart.</p>
<div class="figure">{heatmaps[primary]}</div>
{other_heatmaps}
<h3>{html.escape(labels[primary])} segments</h3>
<p class="caption">One card per segment: its name and description come from its profile; numbers are segment means, with the multiple of the average customer.</p>
{_cards(primary_profiles)}
</section>
<section id="som"><h2>Self-organizing map and dendrogram</h2>
{_figure(svgs['som_maps'], "The map's nodes on their grid: the U-matrix shows how far each node is from its neighbours (dark ridges separate groups), the hit map how many customers each node holds, and the node segments how the nodes were grouped.", "Self-organizing map")}
{_figure(svgs['dendrogram'], "The top of the Ward tree on the hierarchical sample: each leaf is a cluster (its size in brackets); cutting at the dashed line gives the chosen segments.", "Hierarchical clustering")}
</section>
<section id="comparison"><h2>Algorithms compared</h2>
<p class="caption">From segment_metrics: silhouette (higher is better) and Davies-Bouldin (lower is better) on the evaluation sample; stability is the mean adjusted Rand index of refits on 80% subsamples (1 = always the same segments).</p>
{_metrics_table(data.metrics)}
</section>
</main>
<footer>Generated by custseg.report at {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC from the dbt project's DuckDB tables (opened read-only).</footer>
"""
    script = ("const FIGURES = {" + ",".join(f'"{k}":{charts.spec_json(v)}' for k, v in specs.items()) + "};\n"
              "const CONFIG = {displaylogo: false, responsive: true};\n"
              "Promise.all(Object.entries(FIGURES).map(([id, f]) => Plotly.newPlot(id, f.data, f.layout, CONFIG)))\n"
              "  .then(() => { window.reportReady = true; document.body.dataset.ready = 'true'; });\n")
    from plotly.offline import get_plotlyjs

    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Customer segmentation report</title>"
            f"<style>{CSS}</style><script>{get_plotlyjs()}</script></head><body>{body}"
            f"<script>{script}</script></body></html>")


def charts_profile_features(profiles: pd.DataFrame) -> list[str]:
    """Profile features with data (an input without an optional column has NULL indexes)."""
    feats = [c[: -len("_index")] for c in profiles.columns if c.endswith("_index")]
    return [f for f in feats if profiles[f"{f}_index"].notna().any()]


def build_report(database: Path, out_dir: Path, max_points: int | None = None, workers: int | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = out_dir / "figures"
    figures.mkdir(exist_ok=True)
    with connect(database) as con:
        data = load(con, max_points)
    page = render(data, figures, workers)
    path = out_dir / "segmentation_report.html"
    path.write_text(page, encoding="utf-8")
    return path


def default_database() -> Path:
    return Path(os.environ.get("DBT_DUCKDB_PATH", "customer_segmentation.duckdb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write reports/segmentation_report.html from the DuckDB tables.")
    parser.add_argument("--database", type=Path, default=default_database(),
                        help="DuckDB file (default: $DBT_DUCKDB_PATH or customer_segmentation.duckdb)")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"))
    parser.add_argument("--max-points", type=int, default=None, help="points per scatter plot (default: var report_max_points)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        path = build_report(args.database, args.out_dir, args.max_points)
    except ReportError as err:
        print(f"report: {err}", file=sys.stderr)
        return 1
    size = path.stat().st_size / 1e6
    print(f"Report written to {path.resolve()} ({size:.1f} MB, {time.perf_counter() - start:.1f} s); "
          f"PNG figures in {(args.out_dir / 'figures').resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
