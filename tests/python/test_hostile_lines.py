"""Lines that break CSV readers cost only themselves, and files are read by the name they
were matched by (tests/python/hostile.py: LINE_CASES).

One customer file holds every case (NUL byte, stray quotes, a 2 MB field, a carriage
return inside a line, a quote never closed, a last line cut inside a quote), its lines
ending alternately in LF and CR LF, and is named `lines[1].csv` beside a decoy
`lines1.csv`; one transaction log does the same. The rest needs no build.
"""

from __future__ import annotations

import json

import duckdb
import pytest

import hostile
from conftest import assert_ok, run_dbt
from custseg import inputs
from custseg.inputs import InputError
from custseg.spark_support import hadoop_literal_paths, spark_read_sql

UP_TO_CHECKS = ["build", "--selector", "cleaning"]
TX_FEATURES = ["build", "--select", "+int_transaction_customers", "+transaction_summary",
               "assert_transaction_lines_conserved", "--indirect-selection", "cautious"]


def _decoy(path, rows: int = 50):
    """Another file that a re-globbed 'lines[1].csv' would read: ids D0, D1, ..."""
    path.write_text(hostile.HEADER + "\n" + "".join(hostile.good_row(i).replace("C", "D", 1) + "\n"
                                                    for i in range(rows)))


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile_lines")
    path = work / "lines[1].csv"
    first_line = hostile.lines_file(path)
    _decoy(work / "lines1.csv")
    run = run_dbt(UP_TO_CHECKS, work, vars={"customers_path": str(path), "max_rejected_share": 0.25})
    assert_ok(run)
    return run, path, first_line


@pytest.mark.parametrize("case", hostile.LINE_CASES + [hostile.LINES_TRAILING], ids=lambda c: c.why[:40])
def test_each_line_case_costs_only_its_line(lines, case):
    run, path, first_line = lines
    rejected = run.query(f"select reject_reasons, reject_detail from rejected_customers "
                         f"where customer_id = '{case.customer_id}'")
    kind, _, reason = case.fate.partition(":")
    if kind == "clean":
        assert rejected == []
        assert run.scalar(f"select count(*) from customer_features where customer_id = '{case.customer_id}'") == 1
        return
    assert [r[0] for r in rejected] == [reason]
    detail = rejected[0][1]
    if reason == "malformed_line":
        assert detail.startswith(f"line {first_line[case.customer_id]} of {path} "), detail[:200]
    assert all(word in detail for word in case.words), detail[:200]


def test_every_line_is_counted_and_no_reason_is_missing(lines):
    run, _, _ = lines
    input_rows, staged, clean, rejected = run.query(
        "select input_rows, staged_rows, (select sum(source_row_count) from customer_features), rejected_rows "
        "from input_summary")[0]
    assert input_rows == hostile.lines_expected() == 70
    assert (staged, clean, rejected) == (69, 62, 7)
    assert run.scalar("select sum(line_span) from stg_customers") == input_rows
    assert run.scalar("select count(*) from rejected_customers where reject_reasons is null or reject_reasons = '' "
                      "or reject_detail is null") == 0
    # the good rows after the quote that never closes are read, each on its own
    ids = {r[0] for r in run.query("select customer_id from customer_features")}
    assert {f"C{i}" for i in range(hostile.LINES_GOOD)} <= ids
    # the quoted CR LF stays a line break inside the value
    assert run.scalar("select segment_note from customer_features where customer_id = 'L8'") == "two\nlines"


def test_the_file_named_with_brackets_is_read_not_its_glob(lines):
    run, _, _ = lines
    assert run.scalar("select count(*) from stg_customers where customer_id like 'D%'") == 0


TX_HEADER = "customer_id,order_id,product_id,category,occurred_at,quantity,unit_price"


def _log(path):
    good = [f"{c},o{i},p{i % 3},toys,2024-0{1 + i % 3}-1{i % 9} 10:00:00,{1 + i % 2},{5 + i}.00"
            for i, c in enumerate("ABCDEABCDEABCDEABCDE")]
    bad = {"N": "N,o90,p1,toys,2024-01-10 10:00:00,2,1\x000.00",
           "Q": 'Q,o91,"p1,toys,2024-01-10 10:00:00,2,10.00',
           "T": "T,o92,p1,toys,2024-01-10 10:00:00,2,10.00,extra",
           "R": "R,o93,p1,toys,2024-01-10\r10:00:00,2,10.00"}
    lines = [TX_HEADER] + good[:10] + list(bad.values()) + good[10:]
    last = 'Z,o94,"p1'
    body = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines)) + last
    path.write_bytes(body.encode())
    numbers = {line.split(",")[0]: n for n, line in enumerate(lines + [last], start=1) if line[:2] in
               {k + "," for k in [*bad, "Z"]}}
    return numbers, len(good) + len(bad) + 1


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile_log")
    path = work / "log[1].csv"
    numbers, data_lines = _log(path)
    (work / "log1.csv").write_text(TX_HEADER + "\n" + "".join(
        f"X{i},x{i},p1,toys,2024-02-01 10:00:00,1,3.00\n" for i in range(30)))
    run = run_dbt(TX_FEATURES, work, vars={"transactions_path": str(path), "as_of": "2024-06-01",
                                           "max_rejected_share": 0.5})
    assert_ok(run)
    return run, path, numbers, data_lines


def test_a_transaction_log_loses_only_its_bad_lines(log):
    run, path, numbers, data_lines = log
    s = run.df("select * from transaction_summary").iloc[0]
    assert (s.input_lines, s.parsed_lines, s.rejected_lines, s.used_lines) == (data_lines, data_lines, 5, 20)
    rejected = dict(run.query("select customer_id, reject_detail from rejected_transactions "
                              "where reject_reasons = 'malformed_line'"))
    assert sorted(rejected) == ["N", "Q", "R", "T", "Z"]
    words = {"N": "holds a NUL byte", "Q": 'opens a quote (") that is never closed',
             "T": "has 8 fields instead of 7", "R": "holds a carriage return", "Z": "never closed"}
    for cid, detail in rejected.items():
        assert detail.startswith(f"line {numbers[cid]} of {path} ") and words[cid] in detail, detail
    assert run.scalar("select count(*) from int_transactions where customer_id like 'X%'") == 0


# --------------------------------------------------------------------------- without a build
def _source(pattern, cache):
    return inputs.inspect_source(str(pattern), "customers", "customers_path", inputs.InputOptions(), cache)


def _rows(source) -> list[tuple]:
    with duckdb.connect() as con:
        return sorted(con.sql(f"select * from {source.read_sql()}").fetchall())


def test_a_header_name_with_pipes_does_not_make_pipe_the_delimiter(tmp_path):
    path = tmp_path / "named.csv"
    name = "v' || (select 'INJECTED' || version()) || '"
    path.write_text(f"CUST_ID,BALANCE,{name}\n" + "".join(f"C{i},{i * 3},{i % 4}\n" for i in range(30)))
    source = _source(path, tmp_path / "cache")
    assert source.delimiter == "," and source.columns == ["CUST_ID", "BALANCE", name]
    assert _rows(source)[:2] == [("C0", "0", "0"), ("C1", "3", "1")]
    # a header whose delimiter also splits the data lines keeps the most fields
    piped = tmp_path / "piped.csv"
    piped.write_text("id|a,b|c\n" + "".join(f"{i}|x,y|{i}\n" for i in range(30)))
    assert _source(piped, tmp_path / "cache").delimiter == "|"


def test_mixed_line_ends_are_read_through_a_copy_every_line_counted(tmp_path):
    lines = [hostile.HEADER] + [hostile.good_row(i) for i in range(30)]
    path = tmp_path / "joined.csv"
    path.write_bytes("".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines)).encode())
    source = _source(path, tmp_path / "cache")
    info = source.files[0]
    assert info.read_path != info.path and b"\r" not in open(info.read_path, "rb").read()
    assert source.data_lines == 30 and len(_rows(source)) == 30 and info.set_aside == []


def test_an_excel_export_with_line_breaks_in_cells_keeps_them(tmp_path):
    """CR LF between rows and LF inside quoted cells, as Excel writes (read through the LF copy)."""
    path = tmp_path / "excel.csv"
    path.write_bytes(("CUST_ID,BALANCE,NOTE\r\n" + "".join(f'C{i},{i},"a\nb"\r\n' for i in range(20))).encode())
    source = _source(path, tmp_path / "cache")
    assert source.data_lines == 40 and _rows(source)[:2] == [("C0", "0", "a\nb"), ("C1", "1", "a\nb")]


def test_a_file_that_cannot_be_read_names_its_first_bad_line(tmp_path):
    """UTF-16 is read as it is (not repaired): line ends that stop the reader are named."""
    lines = [hostile.HEADER] + [hostile.good_row(i) for i in range(30)]
    path = tmp_path / "u16.csv"
    path.write_bytes("".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines)).encode("utf-16"))
    answer = inputs.resolve({"settings": {"customers_path": str(path)}, "role": "customers", "seed_path": "",
                             "seed_label": "", "cache_dir": str(tmp_path / "cache")})
    assert answer["error"] == (f"file '{path}' cannot be read: line 2 of '{path}' ends in CR LF while line 1 ends "
                               "in LF (two exports joined?); save the file with one kind of line end.")


def test_too_many_broken_lines_refuse_the_file_in_one_line(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes((hostile.HEADER + "\n").encode() + b"".join(b"C%d,1\x00,2,3,4,5,6\n" % i for i in range(1200)))
    with pytest.raises(InputError) as err:
        _source(path, tmp_path / "cache")
    assert str(err.value).startswith(f"input file '{path}' cannot be read: line 2 holds a NUL byte")
    assert "\n" not in str(err.value)


def test_matched_files_are_read_literally(tmp_path):
    rows = {"x[1].csv": "A", "x1.csv": "B", "a*b?.csv": "C", "ab1.csv": "D"}
    for name, cid in rows.items():
        (tmp_path / name).write_text(f"id,v\n{cid},1\n")
    cache = tmp_path / "cache"
    assert _rows(_source(tmp_path / "x[1].csv", cache)) == [("A", "1")]     # the file of that exact name
    assert _rows(_source(tmp_path / "x[[]1].csv", cache)) == [("A", "1")]   # a glob matching it
    assert _rows(_source(tmp_path / "a*b?.csv", cache)) == [("C", "1")]
    # each matched file once: DuckDB globbing 'x[1].csv' again would read x1.csv twice and x[1].csv never
    assert _rows(_source(tmp_path / "*.csv", cache)) == [("A", "1"), ("B", "1"), ("C", "1"), ("D", "1")]


def test_matched_json_and_parquet_files_are_read_literally(tmp_path):
    (tmp_path / "j[1].json").write_text(json.dumps([{"id": "A", "v": 1}]))
    (tmp_path / "j1.json").write_text(json.dumps([{"id": "B", "v": 2}, {"id": "B2", "v": 3}]))
    cache = tmp_path / "cache"
    assert _rows(_source(tmp_path / "j[1].json", cache)) == [("A", 1)]
    with duckdb.connect() as con:
        for name, cid in (("p[1].parquet", "P"), ("p1.parquet", "Q")):
            con.execute(f"copy (select '{cid}' as id) to '{tmp_path / name}' (format parquet)")
    assert _rows(_source(tmp_path / "p[1].parquet", cache)) == [("P",)]
    assert _rows(_source(tmp_path / "p*.parquet", cache)) == [("P",), ("Q",)]


def test_spark_reads_the_matched_files_not_the_glob():
    assert hadoop_literal_paths(["/d/x[1].csv"]) == r"/d/x\[1\].csv"
    assert hadoop_literal_paths(["/d/a,b.csv", "/e/c{1}*.csv"]) == r"{/d/a\,b.csv,/e/c\{1\}\*.csv}"
    source = {"kind": "csv", "pattern": "/d/*.csv", "header": True, "columns": ["id"],
              "files": [{"read_path": "/d/x[1].csv"}, {"read_path": "/d/y.csv"}]}
    assert "csv.`{/d/x\\[1\\].csv,/d/y.csv}`" in spark_read_sql(source, None)
    # lines DuckDB's copy sets aside are read by Spark from the original
    source["files"] = [{"path": "/d/a.csv", "read_path": "/c/a.lines.csv", "set_aside": [[3, "", "", ""]]}]
    assert "csv.`/d/a.csv`" in spark_read_sql(source, None)


@pytest.fixture(scope="module")
def plain_log(tmp_path_factory):
    """LF only, an even number of quotes, no NUL byte: nothing for the line check, so DuckDB's
    reader meets the broken lines itself."""
    work = tmp_path_factory.mktemp("hostile_plain_log")
    good = [f"{c},o{i},p{i % 3},toys,2024-02-1{i % 9} 10:00:00,1,{5 + i}.00" for i, c in enumerate("ABCDE" * 4)]
    bad = ['Q,o91,"p1,toys,2024-01-10 10:00:00,2,10.00',      # line 12 opens a quote ...
           good[10], good[11],                                # ... that takes these lines ...
           'S,o92,"p1"x,toys,2024-01-10 10:00:00,2,10.00',    # ... and closes on line 15, text after it
           "T,o93,p1,toys,2024-01-10 10:00:00,2,10.00,extra",
           "L,o94,p1,toys,2024-01-10 10:00:00,2," + "1" * (hostile.READER_MAX_LINE + 10),
           'I,o95,p1,toys 5" tall,2024-02-10 10:00:00,1,5.00']   # a quote inside a text: a good line
    path = work / "plain.csv"
    path.write_text("\n".join([TX_HEADER] + good[:10] + bad + good[12:]) + "\n")
    run = run_dbt(TX_FEATURES, work, vars={"transactions_path": str(path), "as_of": "2024-06-01",
                                           "max_rejected_share": 0.5})
    assert_ok(run)
    return run, path


def test_lines_the_reader_rejects_itself_are_counted_with_every_line_they_took(plain_log):
    """Also: DuckDB's parallel scan would drop every row after line 15; the models read as the
    pre-hook's scan counts."""
    run, path = plain_log
    s = run.df("select * from transaction_summary").iloc[0]
    assert (s.input_lines, s.parsed_lines, s.used_lines, s.rejected_lines) == (25, 25, 19, 3)
    rejected = run.query("select customer_id, reject_detail from rejected_transactions "
                         "where reject_reasons = 'malformed_line' order by source_row_number")
    assert [cid for cid, _ in rejected] == ["Q", "T", "L"]
    assert rejected[0][1].startswith(f"line 12 of {path} has a quote (\") that does not close its value")
    assert rejected[1][1].startswith(f"line 16 of {path} has 8 fields instead of 7: T,o93")
    assert rejected[2][1].startswith(f"line 17 of {path} is longer than 2,000,000 bytes, the longest line the "
                                     f"reader takes ({len(open(path).read().splitlines()[16]):,} bytes)")
    # the quote opened on line 12 took lines 12-15 into one rejected row
    assert run.scalar("select line_span from stg_transactions where customer_id = 'Q'") == 4
    assert run.scalar("select category from int_transactions where customer_id = 'I'") == 'toys 5" tall'


@pytest.mark.parametrize("data, lines", [
    (b"a,b,c\n1,2\n3,4,5\n", [2]),
    (b"a,b,c\r\n1,2\r\n3,4,5\r\n6,7\r\n", [2, 4]),
    (b"\xef\xbb\xbfa,b,c\n1,2\n", [2]),
    (b"a,b,c\n1,2,3\n\n\n4,5\n6,7,8\n", [5]),                    # blank lines before the bad one
    (b'a,b,c\n\n\n1,2\n3,4,5\n"q\nq",1,2\n7\n', [4, 8]),         # DuckDB says 4, 7
    (b'a,b,c\n1,"x\ny\nz"q,3\n4,5\n6,7,8\n', [2, 5]),            # DuckDB says 2, 3
    ("a,b,c\n\u00e9,2\n3,4,5\n7\n".encode("latin-1"), [2, 4]),  # positions in the UTF-8 DuckDB reads
])
def test_rejected_records_are_named_by_their_physical_line(tmp_path, data, lines):
    path = tmp_path / "records.csv"
    path.write_bytes(data)
    encoding = "latin-1" if b"\xe9" in data else "utf-8"
    with duckdb.connect() as con:
        con.sql(f"select count(*) from read_csv('{path}', header = true, auto_detect = false, delim = ',', "
                f"encoding = '{encoding}', columns = {{'a': 'VARCHAR', 'b': 'VARCHAR', 'c': 'VARCHAR'}}, "
                "store_rejects = true, parallel = false)").fetchall()
        found = con.sql("select min(line_byte_position), any_value(csv_line) from reject_errors "
                        "group by line order by 1").fetchall()
    assert inputs.physical_lines_at(str(path), "none", encoding, [p for p, _ in found],
                                    [t for _, t in found]) == lines


def test_a_repaired_file_beside_gzipped_ones_is_read_with_them(tmp_path):
    import gzip

    (tmp_path / "a.csv").write_bytes(b"id,v\nA,1\r\nA2,2\nA3,3\r\n")          # mixed line ends: a copy
    (tmp_path / "b.csv").write_bytes(gzip.compress(b"id,v\nB,1\nB2,2\n"))   # gzip: read as it is, alone
    source = _source(tmp_path / "*.csv", tmp_path / "cache")
    assert all(f.read_path != f.path for f in source.files)
    assert _rows(source) == [("A", "1"), ("A2", "2"), ("A3", "3"), ("B", "1"), ("B2", "2")]
