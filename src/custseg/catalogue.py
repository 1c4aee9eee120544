"""What the columns of customer_features are, for the modelling code.

The kind of a feature decides its transform before scaling: amounts, counts and
unbounded ratios are heavy-tailed with a mass at zero, so they get log1p; shares and
frequencies live in [0, 1] and tenure in months, so they are used as they are.
"""

from __future__ import annotations

AMOUNT = "amount"
COUNT = "count"
RATIO = "ratio"
SHARE = "share"
MONTHS = "months"

#: customer_features columns usable as model or profile features, with their kind.
FEATURE_KINDS: dict[str, str] = {
    "balance": AMOUNT,
    "balance_frequency": SHARE,
    "purchases": AMOUNT,
    "oneoff_purchases": AMOUNT,
    "installments_purchases": AMOUNT,
    "cash_advance": AMOUNT,
    "purchases_frequency": SHARE,
    "oneoff_purchases_frequency": SHARE,
    "purchases_installments_frequency": SHARE,
    "cash_advance_frequency": SHARE,
    "cash_advance_trx": COUNT,
    "purchases_trx": COUNT,
    "credit_limit": AMOUNT,
    "payments": AMOUNT,
    "minimum_payments": AMOUNT,
    "prc_full_payment": SHARE,
    "tenure": MONTHS,
    "credit_utilization": RATIO,
    "total_transactions": COUNT,
    "payment_to_minimum_ratio": RATIO,
    "avg_purchase_amount": AMOUNT,
    "avg_cash_advance_amount": AMOUNT,
    "cash_advance_share": SHARE,
    "oneoff_purchase_share": SHARE,
    "installment_purchase_share": SHARE,
    "purchases_to_limit_ratio": RATIO,
    "monthly_purchases": AMOUNT,
    "monthly_cash_advance": AMOUNT,
}

#: Kinds that are log1p-transformed before scaling.
LOG_KINDS = frozenset({AMOUNT, COUNT, RATIO})

#: Features summarised per segment in segment_profiles (same order as the SQL macro).
PROFILE_FEATURES: tuple[str, ...] = tuple(FEATURE_KINDS)

#: The model features used when none are configured: the 16 behavioural CC GENERAL
#: measures (tenure is account age, not behaviour; it is profiled, not clustered on).
DEFAULT_MODEL_FEATURES: tuple[str, ...] = (
    "balance", "balance_frequency", "purchases", "oneoff_purchases", "installments_purchases",
    "cash_advance", "purchases_frequency", "oneoff_purchases_frequency",
    "purchases_installments_frequency", "cash_advance_frequency", "cash_advance_trx",
    "purchases_trx", "credit_limit", "payments", "minimum_payments", "prc_full_payment",
)

#: Algorithms, in the order they appear in tables and the report.
ALGORITHMS: tuple[str, ...] = ("kmeans", "hierarchical", "som", "density", "gmm")

ALGORITHM_LABELS: dict[str, str] = {
    "kmeans": "K-Means",
    "hierarchical": "Hierarchical (Ward)",
    "som": "Self-organizing map",
    "density": "Density (DBSCAN)",
    "gmm": "Gaussian mixture",
}

#: Segment id used for customers a density model leaves unclustered.
NOISE_SEGMENT = 0
