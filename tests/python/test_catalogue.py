"""Lists that live on both sides (SQL and Python) agree: one catalogue, one registry."""

from __future__ import annotations

import csv
import re

import yaml

from custseg import catalogue
from custseg.transactions import CANONICAL
from custseg.algorithms import REGISTRY, SegmentModel, Segmenter
from conftest import PROJECT_DIR


def macro_list(path: str, name: str) -> list[str]:
    text = (PROJECT_DIR / path).read_text()
    body = re.search(r"\{%\s*macro\s+" + name + r"\(\)\s*%\}(.*?)\{%\s*endmacro", text, re.S).group(1)
    return re.findall(r"'([a-z_]+)'", body)


def test_the_sql_side_reads_the_registry_and_no_list_of_its_own():
    from custseg.algorithms import algorithm_info

    info = algorithm_info()
    assert [a["name"] for a in info] == list(REGISTRY)
    for a in info:
        cls = REGISTRY[a["name"]]
        assert issubclass(cls, Segmenter) and issubclass(cls.model, SegmentModel) and cls.label == a["label"]
        assert {k: a[k] for k in ("has_noise", "gives_probability", "gives_node", "distance_to_centre")} == {
            k: getattr(cls.model, k) for k in ("has_noise", "gives_probability", "gives_node", "distance_to_centre")}
    assert "run_context().algorithms" in (PROJECT_DIR / "macros" / "segmentation.sql").read_text()
    # one Python model fits them all; no per-algorithm model files (rfm_model: the rules)
    assert sorted(p.name for p in (PROJECT_DIR / "python_models").glob("*_model.py")) == ["rfm_model.py"]
    assert not [p.name for p in (PROJECT_DIR / "models" / "spark").glob("*_model.sql")]


def test_yaml_names_only_per_algorithm_columns_the_registry_gives():
    """YAML documents the per-algorithm columns of int_customer_scores by their pattern; any
    column it names (e.g. som_node) is a registered algorithm's, one its model gives."""
    gives = {"segment_id": lambda m: True, "distance": lambda m: True,
             "probability": lambda m: m.gives_probability, "node": lambda m: m.gives_node}
    pattern = re.compile(r"^(\w+?)_(segment_id|distance|probability|node)$")
    named = []
    for path in [*(PROJECT_DIR / "models").rglob("*.yml"), *(PROJECT_DIR / "python_models").glob("*.yml")]:
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            if model["name"] == "int_customer_scores":
                named += [c["name"] for c in model.get("columns", []) if pattern.match(c["name"])]
    assert named == ["som_node"]
    for column in named:
        algorithm, output = pattern.match(column).groups()
        assert algorithm in REGISTRY and gives[output](REGISTRY[algorithm].model), column


def test_every_catalogue_feature_has_a_known_kind_and_known_inputs():
    features = catalogue.features()
    for f in features.values():
        assert f.kind == "id" or f.kind in catalogue.kinds(), f.name
        for i in f.inputs:
            if f.operation == "transactions":     # canonical transaction columns
                assert i in CANONICAL, (f.name, i)
            else:
                assert i in features and features[i].operation == "input", (f.name, i)
        assert f.label and (f.kind == "id" or (f.phrase_high and f.phrase_low)), f.name


def test_the_seeds_dbt_loads_are_the_files_the_package_reads():
    seed_paths = re.search(r"seed-paths:\s*\[(.*?)\]", (PROJECT_DIR / "dbt_project.yml").read_text()).group(1)
    assert '"src/custseg/seeds"' in seed_paths
    with open(PROJECT_DIR / "src" / "custseg" / "seeds" / "feature_catalogue.csv", newline="") as fh:
        names = [row["name"] for row in csv.DictReader(fh)]
    assert names == list(catalogue.features())


def test_the_catalogue_seed_in_a_build_matches_the_package(sample_build):
    built = dict(sample_build.query("select name, kind from feature_catalogue"))
    assert built == {f.name: f.kind for f in catalogue.features().values()}
    # and the engineered features of the build are the catalogue's whose inputs exist
    columns = {r[0] for r in sample_build.query(
        "select column_name from information_schema.columns where table_name = 'customer_features'")}
    derived = {f.name for f in catalogue.derived_features()}
    assert derived <= columns


def test_every_model_folder_has_one_yaml_and_every_model_a_description():
    """README "Working on the project": one YAML per model folder (dbt unit tests aside); every
    model is described (the spark target's stand-ins by the models they stand in for)."""
    folders = [p for p in (PROJECT_DIR / "models").iterdir() if p.is_dir()] + [PROJECT_DIR / "python_models"]
    described, models = {}, set()
    for folder in folders:
        docs = [p for p in folder.glob("*.yml") if not p.name.endswith("_unit_tests.yml")]
        assert len(docs) == 1, (folder.name, docs)
        described |= {m["name"]: m.get("description") for m in yaml.safe_load(docs[0].read_text())["models"]}
        models |= {p.stem for p in [*folder.glob("*.sql"), *folder.glob("*.py")]}
    assert not models - set(described), sorted(models - set(described))
    assert all(described[m] for m in models)
