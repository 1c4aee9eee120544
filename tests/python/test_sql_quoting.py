"""Text becomes SQL only through the quoting helpers (macros/quoting.sql, custseg.sql).

A lint over the project's Jinja SQL (macros/, models/, tests/) and Python (src/custseg,
scripts/) that fails, naming file:line, on SQL built by pasting quotes around a value:
a Jinja string that opens or closes a SQL literal next to `~`, a literal around a `{{ }}`,
a contract name (`.name`, `.input_column`, `.source_column`) spliced in unquoted, quote
characters replaced by hand, or a Python f-string / concatenation that puts quotes around
a value in SQL. Plus unit tests of the Python helpers (DuckDB and Spark literals).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb
import pytest

from custseg.sql import quote_identifier, sql_literal

ROOT = Path(__file__).resolve().parents[2]
JINJA_HELPERS = ROOT / "macros" / "quoting.sql"
PYTHON_HELPERS = ROOT / "src" / "custseg" / "sql.py"
QUOTES = "'\"`"

# --------------------------------------------------------------------------- Jinja
_SEGMENT = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
_STRING = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'""")
#: Calls whose text is a message for a person, not SQL (their quotes are prose).
_MESSAGE_CALLS = re.compile(r"\b(?:exceptions\.raise_compiler_error|exceptions\.warn|log|refuse_run|_settings_error)\(")
#: Calls whose argument is quoted by the helpers (a name spliced inside them is fine).
_HELPER_CALLS = re.compile(r"\b(?:quote_identifier|sql_string)\(")
_CONTRACT_NAME = r"\b[A-Za-z_]\w*(?:\[[^\]]*\])?\.(?:name|input_column|source_column)\b"
_HAND_REPLACE = re.compile(r"""replace\(\s*(?:"'"|'"'|'`'|"`"|'\\''|"\\"")\s*,""")


def _blank(text: str, start: int, end: int) -> str:
    """Text with [start, end) replaced by spaces (newlines kept, so line numbers hold)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _blank_calls(text: str, pattern: re.Pattern) -> str:
    """Blank the arguments of every call matching `pattern` (to its balancing parenthesis)."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        depth, i = 1, m.end()
        while i < len(text) and depth:
            s = _STRING.match(text, i)
            if s:
                i = s.end()
                continue
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        text = _blank(text, m.end(), i - 1)
        pos = m.end()
    return text


def _odd_quotes(literal: str) -> bool:
    body = literal[1:-1].replace("\\\\", "").replace("\\", "")
    return any(body.count(q) % 2 for q in QUOTES)


def jinja_problems(text: str) -> list[tuple[int, str]]:
    """(line, what) for each place a Jinja SQL file pastes quotes around a value."""
    found: list[tuple[int, str]] = []

    def line(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    sql_text_parity = 0
    for segment in _SEGMENT.finditer(text):
        code = segment.group(0)
        if code.startswith("{#"):
            continue
        code = _blank_calls(code, _MESSAGE_CALLS)
        for m in _HAND_REPLACE.finditer(code):
            found.append((line(segment.start() + m.start()), "quotes replaced by hand: use sql_string"))
        bare = _blank_calls(code, _HELPER_CALLS)
        for m in _STRING.finditer(bare):
            before, after = bare[:m.start()].rstrip(), bare[m.end():].lstrip()
            if (before.endswith("~") or after.startswith("~")) and _odd_quotes(m.group(0)):
                found.append((line(segment.start() + m.start()),
                              f"a SQL quote pasted next to a value: {m.group(0)} (use sql_string/quote_identifier)"))
        for m in re.finditer(_CONTRACT_NAME, bare):
            before, after = bare[:m.start()].rstrip(), bare[m.end():].lstrip()
            emitted = code.startswith("{{") and before == "{{" and after.startswith("}}")
            # next to a string across ~: spliced into SQL text (other uses are labels, keys, logs)
            if emitted or re.search(r"""["']\s*~$""", before) or re.match(r"""~\s*["']""", after):
                found.append((line(segment.start() + m.start()),
                              f"an input column name spliced unquoted: {m.group(0)} (use quote_identifier)"))
    # a SQL literal left open around a {{ }}: count the quotes of the SQL text between blocks
    pos = 0
    for segment in _SEGMENT.finditer(text):
        sql = re.sub(r"--[^\n]*", "", text[pos:segment.start()])
        sql_text_parity = (sql_text_parity + sql.count("'")) % 2
        if segment.group(0).startswith("{{") and sql_text_parity:
            found.append((line(segment.start()), "a {{ }} inside a SQL string literal (use sql_string)"))
        pos = segment.end()
    return found


# --------------------------------------------------------------------------- Python
#: SQL in an f-string: a keyword of a statement or clause, or a reader function.
_SQL_WORDS = re.compile(r"\b(?:select|where|copy|attach)\b|\b(?:insert\s+into|delete\s+from|union\s+all)\b"
                        r"|\bupdate\s+\S+\s+set\b|\bset\s+\w+\s*=|\bvalues\s*\(|\bread_(?:csv|parquet|json)\w*\(", re.I)


def _inside_raise(tree: ast.AST) -> set[int]:
    """ids of the nodes inside `raise ...` statements (their f-strings are messages)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            inside.update(id(n) for n in ast.walk(node))
    return inside


def python_problems(text: str) -> list[tuple[int, str]]:
    """(line, what) for each place Python code pastes quotes around a value in SQL."""
    tree = ast.parse(text)
    messages = _inside_raise(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "replace"
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in (*QUOTES, "\\")):
            found.append((node.lineno, "quotes replaced by hand: use custseg.sql"))
        elif isinstance(node, ast.JoinedStr) and id(node) not in messages:
            parts = node.values
            constant = "".join(p.value for p in parts if isinstance(p, ast.Constant))
            for i, part in enumerate(parts):
                if not isinstance(part, ast.FormattedValue):
                    continue
                left = parts[i - 1].value if i and isinstance(parts[i - 1], ast.Constant) else ""
                right = parts[i + 1].value if i + 1 < len(parts) and isinstance(parts[i + 1], ast.Constant) else ""
                quoted = left[-1:] in tuple(QUOTES) or right[:1] in tuple(QUOTES)
                as_name = left[-1:] in ('"', "`") and right[:1] == left[-1:]   # "{x}": a quoted SQL name
                bare = quoted and not constant.strip(QUOTES)                    # f"'{x}'": nothing but a literal
                if as_name or bare or (quoted and _SQL_WORDS.search(constant)):
                    found.append((node.lineno, "an f-string puts quotes around a value in SQL: use custseg.sql"))
                    break
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            for side, other, edge in ((node.left, node.right, -1), (node.right, node.left, 0)):
                if (isinstance(side, ast.Constant) and isinstance(side.value, str) and side.value
                        and side.value[edge] in QUOTES and not isinstance(other, ast.Constant)):
                    found.append((node.lineno, "quotes concatenated around a value: use custseg.sql"))
                    break
    return sorted(set(found))


#: (file, text of the line): not SQL, though shaped like it.
ALLOWED = {
    # JSON object keys of the report's inline script (the fixed figure names)
    ("src/custseg/report.py", "charts.spec_json(v)"),
}


def _files() -> list[Path]:
    jinja = [p for d in ("macros", "models", "tests") for p in sorted((ROOT / d).rglob("*.sql"))]
    python = sorted((ROOT / "src" / "custseg").rglob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))
    return [p for p in jinja + python if p not in (JINJA_HELPERS, PYTHON_HELPERS)]


def test_sql_is_quoted_only_by_the_helpers():
    problems = []
    for path in _files():
        check = python_problems if path.suffix == ".py" else jinja_problems
        text = path.read_text(encoding="utf-8")
        lines, name = text.split("\n"), str(path.relative_to(ROOT))
        problems += [f"{name}:{n}: {what}" for n, what in check(text)
                     if not any(name == f and snippet in lines[n - 1] for f, snippet in ALLOWED)]
    assert not problems, "SQL built without the quoting helpers:\n" + "\n".join(problems)


@pytest.mark.parametrize("source", [
    # the bug of issue 24: a header pasted into the literal of a reject detail
    """{% do details.append("case when " ~ condition ~ " then '" ~ column ~ "=' || " ~ value ~ " end") %}""",
    """{%- do details.append("case when x then '" ~ c.input_column | replace("'", "''") ~ " is missing' end") %}""",
    """select '{{ algorithm }}' as algorithm""",
    """select {{ c.name }} from t""",
    """{% set flags = "case when kept." ~ c.name ~ " is null then 1 end" %}""",
    """{{ return("parquet.`" ~ folder ~ "`") }}""",
])
def test_the_lint_catches_pasted_quotes_in_jinja(source):
    assert jinja_problems(source)


@pytest.mark.parametrize("source", [
    """{{ sql_string(c.input_column ~ "='") }} || {{ quote_identifier(c.name ~ '__text') }}""",
    """{% do codes.append("case when " ~ condition ~ " then " ~ sql_string(code) ~ " end") %}""",
    """{{ exceptions.raise_compiler_error("Invalid var '" ~ name ~ "': got a list") }}""",
    """select 'it''s' as a, {{ quote_identifier(a.name ~ '__' ~ b.name) }} as pair -- don't count this""",
])
def test_the_lint_lets_quoted_sql_and_messages_pass(source):
    assert not jinja_problems(source)


@pytest.mark.parametrize("source", [
    """con.execute(f"select * from segment_migrations where to_run_id = '{run_id}'")""",
    """con.sql(f"copy ({sql}) to '{path}' (format parquet)")""",
    """columns = ", ".join(f'f."{c}"' for c in names)""",
    """order = ", ".join(f"'{a}'" for a in ALGORITHM_LABELS)""",
    """text = "'" + value.replace("'", "''") + "'\"""",
])
def test_the_lint_catches_pasted_quotes_in_python(source):
    assert python_problems(source)


def test_the_lint_lets_messages_and_helpers_pass():
    source = """
raise InputError(f"duplicate column '{name}' in '{path}'; select another")
con.execute(f"select * from t where run_id = {sql_literal(run_id)}")
label = f"named '{word}', values within 0..1"
"""
    assert not python_problems(source)


# --------------------------------------------------------------------------- the helpers
HOSTILE = ["plain", "it's", 'say "hi"', "back\\slash\\", "a`b", "v' || (select 'INJECTED' || version()) || '",
           "{{ var('x') }}", "{% if true %}{% endif %}", "Größe € 数量 \u05e9\u05dc\u05d5\u05dd 💰",
           "  padded  ", "x" * 250, "line\nbreak\ttab", "--", "/* c */", ""]


@pytest.mark.parametrize("text", HOSTILE + ["nul\x00inside"])
def test_duckdb_reads_back_every_literal_and_name_as_written(text):
    with duckdb.connect() as con:
        assert con.sql(f"select {sql_literal(text)}").fetchall() == [(text,)]
        if "\x00" not in text and text:
            name = quote_identifier(text)
            rows = con.sql(f"select {name} from (select 1 as {name})").fetchall()
            assert rows == [(1,)] and con.sql(f"select 1 as {name}").columns == [text]


def test_literals_of_other_values():
    assert [sql_literal(v) for v in (None, True, False, 3, 2.5)] == ["null", "true", "false", "3",
                                                                    "2.50000000000000000e+00"]
    with duckdb.connect() as con:   # a double, every digit kept
        assert con.sql(f"select {sql_literal(0.1 + 0.2)}").fetchall() == [(0.1 + 0.2,)]
    with pytest.raises(ValueError, match="no SQL literal"):
        sql_literal(float("nan"))
    with pytest.raises(ValueError, match="NUL"):
        quote_identifier("a\x00b")
    with pytest.raises(ValueError, match="dialect"):
        sql_literal("x", dialect="oracle")


def _spark_string(literal: str) -> str:
    """The text Spark's parser reads from a string literal (its unescaping rules: a backslash
    escapes the next character, \\n \\t \\r \\b \\0 \\Z name control characters, \\uXXXX a
    code point; a quote ends the literal unless escaped)."""
    assert literal[0] == literal[-1] == "'", literal
    out, i, body = [], 0, literal[1:-1]
    named = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "0": "\x00", "Z": "\x1a"}
    while i < len(body):
        ch = body[i]
        assert ch != "'", f"an unescaped quote ends the literal early: {literal}"
        if ch == "\\":
            nxt = body[i + 1]
            if nxt == "u":
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(named.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@pytest.mark.parametrize("text", HOSTILE + ["\\n is not a newline", "\\u0041 is not A", "ends in \\", "\\'"])
def test_spark_literals_keep_backslashes_and_quotes(text):
    literal = sql_literal(text, dialect="spark")
    assert _spark_string(literal) == text
    assert quote_identifier(text or "x", dialect="spark").count("`") % 2 == 0


def test_spark_names_are_backticked():
    assert quote_identifier("a`b", "spark") == "`a``b`"
    assert sql_literal("it's \\ here", "spark") == "'it\\'s \\\\ here'"
