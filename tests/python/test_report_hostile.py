"""The report shows the data's text as text: customer ids, header names, category values and a
file name made of markup and script end tags build, reach the page escaped for each place
they land (HTML, Plotly labels, the inline JSON of the figures), run nothing in a real
browser, and the page's own charts still draw."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from custseg.escaping import html_text, plotly_text, script_json
from custseg.report import build_report

from conftest import PROJECT_DIR, assert_ok, run_dbt
from test_report import CHROMIUM_FLAGS, chromium

#: each payload, if it ran, would set window.pwned (or the title, or open a dialog)
END_SCRIPT = "</script><img src=x onerror=window.pwned=1>"
ATTRIBUTE = '"><svg onload=window.pwned=2>'
TITLE = "<img src=x onerror=document.title=3>"
HEADER = "</script><img src=x onerror=window.pwned=4> trx"
HEADER_QUOTE = '"><svg onload=window.pwned=5> visits'
FILE_NAME = '"><svg onload=window.pwned=6>.csv'
MARKUP_ID = "<b>bold</b> & co"


def test_script_json_cannot_end_the_script_block_and_parses_to_the_same_value():
    value = {"text": [END_SCRIPT, ATTRIBUTE, "a & b", "<!--", "line\u2028sep\u2029"], "n": 1.5}
    encoded = script_json(value)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in encoded
    assert json.loads(encoded) == value


def test_html_and_plotly_escaping():
    assert html_text(ATTRIBUTE) == "&quot;&gt;&lt;svg onload=window.pwned=2&gt;"
    assert html_text("it's & <b>") == "it&#x27;s &amp; &lt;b&gt;"
    assert plotly_text(MARKUP_ID) == "&lt;b&gt;bold&lt;/b&gt; &amp; co"
    assert plotly_text('say "hi"') == 'say "hi"'  # Plotly decodes no &quot;: quotes stay as they are


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile_report")
    base = pd.read_csv(PROJECT_DIR / "seeds" / "custseg_sample_customers.csv", dtype=str, keep_default_na=False)
    frame = base.iloc[::4].reset_index(drop=True)
    frame.loc[:3, "CUST_ID"] = [END_SCRIPT, ATTRIBUTE, TITLE, MARKUP_ID]
    frame = frame.rename(columns={"PURCHASES_TRX": HEADER, "TENURE": HEADER_QUOTE})
    plans = ["basic", "gold", ATTRIBUTE, END_SCRIPT]
    frame["plan"] = [plans[i % len(plans)] for i in range(len(frame))]
    path = work / FILE_NAME
    frame.to_csv(path, index=False)
    run = run_dbt(["build"], work, vars={"customers_path": str(path), "categorical_columns": ["plan"],
                                         "stability_resamples": 0, "k_max": 6})
    assert_ok(run)
    assert run.scalar(f"select count(*) from customer_features where customer_id in "
                      f"({', '.join(repr(i) for i in (END_SCRIPT, ATTRIBUTE, TITLE, MARKUP_ID))})") == 4
    assert run.scalar("select count(distinct plan) from customer_features") == 4
    return build_report(work / "test.serving.duckdb", work / "report")


def test_the_page_holds_the_data_as_text_only(hostile_report):
    page = hostile_report.read_text(encoding="utf-8")
    for payload in (END_SCRIPT, ATTRIBUTE, TITLE, HEADER, HEADER_QUOTE, FILE_NAME):
        assert payload not in page, payload
    assert page.count("</script>") == 2  # plotly.js and the figures; none of the data's
    assert html_text(HEADER) in page and html_text(FILE_NAME) in page


def test_no_script_of_the_data_runs_in_chromium_and_the_charts_draw(hostile_report):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(hostile_report.as_uri())
        page.wait_for_function("window.reportReady === true", timeout=30_000)
        page.wait_for_timeout(500)  # any image error or load handler of the data's would have fired
        seen = page.evaluate("""() => ({
            pwned: window.pwned === undefined ? null : window.pwned,
            title: document.title,
            injected: document.querySelectorAll('img, [onerror], [onload]').length
                + [...document.querySelectorAll('svg')]
                    .filter(s => !s.closest('.figure, .plot, #js-plotly-tester')).length,
            header: document.querySelector('header').textContent,
            columns: [...document.querySelectorAll('table.columns td:first-child')].map(td => td.textContent),
            labels: [...document.querySelectorAll('.figure svg text')].map(t => t.textContent),
            figures: [...document.querySelectorAll('.figure > svg')].map(s => s.querySelectorAll('path, text').length),
            plots: Object.fromEntries([...document.querySelectorAll('.plot')].map(el => [el.id,
                [...el.querySelectorAll('canvas')].filter(c => c.width > 0).length])),
            ids: document.getElementById('pca2d_kmeans')._fullData.flatMap(t => t.text),
        })""")
        # hover the point of the id that would end the script block: its label is the id, as text
        where = page.evaluate("""(id) => {
            const el = document.getElementById('pca2d_kmeans');
            el.scrollIntoView({block: 'center'});
            const fl = el._fullLayout, box = el.getBoundingClientRect();
            const trace = el._fullData.find(d => d.text.includes(id)), i = trace.text.indexOf(id);
            return {x: box.left + fl.xaxis._offset + fl.xaxis.l2p(trace.x[i]),
                    y: box.top + fl.yaxis._offset + fl.yaxis.l2p(trace.y[i])};
        }""", plotly_text(END_SCRIPT))
        page.mouse.move(where["x"], where["y"])
        page.wait_for_function("document.querySelector('#pca2d_kmeans .hoverlayer') && "
                               "document.querySelector('#pca2d_kmeans .hoverlayer').textContent.length > 0",
                               timeout=5_000)
        hover = page.evaluate("document.querySelector('#pca2d_kmeans .hoverlayer').textContent")
        browser.close()

    assert seen["pwned"] is None and dialogs == []
    assert seen["title"] == "Customer segmentation report"
    assert seen["injected"] == 0
    assert errors == [], errors
    assert FILE_NAME in seen["header"]
    assert HEADER in seen["columns"] and HEADER_QUOTE in seen["columns"]
    assert HEADER in seen["labels"] and HEADER_QUOTE in seen["labels"]  # the headers, as the charts' labels
    assert f"customer {END_SCRIPT}" in hover, hover
    assert {plotly_text(i) for i in (END_SCRIPT, ATTRIBUTE, TITLE, MARKUP_ID)} <= set(seen["ids"])
    assert len(seen["figures"]) >= 14 and all(n > 10 for n in seen["figures"]), seen["figures"]
    assert set(seen["plots"]) == {"pca3d", "pca2d_kmeans", "pca2d_hierarchical", "pca2d_som", "pca2d_density",
                                  "pca2d_gmm"}
    assert all(n >= 1 for n in seen["plots"].values()), seen["plots"]
