"""Lists that live on both sides (SQL and Python) agree: one catalogue, one registry."""

from __future__ import annotations

import csv
import re

from custseg import catalogue
from custseg.transactions import CANONICAL
from custseg.algorithms import REGISTRY, Segmenter
from conftest import PROJECT_DIR


def macro_list(path: str, name: str) -> list[str]:
    text = (PROJECT_DIR / path).read_text()
    body = re.search(r"\{%\s*macro\s+" + name + r"\(\)\s*%\}(.*?)\{%\s*endmacro", text, re.S).group(1)
    return re.findall(r"'([a-z_]+)'", body)


def test_the_sql_algorithm_list_is_the_registry():
    assert macro_list("macros/segmentation.sql", "segmentation_algorithms") == list(REGISTRY)
    for name, cls in REGISTRY.items():
        assert issubclass(cls, Segmenter) and cls.name == name
        model = PROJECT_DIR / "python_models" / f"{name}_model.py"
        assert model.exists() and f'"{name}"' in model.read_text()


def test_the_kinds_validated_at_parse_are_the_catalogue_kinds():
    assert macro_list("macros/settings.sql", "feature_kind_names") == list(catalogue.kinds())


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
