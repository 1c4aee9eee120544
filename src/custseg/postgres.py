"""PostgreSQL in and out (README: "PostgreSQL").

In: `customers_relation: {postgres: schema.table}` (or `transactions_relation`) names a
table or view. `read_relation` streams it, in Arrow batches through the ADBC PostgreSQL
driver, into a Parquet file of the input cache, typed from PostgreSQL's types, inside one
REPEATABLE READ transaction that also counts the rows on the server (`count(*)`, the same
snapshot): the build then reads the file as it reads any typed Parquet input, and the
server's count is the independent row count the conservation test compares with.

Out: `publish_postgres: true` copies the BI marts of a published build into a PostgreSQL
schema (`publish`): every table is written into a staging schema, commented and indexed,
and the staging schema replaces the published one in one transaction, so a PostgreSQL
reader sees the previous run or the new one, never a mix.

The connection is the libpq URL in the environment variable CUSTSEG_POSTGRES_URL, never a
var. Every message passes through `mask`, so the password is never printed.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .sql import quote_identifier, sql_literal

URL_ENV = "CUSTSEG_POSTGRES_URL"
#: Seconds libpq waits for a server that does not answer (added to the URL unless it sets one).
CONNECT_TIMEOUT = 15
#: The swap waits at most this long for one lock (below PostgreSQL's deadlock_timeout of 1 s, so a
#: reader that locked the tables in another order is never the one a deadlock cancels) ...
SWAP_LOCK_TIMEOUT_MS = 250
#: ... and retries for this long before the publish gives up.
SWAP_PATIENCE_SECONDS = 120
STAGING_MARK = "__staging_"
#: The comment of every schema the publish writes: only a schema that carries it is replaced.
SCHEMA_MARK = "Customer segments published by customer_segmentation"


class PostgresError(InputError):
    """A problem with the PostgreSQL connection, table or publish; the message is one line
    without the password."""


# --------------------------------------------------------------------------- quoting, the URL
def pg_identifier(name: str) -> str:
    """A PostgreSQL identifier, quoted (the one quoting helper for PostgreSQL names)."""
    text = str(name)
    if "\x00" in text:
        raise PostgresError(f"a PostgreSQL name cannot hold a NUL character: {text!r}")
    return quote_identifier(text, "postgres")


def pg_string(value: str) -> str:
    """A PostgreSQL string literal (every connection sets standard_conforming_strings on, so
    only quotes are doubled: the project's sql_string)."""
    return sql_literal(str(value).replace("\x00", ""), "postgres")


def split_relation(value: str, setting: str) -> tuple[str, str]:
    """'schema.table' -> (schema, table), as written (names are matched exactly, then folded to
    lower case as PostgreSQL folds unquoted names)."""
    parts = str(value).split(".")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise PostgresError(f"{setting}: {{postgres: {value}}} must name a table as schema.table, "
                            "e.g. {postgres: public.customers}.")
    return parts[0].strip(), parts[1].strip()


def _secrets(url: str) -> list[str]:
    """The password as the URL spells it (and decoded), from user:password@ or password=."""
    found = []
    m = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)@", url)
    if m and ":" in m.group(1):
        found.append(m.group(1).split(":", 1)[1])
    found += re.findall(r"[?&]password=([^&#]*)", url)
    out = []
    for s in found:
        for v in (s, urllib.parse.unquote(s), urllib.parse.unquote_plus(s)):
            if v and v not in out:
                out.append(v)
    return sorted(out, key=len, reverse=True)


def mask(text: str, url: str | None = None) -> str:
    """`text` with every password it may hold replaced by ***: the URL's, and any user:pw@ or
    password=... it spells."""
    out = str(text)
    env_url = os.environ.get(URL_ENV, "")
    for u in (url, env_url):
        for secret in _secrets(u or ""):
            out = out.replace(secret, "***")
    out = re.sub(r"(://[^/\s:@]*:)[^@\s]*@", r"\1***@", out)
    return re.sub(r"(password\s*=\s*)('[^']*'|[^\s&]+)", r"\1***", out, flags=re.IGNORECASE)


def masked_url(url: str) -> str:
    return mask(url, url)


def where(url: str) -> str:
    """user@host:port/database of a URL, for messages (no password)."""
    try:
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        host = parts.hostname or (query.get("host") or ["localhost"])[0]
        port = parts.port or int((query.get("port") or ["5432"])[0])
        database = parts.path.lstrip("/") or (query.get("dbname") or [""])[0]
        user = urllib.parse.unquote(parts.username) if parts.username else (query.get("user") or [""])[0]
        return mask(f"{user + '@' if user else ''}{host}:{port}/{database}", url)
    except ValueError:
        return masked_url(url)


def connection_url(purpose: str) -> str:
    """The libpq URL of CUSTSEG_POSTGRES_URL; one line when it is unset or not a URL."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        raise PostgresError(f"{purpose} needs a PostgreSQL connection, but the environment variable {URL_ENV} is not "
                            "set: set it to a libpq URL such as postgresql://user@host:5432/database (the password "
                            "in the URL, PGPASSWORD or ~/.pgpass).")
    if not re.match(r"^postgres(ql)?://", url):
        raise PostgresError(f"{URL_ENV} is not a libpq URL: it must start with postgresql:// (got "
                            f"'{masked_url(url)[:60]}'); e.g. postgresql://user@host:5432/database.")
    return url


def _with_timeout(url: str) -> str:
    if "connect_timeout=" in url:
        return url
    return url + ("&" if "?" in url else "?") + f"connect_timeout={CONNECT_TIMEOUT}"


def reason(err: BaseException, url: str | None = None) -> str:
    """What the driver said, in one line: libpq's message without its prefixes, the query
    echo and the password."""
    text = str(err)
    text = re.sub(r"^[A-Z_]+: (\[libpq\] )?(Failed to connect: )?", "", text.strip())
    text = re.sub(r"^Failed to (execute|prepare) query( '.*?')?: ", "", text, flags=re.DOTALL)
    text = re.sub(r"\n\s*Query was:.*", "", text, flags=re.DOTALL)
    text = re.sub(r"\.? SQLSTATE: [0-9A-Z]{5}\s*$", "", text.strip())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(("LINE ", "^"))]
    one = " ".join(lines[:2]) if lines else type(err).__name__
    one = re.sub(r"(ERROR|FATAL):\s+", "", one)
    return mask(one, url)[:400]


def sqlstate(err: BaseException) -> str:
    state = getattr(err, "sqlstate", None)
    if state:
        return state
    m = re.search(r"SQLSTATE: ([0-9A-Z]{5})", str(err))
    return m.group(1) if m else ""


def _hint(err: BaseException) -> str:
    text = str(err)
    if "Connection refused" in text:
        return "; is the server running and accepting TCP connections there?"
    if "password authentication failed" in text or "no password supplied" in text:
        return "; check the user and password of " + URL_ENV
    if "does not exist" in text and "database" in text:
        return "; check the database name of " + URL_ENV
    if "timeout expired" in text:
        return "; the server did not answer: check the host and port of " + URL_ENV
    if "invalid" in text or "missing" in text or "unexpected" in text:
        return "; check the syntax of " + URL_ENV + " (a libpq URL, special characters percent-encoded)"
    return ""


def connect(url: str, purpose: str):
    """An ADBC DBAPI connection in autocommit mode (transactions are begun explicitly)."""
    try:
        import adbc_driver_postgresql.dbapi as pg
    except ImportError:
        raise PostgresError(f"{purpose} needs the package adbc-driver-postgresql: run `make setup` "
                            "(pip install -r requirements.txt).") from None
    try:
        con = pg.connect(_with_timeout(url), autocommit=True)
    except Exception as err:  # noqa: BLE001 - any driver error becomes one line
        raise PostgresError(f"{purpose}: cannot connect to PostgreSQL at {where(url)}: {reason(err, url)}"
                            f"{_hint(err)}.") from None
    try:
        with con.cursor() as cur:
            cur.execute("set standard_conforming_strings = on")
            cur.execute("set timezone = 'UTC'")
    except Exception as err:  # noqa: BLE001
        con.close()
        raise PostgresError(f"{purpose}: PostgreSQL at {where(url)} refused the session settings: "
                            f"{reason(err, url)}.") from None
    return con


def _rows(cur, sql: str, params: tuple | None = None) -> list[tuple]:
    cur.execute(sql, params) if params is not None else cur.execute(sql)
    return cur.fetchall()


def _run(cur, sql: str) -> None:
    """A statement without a result (DDL, SET, BEGIN)."""
    cur.execute(sql)


# --------------------------------------------------------------------------- reading
#: How each PostgreSQL type is read: as it is, as a double, as text, carried as text (never
#: clustered), or dropped. By the base type's name (domains read as their base type), then by
#: its category (pg_type.typcategory).
_AS_IS = {"int2", "int4", "int8", "float4", "float8", "bool", "date", "timestamp", "text", "varchar"}
_DOUBLE = {"numeric": "{} :: float8", "money": "{} :: numeric :: float8"}
_TEXT = {"bpchar", "char", "name", "citext", "uuid", "inet", "cidr", "macaddr", "macaddr8"}
_CARRIED = {"json": "JSON", "jsonb": "JSON", "xml": "XML", "time": "a time of day", "timetz": "a time of day",
            "interval": "an interval", "bit": "bits", "varbit": "bits", "hstore": "key-value pairs"}
_CARRIED_CATEGORIES = {"A": "an array", "C": "a composite value", "R": "a range", "G": "a geometric value",
                       "T": "an interval", "V": "bits", "E": None, "I": None}
_DROPPED = {"bytea": "binary data", "tsvector": "a text-search vector", "tsquery": "a text-search query"}


@dataclass
class PgColumn:
    name: str
    type_name: str        # as PostgreSQL shows it: format_type()
    base: str             # the base type's name (pg_type.typname)
    category: str         # pg_type.typcategory of the base type
    is_enum: bool

    def plan(self) -> tuple[str, str, str | None]:
        """(how: read | carried | dropped, the select expression, the reason for input_columns)."""
        col = pg_identifier(self.name)
        if self.base in _AS_IS:
            return "read", col, None
        if self.base == "timestamptz":
            return "read", f"({col} at time zone 'UTC')", None
        if self.base in _DOUBLE:
            return "read", _DOUBLE[self.base].format(col), None
        if self.base in _TEXT or self.is_enum or self.category in ("E", "I"):
            return "read", f"{col} :: text", None
        what = _CARRIED.get(self.base) or _CARRIED_CATEGORIES.get(self.category)
        if what:
            return "carried", f"{col} :: text", (f"PostgreSQL type {self.type_name} ({what}): carried as text "
                                                 "into customer_features, never clustered")
        what = _DROPPED.get(self.base, "not a type the product reads")
        return "dropped", "null :: text", (f"PostgreSQL type {self.type_name} ({what}): dropped, not read; "
                                             "cast it in a view to use it")


@dataclass
class PgRead:
    """What read_relation found: the Parquet file, the server's row count and the columns."""

    label: str
    parquet: str
    rows: int
    columns: list[PgColumn]
    notes: dict[str, tuple[str, str]]     # column -> (carried | dropped, reason)


def relation_label(schema: str, table: str) -> str:
    return f"PostgreSQL table '{schema}.{table}'"


def _find_relation(cur, schema: str, table: str, setting: str, url: str) -> tuple[int, str, str, str]:
    """(oid, kind, schema, table) of the relation, as written or folded to lower case; else
    one line naming the tables nearby."""
    found = _rows(cur, "select c.oid::int8, c.relkind::text, n.nspname::text, c.relname::text "
                       "from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
                       "where c.relkind in ('r', 'v', 'm', 'p', 'f') and "
                       "((n.nspname = $1 and c.relname = $2) or (n.nspname = lower($1) and c.relname = lower($2))) "
                       "order by (n.nspname = $1 and c.relname = $2) desc limit 1", (schema, table))
    if found:
        return found[0]
    nearby = _rows(cur, "select n.nspname::text, c.relname::text from pg_catalog.pg_class c "
                        "join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
                        "where c.relkind in ('r', 'v', 'm', 'p', 'f') "
                        "and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' "
                        "and has_schema_privilege(n.oid, 'usage') "
                        "order by (lower(n.nspname) = lower($1)) desc, (lower(c.relname) = lower($2)) desc, "
                        "n.nspname, c.relname limit 400", (schema, table))
    import difflib

    names = [f"{s}.{t}" for s, t in nearby]
    close = difflib.get_close_matches(f"{schema}.{table}", names, n=3, cutoff=0.8)
    close += [n for n in names if n.split(".", 1)[1].lower() == table.lower() and n not in close]
    same_schema = [n for n in names if n.split(".", 1)[0] == schema]
    shown = (close or same_schema)[:5]
    near = (f" (did you mean {' or '.join(shown)}?)" if close else
            f" (tables in schema {schema}: {', '.join(shown)})" if shown else
            f" (schema {schema} holds no table this user can see)")
    raise PostgresError(f"{setting}: PostgreSQL at {where(url)} has no table or view {schema}.{table}{near}.")


def _columns(cur, oid: int) -> list[PgColumn]:
    rows = _rows(cur, "select a.attname::text, format_type(a.atttypid, a.atttypmod)::text, b.typname::text, "
                      "b.typcategory::text, (b.typtype = 'e') "
                      "from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid "
                      "join pg_catalog.pg_type b "
                      "on b.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end "
                      "where a.attrelid = $1::int8::oid and a.attnum > 0 and not a.attisdropped order by a.attnum",
                 (oid,))
    return [PgColumn(*r) for r in rows]


def _cache_file(cache_dir: Path, url: str, schema: str, table: str) -> Path:
    """One Parquet file per server, table and dbt process (a build reads its own; the files of
    processes that ended are removed)."""
    key = hashlib.sha1(f"{where(url)}|{schema}.{table}".encode()).hexdigest()[:12]
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob(f"postgres-{key}-*.parquet"):
        pid = old.stem.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            old.unlink(missing_ok=True)
    return cache_dir / f"postgres-{key}-{os.getpid()}.parquet"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_relation(value: str, setting: str, cache_dir: Path) -> PgRead:
    """Stream `schema.table` into a Parquet file of `cache_dir` (see the module docstring)."""
    schema, table = split_relation(value, setting)
    url = connection_url(f"{setting} ({{postgres: {value}}})")
    con = connect(url, setting)
    target = None
    try:
        cur = con.cursor()
        _run(cur, "begin isolation level repeatable read read only")
        oid, _kind, schema, table = _find_relation(cur, schema, table, setting, url)
        label = relation_label(schema, table)
        relation = f"{pg_identifier(schema)}.{pg_identifier(table)}"
        if not _rows(cur, "select has_table_privilege($1::int8::oid, 'select')", (oid,))[0][0]:
            user = _rows(cur, "select current_user::text")[0][0]
            raise PostgresError(f"{setting}: the PostgreSQL user {user} may not read {schema}.{table} (permission "
                                f"denied); grant it with: GRANT SELECT ON {relation} TO {pg_identifier(user)};")
        columns = _columns(cur, oid)
        if not columns:
            raise PostgresError(f"{setting}: {label} has no columns.")
        plans = [(c, *c.plan()) for c in columns]
        select = ", ".join(f"{expr} as {pg_identifier(c.name)}" for c, _, expr, _ in plans)
        target = _cache_file(cache_dir, url, schema, table)
        partial = target.with_suffix(".partial")
        delay = float(os.environ.get("CUSTSEG_POSTGRES_READ_DELAY", "0") or 0)
        cur.execute(f"select {select} from {relation}")
        _stream_to_parquet(cur.fetch_record_batch(), partial, delay)
        rows = int(_rows(cur, f"select count(*) from {relation}")[0][0])   # the same snapshot
        _run(cur, "commit")
        cur.close()
        os.replace(partial, target)
    except PostgresError:
        _discard(target)
        raise
    except Exception as err:  # noqa: BLE001 - the server went away, a permission, a cast
        _discard(target)
        state = sqlstate(err)
        what = (f"the PostgreSQL user may not read {value} (permission denied)" if state == "42501"
                else f"the connection to PostgreSQL at {where(url)} was lost while reading {value}"
                if state.startswith(("08", "57")) or "server closed" in str(err) or "terminat" in str(err)
                or "connection" in str(err).lower()
                else f"PostgreSQL at {where(url)} could not read {value}")
        raise PostgresError(f"{setting}: {what}: {reason(err, url)}. Nothing was built from it; run the build again "
                            "when the table can be read.") from None
    finally:
        try:
            con.close()
        except Exception:  # noqa: BLE001 - a connection the server already closed
            pass
    if rows == 0:
        raise PostgresError(f"{setting}: {label} has no rows.")
    notes = {c.name: (how, why) for c, how, _, why in plans if how != "read"}
    return PgRead(label, str(target), rows, columns, notes)


def _stream_to_parquet(reader, path: Path, delay: float = 0) -> None:
    """Write the batches of `reader` to `path` while the next ones arrive (a writer thread;
    uncompressed: the file is a build's scratch copy, read once)."""
    import queue
    import threading

    import pyarrow.parquet as pq

    batches: queue.Queue = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def write() -> None:
        try:
            with pq.ParquetWriter(str(path), reader.schema, compression="none") as writer:
                while (batch := batches.get()) is not None:
                    writer.write_batch(batch)
        except BaseException as err:  # noqa: BLE001 - raised again by the reading thread
            failed.append(err)
            while batches.get() is not None:
                pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        for batch in reader:
            batches.put(batch)
            if delay > 0:  # tests: a window in which the server goes away in the middle of a read
                time.sleep(delay)
    finally:
        batches.put(None)
        writer.join()
    if failed:
        raise failed[0]


def _discard(target: Path | None) -> None:
    if target is not None:
        target.with_suffix(".partial").unlink(missing_ok=True)


# --------------------------------------------------------------------------- the input contract
def declared_names(settings: dict) -> set[str]:
    """Column names (lower case) the user's vars give a role to."""
    names: set[str] = set()
    for key in ("categorical_columns", "ignore_columns"):
        names |= {str(n).lower() for n in (settings.get(key) or [])}
    features = settings.get("feature_columns")
    names |= {str(n).lower() for n in (features or [])}
    if settings.get("id_column"):
        names.add(str(settings["id_column"]).lower())
    return names


def settings_for(settings: dict, notes: dict[str, tuple[str, str]], role: str, label: str) -> dict:
    """The settings with the columns PostgreSQL types make unusable set aside: carried text is
    ignored unless the vars give it a role; a dropped column given a role is refused."""
    column_map = {str(k).lower(): str(v) for k, v in (settings.get("column_map") or {}).items()}
    declared = declared_names(settings)
    extra = []
    for name, (how, why) in notes.items():
        mapped = column_map.get(name.lower(), name)
        if mapped.lower() in declared:
            ignored = {str(n).lower() for n in settings.get("ignore_columns") or []}
            if how == "dropped" and mapped.lower() not in ignored:
                raise PostgresError(f"column '{mapped}' of {label} is of {why.split(':')[0]}, which the product cannot "
                                    "read; cast it to a number or text in a view and read that view.")
            continue
        if how == "carried" or role == "transactions":
            extra.append(mapped)
    if not extra:
        return settings
    return {**settings, "ignore_columns": list(settings.get("ignore_columns") or []) + extra}


def explain_types(answer: dict, notes: dict[str, tuple[str, str]], settings: dict) -> None:
    """Give the columns set aside for their PostgreSQL type (and not given a role by the vars)
    their reason in input_columns; a dropped customer column is `dropped`."""
    declared = declared_names(settings)
    for contract in (answer.get("contract"), answer.get("transactions")):
        if not contract:
            continue
        for column in contract.get("columns", []):
            note = notes.get(column.get("source_column"))
            if not note or str(column.get("input_column", "")).lower() in declared:
                continue
            how, why = note
            column["reason"] = why
            if how == "dropped" and contract is answer.get("contract"):
                column["role"] = "dropped"
        dropped = [n for n, (how, _) in notes.items() if how == "dropped"]
        contract["warnings"] = [w for w in contract.get("warnings", [])
                                if not any(w.startswith(f"column '{n}' is empty") for n in dropped)]


# --------------------------------------------------------------------------- publishing
@dataclass
class Table:
    name: str
    description: str
    columns: dict[str, str]


def check_publish(schema: str) -> None:
    """Before a build that will publish: the URL is set, the server answers and the user may
    create schemas (one line otherwise)."""
    url = connection_url(f"publish_postgres (schema {schema})")
    con = connect(url, "publish_postgres")
    try:
        with con.cursor() as cur:
            user, may = _rows(cur, "select current_user::text, has_database_privilege(current_database(), 'create')")[0]
            comment = _rows(cur, "select coalesce(obj_description(n.oid, 'pg_namespace'), '')::text "
                                 "from pg_catalog.pg_namespace n where n.nspname = $1", (schema,))
        if not may:
            raise PostgresError(f"publish_postgres: the PostgreSQL user {user} may not create schemas in the database "
                                f"of {where(url)}; grant it with: GRANT CREATE ON DATABASE ... TO "
                                f"{pg_identifier(user)};")
        if comment and not comment[0][0].startswith(SCHEMA_MARK):
            raise _not_ours(schema)
    finally:
        con.close()


def _not_ours(schema: str) -> PostgresError:
    return PostgresError(f"publish_postgres: PostgreSQL schema {schema} already exists and was not written by this "
                         "publish (which replaces its schema whole); set postgres_schema to a new schema, or drop "
                         "that one.")


def _staging_name(schema: str, run_id: str) -> str:
    return f"{schema}{STAGING_MARK}{re.sub(r'[^0-9a-z]', '', run_id.lower())[-12:]}"


def publish(schema: str, run_id: str, tables: list[Table], read: Callable[[str], Iterable]) -> dict:
    """Write `tables` into a staging schema and swap it in as `schema` in one transaction.

    read(name) gives an Arrow RecordBatchReader of the table. Returns {'tables', 'rows',
    'seconds', 'previous'}: the previous run_id held by the schema (or None)."""
    started = time.time()
    url = connection_url(f"publish_postgres (schema {schema})")
    con = connect(url, "publish_postgres")
    staging = _staging_name(schema, run_id)
    try:
        cur = con.cursor()
        for (old,) in _rows(cur, "select nspname::text from pg_catalog.pg_namespace where starts_with(nspname, $1)",
                            (schema + STAGING_MARK,)):
            _run(cur, f"drop schema if exists {pg_identifier(old)} cascade")   # a killed build's
        _run(cur, f"create schema {pg_identifier(staging)}")
        _run(cur, f"comment on schema {pg_identifier(staging)} is "
                  f"{pg_string(f'{SCHEMA_MARK} (run {run_id}); every publish replaces this schema whole.')}")
        rows = 0
        for t in tables:
            reader = read(t.name)
            rows += cur.adbc_ingest(t.name, reader, mode="create", db_schema_name=staging)
            target = f"{pg_identifier(staging)}.{pg_identifier(t.name)}"
            if t.description:
                _run(cur, f"comment on table {target} is {pg_string(t.description)}")
            present = set(reader.schema.names)
            for column, text in t.columns.items():
                if column in present and text:
                    _run(cur, f"comment on column {target}.{pg_identifier(column)} is {pg_string(text)}")
            if "customer_id" in present:
                _run(cur, f"create index on {target} ({pg_identifier('customer_id')})")
            _run(cur, f"analyze {target}")
        delay = float(os.environ.get("CUSTSEG_PUBLISH_DELAY", "0") or 0)
        if delay > 0:  # tests: a window in which to kill a build in the middle of publishing
            time.sleep(delay)
        previous = _swap(cur, schema, staging)
        cur.close()
    except PostgresError:
        _drop_quietly(con, staging)
        raise
    except Exception as err:  # noqa: BLE001 - the driver's errors become one line
        _drop_quietly(con, staging)
        raise PostgresError(f"publish_postgres: writing schema {schema} at {where(url)} failed: "
                            f"{reason(err, url)}") from None
    finally:
        try:
            con.close()
        except Exception:  # noqa: BLE001
            pass
    return {"tables": len(tables), "rows": rows, "seconds": round(time.time() - started, 3), "previous": previous}


def _drop_quietly(con, staging: str) -> None:
    try:
        with con.cursor() as cur:
            _run(cur, f"drop schema if exists {pg_identifier(staging)} cascade")
    except Exception:  # noqa: BLE001 - the connection may be gone; the next publish removes it
        pass


def _swap(cur, schema: str, staging: str) -> str | None:
    """In one transaction: lock the published tables, carry their grants over, drop the old
    schema, rename the staging one. Retried while readers hold the locks."""
    deadline = time.time() + SWAP_PATIENCE_SECONDS
    while True:
        _run(cur, "begin")
        try:
            _run(cur, f"set local lock_timeout = '{int(SWAP_LOCK_TIMEOUT_MS)}ms'")
            previous = _swap_in_transaction(cur, schema, staging)
            _run(cur, "commit")
            return previous
        except Exception as err:
            try:
                _run(cur, "rollback")
            except Exception:  # noqa: BLE001
                pass
            if sqlstate(err) in ("55P03", "40P01") and time.time() < deadline:
                time.sleep(0.05)
                continue
            if sqlstate(err) in ("55P03", "40P01"):
                raise PostgresError(f"publish_postgres: readers held the tables of schema {schema} for "
                                    f"{SWAP_PATIENCE_SECONDS} s; the schema still holds the previous run.") from None
            raise


def _swap_in_transaction(cur, schema: str, staging: str) -> str | None:
    old = _rows(cur, "select n.oid::int8, coalesce(obj_description(n.oid, 'pg_namespace'), '')::text "
                     "from pg_catalog.pg_namespace n where n.nspname = $1", (schema,))
    previous = None
    if old:
        oid, comment = old[0]
        if not comment.startswith(SCHEMA_MARK):
            raise _not_ours(schema)
        tables = [r[0] for r in _rows(cur, "select c.relname::text from pg_catalog.pg_class c where c.relnamespace = "
                                           "$1::int8::oid and c.relkind in ('r', 'v', 'm', 'p', 'f') "
                                           "order by c.relname", (oid,))]
        if tables:
            _run(cur, "lock table " + ", ".join(f"{pg_identifier(schema)}.{pg_identifier(t)}" for t in tables)
                 + " in access exclusive mode")
        outside = _rows(cur, "select distinct dn.nspname::text || '.' || dc.relname::text, c.relname::text "
                             "from pg_catalog.pg_depend d join pg_catalog.pg_rewrite r on r.oid = d.objid "
                             "join pg_catalog.pg_class dc on dc.oid = r.ev_class "
                             "join pg_catalog.pg_namespace dn on dn.oid = dc.relnamespace "
                             "join pg_catalog.pg_class c on c.oid = d.refobjid "
                             "where d.classid = 'pg_catalog.pg_rewrite'::regclass "
                             "and d.refclassid = 'pg_catalog.pg_class'::regclass "
                             "and c.relnamespace = $1::int8::oid and dc.relnamespace <> $1::int8::oid "
                             "order by 1 limit 3", (oid,))
        if outside:
            raise PostgresError(f"publish_postgres: the view {outside[0][0]} reads {schema}.{outside[0][1]}, which "
                                "the publish replaces; move that view into the schema or drop it (views bound to "
                                f"the published tables cannot survive a swap). Schema {schema} still holds the "
                                "previous run.")
        if "segment_runs" in tables:
            got = _rows(cur, f"select run_id::text from {pg_identifier(schema)}.{pg_identifier('segment_runs')} "
                             "order by finished_at desc limit 1")
            previous = got[0][0] if got else None
        _carry_grants(cur, oid, schema, staging, tables)
        _run(cur, f"drop schema {pg_identifier(schema)} cascade")
    _run(cur, f"alter schema {pg_identifier(staging)} rename to {pg_identifier(schema)}")
    return previous


def _carry_grants(cur, oid: int, schema: str, staging: str, tables: list[str]) -> None:
    """Who could read the published schema and its tables can read the new ones."""
    grants = _rows(cur, "select coalesce(nullif(a.grantee, 0)::regrole::text, 'public'), a.privilege_type::text "
                        "from pg_catalog.pg_namespace n, aclexplode(n.nspacl) a "
                        "where n.oid = $1::int8::oid and a.grantee <> n.nspowner", (oid,))
    for grantee, privilege in grants:
        who = "public" if grantee == "public" else grantee   # regrole::text is already quoted as needed
        _run(cur, f"grant {privilege} on schema {pg_identifier(staging)} to {who}")
    grants = _rows(cur, "select c.relname::text, coalesce(nullif(a.grantee, 0)::regrole::text, 'public'), "
                        "a.privilege_type::text from pg_catalog.pg_class c, aclexplode(c.relacl) a "
                        "where c.relnamespace = $1::int8::oid and a.grantee <> c.relowner", (oid,))
    new = {r[0] for r in _rows(cur, "select c.relname::text from pg_catalog.pg_class c join pg_catalog.pg_namespace n "
                                    "on n.oid = c.relnamespace where n.nspname = $1", (staging,))}
    for table, grantee, privilege in grants:
        if table in new:
            _run(cur, f"grant {privilege} on {pg_identifier(staging)}.{pg_identifier(table)} to {grantee}")


def request_tables(request: dict) -> list[Table]:
    return [Table(t["name"], t.get("description") or "", dict(t.get("columns") or {})) for t in request["tables"]]
