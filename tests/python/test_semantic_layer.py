"""The semantic layer and the dbt conventions, on the sample build.

MetricFlow (`mf validate-configs`, `mf query`) over the marts: customers and customer_share
by segment, the per-segment mean of a measure and its customer-weighted mean by algorithm,
each compared with the marts (moved_customers needs two runs: test_day_two.py). The marts
are public in a group with an owner, the rest protected or private; the descriptions reach
the DuckDB catalog of the working database and of the serving database a BI tool reads
(in DuckDB 2.0 and in the oldest release the serving file supports); exposures still list."""

from __future__ import annotations

import json
import re
import sys

import duckdb
import pytest

from conftest import PROJECT_DIR, assert_ok, mf_query, run_dbt, run_mf
from old_readers import READER_VERSIONS, run_script, reader_python

pytestmark = pytest.mark.dbt

MARTS = sorted(p.stem for p in (PROJECT_DIR / "models" / "marts").glob("*.sql"))
#: README's other BI tables ("What you get")
OTHER_PUBLIC = ["customer_features", "rejected_customers", "rejected_transactions", "segment_model_parameters"]

COMMENTS = r'''
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
columns = con.execute("select table_name, column_name, comment from duckdb_columns() "
                      "where schema_name = 'main' and comment is not null").fetchall()
tables = con.execute("select table_name, comment from duckdb_tables() "
                     "where schema_name = 'main' and comment is not null").fetchall()
print(json.dumps({"duckdb": duckdb.__version__, "columns": [list(r) for r in columns],
                  "tables": [list(r) for r in tables]}))
'''


def serving_file(build):
    return build.db_path.with_name(build.db_path.stem + ".serving.duckdb")


def manifest(build) -> dict:
    return json.loads((build.target_path / "manifest.json").read_text())


def models(build) -> dict:
    return {n["name"]: n for n in manifest(build)["nodes"].values() if n["resource_type"] == "model"}


# --------------------------------------------------------------------------- MetricFlow
def test_mf_validate_configs_passes(sample_build):
    proc = run_mf(sample_build, ["validate-configs"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Successfully validated the semantics of built manifest (ERRORS: 0" in out
    for what in ("semantic models", "dimensions", "entities", "measures", "metrics"):
        assert f"Successfully validated {what} against data warehouse (ERRORS: 0" in out


def test_customers_by_segment_name_are_the_mart_counts(sample_build):
    got = mf_query(sample_build, ["--metrics", "customers", "--group-by", "customer__segment_name"])
    assert list(got.columns) == ["customer__segment_name", "customers"]
    expected = dict(sample_build.query("select segment_name, count(*) from customer_segments group by 1"))
    assert dict(zip(got["customer__segment_name"], got["customers"])) == expected
    assert len(expected) >= 2
    assert sum(expected.values()) == sample_build.scalar("select count(*) from customer_segments")


def test_customer_share_is_the_primary_algorithms_share(sample_build):
    got = mf_query(sample_build, ["--metrics", "customer_share", "--group-by", "customer__segment_name"])
    shares = dict(zip(got["customer__segment_name"], got["customer_share"]))
    expected = dict(sample_build.query("select segment_name, share from segment_profiles where is_primary"))
    assert shares.keys() == expected.keys()
    for name, share in expected.items():
        assert shares[name] == pytest.approx(share, rel=1e-12)
    assert sum(shares.values()) == pytest.approx(1.0)
    # a filter narrows the group, not the whole: still the share of every customer
    name = max(expected, key=expected.get)
    filtered = mf_query(sample_build, ["--metrics", "customer_share,customers",
                                       "--where", "{{ Dimension('customer__segment_name') }} = '"
                                       + name.replace("'", "''") + "'"])
    assert filtered["customer_share"].tolist() == [pytest.approx(expected[name], rel=1e-12)]


def test_feature_mean_per_segment_and_weighted_by_customers_when_coarser(sample_build):
    per_segment = mf_query(sample_build, [
        "--metrics", "feature_mean",
        "--group-by", "feature_profile__algorithm,feature_profile__segment_id,feature_profile__feature"])
    mart = sample_build.df("select algorithm, segment_id, feature, mean_value, population_mean, customers "
                           "from segment_feature_profiles")
    joined = per_segment.merge(mart, left_on=["feature_profile__algorithm", "feature_profile__segment_id",
                                              "feature_profile__feature"],
                               right_on=["algorithm", "segment_id", "feature"], how="outer", indicator=True)
    assert (joined["_merge"] == "both").all() and len(joined) == len(mart) > 0
    assert joined["feature_mean"].tolist() == pytest.approx(joined["mean_value"].tolist(), rel=1e-12)

    # by algorithm: the mean over every customer (population_mean), not the mean of the means
    coarse = mf_query(sample_build, ["--metrics", "feature_mean", "--group-by",
                                     "feature_profile__algorithm,feature_profile__feature"])
    population = mart.groupby(["algorithm", "feature"]).agg(population_mean=("population_mean", "first"),
                                                             mean_of_means=("mean_value", "mean")).reset_index()
    both = coarse.merge(population, left_on=["feature_profile__algorithm", "feature_profile__feature"],
                        right_on=["algorithm", "feature"])
    assert len(both) == len(coarse) == len(population)
    assert both["feature_mean"].tolist() == pytest.approx(both["population_mean"].tolist(), rel=1e-12)
    unweighted = (both["mean_of_means"] - both["population_mean"]).abs() > 1e-6 * both["population_mean"].abs()
    assert unweighted.any()   # segments differ in size: a plain mean of the means would be wrong


# --------------------------------------------------------------------------- dbt conventions
def test_the_marts_are_public_in_a_group_with_an_owner_and_the_rest_is_not(sample_build):
    found = manifest(sample_build)
    groups = {g["name"]: g for g in found["groups"].values()}
    assert groups["customer_segmentation"]["owner"] == {"name": "Customer segmentation",
                                                        "email": "segmentation@example.com"}
    by_name = models(sample_build)
    assert {n["config"]["group"] for n in by_name.values()} == {"customer_segmentation"}
    public = sorted(name for name, n in by_name.items() if n["access"] == "public")
    assert public == sorted(MARTS + OTHER_PUBLIC)
    # the report's tables are protected, the pipeline's internals private
    assert by_name["report_points"]["access"] == by_name["segmentation_config"]["access"] == "protected"
    for internal in ("custseg_stg_customers", "int_customers__imputed", "int_customer_scores", "segment_model_fits",
                     "custseg_time_spine"):
        assert by_name[internal]["access"] == "private"


def test_exposures_still_list(tmp_path):
    run = run_dbt(["ls", "--resource-type", "exposure"], tmp_path)
    assert_ok(run)
    listed = set(re.findall(r"exposure:customer_segmentation\.(\w+)", run.output))
    assert listed == {"segmentation_report", "bi_dashboards"}


def _columns_described(build) -> dict:
    """(table, column) -> description, for every documented column of the published models."""
    return {(name, column): c["description"] for name, n in models(build).items()
            if n["access"] == "public" for column, c in n["columns"].items() if c["description"]}


def test_descriptions_are_comments_in_the_working_database(sample_build):
    described = _columns_described(sample_build)
    assert len(described) > 150
    got = dict(((t, c), comment) for t, c, comment in sample_build.query(
        "select table_name, column_name, comment from duckdb_columns() "
        "where schema_name = 'main' and comment is not null"))
    assert {key: got.get(key) for key in described} == described
    assert got[("customer_segments", "segment_name")] == "Readable segment name (see segment_profiles)."
    assert got[("customer_segments", "run_id")].startswith("The run that wrote the row")   # a doc() block
    relations = dict(sample_build.query(
        "select table_name, comment from duckdb_tables() where schema_name = 'main' union all "
        "select view_name, comment from duckdb_views() where schema_name = 'main'"))
    assert relations["customer_segments"].startswith("One row per clean customer")
    assert relations["segment_assignments"].startswith("One row per clean customer and algorithm")   # a view
    assert relations["segment_model_parameters"].startswith("The fitted parameters")   # a Python model
    assert relations["segment_migrations"].startswith("One row per pair of consecutive")   # incremental


@pytest.mark.parametrize("version", [None, READER_VERSIONS[0]])
def test_a_bi_reader_of_the_serving_database_sees_the_comments(sample_build, version):
    got = run_script(reader_python(version) if version else sys.executable, COMMENTS, serving_file(sample_build))
    columns = {(t, c): comment for t, c, comment in got["columns"]}
    working = dict(((t, c), comment) for t, c, comment in sample_build.query(
        "select table_name, column_name, comment from duckdb_columns() "
        "where schema_name = 'main' and comment is not null"))
    with duckdb.connect(str(serving_file(sample_build)), read_only=True) as con:
        published = {t for (t,) in con.execute("select table_name from duckdb_tables() "
                                               "where schema_name = 'main'").fetchall()}
    assert columns == {key: comment for key, comment in working.items() if key[0] in published}
    assert columns[("customer_segments", "segment_name")] == "Readable segment name (see segment_profiles)."
    assert columns[("segment_assignments", "membership_probability")].startswith("Gaussian mixture only")
    tables = dict(got["tables"])
    assert tables["customer_segments"].startswith("One row per clean customer")
    assert tables["segment_assignments"].startswith("One row per clean customer and algorithm")

