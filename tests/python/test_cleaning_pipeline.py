"""End-to-end: input handling, cleaning and features, built by dbt on real files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg import sample
from conftest import PROJECT_DIR, assert_ok, assert_refused_before_any_model, run_dbt

pytestmark = pytest.mark.dbt

CLEANING = ["build", "--selector", "cleaning"]


def conservation(run) -> tuple[int, int, int]:
    input_rows = run.scalar("select count(*) from stg_customers")
    clean = run.scalar("select sum(source_row_count) from customer_features")
    rejected = run.scalar("select count(*) from rejected_customers")
    return input_rows, clean, rejected


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    run = run_dbt(CLEANING, tmp_path_factory.mktemp("sample"))
    assert_ok(run)
    return run


def test_sample_rows_are_conserved(sample_run):
    raw_rows = sample_run.scalar("select count(*) from custseg_sample_customers")
    input_rows, clean, rejected = conservation(sample_run)
    assert raw_rows == input_rows == 9121
    assert clean + rejected == input_rows
    collapsed = sample_run.scalar("select sum(source_row_count - 1) from customer_features")
    customers = sample_run.scalar("select count(*) from customer_features")
    # the generator's 9,000 clean customers, plus its text-dirt rows whose text is 'n/a' in a
    # column that may be missing: 'n/a' means no value, so it is imputed, not rejected
    seed = pd.read_csv(PROJECT_DIR / "seeds" / "custseg_sample_customers.csv", dtype=str, keep_default_na=False)
    optional = ["PAYMENTS", "CREDIT_LIMIT", "TENURE"]
    na_rows = seed[seed[optional].eq("n/a").any(axis=1)]
    assert len(na_rows) == 1 and customers == 9000 + len(na_rows)
    assert sample_run.scalar(f"select imputed_columns from customer_features where customer_id = "
                             f"'{na_rows.iloc[0]['CUST_ID']}'") != ""
    # the file's exact duplicate rows (counted here by pandas) collapse into the rows they copy
    assert collapsed == seed.duplicated().sum() == 54
    assert customers + collapsed + rejected == input_rows


def test_sample_features_exist_for_every_clean_customer(sample_run):
    nulls = sample_run.query(
        "select count(*) filter (where credit_utilization is null), "
        "count(*) filter (where total_transactions is null) from customer_features"
    )[0]
    assert nulls == (0, 0)
    # spot-check the arithmetic against the columns it comes from
    bad = sample_run.scalar(
        "select count(*) from customer_features "
        "where abs(credit_utilization - balance / credit_limit) > 1e-9 "
        "or total_transactions <> purchases_trx + cash_advance_trx"
    )
    assert bad == 0


def test_sample_dirt_lands_in_rejected_with_reasons(sample_run):
    reasons = dict(sample_run.query(
        "select reason, count(*) from (select unnest(string_split(reject_reasons, ',')) as reason "
        "from rejected_customers) group by reason"
    ))
    for code in ["missing_customer_id", "non_numeric_value", "negative_amount",
                 "frequency_out_of_range", "invalid_credit_limit", "conflicting_duplicate_id"]:
        assert reasons.get(code, 0) >= 1, (code, reasons)
    detail = sample_run.scalar(
        "select reject_detail from rejected_customers where reject_reasons = 'non_numeric_value' limit 1"
    )
    assert "is not a number" in detail


def test_sample_imputation_and_capping_are_flagged(sample_run):
    imputed = dict(sample_run.query(
        "select imputed_columns, count(*) from customer_features group by 1"
    ))
    assert imputed.get("minimum_payments", 0) > 150
    assert imputed.get("credit_limit", 0) >= 1
    # the payments = 0 rule: nothing paid, minimum paid is 0
    zero_rule = sample_run.scalar(
        "select count(*) from customer_features where imputed_columns like '%minimum_payments%' "
        "and payments = 0 and minimum_payments <> 0"
    )
    assert zero_rule == 0
    # extreme outliers are named, and kept as they were (capping happens in the model space
    # only, so totals match the source); the cap is the 0.995 quantile of the kept customers
    cap = sample_run.scalar("select cap_value from int_cleaning_parameters where column_name = 'balance'")
    flagged = sample_run.scalar("select count(*) from customer_features where outlier_columns like '%balance%'")
    above = sample_run.scalar(f"select count(*) from customer_features where balance > {cap}")
    assert flagged == above > 0
    assert sample_run.scalar("select max(balance) from customer_features") > cap


def test_real_file_builds_and_conserves_rows(cc_general_path, tmp_path):
    run = run_dbt(CLEANING, tmp_path, vars={"customers_path": str(cc_general_path)})
    assert_ok(run)
    input_rows, clean, rejected = conservation(run)
    assert input_rows == 8950
    assert clean + rejected == 8950
    # the public file's known facts: 313 missing minimum payments, 1 missing limit,
    # no duplicate ids, and 8 cash-advance frequencies above 1
    imputed = dict(run.query("select imputed_columns, count(*) from customer_features group by 1"))
    assert imputed["minimum_payments"] == 313
    assert imputed["credit_limit"] == 1
    assert run.query("select reject_reasons, count(*) from rejected_customers group by 1") == [
        ("frequency_out_of_range", 8)
    ]
    assert run.scalar("select count(*) from customer_features where credit_utilization is null "
                      "or total_transactions is null") == 0


def test_a_cc_file_missing_some_columns_builds_with_what_it_has(cc_general_path, tmp_path):
    """INSTALLMENTS_PURCHASES without ONEOFF_PURCHASES (the shares that need both are not
    computed), and no BALANCE: the preset needs no column but the id."""
    frame = pd.read_csv(cc_general_path).drop(columns=["ONEOFF_PURCHASES", "BALANCE"])
    path = tmp_path / "partial.csv"
    frame.to_csv(path, index=False)
    run = run_dbt(CLEANING, tmp_path, vars={"customers_path": str(path)})
    assert_ok(run)
    columns = {r[0] for r in run.query("select column_name from information_schema.columns "
                                       "where table_name = 'customer_features'")}
    assert {"installments_purchases", "avg_purchase_amount", "cash_advance_share"} <= columns
    assert not columns & {"balance", "oneoff_purchases", "oneoff_purchase_share", "installment_purchase_share",
                          "credit_utilization"}
    assert run.scalar("select count(*) from customer_features") == 8942


def test_garbage_rows_are_rejected_not_fatal(tmp_path):
    clean = sample.generate_clean(200, seed=11)
    frame = clean[list(sample.CC_GENERAL_COLUMNS)].astype(object)
    garbage = pd.DataFrame(
        [
            ["G1", "lots", "1", "10", "5", "5", "0", "0.5", "0.5", "0.5", "0", "0", "2", "1000", "50", "20", "0", "12"],
            ["G2", "-5", "1.7", "10", "5", "5", "0", "0.5", "0.5", "0.5", "0", "0", "2.5", "0", "50", "20", "0", "-1"],
            ["", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
            ["G3", "inf", "NaN", "1e3", "5", "5", "0", "0.5", "0.5", "0.5", "0", "0", "", "1000", "50", "20", "0",
             "12"],
        ],
        columns=list(sample.CC_GENERAL_COLUMNS),
    )
    path = tmp_path / "garbage.csv"
    pd.concat([frame, garbage]).to_csv(path, index=False)
    # Lines that do not parse as CSV: too few fields, too many, bytes that are not UTF-8.
    with path.open("ab") as f:
        f.write(b"just some text\n")
        f.write(b"G4,1,1,1,1,1,1,1,1,1,1,1,1,1000,1,1,1,12,extra,fields\n")
        f.write(b"G5,1,1,1,1,1,1,1,1,1,1,1,1,1000,1,1,1,\xe9t\xe9\n")  # not UTF-8: the file is read as Latin-1
    run = run_dbt(CLEANING, tmp_path, vars={"customers_path": str(path)})
    assert_ok(run)
    rejected = {row[0]: (row[1], row[2]) for row in run.query(
        "select coalesce(customer_id, '<none>'), reject_reasons, reject_detail from rejected_customers"
    )}
    data_lines = 204 + 3
    assert rejected["just some text"][0] == "malformed_line"
    assert f"line {data_lines - 1} of {path}" in rejected["just some text"][1]
    assert "has 1 field instead of 18: just some text" in rejected["just some text"][1]
    assert rejected["G4"][0] == "malformed_line" and "has 20 fields instead of 18" in rejected["G4"][1]
    # a byte that is not UTF-8 makes the file Latin-1 (detected, not guessed per line): the
    # accented text is read correctly and is simply not a number
    assert rejected["G5"][0] == "non_numeric_value" and "TENURE='été'" in rejected["G5"][1]
    # the unparseable lines are numbered after the readable rows
    assert sorted(row[0] for row in run.query(
        "select source_row_number from stg_customers where reject_reasons = 'malformed_line'"
    )) == [206, 207]
    assert rejected["G1"][0] == "non_numeric_value" and "BALANCE='lots'" in rejected["G1"][1]
    assert rejected["G2"][0] == ("frequency_out_of_range,invalid_credit_limit,invalid_tenure,"
                                 "negative_amount,non_integer_count")
    assert rejected["<none>"][0] == "missing_customer_id,missing_required_value"
    # inf is not a plain number; 'NaN' counts as missing (imputed), a missing purchases_trx rejects
    assert rejected["G3"][0] == "missing_required_value,non_numeric_value"
    input_rows, clean_rows, rejected_rows = conservation(run)
    assert (input_rows, clean_rows + rejected_rows) == (data_lines, data_lines)


def test_column_map_and_categoricals_on_parquet(tmp_path):
    clean = sample.generate_clean(300, seed=5)
    frame = clean[list(sample.CC_GENERAL_COLUMNS)].rename(
        columns={"CUST_ID": "account_number", "BALANCE": "bal", "CREDIT_LIMIT": "credit_line"}
    )
    frame["card_type"] = np.where(np.arange(len(frame)) % 3 == 0, "gold", "classic")
    frame.loc[frame.index[:4], "card_type"] = None
    frame["Region"] = "north"
    path = tmp_path / "customers.parquet"
    frame.to_parquet(path, index=False)
    run = run_dbt(CLEANING, tmp_path, vars={
        "customers_path": str(path),
        "column_map": {"account_number": "CUST_ID", "bal": "BALANCE", "credit_line": "CREDIT_LIMIT"},
        "categorical_columns": ["card_type", "region"],
    })
    assert_ok(run)
    counts = dict(run.query("select card_type, count(*) from customer_features group by 1"))
    assert counts["unknown"] == 4 and counts["gold"] + counts["classic"] == 296
    assert run.scalar("select count(distinct region) from customer_features") == 1
    assert run.scalar("select count(*) from customer_features where imputed_columns like '%card_type%'") == 4
    got = run.scalar("select balance from customer_features where customer_id = 'C10001'")
    assert got == pytest.approx(clean.loc[0, "BALANCE"])


def test_absent_optional_columns_skip_their_features(tmp_path):
    clean = sample.generate_clean(300, seed=6)
    frame = clean[["CUST_ID", "BALANCE", "PURCHASES", "PURCHASES_TRX", "CREDIT_LIMIT", "PAYMENTS"]]
    path = tmp_path / "minimal.csv"
    frame.to_csv(path, index=False)
    run = run_dbt(CLEANING, tmp_path, vars={"customers_path": str(path)})
    assert_ok(run)
    row = run.query(
        "select count(*), count(credit_utilization), count(avg_purchase_amount), count(purchases_to_limit_ratio), "
        "max(imputed_columns) from customer_features"
    )[0]
    assert row == (300, 300, 300, 300, "")
    # features whose inputs are absent are not computed at all (no all-NULL columns)
    columns = {r[0] for r in run.query("select column_name from information_schema.columns "
                                       "where table_name = 'customer_features'")}
    assert not columns & {"total_transactions", "payment_to_minimum_ratio", "cash_advance_share", "minimum_payments"}


def test_a_table_without_an_id_numbers_its_rows(tmp_path):
    """A wholesale-style table (spend per category, no id) and a bank-style one share a
    shape: nothing names a customer. Rows are numbered (1 = the first data row), the
    contract says so, and 'balance' below zero is a net amount there, not a CC GENERAL
    rejection."""
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"Channel": rng.integers(1, 3, 250), "Fresh": rng.lognormal(8, 1, 250).round(),
                          "Milk": rng.lognormal(7, 1, 250).round(), "balance": rng.integers(-500, 5000, 250)})
    path = tmp_path / "wholesale.csv"
    frame.to_csv(path, index=False)
    run = run_dbt(CLEANING, tmp_path, vars={"customers_path": str(path)})
    assert_ok(run)
    assert "customers are numbered by their row" in run.output
    got = run.df("select cast(customer_id as integer) as row, fresh, balance from customer_features order by row")
    assert got["row"].tolist() == list(range(1, 251)) and run.scalar("select count(*) from rejected_customers") == 0
    assert np.allclose(got["fresh"], frame["Fresh"]) and (got["balance"] < 0).any()
    assert run.query("select position, role, source_column from input_columns where column_name = 'customer_id'") \
        == [(0, "id", None)]


@pytest.mark.parametrize(
    "vars, message",
    [
        ({"outlier_method": "clip"}, "Invalid var 'outlier_method': got \"clip\"; expected one of cap, reject, none"),
        ({"k_max": 1}, "Invalid var 'k_max': got 1; expected an integer from 2 to 50"),
        ({"column_map": ["BALANCE"]}, "expected a mapping {your_column: new_name}"),
        ({"categorical_columns": "card_type"}, "expected a list of column names"),
        ({"customers_path": "{{ run_query('create table x as select 1') }}"}, "not a template: settings are data"),
        ({"customers_path": "a.csv", "transactions_path": "b.csv"},
         "Set customers_path or transactions_path, not both"),
        ({"feature_columns": {"age": "weight"}}, "kinds among amount"),
        ({"model_features": ["balance", "foo"]}, "The var 'model_features' was renamed 'feature_columns'"),
        ({"kmean_k": 4}, "Unknown var 'kmean_k' (did you mean kmeans_k?)"),
    ],
)
def test_bad_vars_stop_the_run_before_any_model_with_a_clear_message(tmp_path, vars, message):
    run = run_dbt(CLEANING, tmp_path, vars=vars)
    assert run.returncode != 0
    assert message in run.output and "Traceback" not in run.output, run.output[-2000:]
    assert_refused_before_any_model(run, message)


def test_missing_file_is_named(tmp_path):
    run = run_dbt(CLEANING, tmp_path, vars={"customers_path": "no/such/file.csv"})
    assert run.returncode != 0
    assert "customers_path: no file matches 'no/such/file.csv'" in run.output
    assert "Traceback" not in run.output


def test_outlier_reject_mode_keeps_conservation(tmp_path):
    run = run_dbt(CLEANING, tmp_path, vars={"outlier_method": "reject", "outlier_upper_quantile": 0.999})
    assert_ok(run)
    input_rows, clean, rejected = conservation(run)
    assert clean + rejected == input_rows
    outliers = run.scalar("select count(*) from rejected_customers where reject_stage = 'outliers'")
    assert outliers >= 10  # the generator's blown-up rows, at least

