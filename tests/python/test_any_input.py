"""End to end on inputs of other shapes: each builds with at most id_column, ignore_columns
and customers_path set, its marts keep their columns, its segments are named in its own
words, the report draws what the input has, and a score_changes night finds the one
customer whose record was edited."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

from custseg.report import build_report
from conftest import assert_ok, run_dbt, shared_data

pytestmark = pytest.mark.dbt

CC_WORDS = ("cash advance", "cash-advance", "instalment", "revolver", "credit utilization", "one-off",
            "dormant accounts")
#: Faster builds: these tests check shapes and words, not segment quality.
FAST = {"stability_resamples": 1, "k_max": 6}


def demographic(path, n=400, seed=3):
    """id, gender, age, annual income and spending score (the classic mall-customers shape)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 4, n)
    age = np.clip(rng.normal([28, 45, 35, 55][0], 6, n) + np.array([0, 17, 7, 27])[group], 18, 70).round()
    income = np.clip(rng.normal(np.array([30, 80, 75, 40])[group], 8, n), 15, 140).round()
    score = np.clip(rng.normal(np.array([80, 20, 82, 45])[group], 7, n), 1, 99).round()
    frame = pd.DataFrame({"CustomerID": np.arange(1, n + 1), "Gender": rng.choice(["Male", "Female"], n),
                          "Age": age.astype(int), "Annual Income (k$)": income.astype(int),
                          "Spending Score (1-100)": score.astype(int)})
    frame.to_csv(path, index=False)
    return path


def wide(path, n=1500, seed=4):
    """A bank's customer file: a churn label, two leakage columns, a description row under the
    header, integer-coded and text categoricals, and an entirely empty column."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, n)
    frame = pd.DataFrame({
        "CLIENTNUM": 700000000 + rng.permutation(n) * 7,
        "Attrition_Flag": np.where(rng.random(n) < 0.16, "Attrited Customer", "Existing Customer"),
        "Customer_Age": rng.integers(26, 70, n),
        "Gender": rng.choice(["M", "F"], n),
        "Dependent_count": rng.integers(0, 5, n),
        "Education_Level": rng.choice(["Graduate", "High School", "Unknown", "Uneducated", "College"], n),
        "Region_Code": rng.integers(1, 8, n),
        "Income_Category": rng.choice(["Less than $40K", "$40K - $60K", "$60K - $80K", "$120K +"], n),
        "Months_on_book": rng.integers(13, 57, n),
        "Months_Inactive_12_mon": rng.integers(0, 7, n),
        "Contacts_Count_12_mon": rng.integers(0, 7, n),
        "Credit_Limit": np.round(np.array([2500, 9000, 25000])[g] * np.exp(rng.normal(0, 0.3, n)), 1),
        "Total_Revolving_Bal": np.round(np.array([1800, 600, 200])[g] * rng.uniform(0, 1.4, n)),
        "Total_Amt_Chng_Q4_Q1": np.round(rng.uniform(0.3, 1.6, n), 3),
        "Total_Trans_Amt": np.round(np.array([1500, 4200, 12000])[g] * np.exp(rng.normal(0, 0.25, n))),
        "Total_Trans_Ct": np.round(np.array([35, 70, 110])[g] * np.exp(rng.normal(0, 0.2, n))).astype(int),
        "Avg_Utilization_Ratio": np.round(np.array([0.7, 0.2, 0.05])[g] * rng.uniform(0.3, 1.3, n), 3).clip(0, 1),
        "Notes": "",
        "Naive_Bayes_Classifier_mon_1": rng.random(n),
        "Naive_Bayes_Classifier_mon_2": rng.random(n),
    })
    text = frame.astype(str)
    text["Notes"] = ""
    text["Credit_Limit"] = [f"${v:,.1f}" for v in frame["Credit_Limit"]]   # as a spreadsheet shows money
    description = pd.DataFrame([{c: f"({c.lower().replace('_', ' ')})" for c in frame.columns}])
    pd.concat([description, text]).to_csv(path, index=False)
    return path


def european_frame(n=600, seed=5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, n)
    return pd.DataFrame({
        "Kundennummer": [f"K-{i:05d}" for i in range(n)],
        "Umsatz": np.round(np.array([150, 1200, 6000])[g] * np.exp(rng.normal(0, 0.2, n)), 2),
        "Bestellungen": np.round(np.array([2, 8, 20])[g] * np.exp(rng.normal(0, 0.2, n))).astype(int),
        "Rabatt": (np.array([2.5, 7.5, 15.0])[g] + rng.normal(0, 1, n)).round(1).clip(0, 30),
        "Region": rng.choice(["Nord", "Süd", "West", "Ost"], n),
    })


def european(path):
    """A shop's export from a German spreadsheet: ';'-separated, a byte-order mark, CRLF line
    ends, revenue written '1.234,56 €' and the discount '12,5 %', the id named Kundennummer."""
    frame = european_frame()
    text = frame.astype(str)
    text["Umsatz"] = [f"{v:,.2f} €".replace(",", "_").replace(".", ",").replace("_", ".") for v in frame["Umsatz"]]
    text["Rabatt"] = [f"{v:.1f} %".replace(".", ",") for v in frame["Rabatt"]]
    path.write_text(text.to_csv(sep=";", index=False, lineterminator="\r\n"), encoding="utf-8-sig")
    return path


SCHEMAS = {
    "demographic": (demographic, {}),
    "wide": (wide, {"ignore_columns": ["Attrition_Flag", "Naive_Bayes_Classifier_mon_1",
                                       "Naive_Bayes_Classifier_mon_2"]}),
    "marketing": (None, {"ignore_columns": ["AcceptedCmp1", "AcceptedCmp2", "AcceptedCmp3", "AcceptedCmp4",
                                            "AcceptedCmp5", "Response", "Complain"]}),
    "european": (european, {}),
}


@pytest.fixture(scope="module", params=list(SCHEMAS))
def built(request, tmp_path_factory):
    name = request.param
    make, settings = SCHEMAS[name]
    work = tmp_path_factory.mktemp(name)
    if make is None:
        path = shared_data("marketing_campaign.csv")
    else:
        path = make(work / f"{name}.csv")
    run = run_dbt(["build"], work, vars={"customers_path": str(path), **settings, **FAST})
    assert_ok(run)
    run.input_path, run.settings = path, settings
    report = build_report(run.db_path, work / "report", workers=1)
    return name, run, report


def test_the_input_contract_says_what_each_column_became(built):
    name, run, _ = built
    roles = dict(run.query("select source_column, role from input_columns"))
    expected = {
        "demographic": {"CustomerID": "id", "Gender": "categorical", "Age": "feature",
                        "Annual Income (k$)": "feature", "Spending Score (1-100)": "feature"},
        "wide": {"CLIENTNUM": "id", "Attrition_Flag": "ignored", "Region_Code": "categorical",
                 "Income_Category": "categorical", "Notes": "dropped", "Customer_Age": "feature",
                 "Total_Trans_Ct": "feature", "Naive_Bayes_Classifier_mon_1": "ignored"},
        "marketing": {"ID": "id", "Education": "categorical", "Income": "feature", "Dt_Customer": "feature",
                      "Z_CostContact": "dropped", "Response": "ignored"},
        "european": {"Kundennummer": "id", "Umsatz": "feature", "Bestellungen": "feature", "Rabatt": "feature",
                     "Region": "categorical"},
    }[name]
    assert {k: roles[k] for k in expected} == expected
    # what was ignored is carried into customer_features untouched, never clustered
    clustered = {r[0] for r in run.query("select distinct source_column from segment_preprocessing")}
    ignored = [c for c, r in roles.items() if r == "ignored"]
    assert not clustered & {c.lower() for c in ignored}


def test_numbers_written_with_separators_or_signs_are_read_as_numbers(built):
    """'$12,345.6', '1.234,56 €' and '12,5 %' are numbers; files of plain numbers get no such
    reading (no column of the demographic or marketing files is read that way)."""
    name, run, _ = built
    formatted = {c for (c,) in run.query("select source_column from input_columns where reason like '%written like%'")}
    expected = {"demographic": set(), "marketing": set(), "wide": {"Credit_Limit"},
                "european": {"Umsatz", "Rabatt"}}[name]
    assert formatted == expected
    if name == "wide":
        read = run.df("select customer_id, credit_limit from customer_features")
        truth = pd.read_csv(run.db_path.parent / "wide.csv", dtype=str, skiprows=[1])
        truth = truth.assign(value=truth["Credit_Limit"].str.replace("[$,]", "", regex=True).astype(float))
        joined = read.merge(truth, left_on="customer_id", right_on="CLIENTNUM")
        assert len(joined) == len(truth) and np.allclose(joined["credit_limit"], joined["value"])
    if name == "european":
        read = run.df("select customer_id, umsatz, rabatt from customer_features").set_index("customer_id")
        truth = european_frame().set_index("Kundennummer")
        assert len(read) == len(truth)
        assert np.allclose(read.loc[truth.index, "umsatz"], truth["Umsatz"])
        assert np.allclose(read.loc[truth.index, "rabatt"], truth["Rabatt"])


def test_every_row_is_accounted_for(built):
    name, run, _ = built
    staged, clean, rejected = run.query(
        "select staged_rows, (select sum(source_row_count) from customer_features), rejected_rows "
        "from input_summary")[0]
    assert staged == clean + rejected
    if name == "wide":   # the description row under the header is one rejected row, not a text column
        assert run.query("select primary_reject_reason, count(*) from rejected_customers group by 1") == [
            ("non_numeric_value", 1)]


def test_marts_keep_their_columns_and_none_is_entirely_null(built, sample_build):
    _, run, _ = built
    for table in ("customer_segments", "segment_assignments", "segment_profiles", "segment_feature_profiles",
                  "segment_metrics", "segment_k_selection", "som_nodes"):
        mine = run.query(f"select column_name, data_type from information_schema.columns where table_name = '{table}'")
        sample = sample_build.query(
            f"select column_name, data_type from information_schema.columns where table_name = '{table}'")
        assert mine == sample, table
    for table in ("segment_profiles", "segment_feature_profiles"):
        columns = [r[0] for r in run.query(
            f"select column_name from information_schema.columns where table_name = '{table}'")]
        assert [c for c in columns if run.scalar(f"select count({c}) from {table}") == 0] == []


def test_segments_are_named_in_the_inputs_own_words(built):
    _, run, _ = built
    named = run.df("select segment_name, segment_description from segment_profiles")
    text = " ".join(named["segment_name"]) + " " + " ".join(named["segment_description"])
    assert not [w for w in CC_WORDS if w in text.lower()], text
    # no contradiction: a multiple next to 'high' or 'many' is above 1, next to 'low' or 'few' below
    clause = r"(?:^|, )(\w+)[^,()]*\(([\d.]+)x average\)"
    clauses = [c for d in named["segment_description"] for c in re.findall(clause, d)]
    for phrase, multiple in clauses:
        if phrase.lower() in ("high", "many", "long", "large"):
            assert float(multiple) > 1, (phrase, multiple)
        if phrase.lower() in ("low", "few", "short", "small"):
            assert float(multiple) < 1, (phrase, multiple)


def test_the_report_draws_what_the_input_has(built):
    name, run, report = built
    page = report.read_text(encoding="utf-8")
    visible = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"\bnan\b|NaN|None", re.sub(r"<[^>]+>", " ", visible)), "a NaN or None reached the page"
    assert not [w for w in CC_WORDS if w in visible.lower()]
    assert f">{run.scalar('select clean_customers from input_summary'):,}<" in page
    figures = {p.name for p in (report.parent / "figures").glob("*.png")}
    assert {"data_quality.png", "distributions.png", "segment_sizes.png", "profile_heatmap.png"} <= figures


def test_a_night_finds_the_one_edited_record(built, tmp_path):
    """segment_mode score_changes on this shape, in a copy of the built databases: the night's
    hashes of the file agree with the full build's for every other customer (its header,
    delimiter, byte-order mark, line ends, dates), and differ for the edited one."""
    _, run, _ = built
    for f in run.db_path.parent.glob(run.db_path.stem + ".*"):
        shutil.copy(f, tmp_path / f.name)
    raw = run.input_path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    lines = raw.decode(encoding).split("\n")
    middle = len(lines) // 2
    digit = list(re.finditer(r"\d", lines[middle]))[-1]   # the last number of a record in the middle
    lines[middle] = lines[middle][:digit.start()] + ("7" if digit.group() != "7" else "3") + lines[middle][digit.end():]
    tonight = tmp_path / run.input_path.name
    tonight.write_bytes("\n".join(lines).encode(encoding))
    night = run_dbt(["build", "--selector", "score_changes"], tmp_path,
                    vars={"customers_path": str(tonight), **run.settings, **FAST, "segment_mode": "score_changes"},
                    db_name=run.db_path.name)
    assert_ok(night)
    assert re.search(r"Published run \S+ to \S+: 1 changed \(", night.output), night.output[-2000:]
