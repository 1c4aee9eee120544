"""Adding an algorithm is one module and one registry line (README "Working on the project").

A copy of the project gets a toy algorithm (quantile bins on the first principal component,
k fixed at 3) as src/custseg/algorithms/pc1_bins.py and one line in REGISTERED, nothing else;
`dbt build` runs there in a subprocess importing the copy's package, and the toy algorithm
is fitted, scored, named, profiled, measured and reported like the five others.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import PROJECT_DIR

TOY_MODULE = '''"""Quantile bins on the first principal component, k fixed (a toy algorithm)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Assignment, Fit, SegmentModel, Segmenter, Spaces, parameter_row, size_order

K = 3


@dataclass(kw_only=True, eq=False)
class BinsModel(SegmentModel):
    edges: np.ndarray          # (K - 1,) upper edges of the bins on PC1
    centres: np.ndarray        # (K,) median PC1 of each bin
    bin_segments: np.ndarray   # (K,) segment id of each bin

    def assign(self, data) -> Assignment:
        z = self.matrix(data)[:, 0]
        b = np.searchsorted(self.edges, z, side="right")
        return Assignment(self.bin_segments[b].astype(np.int32), np.abs(z - self.centres[b]), None, None)

    def segments(self):
        return sorted(int(i) for i in self.bin_segments)

    def relabelled(self, mapping):
        model = self.copy()
        model.bin_segments = np.array([mapping.get(int(i), int(i)) for i in model.bin_segments], dtype=np.int32)
        return model

    def state(self):
        return {"edges": self.edges.tolist(), "centres": self.centres.tolist(),
                "bin_segments": self.bin_segments.tolist()}

    @classmethod
    def from_state(cls, common, raw):
        return cls(**common, edges=np.asarray(raw["edges"], dtype=float),
                   centres=np.asarray(raw["centres"], dtype=float),
                   bin_segments=np.asarray(raw["bin_segments"], dtype=np.int32))

    def parameter_rows(self):
        return [parameter_row("centre", s, b + 1, None, 1, c)
                for b, (s, c) in enumerate(zip(self.bin_segments, self.centres))]

    def score_sql(self, q):
        z = q.coordinate(self.space, 1)
        bins = " ".join(f"when {z} < {q.num(e)} then {b}" for b, e in enumerate(self.edges, start=1))
        segment = q.element([q.lit(int(s)) for s in self.bin_segments], "bin")
        centre = q.element([q.num(c) for c in self.centres], "bin")
        return [(q.cte("bins"), f"select customer_id, {z} as z, case {bins} else {K} end as bin from {q.space}"),
                (q.cte(), f"select customer_id, {segment} as segment_id, abs(z - {centre}) as distance, "
                          f"cast(null as double) as probability, cast(null as integer) as node from {q.cte('bins')}")]


def bins_model(name: str, z: np.ndarray) -> BinsModel:
    edges = np.quantile(z, np.arange(1, K) / K)
    b = np.searchsorted(edges, z, side="right")
    order = size_order(b, np.arange(K))
    return BinsModel(algorithm=name, n_segments=K, space="reduced", edges=edges,
                     centres=np.array([np.median(z[b == i]) for i in range(K)]),
                     bin_segments=np.array([order[i] for i in range(K)], dtype=np.int32))


class QuantileBinsSegmenter(Segmenter):
    name = "pc1_bins"
    label = "PC1 quantile bins"
    model = BinsModel
    space = "reduced"

    def fit(self, spaces: Spaces, evaluation: Spaces) -> Fit:
        model = bins_model(self.name, spaces.reduced[:, 0])

        def refit(sub: Spaces):
            return bins_model(self.name, sub.reduced[:, 0]).labels

        return Fit(model, [], {"k": K, "k_rule": "fixed", "bins": "terciles of PC1"}, len(spaces),
                   spaces.head(self.settings.evaluation_sample_size), refit)
'''

REGISTRY_FILE = Path("src") / "custseg" / "algorithms" / "__init__.py"
LAST_ENTRY = '    "gmm.GaussianMixtureSegmenter",\n'
IGNORED = shutil.ignore_patterns(".venv", ".git", "target", "logs", "reports", ".spark", "bench", "__pycache__",
                                 ".pytest_cache", "*.duckdb", "*.duckdb.wal", "*.build-lock", "*.publishing-*")


def _source_files(root: Path) -> dict[str, str]:
    """Every file of a project tree a build could touch, by relative path, with its hash."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part in {"target", "logs", "reports", "__pycache__", ".pytest_cache", ".venv",
                                               ".git", ".spark", "bench"} for part in rel.parts) \
                and not path.name.endswith((".duckdb", ".duckdb.wal", ".build-lock", ".input-profile.json")):
            out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def toy_build(tmp_path_factory):
    work = tmp_path_factory.mktemp("new_algorithm")
    copy = work / "project"
    shutil.copytree(PROJECT_DIR, copy, ignore=IGNORED)
    before = _source_files(copy)
    (copy / "src" / "custseg" / "algorithms" / "pc1_bins.py").write_text(TOY_MODULE)
    registry = (copy / REGISTRY_FILE).read_text()
    assert registry.count(LAST_ENTRY) == 1
    line = '    "pc1_bins.QuantileBinsSegmenter",\n'          # the one registry line
    (copy / REGISTRY_FILE).write_text(registry.replace(LAST_ENTRY, LAST_ENTRY + line))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "SEGMENTS_", "CUSTSEG_"))}
    env.update(PYTHONPATH=str(copy / "src"), DBT_PROFILES_DIR=str(copy), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               DBT_DUCKDB_PATH=str(work / "toy.duckdb"), SEGMENTS_SERVING_PATH=str(work / "toy.serving.duckdb"))
    package = subprocess.run([sys.executable, "-c", "import custseg; print(custseg.__file__)"], cwd=copy, env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
    dbt = Path(sys.executable).parent / "dbt"
    build = subprocess.run([str(dbt), "build", "--no-use-colors"], cwd=copy, env=env, capture_output=True, text=True)
    report = subprocess.run([sys.executable, "-m", "custseg.report", "--out-dir", str(work / "reports")], cwd=copy,
                            env=env, capture_output=True, text=True)
    return {"work": work, "copy": copy, "before": before, "package": package, "build": build, "report": report}


def test_a_new_algorithm_is_one_module_and_one_registry_line(toy_build):
    build = toy_build["build"]
    assert build.returncode == 0, (build.stdout + build.stderr)[-6000:]
    assert Path(toy_build["package"]).is_relative_to(toy_build["copy"] / "src"), toy_build["package"]
    # nothing else had to change: only the new module and the registry differ from the original
    after = _source_files(toy_build["copy"])
    changed = {p for p in set(after) | set(toy_build["before"]) if after.get(p) != toy_build["before"].get(p)}
    assert changed == {str(Path("src/custseg/algorithms/pc1_bins.py")), str(REGISTRY_FILE)}

    with duckdb.connect(str(toy_build["work"] / "toy.serving.duckdb"), read_only=True) as con:
        def one(sql):
            return con.sql(sql).fetchall()

        clean = one("select clean_customers from input_summary")[0][0]
        metrics = one("select n_segments, customers, silhouette, stability_ari, inertia, noise_share "
                      "from segment_metrics where algorithm = 'pc1_bins'")
        assert len(metrics) == 1
        n_segments, customers, silhouette, stability, inertia, noise = metrics[0]
        assert (n_segments, customers, noise) == (3, clean, 0.0) and inertia is None
        assert -1 < silhouette < 1 and 0 < stability <= 1
        assert one("select count(*), count(distinct customer_id), min(segment_id), max(segment_id) "
                   "from segment_assignments where algorithm = 'pc1_bins'") == [(clean, clean, 1, 3)]
        profiles = one("select segment_id, segment_name, customers from segment_profiles "
                       "where algorithm = 'pc1_bins' order by segment_id")
        assert [p[0] for p in profiles] == [1, 2, 3] and sum(p[2] for p in profiles) == clean
        assert all(p[1] for p in profiles) and len({p[1] for p in profiles}) == 3
        # terciles of the fit sample: every bin holds about a third of everyone
        assert all(0.25 * clean < p[2] < 0.42 * clean for p in profiles)
        # the five others are still there, unchanged in number
        assert one("select count(*) from segment_metrics")[0][0] == 6

    report = toy_build["report"]
    assert report.returncode == 0, (report.stdout + report.stderr)[-3000:]
    page = (toy_build["work"] / "reports" / "segmentation_report.html").read_text(encoding="utf-8")
    assert 'id="pca2d_pc1_bins"' in page and "PC1 quantile bins" in page
