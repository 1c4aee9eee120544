"""Escaping for the report page: one helper per context a value from the data can reach.

Customer ids, header names (and the labels and segment names made from them), category
values, file names and settings are untrusted text. The page puts them in three places:

* HTML text and quoted attribute values: `html_text`;
* Plotly labels (trace names, hover text, titles), which Plotly reads as a small subset of
  HTML and whose entities it decodes: `plotly_text`;
* JSON inside an inline <script>: `script_json` (no `<`, `>` or `&` can end the block or
  open a comment, and U+2028/U+2029 are escaped as well).
"""

from __future__ import annotations

import html
import json

_SCRIPT_JSON = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_JSON_TABLE = str.maketrans(_SCRIPT_JSON)


def html_text(value) -> str:
    """`value` as HTML text, safe in element content and in quoted attribute values."""
    return html.escape(str(value), quote=True)


def plotly_text(value) -> str:
    """`value` as a Plotly label shown literally: Plotly turns &amp;, &lt; and &gt; back into
    characters, and shows no tag of the data's (it decodes no &quot;, so quotes stay)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def script_json(value) -> str:
    """`value` as JSON to embed in an inline <script> (outside strings JSON has none of the
    escaped characters, so the text stays valid JSON and parses to the same value)."""
    return json.dumps(value, separators=(",", ":")).translate(_SCRIPT_JSON_TABLE)
