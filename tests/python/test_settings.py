"""Every var has one definition (custseg.settings): its default, its check and what it means.
dbt_project.yml and the macros' parse-time defaults say the same, and each check gives the
one line a user can act on."""

from __future__ import annotations

import pytest
import yaml

from conftest import PROJECT_DIR
from custseg import settings as schema
from custseg.settings import SettingError, Settings


def test_dbt_project_lists_every_var_with_its_default_in_order():
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    assert list(project["vars"]) == schema.names()
    assert project["vars"] == schema.defaults()


def test_every_var_is_named_in_readme():
    readme = (PROJECT_DIR / "README.md").read_text()
    for name in schema.names():
        assert f"`{name}`" in readme, f"README does not mention {name}"


def test_dbt_project_vars_and_the_parse_time_defaults_are_generated_from_the_schema():
    text = (PROJECT_DIR / "dbt_project.yml").read_text()
    assert schema._replace_vars_block(text) == text, "run `python -m custseg.settings` to regenerate them"
    assert (PROJECT_DIR / schema.JINJA_DEFAULTS).read_text() == schema.jinja_defaults()


def test_the_defaults_pass_their_own_checks():
    assert Settings().to_dict() == Settings.validate(schema.defaults()).to_dict()


@pytest.mark.parametrize("vars, message", [
    ({"outlier_method": "clip"}, "Invalid var 'outlier_method': got \"clip\"; expected one of cap, reject, none"),
    ({"k_max": 1}, "Invalid var 'k_max': got 1; expected an integer from 2 to 50"),
    ({"k_min": 6, "k_max": 4}, "Invalid var 'k_max': got 4; expected at least k_min (6)"),
    ({"kmeans_k": 2.5}, "Invalid var 'kmeans_k': got 2.5; expected an integer or null"),
    ({"max_rejected_share": 0.05, "warn_rejected_share": 0.2},
     "Invalid var 'warn_rejected_share': got 0.2; expected at most max_rejected_share (0.05)"),
    ({"som_grid": [1, 9]}, "Invalid var 'som_grid': got [1, 9]; expected [rows, cols] with 2 to 50 nodes each"),
    ({"customers_path": "{{ run_query('x') }}"}, "expected a file path (text, not a template: settings are data)"),
    ({"customers_path": "a.csv", "transactions_path": "b.csv"}, "Set customers_path or transactions_path, not both"),
    ({"customers_path": "a.csv", "customers_relation": {"postgres": "s.t"}},
     "Set customers_path or customers_relation, not both"),
    ({"customers_relation": {"postgres": "no_schema"}}, "{postgres: schema.table}, e.g. {postgres: public.customers}"),
    ({"feature_columns": ["only_one"]}, "expected at least two columns (or null to infer them)"),
    ({"feature_columns": {"a": "money"}}, "a map {column: kind} with kinds among amount, net_amount"),
    ({"ignore_columns": ["a", "A"]}, "each column once; 'A' is listed twice"),
    ({"as_of": "31/12/2024"}, "Invalid var 'as_of': got \"31/12/2024\"; expected a date YYYY-MM-DD"),
    ({"primary_algorithm": "kmedoids"}, "expected one of kmeans, hierarchical, som, density, gmm"),
    ({"serving_storage_version": "v1.3.0"}, "expected one of v1.0.0, v1.2.0, v1.4.0, v1.5.0, v2.0.0"),
    ({"publish_postgres": "yes"}, "Invalid var 'publish_postgres': got \"yes\"; expected true or false"),
    ({"postgres_schema": "public"}, "a schema name of at most 40 characters that the publish owns"),
    ({"kmean_k": 4}, "Unknown var 'kmean_k' (did you mean kmeans_k?); the vars are listed in dbt_project.yml."),
    ({"model_features": ["a", "b"]}, "The var 'model_features' was renamed 'feature_columns'"),
])
def test_a_bad_var_is_one_line_naming_it(vars, message):
    with pytest.raises(SettingError) as caught:
        Settings.validate(vars)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_values_are_normalised_once():
    s = Settings.validate({"som_grid": [3, 4], "ignore_columns": None, "column_map": None, "as_of": "2024-01-31"})
    assert s.som_grid == (3, 4) and s.ignore_columns == [] and s.column_map == {} and s.as_of == "2024-01-31"
