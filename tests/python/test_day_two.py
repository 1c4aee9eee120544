"""Day two: three builds in a row into one database, as a nightly job would run them.

Day 1 fits on the embedded sample; day 2 adds 1% new customers and refits; day 3 adds more,
changes a few records, drops a few customers and only scores. Then: a score run refused
when a saved feature is gone, a rollback to model version 1, `auto` refitting on change,
and a partial build that takes the invocation's vars."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custseg import sample
from custseg.report import build_report

from conftest import PROJECT_DIR, assert_ok, mf_query, run_dbt

FAST = {"stability_resamples": 1}
CHANGED = 30
DEPARTED = 20


def _new_customers(n: int, seed: int, first_id: int) -> pd.DataFrame:
    return sample._to_text(sample.generate_clean(n, seed=seed, id_offset=first_id)[list(sample.CC_GENERAL_COLUMNS)])


class Days:
    def __init__(self, work: Path):
        self.work = work
        self.serving = work / "segments.serving.duckdb"

    def build(self, path: Path | None, args: list[str] | None = None, **vars):
        full = {**FAST, **vars}
        if path is not None:
            full["customers_path"] = str(path)
        return run_dbt(["build", *(args or [])], self.work, vars=full, db_name="segments.duckdb")

    def assignments(self) -> pd.DataFrame:
        with duckdb.connect(str(self.serving), read_only=True) as con:
            return con.sql("select customer_id, algorithm, segment_id, segment_name, model_version, run_id "
                           "from segment_assignments").df()

    def query(self, sql: str):
        with duckdb.connect(str(self.serving), read_only=True) as con:
            return con.sql(sql).df()


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    work = tmp_path_factory.mktemp("day_two")
    d = Days(work)
    base = pd.read_csv(PROJECT_DIR / "seeds" / "custseg_sample_customers.csv", dtype=str, keep_default_na=False)
    d.base_ids = set(base["CUST_ID"])
    day1 = work / "day1.csv"
    base.to_csv(day1, index=False)
    added2 = _new_customers(len(base) // 100, seed=91, first_id=80001)
    day2 = work / "day2.csv"
    pd.concat([base, added2]).to_csv(day2, index=False)
    # day 3: more new customers, a few records changed, a few customers gone
    added3 = _new_customers(len(base) // 50, seed=92, first_id=90001)
    d.added3 = len(added3)
    day3_frame = pd.concat([base, added2, added3], ignore_index=True)
    clean_ids = [i for i in day3_frame["CUST_ID"].drop_duplicates(keep=False) if i.startswith("C1")]
    d.changed_ids = set(clean_ids[:CHANGED])
    d.departed_ids = set(clean_ids[CHANGED:CHANGED + DEPARTED])
    rows = day3_frame["CUST_ID"].isin(d.changed_ids)
    day3_frame.loc[rows, "PURCHASES"] = "25000"
    day3_frame.loc[rows, "ONEOFF_PURCHASES"] = "25000"
    day3_frame = day3_frame[~day3_frame["CUST_ID"].isin(d.departed_ids)]
    d.day3 = work / "day3.csv"
    day3_frame.to_csv(d.day3, index=False)

    for name, path, mode in (("1", day1, "refit"), ("2", day2, "refit"), ("3", d.day3, "score")):
        run = d.build(path, segment_mode=mode)
        assert_ok(run)
        setattr(d, f"run{name}", run)
        setattr(d, f"a{name}", d.assignments())
    return d


def _changed_share(before: pd.DataFrame, after: pd.DataFrame) -> pd.Series:
    both = before.merge(after, on=["customer_id", "algorithm"], suffixes=("_before", "_after"))
    moved = (both.segment_id_before != both.segment_id_after) | (both.segment_name_before != both.segment_name_after)
    return moved.groupby(both.algorithm).mean()


def test_a_refit_on_one_percent_more_customers_keeps_ids_and_names(days):
    assert days.a2.model_version.max() == days.a1.model_version.max() + 1
    share = _changed_share(days.a1, days.a2)
    assert len(share) == 5
    for algorithm, value in share.items():
        assert value <= (0.10 if algorithm == "density" else 0.05), share


def test_a_score_run_keeps_every_unchanged_customer_where_it_was(days):
    assert "Scoring with model version 2" in days.run3.output
    assert set(days.a3.model_version) == {2}
    unchanged = days.a2[~days.a2.customer_id.isin(days.changed_ids | days.departed_ids)]
    both = unchanged.merge(days.a3, on=["customer_id", "algorithm"], suffixes=("_2", "_3"))
    assert len(both) == len(unchanged)
    assert (both.segment_id_2 == both.segment_id_3).all() and (both.segment_name_2 == both.segment_name_3).all()
    assert not days.a3.customer_id.isin(days.departed_ids).any()
    assert days.a3.customer_id.str.startswith("C9").sum() == 5 * days.added3


def test_history_and_migrations_account_for_every_customer_of_both_runs(days):
    history = days.query("select * from segment_history")
    runs = {n: getattr(days, f"a{n}").run_id.iloc[0] for n in "123"}
    for n, run in runs.items():
        valid = history[(history.valid_from_run_id <= run)
                        & (history.valid_to_run_id.isna() | (history.valid_to_run_id > run))]
        expected = getattr(days, f"a{n}")[["customer_id", "algorithm", "segment_id", "segment_name"]]
        got = valid[["customer_id", "algorithm", "segment_id", "segment_name"]]
        key = ["algorithm", "customer_id"]
        pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                      expected.sort_values(key).reset_index(drop=True), check_dtype=False)

    moves = days.query(f"select * from segment_migrations where to_run_id = '{runs['3']}'")
    assert set(moves.from_run_id) == {runs["2"]}
    joined = days.a2.merge(days.a3, on=["customer_id", "algorithm"], how="outer", suffixes=("_from", "_to"))
    expected = (joined.groupby(["algorithm", "segment_id_from", "segment_id_to"], dropna=False)
                .size().rename("customers").reset_index())
    got = moves.rename(columns={"from_segment_id": "segment_id_from", "to_segment_id": "segment_id_to"})
    key = ["algorithm", "segment_id_from", "segment_id_to"]
    merged = expected.merge(got[key + ["customers"]], on=key, how="outer", suffixes=("", "_mart"))
    assert (merged.customers == merged.customers_mart).all(), merged[merged.customers != merged.customers_mart]
    per_algorithm = moves.groupby("algorithm").customers.sum()
    assert (per_algorithm == len(set(days.a2.customer_id) | set(days.a3.customer_id))).all()
    assert (moves[moves.to_segment_id.isna()].groupby("algorithm").customers.sum() == DEPARTED).all()


def test_the_semantic_layer_counts_the_moves_of_each_run_pair(days):
    """moved_customers and its siblings (mf query) against the marts, before later builds add pairs."""
    got = mf_query(days.run3, ["--metrics", "moved_customers,stayed_customers,arrived_customers,departed_customers",
                               "--group-by", "migration__algorithm,migration__run_id"])
    got = got.set_index(["migration__algorithm", "migration__run_id"]).sort_index()
    runs = {n: getattr(days, f"a{n}").run_id.iloc[0] for n in "123"}
    assert set(got.index.get_level_values(1)) == {runs["2"], runs["3"]}
    expected = days.run3.df(
        "select algorithm, to_run_id, "
        "sum(case when from_segment_id <> to_segment_id then customers else 0 end) as moved_customers, "
        "sum(case when from_segment_id = to_segment_id then customers else 0 end) as stayed_customers, "
        "sum(case when from_segment_id is null then customers else 0 end) as arrived_customers, "
        "sum(case when to_segment_id is null then customers else 0 end) as departed_customers "
        "from segment_migrations group by all").set_index(["algorithm", "to_run_id"]).sort_index()
    assert got.to_dict("index") == {key: {c: int(v) for c, v in row.items()}
                                    for key, row in expected.to_dict("index").items()}
    # the score run: the customers of one run only, and every customer of both who changed segment
    arrived = len(set(days.a3.customer_id) - set(days.a2.customer_id))
    assert arrived >= days.added3
    both = days.a2.merge(days.a3, on=["customer_id", "algorithm"], suffixes=("_2", "_3"))
    moved = (both.segment_id_2 != both.segment_id_3).groupby(both.algorithm).sum()
    for algorithm in moved.index:
        row = got.loc[(algorithm, runs["3"])]
        assert row.departed_customers == DEPARTED and row.arrived_customers == arrived
        stayed = (both.algorithm == algorithm).sum() - moved[algorithm]
        assert row.moved_customers == moved[algorithm] and row.stayed_customers == stayed
    assert moved.sum() > 0   # the changed records moved somewhere


def test_the_report_shows_the_moves_since_the_previous_run(days, tmp_path):
    page = build_report(days.serving, tmp_path, workers=1).read_text()
    assert 'id="changes"' in page and "moves since the previous run" in page


def test_score_refuses_a_saved_model_whose_features_are_gone(days, tmp_path):
    frame = pd.read_csv(days.day3, dtype=str, keep_default_na=False).drop(columns=["PURCHASES", "CASH_ADVANCE"])
    path = tmp_path / "no_purchases.csv"
    frame.to_csv(path, index=False)
    before = days.assignments().run_id.iloc[0]
    run = days.build(path, segment_mode="score")
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if "no longer has the columns" in line]
    assert lines and "purchases" in lines[0] and "cash_advance" in lines[0], run.output[-2000:]
    assert days.assignments().run_id.iloc[0] == before


def test_a_pinned_model_version_rolls_back_and_auto_refits_on_change(days):
    pinned = days.build(days.day3, segment_mode="score", model_version=1)
    assert_ok(pinned)
    now = days.assignments()
    assert set(now.model_version) == {1}
    unchanged = days.a1[~days.a1.customer_id.isin(days.changed_ids | days.departed_ids)]
    both = unchanged.merge(now, on=["customer_id", "algorithm"], suffixes=("_1", "_now"))
    assert len(both) == len(unchanged) and (both.segment_id_1 == both.segment_id_now).all()

    auto = days.build(days.day3, segment_mode="auto", refit_after_change=0.001)
    assert_ok(auto)
    assert "a refit" in auto.output and "changed by" in auto.output
    assert set(days.assignments().model_version) == {3}


def test_a_partial_build_uses_the_vars_of_its_invocation(days):
    run = days.build(days.day3, ["--select", "segment_model_fits+"], kmeans_k=4)
    assert_ok(run)
    assert "a full dbt build publishes" in run.output      # a partial build never publishes
    fitted = run.df("select n_segments, parameters_json from segment_model_fits where algorithm = 'kmeans' "
                    "order by model_version desc limit 1")
    assert fitted.n_segments.iloc[0] == 4 and '"k_rule": "fixed"' in fitted.parameters_json.iloc[0]
    assert run.scalar("select count(distinct segment_id) from segment_assignments where algorithm = 'kmeans'") == 4
