"""What the Python models need from `dbt.ref()`, whatever the engine behind it.

dbt-duckdb hands a Python model DuckDB relations; on Spark (Databricks) `dbt.ref()` is a
Spark DataFrame. The modelling code only needs two things from a table: a small one as a
pandas frame (the fit sample, drawn in SQL by int_model_fit_sample on whatever engine runs
it; the fitted models; the profiles) and a big
one mapped batch by batch (every customer, to score): on DuckDB a stream of Arrow record
batches back into the database, on Spark the engine's own batch map (`mapInArrow`, the
Arrow sibling of `mapInPandas`), so the customers never leave the executors.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import pandas as pd
import pyarrow as pa

from .sql import quote_identifier, sql_literal


def engine_of(relation) -> str:
    module = type(relation).__module__
    if module.startswith("duckdb") or module.startswith("_duckdb"):
        return "duckdb"
    if module.startswith("pyspark"):
        return "spark"
    if isinstance(relation, pd.DataFrame):
        return "pandas"
    raise TypeError(f"unsupported relation type {type(relation)!r}")


def table(session, name) -> object:
    """A table the model does not ref (its own previous rows: `dbt.this`), from the session
    dbt gives Python models (a DuckDB connection, or a Spark session)."""
    module = type(session).__module__
    if module.startswith(("duckdb", "_duckdb")):
        return session.sql(f"select * from {name}")
    return session.table(str(name))


def tables_named(session, schema: str, names: Iterable[str]) -> list:
    """Those of the tables `names` that exist in `schema`, each as a table (in the order
    given), from a Spark session or a DuckDB connection (dbt-duckdb hands Python models a
    wrapper around one)."""
    names = list(names)
    if type(session).__module__.startswith("pyspark"):
        return [session.table(f"{schema}.{n}") for n in names if session.catalog.tableExists(f"{schema}.{n}")]
    listed = ", ".join(sql_literal(n) for n in names) or "null"
    found = {r[0] for r in session.sql(
        f"select table_name from information_schema.tables where table_schema = {sql_literal(schema)} "
        f"and table_name in ({listed})").fetchall()}
    return [session.sql(f"select * from {quote_identifier(schema)}.{quote_identifier(n)}") for n in names if n in found]


def empty_like(relation) -> pd.DataFrame:
    """No rows, with the relation's columns and types (what an incremental model returns to
    append nothing)."""
    engine = engine_of(relation)
    if engine == "duckdb":
        return relation.limit(0).df()
    if engine == "spark":
        return relation.limit(0).toPandas()
    return relation.iloc[0:0]


def to_pandas(relation, columns: Iterable[str] | None = None, order_by: str | None = None,
              where: dict | None = None) -> pd.DataFrame:
    """A small table as a pandas frame: optionally some columns, the rows where each column
    of `where` equals its value (filtered in the engine), ordered by one column."""
    engine = engine_of(relation)
    cols = list(columns) if columns is not None else None
    where = where or {}
    if engine == "duckdb":
        rel = relation
        for column, value in where.items():
            rel = rel.filter(f"{quote_identifier(column)} = {sql_literal(value)}")
        if cols:
            rel = rel.project(", ".join(quote_identifier(c) for c in cols))
        if order_by:
            rel = rel.order(quote_identifier(order_by))
        return rel.df()
    if engine == "spark":
        df = relation
        for column, value in where.items():
            df = df.filter(df[column] == value)
        df = df.select(*cols) if cols else df
        if order_by:
            df = df.orderBy(order_by)
        return df.toPandas()
    frame = relation
    for column, value in where.items():
        frame = frame[frame[column] == value]
    frame = frame[cols] if cols else frame
    return frame.sort_values(order_by).reset_index(drop=True) if order_by else frame


def semi_join(relation, keys, column: str):
    """The rows of `relation` whose `column` value appears in `keys` (another relation of the
    same engine), computed in the engine."""
    engine = engine_of(relation)
    if engine == "duckdb":
        return relation.join(keys.project(quote_identifier(column)).distinct(), column)
    if engine == "spark":
        return relation.join(keys.select(column).distinct(), column, "left_semi")
    return relation[relation[column].isin(set(keys[column]))]


def spark_map_batches(relation, columns: list[str], fn, schema: pa.Schema):
    """`fn` (an Arrow record batch in, one out, with `schema`) over every row of a Spark
    DataFrame: a lazy DataFrame that Spark's executors compute with `mapInArrow`."""
    from pyspark.sql.pandas.types import from_arrow_schema

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):   # Spark runs one Python worker per core
            for batch in batches:
                if batch.num_rows:
                    yield fn(batch)

    return relation.select(*columns).mapInArrow(run, from_arrow_schema(schema))


def arrow_batches(relation, columns: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """A big table as Arrow record batches of about `batch_rows` rows: DuckDB streams them,
    pandas is sliced (Spark maps batches in the engine instead: spark_map_batches)."""
    engine = engine_of(relation)
    if engine == "duckdb":
        yield from relation.project(", ".join(quote_identifier(c) for c in columns)).to_arrow_reader(batch_rows)
        return
    frame = to_pandas(relation, columns)
    for start in range(0, len(frame), batch_rows):
        yield pa.RecordBatch.from_pandas(frame.iloc[start:start + batch_rows], preserve_index=False)
