"""Output formats for grading reports: JSON, Gradescope's results.json, CSV, HTML.

Every function takes the audience: ``"student"`` output never holds a key, a
rubric, a model answer or a key value (:mod:`.results`); ``"staff"`` holds
everything.

* :func:`to_json` — always one list of per-submission objects
  ``{"student", "score", "max_score", "results": [...], "warnings": [...]}``
  plus ``"error"`` (message, file, line, column, advice) for a file that could
  not be read, whether one submission or many is given.
* :func:`to_gradescope` — Gradescope's autograder ``results.json`` for one
  submission: top-level ``score``, ``execution_time``, ``output``,
  ``visibility``, ``stdout_visibility`` and one test per question (``name``,
  ``number``, ``score``, ``max_score``, ``status``, ``output`` in Markdown,
  ``tags``, ``visibility`` from the catalogue field ``visibility``:
  visible / hidden / after_due_date / after_published, default visible).
  An item a person grades is an informational test without score or status
  (tag ``needs-human``), so it never shows as "failed"; a submission that
  could not be read is one visible test that says what to fix.  Every
  student-supplied string is Markdown-escaped.
* :func:`to_csv` — one row per submission, one column per question plus the
  total, the maximum and the error, ready for a gradebook import.
* :func:`to_html` — one self-contained page (inline CSS, no scripts, every
  student string escaped) for one or many submissions.
"""
from __future__ import annotations

import csv
import datetime
import html
import io
import json
import re

from .results import CORRECT, NEEDS_HUMAN, PARTIAL, UNANSWERED, GradeReport, check_audience

_VERDICT_CLASS = {
    "correct": "ok", "partial": "partial", "incorrect": "bad", "unparseable": "bad", "timeout": "warn",
    "needs-human": "warn", "unknown-question": "warn", "unanswered": "bad",
}
GRADESCOPE_VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")


def _as_list(reports) -> list:
    return [reports] if isinstance(reports, GradeReport) else list(reports)


# -- JSON ----------------------------------------------------------------------------------
def to_json(reports, audience: str = "staff") -> str:
    """One JSON list of per-submission objects (also for a single submission)."""
    check_audience(audience)
    return json.dumps([r.to_dict(audience) for r in _as_list(reports)], indent=1)


# -- Gradescope ------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&\"'$])")


def md_escape(text) -> str:
    """Text shown literally in Markdown (no emphasis, links, HTML or math from a student's string)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")


def visibility(qid: str) -> str:
    """A test's Gradescope visibility from the catalogue field ``visibility`` (default ``visible``)."""
    from derivcheck import catalogue

    q = catalogue.questions().get(qid)
    v = str((q.spec.get("visibility") if q is not None else None) or "visible")
    return v if v in GRADESCOPE_VISIBILITY else "visible"


def _gs_test(i: int, r, audience: str) -> dict:
    lines = [f"**{md_escape(r.verdict)}**: {md_escape(r.message)}"]
    if r.answer is not None and r.verdict != UNANSWERED:
        shown = r.answer if isinstance(r.answer, str) else json.dumps(r.answer, default=str)
        lines.append(f"your answer: {md_escape(shown[:500])}")
    if r.method:
        lines.append(f"method: {md_escape(r.method)}")
    if audience == "staff" and r.staff:
        lines.append("staff: " + md_escape(json.dumps(r.staff, default=str)[:2000]))
    test = {"name": r.question, "number": str(i), "output_format": "md", "tags": [r.verdict],
            "visibility": visibility(r.question)}
    if r.verdict == NEEDS_HUMAN:
        test["name"] = f"{r.question} (graded by a person)"
        lines.insert(0, f"_This item ({r.max_score:g} points) is graded by a person; it is not part of the "
                        "autograder's score._")
    else:
        test.update(score=r.score, max_score=r.max_score, status="passed" if r.verdict == CORRECT else "failed")
    test["output"] = "\n\n".join(lines)
    return test


def to_gradescope(report: GradeReport, audience: str = "student") -> dict:
    """Gradescope's results.json for one submission."""
    check_audience(audience)
    if report.error is not None:
        err = report.error
        where = ":".join(str(err[k]) for k in ("line", "column") if err.get(k) is not None)
        text = (f"**Your submission could not be read**{' at line ' + md_escape(where) if where else ''}: "
                f"{md_escape(err.get('message', ''))}")
        if err.get("advice"):
            text += f"\n\nWhat to do: {md_escape(err['advice'])}"
        return {"score": 0.0, "execution_time": round(report.elapsed_s, 3), "output": text, "output_format": "md",
                "visibility": "visible", "stdout_visibility": "hidden",
                "tests": [{"name": "reading the submission", "number": "0", "score": 0.0,
                           "max_score": report.max_score, "status": "failed", "output": text,
                           "output_format": "md", "visibility": "visible", "tags": ["unreadable"]}]}
    tests = [_gs_test(i, r, audience) for i, r in enumerate(report.results, 1)]
    counts = report.counts()
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    human = sum(r.max_score for r in report.results if r.verdict == NEEDS_HUMAN)
    out = [f"derivcheck graded {len(report.results)} questions: {summary}."]
    if human:
        out.append(f"{human:g} of the {report.max_score:g} points are graded by a person.")
    for w in report.warnings:
        out.append(f"Warning: {md_escape(w.get('message', ''))}")
    return {
        "score": report.score,
        "execution_time": round(report.elapsed_s, 3),
        "output": "\n\n".join(out),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


# -- CSV -----------------------------------------------------------------------------------------
def _cell(value) -> str:
    """A spreadsheet cannot run a student's name as a formula."""
    s = str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def to_csv(reports) -> str:
    """One row per submission: student, source, one column per question (its score), total, max_score, error."""
    reports = _as_list(reports)
    columns: dict = {}
    for rep in reports:
        for r in rep.results:
            columns.setdefault(r.question, None)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "source", *columns, "total", "max_score", "needs_human", "error"])
    for rep in reports:
        by_q = {r.question: r for r in rep.results}
        human = sum(1 for r in rep.results if r.verdict == NEEDS_HUMAN)
        err = (rep.error or {}).get("text") or (rep.error or {}).get("message", "")
        w.writerow([_cell(rep.student), _cell(rep.source or ""),
                    *[(f"{by_q[q].score:g}" if q in by_q else "") for q in columns],
                    f"{rep.score:g}", f"{rep.max_score:g}", human, _cell(err)])
    return buf.getvalue()


# -- HTML ----------------------------------------------------------------------------------------
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


def _row(r, audience: str) -> str:
    cls = _VERDICT_CLASS.get(r.verdict, "")
    details = r.details or {}
    extra = []
    if r.answer is not None and r.verdict != UNANSWERED:
        shown = r.answer if isinstance(r.answer, str) else json.dumps(r.answer, default=str)
        extra.append(f"<div><small>answer: <code>{html.escape(shown)}</code></small></div>")
    if r.method:
        extra.append(f"<div><small>method: {html.escape(r.method)}</small></div>")
    answer = details.get("reading")
    if answer:
        extra.append(f"<div><small>read as: <code>{html.escape(str(answer))}</code></small></div>")
    if audience == "staff" and r.staff:
        extra.append(f"<div><small>staff: <code>{html.escape(json.dumps(r.staff, default=str))}</code></small></div>")
    return (f"<tr class='{cls}'><td><code>{html.escape(r.question)}</code></td>"
            f"<td class='v'>{html.escape(r.verdict)}</td><td>{r.score:g} / {r.max_score:g}</td>"
            f"<td>{html.escape(r.message)}{''.join(extra)}</td></tr>")


def to_html(reports, audience: str = "staff") -> str:
    check_audience(audience)
    reports = _as_list(reports)
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
        if rep.error:
            parts.append(f"<p class='bad'>could not be read: {html.escape(rep.error.get('text', ''))}</p>")
        for w in rep.warnings:
            parts.append(f"<p class='warn'>warning: {html.escape(w.get('message', ''))}</p>")
        parts.append("<table><tr><th>question</th><th>verdict</th><th>score</th><th>message</th></tr>")
        parts.extend(_row(r, audience) for r in rep.results)
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
