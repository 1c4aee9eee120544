"""Inputs that are relations of the build's own database: `customers_relation` (or
`transactions_relation`) as {model: ...} (a model of the project, ref'd, so upstream of the
segmentation and built first), {source: [...]} (a declared source) or {table: ...} (a table
written before the build). Each is read where it is, typed by its own types, profiled and
counted (count(*)) through the build's connection when the first model that reads it runs;
every row is accounted for, and the same rows give the same segments as the file build.

Builds: the embedded sample as a file; the same rows as a model of a copy of the project
(a first build: the model does not exist when the run starts); a typed copy as a table, then
a score_changes night after rows of it changed; a source with column_map and ignore_columns;
the CDNOW order log as a table; the model's columns changed (score refuses, refit starts a
new version); and the bad inputs, each one line.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import PROJECT_DIR, assert_ok, run_dbt, shared_data
from custseg.settings import SettingError, Settings

pytestmark = pytest.mark.dbt

FAST = {"stability_resamples": 0, "k_max": 6}
SEED = PROJECT_DIR / "seeds" / "custseg_sample_customers.csv"
#: The input, its checks and the conservation tests (no models): a cheaper build.
CUSTOMER_CHECKS = ["build", "--select", "+input_summary", "assert_input_rows_conserved",
                   "assert_each_input_row_placed_once", "--indirect-selection", "cautious"]
TRANSACTION_CHECKS = ["build", "--select", "+int_transaction_customers", "+transaction_summary",
                      "assert_transaction_lines_conserved", "--indirect-selection", "cautious"]
IGNORED = shutil.ignore_patterns(".venv", ".venv-readers", ".git", "target", "logs", "reports", ".spark", "bench",
                                 "__pycache__", ".pytest_cache", "*.duckdb", "*.duckdb.wal", "*.build-lock",
                                 "*.publishing-*", "*.input-profile.json")
CONSUMER_MODEL = "select * from {{ ref('custseg_sample_customers') }}\n"
CONSUMER_YML = """version: 2
sources:
  - name: crm
    schema: crm
    tables:
      - name: accounts
"""
ASSIGNMENTS = "select customer_id, algorithm, segment_id, segment_name from segment_assignments order by all"
REJECTS = "select reject_reasons, count(*) from rejected_customers group by all order by all"


def _seed_table(db: Path, sql: str) -> None:
    """Tables written into the working database before the build."""
    with duckdb.connect(str(db)) as con:
        con.execute(sql)


def _summary(run) -> tuple:
    return run.query("select input_rows, clean_customers, rejected_rows, collapsed_duplicates from input_summary")[0]


def _one_line(output: str, pattern: str) -> str:
    """The one line of the output that matches `pattern` (a regular expression)."""
    lines = [line.strip() for line in output.splitlines() if re.search(pattern, line.strip())]
    assert lines, output[-4000:]
    return lines[0]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project with a consumer's model over the seed and a declared source."""
    copy = tmp_path_factory.mktemp("relation_project") / "project"
    shutil.copytree(PROJECT_DIR, copy, ignore=IGNORED)
    (copy / "models" / "consumer").mkdir()
    (copy / "models" / "consumer" / "dim_customers.sql").write_text(CONSUMER_MODEL)
    (copy / "models" / "consumer" / "_consumer.yml").write_text(CONSUMER_YML)
    return copy


@pytest.fixture(scope="module")
def file_build(tmp_path_factory):
    """The embedded sample, read as the file it is."""
    run = run_dbt(["build"], tmp_path_factory.mktemp("relation_file"), vars=FAST)
    assert_ok(run)
    return run


@pytest.fixture(scope="module")
def model_build(project, tmp_path_factory):
    """The same rows as a model of the project: a first build, so the model is created by the
    run whose on-run-start could not read it."""
    work = tmp_path_factory.mktemp("relation_model")
    vars = {**FAST, "customers_relation": {"model": "dim_customers"}}
    run = run_dbt(["build", "--project-dir", str(project)], work, vars=vars)
    assert_ok(run)
    listed = run_dbt(["ls", "--project-dir", str(project), "--select", "+customer_segments",
                      "--resource-type", "model", "--output", "name"], work, vars=vars)
    assert_ok(listed)
    return {"run": run, "listed": listed, "work": work, "vars": vars}


def test_a_model_input_is_upstream_and_gives_the_segments_of_the_file(model_build, file_build):
    run = model_build["run"]
    upstream = {line.strip() for line in model_build["listed"].output.splitlines()}
    assert {"dim_customers", "custseg_stg_customers", "input_columns", "customer_segments"} <= upstream
    log = run.output
    assert log.index("OK created sql view model main.dim_customers") < log.index("Input model 'dim_customers'")
    rows = run.scalar("select count(*) from dim_customers")
    assert rows == 9121
    summary = _summary(run)
    assert summary == _summary(file_build) and summary[0] == rows == sum(summary[1:])
    assert run.query(ASSIGNMENTS) == file_build.query(ASSIGNMENTS)
    assert run.query(REJECTS) == file_build.query(REJECTS)
    assert run.query("select source_column, role, kind from input_columns order by position") == \
        file_build.query("select source_column, role, kind from input_columns order by position")
    assert run.query("select status, segment_mode, model_version from custseg_runs") == [("published", "refit", 1)]
    assert run.scalar("select input_label from segmentation_config") == "model 'dim_customers'"


def test_a_model_whose_columns_change_is_refused_by_score_and_refitted_as_a_new_version(model_build, project):
    model = project / "models" / "consumer" / "dim_customers.sql"
    model.write_text("select * exclude (PAYMENTS) from {{ ref('custseg_sample_customers') }}\n")
    try:
        select = ["build", "--project-dir", str(project), "--select", "+input_columns"]
        score = run_dbt(select, model_build["work"], vars={**model_build["vars"], "segment_mode": "score"})
        refit = run_dbt(select, model_build["work"], vars=model_build["vars"])
    finally:
        model.write_text(CONSUMER_MODEL)
    said = ("segment_mode is score, but the input no longer has the columns model version 1 was fitted on: "
            "payments; run a build with segment_mode: refit to fit a new version.")
    assert score.returncode == 1 and _one_line(score.output, "^segment_mode is score") == said
    assert "ERROR=1 " in score.output      # input_columns, the first to read it; the rest skipped
    assert_ok(refit)
    runs = refit.query("select status, segment_mode, model_version, detail from custseg_runs order by started_at")
    assert runs[1] == ("refused", "score", None, said)
    assert runs[2][:3] == ("not published", "refit", 2)
    features = refit.query("select model_version, features_json from segment_model_versions order by 1")
    assert [v for v, _ in features] == [1, 2] and '"payments"' in features[0][1] and '"payments"' not in features[1][1]


@pytest.fixture(scope="module")
def table_build(tmp_path_factory):
    """A typed copy of the sample (DuckDB's own types: text where a value is not a number),
    written before the build; then a night of score_changes after some rows changed."""
    work = tmp_path_factory.mktemp("relation_table")
    db = work / "test.duckdb"
    _seed_table(db, f"create schema crm; create table crm.customers as select * from read_csv('{SEED}')")
    vars = {**FAST, "customers_relation": {"table": "crm.customers"}}
    full = run_dbt(["build"], work, vars=vars)
    assert_ok(full)
    before = {"summary": _summary(full), "assignments": full.query(ASSIGNMENTS), "rejects": full.query(REJECTS),
              "roles": dict(full.query("select source_column, role from input_columns")),
              "types": dict(full.query("select column_name, data_type from information_schema.columns "
                                       "where table_schema = 'crm' and table_name = 'customers'"))}
    _seed_table(db, "update crm.customers set BALANCE = BALANCE + 1000 where CUST_ID in ('C10001', 'C10002'); "
                    "delete from crm.customers where CUST_ID = 'C10003'")
    night = run_dbt(["build", "--selector", "score_changes"], work, vars={**vars, "segment_mode": "score_changes"})
    assert_ok(night)
    return {"full": before, "night": night, "db": db}


def test_a_table_is_read_typed_and_every_row_is_accounted_for(table_build, file_build):
    full = table_build["full"]
    types = full["types"]
    assert types["BALANCE"] == "DOUBLE" and types["PURCHASES"] == "VARCHAR"   # the sample has text in it
    summary = full["summary"]
    assert summary[0] == 9121 == sum(summary[1:])
    # text that is not a number is rejected as in the file; text holding numbers is parsed
    assert full["rejects"] == file_build.query(REJECTS)
    assert full["roles"]["PURCHASES"] == "feature" and full["roles"]["CUST_ID"] == "id"
    assert full["assignments"] == file_build.query(ASSIGNMENTS)


def test_a_table_input_takes_a_score_changes_night(table_build):
    night = table_build["night"]
    assert night.query("select customer_id, change from customer_changes order by 1") == [
        ("C10001", "changed"), ("C10002", "changed"), ("C10003", "departed")]
    assert night.query("select status, segment_mode from custseg_runs order by started_at") == [
        ("published", "refit"), ("published", "score_changes")]
    with duckdb.connect(str(table_build["db"]).replace(".duckdb", ".serving.duckdb"), read_only=True) as con:
        published = {r[0] for r in con.execute("select distinct customer_id from customer_segments").fetchall()}
    assert "C10003" not in published and {"C10001", "C10002"} <= published
    assert len(published) == table_build["full"]["summary"][1] - 1


def test_a_source_takes_column_map_and_ignore_columns(project, tmp_path):
    _seed_table(tmp_path / "test.duckdb", "create schema crm; create table crm.accounts as select *, "
                "['gold', 'silver', 'blue'][1 + cast(hash(CUST_ID) % 3 as integer)] as card_type "
                f"from read_csv('{SEED}')")
    run = run_dbt([*CUSTOMER_CHECKS, "--project-dir", str(project)], tmp_path,
                  vars={"customers_relation": {"source": ["crm", "accounts"]}, "column_map": {"TENURE": "months"},
                        "ignore_columns": ["PRC_FULL_PAYMENT"]})
    assert_ok(run)
    columns = {r[0]: r[1:] for r in run.query("select source_column, column_name, role from input_columns")}
    assert columns["card_type"] == ("card_type", "categorical")
    assert columns["PRC_FULL_PAYMENT"][1] == "ignored" and columns["TENURE"][0] == "months"
    summary = _summary(run)
    assert summary[0] == 9121 == sum(summary[1:])
    assert run.scalar("select count(distinct card_type) from customer_features") == 3


def test_an_order_table_is_a_transaction_log(tmp_path):
    cdnow = shared_data("CDNOW_master.txt")
    _seed_table(tmp_path / "test.duckdb", f"""
        create schema sales;
        create table sales.orders as
        select split_part(line, ' ', 1) as customer_id,
               strptime(split_part(line, ' ', 2), '%Y%m%d')::date as ordered_on,
               cast(split_part(line, ' ', 3) as integer) as quantity, cast(split_part(line, ' ', 4) as double) as amount
        from (select regexp_replace(trim(column0), '\\s+', ' ', 'g') as line
              from read_csv('{cdnow}', header = false, columns = {{'column0': 'VARCHAR'}}, delim = chr(31)))""")
    run = run_dbt(TRANSACTION_CHECKS, tmp_path, vars={"transactions_relation": {"table": "sales.orders"},
                                                      "column_map": {"ordered_on": "occurred_at"}})
    assert_ok(run)
    s = run.df("select * from transaction_summary").iloc[0]
    assert s.input_lines == 69659 == run.scalar("select count(*) from sales.orders")
    assert s.collapsed_duplicates == 255        # as from the file (test_transactions)
    assert s.input_lines == s.used_lines + s.rejected_lines + s.collapsed_duplicates
    assert run.scalar("select count(*) from int_transaction_customers") == 23544 - run.scalar(
        "select count(distinct customer_id) from rejected_transactions where customer_id not in "
        "(select customer_id from int_transactions)")
    # the DATE column is read as it is typed
    assert run.query("select count(*), cast(min(occurred_at) as date) from stg_transactions") == run.query(
        "select count(*), min(ordered_on) from sales.orders")


# --------------------------------------------------------------------------- bad input, in one line
def test_a_missing_table_is_named_with_the_tables_nearby(tmp_path):
    _seed_table(tmp_path / "test.duckdb", "create schema crm; create table crm.customers (id integer)")
    run = run_dbt(["build", "--select", "input_columns"], tmp_path,
                  vars={"customers_relation": {"table": "crm.customer"}})
    assert run.returncode == 1
    assert _one_line(run.output, "^customers_relation:") == (
        "customers_relation: table 'crm.customer' does not exist in the database or a database attached to it; "
        "tables and views with close names: crm.customers.")
    assert run.query("select status, detail from custseg_runs")[0][0] == "refused"


def test_a_model_not_built_yet_says_how_to_build_it(project, tmp_path):
    run = run_dbt(["build", "--project-dir", str(project), "--select", "input_columns"], tmp_path,
                  vars={"customers_relation": {"model": "dim_customers"}})
    assert run.returncode == 1
    assert _one_line(run.output, "^customers_relation:") == (
        "customers_relation: model 'dim_customers' has not been built (\"test\".\"main\".\"dim_customers\" does not "
        "exist): build it with the segmentation, dbt build --select +customer_segments; no table or view has a "
        "close name.")


@pytest.mark.parametrize("relation, said", [
    ({"model": "dim_customerz"}, "depends on a node named 'dim_customerz' which was not found"),
    ({"source": ["crm", "clients"]}, "depends on a source named 'crm.clients' which was not found"),
])
def test_an_unknown_model_or_source_stops_the_parse_in_one_line(project, tmp_path, relation, said):
    """dbt resolves the ref() while it parses, before anything of the project runs: its own line."""
    run = run_dbt(["build", "--project-dir", str(project)], tmp_path, vars={"customers_relation": relation})
    assert run.returncode == 1
    line = _one_line(run.output, re.escape(said))
    assert re.fullmatch(r"Model 'model\.customer_segmentation\.\w+' \(models/[\w/]+\.sql\) " + re.escape(said), line)
    assert not (tmp_path / "test.duckdb").exists()


@pytest.mark.parametrize("vars, said", [
    ({"customers_path": "a.csv", "customers_relation": {"model": "dim_customers"}},
     "Set customers_path or customers_relation, not both: the customers are read from one place."),
    ({"customers_relation": {"model": "dim customers"}},
     "Invalid var 'customers_relation': got {\"model\": \"dim customers\"}; expected {model: name}, "
     "e.g. {model: dim_customers}."),
    ({"customers_relation": {"source": "crm.customers"}},
     "expected {source: [source_name, table_name]}, e.g. {source: [crm, customers]}."),
    ({"transactions_relation": {"table": "a.b.c.d"}},
     "expected {table: [database.][schema.]table}, e.g. {table: main.customers}."),
    ({"customers_relation": {"view": "x"}},
     "expected a mapping with one key: {model: name} or {source: [source_name, table_name]} or "
     "{table: [database.][schema.]table} or {postgres: schema.table}, or null."),
])
def test_bad_relation_vars_are_one_line(vars, said):
    with pytest.raises(SettingError) as caught:
        Settings.validate(vars)
    assert said in str(caught.value) and "\n" not in str(caught.value)
