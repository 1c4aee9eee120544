"""PostgreSQL in and out, against a real server the tests start (postgres_server.py): a customer
table and an order table read from PostgreSQL like any typed input (every row accounted
for), the marts published back into a schema swapped in one transaction (a reader polling
every 50 ms never errors and never sees two runs), and the bad inputs, each one line
without the password."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import adbc_driver_postgresql.dbapi as pg
import duckdb
import pytest
from conftest import PROJECT_DIR, assert_refused_before_any_model, run_dbt
from postgres_server import PASSWORD

from custseg import inputs, postgres

pytestmark = pytest.mark.dbt

FAST = {"stability_resamples": 0, "k_max": 6}
DBT = str(Path(sys.executable).parent / "dbt")
#: Marts with a run_id column, read in one statement by the poller.
POLLED = ["customer_segments", "segment_assignments", "segment_profiles", "segment_feature_profiles",
          "segment_metrics"]


def execute(url: str, *statements: str) -> list[tuple]:
    """Run statements in autocommit; the rows of the last one that returns rows."""
    rows: list[tuple] = []
    with pg.connect(url, autocommit=True) as con, con.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
            try:
                rows = cur.fetchall()
            except Exception:  # noqa: BLE001 - a statement without rows
                rows = []
    return rows


def ingest_text(url: str, table: str, relation: str) -> None:
    """A DuckDB relation (every column as text) into public.<table>."""
    with pg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"drop table if exists public.{table}")
        cur.adbc_ingest(table, duckdb.sql(relation).arrow(), mode="create", db_schema_name="public")


NUMBER = r"'^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)\s*$'"


@pytest.fixture(scope="module")
def server(postgres_server, tmp_path_factory):
    """The server with public.customers (the embedded sample, typed: text that is not a number
    is NULL; plus columns of types the product cannot use) and public.orders (a generated
    transaction log, typed), and a role bi_reader that may read nothing yet."""
    url = postgres_server.url()
    seed = PROJECT_DIR / "seeds" / "custseg_sample_customers.csv"
    ingest_text(url, "customers_text", f"select * from read_csv('{seed}', all_varchar = true)")
    names = [r[0] for r in duckdb.sql(f"describe select * from read_csv('{seed}', all_varchar = true)").fetchall()]
    typed = ", ".join(f'case when "{n}" ~ {NUMBER} then "{n}"::{"numeric(14, 6)" if n == "BALANCE" else "float8"} '
                      f'end as "{n}"' for n in names[1:])
    from custseg.transactions_sample import write_sample

    log = tmp_path_factory.mktemp("orders") / "orders.csv.gz"
    write_sample(log, n_customers=300)
    ingest_text(url, "orders_text", f"select * from read_csv('{log}', all_varchar = true)")
    execute(url,
            "drop table if exists public.customers",
            f'create table public.customers as select "CUST_ID", {typed}, array[\'gold\', \'web\'] as tags, '
            "jsonb_build_object('newsletter', true) as preferences, '\\x00ff'::bytea as photo "
            "from public.customers_text",
            "create or replace function public.try_timestamptz(t text) returns timestamptz language plpgsql as "
            "$$ begin return t::timestamptz; exception when others then return null; end $$",
            "drop table if exists public.orders",
            "create table public.orders as select customer_id, order_id, product_id, category, channel, country, "
            r"case when occurred_at ~ '^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$' "
            "then public.try_timestamptz(occurred_at || '+02') end as occurred_at, "
            r"case when quantity ~ '^-?\d+$' then quantity::int end as quantity, "
            f"case when unit_price ~ {NUMBER} then unit_price::numeric(10, 2) end as unit_price "
            "from public.orders_text",
            "drop role if exists bi_reader",
            f"create role bi_reader login password '{PASSWORD}'")
    return postgres_server


@pytest.fixture
def url_env(server, monkeypatch):
    monkeypatch.setenv(postgres.URL_ENV, server.url())
    return server.url()


# --------------------------------------------------------------------------- reading
def test_a_table_is_read_typed_from_postgresql_types(server, url_env, tmp_path):
    execute(url_env,
            "drop table if exists public.typed", "drop type if exists public.mood",
            "create type public.mood as enum ('sad', 'happy')",
            'create table public.typed (id int8, amount numeric(12, 2), paid money, seen timestamptz, born date, '
            'feeling public.mood, token uuid, tags text[], doc jsonb, photo bytea, at_time time, "Odd ""Name""" int)',
            "insert into public.typed values (1, 1234.56, 12.5, '2024-03-01 12:00:00+02', '1990-05-17', 'happy', "
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{a,b}', '{\"k\": [1, 2]}', '\\x0102', '12:30', 7), "
            "(2, null, null, null, null, null, null, null, null, null, null, null)")
    read = postgres.read_relation("public.typed", "customers_relation", tmp_path)
    assert read.rows == 2 and read.label == "PostgreSQL table 'public.typed'"
    types = dict(duckdb.sql(f"select column_name, column_type from (describe select * from '{read.parquet}')")
                 .fetchall())
    assert types == {"id": "BIGINT", "amount": "DOUBLE", "paid": "DOUBLE", "seen": "TIMESTAMP", "born": "DATE",
                     "feeling": "VARCHAR", "token": "VARCHAR", "tags": "VARCHAR", "doc": "VARCHAR",
                     "photo": "VARCHAR", "at_time": "VARCHAR", 'Odd "Name"': "INTEGER"}
    row = duckdb.sql(f"select amount, paid, cast(seen as varchar), feeling, tags, doc, photo, \"Odd \"\"Name\"\"\" "
                     f"from '{read.parquet}' where id = 1").fetchall()[0]
    # numeric -> double; timestamptz -> the UTC time; arrays and JSON carried as text; bytea not read
    assert row == (1234.56, 12.5, "2024-03-01 10:00:00", "happy", "{a,b}", '{"k": [1, 2]}', None, 7)
    assert {name: how for name, (how, _) in read.notes.items()} == {
        "tags": "carried", "doc": "carried", "at_time": "carried", "photo": "dropped"}
    assert read.notes["photo"][1].startswith("PostgreSQL type bytea (binary data): dropped")


def _request(tmp_path: Path, **settings) -> dict:
    return {"settings": settings, "role": "transactions" if settings.get("transactions_relation") else "customers",
            "cache_dir": str(tmp_path), "invocation_id": str(time.time())}


def test_the_contract_of_a_postgresql_table_explains_the_types_it_sets_aside(server, url_env, tmp_path):
    answer = inputs.resolve(_request(tmp_path, customers_relation={"postgres": "public.customers"}))
    contract = answer["contract"]
    by_name = {c["source_column"]: c for c in contract["columns"]}
    assert (by_name["CUST_ID"]["role"], by_name["BALANCE"]["role"], by_name["BALANCE"]["kind"]) == \
        ("id", "feature", "amount")
    assert (by_name["tags"]["role"], by_name["preferences"]["role"], by_name["photo"]["role"]) == \
        ("ignored", "ignored", "dropped")
    assert by_name["preferences"]["reason"] == ("PostgreSQL type jsonb (JSON): carried as text into "
                                                "customer_features, never clustered")
    assert contract["source"]["data_lines"] == 9121   # the server's count(*)
    assert not any("photo" in w for w in contract["warnings"])

    # a column of a type the product cannot read, given a role: one line
    answer = inputs.resolve(_request(tmp_path, customers_relation={"postgres": "public.customers"},
                                     categorical_columns=["photo"]))
    assert answer["error"] == ("column 'photo' of PostgreSQL table 'public.customers' is of PostgreSQL type bytea "
                               "(binary data), which the product cannot read; cast it to a number or text in a view "
                               "and read that view.")


def _error(tmp_path: Path, relation: str = "public.customers", url: str | None = None, monkeypatch=None) -> str:
    if monkeypatch is not None:
        if url is None:
            monkeypatch.delenv(postgres.URL_ENV, raising=False)
        else:
            monkeypatch.setenv(postgres.URL_ENV, url)
    answer = inputs.resolve(_request(tmp_path, customers_relation={"postgres": relation}))
    line = answer["error"]
    assert "\n" not in line and PASSWORD not in line and "wrong-s3cret" not in line, line
    return line


def test_bad_connections_and_tables_are_one_line_without_the_password(server, tmp_path, monkeypatch):
    port = server.port
    assert _error(tmp_path, monkeypatch=monkeypatch) == (
        "customers_relation ({postgres: public.customers}) needs a PostgreSQL connection, but the environment "
        "variable CUSTSEG_POSTGRES_URL is not set: set it to a libpq URL such as "
        "postgresql://user@host:5432/database (the password in the URL, PGPASSWORD or ~/.pgpass).")
    line = _error(tmp_path, url=f"host=127.0.0.1 password={PASSWORD}", monkeypatch=monkeypatch)
    assert line.startswith("CUSTSEG_POSTGRES_URL is not a libpq URL: it must start with postgresql://")
    line = _error(tmp_path, url=f"postgresql://postgres:wrong-s3cret@127.0.0.1:{port}/postgres",
                  monkeypatch=monkeypatch)
    assert line == (f"customers_relation: cannot connect to PostgreSQL at postgres@127.0.0.1:{port}/postgres: "
                    f'connection to server at "127.0.0.1", port {port} failed: password authentication failed for '
                    'user "postgres"; check the user and password of CUSTSEG_POSTGRES_URL.')
    refused = server.port + 1 if server.port < 65000 else server.port - 1
    line = _error(tmp_path, url=f"postgresql://postgres:{PASSWORD}@127.0.0.1:{refused}/postgres",
                  monkeypatch=monkeypatch)
    assert line.startswith(f"customers_relation: cannot connect to PostgreSQL at postgres@127.0.0.1:{refused}/postgres")
    assert "Connection refused" in line and line.endswith("is the server running and accepting TCP connections there?.")
    line = _error(tmp_path, url=server.url(database="crm"), monkeypatch=monkeypatch)
    assert 'database "crm" does not exist; check the database name of CUSTSEG_POSTGRES_URL.' in line
    # a URL libpq cannot parse, which libpq echoes: the password is masked there too
    line = _error(tmp_path, url=f"postgresql://postgres:{PASSWORD} x@127.0.0.1:{port}/postgres",
                  monkeypatch=monkeypatch)
    assert "***" in line and "check the syntax of CUSTSEG_POSTGRES_URL" in line

    monkeypatch.setenv(postgres.URL_ENV, server.url())
    assert _error(tmp_path, "public.customer") == (
        f"customers_relation: PostgreSQL at postgres@127.0.0.1:{port}/postgres has no table or view "
        "public.customer (did you mean public.customers or public.customers_text?).")
    assert _error(tmp_path, "crm.customers").endswith("has no table or view crm.customers (did you mean "
                                                       "public.customers?).")
    assert _error(tmp_path, "customers") == ("customers_relation: {postgres: customers} must name a table as "
                                             "schema.table, e.g. {postgres: public.customers}.")
    monkeypatch.setenv(postgres.URL_ENV, server.url(user="bi_reader"))
    assert _error(tmp_path) == ("customers_relation: the PostgreSQL user bi_reader may not read public.customers "
                                '(permission denied); grant it with: GRANT SELECT ON "public"."customers" TO '
                                '"bi_reader";')


def test_mask_hides_every_spelling_of_the_password():
    url = "postgresql://ann:p%40ss%3Aw0rd@db:5432/crm?sslmode=require"
    assert postgres.mask(f"failed for {url} (p@ss:w0rd)", url) == \
        "failed for postgresql://ann:***@db:5432/crm?sslmode=require (***)"
    assert postgres.mask("missing \"=\" after \"host=db password=hunter2 x\"") == \
        "missing \"=\" after \"host=db password=*** x\""
    assert postgres.where(url) == "ann@db:5432/crm"
    assert postgres.pg_identifier('we"ird') == '"we""ird"'


# --------------------------------------------------------------------------- builds
class Builds:
    """dbt builds as a user runs them (the command line) on one working database."""

    def __init__(self, work: Path, url: str):
        self.work = work
        self.url = url
        self.database = work / "segments.duckdb"
        self.serving = work / "segments.serving.duckdb"
        self.env = {**os.environ, "DBT_DUCKDB_PATH": str(self.database), "DBT_PROFILES_DIR": str(PROJECT_DIR),
                    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_TARGET_PATH": str(work / "target"),
                    "DBT_LOG_PATH": str(work / "logs"), postgres.URL_ENV: url}
        self.outputs: list[str] = []

    def start(self, vars: dict, extra_env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen([DBT, "build", "--vars", json.dumps({**FAST, **vars})], cwd=PROJECT_DIR,
                                env={**self.env, **(extra_env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def run(self, vars: dict, extra_env: dict | None = None) -> tuple[int, str]:
        proc = self.start(vars, extra_env)
        out, _ = proc.communicate(timeout=900)
        self.outputs.append(out)
        return proc.returncode, out

    def run_until(self, vars: dict, condition, action, extra_env: dict | None = None) -> tuple[int, str]:
        """Start a build; when condition() holds, call action(proc) (a kill, a server crash)."""
        proc = self.start(vars, extra_env)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        deadline = time.time() + 600
        while not condition():
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError("the build ended before the point looked for:\n" + "".join(lines)[-3000:])
            time.sleep(0.02)
        action(proc)
        proc.wait(timeout=600)
        reader.join(timeout=30)
        out = "".join(lines)
        self.outputs.append(out)
        return proc.returncode, out

    def serving_run(self) -> str:
        with duckdb.connect(str(self.serving), read_only=True) as con:
            return con.execute("select run_id from segment_runs order by finished_at desc limit 1").fetchone()[0]

    def pg_run(self, schema: str = "segments") -> str:
        return execute(self.url, f"select run_id from {schema}.segment_runs order by finished_at desc limit 1")[0][0]


class Poller(threading.Thread):
    """Reads the segments schema every 50 ms, in one statement per read: the run_id of each
    polled mart and the latest run of segment_runs."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.reads, self.errors = url, [], []
        self.stop = threading.Event()

    def run(self) -> None:
        union = " union ".join(f"select distinct run_id from segments.{t}" for t in POLLED)
        query = (f"select run_id from ({union}) as marts union "
                 "(select run_id from segments.segment_runs order by finished_at desc limit 1)")
        with pg.connect(self.url, autocommit=True) as con, con.cursor() as cur:
            while not self.stop.is_set():
                try:
                    cur.execute("select to_regclass('segments.segment_runs') is not null")
                    if cur.fetchall()[0][0]:
                        cur.execute(query)
                        self.reads.append(sorted(r[0] for r in cur.fetchall()))
                except Exception as err:  # noqa: BLE001 - every error is a failure of the test
                    self.errors.append(repr(err))
                time.sleep(0.05)

    def finish(self) -> list[list[str]]:
        self.stop.set()
        self.join(timeout=30)
        assert self.errors == [], self.errors[:3]
        assert all(len(runs) == 1 for runs in self.reads), [r for r in self.reads if len(r) != 1][:3]
        return self.reads


@pytest.fixture(scope="module")
def builds(server, tmp_path_factory):
    return Builds(tmp_path_factory.mktemp("postgres"), server.url())


@pytest.fixture(scope="module")
def tx_builds(server, tmp_path_factory):
    """Builds of the transaction log, in a working database of their own (publishing into the
    same PostgreSQL schema)."""
    return Builds(tmp_path_factory.mktemp("postgres_tx"), server.url())


def _published_marts(builds: Builds) -> dict[str, int]:
    with duckdb.connect(str(builds.serving), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
        counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in names}
    return counts


def test_builds_from_postgresql_publish_back_atomically(builds, tx_builds, server):
    url = server.url()
    poller = Poller(url)
    poller.start()
    try:
        # 1. customers from PostgreSQL, the marts published back
        code, out = builds.run({"customers_relation": {"postgres": "public.customers"}, "publish_postgres": True})
        assert code == 0, out[-4000:]
        first = builds.serving_run()
        assert f"Published run {first} to PostgreSQL schema segments (12 tables" in out
        with duckdb.connect(str(builds.database), read_only=True) as con:
            summary = con.execute("select input_rows, clean_customers, rejected_rows, collapsed_duplicates "
                                  "from input_summary").fetchone()
            roles = dict(con.execute("select source_column, role from input_columns").fetchall())
            detail = con.execute("select detail from custseg_runs where run_id = ?", [first]).fetchone()[0]
        assert summary[0] == 9121 and summary[0] == summary[1] + summary[2] + summary[3]
        assert (roles["tags"], roles["preferences"], roles["photo"]) == ("ignored", "ignored", "dropped")
        assert detail.endswith("; published to PostgreSQL schema segments")

        serving = _published_marts(builds)
        published = dict(execute(url, "select table_name::text, (xpath('/row/c/text()', query_to_xml("
                                      "format('select count(*) as c from segments.%I', table_name), false, true, "
                                      "'')))[1]::text::int8 from information_schema.tables "
                                      "where table_schema = 'segments'"))
        assert published == {t: serving[t] for t in published}
        assert set(published) == {"customer_segments", "segment_assignments", "segment_profiles",
                                  "segment_feature_profiles", "segment_category_profiles", "segment_metrics",
                                  "segment_k_selection", "som_nodes", "segment_models", "segment_history",
                                  "segment_migrations", "segment_runs"}
        assert published["customer_segments"] == summary[1]
        assert builds.pg_run() == first
        comments = execute(url, "select obj_description('segments.customer_segments'::regclass), "
                                "col_description('segments.customer_segments'::regclass, "
                                "(select attnum from pg_attribute where attname = 'customer_id' "
                                "and attrelid = 'segments.customer_segments'::regclass))")[0]
        docs = json.loads((builds.work / "target" / "manifest.json").read_text())["nodes"][
            "model.customer_segmentation.customer_segments"]
        assert comments == (docs["description"], docs["columns"]["customer_id"]["description"])
        assert comments[0].startswith("One row per clean customer") and comments[1]
        indexed = {r[0] for r in execute(url, "select tablename::text from pg_indexes where schemaname = 'segments' "
                                              "and indexdef like '%(customer_id)%'")}
        assert {"customer_segments", "segment_assignments", "segment_history"} <= indexed
        # a BI role granted the schema keeps it through the next swaps
        execute(url, "grant usage on schema segments to bi_reader",
                "grant select on all tables in schema segments to bi_reader")

        # 2. a transaction log from PostgreSQL
        code, out = tx_builds.run({"transactions_relation": {"postgres": "public.orders"}, "publish_postgres": True})
        assert code == 0, out[-4000:]
        second = tx_builds.serving_run()
        assert second != first and builds.pg_run() == second
        lines = execute(url, "select count(*) from public.orders")[0][0]
        with duckdb.connect(str(tx_builds.database), read_only=True) as con:
            staged = con.execute("select count(*) from stg_transactions").fetchone()[0]
        assert staged == lines
        assert execute(server.url(user="bi_reader"), "select count(*) from segments.customer_segments")[0][0] > 0

        # 3. killed in the middle of the PostgreSQL publish: PostgreSQL keeps the second run
        staging = "select count(*) from pg_namespace where nspname like 'segments__staging_%'"
        code, out = tx_builds.run_until({"transactions_relation": {"postgres": "public.orders"},
                                         "publish_postgres": True, "random_state": 7},
                                        condition=lambda: execute(url, staging)[0][0] > 0,
                                        action=lambda proc: (time.sleep(1), os.killpg(proc.pid, signal.SIGKILL)),
                                        extra_env={"CUSTSEG_PUBLISH_DELAY": "4"})
        assert code != 0
        assert builds.pg_run() == second
        third = tx_builds.serving_run()   # the DuckDB publish, before it, went through

        # 4. the publish refuses to replace a schema a view outside it reads: one line, recorded
        execute(url, "create view public.segment_sizes as select count(*) as n from segments.customer_segments")
        code, out = builds.run({"customers_relation": {"postgres": "public.customers"}, "publish_postgres": True,
                                "random_state": 9})
        execute(url, "drop view public.segment_sizes")
        assert code != 0
        fourth = builds.serving_run()
        assert fourth not in (second, third) and builds.pg_run() == second
        said = ("but not to PostgreSQL (it keeps the previous run): publish_postgres: the view public.segment_sizes "
                "reads segments.customer_segments, which the publish replaces")
        assert said in out
        with duckdb.connect(str(builds.database), read_only=True) as con:
            detail = con.execute("select detail from custseg_runs where run_id = ?", [fourth]).fetchone()[0]
        assert "; not published to PostgreSQL: publish_postgres: the view public.segment_sizes" in detail
        assert execute(url, staging)[0][0] == 0   # the staging schemas (the killed build's too) are gone
        time.sleep(0.3)
    finally:
        reads = poller.finish()
    seen = [runs[0] for runs in reads]
    assert seen[0] == first and seen[-1] == second and set(seen) == {first, second}
    assert len(reads) > 100

    for out in builds.outputs + tx_builds.outputs:
        assert PASSWORD not in out
    leaked = [p for b in (builds, tx_builds) for p in b.work.rglob("*")
              if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert leaked == []


def test_a_server_that_goes_away_mid_read_fails_the_build_in_one_line(builds, server):
    url = server.url()
    before_serving = builds.serving_run() if builds.serving.exists() else None
    before_pg = builds.pg_run() if execute(url, "select to_regclass('segments.segment_runs') is not null")[0][0] \
        else None
    cache = builds.work / "target" / "custseg_input"

    def crash(_proc) -> None:
        server.crash()

    try:
        code, out = builds.run_until({"customers_relation": {"postgres": "public.customers"},
                                      "publish_postgres": True, "random_state": 11},
                                     condition=lambda: any(cache.glob("postgres-*.partial")), action=crash,
                                     extra_env={"CUSTSEG_POSTGRES_READ_DELAY": "3"})
    finally:
        server.restart()
    assert code != 0
    lines = [ln for ln in out.splitlines() if "customers_relation:" in ln]
    assert len(lines) == 1 and PASSWORD not in out, out[-3000:]
    assert "the connection to PostgreSQL at postgres@127.0.0.1" in lines[0]
    assert lines[0].strip().endswith("Nothing was built from it; run the build again when the table can be read.")
    assert (builds.serving_run() if builds.serving.exists() else None) == before_serving
    assert (builds.pg_run() if before_pg else None) == before_pg
    assert not any(cache.glob("postgres-*.partial"))


def test_publish_settings_are_checked_before_any_model(builds, server):
    execute(server.url(), "create schema if not exists crm")
    code, out = builds.run({"publish_postgres": True, "postgres_schema": "crm"})
    assert code != 0
    assert ("publish_postgres: PostgreSQL schema crm already exists and was not written by this publish (which "
            "replaces its schema whole); set postgres_schema to a new schema, or drop that one.") in out
    assert "Traceback" not in out and PASSWORD not in out
    with duckdb.connect(str(builds.database), read_only=True) as con:
        status = con.execute("select status from custseg_runs order by started_at desc limit 1").fetchone()[0]
    assert status == "refused"


@pytest.mark.parametrize(
    "vars, message",
    [
        ({"customers_relation": {"postgres": "public.customers"}, "customers_path": "a.csv"},
         "Set customers_path or customers_relation, not both: the customers are read from one place."),
        ({"customers_relation": {"postgres": "public.customers"}, "transactions_relation": {"postgres": "public.o"}},
         "Set customers_relation or transactions_relation, not both: one input is segmented per build."),
        ({"customers_relation": {"postgres": "customers"}},
         "Invalid var 'customers_relation': got {\"postgres\": \"customers\"}; expected {postgres: schema.table}"),
        ({"transactions_relation": "public.orders"},
         ("Invalid var 'transactions_relation': got \"public.orders\"; expected a mapping with one key: "
          "{model: name} or {source: [source_name, table_name]} or {table: [database.][schema.]table} or "
          "{postgres: schema.table}, or null")),
        ({"publish_postgres": "yes"}, "Invalid var 'publish_postgres': got \"yes\"; expected true or false"),
        ({"publish_postgres": True, "postgres_schema": "public"}, "Invalid var 'postgres_schema': got \"public\""),
    ],
)
def test_bad_postgres_vars_are_refused_before_any_model(tmp_path, vars, message):
    run = run_dbt(["build"], tmp_path, vars=vars)
    assert run.returncode != 0
    assert message in run.output, run.output[-2000:]
    assert "Traceback" not in run.output
    assert_refused_before_any_model(run, message)


def test_missing_server_binaries_say_what_to_install(monkeypatch):
    import postgres_server

    monkeypatch.setattr(postgres_server.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(postgres_server.shutil, "which", lambda name: None)
    with pytest.raises(postgres_server.ServerMissing) as err:
        postgres_server.server_bindir()
    assert str(err.value) == postgres_server.INSTALL_HINT
    assert "apt-get install -y postgresql" in str(err.value) and "\n" not in str(err.value)
