"""Header names are data: a file whose headers hold quotes, backslashes, Jinja braces, SQL
(an injection attempt), reserved words, unicode, padding and 200+ characters builds like any
other, and every header reaches the tables as written (never as SQL, never as Jinja).

Two builds for all the cases: a full build of one small file, and a score_changes night on a
copy of it with one record edited.
"""

from __future__ import annotations

import csv
import random
import re
import shutil

import pytest
from conftest import assert_ok, run_dbt

pytestmark = pytest.mark.dbt

FAST = {"stability_resamples": 1, "k_max": 6}
INJECTION = "v' || (select 'INJECTED' || version()) || '"
#: Numeric columns, each a feature; the last two snake_case to the same name.
NUMERIC_HEADERS = [
    INJECTION,
    "{{ var('x') }}",
    "{% if true %}jinja{% endif %}",
    "{# note #} total",
    'say "hi"',
    "back\\slash\\",
    "Returning", "show", "describe", "summarize", "analyze", "symmetric", "variadic", "placing", "select", "order",
    "Größe €", "数量", "💰 spend", "\u05e9\u05dc\u05d5\u05dd",
    "  padded  ",
    "long " + "x" * 210,
    "a-b", "a_b",
]
DATE_HEADER = "joined' on {{ d }}"
CATEGORY_HEADER = "cat' || version() || '{{ x }}\""
CATEGORIES = ["it's", "{{ v }}", "a\\b", '"q"']
ROWS = 60


def bad_value(j: int) -> str:
    return f"no'{j}"


def write_file(path):
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["id", *NUMERIC_HEADERS, DATE_HEADER, CATEGORY_HEADER])
        for i in range(ROWS):
            out.writerow([f"C{i}", *(rng.randint(0, 50) + j for j in range(len(NUMERIC_HEADERS))),
                          f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}", CATEGORIES[i % len(CATEGORIES)]])
        # one row with a bad value in every numeric and date column
        out.writerow(["BAD", *(bad_value(j) for j in range(len(NUMERIC_HEADERS))), "no date", "it's"])
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile_headers")
    path = write_file(work / "hostile headers.csv")
    # the header holds '||': the delimiter is given (sniffing such a header is another matter)
    settings = {"customers_path": str(path), "input_options": {"delimiter": ","}, **FAST}
    run = run_dbt(["build"], work, vars=settings)
    assert_ok(run)
    run.input_path, run.settings = path, settings
    return run


def as_read(header: str) -> str:
    return header.strip()   # the reader trims the spaces around a header name


def test_the_build_is_green_and_the_reject_detail_quotes_each_header_verbatim(hostile):
    rows = hostile.query("select customer_id, reject_reasons, reject_detail from rejected_customers")
    assert [(r[0], r[1]) for r in rows] == [("BAD", "non_numeric_value,unparseable_date")]
    detail = rows[0][2]
    expected = [f"{as_read(h)}='{bad_value(j)}' is not a number" for j, h in enumerate(NUMERIC_HEADERS)]
    expected.append(f"{DATE_HEADER}='no date' is not a date in a known format")
    assert detail == "; ".join(expected)
    # the injection header is text: no query ran, nothing was rendered as Jinja
    version = hostile.scalar("select version()")
    assert INJECTION in detail and f"INJECTED{version}" not in detail and "vINJECTED" not in detail
    assert "{{ var('x') }}='no'1'" in detail


def test_input_columns_lists_each_header_as_written(hostile):
    rows = hostile.query("select input_column, column_name, role from input_columns order by position")
    got = {input_column: (name, role) for input_column, name, role in rows}
    assert [r[0] for r in rows] == ["id", *map(as_read, NUMERIC_HEADERS), DATE_HEADER, CATEGORY_HEADER]
    assert {got[as_read(h)][1] for h in NUMERIC_HEADERS} == {"feature"}
    assert got[DATE_HEADER] == ("days_since_joined_on_d", "feature")
    assert got[CATEGORY_HEADER] == ("cat_version_x", "categorical")
    # reserved words are names like any other (quoted), the old '_col' names stay as they were
    for header in ("Returning", "show", "describe", "summarize", "analyze", "symmetric", "variadic", "placing"):
        assert got[header][0] == header.lower()
    assert (got["select"][0], got["order"][0]) == ("select_col", "order_col")
    # two headers with one snake_case name get two names
    assert (got["a-b"][0], got["a_b"][0]) == ("a_b", "a_b_2")
    assert len({name for name, _ in got.values()}) == len(got)


def test_customer_features_has_every_column(hostile):
    names = [r[0] for r in hostile.query("select column_name from input_columns where role <> 'id'")]
    columns = [r[0] for r in hostile.query("select column_name from information_schema.columns "
                                           "where table_name = 'customer_features'")]
    assert set(names) <= set(columns)
    assert hostile.scalar("select count(*) from customer_features") == ROWS
    assert hostile.scalar('select sum("returning") + sum("show") + sum("placing") from customer_features') > 0
    features = {r[0] for r in hostile.query("select distinct feature from segment_feature_profiles")}
    assert {"returning", "select_col", "a_b_2", "days_since_joined_on_d"} <= features


def test_categories_and_their_header_reach_the_profiles_as_written(hostile):
    rows = hostile.query("select distinct attribute_label, category from segment_category_profiles "
                         "where algorithm = 'kmeans' order by category")
    assert rows == sorted((CATEGORY_HEADER, c) for c in CATEGORIES)


def test_a_score_changes_night_on_the_same_headers_finds_the_edited_record(hostile, tmp_path):
    for f in hostile.db_path.parent.glob(hostile.db_path.stem + ".*"):
        shutil.copy(f, tmp_path / f.name)
    lines = hostile.input_path.read_text(encoding="utf-8").split("\n")
    assert lines[11].startswith("C10,")
    lines[11] = re.sub(r"^C10,\d+,", "C10,999,", lines[11])
    tonight = tmp_path / hostile.input_path.name
    tonight.write_text("\n".join(lines), encoding="utf-8")
    night = run_dbt(["build", "--selector", "score_changes"], tmp_path,
                    vars={**hostile.settings, "customers_path": str(tonight), "segment_mode": "score_changes"},
                    db_name=hostile.db_path.name)
    assert_ok(night)
    assert re.search(r"Published run \S+ to \S+: 1 changed \(", night.output), night.output[-2000:]
    assert night.scalar("select v_select_injected_version from customer_features where customer_id = 'C10'") == 999
