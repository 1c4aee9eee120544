"""Deterministic generator of a synthetic retail transaction log (one row per order line).

Customers are drawn from latent behavioural groups (the "truth" a segmentation should
recover) that differ in recency, frequency, monetary value, tenure and return rate:

- ``loyal_frequent``: an order every 2-4 weeks since their first purchase one to two years
  ago, moderate everyday baskets, a recent last purchase;
- ``big_occasional``: one to four orders over the period, large baskets of expensive goods;
- ``lapsed``: bought regularly in the first year, then stopped (no purchase in the last
  290-480 days before ``as_of``);
- ``new``: first purchase within the last 60 days, one to three orders;
- ``heavy_returners``: buy regularly (mostly apparel, mostly online) and send back about a
  third of what they buy;
- ``occasional``: the mainstream, a few orders a year with average baskets.

The log covers the two years (:data:`PERIOD_DAYS` days) before ``as_of``; ``as_of`` itself is
the snapshot date and is excluded, so every line occurs strictly before it. An order has
1-6 lines, each a distinct product of a fixed catalogue (:func:`product_catalogue`: 200
products in 8 categories with category-specific price levels). A customer has one country
(mostly the United Kingdom; customers abroad buy online only) and picks a channel (``web``,
``store``, ``app``) per order from personal preferences drawn around the group's. A return
is a separate order whose id starts with ``C`` (as cancellations are written in public
retail logs): on a later day than the purchase, same channel and unit price, negative
quantity, at most what was bought. Order ids are numbered in time order from 500001;
purchases and returns share one numbering.

:func:`add_dirt` then adds what real logs carry, as extra lines, so that removing them gives
back the clean log exactly. Rates are per clean line (:data:`DIRT_RATES`; counts are rounded,
with the minimum given):

- guest lines, ~3% (at least 1): complete orders without a customer (empty ``customer_id``);
- exact duplicate lines, ~0.5% (at least 1): copies of clean lines;
- lines with unit price 0, ~0.2% (at least 1): a free extra product in a customer's order;
- lines with an unparseable ``occurred_at`` (``not a date``, ``2025-02-30 12:00:00``, ...),
  ~0.05% (at least 3);
- lines with a non-numeric ``quantity`` (``two``, ``1O``, ``n/a``, ...), ~0.05% (at least 3).

``customer_id`` never holds text dirt. The zero-price, bad-date and bad-quantity lines each
add a product that is not yet in the order, so ``(order_id, product_id)`` identifies a line
except for the exact duplicates. :func:`dirt_counts` gives the exact number of lines of each
kind :func:`add_dirt` adds; :func:`count_dirt` finds them again in a text log.

Usage::

    python -m custseg.transactions_sample --customers 2000 --out data/sample_transactions.csv.gz
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

#: Columns of the written log, in file order.
TRANSACTION_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "order_id",
    "product_id",
    "category",
    "channel",
    "country",
    "occurred_at",
    "quantity",
    "unit_price",
)

#: Columns of :func:`to_retail_schema`, in the order of public retail invoice logs.
RETAIL_COLUMNS: tuple[str, ...] = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)

#: Length of the logged period in days; the period ends the day before ``as_of``.
PERIOD_DAYS = 730

#: Text format of ``occurred_at`` in the written log.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

#: First order number; return orders carry the prefix ``C``.
FIRST_ORDER_NUMBER = 500001

CHANNELS: tuple[str, ...] = ("web", "store", "app")

#: Countries and the share of customers living there (customers abroad shop online only).
COUNTRIES: tuple[tuple[str, float], ...] = (
    ("United Kingdom", 0.90),
    ("Germany", 0.03),
    ("France", 0.03),
    ("Ireland", 0.02),
    ("Netherlands", 0.01),
    ("Spain", 0.01),
)


@dataclass(frozen=True)
class Category:
    """A product category: how many products it has and their median list price."""

    name: str
    n_products: int
    median_price: float
    nouns: tuple[str, ...]


#: The catalogue's categories (200 products in all), cheapest first.
CATEGORIES: tuple[Category, ...] = (
    Category("stationery", 30, 2.5, ("NOTEBOOK", "PENCIL SET", "GREETING CARD", "WRAPPING PAPER", "STICKER PACK")),
    Category("kitchen", 30, 6.0, ("MUG", "TEA TOWEL", "LUNCH BOX", "CAKE TIN", "JAM JAR")),
    Category("home_decor", 30, 9.0, ("CANDLE HOLDER", "PHOTO FRAME", "CUSHION COVER", "WALL SIGN", "VASE")),
    Category("toys", 25, 12.0, ("JIGSAW", "SOFT TOY", "SPINNING TOP", "PLAY SET", "KITE")),
    Category("beauty", 25, 14.0, ("HAND CREAM", "SOAP GIFT SET", "BATH SALTS", "LIP BALM", "MAKE UP BAG")),
    Category("garden", 20, 18.0, ("PLANT POT", "BIRD FEEDER", "WATERING CAN", "GARDEN LANTERN", "SEED KIT")),
    Category("apparel", 25, 24.0, ("SCARF", "T-SHIRT", "KNITTED HAT", "APRON", "TOTE BAG")),
    Category("electronics", 15, 60.0, ("SPEAKER", "HEADPHONES", "DESK LAMP", "ALARM CLOCK", "POWER BANK")),
)

#: Adjectives combined with a category's nouns to name its products (5 x 7 >= 35 products).
_ADJECTIVES: tuple[str, ...] = ("WHITE", "RED", "VINTAGE", "BLUE", "RETRO", "GREEN", "LARGE")

#: Seed of the product catalogue: the catalogue is the same whatever the sample's seed.
CATALOGUE_SEED = 20251231

#: Relative weight of each hour of day for online (web, app) orders: an evening peak.
_ONLINE_HOUR_WEIGHTS = np.array(
    [1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.0, 2.5, 3.0, 3.0,
     3.2, 3.0, 3.0, 3.0, 3.2, 3.8, 4.5, 5.0, 5.0, 4.0, 3.0, 2.0]
)
_ONLINE_HOUR_P = _ONLINE_HOUR_WEIGHTS / _ONLINE_HOUR_WEIGHTS.sum()
#: Opening hours of the stores: an order starts at 09:00 at the earliest and 19:59 at the latest.
_STORE_HOURS = (9, 20)


@dataclass(frozen=True)
class TransactionGroup:
    """Parameters of one latent customer group.

    Order days follow a renewal process: the first order is ``first_days_ago`` days before
    ``as_of`` (drawn uniformly in the range); then gaps are gamma distributed with mean
    ``gap_days`` and shape ``gap_shape`` (higher is more regular) until the customer goes
    quiet ``quiet_days`` before ``as_of``. The count is brought into ``orders`` (min, max):
    missing orders fall on random days of the active window, surplus ones (other than the
    first) are dropped at random. An order has ``1 + Poisson(lines_mean - 1)`` lines (at most
    6) and a line ``1 + Poisson(quantity_mean - 1)`` units. Products are drawn by
    ``category_weights`` (aligned with :data:`CATEGORIES`) and, within a category, with weight
    ``(list price / category median) ** price_tilt``. Each purchased line is returned with the
    customer's return probability, drawn from a beta distribution with mean ``return_rate``.
    """

    name: str
    share: float
    first_days_ago: tuple[int, int]
    quiet_days: tuple[int, int]
    gap_days: float
    gap_shape: float
    orders: tuple[int, int]
    lines_mean: float
    quantity_mean: float
    category_weights: tuple[float, ...]
    price_tilt: float
    channel_weights: tuple[float, float, float]
    return_rate: float


#: The latent groups. Shares sum to 1.
LATENT_GROUPS: tuple[TransactionGroup, ...] = (
    TransactionGroup(
        "loyal_frequent", 0.15,
        first_days_ago=(365, 730), quiet_days=(0, 0), gap_days=21.0, gap_shape=6.0, orders=(12, 60),
        lines_mean=2.4, quantity_mean=1.5, category_weights=(3, 3, 2, 1, 2, 1, 1, 0.3), price_tilt=0.0,
        channel_weights=(0.35, 0.20, 0.45), return_rate=0.015,
    ),
    TransactionGroup(
        "big_occasional", 0.12,
        first_days_ago=(30, 730), quiet_days=(0, 0), gap_days=150.0, gap_shape=1.5, orders=(1, 4),
        lines_mean=4.5, quantity_mean=2.5, category_weights=(0.3, 0.5, 1, 1, 0.5, 2, 3, 4), price_tilt=1.5,
        channel_weights=(0.45, 0.45, 0.10), return_rate=0.02,
    ),
    TransactionGroup(
        "lapsed", 0.15,
        first_days_ago=(600, 730), quiet_days=(290, 480), gap_days=35.0, gap_shape=4.0, orders=(3, 30),
        lines_mean=2.4, quantity_mean=1.4, category_weights=(2, 2, 2, 1.5, 1.5, 1, 1, 0.5), price_tilt=0.0,
        channel_weights=(0.30, 0.60, 0.10), return_rate=0.02,
    ),
    TransactionGroup(
        "new", 0.10,
        first_days_ago=(3, 58), quiet_days=(0, 0), gap_days=12.0, gap_shape=2.0, orders=(1, 3),
        lines_mean=2.2, quantity_mean=1.3, category_weights=(2, 2, 2, 1.5, 1.5, 1, 1.5, 0.5), price_tilt=0.0,
        channel_weights=(0.45, 0.15, 0.40), return_rate=0.015,
    ),
    TransactionGroup(
        "heavy_returners", 0.08,
        first_days_ago=(300, 730), quiet_days=(0, 45), gap_days=35.0, gap_shape=3.0, orders=(4, 40),
        lines_mean=3.0, quantity_mean=1.4, category_weights=(0.5, 1, 1.5, 1, 1.5, 0.5, 5, 1), price_tilt=0.5,
        channel_weights=(0.70, 0.05, 0.25), return_rate=0.40,
    ),
    TransactionGroup(
        "occasional", 0.40,
        first_days_ago=(120, 730), quiet_days=(0, 90), gap_days=110.0, gap_shape=2.0, orders=(1, 12),
        lines_mean=2.5, quantity_mean=1.4, category_weights=(2, 2, 2, 1.5, 1.5, 1, 1.5, 0.5), price_tilt=0.0,
        channel_weights=(0.35, 0.50, 0.15), return_rate=0.02,
    ),
)

#: Concentration of a customer's channel preferences (Dirichlet) and return probability
#: (beta) around the group's values: higher keeps customers closer to their group.
_CHANNEL_CONCENTRATION = 8.0
_RETURN_CONCENTRATION = 20.0
#: Share of purchased lines sold at a 20% promotional discount.
_PROMOTION_SHARE = 0.10
#: Share of returned lines sent back in full (the others return part of the quantity).
_FULL_RETURN_SHARE = 0.75
#: A return happens 2-28 days after the purchase (returns not made by ``as_of`` are not logged).
_RETURN_DELAY_DAYS = (2, 28)
MAX_LINES_PER_ORDER = 6

#: Dirt rates, per clean line (see the module docstring and :func:`dirt_counts`).
DIRT_RATES: dict[str, float] = {
    "empty_customer_id": 0.03,
    "duplicate_line": 0.005,
    "zero_price": 0.002,
    "bad_date": 0.0005,
    "bad_quantity": 0.0005,
}
#: The smallest number of lines of each dirt kind :func:`add_dirt` adds.
DIRT_MINIMUMS: dict[str, int] = {
    "empty_customer_id": 1,
    "duplicate_line": 1,
    "zero_price": 1,
    "bad_date": 3,
    "bad_quantity": 3,
}
#: Unparseable ``occurred_at`` and non-numeric ``quantity`` values, used in turn.
BAD_DATES: tuple[str, ...] = ("not a date", "2025-02-30 12:00:00", "0000-00-00 00:00:00", "N/A")
BAD_QUANTITIES: tuple[str, ...] = ("two", "1O", "n/a", "one", "3 pcs")
#: Channel preferences of guest (no customer id) orders: mostly in store.
_GUEST_CHANNEL_WEIGHTS = (0.25, 0.70, 0.05)


# --------------------------------------------------------------------------------------
# Catalogue
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _catalogue() -> pd.DataFrame:
    rng = np.random.default_rng(CATALOGUE_SEED)
    rows = []
    number = 1
    for category in CATEGORIES:
        prices = category.median_price * np.exp(rng.normal(0.0, 0.35, category.n_products))
        for i, price in enumerate(prices):
            noun = category.nouns[i % len(category.nouns)]
            adjective = _ADJECTIVES[i // len(category.nouns)]
            rows.append(
                {
                    "product_id": f"P{number:04d}",
                    "category": category.name,
                    "description": f"{adjective} {noun}",
                    "list_price": max(0.25, round(price * 20) / 20),
                }
            )
            number += 1
    return pd.DataFrame(rows)


def product_catalogue() -> pd.DataFrame:
    """The fixed product catalogue: ``product_id`` (``P0001``..``P0200``), ``category``,
    ``description`` (e.g. ``VINTAGE MUG``, unique) and ``list_price`` (a multiple of 0.05).

    The same for every seed and size of sample.
    """
    return _catalogue().copy()


def _product_weights(group: TransactionGroup, catalogue: pd.DataFrame) -> np.ndarray:
    """Probability of each catalogue product being picked for a line by ``group``."""
    weights = np.zeros(len(catalogue))
    for category, category_weight in zip(CATEGORIES, group.category_weights):
        mask = (catalogue["category"] == category.name).to_numpy()
        tilt = (catalogue["list_price"].to_numpy()[mask] / category.median_price) ** group.price_tilt
        weights[mask] = category_weight * tilt / tilt.sum()
    return weights / weights.sum()


# --------------------------------------------------------------------------------------
# Clean log
# --------------------------------------------------------------------------------------


def _as_of(as_of: str | pd.Timestamp) -> pd.Timestamp:
    """``as_of`` as a timestamp at midnight; rejects values with a time of day."""
    stamp = pd.Timestamp(as_of)
    if stamp != stamp.normalize():
        raise ValueError(f"as_of must be a date, got {as_of!r}")
    return stamp


def _group_sizes(n: int) -> np.ndarray:
    """Customers per group: shares of ``n`` rounded by largest remainder (sums to ``n``)."""
    shares = np.array([g.share for g in LATENT_GROUPS])
    exact = shares / shares.sum() * n
    sizes = np.floor(exact).astype(int)
    remainder_order = np.argsort(-(exact - sizes), kind="stable")
    sizes[remainder_order[: n - sizes.sum()]] += 1
    return sizes


def _order_days(rng: np.random.Generator, group: TransactionGroup) -> np.ndarray:
    """Sorted order days of one customer, as day numbers 0..PERIOD_DAYS-1 of the period."""
    last_day = PERIOD_DAYS - 1
    first = PERIOD_DAYS - int(rng.integers(group.first_days_ago[0], group.first_days_ago[1] + 1))
    end = last_day - int(rng.integers(group.quiet_days[0], group.quiet_days[1] + 1))
    end = max(end, first)
    days = [first]
    t = first + rng.random()  # the first order's fraction of the day, so gaps are not whole days
    while True:
        t += rng.gamma(group.gap_shape, group.gap_days / group.gap_shape)
        if int(t) > end:
            break
        days.append(int(t))
    lo, hi = group.orders
    if len(days) < lo:
        days += rng.integers(first, end + 1, lo - len(days)).tolist()
    elif len(days) > hi:
        keep = rng.choice(np.arange(1, len(days)), size=hi - 1, replace=False)
        days = [days[0]] + [days[i] for i in keep]
    return np.sort(np.asarray(days, dtype=np.int64))


def _seconds_of_day(rng: np.random.Generator, channel: str) -> int:
    """A time of day in seconds: store opening hours, or the online hour profile."""
    if channel == "store":
        hour = int(rng.integers(*_STORE_HOURS))
    else:
        hour = int(rng.choice(24, p=_ONLINE_HOUR_P))
    return hour * 3600 + int(rng.integers(0, 3600))


def _basket(
    rng: np.random.Generator, product_p: np.ndarray, list_prices: np.ndarray, lines_mean: float,
    quantity_mean: float, size: int | None = None,
) -> list[tuple[int, int, float]]:
    """Lines ``(product index, quantity, unit price)`` of one order, with distinct products.

    ``size`` lines, or ``1 + Poisson(lines_mean - 1)`` (at most :data:`MAX_LINES_PER_ORDER`);
    a line is sold at list price, or 20% off with probability ``_PROMOTION_SHARE``.
    """
    if size is None:
        size = min(MAX_LINES_PER_ORDER, 1 + int(rng.poisson(lines_mean - 1.0)))
    products = rng.choice(len(product_p), size=size, replace=False, p=product_p)
    quantities = 1 + rng.poisson(quantity_mean - 1.0, size)
    promoted = rng.random(size) < _PROMOTION_SHARE
    prices = np.where(promoted, np.round(list_prices[products] * 0.8, 2), list_prices[products])
    return [(int(pr), int(q), float(pc)) for pr, q, pc in zip(products, quantities, prices)]


def generate_clean_transactions(
    n_customers: int = 2000, seed: int = 11, as_of: str | pd.Timestamp = "2025-12-31"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate the clean transaction log of ``n_customers`` customers and their groups.

    Returns ``(lines, customers)``. ``lines`` has the :data:`TRANSACTION_COLUMNS` (text
    columns, ``occurred_at`` as ``datetime64[ns]``, ``quantity`` int64, ``unit_price``
    float64), one row per order line, sorted by order (which is time order). ``customers``
    has ``customer_id`` (``T00001``, ...) and ``LATENT_GROUP``; every customer has at least
    one purchase. Group sizes are the shares of ``n_customers`` rounded by largest remainder,
    assigned to ids in random order. Deterministic for a given ``(n_customers, seed, as_of)``.
    """
    if n_customers <= 0:
        raise ValueError(f"n_customers must be positive, got {n_customers}")
    if n_customers > 99999:
        raise ValueError(f"customer ids have five digits: n_customers must be <= 99999, got {n_customers}")
    period_start = _as_of(as_of) - pd.Timedelta(days=PERIOD_DAYS)
    rng = np.random.default_rng(seed)
    catalogue = _catalogue()
    list_prices = catalogue["list_price"].to_numpy()
    product_p = [_product_weights(g, catalogue) for g in LATENT_GROUPS]

    group_idx = rng.permutation(np.repeat(np.arange(len(LATENT_GROUPS)), _group_sizes(n_customers)))
    country_names = [c for c, _ in COUNTRIES]
    country_p = np.array([s for _, s in COUNTRIES])
    countries = rng.choice(len(COUNTRIES), size=n_customers, p=country_p / country_p.sum())

    # One record per order: (seconds since period start, customer, is_return, channel, lines).
    orders: list[tuple[int, int, int, str, list[tuple[int, int, float]]]] = []
    for customer in range(n_customers):
        group = LATENT_GROUPS[group_idx[customer]]
        channel_p = rng.dirichlet(_CHANNEL_CONCENTRATION * np.asarray(group.channel_weights))
        if countries[customer] != 0:  # customers abroad cannot walk into a store
            channel_p[CHANNELS.index("store")] = 0.0
        channel_p = channel_p / channel_p.sum()
        return_p = rng.beta(_RETURN_CONCENTRATION * group.return_rate,
                            _RETURN_CONCENTRATION * (1.0 - group.return_rate))
        for day in _order_days(rng, group):
            channel = CHANNELS[int(rng.choice(len(CHANNELS), p=channel_p))]
            lines = _basket(rng, product_p[group_idx[customer]], list_prices, group.lines_mean,
                            group.quantity_mean)
            orders.append((int(day) * 86400 + _seconds_of_day(rng, channel), customer, 0, channel, lines))
            returned = []
            for product, quantity, price in lines:
                if rng.random() < return_p:
                    full = rng.random() < _FULL_RETURN_SHARE
                    back = quantity if full else int(rng.integers(1, quantity + 1))
                    returned.append((product, -back, price))
            return_day = int(day) + int(rng.integers(_RETURN_DELAY_DAYS[0], _RETURN_DELAY_DAYS[1] + 1))
            if returned and return_day < PERIOD_DAYS:
                orders.append((return_day * 86400 + _seconds_of_day(rng, channel), customer, 1, channel, returned))

    # Number the orders in time order (ties: by customer, purchase before return).
    orders.sort(key=lambda order: (order[0], order[1], order[2]))
    records = []
    for number, (seconds, customer, is_return, channel, lines) in enumerate(orders, start=FIRST_ORDER_NUMBER):
        order_id = f"C{number}" if is_return else str(number)
        for product, quantity, price in lines:
            records.append((customer, order_id, product, channel, seconds, quantity, price))
    customer_col, order_col, product_col, channel_col, seconds_col, quantity_col, price_col = zip(*records)

    customer_ids = np.array([f"T{i + 1:05d}" for i in range(n_customers)], dtype=object)
    product_rows = np.asarray(product_col)
    seconds = np.asarray(seconds_col, dtype=np.int64)
    lines_frame = pd.DataFrame(
        {
            "customer_id": customer_ids[np.asarray(customer_col)],
            "order_id": np.asarray(order_col, dtype=object),
            "product_id": catalogue["product_id"].to_numpy(dtype=object)[product_rows],
            "category": catalogue["category"].to_numpy(dtype=object)[product_rows],
            "channel": np.asarray(channel_col, dtype=object),
            "country": np.array(country_names, dtype=object)[countries[np.asarray(customer_col)]],
            "occurred_at": (np.datetime64(period_start.to_datetime64(), "s") + seconds.astype("timedelta64[s]")),
            "quantity": np.asarray(quantity_col, dtype=np.int64),
            "unit_price": np.asarray(price_col, dtype=np.float64),
        }
    )
    lines_frame["occurred_at"] = lines_frame["occurred_at"].astype("datetime64[ns]")
    customers = pd.DataFrame(
        {
            "customer_id": customer_ids,
            "LATENT_GROUP": np.array([g.name for g in LATENT_GROUPS], dtype=object)[group_idx],
        }
    )
    return lines_frame, customers


# --------------------------------------------------------------------------------------
# Dirt
# --------------------------------------------------------------------------------------


def dirt_counts(n_clean_lines: int) -> dict[str, int]:
    """The exact number of lines of each dirt kind :func:`add_dirt` adds to a clean log of
    ``n_clean_lines`` lines: the rate of :data:`DIRT_RATES`, rounded, at least the minimum
    of :data:`DIRT_MINIMUMS`. Keys as in :func:`count_dirt`."""
    return {
        kind: max(DIRT_MINIMUMS[kind], int(round(n_clean_lines * rate))) for kind, rate in DIRT_RATES.items()
    }


def _format_price(value: float) -> str:
    """A price as public retail logs write it: ``2.55``, ``2.1``, ``3``, ``0``."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _to_text(lines: pd.DataFrame) -> pd.DataFrame:
    """Typed lines as the text a CSV export holds."""
    out = lines[list(TRANSACTION_COLUMNS)].copy()
    out["occurred_at"] = lines["occurred_at"].dt.strftime(TIMESTAMP_FORMAT)
    out["quantity"] = [str(int(q)) for q in lines["quantity"]]
    out["unit_price"] = [_format_price(float(p)) for p in lines["unit_price"]]
    return out.astype(object)


def _guest_lines(
    rng: np.random.Generator, n_lines: int, first_number: int, first_day: pd.Timestamp, n_days: int
) -> pd.DataFrame:
    """Exactly ``n_lines`` lines of complete guest orders (no customer id) over ``n_days``
    days from ``first_day``, numbered from ``first_number`` in time order."""
    catalogue = _catalogue()
    mainstream = next(g for g in LATENT_GROUPS if g.name == "occasional")
    product_p = _product_weights(mainstream, catalogue)
    list_prices = catalogue["list_price"].to_numpy()
    country_p = np.array([s for _, s in COUNTRIES])
    guest_p = np.asarray(_GUEST_CHANNEL_WEIGHTS) / sum(_GUEST_CHANNEL_WEIGHTS)
    orders = []
    remaining = n_lines
    while remaining > 0:
        size = min(remaining, MAX_LINES_PER_ORDER, 1 + int(rng.poisson(mainstream.lines_mean - 1.0)))
        remaining -= size
        channel = CHANNELS[int(rng.choice(len(CHANNELS), p=guest_p))]
        country = 0 if channel == "store" else int(rng.choice(len(COUNTRIES), p=country_p / country_p.sum()))
        seconds = int(rng.integers(0, n_days)) * 86400 + _seconds_of_day(rng, channel)
        lines = _basket(rng, product_p, list_prices, mainstream.lines_mean, mainstream.quantity_mean, size=size)
        orders.append((seconds, channel, COUNTRIES[country][0], lines))
    orders.sort(key=lambda order: order[0])
    records = []
    for number, (seconds, channel, country, lines) in enumerate(orders, start=first_number):
        for product, quantity, price in lines:
            records.append(
                {
                    "customer_id": "",
                    "order_id": str(number),
                    "product_id": catalogue["product_id"].iat[product],
                    "category": catalogue["category"].iat[product],
                    "channel": channel,
                    "country": country,
                    "occurred_at": first_day + pd.Timedelta(seconds=seconds),
                    "quantity": quantity,
                    "unit_price": price,
                }
            )
    frame = pd.DataFrame(records, columns=list(TRANSACTION_COLUMNS))
    frame["occurred_at"] = frame["occurred_at"].astype("datetime64[ns]")
    return frame


def _extra_products(rng: np.random.Generator, lines: pd.DataFrame, n_lines: int) -> pd.DataFrame:
    """``n_lines`` new lines in customers' purchase orders, each with a product not yet in
    its order (and distinct orders while there are enough), list price, 1-2 units."""
    catalogue = _catalogue()
    purchases = lines[~lines["order_id"].str.startswith("C")]
    first_rows = purchases.drop_duplicates("order_id")
    hosts = rng.choice(len(first_rows), size=n_lines, replace=n_lines > len(first_rows))
    host_ids = set(first_rows["order_id"].iloc[hosts])
    in_order: dict[str, set[str]] = {}
    for order_id, product_id in zip(purchases["order_id"], purchases["product_id"]):
        if order_id in host_ids:
            in_order.setdefault(order_id, set()).add(product_id)
    all_products = catalogue["product_id"].to_numpy()
    records = []
    for host in hosts:
        row = first_rows.iloc[int(host)]
        taken = in_order[row["order_id"]]
        candidates = [p for p in all_products if p not in taken]
        product = candidates[int(rng.integers(len(candidates)))]
        taken.add(product)
        item = catalogue.loc[catalogue["product_id"] == product].iloc[0]
        records.append({**row.to_dict(), "product_id": product, "category": item["category"],
                        "quantity": int(rng.integers(1, 3)), "unit_price": float(item["list_price"])})
    frame = pd.DataFrame(records, columns=list(TRANSACTION_COLUMNS))
    frame["occurred_at"] = frame["occurred_at"].astype("datetime64[ns]")
    frame["quantity"] = frame["quantity"].astype(np.int64)
    frame["unit_price"] = frame["unit_price"].astype(np.float64)
    return frame


def add_dirt(lines: pd.DataFrame, seed: int = 11) -> pd.DataFrame:
    """Return the lines of a raw export: ``lines`` plus dirt, all text, in a shuffled but
    deterministic order.

    ``lines`` is a clean typed log as :func:`generate_clean_transactions` returns it. The
    dirt (kinds and rates in the module docstring, exact counts from :func:`dirt_counts`) is
    only added lines: dropping guest lines, duplicates, zero prices, bad dates and bad
    quantities gives back ``lines`` exactly. Guest orders are numbered after the highest
    order number of ``lines`` and fall on the days of ``lines``. Deterministic for given
    ``(lines, seed)``.
    """
    if lines.empty:
        raise ValueError("lines is empty")
    rng = np.random.default_rng([seed, 1])  # a stream of its own, not the generator's
    counts = dirt_counts(len(lines))

    last_number = int(lines["order_id"].str.lstrip("C").astype(int).max())
    first_day = lines["occurred_at"].min().normalize()
    n_days = (lines["occurred_at"].max().normalize() - first_day).days + 1
    guests = _guest_lines(rng, counts["empty_customer_id"], last_number + 1, first_day, n_days)
    duplicates = lines.iloc[np.sort(rng.choice(len(lines), size=counts["duplicate_line"],
                                               replace=counts["duplicate_line"] > len(lines)))]
    n_extra = counts["zero_price"] + counts["bad_date"] + counts["bad_quantity"]
    extra = _to_text(_extra_products(rng, lines, n_extra))
    zero_price = extra.iloc[: counts["zero_price"]].copy()
    zero_price["unit_price"] = "0"
    bad_date = extra.iloc[counts["zero_price"]: counts["zero_price"] + counts["bad_date"]].copy()
    bad_date["occurred_at"] = [BAD_DATES[i % len(BAD_DATES)] for i in range(len(bad_date))]
    bad_quantity = extra.iloc[counts["zero_price"] + counts["bad_date"]:].copy()
    bad_quantity["quantity"] = [BAD_QUANTITIES[i % len(BAD_QUANTITIES)] for i in range(len(bad_quantity))]

    out = pd.concat(
        [_to_text(lines), _to_text(guests), _to_text(duplicates), zero_price, bad_date, bad_quantity],
        ignore_index=True,
    )
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


def count_dirt(frame: pd.DataFrame) -> dict[str, int]:
    """Count each kind of dirt in a text log (as :func:`add_dirt` returns it, or as read back
    from the CSV with ``dtype=str``).

    ``empty_customer_id``: lines without a customer id; ``duplicate_line``: copies of an
    earlier identical line (the first occurrence is not counted); ``zero_price``: lines whose
    price parses to 0; ``bad_date``: ``occurred_at`` not in ``YYYY-MM-DD HH:MM:SS`` or not a
    real date and time; ``bad_quantity``: quantity not an integer.
    """
    customer = frame["customer_id"].fillna("").astype(str).str.strip()
    price = pd.to_numeric(frame["unit_price"], errors="coerce")
    occurred = pd.to_datetime(frame["occurred_at"], format=TIMESTAMP_FORMAT, errors="coerce")
    quantity_ok = frame["quantity"].fillna("").astype(str).str.fullmatch(r"-?\d+")
    return {
        "empty_customer_id": int((customer == "").sum()),
        "duplicate_line": int(frame.duplicated().sum()),
        "zero_price": int((price == 0).sum()),
        "bad_date": int(occurred.isna().sum()),
        "bad_quantity": int((~quantity_ok).sum()),
    }


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def to_retail_schema(lines: pd.DataFrame) -> pd.DataFrame:
    """The log in a public-retail-invoice style schema (:data:`RETAIL_COLUMNS`).

    ``order_id`` becomes ``InvoiceNo``, ``product_id`` ``StockCode`` (with its catalogue
    ``Description``), ``customer_id`` ``CustomerID``; ``InvoiceDate`` is written like
    ``12/1/2010 8:26`` (month/day/year hour:minute, no leading zeros but in the minutes);
    ``channel`` and ``category`` are dropped. Works on typed clean lines and on text logs:
    quantities and prices keep their type, unparseable dates are kept as they are.
    """
    occurred = lines["occurred_at"]
    parsed = occurred if pd.api.types.is_datetime64_any_dtype(occurred) else pd.to_datetime(
        occurred, format=TIMESTAMP_FORMAT, errors="coerce")
    text = (parsed.dt.month.astype("Int64").astype(str) + "/" + parsed.dt.day.astype("Int64").astype(str) + "/"
            + parsed.dt.year.astype("Int64").astype(str) + " " + parsed.dt.hour.astype("Int64").astype(str) + ":"
            + parsed.dt.minute.astype("Int64").astype(str).str.zfill(2))
    invoice_date = text.where(parsed.notna(), occurred.astype(str))
    descriptions = _catalogue().set_index("product_id")["description"]
    description = lines["product_id"].map(descriptions)
    description = description.where(description.notna(), lines["category"].astype(str).str.upper() + " "
                                    + lines["product_id"].astype(str))
    return pd.DataFrame(
        {
            "InvoiceNo": lines["order_id"],
            "StockCode": lines["product_id"],
            "Description": description,
            "Quantity": lines["quantity"],
            "InvoiceDate": invoice_date,
            "UnitPrice": lines["unit_price"],
            "CustomerID": lines["customer_id"],
            "Country": lines["country"],
        },
        index=lines.index,
    )


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRANSACTION_COLUMNS)
    writer.writerows(frame[list(TRANSACTION_COLUMNS)].itertuples(index=False, name=None))
    return buffer.getvalue().encode("utf-8")


def write_sample(
    path: str | Path, n_customers: int = 2000, seed: int = 11, as_of: str | pd.Timestamp = "2025-12-31",
    compress: bool = True,
) -> pd.DataFrame:
    """Write the dirty log (:func:`add_dirt` of :func:`generate_clean_transactions`) as CSV
    and return it.

    The file has a header and LF line ends. With ``compress`` (the default) a path ending
    in ``.gz`` is gzipped (no file name, modification time 0 in the gzip header, so the same
    inputs give a byte-identical file); ``compress=False`` with a ``.gz`` path is refused.
    """
    path = Path(path)
    gzipped = path.name.endswith(".gz")
    if gzipped and not compress:
        raise ValueError(f"{path} ends with .gz but compress=False")
    lines, _ = generate_clean_transactions(n_customers, seed=seed, as_of=as_of)
    dirty = add_dirt(lines, seed=seed)
    payload = _csv_bytes(dirty)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        if gzipped:
            with gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz:
                gz.write(payload)
        else:
            fh.write(payload)
    return dirty


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000, help="customers to draw (default 2000)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--as-of", default="2025-12-31",
                        help="snapshot date, excluded from the log (default 2025-12-31)")
    parser.add_argument("--out", type=Path, default=Path("data/sample_transactions.csv.gz"),
                        help="CSV to write, gzipped when it ends with .gz")
    args = parser.parse_args(argv)
    dirty = write_sample(args.out, n_customers=args.customers, seed=args.seed, as_of=args.as_of)
    print(f"wrote {len(dirty)} rows to {args.out}")


if __name__ == "__main__":
    main()
