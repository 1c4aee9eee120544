"""The read-only query command (README "Querying the results")."""

from __future__ import annotations

import duckdb

from custseg import query


def make_db(path):
    con = duckdb.connect(str(path))
    con.sql("create table segment_metrics as select * from (values ('kmeans', 6), ('som', 4)) t(algorithm, n_segments)")
    con.close()


def test_prints_a_query_result(tmp_path, capsys):
    db = tmp_path / "x.duckdb"
    make_db(db)
    assert query.main(["--database", str(db), "select algorithm from segment_metrics order by n_segments"]) == 0
    out = capsys.readouterr().out
    assert out.index("som") < out.index("kmeans")


def test_writes_parquet_and_cannot_write_the_database(tmp_path, capsys):
    db = tmp_path / "x.duckdb"
    make_db(db)
    out_file = tmp_path / "m.parquet"
    assert query.main(["--database", str(db), "--parquet", str(out_file), "select * from segment_metrics"]) == 0
    assert duckdb.sql(f"select count(*) from read_parquet('{out_file}')").fetchall() == [(2,)]
    assert query.main(["--database", str(db), "drop table segment_metrics"]) == 1
    assert "read-only" in capsys.readouterr().err
    assert query.main(["--database", str(tmp_path / "missing.duckdb"), "select 1"]) == 1
