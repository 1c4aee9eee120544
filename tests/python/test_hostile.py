"""Hostile inputs: every bad row ends where it should with its reason, every line is counted
by a reader independent of the parser, and every bad file stops the build with one line a
user can act on, never a traceback (tests/python/hostile.py generates the cases)."""

from __future__ import annotations

import pytest

import hostile
from conftest import assert_ok, run_dbt

pytestmark = pytest.mark.dbt

UP_TO_CHECKS = ["build", "--selector", "cleaning"]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile_rows")
    path = hostile.mixed_rows_file(work / "mixed.csv")
    run = run_dbt(UP_TO_CHECKS, work, vars={"customers_path": str(path)})
    assert_ok(run)
    return run


@pytest.mark.parametrize("case", hostile.ROW_CASES, ids=lambda c: c.why[:40])
def test_each_bad_row_ends_where_it_should(mixed, case):
    clean = dict(mixed.query("select customer_id, imputed_columns from customer_features"))
    rejected = {}
    for cid, reasons in mixed.query("select customer_id, reject_reasons from rejected_customers "
                                    "order by source_row_number"):
        rejected.setdefault(cid, reasons)
    kind, _, detail = case.fate.partition(":")
    if kind == "clean":
        assert case.customer_id in clean and clean[case.customer_id] == ""
    elif kind == "imputed":
        assert clean.get(case.customer_id) == detail
    else:
        assert rejected.get(case.customer_id) == detail, (case.customer_id, rejected.get(case.customer_id))


def test_every_line_is_counted_independently_of_the_parser(mixed):
    input_rows, staged, clean, rejected = mixed.query(
        "select input_rows, staged_rows, (select sum(source_row_count) from customer_features), rejected_rows "
        "from input_summary")[0]
    assert input_rows == hostile.expected_lines()      # counted from the bytes, by hand here
    assert staged == clean + rejected
    # the quoted line break made one row of two lines; the trailing partial line is its own row
    assert mixed.scalar("select sum(line_span) from stg_customers") == input_rows
    partial = mixed.query("select customer_id, reject_reasons from rejected_customers "
                          "where reject_reasons = 'malformed_line'")
    assert partial == [("H9", "malformed_line")]
    # the exact duplicate of C2 is collapsed into it, not lost
    assert mixed.scalar("select source_row_count from customer_features where customer_id = 'C2'") == 2


@pytest.mark.parametrize("case", hostile.FILE_CASES, ids=lambda c: c.name)
def test_each_bad_file_stops_the_build_in_one_line(tmp_path, case):
    path = case.make(tmp_path)
    run = run_dbt(UP_TO_CHECKS, tmp_path, vars={"customers_path": str(path), **(case.vars or {})})
    assert run.returncode != 0
    assert "Traceback" not in run.output, run.output[-3000:]
    lines = [line for line in run.output.splitlines() if case.words[0] in line]
    assert lines, run.output[-3000:]
    assert all(word in lines[0] for word in case.words), lines[0]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16"])
def test_other_encodings_are_read_correctly(tmp_path, encoding):
    notes = ["café", "naïve", "Müller", "señal"] + (["€ plan"] if encoding != "latin-1" else [])
    lines = [hostile.HEADER] + [hostile.good_row(i).replace("plain", notes[i % len(notes)]) for i in range(40)]
    path = tmp_path / "accents.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    run = run_dbt(UP_TO_CHECKS, tmp_path, vars={"customers_path": str(path)})
    assert_ok(run)
    assert run.scalar("select count(*) from rejected_customers") == 0
    assert {r[0] for r in run.query("select distinct segment_note from customer_features")} == set(notes)


def test_a_report_export_with_a_title_and_old_mac_line_ends_is_read(tmp_path):
    """Excel for Mac's "CSV (Macintosh)": Windows-1252 text, lines ending in CR alone, and a
    report's title and export date (padded with delimiters) above the header."""
    notes = ["café", "€ plan", "Müller"]
    rows = [hostile.good_row(i).replace("plain", notes[i % 3]) for i in range(40)]
    padding = "," * (hostile.HEADER.count(","))
    lines = ["Customer report" + padding, "Exported 2026-11-01" + padding, "", hostile.HEADER] + rows
    path = tmp_path / "report.csv"
    path.write_bytes(("\r".join(lines) + "\r").encode("cp1252"))
    run = run_dbt(UP_TO_CHECKS, tmp_path, vars={"customers_path": str(path)})
    assert_ok(run)
    assert "the first 3 line(s)" in run.output and "above its header, were skipped" in run.output
    assert run.scalar("select count(*) from rejected_customers") == 0
    assert run.query("select input_rows, clean_customers from input_summary") == [(40, 40)]
    assert {r[0] for r in run.query("select distinct segment_note from customer_features")} == set(notes)
