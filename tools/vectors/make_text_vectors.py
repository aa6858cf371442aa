#!/usr/bin/python3
"""Reference vectors for src/model/text/: Python's html.unescape on tricky inputs.

Writes tests/data/text/html_unescape.json. Rerun from the project root:
    /usr/bin/python3 tools/vectors/make_text_vectors.py
"""
import html
import json

inputs = [
    "no references",
    "&quot;quoted&quot;",
    "fish &amp; chips",
    "&amp;amp;amp;",
    "&lt;b&gt;bold&lt;/b&gt;",
    "&ampx &amp &notit; &notin; &not",
    "&#65;&#x42;&#X43;&#0068 &#x45",
    "&#0; &#13; &#128; &#x9F; &#150;",
    "&#xD800; &#x110000; &#99999999999999999999;",
    "&#1; &#x7F; &#xFDD0; &#xFFFE; &#x1FFFF; &#11;",
    "&#x1F600; &#128512;",
    "&unknown; &; &# &#x; & alone",
    "&Aacute; &aacute &AElig &eacute;t&eacute;",
    "&NotNestedGreaterGreater; &nGt; &fjlig;",
    "&" + "a" * 40 + ";",
    "caf&eacute; na&iuml;ve &mdash; &hellip; &nbsp;x",
    "tab&\tx &\nx &<x &&amp;",
    "&AMP;&LT &GT;&QUOT",
]
cases = [{"input": s, "once": html.unescape(s), "twice": html.unescape(html.unescape(s))} for s in inputs]
with open("tests/data/text/html_unescape.json", "w") as f:
    json.dump({"generator": "tools/vectors/make_text_vectors.py", "cases": cases}, f, ensure_ascii=True, indent=1)
print(len(cases), "cases")
