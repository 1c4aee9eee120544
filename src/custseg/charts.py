"""Figures of the report.

Static charts are matplotlib figures: the report inlines them as SVG and saves the same
figure as PNG for slides, so each chart is drawn once. The PCA scatters, where hovering a
point should show the customer, are Plotly figure specs rendered in the page.
Every function takes plain data (frames, arrays) and returns a figure; none queries.
"""

from __future__ import annotations

import io
import math
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from scipy.cluster.hierarchy import dendrogram  # noqa: E402

from .escaping import plotly_text  # noqa: E402

plt.rcParams.update({
    "svg.fonttype": "none",  # text stays text: smaller, selectable
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
})

NOISE_COLOR = "#9e9e9e"
#: Colours for segments not named after an archetype (distinct from NAMED_COLORS).
PALETTE = ["#6b6ecf", "#b5cf6b", "#e7ba52", "#d6616b", "#ce6dbd", "#3182bd", "#31a354", "#756bb1",
           "#e6550d", "#9c9ede", "#cedb9c", "#e7969c", "#de9ed6", "#636363"]
#: Archetype names keep one colour in every chart and every algorithm.
NAMED_COLORS = {
    "Instalment buyers": "#1f77b4", "All-round heavy users": "#ff7f0e", "Cash-advance users": "#2ca02c",
    "Big spenders": "#d62728", "Dormant accounts": "#9467bd", "One-off shoppers": "#8c564b",
    "Revolvers": "#e377c2", "Everyday shoppers": "#17becf", "Full payers": "#bcbd22",
    "High-limit low users": "#393b79", "Maxed-out": "#843c39", "New customers": "#637939",
    "Mainstream customers": "#8c6d31", "Unclustered (noise)": NOISE_COLOR,
}


def segment_color(segment_id: int, name: str | None = None) -> str:
    """An archetype's own colour when the segment is named after one, else by segment id."""
    if name in NAMED_COLORS:
        return NAMED_COLORS[name]
    if segment_id == 0:
        return NOISE_COLOR
    return PALETTE[(segment_id - 1) % len(PALETTE)]


# --------------------------------------------------------------------------- output
def to_svg(fig, name: str) -> str:
    """Inline SVG markup of a figure (ids salted with the figure name so several SVGs can
    share one page)."""
    buf = io.StringIO()
    with plt.rc_context({"svg.hashsalt": name}):
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)


def save_png(fig, path) -> None:
    fig.savefig(path, format="png", dpi=130)


# --------------------------------------------------------------------------- data quality
def data_quality(stages: pd.DataFrame, reasons: pd.DataFrame, imputed: pd.DataFrame, capped: pd.DataFrame):
    """Where the input rows went, why rows were rejected, and what was imputed or capped."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4), gridspec_kw={"width_ratios": [1.1, 1.4, 1, 1]})
    ax = axes[0]
    colours = ["#4c72b0", "#55a868", "#dd8452", "#c44e52"][: len(stages)]
    ax.barh(stages["stage"], stages["rows"].clip(lower=0.8), color=colours)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_title("Where the input rows went (log scale)")
    for i, v in enumerate(stages["rows"]):
        ax.text(max(v, 0.8), i, f" {v:,}", va="center")
    ax.set_xlim(0.8, stages["rows"].max() * 8)
    for ax, frame, title, color in [
        (axes[1], reasons, "Rejected rows by reason", "#c44e52"),
        (axes[2], imputed, "Values imputed", "#8172b2"),
        (axes[3], capped, "Values capped (outliers)", "#937860"),
    ]:
        if len(frame):
            ax.barh(frame.iloc[:, 0], frame.iloc[:, 1], color=color)
            ax.invert_yaxis()
            for i, v in enumerate(frame.iloc[:, 1]):
                ax.text(v, i, f" {int(v):,}", va="center", fontsize=8)
            ax.set_xlim(0, frame.iloc[:, 1].max() * 1.3)
        else:
            ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes, color="#777")
            ax.set_yticks([])
        ax.set_title(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- exploration
def distributions(histograms: dict[str, pd.DataFrame], boxes: pd.DataFrame, log_features: set[str]):
    """Histogram and box plot per key feature, from counts and quantiles over everyone."""
    features = list(histograms)
    cols = 4
    rows = math.ceil(len(features) / cols)
    fig, axes = plt.subplots(rows * 2, cols, figsize=(15, 3.3 * rows),
                             gridspec_kw={"height_ratios": [3, 1] * rows})
    axes = np.atleast_2d(axes)
    for i, feature in enumerate(features):
        r, c = 2 * (i // cols), i % cols
        hist, box_ax = axes[r, c], axes[r + 1, c]
        h = histograms[feature]
        hist.bar(h["bin_start"], h["customers"], width=h["bin_end"] - h["bin_start"], align="edge",
                 color="#4c72b0", edgecolor="white", linewidth=0.3)
        label = f"log1p({feature})" if feature in log_features else feature
        hist.set_title(label)
        hist.ticklabel_format(axis="y", style="sci", scilimits=(0, 4))
        b = boxes.loc[feature]
        box_ax.bxp([{"med": b["q50"], "q1": b["q25"], "q3": b["q75"], "whislo": b["p01"], "whishi": b["p99"],
                     "fliers": [], "label": ""}], orientation="horizontal", showfliers=False, widths=0.6,
                   patch_artist=True, boxprops={"facecolor": "#c6d4e8"})
        box_ax.set_xlim(hist.get_xlim())
        box_ax.set_yticks([])
        box_ax.spines["left"].set_visible(False)
    for j in range(len(features), rows * cols):
        axes[2 * (j // cols), j % cols].axis("off")
        axes[2 * (j // cols) + 1, j % cols].axis("off")
    fig.tight_layout()
    return fig


def correlation_heatmap(corr: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(9, 7.5))
    im = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(corr)), corr.columns, rotation=60, ha="right")
    ax.set_yticks(range(len(corr)), corr.index)
    for i in range(len(corr)):
        for j in range(len(corr)):
            v = corr.iloc[i, j]
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6.5,
                    color="white" if abs(v) > 0.6 else "black")
    fig.colorbar(im, ax=ax, shrink=0.8, label="Pearson correlation")
    ax.spines[:].set_visible(False)
    fig.tight_layout()
    return fig


def pair_plot(points: pd.DataFrame, features: list[str], segment_col: str, names: dict[int, str],
              log_features: set[str] = frozenset()):
    """Scatter matrix of a few features on the point sample, coloured by segment; the
    diagonal shows each feature's histogram. Points are rasterized to keep the SVG small."""
    n = len(features)
    fig, axes = plt.subplots(n, n, figsize=(2.4 * n, 2.4 * n))
    segments = sorted(points[segment_col].unique())
    for i, fy in enumerate(features):
        for j, fx in enumerate(features):
            ax = axes[i, j]
            if i == j:
                ax.hist(points[fx], bins=30, color="#4c72b0")
            else:
                for seg in segments:
                    part = points[points[segment_col] == seg]
                    ax.scatter(part[fx], part[fy], s=2, alpha=0.5, color=segment_color(seg, names.get(seg)),
                               rasterized=True, label=names.get(seg, str(seg)))
            if i == n - 1:
                ax.set_xlabel(f"log1p({fx})" if fx in log_features else fx)
            else:
                ax.set_xticklabels([])
            if j == 0:
                ax.set_ylabel(f"log1p({fy})" if fy in log_features else fy)
            else:
                ax.set_yticklabels([])
    handles, labels = axes[0, 1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(4, len(labels)), markerscale=5,
               bbox_to_anchor=(0.5, 1.02), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


# --------------------------------------------------------------------------- choosing k
CRITERION_LABEL = {"inertia": "inertia (within-segment SS)", "within_ss": "within-segment SS", "bic": "BIC"}


def k_selection(candidates: pd.DataFrame, labels: dict[str, str]):
    """Elbow criterion and silhouette against k, per algorithm; chosen k marked."""
    algorithms = list(dict.fromkeys(candidates["algorithm"]))
    fig, axes = plt.subplots(2, len(algorithms), figsize=(3.8 * len(algorithms), 6.2), squeeze=False)
    for col, algorithm in enumerate(algorithms):
        part = candidates[candidates["algorithm"] == algorithm].sort_values("k")
        chosen = part[part["is_chosen"]]
        elbow = part[part["is_elbow"]]
        top, bottom = axes[0, col], axes[1, col]
        top.plot(part["k"], part["criterion_value"], marker="o", color="#4c72b0")
        top.scatter(elbow["k"], elbow["criterion_value"], s=140, facecolors="none", edgecolors="#dd8452",
                    linewidths=1.5, label="elbow", zorder=3)
        top.set_title(f"{labels.get(algorithm, algorithm)}")
        top.set_ylabel(CRITERION_LABEL.get(part["criterion"].iloc[0], "criterion"))
        bottom.plot(part["k"], part["silhouette"], marker="o", color="#55a868")
        bottom.set_ylabel("silhouette")
        bottom.set_xlabel("k (segments)")
        for ax in (top, bottom):
            for k in chosen["k"]:
                ax.axvline(k, color="#c44e52", linestyle="--", linewidth=1.2, label=f"chosen k = {k}")
            ax.set_xticks(part["k"])
        top.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def silhouette_plot(values: np.ndarray, labels: np.ndarray, names: dict[int, str], average: float, title: str):
    """Classic silhouette plot: each customer's silhouette, sorted within its segment."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    y = 0
    for seg in sorted(np.unique(labels)):
        vals = np.sort(values[labels == seg])
        ax.fill_betweenx(np.arange(y, y + len(vals)), 0, vals, color=segment_color(int(seg), names.get(int(seg))),
                         alpha=0.85,
                         linewidth=0, rasterized=True)
        ax.text(-0.02, y + len(vals) / 2, names.get(int(seg), str(seg)), ha="right", va="center", fontsize=8)
        y += len(vals) + max(10, len(values) // 100)
    ax.axvline(average, color="#c44e52", linestyle="--", label=f"average {average:.3f}")
    ax.set_xlabel("silhouette value")
    ax.set_yticks([])
    ax.set_xlim(min(-0.2, values.min() - 0.05), 1)
    ax.set_title(title)
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- segments
def segment_sizes(profiles: pd.DataFrame, labels: dict[str, str]):
    """Customers per segment, for every algorithm (counts over every customer)."""
    algorithms = list(dict.fromkeys(profiles["algorithm"]))
    fig, axes = plt.subplots(1, len(algorithms), figsize=(3.6 * len(algorithms), 3.8), squeeze=False)
    for ax, algorithm in zip(axes[0], algorithms):
        part = profiles[profiles["algorithm"] == algorithm].sort_values("segment_id")
        ax.barh([f"{n}" for n in part["segment_name"]], part["customers"],
                color=[segment_color(int(s), n) for s, n in zip(part["segment_id"], part["segment_name"])])
        ax.invert_yaxis()
        for i, (c, s) in enumerate(zip(part["customers"], part["share"])):
            ax.text(c, i, f" {s:.0%}", va="center", fontsize=7.5)
        ax.set_xlim(0, part["customers"].max() * 1.3)
        ax.set_title(labels.get(algorithm, algorithm))
        ax.tick_params(axis="y", labelsize=7.5)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 4))
    fig.tight_layout()
    return fig


def migration_matrix(moves: pd.DataFrame, title: str):
    """Customers by segment in the previous run (rows) and in this one (columns), from
    segment_migrations rows of one algorithm and one pair of runs. New customers are the
    row "(new)", customers who left the column "(left)"; the diagonal is those who stayed."""
    def label(segment_id, name, missing):
        return missing if pd.isna(segment_id) else f"{int(segment_id)} {name}"

    frame = moves.assign(
        source=[label(i, n, "(new)") for i, n in zip(moves["from_segment_id"], moves["from_segment_name"])],
        target=[label(i, n, "(left)") for i, n in zip(moves["to_segment_id"], moves["to_segment_name"])])
    grid = frame.pivot_table(index="source", columns="target", values="customers", aggfunc="sum", fill_value=0)
    segments = sorted((set(grid.index) | set(grid.columns)) - {"(new)", "(left)"}, key=lambda t: int(t.split(" ")[0]))
    rows = [r for r in segments if r in grid.index] + (["(new)"] if "(new)" in grid.index else [])
    cols = [c for c in segments if c in grid.columns] + (["(left)"] if "(left)" in grid.columns else [])
    return count_matrix(grid.reindex(index=rows, columns=cols, fill_value=0), title,
                        "segment in the previous run", "segment in this run", bold_diagonal=True)


def crosstab_matrix(pairs: pd.DataFrame, title: str, row_title: str, column_title: str):
    """Customers in each pair of segments of two segmentations (report_segment_crosstab)."""
    frame = pairs.assign(source=[f"{int(i)} {n}" for i, n in zip(pairs["row_segment_id"], pairs["row_segment_name"])],
                         target=[f"{int(i)} {n}" for i, n in zip(pairs["column_segment_id"],
                                                                 pairs["column_segment_name"])])
    grid = frame.pivot_table(index="source", columns="target", values="customers", aggfunc="sum", fill_value=0)
    order = lambda labels: sorted(labels, key=lambda t: int(t.split(" ")[0]))  # noqa: E731
    return count_matrix(grid.reindex(index=order(grid.index), columns=order(grid.columns), fill_value=0), title,
                        row_title, column_title)


def count_matrix(grid: pd.DataFrame, title: str, row_title: str, column_title: str, bold_diagonal: bool = False):
    """A table of counts as a heatmap (log colour scale), each cell annotated."""
    rows, cols = list(grid.index), list(grid.columns)
    values = grid.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(cols) + 3), 0.55 * len(rows) + 2.4))
    ax.imshow(np.log1p(values), cmap="Blues", aspect="auto")
    top = values.max() if values.size else 0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if values[i, j]:
                ax.text(j, i, f"{int(values[i, j]):,}", ha="center", va="center", fontsize=8,
                        color="white" if np.log1p(values[i, j]) > 0.6 * np.log1p(top) else "#222",
                        fontweight="bold" if bold_diagonal and rows[i] == cols[j] else "normal")
    ax.set_xticks(range(len(cols)), [textwrap_label(c) for c in cols], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), [textwrap_label(r) for r in rows], fontsize=8)
    ax.set_xlabel(column_title)
    ax.set_ylabel(row_title)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def textwrap_label(text: str, width: int = 28) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def profile_heatmap(profiles: pd.DataFrame, title: str):
    """Segment by measure: the effect size (how many population standard deviations the
    segment's mean sits from the average; red above, blue below). Comparable across kinds
    (amounts, shares, ages, ...). `profiles`: segment_feature_profiles rows of one
    algorithm, with a `label` column."""
    grid = profiles.pivot_table(index=["segment_id", "segment_name"], columns="label", values="effect_size",
                                aggfunc="first", sort=False)
    grid = grid.sort_index(level=0)
    features = [c for c in grid.columns if grid[c].notna().any()]
    values = grid[features].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(features) + 3), 0.5 * len(grid) + 2.2))
    shown = np.where(np.isfinite(values), np.clip(values, -2.5, 2.5), 0.0)
    im = ax.imshow(shown, cmap="RdBu_r", norm=TwoSlopeNorm(0, -2.5, 2.5), aspect="auto")
    ax.set_yticks(range(len(grid)), [name for _, name in grid.index])
    ax.set_xticks(range(len(features)), features, rotation=60, ha="right", fontsize=7.5)
    for i in range(len(grid)):
        for j in range(len(features)):
            v = values[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=6,
                        color="white" if abs(v) > 1.8 else "black")
    cbar = fig.colorbar(im, ax=ax, shrink=0.8)
    cbar.set_label("standard deviations from the average")
    ax.set_title(title)
    ax.spines[:].set_visible(False)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- SOM, dendrogram
def som_maps(nodes: pd.DataFrame, names: dict[int, str]):
    """U-matrix (distances between neighbouring nodes), hit map and node segments."""
    rows, cols = int(nodes["grid_row"].max()) + 1, int(nodes["grid_col"].max()) + 1

    def grid(column):
        g = np.full((rows, cols), np.nan)
        g[nodes["grid_row"], nodes["grid_col"]] = nodes[column]
        return g

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    im = axes[0].imshow(grid("u_matrix_distance"), cmap="bone_r")
    axes[0].set_title("U-matrix (dark = border between groups)")
    fig.colorbar(im, ax=axes[0], shrink=0.8)
    im = axes[1].imshow(grid("customers"), cmap="YlOrRd")
    axes[1].set_title("Hit map (customers per node)")
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    seg = grid("segment_id")
    colors = np.zeros((rows, cols, 3))
    for s in np.unique(seg[np.isfinite(seg)]).astype(int):
        rgb = matplotlib.colors.to_rgb(segment_color(s, names.get(int(s))))
        colors[seg == s] = rgb
    axes[2].imshow(colors)
    axes[2].set_title("Node segments")
    handles = [matplotlib.patches.Patch(color=segment_color(int(s), names.get(int(s))), label=names.get(int(s), str(s)))
               for s in sorted(np.unique(seg[np.isfinite(seg)]).astype(int))]
    axes[2].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7.5, frameon=False)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.spines[:].set_visible(False)
    fig.tight_layout()
    return fig


def dendrogram_figure(tree: dict, n_segments: int):
    """Truncated dendrogram: the last merges of the Ward tree, leaves labelled with their
    customer counts, cut where the chosen number of segments is."""
    Z = np.array(tree["linkage"], dtype=float)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    dendrogram(Z, ax=ax, labels=[f"({s})" for s in tree["leaf_sizes"]], leaf_rotation=90, leaf_font_size=7,
               color_threshold=tree["cut_height"], above_threshold_color="#999999")
    ax.axhline(tree["cut_height"], color="#c44e52", linestyle="--", label=f"cut: {n_segments} segments")
    ax.set_ylabel("Ward merge distance")
    ax.set_xlabel("clusters at the top of the tree (customers in the hierarchical sample)")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def pca_scatter_png(points: pd.DataFrame, segment_col: str, names: dict[int, str], title: str):
    """Static PCA view for slides (the page has the interactive one)."""
    fig, ax = plt.subplots(figsize=(7, 5.5))
    for seg in sorted(points[segment_col].unique()):
        part = points[points[segment_col] == seg]
        ax.scatter(part["pca_1"], part["pca_2"], s=4, alpha=0.6, color=segment_color(int(seg), names.get(int(seg))),
                   label=names.get(int(seg), str(seg)), rasterized=True)
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    ax.set_title(title)
    ax.legend(markerscale=4, fontsize=7.5, frameon=False, loc="best")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- plotly specs
def _hover_traces(points: pd.DataFrame, segment_col: str, names: dict[int, str], three_d: bool) -> list[dict]:
    traces = []
    for seg in sorted(points[segment_col].unique()):
        part = points[points[segment_col] == seg]
        name = names.get(int(seg), str(seg))
        trace = {  # Plotly reads its labels as HTML: the data's text is escaped for it
            "type": "scatter3d" if three_d else "scattergl",
            "mode": "markers",
            "name": plotly_text(name),
            "x": np.round(part["pca_1"].to_numpy(), 3).tolist(),
            "y": np.round(part["pca_2"].to_numpy(), 3).tolist(),
            "text": [plotly_text(i) for i in part["customer_id"]],
            "marker": {"size": 2.5 if three_d else 4, "color": segment_color(int(seg), name), "opacity": 0.75},
            "hovertemplate": "customer %{text}<br>%{fullData.name}<extra></extra>",  # no data in the template
        }
        if three_d:
            trace["z"] = np.round(part["pca_3"].to_numpy(), 3).tolist()
        traces.append(trace)
    return traces


def pca_2d_spec(points: pd.DataFrame, segment_col: str, names: dict[int, str], title: str) -> dict:
    return {
        "data": _hover_traces(points, segment_col, names, three_d=False),
        "layout": {"title": {"text": plotly_text(title), "font": {"size": 13}}, "height": 380,
                   "margin": {"l": 40, "r": 10, "t": 40, "b": 35},
                   "xaxis": {"title": {"text": "PC1"}, "zeroline": False},
                   "yaxis": {"title": {"text": "PC2"}, "zeroline": False},
                   "legend": {"font": {"size": 9}, "itemsizing": "constant"}},
    }


def pca_3d_spec(points: pd.DataFrame, segment_col: str, names: dict[int, str], title: str) -> dict:
    return {
        "data": _hover_traces(points, segment_col, names, three_d=True),
        "layout": {"title": {"text": plotly_text(title), "font": {"size": 13}}, "height": 620,
                   "margin": {"l": 0, "r": 0, "t": 40, "b": 0},
                   "scene": {"xaxis": {"title": {"text": "PC1"}}, "yaxis": {"title": {"text": "PC2"}},
                             "zaxis": {"title": {"text": "PC3"}}},
                   "legend": {"itemsizing": "constant"}},
    }

