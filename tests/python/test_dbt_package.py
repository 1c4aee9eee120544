"""Installed as a dbt package (README: "Use it in your dbt project").

A shop's own dbt project on DuckDB, laid out as dbt projects usually are, with the names every
project uses: seeds raw_customers and raw_orders, models stg_customers, stg_orders, customers
and orders with their tests, a profile with the plugin line, this repository in packages.yml
(`local:`) and the vars under `customer_segmentation:`. `dbt deps` then one `dbt build` builds
the shop's models and the segmentation in one DAG: the shop's tables stay in main, every table
of the package is in the schema the shop chose, the serving database lands beside the shop's
database. One build shared by the module, then a build of the package alone.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import PROJECT_DIR, DbtRun, _release_duckdb, assert_ok

pytestmark = pytest.mark.dbt

PACKAGE_SCHEMA = "segmentation"   # the shop's choice (the default is segments)
SHOP_MODELS = ["stg_customers", "stg_orders", "customers", "orders"]
SHOP_SEEDS = ["raw_customers", "raw_orders"]
FAST = {"stability_resamples": 0, "k_max": 6}


def customer_input(root: Path) -> dict:
    """The package's input vars. For now the shop points customers_path at a file (the export
    its raw_customers seed came from); the case `customers_relation: {model: customers}` (the
    shop's own model, built first in the same DAG) belongs here too."""
    return {"customers_path": str(root / "exports" / "customers.csv")}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def make_shop(root: Path) -> dict:
    """The shop's project in `root`; returns what it holds (customer and order counts)."""
    sample = pd.read_csv(PROJECT_DIR / "seeds" / "custseg_sample_customers.csv", dtype=str, keep_default_na=False)
    customers = sample[sample.CUST_ID.ne("")].drop_duplicates("CUST_ID").iloc[::6].reset_index(drop=True)
    for folder in ("exports", "seeds"):
        (root / folder).mkdir(parents=True)
    customers.to_csv(root / "exports" / "customers.csv", index=False)
    customers.to_csv(root / "seeds" / "raw_customers.csv", index=False)
    # CDNOW-like orders: a few per customer, dates in 1997-98
    rows, order_id = [], 0
    for i, cust in enumerate(customers.CUST_ID):
        for k in range(i % 4):
            order_id += 1
            rows.append({"order_id": order_id, "customer_id": cust,
                         "order_date": f"1997-{1 + (i + k) % 12:02d}-{1 + (i * 7 + k) % 28:02d}",
                         "quantity": 1 + (i + k) % 3, "amount": round(10 + (i * 13 + k * 7) % 90 + 0.99, 2)})
    pd.DataFrame(rows).to_csv(root / "seeds" / "raw_orders.csv", index=False)

    package_vars = {"package_schema": PACKAGE_SCHEMA, **customer_input(root), **FAST}
    _write(root / "dbt_project.yml", textwrap.dedent("""
        name: shop
        version: "1.0.0"
        config-version: 2
        profile: shop

        models:
          shop:
            +materialized: table

        seeds:
          shop:
            raw_customers:
              +column_types: {CUST_ID: varchar}
        """) + "\nvars:\n  customer_segmentation:\n"
        + "".join(f"    {name}: {json.dumps(value)}\n" for name, value in package_vars.items()))
    _write(root / "packages.yml", f"""
        packages:
          - local: {PROJECT_DIR}
        """)
    _write(root / "profiles.yml", """
        shop:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: shop.duckdb
              threads: 2
              plugins:
                - module: custseg.dbt_plugin
        """)
    _write(root / "models" / "staging" / "stg_customers.sql", """
        select
            CUST_ID as customer_id,
            try_cast(BALANCE as double) as balance,
            try_cast(PURCHASES as double) as purchases,
            try_cast(CREDIT_LIMIT as double) as credit_limit,
            try_cast(TENURE as integer) as tenure_months
        from {{ ref('raw_customers') }}
        """)
    _write(root / "models" / "staging" / "stg_orders.sql", """
        select
            order_id,
            customer_id,
            cast(order_date as date) as ordered_on,
            quantity,
            amount
        from {{ ref('raw_orders') }}
        """)
    _write(root / "models" / "customers.sql", """
        select
            customers.*,
            count(orders.order_id) as orders,
            coalesce(sum(orders.amount), 0) as order_amount
        from {{ ref('stg_customers') }} as customers
        left join {{ ref('stg_orders') }} as orders using (customer_id)
        group by all
        """)
    _write(root / "models" / "orders.sql", """
        select orders.*, customers.tenure_months
        from {{ ref('stg_orders') }} as orders
        inner join {{ ref('stg_customers') }} as customers using (customer_id)
        """)
    _write(root / "models" / "schema.yml", """
        version: 2
        models:
          - name: stg_customers
            columns:
              - name: customer_id
                data_tests: [unique, not_null]
          - name: stg_orders
            columns:
              - name: order_id
                data_tests: [unique, not_null]
          - name: customers
            columns:
              - name: customer_id
                data_tests: [unique, not_null]
          - name: orders
            columns:
              - name: order_id
                data_tests: [unique, not_null]
              - name: customer_id
                data_tests:
                  - relationships:
                      arguments: {to: ref('customers'), field: customer_id}
        """)
    return {"customers": len(customers), "orders": len(rows)}


def run_shop(args: list[str], root: Path) -> DbtRun:
    """dbt in the shop's folder, as its users run it there (its profiles.yml, its target/)."""
    from dbt.cli.main import dbtRunner

    env = {"DBT_PROFILES_DIR": str(root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    cleared = ["DBT_DUCKDB_PATH", "DBT_TARGET_PATH", "DBT_LOG_PATH", "DBT_PROJECT_DIR", "SEGMENTS_SERVING_PATH"]
    saved = {key: os.environ.get(key) for key in [*env, *cleared]}
    saved_cwd = os.getcwd()
    messages: list[str] = []
    os.environ.update(env)
    for key in cleared:
        os.environ.pop(key, None)
    os.chdir(root)
    try:
        result = dbtRunner(callbacks=[lambda event: messages.append(event.info.msg)]).invoke(
            [*args, "--quiet", "--no-use-colors"])
    finally:
        _release_duckdb()
        os.chdir(saved_cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    output = "\n".join(str(m) for m in messages)
    if result.exception is not None:
        output += "\n" + str(result.exception)
    return DbtRun(bool(result.success), output, root / "shop.duckdb", root / "target")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("shop")
    held = make_shop(root)
    deps = run_shop(["deps"], root)
    assert_ok(deps)
    build = run_shop(["build"], root)
    assert_ok(build)
    return root, held, build


def _tables(run: DbtRun) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for schema, name in run.query("select table_schema, table_name from information_schema.tables "
                                  "where table_catalog = 'shop'"):
        out.setdefault(schema, set()).add(name)
    return out


def test_the_shops_models_and_tests_build_with_the_segmentation(shop):
    root, held, build = shop
    results = build.run_results()["results"]
    shops = {r["unique_id"]: r["status"] for r in results if r["unique_id"].split(".")[1] == "shop"}
    assert {uid.split(".")[-1] for uid in shops if uid.startswith(("model.", "seed."))} == {*SHOP_MODELS, *SHOP_SEEDS}
    tests = {uid: status for uid, status in shops.items() if uid.startswith("test.")}
    assert len(tests) == 9 and set(tests.values()) == {"pass"}, tests
    assert build.scalar("select count(*) from main.customers") == held["customers"]
    assert build.scalar("select count(*) from main.orders") == held["orders"]
    # the shop's stg_customers is its own (five columns), not the package's
    assert build.scalar("select count(*) from information_schema.columns where table_catalog = 'shop' "
                        "and table_schema = 'main' and table_name = 'stg_customers'") == 5
    package = [r for r in results if r["unique_id"].split(".")[1] == "customer_segmentation"]
    assert len(package) > 150 and {r["status"] for r in package} == {"success", "pass", "no-op"}  # no-op: exposures


def test_every_table_of_the_package_is_in_the_chosen_schema(shop):
    root, held, build = shop
    tables = _tables(build)
    assert tables["main"] == {*SHOP_MODELS, *SHOP_SEEDS}
    ours = tables[PACKAGE_SCHEMA]
    assert {"custseg_runs", "segment_model_versions", "custseg_sample_customers", "stg_customers",
            "customer_segments", "segment_profiles", "input_summary"} <= ours
    assert set(tables) == {"main", PACKAGE_SCHEMA}
    # the segmentation read the shop's export: every customer is in customer_features or rejected
    clean = build.scalar(f"select count(*) from {PACKAGE_SCHEMA}.customer_features")
    rejected = build.scalar(f"select count(*) from {PACKAGE_SCHEMA}.rejected_customers")
    assert clean + rejected == held["customers"] and clean > 0.9 * held["customers"]
    assert build.query(f"select status from {PACKAGE_SCHEMA}.custseg_runs") == [("published",)]


def test_the_serving_database_is_published_beside_the_shops_database(shop):
    root, held, build = shop
    serving = root / "shop.serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        names = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'main'")
                 .fetchall()}
        assert {"customer_segments", "segment_profiles", "segment_runs", "segment_model_versions"} <= names
        assert con.execute("select count(distinct customer_id) from customer_segments").fetchone()[0] == \
            build.scalar(f"select count(*) from {PACKAGE_SCHEMA}.customer_features")
        run_id = con.execute("select run_id from segment_runs").fetchone()[0]
    assert build.scalar(f"select run_id from {PACKAGE_SCHEMA}.custseg_runs") == run_id


def test_the_package_builds_alone_by_selector(shop):
    root, held, first = shop
    # the shop's own command-line vars are not the package's to refuse
    run = run_shop(["build", "--select", "package:customer_segmentation", "--vars", '{"shop_region": "north"}'], root)
    assert_ok(run)
    built = {r["unique_id"].split(".")[1] for r in run.run_results()["results"]}
    assert built == {"customer_segmentation"}
    assert run.query(f"select status from {PACKAGE_SCHEMA}.custseg_runs order by started_at") == \
        [("published",), ("published",)]
    with duckdb.connect(str(root / "shop.serving.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from segment_runs").fetchone()[0] == 2


def test_the_package_refuses_the_shops_own_schema(shop):
    root, held, build = shop
    run = run_shop(["ls", "--select", "package:customer_segmentation", "--vars", '{"package_schema": "main"}'], root)
    assert run.returncode == 1
    assert ("Invalid var 'package_schema' (customer_segmentation): got 'main'; expected a schema of its own"
            in run.output), run.output[-3000:]
