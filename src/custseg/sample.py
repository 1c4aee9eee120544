"""Deterministic generator of synthetic credit-card customers in the CC GENERAL schema.

The generator draws customers from a small number of latent behavioural groups (the
"truth" a segmentation should recover), then adds the dirt real exports carry: missing
minimum payments and credit limits, exact duplicate rows, conflicting rows sharing an id,
invalid entries, text in numeric columns, and extreme outliers.

Marginals and correlations were calibrated by eye against summary statistics of the public
CC GENERAL file (quantiles, zero shares, log-scale correlations): every amount column is
heavy-tailed with a mass at zero, frequencies are multiples of 1/12, tenure is mostly 12.

Usage::

    python -m custseg.sample --rows 9000 --out seeds/custseg_sample_customers.csv \
        --labels-out tests/fixtures/sample_latent_groups.csv
"""

from __future__ import annotations

import argparse
import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

#: The 18 columns of CC GENERAL, in file order.
CC_GENERAL_COLUMNS: tuple[str, ...] = (
    "CUST_ID",
    "BALANCE",
    "BALANCE_FREQUENCY",
    "PURCHASES",
    "ONEOFF_PURCHASES",
    "INSTALLMENTS_PURCHASES",
    "CASH_ADVANCE",
    "PURCHASES_FREQUENCY",
    "ONEOFF_PURCHASES_FREQUENCY",
    "PURCHASES_INSTALLMENTS_FREQUENCY",
    "CASH_ADVANCE_FREQUENCY",
    "CASH_ADVANCE_TRX",
    "PURCHASES_TRX",
    "CREDIT_LIMIT",
    "PAYMENTS",
    "MINIMUM_PAYMENTS",
    "PRC_FULL_PAYMENT",
    "TENURE",
)
NUMERIC_COLUMNS: tuple[str, ...] = CC_GENERAL_COLUMNS[1:]


@dataclass(frozen=True)
class LatentGroup:
    """Parameters of one latent behavioural group.

    Activity is described per purchase channel by the probability that the customer uses
    the channel at all (``p_*``), the share of months in which a user of that channel is
    active (``active_*``), and the median amount per transaction (``ticket_*``).
    """

    name: str
    share: float
    p_oneoff: float
    p_installment: float
    p_cash_advance: float
    active_oneoff: float
    active_installment: float
    active_cash_advance: float
    ticket_oneoff: float
    ticket_installment: float
    ticket_cash_advance: float
    credit_limit_median: float
    utilization_beta: tuple[float, float]
    full_payment_beta: tuple[float, float]
    balance_frequency_beta: tuple[float, float]


#: The latent groups. Shares sum to 1. Channel presence patterns differ between groups,
#: which is what makes them recoverable; amounts overlap as they do in real portfolios.
LATENT_GROUPS: tuple[LatentGroup, ...] = (
    LatentGroup(
        "cash_advance_revolvers", 0.19,
        p_oneoff=0.01, p_installment=0.01, p_cash_advance=0.995,
        active_oneoff=0.15, active_installment=0.15, active_cash_advance=0.45,
        ticket_oneoff=72, ticket_installment=36, ticket_cash_advance=248,
        credit_limit_median=3600, utilization_beta=(6.0, 3.0),
        full_payment_beta=(0.2, 12.0), balance_frequency_beta=(14.0, 1.0),
    ),
    LatentGroup(
        "installment_buyers", 0.21,
        p_oneoff=0.01, p_installment=0.995, p_cash_advance=0.01,
        active_oneoff=0.2, active_installment=0.80, active_cash_advance=0.2,
        ticket_oneoff=60, ticket_installment=27, ticket_cash_advance=165,
        credit_limit_median=2800, utilization_beta=(1.6, 7.0),
        full_payment_beta=(0.25, 1.6), balance_frequency_beta=(5.0, 1.0),
    ),
    LatentGroup(
        "one_off_buyers", 0.12,
        p_oneoff=0.995, p_installment=0.01, p_cash_advance=0.01,
        active_oneoff=0.40, active_installment=0.2, active_cash_advance=0.2,
        ticket_oneoff=102, ticket_installment=36, ticket_cash_advance=165,
        credit_limit_median=4200, utilization_beta=(1.8, 6.0),
        full_payment_beta=(0.2, 2.5), balance_frequency_beta=(5.0, 1.0),
    ),
    LatentGroup(
        "big_spenders", 0.15,
        p_oneoff=0.995, p_installment=0.995, p_cash_advance=0.01,
        active_oneoff=0.70, active_installment=0.85, active_cash_advance=0.2,
        ticket_oneoff=96, ticket_installment=33, ticket_cash_advance=220,
        credit_limit_median=7000, utilization_beta=(1.5, 6.0),
        full_payment_beta=(0.35, 1.4), balance_frequency_beta=(12.0, 1.0),
    ),
    LatentGroup(
        "mixed_users", 0.20,
        p_oneoff=0.995, p_installment=0.995, p_cash_advance=0.995,
        active_oneoff=0.35, active_installment=0.55, active_cash_advance=0.35,
        ticket_oneoff=84, ticket_installment=30, ticket_cash_advance=209,
        credit_limit_median=4500, utilization_beta=(4.0, 4.0),
        full_payment_beta=(0.2, 8.0), balance_frequency_beta=(16.0, 1.0),
    ),
    LatentGroup(
        "dormant", 0.13,
        p_oneoff=0.01, p_installment=0.01, p_cash_advance=0.01,
        active_oneoff=0.1, active_installment=0.1, active_cash_advance=0.1,
        ticket_oneoff=48, ticket_installment=24, ticket_cash_advance=138,
        credit_limit_median=2400, utilization_beta=(0.6, 12.0),
        full_payment_beta=(0.3, 1.5), balance_frequency_beta=(2.0, 1.5),
    ),
)

#: Dirt rates, per clean customer (counts are rounded, with at least one of each kind).
DIRT_RATES: dict[str, float] = {
    "missing_minimum_payments_extra": 0.008,  # on top of the structural gaps (no payments)
    "missing_credit_limit": 0.0006,
    "exact_duplicate": 0.006,
    "conflicting_duplicate": 0.003,
    "negative_amount": 0.0012,
    "frequency_out_of_range": 0.0012,
    "bad_credit_limit": 0.0006,
    "missing_id": 0.0006,
    "text_in_numeric": 0.0009,
    "extreme_outlier": 0.0012,
}


def _months(rng: np.random.Generator, tenure: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Number of active months out of ``tenure`` given a per-customer activity share."""
    return rng.binomial(tenure, np.clip(p, 0.0, 1.0))


def _lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int) -> np.ndarray:
    return np.asarray(median, dtype=float) * np.exp(rng.normal(0.0, sigma, n))


def generate_clean(n: int, seed: int = 7, id_offset: int = 10001) -> pd.DataFrame:
    """Generate ``n`` clean customers with their latent group.

    Returns a frame with the 18 CC GENERAL columns (numeric dtypes) plus ``LATENT_GROUP``.
    Deterministic for a given ``(n, seed, id_offset)``.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    shares = np.array([g.share for g in LATENT_GROUPS])
    group_idx = rng.choice(len(LATENT_GROUPS), size=n, p=shares / shares.sum())

    def param(attr: str) -> np.ndarray:
        return np.array([getattr(g, attr) for g in LATENT_GROUPS], dtype=float)[group_idx]

    def beta(attr: str) -> np.ndarray:
        ab = np.array([getattr(g, attr) for g in LATENT_GROUPS], dtype=float)[group_idx]
        return rng.beta(ab[:, 0], ab[:, 1])

    # Tenure: mostly 12 months, the rest spread over 6..11.
    tenure = np.where(rng.random(n) < 0.85, 12, rng.integers(6, 12, n)).astype(int)

    # A per-customer "wallet" factor correlates limit, ticket sizes and payments.
    wallet = rng.normal(0.0, 1.0, n)
    credit_limit = param("credit_limit_median") * np.exp(0.55 * wallet + rng.normal(0, 0.35, n))
    credit_limit = np.clip(np.round(credit_limit / 100.0) * 100.0, 300.0, 30000.0)

    uses_oneoff = rng.random(n) < param("p_oneoff")
    uses_inst = rng.random(n) < param("p_installment")
    uses_ca = rng.random(n) < param("p_cash_advance")

    def channel(uses: np.ndarray, active: str, ticket: str, trx_per_month: float) -> tuple[np.ndarray, ...]:
        share = np.clip(param(active) * np.exp(rng.normal(0, 0.35, n)), 0.02, 1.0)
        months = np.where(uses, np.maximum(_months(rng, tenure, share), 2), 0)
        extra = rng.poisson(months * trx_per_month * np.exp(rng.normal(0, 0.7, n)))
        trx = np.where(uses, months + extra, 0)
        per_trx = _lognormal(rng, param(ticket) * np.exp(0.3 * wallet), 0.5, n)
        amount = np.where(uses, trx * per_trx, 0.0)
        return months, trx, amount

    oneoff_months, oneoff_trx, oneoff = channel(uses_oneoff, "active_oneoff", "ticket_oneoff", 0.6)
    inst_months, inst_trx, inst = channel(uses_inst, "active_installment", "ticket_installment", 1.0)
    ca_months, ca_trx, cash_advance = channel(uses_ca, "active_cash_advance", "ticket_cash_advance", 0.7)

    # Months with any purchase: at least the busier channel, plus part of the other.
    overlap = rng.binomial(np.minimum(oneoff_months, inst_months), 0.5)
    purchase_months = np.minimum(np.maximum(oneoff_months, inst_months)
                                 + np.minimum(oneoff_months, inst_months) - overlap, tenure)
    purchases = oneoff + inst
    purchases_trx = oneoff_trx + inst_trx

    utilization = beta("utilization_beta")
    balance = utilization * credit_limit * np.exp(rng.normal(-0.2, 0.6, n))
    balance_frequency = np.round(beta("balance_frequency_beta") * 12) / 12.0
    balance_frequency = np.where(balance < 1.0, 0.0, np.maximum(balance_frequency, 1 / 12))

    full_payment = np.round(beta("full_payment_beta") * 12) / 12.0
    # Payments: what was spent and drawn, partly, plus some of the balance.
    pay_share = np.clip(0.35 + 0.65 * full_payment + rng.normal(0, 0.15, n), 0.05, 1.5)
    payments = (purchases + 0.5 * cash_advance) * pay_share + balance * rng.uniform(0.05, 0.6, n)
    payments = payments * np.exp(rng.normal(0, 0.3, n)) + rng.exponential(80.0, n)
    no_payment = rng.random(n) < np.where(group_idx == len(LATENT_GROUPS) - 1, 0.10, 0.012)
    payments = np.where(no_payment, 0.0, payments)

    minimum_payments = (0.3 * balance + 60.0) * np.exp(rng.normal(0, 0.75, n))

    ids = np.array([f"C{id_offset + i}" for i in range(n)], dtype=object)
    frame = pd.DataFrame(
        {
            "CUST_ID": ids,
            "BALANCE": balance,
            "BALANCE_FREQUENCY": balance_frequency,
            "PURCHASES": purchases,
            "ONEOFF_PURCHASES": oneoff,
            "INSTALLMENTS_PURCHASES": inst,
            "CASH_ADVANCE": cash_advance,
            "PURCHASES_FREQUENCY": purchase_months / tenure,
            "ONEOFF_PURCHASES_FREQUENCY": oneoff_months / tenure,
            "PURCHASES_INSTALLMENTS_FREQUENCY": inst_months / tenure,
            "CASH_ADVANCE_FREQUENCY": ca_months / tenure,
            "CASH_ADVANCE_TRX": ca_trx.astype(float),
            "PURCHASES_TRX": purchases_trx.astype(float),
            "CREDIT_LIMIT": credit_limit,
            "PAYMENTS": payments,
            "MINIMUM_PAYMENTS": minimum_payments,
            "PRC_FULL_PAYMENT": full_payment,
            "TENURE": tenure.astype(float),
        }
    )
    # Structural gap seen in the real file: no payments made -> minimum payments unrecorded.
    gap = no_payment & (rng.random(n) < 0.8)
    frame.loc[gap, "MINIMUM_PAYMENTS"] = np.nan
    frame["LATENT_GROUP"] = np.array([g.name for g in LATENT_GROUPS], dtype=object)[group_idx]
    return frame


def _dirt_count(n: int, rate: float) -> int:
    return max(1, int(round(n * rate)))


def add_dirt(clean: pd.DataFrame, seed: int = 7, typed: bool = False) -> pd.DataFrame:
    """Return the rows of an export with dirt added, in a shuffled but deterministic order.

    With ``typed=False`` numeric columns become text so that text-in-numeric-column dirt
    can be written (CSV); with ``typed=True`` they stay numeric and that kind of dirt is
    skipped (Parquet). ``LATENT_GROUP`` is kept so that labels follow duplicated rows.
    """
    rng = np.random.default_rng(seed + 1)
    n = len(clean)
    rows = clean.copy()

    def pick(k: int) -> np.ndarray:
        return rng.choice(n, size=min(k, n), replace=False)

    # Missing values beyond the structural gap.
    extra_gaps = pick(_dirt_count(n, DIRT_RATES["missing_minimum_payments_extra"]))
    rows.loc[rows.index[extra_gaps], "MINIMUM_PAYMENTS"] = np.nan
    rows.loc[rows.index[pick(_dirt_count(n, DIRT_RATES["missing_credit_limit"]))], "CREDIT_LIMIT"] = np.nan

    # Extreme outliers: a valid row whose amounts are blown up by two to three orders.
    idx = rows.index[pick(_dirt_count(n, DIRT_RATES["extreme_outlier"]))]
    for col in ("BALANCE", "PURCHASES", "CASH_ADVANCE", "PAYMENTS"):
        rows.loc[idx, col] = rows.loc[idx, col].to_numpy() * rng.uniform(100, 1000, len(idx)) + 1e5
    rows.loc[idx, "ONEOFF_PURCHASES"] = rows.loc[idx, "PURCHASES"]
    rows.loc[idx, "INSTALLMENTS_PURCHASES"] = 0.0

    extra: list[pd.DataFrame] = []
    # Exact duplicates of existing rows.
    extra.append(rows.iloc[pick(_dirt_count(n, DIRT_RATES["exact_duplicate"]))].copy())
    # Conflicting rows: same id, a later snapshot with different amounts.
    conflict = rows.iloc[pick(_dirt_count(n, DIRT_RATES["conflicting_duplicate"]))].copy()
    conflict["BALANCE"] = conflict["BALANCE"] * rng.uniform(0.5, 1.5, len(conflict)) + 1.0
    conflict["PAYMENTS"] = conflict["PAYMENTS"] * rng.uniform(0.5, 1.5, len(conflict))
    extra.append(conflict)

    # Invalid rows: copies of real customers given a new id and one defect each.
    next_id = [int(str(rows["CUST_ID"].iloc[-1])[1:]) + 1]

    def invalid_rows(rate: str) -> pd.DataFrame:
        part = rows.iloc[pick(_dirt_count(n, DIRT_RATES[rate]))].copy()
        part["CUST_ID"] = [f"C{next_id[0] + i}" for i in range(len(part))]
        next_id[0] += len(part)
        return part

    neg = invalid_rows("negative_amount")
    neg_cols = rng.choice(["BALANCE", "PURCHASES", "CASH_ADVANCE", "PAYMENTS"], len(neg))
    for i, col in enumerate(neg_cols):
        neg.iloc[i, neg.columns.get_loc(col)] = -abs(float(neg.iloc[i][col])) - 10.0
    extra.append(neg)

    freq = invalid_rows("frequency_out_of_range")
    freq_cols = rng.choice(["BALANCE_FREQUENCY", "PURCHASES_FREQUENCY", "CASH_ADVANCE_FREQUENCY",
                            "PRC_FULL_PAYMENT"], len(freq))
    for i, col in enumerate(freq_cols):
        freq.iloc[i, freq.columns.get_loc(col)] = float(rng.choice([1.5, 2.0, -0.25, 1.25]))
    extra.append(freq)

    bad_limit = invalid_rows("bad_credit_limit")
    bad_limit["CREDIT_LIMIT"] = rng.choice([0.0, -500.0, -1000.0], len(bad_limit))
    extra.append(bad_limit)

    no_id = rows.iloc[pick(_dirt_count(n, DIRT_RATES["missing_id"]))].copy()
    no_id["CUST_ID"] = None
    extra.append(no_id)

    out = pd.concat([rows, *extra], ignore_index=True)
    if not typed:
        out = _to_text(out)
        text = invalid_rows("text_in_numeric")
        text = _to_text(text)
        text_cols = rng.choice(["BALANCE", "PURCHASES", "CREDIT_LIMIT", "PAYMENTS", "TENURE"], len(text))
        values = ["n/a", "12O5.30", "$1,200", "unknown", "#VALUE!"]
        for i, col in enumerate(text_cols):
            text.iloc[i, text.columns.get_loc(col)] = values[i % len(values)]
        out = pd.concat([out, text], ignore_index=True)

    order = rng.permutation(len(out))
    return out.iloc[order].reset_index(drop=True)


def _format_number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _to_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in NUMERIC_COLUMNS:
        out[col] = [_format_number(v) for v in frame[col].to_numpy(dtype=float)]
        out[col] = out[col].astype(object)
    return out


def write_sample(rows: int, out: Path, labels_out: Path | None = None, seed: int = 7) -> pd.DataFrame:
    """Write the embedded sample CSV (and optionally the latent-group labels)."""
    clean = generate_clean(rows, seed=seed)
    dirty = add_dirt(clean, seed=seed, typed=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CC_GENERAL_COLUMNS)
        for record in dirty[list(CC_GENERAL_COLUMNS)].itertuples(index=False):
            writer.writerow(["" if v is None else v for v in record])
    if labels_out is not None:
        labels_out.parent.mkdir(parents=True, exist_ok=True)
        clean[["CUST_ID", "LATENT_GROUP"]].rename(
            columns={"CUST_ID": "customer_id", "LATENT_GROUP": "latent_group"}
        ).to_csv(labels_out, index=False, lineterminator="\n")
    return dirty


def iter_typed_chunks(rows: int, seed: int = 7, chunk_rows: int = 500_000) -> Iterator[pd.DataFrame]:
    """Yield a large synthetic export in chunks of typed rows (for Parquet benchmarks).

    Each chunk uses its own seed and id range, so chunks are independent and the whole
    stream is deterministic for ``(rows, seed, chunk_rows)``.
    """
    done = 0
    chunk_no = 0
    while done < rows:
        size = min(chunk_rows, rows - done)
        clean = generate_clean(size, seed=seed + 1000 * chunk_no, id_offset=10001 + done * 2)
        dirty = add_dirt(clean, seed=seed + 1000 * chunk_no, typed=True)
        yield dirty[list(CC_GENERAL_COLUMNS)]
        done += size
        chunk_no += 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=9000, help="clean customers to draw (default 9000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("seeds/custseg_sample_customers.csv"))
    parser.add_argument("--labels-out", type=Path, default=None,
                        help="also write customer_id,latent_group for tests")
    args = parser.parse_args(argv)
    dirty = write_sample(args.rows, args.out, args.labels_out, seed=args.seed)
    print(f"wrote {len(dirty)} rows to {args.out}")


if __name__ == "__main__":
    main()
