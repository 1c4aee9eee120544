"""segment_model_fits, the one table of fitted models: a working database of an earlier
version (one table per algorithm, kmeans_model ... gmm_model) keeps its saved models when
it is upgraded, so `segment_mode: score` still scores with them and a refit starts from them."""

from __future__ import annotations

import duckdb
import pytest

from custseg.algorithms import ALGORITHMS
from custseg.sample import write_sample

from conftest import assert_ok, run_dbt

FAST = {"stability_resamples": 0, "k_max": 6}


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory):
    work = tmp_path_factory.mktemp("model_fits")
    customers = work / "customers.csv"
    write_sample(2500, customers, seed=17)
    settings = {**FAST, "customers_path": str(customers)}
    first = run_dbt(["build"], work, vars=settings)
    assert_ok(first)
    assignments = "select customer_id, algorithm, segment_id, model_version from segment_assignments order by all"
    before = first.query(assignments)
    fits = first.query("select * from segment_model_fits order by algorithm")
    # the database as the earlier version left it: the same rows, one table per algorithm
    with duckdb.connect(str(first.db_path)) as con:
        for a in ALGORITHMS:
            con.sql(f'create table main."{a}_model" as select * from segment_model_fits where algorithm = \'{a}\'')
        con.sql("drop table segment_model_fits")
    scored = run_dbt(["build"], work, vars={**settings, "segment_mode": "score"})
    after = {"fits": scored.query("select * from segment_model_fits order by algorithm"),
             "assignments": scored.query(assignments)} if scored.returncode == 0 else {}
    refit = run_dbt(["build"], work, vars={**settings, "segment_mode": "refit"})
    return {"before": before, "fits": fits, "scored": scored, "after_score": after, "refit": refit}


def test_a_score_run_after_the_upgrade_scores_with_the_saved_models(upgraded):
    scored = upgraded["scored"]
    assert_ok(scored)
    assert "Scoring with model version 1" in scored.output
    # the saved rows are carried into the new table as they were, and score every customer as before
    assert upgraded["after_score"]["fits"] == upgraded["fits"]
    assert upgraded["after_score"]["assignments"] == upgraded["before"]


def test_a_refit_after_the_upgrade_starts_from_the_carried_versions(upgraded):
    refit = upgraded["refit"]
    assert_ok(refit)
    rows = refit.query("select algorithm, model_version, previous_version from segment_model_fits "
                       "order by model_version, algorithm")
    assert rows == [(a, 1, None) for a in sorted(ALGORITHMS)] + [(a, 2, 1) for a in sorted(ALGORITHMS)]
    # the same input, refitted from the saved version: every segment kept its id
    kept = refit.query("select algorithm, new_ids_json, retired_ids_json from segment_model_fits "
                       "where model_version = 2")
    assert all(new == "[]" and retired == "[]" for _, new, retired in kept), kept
