"""segment_mode score_changes: the nightly run that stages, cleans and scores only the
customers whose input rows changed, then applies them to the published tables.

One refit on the embedded sample, copied into two databases. The next night's file (1% new
customers, changed and invalid records, departed customers, a row without an id, a line
that does not parse in place of another) is then
built both ways: `score_changes` in one, a full `score` build in the other. What BI reads
must be the same, customer by customer."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from custseg import sample

from conftest import PROJECT_DIR, assert_ok, run_dbt

FAST = {"stability_resamples": 1}
SELECTOR = ["--selector", "score_changes"]


def _build(work, path, args=None, **vars):
    return run_dbt(["build", *(args or [])], work, vars={**FAST, "customers_path": str(path), **vars},
                   db_name="segments.duckdb")


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    changes = tmp_path_factory.mktemp("score_changes")
    full = tmp_path_factory.mktemp("score_full")
    base = pd.read_csv(PROJECT_DIR / "seeds" / "custseg_sample_customers.csv", dtype=str, keep_default_na=False)
    day1 = changes / "day1.csv"
    base.to_csv(day1, index=False)
    with open(day1, "a") as out:
        out.write("C19999,12,too,few\n")   # a malformed line: rejected at reading
    assert_ok(_build(changes, day1))
    for name in ("segments.duckdb", "segments.serving.duckdb"):
        shutil.copy(changes / name, full / name)

    generated = sample.generate_clean(len(base) // 100, seed=93, id_offset=70001)
    new = sample._to_text(generated[list(sample.CC_GENERAL_COLUMNS)])
    day2 = pd.concat([base, new], ignore_index=True)
    clean = [i for i in day2["CUST_ID"].drop_duplicates(keep=False) if i.startswith("C1")]
    changed, departed, broken = clean[:30], clean[30:50], clean[50:55]
    day2.loc[day2["CUST_ID"].isin(changed), "PURCHASES"] = "25000"
    day2.loc[day2["CUST_ID"].isin(broken), "BALANCE"] = "lots"
    day2 = day2[~day2["CUST_ID"].isin(departed)]
    no_id = day2.iloc[[0]].assign(CUST_ID="")
    day2 = pd.concat([day2, no_id], ignore_index=True)
    path = changes / "day2.csv"
    day2.to_csv(path, index=False)
    with open(path, "a") as out:   # another malformed line, with the id of a readable row
        out.write(",".join([clean[60]] + ["1"] * 20) + "\n")

    run = _build(changes, path, SELECTOR, segment_mode="score_changes")
    assert_ok(run)
    assert_ok(_build(full, path, segment_mode="score"))
    return {"changes": changes, "full": full, "run": run, "path": path, "new": set(new["CUST_ID"]),
            "changed": set(changed), "departed": set(departed), "broken": set(broken),
            "malformed": clean[60]}


def _read(work, sql):
    with duckdb.connect(str(work / "segments.serving.duckdb"), read_only=True) as con:
        return con.sql(sql).df()


def _same(nights, sql, key):
    a = _read(nights["changes"], sql).sort_values(key, ignore_index=True)
    b = _read(nights["full"], sql).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)
    return a


def test_the_run_stages_only_the_customers_that_changed(nights):
    out = nights["run"].output
    assert "Published run" in out
    counts = _read(nights["changes"], "select 1")  # the serving database opens: the swap happened
    assert len(counts) == 1
    with duckdb.connect(str(nights["changes"] / "segments.duckdb"), read_only=True) as con:
        changes = dict(con.sql("select change, count(*) from customer_changes group by change").fetchall())
        staged = con.sql("select count(*) from stg_customers__changes").fetchall()[0][0]
        rescored = con.sql("select count(*) from customer_features__changes").fetchall()[0][0]
    with duckdb.connect(str(nights["full"] / "segments.duckdb"), read_only=True) as con:
        without_id = con.sql("select count(*) from stg_customers where customer_id is null").fetchall()[0][0]
        malformed = con.sql("select count(*) from stg_customers where input_row_hash is null").fetchall()[0][0]
    assert changes == {"new": len(nights["new"]), "departed": len(nights["departed"]),
                       "changed": len(nights["changed"]) + len(nights["broken"])}
    assert without_id >= 1 and malformed == 1
    # and every row without an id, and every line that did not parse
    assert staged == changes["new"] + changes["changed"] + without_id + malformed
    # unchanged customers keep the run that scored them; the changed ones have tonight's
    run_ids = _read(nights["changes"], "select run_id, count(*) as n from segment_assignments group by run_id")
    assert len(run_ids) == 2
    assert run_ids["n"].min() == 5 * rescored and rescored >= len(nights["new"])


def test_customers_features_and_segments_equal_a_full_score_build(nights):
    features = _same(nights, "select * from customer_features", ["customer_id"])
    ids = set(features["customer_id"])
    assert nights["new"] <= ids and not (nights["departed"] | nights["broken"]) & ids
    _same(nights, "select * exclude (run_id) from segment_assignments", ["customer_id", "algorithm"])
    _same(nights, "select * exclude (run_id, segment_description) from customer_segments", ["customer_id"])
    _same(nights, "select algorithm, segment_id, customers, share from segment_profiles", ["algorithm", "segment_id"])


def test_rejected_rows_equal_a_full_score_build(nights):
    rejected = _same(nights, "select customer_id, reject_stage, reject_reasons from rejected_customers",
                     ["customer_id", "reject_stage", "reject_reasons"])
    assert nights["broken"] <= set(rejected["customer_id"])
    assert rejected["customer_id"].isna().sum() >= 1
    assert rejected.loc[rejected["reject_stage"] == "reading", "customer_id"].tolist() == [nights["malformed"]]


def test_history_and_migrations_equal_a_full_score_build(nights):
    _same(nights, "select customer_id, algorithm, segment_id, segment_name, model_version, "
                  "valid_to_run_id is null as open from segment_history", ["customer_id", "algorithm", "open"])
    moves = _same(nights, "select algorithm, from_segment_id, to_segment_id, customers from segment_migrations",
                  ["algorithm", "from_segment_id", "to_segment_id"])
    arrived = moves[moves["from_segment_id"].isna()].groupby("algorithm")["customers"].sum()
    assert len(set(arrived)) == 1 and arrived.min() >= len(nights["new"])


def test_a_night_without_changes_publishes_and_changes_nothing(nights):
    before = _read(nights["changes"], "select * exclude (run_id) from segment_assignments")
    run = _build(nights["changes"], nights["path"], SELECTOR, segment_mode="score_changes")
    assert_ok(run)
    assert "no customer changed" in run.output
    after = _read(nights["changes"], "select * exclude (run_id) from segment_assignments")
    pd.testing.assert_frame_equal(before.sort_values(["customer_id", "algorithm"], ignore_index=True),
                                  after.sort_values(["customer_id", "algorithm"], ignore_index=True))


def test_score_changes_refuses_other_models_and_a_database_without_a_build(nights, tmp_path):
    run = _build(nights["changes"], nights["path"], ["--select", "customer_features+"], segment_mode="score_changes")
    assert run.returncode != 0
    assert "run it as dbt build --selector score_changes" in run.output
    run = _build(tmp_path, nights["path"], SELECTOR, segment_mode="score_changes")
    assert run.returncode != 0
    assert "updates the last published full build" in run.output


def test_a_refused_night_is_recorded_as_refused_and_the_next_night_runs(nights, tmp_path):
    frame = pd.read_csv(nights["path"], dtype=str, keep_default_na=False, on_bad_lines="skip")
    path = tmp_path / "no_purchases.csv"
    frame.drop(columns=["PURCHASES"]).to_csv(path, index=False)
    run = _build(nights["changes"], path, SELECTOR, segment_mode="score_changes")
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if "no longer has the columns" in line]
    assert lines and "purchases" in lines[0], run.output[-2000:]
    # a refusal is not a crash: the next night neither reports it as killed nor needs a full build
    run = _build(nights["changes"], nights["path"], SELECTOR, segment_mode="score_changes")
    assert_ok(run)
    assert "did not finish" not in run.output and "no customer changed" in run.output
    with duckdb.connect(str(nights["changes"] / "segments.duckdb"), read_only=True) as con:
        statuses = con.sql("select status from custseg_runs order by started_at desc limit 2").fetchall()
    assert statuses == [("published",), ("refused",)]


def test_a_later_latest_date_rescores_everyone_else_only_the_changed(tmp_path):
    """Recency is measured from the input's latest date: when it moves, every customer has
    changed; when it does not, only the customers whose rows changed are rescored."""
    rng = np.random.default_rng(5)
    n = 400
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    frame = pd.DataFrame({"customer_id": [f"K{i:04d}" for i in range(n)],
                          "last_purchase": day.strftime("%Y-%m-%d"),
                          "spend": rng.gamma(2.0, 300.0, n).round(2), "visits": rng.poisson(6, n),
                          "basket": rng.gamma(3.0, 20.0, n).round(2)})
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    assert_ok(_build(tmp_path, path, k_max=4))

    later = pd.DataFrame({"customer_id": ["K9999"], "last_purchase": ["2025-06-30"], "spend": [500.0],
                          "visits": [4], "basket": [60.0]})
    pd.concat([frame, later]).to_csv(path, index=False)
    run = _build(tmp_path, path, SELECTOR, k_max=4, segment_mode="score_changes")
    assert_ok(run)
    assert f"{n} changed, 1 new" in run.output

    grown = pd.concat([frame, later])
    grown.loc[grown["customer_id"] == "K0007", "spend"] = 99999.0
    grown.to_csv(path, index=False)
    run = _build(tmp_path, path, SELECTOR, k_max=4, segment_mode="score_changes")
    assert_ok(run)
    assert "1 changed (" in run.output
    recency = _read(tmp_path, "select customer_id, days_since_last_purchase as days from customer_features"
                    ).set_index("customer_id")
    expected = (pd.Timestamp("2025-06-30") - pd.to_datetime(frame.set_index("customer_id")["last_purchase"])).dt.days
    assert recency["days"].drop("K9999").astype(int).equals(expected.loc[recency.index.drop("K9999")])
