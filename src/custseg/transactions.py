"""The canonical columns of a transaction log (customer_id, occurred_at, amount, quantity,
unit_price, order_id, product_id, category, channel, country, event_type), the names they are
recognised by, and the event types that mean a purchase. The log's contract built from them
is custseg.inputs.transaction_contract.
"""

from __future__ import annotations

import re

#: The canonical transaction columns and the names they are recognised by (compared
#: lower-case, without a unit in brackets, spaces, underscores or punctuation).
CANONICAL: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "custid", "customer", "customerno", "customernumber", "clientid", "client",
                    "userid", "memberid", "accountid", "buyerid", "shopperid"),
    "occurred_at": ("occurredat", "invoicedate", "orderdate", "transactiondate", "purchasedate", "txndate",
                    "transdate", "trandate", "saledate", "paymentdate", "orderdatetime", "transactiondatetime",
                    "eventtime", "eventdate", "eventtimestamp",
                    "orderpurchasetimestamp", "date", "datetime", "timestamp", "createdat", "orderedat", "time"),
    "amount": ("amount", "lineamount", "linetotal", "totalamount", "sales", "revenue", "netamount", "spend",
               "value", "total", "saleamount", "orderamount", "amountspent", "transactionamount", "tranamount",
               "transamount", "txnamount", "purchaseamount", "paymentamount", "paymentvalue"),
    "quantity": ("quantity", "qty", "units", "items", "numberofitems", "itemcount", "count"),
    "unit_price": ("unitprice", "price", "itemprice", "priceeach"),
    "order_id": ("orderid", "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderno", "ordernumber",
                 "transactionid", "transid", "tranid", "txnid", "receiptid", "basketid", "order"),
    "product_id": ("productid", "stockcode", "sku", "itemid", "productcode", "articleid", "product"),
    "category": ("category", "productcategory", "categoryname", "categorycode", "department", "productline"),
    "channel": ("channel", "saleschannel", "orderchannel", "source"),
    "country": ("country", "countryname", "market"),
    "event_type": ("eventtype", "event", "eventname", "eventaction", "action", "activity", "behavior",
                   "behaviour", "behaviortype", "behaviourtype", "interactiontype"),
}
#: Values of an event-type column that mean a purchase (lower-case): in a clickstream log
#: (view, cart, purchase) only these lines are purchases; the others are set apart.
PURCHASE_EVENTS = ("purchase", "purchased", "buy", "bought", "order", "ordered", "order_completed",
                   "order completed", "checkout", "checkout_completed", "transaction", "sale", "sold", "conversion")
LABELS = {"customer_id": "customer id", "occurred_at": "when", "amount": "line amount", "quantity": "quantity",
          "unit_price": "unit price", "order_id": "order id", "product_id": "product", "category": "category",
          "channel": "channel", "country": "country", "event_type": "event"}


def _key(name: str) -> str:
    """The name lower-case, without a unit in brackets ('TransactionAmount (INR)'), spaces,
    underscores or punctuation."""
    bare = re.sub(r"\([^)]*\)|\[[^\]]*\]", "", str(name))
    return re.sub(r"[^a-z0-9]", "", (bare if bare.strip() else str(name)).lower())


def canonical_roles(columns: list[str], names: dict[str, str]) -> dict[str, str]:
    """{file column: canonical name} for the columns named (after column_map) like one."""
    found: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:                       # exact canonical names first (column_map targets)
        key = names[col].lower()
        if key in CANONICAL and key not in taken:
            found[col], _ = key, taken.add(key)
    for canonical, synonyms in CANONICAL.items():
        if canonical in taken:
            continue
        for synonym in synonyms:
            match = next((c for c in columns if c not in found and _key(names[c]) == synonym), None)
            if match is not None:
                found[match] = canonical
                taken.add(canonical)
                break
    return found
