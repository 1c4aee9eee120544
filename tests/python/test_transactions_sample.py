"""The transactions sample generator: deterministic, in the canonical schema, planted
behaviours recoverable with RFM-style features, documented dirt."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest

from custseg import transactions_sample as ts

AS_OF = pd.Timestamp("2025-12-31")
GROUPS = {g.name for g in ts.LATENT_GROUPS}


@pytest.fixture(scope="module")
def clean() -> tuple[pd.DataFrame, pd.DataFrame]:
    return ts.generate_clean_transactions()


@pytest.fixture(scope="module")
def lines(clean) -> pd.DataFrame:
    return clean[0]


@pytest.fixture(scope="module")
def customers(clean) -> pd.DataFrame:
    return clean[1]


@pytest.fixture(scope="module")
def dirty(lines) -> pd.DataFrame:
    return ts.add_dirt(lines, seed=11)


@pytest.fixture(scope="module")
def labelled(lines, customers) -> pd.DataFrame:
    frame = lines.merge(customers, on="customer_id", how="left", validate="many_to_one")
    frame["value"] = frame["quantity"] * frame["unit_price"]
    return frame


@pytest.fixture(scope="module")
def per_customer(labelled) -> pd.DataFrame:
    """RFM-style features per customer, from purchases (positive quantities) and returns."""
    purchases = labelled[labelled["quantity"] > 0]
    returns = labelled[labelled["quantity"] < 0]
    by = purchases.groupby("customer_id")
    features = pd.DataFrame(
        {
            "group": by["LATENT_GROUP"].first(),
            "recency_days": (AS_OF - by["occurred_at"].max()).dt.days,
            "tenure_days": (AS_OF - by["occurred_at"].min()).dt.days,
            "orders": by["order_id"].nunique(),
            "monetary": by["value"].sum(),
            "bought_units": by["quantity"].sum(),
        }
    )
    features["returned_units"] = (-returns.groupby("customer_id")["quantity"].sum()).reindex(features.index)
    return features.fillna({"returned_units": 0})


# --- determinism -------------------------------------------------------------------------


def test_generation_is_deterministic_and_seed_sensitive():
    a_lines, a_customers = ts.generate_clean_transactions(300, seed=5)
    b_lines, b_customers = ts.generate_clean_transactions(300, seed=5)
    c_lines, _ = ts.generate_clean_transactions(300, seed=6)
    pd.testing.assert_frame_equal(a_lines, b_lines)
    pd.testing.assert_frame_equal(a_customers, b_customers)
    assert not a_lines["occurred_at"].equals(c_lines["occurred_at"])
    pd.testing.assert_frame_equal(ts.add_dirt(a_lines, seed=5), ts.add_dirt(b_lines, seed=5))


def test_write_sample_gives_identical_bytes_whatever_the_file_name(tmp_path):
    first = tmp_path / "a" / "one.csv.gz"
    second = tmp_path / "b" / "two.csv.gz"
    ts.write_sample(first, n_customers=300)
    ts.write_sample(second, n_customers=300)
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert data[:2] == b"\x1f\x8b" and data[4:8] == b"\x00\x00\x00\x00", "gzip with mtime 0"


def test_written_file_is_the_dirty_log_with_a_header_and_lf_line_ends(tmp_path):
    gz_path, csv_path = tmp_path / "log.csv.gz", tmp_path / "log.csv"
    dirty = ts.write_sample(gz_path, n_customers=300, seed=3)
    ts.write_sample(csv_path, n_customers=300, seed=3)
    text = csv_path.read_bytes()
    assert gzip.decompress(gz_path.read_bytes()) == text
    assert b"\r" not in text
    assert text.split(b"\n", 1)[0] == ",".join(ts.TRANSACTION_COLUMNS).encode()
    back = pd.read_csv(io.BytesIO(text), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(back, dirty, check_dtype=False)
    assert len(back) == len(ts.add_dirt(ts.generate_clean_transactions(300, seed=3)[0], seed=3))


def test_uncompressed_write_to_a_gz_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="compress"):
        ts.write_sample(tmp_path / "x.csv.gz", n_customers=10, compress=False)


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError):
        ts.generate_clean_transactions(0)
    with pytest.raises(ValueError, match="date"):
        ts.generate_clean_transactions(10, as_of="2025-12-31 12:00")


def test_cli_writes_the_file_and_reports_the_rows(tmp_path, capsys):
    out = tmp_path / "sample.csv.gz"
    ts.main(["--customers", "50", "--out", str(out)])
    rows = len(pd.read_csv(out, dtype=str, keep_default_na=False))
    assert capsys.readouterr().out.strip() == f"wrote {rows} rows to {out}"


# --- schema --------------------------------------------------------------------------------


def test_clean_lines_have_the_canonical_columns_and_types(lines, customers):
    assert tuple(lines.columns) == ts.TRANSACTION_COLUMNS
    for column in ("customer_id", "order_id", "product_id", "category", "channel", "country"):
        assert pd.api.types.is_string_dtype(lines[column]), column
        assert lines[column].map(type).eq(str).all() and lines[column].ne("").all(), column
    assert lines["occurred_at"].dtype == "datetime64[ns]"
    assert lines["quantity"].dtype == np.int64
    assert lines["unit_price"].dtype == np.float64
    assert list(customers.columns) == ["customer_id", "LATENT_GROUP"]
    assert customers["customer_id"].tolist() == [f"T{i:05d}" for i in range(1, 2001)]
    assert set(lines["customer_id"]) == set(customers["customer_id"]), "every customer bought something"


def test_total_lines_are_in_the_target_range(lines, dirty):
    assert 30_000 <= len(lines) < len(dirty) <= 60_000


def test_orders_products_channels_and_countries(lines):
    catalogue = ts.product_catalogue()
    assert len(catalogue) == 200 and catalogue["product_id"].is_unique and catalogue["description"].is_unique
    assert catalogue["category"].nunique() == 8
    medians = catalogue.groupby("category", sort=False)["list_price"].median()
    assert medians.max() > 10 * medians.min(), "category-specific price levels"
    known = lines.merge(catalogue, on="product_id", how="left", suffixes=("", "_catalogue"))
    assert known["category"].eq(known["category_catalogue"]).all()
    assert (lines["unit_price"] > 0).all()

    assert lines["order_id"].str.lstrip("C").astype(int).is_monotonic_increasing, "sorted by order"
    assert lines["occurred_at"].is_monotonic_increasing, "orders are numbered in time order"
    per_order = lines.groupby("order_id").agg(
        customers=("customer_id", "nunique"), times=("occurred_at", "nunique"), channels=("channel", "nunique"),
        n_lines=("product_id", "size"), products=("product_id", "nunique"),
        min_quantity=("quantity", "min"), max_quantity=("quantity", "max"),
    )
    assert (per_order[["customers", "times", "channels"]] == 1).all().all(), "an order is one event"
    assert per_order["n_lines"].eq(per_order["products"]).all(), "distinct products within an order"
    is_return = per_order.index.str.startswith("C")
    assert (per_order.loc[~is_return, "min_quantity"] > 0).all(), "purchases have positive quantities"
    assert (per_order.loc[is_return, "max_quantity"] < 0).all(), "returns have negative quantities"
    assert per_order.loc[~is_return, "n_lines"].between(1, 6).all()
    assert set(per_order.loc[~is_return, "n_lines"]) == set(range(1, 7))
    assert per_order.index.str.fullmatch(r"C?\d{6}").all()
    numbers = per_order.index.str.lstrip("C").astype(int)
    assert numbers.min() == ts.FIRST_ORDER_NUMBER and numbers.is_unique, "one numbering for purchases and returns"

    assert set(lines["channel"]) == set(ts.CHANNELS)
    countries = lines.drop_duplicates("customer_id")["country"].value_counts(normalize=True)
    assert countries.index[0] == "United Kingdom" and countries.iloc[0] > 0.8 and len(countries) >= 4
    assert lines.groupby("customer_id")["country"].nunique().eq(1).all()
    abroad = lines[lines["country"] != "United Kingdom"]
    assert not abroad["channel"].eq("store").any()


def test_lines_fall_in_the_two_years_before_as_of(lines):
    assert lines["occurred_at"].max() < AS_OF
    assert lines["occurred_at"].min() >= AS_OF - pd.Timedelta(days=ts.PERIOD_DAYS)
    assert (lines["occurred_at"] == lines["occurred_at"].dt.floor("s")).all()


def test_as_of_moves_the_period():
    moved, _ = ts.generate_clean_transactions(100, seed=2, as_of="2024-06-30")
    base, _ = ts.generate_clean_transactions(100, seed=2)
    shift = pd.Timestamp("2025-12-31") - pd.Timestamp("2024-06-30")
    pd.testing.assert_series_equal(moved["occurred_at"] + shift, base["occurred_at"])
    assert moved["occurred_at"].max() < pd.Timestamp("2024-06-30")


# --- latent groups and planted behaviours ---------------------------------------------------


def test_every_group_is_present_with_its_share(customers):
    shares = customers["LATENT_GROUP"].value_counts(normalize=True)
    assert set(shares.index) == GROUPS
    assert abs(sum(g.share for g in ts.LATENT_GROUPS) - 1.0) < 1e-9
    for group in ts.LATENT_GROUPS:
        assert abs(shares[group.name] - group.share) <= 0.01, group.name


def test_lapsed_customers_stopped_buying_long_ago(per_customer):
    median_recency = per_customer.groupby("group")["recency_days"].median()
    assert median_recency["lapsed"] > 270
    assert per_customer.loc[per_customer["group"] == "lapsed", "recency_days"].min() >= 270
    assert median_recency.drop("lapsed").max() < 150
    assert per_customer.loc[per_customer["group"] == "lapsed", "orders"].min() >= 3, "they used to buy regularly"


def test_new_customers_started_within_sixty_days(per_customer):
    new = per_customer[per_customer["group"] == "new"]
    assert new["tenure_days"].max() < 60
    assert new["orders"].between(1, 3).all()
    others = per_customer[per_customer["group"] != "new"]
    assert others.groupby("group")["tenure_days"].median().min() > 200


def test_loyal_customers_buy_often_and_recently(per_customer):
    median_orders = per_customer.groupby("group")["orders"].median()
    assert median_orders["loyal_frequent"] >= 5 * median_orders["big_occasional"]
    assert median_orders["loyal_frequent"] == median_orders.max()
    loyal = per_customer[per_customer["group"] == "loyal_frequent"]
    assert loyal["recency_days"].median() < 30
    assert loyal["orders"].min() >= 12


def test_big_occasional_customers_place_few_large_orders(labelled, per_customer):
    big = per_customer[per_customer["group"] == "big_occasional"]
    assert big["orders"].between(1, 4).all()
    purchases = labelled[labelled["quantity"] > 0]
    order_value = purchases.groupby(["LATENT_GROUP", "order_id"])["value"].sum().groupby(level=0).mean()
    assert order_value.idxmax() == "big_occasional"
    assert order_value["big_occasional"] > 3 * order_value.drop("big_occasional").max()
    unit_price = purchases.groupby("LATENT_GROUP")["unit_price"].mean()
    assert unit_price.idxmax() == "big_occasional"


def test_heavy_returners_return_a_large_share(per_customer):
    by_group = per_customer.groupby("group")[["returned_units", "bought_units"]].sum()
    share = by_group["returned_units"] / by_group["bought_units"]
    assert share["heavy_returners"] > 0.2
    assert share.drop("heavy_returners").max() < 0.05
    returners = per_customer[per_customer["group"] == "heavy_returners"]
    assert returners["orders"].median() >= 8, "they buy regularly"


def test_returns_reference_products_bought_earlier(lines):
    returns = lines[lines["quantity"] < 0]
    purchases = lines[lines["quantity"] > 0]
    assert len(returns) > 0 and returns["order_id"].str.startswith("C").all()
    assert not purchases["order_id"].str.startswith("C").any()
    first_bought = purchases.groupby(["customer_id", "product_id"])["occurred_at"].min().rename("first_bought")
    joined = returns.join(first_bought, on=["customer_id", "product_id"])
    assert joined["first_bought"].notna().all()
    assert (joined["occurred_at"].dt.normalize() > joined["first_bought"].dt.normalize()).all(), "on a later day"
    bought = purchases.groupby(["customer_id", "product_id"])["quantity"].sum()
    returned = -returns.groupby(["customer_id", "product_id"])["quantity"].sum()
    assert (returned <= bought.reindex(returned.index)).all()
    prices = purchases.groupby(["customer_id", "product_id"])["unit_price"].agg(set)
    assert all(price in prices[key] for key, price in
               zip(zip(returns["customer_id"], returns["product_id"]), returns["unit_price"]))


# --- dirt ---------------------------------------------------------------------------------


def test_dirty_log_is_all_text_without_text_dirt_in_customer_ids(dirty):
    assert tuple(dirty.columns) == ts.TRANSACTION_COLUMNS
    assert all(dirty[c].map(type).eq(str).all() for c in dirty.columns)
    assert dirty["customer_id"].str.fullmatch(r"(T\d{5})?").all()


def test_dirt_counts_are_what_count_dirt_finds(lines, dirty):
    expected = ts.dirt_counts(len(lines))
    assert ts.count_dirt(dirty) == expected
    assert len(dirty) == len(lines) + sum(expected.values())
    assert ts.count_dirt(ts._to_text(lines)) == dict.fromkeys(expected, 0)
    for kind, rate in ts.DIRT_RATES.items():
        assert expected[kind] == max(ts.DIRT_MINIMUMS[kind], round(rate * len(lines))), kind
    assert expected["bad_date"] >= 3 and expected["bad_quantity"] >= 3


def test_dirt_counts_survive_a_csv_round_trip(tmp_path):
    path = tmp_path / "log.csv"
    dirty = ts.write_sample(path, n_customers=200, seed=4)
    for na in (False, True):
        back = pd.read_csv(path, dtype=str, keep_default_na=na)
        assert ts.count_dirt(back) == ts.count_dirt(dirty)


def test_guest_lines_are_complete_orders(lines, dirty):
    guests = dirty[dirty["customer_id"] == ""]
    assert abs(len(guests) / len(lines) - 0.03) < 0.001
    assert not set(guests["order_id"]) & set(lines["order_id"]), "orders of their own"
    per_order = guests.groupby("order_id").agg(n=("product_id", "size"), products=("product_id", "nunique"),
                                               times=("occurred_at", "nunique"))
    assert per_order["n"].between(1, 6).all() and (per_order["n"] == per_order["products"]).all()
    assert (per_order["times"] == 1).all()
    assert (pd.to_numeric(guests["quantity"]) > 0).all() and (pd.to_numeric(guests["unit_price"]) > 0).all()
    assert pd.to_datetime(guests["occurred_at"], format=ts.TIMESTAMP_FORMAT).max() < AS_OF


def test_removing_the_dirt_gives_back_the_clean_log(lines, dirty):
    occurred = pd.to_datetime(dirty["occurred_at"], format=ts.TIMESTAMP_FORMAT, errors="coerce")
    keep = (
        dirty["customer_id"].ne("")
        & ~dirty.duplicated()
        & pd.to_numeric(dirty["unit_price"], errors="coerce").ne(0)
        & occurred.notna()
        & dirty["quantity"].str.fullmatch(r"-?\d+")
    )
    kept = dirty[keep].sort_values(["order_id", "product_id"]).reset_index(drop=True)
    expected = ts._to_text(lines).sort_values(["order_id", "product_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, expected)
    added = dirty[~keep & dirty["customer_id"].ne("") & ~dirty.duplicated()]
    assert not (set(zip(added["order_id"], added["product_id"]))
                & set(zip(lines["order_id"], lines["product_id"]))), "dirt lines add products to orders"


def test_dirty_log_is_shuffled(dirty):
    assert not dirty["order_id"].str.lstrip("C").astype(int).is_monotonic_increasing


# --- retail schema ------------------------------------------------------------------------


def test_retail_schema_of_clean_and_dirty_lines(lines, dirty):
    retail = ts.to_retail_schema(lines)
    assert tuple(retail.columns) == ts.RETAIL_COLUMNS
    date_pattern = r"([1-9]|1[0-2])/([1-9]|[12]\d|3[01])/20\d\d ([0-9]|1\d|2[0-3]):[0-5]\d"
    assert retail["InvoiceDate"].str.fullmatch(date_pattern).all()
    row = lines.iloc[0]
    stamp = row["occurred_at"]
    assert retail["InvoiceDate"].iloc[0] == f"{stamp.month}/{stamp.day}/{stamp.year} {stamp.hour}:{stamp.minute:02d}"
    assert retail["InvoiceNo"].equals(lines["order_id"]) and retail["StockCode"].equals(lines["product_id"])
    assert retail["Quantity"].dtype == np.int64 and retail["UnitPrice"].dtype == np.float64
    assert retail["Description"].notna().all() and retail["Description"].str.len().gt(0).all()
    assert retail.groupby("StockCode")["Description"].nunique().eq(1).all()
    assert ts.to_retail_schema(pd.DataFrame({"occurred_at": [pd.Timestamp("2010-12-01 08:26:59")],
                                             "order_id": ["536365"], "product_id": ["P0001"],
                                             "category": ["stationery"], "quantity": [6], "unit_price": [2.55],
                                             "customer_id": ["T00001"], "country": ["United Kingdom"]})
                               )["InvoiceDate"].tolist() == ["12/1/2010 8:26"]

    retail_dirty = ts.to_retail_schema(dirty)
    bad = pd.to_datetime(dirty["occurred_at"], format=ts.TIMESTAMP_FORMAT, errors="coerce").isna()
    assert retail_dirty.loc[bad, "InvoiceDate"].tolist() == dirty.loc[bad, "occurred_at"].tolist(), "kept as is"
    assert retail_dirty.loc[~bad, "InvoiceDate"].str.fullmatch(date_pattern).all()
    assert retail_dirty["CustomerID"].equals(dirty["customer_id"])
