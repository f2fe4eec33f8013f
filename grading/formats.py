"""Output formats for grading reports: JSON, Gradescope's results.json, HTML.

* :func:`to_json` — the documented object
  ``{"student", "score", "max_score", "results": [{"question", "verdict", "score",
  "max_score", "first_wrong_step", "message", ...}]}``; a list of them for several submissions.
* :func:`to_gradescope` — Gradescope's autograder ``results.json``: top-level
  ``score``, ``execution_time``, ``output``, ``visibility``, ``stdout_visibility``
  and one test per question (``name``, ``number``, ``score``, ``max_score``,
  ``status`` passed/failed, ``output`` in Markdown, ``output_format``, ``tags``,
  ``visibility``).  Gradescope sanitizes HTML, so messages are plain Markdown.
  Items that a person must grade are reported with score 0 and the tag
  ``needs-human`` so they can be found and overridden by hand.
* :func:`to_html` — one self-contained page (inline CSS, no scripts, every
  student string escaped) for one or many submissions.
"""
from __future__ import annotations

import datetime
import html
import json

from .results import CORRECT, NEEDS_HUMAN, PARTIAL, GradeReport

_VERDICT_CLASS = {
    "correct": "ok", "partial": "partial", "incorrect": "bad", "unparseable": "bad", "timeout": "warn",
    "needs-human": "warn", "unknown-question": "warn",
}


def to_json(reports) -> str:
    if isinstance(reports, GradeReport):
        return json.dumps(reports.to_dict(), indent=1)
    return json.dumps([r.to_dict() for r in reports], indent=1)


def to_gradescope(report: GradeReport) -> dict:
    tests = []
    for i, r in enumerate(report.results, 1):
        lines = [f"**{r.verdict}**: {r.message}"]
        if r.method:
            lines.append(f"method: {r.method}")
        if r.verdict == NEEDS_HUMAN:
            lines.append("_This item is graded by hand._")
        tests.append({
            "name": r.question,
            "number": str(i),
            "score": r.score,
            "max_score": r.max_score,
            "status": "passed" if r.verdict == CORRECT else "failed",
            "output": "\n\n".join(lines),
            "output_format": "md",
            "tags": [r.verdict],
            "visibility": "visible",
        })
    counts = report.counts()
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return {
        "score": report.score,
        "execution_time": round(report.elapsed_s, 3),
        "output": f"derivcheck graded {len(report.results)} answers: {summary}.",
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.35em .5em;vertical-align:top;text-align:left;font-size:.92em}
th{background:#f4f4f4}
td.v{font-weight:600;white-space:nowrap}
.ok{background:#e6f4ea}.bad{background:#fce8e6}.warn{background:#fff4d6}.partial{background:#eef3fd}
code{white-space:pre-wrap;word-break:break-word;font-size:.9em}
.sum{font-size:1.05em}
"""


def _row(r) -> str:
    cls = _VERDICT_CLASS.get(r.verdict, "")
    details = r.details or {}
    extra = []
    if r.method:
        extra.append(f"<div><small>method: {html.escape(r.method)}</small></div>")
    answer = details.get("reading")
    if answer:
        extra.append(f"<div><small>read as: <code>{html.escape(str(answer))}</code></small></div>")
    return (f"<tr class='{cls}'><td><code>{html.escape(r.question)}</code></td>"
            f"<td class='v'>{html.escape(r.verdict)}</td><td>{r.score:g} / {r.max_score:g}</td>"
            f"<td>{html.escape(r.message)}{''.join(extra)}</td></tr>")


def to_html(reports) -> str:
    if isinstance(reports, GradeReport):
        reports = [reports]
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>derivcheck grading report</title><style>{_CSS}</style></head><body>",
             f"<h1>derivcheck grading report</h1><p>{len(reports)} submission(s); generated {now}.</p>"]
    if len(reports) > 1:
        parts.append("<table><tr><th>student</th><th>score</th><th>correct</th><th>partial</th>"
                     "<th>to grade by hand</th><th>other</th></tr>")
        for rep in reports:
            c = rep.counts()
            other = sum(c.values()) - c[CORRECT] - c[PARTIAL] - c[NEEDS_HUMAN]
            parts.append(f"<tr><td>{html.escape(rep.student)}</td><td>{rep.score:g} / {rep.max_score:g}</td>"
                         f"<td>{c[CORRECT]}</td><td>{c[PARTIAL]}</td><td>{c[NEEDS_HUMAN]}</td><td>{other}</td></tr>")
        parts.append("</table>")
    for rep in reports:
        parts.append(f"<h2>{html.escape(rep.student)}</h2>"
                     f"<p class='sum'>score <b>{rep.score:g}</b> of {rep.max_score:g}</p>")
        parts.append("<table><tr><th>question</th><th>verdict</th><th>score</th><th>message</th></tr>")
        parts.extend(_row(r) for r in rep.results)
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
