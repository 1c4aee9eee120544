"""Transaction logs in: hand-made lines with known answers, the embedded transaction sample
(planted behaviours), a public-style retail invoice log, the real CDNOW log (no header,
whitespace-padded), and the one-line errors for the wrong kind of file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from custseg import inputs
from custseg.report import build_report
from custseg.transactions_sample import add_dirt, generate_clean_transactions, to_retail_schema

from conftest import PROJECT_DIR, assert_ok, run_dbt, shared_data

FAST = {"stability_resamples": 1}
CREDIT_CARD_WORDS = ("cash", "credit", "instalment", "installment", "balance", "revolv", "payment", "limit")
FEATURES = ["+int_transaction_customers", "+transaction_summary", "assert_transaction_lines_conserved",
            "--indirect-selection", "cautious"]
HAND_VARS = {"as_of": "2024-03-15", "max_rejected_share": 0.5}     # a third of the hand-made lines are bad

HAND_MADE = """customer_id,order_id,product_id,category,occurred_at,quantity,unit_price
A,o1,p1,toys,2024-01-10 10:00:00,2,10.00
A,o1,p1,toys,2024-01-10 10:00:00,2,10.00
B,C9,p2,toys,2024-02-01 10:00:00,-1,5.00
C,o2,p3,kitchen,2024-03-01 10:00:00,2,4.00
C,o3,p4,kitchen,2024-03-01 10:00:00,1,10.00
C,C10,p3,kitchen,2024-03-05 10:00:00,-1,4.00
C,o4,p5,toys,2024-03-11 10:00:00,3,2.00
D,o5,p6,toys,2024-03-14 10:00:00,1,7.50
D,o6,p6,toys,2024-03-20 10:00:00,1,7.50
,o7,p1,toys,2024-03-02 10:00:00,1,10.00
E,o8,p7,toys,2024-03-03 10:00:00,1,0
F,o9,p8,toys,03/04/2024 10:00,1,5.00
G,o10,p8,toys,2024-13-45 10:00:00,1,5.00
"""


def _customers(run) -> pd.DataFrame:
    return run.df("select * from int_transaction_customers order by customer_id").set_index("customer_id")


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory):
    work = tmp_path_factory.mktemp("hand_made")
    path = work / "lines.csv"
    path.write_text(HAND_MADE)
    run = run_dbt(["build", "--select", *FEATURES], work, vars={"transactions_path": str(path), **HAND_VARS})
    assert_ok(run)
    return run


def test_hand_made_lines_give_the_known_customer_measures(hand_made):
    c = _customers(hand_made)
    assert list(c.index) == ["A", "B", "C", "D"]        # E and F have no usable line
    # A: one purchase of 2 x 10 on Jan 10 (its exact duplicate line counts once)
    assert c.loc["A", ["frequency", "monetary", "recency_days", "tenure_days", "avg_order_value"]].tolist() == \
        [1, 20, 65, 65, 20]
    assert c.loc["A", "return_rate"] == 0 and c.loc["A", "items_per_order"] == 2
    # B: only a return: no purchase, so no recency or order value; everything it did is a return
    assert c.loc["B", "frequency"] == 0 and c.loc["B", "monetary"] == -5 and c.loc["B", "return_rate"] == 1
    assert np.isnan(c.loc["B", "recency_days"]) and np.isnan(c.loc["B", "avg_order_value"])
    assert c.loc["B", "tenure_days"] == 43
    # C: two orders on the same day and one ten days later, one item returned
    assert c.loc["C", ["frequency", "monetary", "recency_days", "tenure_days"]].tolist() == [3, 20, 4, 14]
    assert c.loc["C", "avg_order_value"] == pytest.approx(8)
    assert c.loc["C", "return_rate"] == pytest.approx(4 / 24)
    assert c.loc["C", "mean_days_between_orders"] == pytest.approx(5)
    assert c.loc["C", "distinct_products"] == 3 and c.loc["C", "recent_spend_share"] == 1
    # D: the line after as_of is rejected, the one before it counts
    assert c.loc["D", ["frequency", "monetary", "recency_days"]].tolist() == [1, 7.5, 1]
    # RFM quintiles: 1 + floor(5 x percent rank); ties share the lower score; no purchase -> R = 1
    assert c["rfm_recency_score"].to_dict() == {"A": 2, "B": 1, "C": 4, "D": 5}
    assert c["rfm_frequency_score"].to_dict() == {"A": 2, "B": 1, "C": 5, "D": 2}
    assert c["rfm_monetary_score"].to_dict() == {"A": 4, "B": 1, "C": 4, "D": 2}


def test_hand_made_lines_are_all_accounted_for(hand_made):
    s = hand_made.df("select * from transaction_summary").iloc[0]
    assert (s.input_lines, s.collapsed_duplicates, s.rejected_lines, s.guest_lines, s.used_lines) == (13, 1, 5, 1, 7)
    reasons = dict(hand_made.query("select customer_id, reject_reasons from rejected_transactions"))
    assert reasons == {None: "missing_customer_id", "D": "date_after_as_of", "E": "non_positive_price",
                       "F": "unparseable_date", "G": "unparseable_date"}     # 03/04/2024: day or month first?


def test_without_order_ids_frequency_counts_purchase_days(tmp_path):
    """Also: numeric customer ids written as pandas writes a column with gaps ('103.0') are
    the customers 103, ..."""
    lines = pd.read_csv(pd.io.common.StringIO(HAND_MADE), dtype=str, keep_default_na=False).drop(columns="order_id")
    lines["customer_id"] = lines["customer_id"].map(lambda c: f"{100 + ord(c) - ord('A') + 1}.0" if c else "")
    path = tmp_path / "no_orders.csv"
    lines.to_csv(path, index=False)
    run = run_dbt(["build", "--select", *FEATURES], tmp_path, vars={"transactions_path": str(path), **HAND_VARS})
    assert_ok(run)
    c = _customers(run)
    assert list(c.index) == ["101", "102", "103", "104"]
    assert c.loc["103", "frequency"] == 2 and c.loc["101", "frequency"] == 1     # two orders on one day: one


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory):
    work = tmp_path_factory.mktemp("transactions_sample")
    run = run_dbt(["build"], work, vars={"transactions_path": "sample", **FAST})
    assert_ok(run)
    return run, build_report(work / "test.serving.duckdb", work / "report", workers=1)


def test_the_sample_recovers_its_planted_behaviours_with_purchase_words(sample_build):
    run, _ = sample_build
    _, truth = generate_clean_transactions(2000, seed=11)
    got = run.df("select customer_id, segment_id from segment_assignments where algorithm = 'kmeans'")
    merged = truth.merge(got, on="customer_id")
    assert len(merged) == 2000
    assert adjusted_rand_score(merged["LATENT_GROUP"], merged["segment_id"]) >= 0.6
    names = set(run.df("select segment_name from segment_profiles where algorithm <> 'rfm'").segment_name)
    for planted in ("Loyal frequent buyers", "Lapsed customers", "New customers", "Big occasional buyers",
                    "Heavy returners"):
        assert planted in names, names
    assert not [n for n in names if any(w in n.lower() for w in CREDIT_CARD_WORDS)]


def test_the_embedded_log_is_the_size_readme_gives_and_every_line_is_accounted_for(sample_build):
    """README "From transactions": 2,000 customers, 50,945 lines; docs/beyond-one-machine.md: 245
    collapsed, 1,620 rejected (1,472 of them guest lines)."""
    run, _ = sample_build
    s = run.df("select * from transaction_summary").iloc[0]
    assert (s.input_lines, s.collapsed_duplicates, s.rejected_lines, s.guest_lines) == (50_945, 245, 1_620, 1_472)
    assert s.input_lines == s.used_lines + s.rejected_lines + s.collapsed_duplicates
    assert run.scalar("select count(*) from customer_features") == 2000


def test_rfm_is_one_more_segmentation_in_the_same_marts(sample_build):
    run, report = sample_build
    metrics = run.df("select algorithm, n_segments, silhouette from segment_metrics").set_index("algorithm")
    assert "rfm" in metrics.index and np.isfinite(metrics.loc["rfm", "silhouette"])
    rfm = run.df("select segment_id, segment_name from segment_profiles where algorithm = 'rfm'")
    assert set(rfm.segment_name) <= set(run.df("select segment_name from rfm_segments").segment_name)
    assigned = run.scalar("select count(*) from segment_assignments where algorithm = 'rfm'")
    assert assigned == run.scalar("select count(*) from customer_features")
    page = report.read_text()
    assert "RFM rules against learned segments" in page and "Transaction lines" in page


def test_the_rule_table_maps_every_score_pair_once():
    rules = pd.read_csv(PROJECT_DIR / "src" / "custseg" / "seeds" / "rfm_segments.csv")
    cells = [(r, f) for row in rules.itertuples() for r in range(row.recency_min, row.recency_max + 1)
             for f in range(row.frequency_min, row.frequency_max + 1)]
    assert sorted(cells) == [(r, f) for r in range(1, 6) for f in range(1, 6)]


def test_a_retail_invoice_log_builds_with_only_its_path_and_column_map(tmp_path):
    lines, _ = generate_clean_transactions(600, seed=5)
    dirty = add_dirt(lines, seed=5)
    retail = to_retail_schema(dirty)
    retail["UnitPrice"] = "£" + retail["UnitPrice"].astype(str)   # prices as the shop writes them: still numbers
    path = tmp_path / "online_retail.csv"
    retail.to_csv(path, index=False)
    column_map = {"InvoiceNo": "order_id", "StockCode": "product_id", "Quantity": "quantity",
                  "InvoiceDate": "occurred_at", "UnitPrice": "unit_price", "CustomerID": "customer_id",
                  "Country": "country"}
    run = run_dbt(["build"], tmp_path, vars={"transactions_path": str(path), "column_map": column_map, **FAST})
    assert_ok(run)
    s = run.df("select * from transaction_summary").iloc[0]
    assert s.input_lines == len(retail) == s.used_lines + s.rejected_lines + s.collapsed_duplicates
    assert s.guest_lines == int((retail["CustomerID"].astype(str).str.strip() == "").sum())
    # RFM values against pandas on the clean lines (minute precision, as the log writes times)
    clean = lines.assign(amount=lines.quantity * lines.unit_price,
                         occurred_at=lines.occurred_at.dt.floor("min"))
    as_of = clean.occurred_at.max()
    purchases = clean[clean.quantity > 0]
    expected = pd.DataFrame({
        "frequency": purchases.groupby("customer_id").order_id.nunique(),
        "monetary": clean.groupby("customer_id").amount.sum(),
        "recency_days": (as_of.normalize() - purchases.groupby("customer_id").occurred_at.max().dt.normalize()).dt.days,
    })
    got = _customers(run)[["frequency", "monetary", "recency_days"]]
    pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index().astype("float64"), check_names=False,
                                  check_exact=False, rtol=1e-9)
    names = run.df("select segment_name from segment_profiles").segment_name
    assert not [n for n in names if any(w in n.lower() for w in CREDIT_CARD_WORDS)]


def test_the_cdnow_log_without_header_builds_with_named_columns(tmp_path):
    cdnow = shared_data("CDNOW_master.txt")
    options = {"header": False, "delimiter": "whitespace",
               "column_names": ["customer_id", "occurred_at", "quantity", "amount"]}
    run = run_dbt(["build"], tmp_path, vars={"transactions_path": str(cdnow), "input_options": options, **FAST})
    assert_ok(run)
    s = run.df("select * from transaction_summary").iloc[0]
    assert s.input_lines == 69659 and s.collapsed_duplicates == 255
    assert run.scalar("select count(*) from rejected_transactions where reject_reasons = 'zero_amount'") >= 1
    assert s.input_lines == s.used_lines + s.rejected_lines + s.collapsed_duplicates
    assert run.scalar("select count(*) from int_transaction_customers") == 23544 - run.scalar(
        "select count(distinct customer_id) from rejected_transactions where customer_id not in "
        "(select customer_id from int_transactions)")


# --------------------------------------------------------------------------- bad input, in one line
def _resolve(path: Path, role: str, **settings) -> dict:
    key = "transactions_path" if role == "transactions" else "customers_path"
    request = {"settings": {key: str(path), **settings}, "role": role, "cache_dir": str(path.parent / "cache")}
    return inputs.resolve(request)


def test_missing_transaction_columns_are_named_in_one_line(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("client,when,what\nA,2024-01-01,x\nA,2024-01-02,y\n")
    error = _resolve(path, "transactions")["error"]
    assert "\n" not in error and "occurred_at" in error and str(path) in error
    assert "amount (or unit_price, with quantity if there is one)" in error


def test_a_customer_table_given_as_transactions_is_recognised(tmp_path):
    error = _resolve(PROJECT_DIR / "seeds" / "custseg_sample_customers.csv", "transactions")["error"]
    assert "looks like a customer table" in error and "customers_path" in error and "\n" not in error


def test_a_transaction_log_given_as_customers_is_recognised(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(HAND_MADE.replace(",o7,", "Z,o7,"))
    error = _resolve(path, "customers")["error"]
    assert "looks like a transaction log" in error and "transactions_path" in error and "\n" not in error


def test_mixed_date_formats_read_what_is_unambiguous(tmp_path):
    path = tmp_path / "mixed.csv"
    rows = ["customer_id,occurred_at,amount"] + [f"A,2024-01-{d:02d},1" for d in range(1, 21)] + \
        ["B,25/01/2024,1", "C,13/02/2024,1", "D,03/04/2024,1"]
    path.write_text("\n".join(rows) + "\n")
    tx = _resolve(path, "transactions")["transactions"]
    formats = next(c for c in tx["columns"] if c["role"] == "occurred_at")["date_formats"]
    assert formats == ["%Y-%m-%d", "%d/%m/%Y"]      # day-first: 25/01 and 13/02 say so; 03/04 reads as 3 April
    assert json.dumps(tx)


@pytest.mark.parametrize("written, fmt", [
    (["19/9/16", "2/8/16", "28/10/16"], "%d/%m/%y"),      # a bank's export: day first, two-digit years
    (["31-Jul-14", "1-Feb-13", "16-May-12"], "%d-%b-%y"),  # month names
    (["Jul 31, 2014", "Feb 1, 2013", "May 16, 2012"], "%b %d, %Y"),
    (["2023-01-05T10:00:00Z", "2023-02-11T23:59:59Z", "2022-12-31T00:00:00Z"], "%Y-%m-%dT%H:%M:%SZ"),
    (["2023-01-05T10:00:00.123+01:00", "2023-02-11T23:59:59.5-05:00", "2022-12-31T00:00:00.000+00:00"],
     "%Y-%m-%dT%H:%M:%S.%f%z"),
])
def test_two_digit_years_and_month_names_are_dates_of_their_century(tmp_path, written, fmt):
    """'19/9/16' is 19 September 2016, never the year 16; units in brackets and short names
    ('TransactionAmount (INR)', trans_date) are still the canonical columns."""
    path = tmp_path / "log.csv"
    rows = ["CustomerID,trans_date,TransactionAmount (INR)"] + [f"C{i},\"{written[i % 3]}\",{i + 1}" for i in range(30)]
    path.write_text("\n".join(rows) + "\n")
    tx = _resolve(path, "transactions")["transactions"]
    assert {c["input_column"]: c["role"] for c in tx["columns"]} == {
        "CustomerID": "customer_id", "trans_date": "occurred_at", "TransactionAmount (INR)": "amount"}
    formats = next(c for c in tx["columns"] if c["role"] == "occurred_at")["date_formats"]
    assert formats[0] == fmt and not [f for f in formats if "%Y" in f and "%y" in fmt]


def test_two_digit_years_are_read_in_sql_as_in_the_profile(tmp_path):
    """The SQL side: '%d/%m/%Y' never reads '19/9/16' (the year 16), so a log whose dates
    have two-digit years gets the right recency."""
    path = tmp_path / "log.csv"
    path.write_text("CustomerID,TransactionDate,TransactionAmount (INR)\n"
                    "C1,19/9/16,10\nC1,2/8/16,5\nC2,28/10/16,7\nC3,1/1/15,3\n")
    run = run_dbt(["build", "--select", *FEATURES], tmp_path, vars={"transactions_path": str(path)})
    assert_ok(run)
    c = _customers(run)
    assert c["recency_days"].to_dict() == {"C1": 39, "C2": 0, "C3": 666}
    assert run.scalar("select as_of from transaction_summary").year == 2016


def test_times_with_an_offset_are_read_as_utc(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("customer_id,created_at,total\n"
                    "A,2024-03-01T23:30:00-05:00,10\nB,2024-03-02T01:00:00+01:00,5\nB,2024-03-03T04:30:00Z,5\n")
    run = run_dbt(["build", "--select", *FEATURES], tmp_path, vars={"transactions_path": str(path)})
    assert_ok(run)
    assert str(run.scalar("select as_of from transaction_summary")) == "2024-03-03 04:30:00"
    assert _customers(run)["recency_days"].to_dict() == {"A": 1, "B": 0}     # A: 2 March 04:30 UTC


def test_a_clickstream_counts_only_its_purchase_events(tmp_path):
    """An e-commerce event log (event_time with ' UTC', event_type view/cart/purchase, price,
    user_id): purchases are the lines, each worth its price; views and carts are set apart
    like guests (not_a_purchase), outside max_rejected_share."""
    path = tmp_path / "events.csv"
    path.write_text("event_time,event_type,product_id,category_code,price,user_id\n"
                    "2019-10-01 08:00:00 UTC,view,p1,electronics.phone,100.0,7\n"
                    "2019-10-01 08:01:00 UTC,cart,p1,electronics.phone,100.0,7\n"
                    "2019-10-01 08:02:00 UTC,purchase,p1,electronics.phone,100.0,7\n"
                    "2019-10-03 09:00:00 UTC,purchase,p2,appliances.washer,40.5,7\n"
                    "2019-10-05 10:00:00 UTC,view,p2,appliances.washer,40.5,8\n"
                    "2019-10-06 11:00:00 UTC,purchase,p3,electronics.phone,19.5,9\n")
    tx = _resolve(path, "transactions")["transactions"]
    assert {c["input_column"]: c["role"] for c in tx["columns"] if c["role"] != "ignored"} == {
        "event_time": "occurred_at", "event_type": "event_type", "product_id": "product_id",
        "category_code": "category", "price": "unit_price", "user_id": "customer_id"}
    assert tx["purchase_events"] == ["purchase"]
    run = run_dbt(["build", "--select", *FEATURES], tmp_path, vars={"transactions_path": str(path)})
    assert_ok(run)
    c = _customers(run)
    assert c[["frequency", "monetary"]].to_dict("index") == {"7": {"frequency": 2, "monetary": 140.5},
                                                              "9": {"frequency": 1, "monetary": 19.5}}
    assert run.query("select used_lines, other_event_lines, rejected_share from transaction_summary") == [(3, 3, 0.0)]
