"""The input contract on small files: how a file is read, and what each column becomes."""

from __future__ import annotations

import gzip

import pytest

from custseg import inputs
from custseg.inputs import InputError


def resolve(path, **settings) -> dict:
    """The contract for a file (raises InputError with the one-line message on a problem)."""
    request = {"settings": {"customers_path": str(path), **settings}, "role": "customers",
               "seed_path": "", "seed_label": "", "cache_dir": str(path.parent / "cache")}
    answer = inputs.resolve(request)
    if "error" in answer:
        raise InputError(answer["error"])
    return answer["contract"]


def roles(contract) -> dict[str, tuple[str, str | None]]:
    return {c["input_column"]: (c["role"], c["kind"]) for c in contract["columns"]}


def write(tmp_path, text: str | bytes, name="customers.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


MALL = "CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n" + "".join(
    f"{i},{'Male' if i % 2 else 'Female'},{18 + i % 50},{15 + (i * 7) % 120},{1 + (i * 13) % 99}\n"
    for i in range(1, 201))


def test_a_demographic_file_needs_no_settings(tmp_path):
    contract = resolve(write(tmp_path, MALL))
    assert roles(contract) == {
        "CustomerID": ("id", "id"), "Gender": ("categorical", None), "Age": ("feature", "age"),
        "Annual Income (k$)": ("feature", "amount"), "Spending Score (1-100)": ("feature", "score")}
    names = {c["input_column"]: c["name"] for c in contract["columns"]}
    assert names["Annual Income (k$)"] == "annual_income_k" and names["CustomerID"] == "customer_id"
    assert contract["source"]["data_lines"] == 200 and contract["derived"] == []


def test_semicolons_byte_order_mark_crlf_and_no_final_newline(tmp_path):
    body = "\ufeffID;Income;Recency\r\n" + "\r\n".join(f"{i};{1000 + i};{i * 7 % 90}" for i in range(50))
    contract = resolve(write(tmp_path, body.encode("utf-8")))
    src = contract["source"]
    assert (src["delimiter"], src["header"], src["encoding"]) == (";", True, "utf-8")
    assert src["columns"] == ["ID", "Income", "Recency"] and src["data_lines"] == 50


def test_a_file_without_header_is_named_by_input_options(tmp_path):
    body = "".join(f" {i:05d} 2021{1 + i % 12:02d}01  {1 + i % 3}   {10 + i:.2f}\r\n" for i in range(30))
    path = write(tmp_path, body, "log.txt")
    contract = resolve(path, id_column="customer_id",
                       input_options={"column_names": ["customer_id", "day", "items", "amount"]})
    src = contract["source"]
    assert src["whitespace"] and not src["header"] and src["data_lines"] == 30
    assert roles(contract)["items"] == ("feature", "count")
    unnamed = resolve(path, id_column="column1", feature_columns=["column3", "column4"])
    assert unnamed["source"]["columns"] == ["column1", "column2", "column3", "column4"]


def test_a_comment_above_the_header_is_skipped_but_hash_ids_below_it_are_data(tmp_path):
    body = "# exported 2026-11-01\nCUST_ID,BALANCE,PURCHASES,PURCHASES_TRX\n" + "".join(
        f"#{i},{i * 10},{i},{i % 5}\n" for i in range(40))
    contract = resolve(write(tmp_path, body))
    assert contract["source"]["files"][0]["preamble_lines"] == 1
    assert contract["source"]["data_lines"] == 40
    # the comment line and the header (skipped as a record, never parsed) are skipped
    assert "skip = 2" in contract["source"]["read_sql"] and "header = false" in contract["source"]["read_sql"]
    assert "comment = ''" in contract["source"]["read_sql"]


@pytest.mark.parametrize("encoding, expected", [("latin-1", "latin-1"), ("cp1252", "cp1252"), ("utf-16", "utf-16")])
def test_encodings_are_detected(tmp_path, encoding, expected):
    text = "id,segment_note,amount,visits\n" + "".join(f"{i},{'café' if i % 2 else 'naïve €5'},{i * 3},{i % 4}\n"
                                                     for i in range(1, 41))
    if encoding == "latin-1":
        text = text.replace("€", "E")
    contract = resolve(write(tmp_path, text.encode(encoding)), id_column="id")
    src = contract["source"]
    assert src["encoding"] == expected
    if expected == "cp1252":  # DuckDB cannot read Windows-1252: a UTF-8 copy is read instead
        f = src["files"][0]
        assert f["read_path"] != f["path"] and "€" in open(f["read_path"], encoding="utf-8").read()


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    path = write(tmp_path, gzip.compress(MALL.encode()), "customers.csv")
    contract = resolve(path)
    assert contract["source"]["compression"] == "gzip" and contract["source"]["data_lines"] == 200


@pytest.mark.parametrize("make, message", [
    (lambda d: write(d, b""), r"is empty \(0 bytes\)"),
    (lambda d: write(d, "\ufeff\n\n".encode()), r"is empty \(no line with data\)"),
    (lambda d: d, "is a directory"),
    (lambda d: d / "nothing-*.csv", "no file matches"),
    (lambda d: write(d, b"PK\x03\x04rest"), "is a zip archive"),
    (lambda d: write(d, "CUST_ID,BALANCE,PURCHASES,balance\n1,2,3,4\n"), "duplicate column 'balance'"),
])
def test_unreadable_inputs_say_why_in_one_line(tmp_path, make, message):
    with pytest.raises(InputError, match=message) as err:
        resolve(make(tmp_path))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name, values, kind", [
    ("Customer_Age", [25, 40, 61, 33], "age"),
    ("Months_on_book", [13, 36, 56, 40], "duration"),
    ("Total_Trans_Ct", [12, 80, 44, 91], "count"),
    ("Total_Amt_Chng_Q4_Q1", [0.7, 1.3, 2.1, 0.9], "ratio"),
    ("Avg_Utilization_Ratio", [0.1, 0.5, 0.0, 0.93], "share"),
    ("Credit_Limit", [1500, 34000, 2400, 8000], "limit"),
    ("Total_Revolving_Bal", [0, 1200, 2517, 40], "amount"),
    ("NumWebVisitsMonth", [3, 7, 0, 9], "count"),
    ("MntMeatProducts", [12, 500, 3, 90], "amount"),
    ("Year_Birth", [1957, 1984, 1966, 1990], "year"),
    ("Spending Score (1-100)", [39, 81, 6, 77], "score"),
    ("Profit", [-20.5, 100.25, 4.0, 33.0], "net_amount"),
    ("Complain", [0, 1, 0, 0], "flag"),
    ("Visits", [1, 4, 2, 9], "count"),
    ("Mystery", [1.5, -2.25, 3.125, 0.5], "number"),
])
def test_kinds_are_inferred_from_names_and_values(tmp_path, name, values, kind):
    rows = [f"{i},{values[i % 4]},{i % 7}\n" for i in range(60)]
    contract = resolve(write(tmp_path, f"id,{name},other\n" + "".join(rows)), id_column="id")
    assert roles(contract)[name] == ("feature", kind)


def test_what_is_not_a_feature_is_carried_ignored_or_dropped(tmp_path):
    header = "row,client_id,email,comment,plan,flat,empty,spend,visits\n"
    rows = [f"{i},K{i},user{i}@x.org,note number {i} about things,{'gold' if i % 3 else 'basic'},5,,{i * 2.5},{i % 9}\n"
            for i in range(1, 61)]
    contract = resolve(write(tmp_path, header + "".join(rows)))
    got = roles(contract)
    assert got["client_id"] == ("id", "id")
    assert got["row"][0] == "ignored"            # 1, 2, 3, ... in file order: a row number
    assert got["email"][0] == "ignored" and got["comment"][0] == "ignored"
    assert got["plan"] == ("categorical", None)
    assert got["flat"][0] == "dropped" and got["empty"][0] == "dropped"
    assert {w.split("'")[1] for w in contract["warnings"]} == {"flat", "empty"}


def test_a_description_row_under_the_header_does_not_make_a_column_text(tmp_path):
    rows = ["customer identifier,spend in euros,visits per year\n"] + [f"C{i},{i * 1.5},{i % 6}\n" for i in range(50)]
    contract = resolve(write(tmp_path, "customer_id,spend,visits\n" + "".join(rows)))
    assert roles(contract)["spend"] == ("feature", "amount")
    assert "non-numeric value(s) in the first rows become rejected rows" in \
        next(c["reason"] for c in contract["columns"] if c["input_column"] == "spend")


@pytest.mark.parametrize("delimiter, values, expected", [
    (",", ['"$1,234.50"', '"$310.00"', '"USD 12,000"', '"-$5.25"'], ("grouped", [1234.5, 310.0, 12000.0, -5.25])),
    (";", ["1.234,56 €", "264,41", "1 200,5 EUR", "12,5 %"], ("decimal_comma", [1234.56, 264.41, 1200.5, 12.5])),
    # 1,234 reads either way: a ';' file has decimal commas, a ',' file thousands separators
    (";", ["1,234", "2,5", "17"], ("decimal_comma", [1.234, 2.5, 17.0])),
    (",", ['"1,234"', '"12,500"', "17"], ("grouped", [1234.0, 12500.0, 17.0])),
    # accounting brackets for negatives, Swiss apostrophes, narrow no-break spaces
    (",", ['"(1,387.63)"', '"7,169.20"', '"$(25.00)"', "12"], ("grouped", [-1387.63, 7169.2, -25.0, 12.0])),
    (",", ["1'234.50", "980.25", "12'000"], ("grouped", [1234.5, 980.25, 12000.0])),
    (";", ["1\u202f234,56", "264,41", "(12,5)"], ("decimal_comma", [1234.56, 264.41, -12.5])),
    # not numbers: codes, text, plain numbers (read as they are), dates
    (",", ["CUS001", "SKU 123", "ABC12"], (None, None)),
    (",", ["1.5", "2", "3e2"], (None, None)),
    (",", ["2024-01-15", "2023-12-01", "2022-06-30"], (None, None)),
])
def test_numbers_with_separators_and_signs_get_a_number_format(tmp_path, delimiter, values, expected):
    import duckdb

    rows = "".join(f"C{i}{delimiter}{values[i % len(values)]}{delimiter}{i % 7}{delimiter}{i * 3}\n" for i in range(60))
    contract = resolve(write(tmp_path, f"customer_id{delimiter}value{delimiter}visits{delimiter}spend\n" + rows))
    column = next(c for c in contract["columns"] if c["input_column"] == "value")
    fmt, numbers = expected
    assert column["number_format"] == fmt
    if fmt:
        assert column["role"] == "feature" and "written like" in column["reason"]
        con = duckdb.connect()
        sql = f"select try_cast({inputs.number_text_sql('v', fmt)} as double) from (select ? as v)"
        read = [con.execute(sql, [v.strip('"')]).fetchone()[0] for v in values]
        assert read == pytest.approx(numbers)


@pytest.mark.parametrize("name", ["Kundennummer", "Kunde Nr.", "klantnummer", "numero_client", "id_cliente",
                                  "Codice Cliente", "Cliente"])
def test_a_customer_number_named_in_another_language_is_the_id(tmp_path, name):
    rows = "".join(f"K-{i:04d},{i * 2.5},{i % 9}\n" for i in range(40))
    contract = resolve(write(tmp_path, f"{name},Umsatz,Besuche\n" + rows))
    assert roles(contract)[name] == ("id", "id")


def test_dates_become_days_before_the_latest(tmp_path):
    rows = [f"{i},{1 + i % 28:02d}-0{1 + i % 9}-2013,{i * 3}\n" for i in range(40)]
    contract = resolve(write(tmp_path, "ID,Dt_Customer,MntWines\n" + "".join(rows)))
    col = next(c for c in contract["columns"] if c["input_column"] == "Dt_Customer")
    assert (col["role"], col["kind"], col["name"]) == ("feature", "duration", "days_since_dt_customer")
    assert col["date_formats"][0] == "%d-%m-%Y"


def test_the_cc_general_preset_needs_no_settings_and_derives_only_what_it_can(tmp_path):
    header = "CUST_ID,BALANCE,INSTALLMENTS_PURCHASES,PURCHASES,PURCHASES_TRX,CREDIT_LIMIT,TENURE\n"
    rows = [f"C{i},{i * 10},{i},{i * 2},{i % 7},{1000 + i},{6 + i % 7}\n" for i in range(30)]
    contract = resolve(write(tmp_path, header + "".join(rows)))
    assert roles(contract)["CREDIT_LIMIT"] == ("feature", "limit")
    assert roles(contract)["TENURE"] == ("profile", "duration")
    derived = {d["name"] for d in contract["derived"]}
    assert {"credit_utilization", "avg_purchase_amount", "monthly_purchases"} <= derived
    assert not derived & {"oneoff_purchase_share", "installment_purchase_share", "cash_advance_share",
                          "total_transactions"}


def test_declared_columns_win(tmp_path):
    contract = resolve(write(tmp_path, MALL), feature_columns={"Age": "number", "Spending Score (1-100)": None},
                       column_map={"CustomerID": "CUST_ID"})
    got = roles(contract)
    assert got["CUST_ID"] == ("id", "id")
    assert got["Age"] == ("feature", "number") and got["Spending Score (1-100)"] == ("feature", "score")
    assert got["Annual Income (k$)"] == ("profile", "amount")   # not declared: profiled only


@pytest.mark.parametrize("settings, message", [
    ({"ignore_columns": ["Age"], "feature_columns": ["Age", "Gender"]},
     "'Age' is both in ignore_columns and in feature_columns"),
    ({"feature_columns": ["Age", "Income"]},
     "feature_columns names 'Income', but file .* has no such column \\(columns: CustomerID, Gender, Age"),
    ({"column_map": {"Age": "years", "Gender": "years"}}, "column_map maps both 'Age' and 'Gender' onto 'years'"),
    ({"column_map": {"Age": "Gender"}}, "already has a column 'Gender'"),
    ({"id_column": "Ghost"}, "id_column names 'Ghost'"),
    ({"feature_columns": {"Age": "weight"}}, "kinds are amount"),
    ({"ignore_columns": ["Age", "Annual Income (k$)"]}, "fewer than two usable features"),
])
def test_contradictory_settings_fail_in_one_line_naming_the_column(tmp_path, settings, message):
    with pytest.raises(InputError, match=message) as err:
        resolve(write(tmp_path, MALL), **settings)
    assert "\n" not in str(err.value)


def test_the_id_is_inferred_or_its_ambiguity_named(tmp_path):
    two = "customer_id,account_no,spend,visits\n" + "".join(f"C{i},A{i},{i},{i % 4}\n" for i in range(30))
    with pytest.raises(InputError, match="several columns .* could be the customer id: customer_id, account_no"):
        resolve(write(tmp_path, two))
    # some ids repeat (duplicate rows, de-duplicated later): still the id
    repeats = "Customer ID,spend,visits\n" + "".join(f"{i % 28}.0,{i * 37 % 101},{i % 4}\n" for i in range(30))
    contract = resolve(write(tmp_path, repeats, "r.csv"))
    assert roles(contract)["Customer ID"] == ("id", "id") and contract["id_whole_numbers"]
    assert "mostly unique" in next(c["reason"] for c in contract["columns"] if c["role"] == "id")
    # nothing named like an id, but an e-mail address
    mails = "Email,Address,spend,visits\n" + "".join(
        f"u{i}@x.org,{i} Main St,{i * 37 % 101},{i % 4}\n" for i in range(30))
    contract = resolve(write(tmp_path, mails, "m.csv"))
    assert roles(contract)["Email"] == ("id", "id") and not contract["id_whole_numbers"]
    # nothing that identifies a customer: rows are numbered, and the contract says so
    none = "name,spend,visits\n" + "".join(f"N{i % 3},{i * 37 % 101},{i % 4}\n" for i in range(30))
    contract = resolve(write(tmp_path, none, "b.csv"))
    assert contract["id_source"] == "row_number" and "id" not in {c["role"] for c in contract["columns"]}
    assert any("numbered by their row" in w for w in contract["warnings"])


def test_cc_general_names_in_other_files_are_not_held_to_its_rules(tmp_path):
    """A bank's balance may be negative and a telecom's tenure 0: outside a CC GENERAL file
    (its CUST_ID, or three of its columns) such columns are inferred like any other."""
    bank = "customerID,balance,tenure,duration\n" + "".join(
        f"K{i},{i * 50 - 300},{i % 5},{i * 7 % 31}\n" for i in range(30))
    got = roles(resolve(write(tmp_path, bank)))
    assert got["balance"] == ("feature", "net_amount") and got["tenure"] == ("feature", "duration")
    cc = "customer_id,BALANCE,PURCHASES,TENURE\n" + "".join(
        f"K{i},{i * 50 + 3},{i * 3 % 17 + 1},{12}\n" for i in range(30))
    contract = resolve(write(tmp_path, cc, "cc.csv"))
    assert {c["input_column"]: c["reason"] for c in contract["columns"]}["BALANCE"] == \
        "CC GENERAL column BALANCE (amount)"


def test_numbers_are_plain_numbers():
    import re

    ok = ["12", "-3.5", "+4", ".5", "1e3", " 7 ", "2.", "1E-2"]
    bad = ["1_000", "1,000", "$5", "0x10", "12O", "inf", "nan", "1.2.3", ""]
    assert all(re.match(inputs.NUMBER_PATTERN, v) for v in ok)
    assert not any(re.match(inputs.NUMBER_PATTERN, v) for v in bad)


def test_json_is_read_as_typed_columns_and_workbooks_get_a_way_out(tmp_path):
    """A JSON array or JSON Lines file reads like Parquet (nested values become JSON text,
    here a constant one, dropped); a spreadsheet workbook gets one line on how to export it."""
    import json

    records = [{"customer_id": f"K{i}", "spend": round(i * 2.5 + i % 3, 2), "visits": i % 7,
                "tier": "gold" if i % 2 else "basic", "address": {"city": "Lyon"}} for i in range(40)]
    as_array = write(tmp_path, json.dumps(records), "customers.json")
    as_lines = write(tmp_path, gzip.compress("\n".join(json.dumps(r) for r in records).encode()), "customers.jsonl.gz")
    for path in (as_array, as_lines):
        contract = resolve(path)
        assert contract["source"]["kind"] == "parquet" and contract["source"]["data_lines"] == 40
        assert roles(contract) == {"customer_id": ("id", "id"), "spend": ("feature", "amount"),
                                   "visits": ("feature", "count"), "tier": ("categorical", None),
                                   "address": ("dropped", None)}
    with pytest.raises(InputError, match="cannot be read as JSON"):
        resolve(write(tmp_path, '{"customer_id": "K1", ', "broken.json"))
    workbook = write(tmp_path, b"PK\x03\x04" + bytes(60), "customers.xlsx")
    with pytest.raises(InputError, match="is a spreadsheet workbook.*save the sheet as CSV"):
        resolve(workbook)
    with pytest.raises(InputError, match="spreadsheet workbook"):
        resolve(write(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(60), "customers.xls"))


def test_a_trailing_delimiter_makes_an_empty_unnamed_column_that_is_dropped(tmp_path):
    text = "customer_id,spend,visits,\n" + "".join(f"K{i},{i * 3.5 + 1},{i * 7 % 13},\n" for i in range(40))
    contract = resolve(write(tmp_path, text))
    assert roles(contract) == {"customer_id": ("id", "id"), "spend": ("feature", "amount"),
                               "visits": ("feature", "count"), "column4": ("dropped", None)}
    assert contract["warnings"] == ["column 'column4' is empty and was dropped"]


def test_title_lines_above_the_header_are_skipped_and_counted_out(tmp_path):
    body = "".join(f"K{i},{i * 3.5 + 1},{i * 7 % 13}\n" for i in range(40))
    for text in ("Customer report Q1\n\ncustomer_id,spend,visits\n" + body,
                 "Customer report Q1,,\nExported 2026-11-01,,\ncustomer_id,spend,visits\n" + body):
        contract = resolve(write(tmp_path, text))
        assert list(roles(contract)) == ["customer_id", "spend", "visits"]
        assert contract["source"]["data_lines"] == 40 and "skip = 3" in contract["source"]["read_sql"]
    # a file without a header: its first rows are data, never a title
    unnamed = resolve(write(tmp_path, "1,2.5,3\n" + body.replace("K", ""), "data.csv"), id_column="column1")
    assert unnamed["source"]["data_lines"] == 41 and "skip = 0" in unnamed["source"]["read_sql"]


def test_phone_numbers_postal_codes_and_coordinates_are_not_clustered(tmp_path):
    """A shop's customer export: Phone and Zip are whole numbers and Latitude a number, but
    none measures behaviour; they are carried, not clustered (declare one to cluster on it)."""
    rows = "".join(f"{6789012345000 + i},+1613555{1000 + i * 37 % 9000},{10000 + i * 7919 % 89999},"
                   f"{(i * 13) % 900 + 0.5},{i % 31},{(i * 7) % 160 - 80 + 0.25}\n" for i in range(60))
    path = write(tmp_path, "Customer ID,Phone,Zip,Total Spent,Total Orders,Latitude\n" + rows)
    got = roles(resolve(path))
    assert got == {"Customer ID": ("id", "id"), "Phone": ("ignored", None), "Zip": ("ignored", None),
                   "Total Spent": ("feature", "amount"), "Total Orders": ("feature", "count"),
                   "Latitude": ("ignored", None)}
    assert roles(resolve(path, feature_columns=["Total Spent", "Latitude"]))["Latitude"] == ("feature", "number")


def test_headers_differing_only_by_case_stop_in_one_line_naming_both(tmp_path):
    body = "id,Balance,balance\n" + "".join(f"{i},{i},{i * 2}\n" for i in range(40))
    with pytest.raises(InputError) as err:
        resolve(write(tmp_path, body))
    message = str(err.value)
    assert "\n" not in message
    assert "duplicate column 'balance'" in message and "column 2 'Balance'" in message and "column 3" in message


def test_headers_that_snake_case_alike_get_distinct_names(tmp_path):
    # 'Balance!' comes first, yet the preset's BALANCE keeps its name 'balance'
    header = "CUST_ID,Balance!,BALANCE,PURCHASES,PURCHASES_TRX,CREDIT_LIMIT,PAYMENTS,a-b,a_b,A B\n"
    rows = "".join(f"C{i},{i},{100 + i},{50 + i},{i % 9},{1000 + i},{20 + i},{i},{i * 2},{i * 3}\n" for i in range(40))
    names = {c["input_column"]: c["name"] for c in resolve(write(tmp_path, header + rows))["columns"]}
    assert names["BALANCE"] == "balance" and names["Balance!"] == "balance_2"
    assert (names["a-b"], names["a_b"], names["A B"]) == ("a_b", "a_b_2", "a_b_3")
    assert len(set(names.values())) == len(names)


def test_a_wrapped_header_cell_and_a_nul_in_a_name_are_read_as_the_header(tmp_path):
    """Spreadsheets write a header cell with a line break as a quoted value over two lines;
    a damaged export may hold a NUL byte in a name (no character of a name: dropped)."""
    import duckdb

    body = "".join(f"K{i},{i * 3.5 + 1},{i * 7 % 13}\n" for i in range(40))
    contract = resolve(write(tmp_path, 'customer_id,"Total\nspend",vis\x00its\n' + body))
    assert list(roles(contract)) == ["customer_id", "Total\nspend", "visits"]
    f = contract["source"]["files"][0]
    assert (f["header_lines"], contract["source"]["data_lines"]) == (2, 40)
    rows = duckdb.sql(f"select * from {contract['source']['read_sql']}").fetchall()
    assert len(rows) == 40 and rows[0] == ("K0", "1.0", "0")


def test_a_header_whose_first_name_starts_with_a_hash_is_the_header(tmp_path):
    """'#' above the header starts a comment only when the line is not shaped like the rows."""
    body = "".join(f"K{i},{i * 3.5 + 1},{i * 7 % 13}\n" for i in range(40))
    contract = resolve(write(tmp_path, "# exported 2026-11-01\n#id,spend,# of visits\n" + body))
    assert list(roles(contract)) == ["#id", "spend", "# of visits"]
    assert contract["source"]["files"][0]["preamble_lines"] == 1 and contract["source"]["data_lines"] == 40
