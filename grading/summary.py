"""A class summary of graded submissions: what a TA reads first.

    from derivcheck.grading.summary import summarize, to_html
    summ = summarize(json.load(open("grades.json")))   # the list 'derivcheck grade --format json' writes

Per question: the mean score (over every submission, unanswered counting 0),
how many got it right, partly right, wrong, unreadable, left for a person or
unanswered, and the most common wrong answers **grouped by equivalence
class**: two wrong expressions that take the same values on every random
instance of the question's notation (``F_1 W_p`` and ``W_p^\\top F_1``
where they agree) are one misconception, shown with how many students gave
it and up to three of the ways they wrote it.  Labels, label sets and
mappings are grouped by their normalised value.  The summary compares
student answers with one another only; it never shows the key.
"""
from __future__ import annotations

import html
import json
import statistics
import time
from typing import Optional

from .results import CORRECT, INCORRECT, NEEDS_HUMAN, PARTIAL, TIMEOUT, UNANSWERED, UNPARSEABLE

MAX_DISTINCT = 200  # distinct wrong answers per question compared by value (the rest grouped by text)
TOP = 5
EXPRESSION_KINDS = ("expression", "matrix", "point")


def _norm_text(answer) -> str:
    if isinstance(answer, str):
        return " ".join(answer.split())
    return json.dumps(answer, sort_keys=True, default=str)


def _label_class(kind: str, answer) -> Optional[str]:
    from .answers import _as_label_list, _label

    if kind == "choice":
        return _label(answer)
    if kind == "choices":
        labels = _as_label_list(answer)
        return ", ".join(sorted(set(labels))) if labels is not None else None
    if kind == "mapping" and isinstance(answer, dict):
        return ", ".join(f"{_label(k)}: {_label(v)}" for k, v in sorted(answer.items(), key=lambda kv: str(kv[0])))
    return None


def _group(qid: str, kind: str, answers: list, budget_s: float = 5.0) -> list:
    """[(count, [texts])] of wrong answers grouped by equivalence, most common first."""
    by_text: dict = {}
    for a in answers:
        by_text.setdefault(_norm_text(a), []).append(a)
    classes: list = []  # [key or expr, count, [texts]]
    try:
        from .questions import question

        q = question(qid)
    except KeyError:
        q = None
    deadline = time.perf_counter() + budget_s
    distinct = sorted(by_text.items(), key=lambda kv: -len(kv[1]))
    for n, (text, same) in enumerate(distinct):
        rep = None
        if q is not None and n < MAX_DISTINCT and time.perf_counter() < deadline:
            if kind in EXPRESSION_KINDS or (kind == "set" and not q.spec.labels):
                from .answers import reading_of

                rep = reading_of(q, same[0])
            elif kind == "set":
                from .keys import normalize_label

                items = same[0] if isinstance(same[0], list) else str(same[0]).replace(",", " ").split()
                rep = ", ".join(sorted({normalize_label(x) for x in items}))
            else:
                rep = _label_class(kind, same[0])
        placed = False
        if rep is not None:
            for c in classes:
                if c[0] is None:
                    continue
                if isinstance(rep, str) or isinstance(c[0], str):
                    match = rep == c[0]
                else:
                    from .answers import same_value

                    try:
                        match = same_value(q, rep, c[0], deadline=deadline)
                    except Exception:  # noqa: BLE001  (a comparison that fails groups nothing)
                        match = False
                if match:
                    c[1] += len(same)
                    c[2].append(text)
                    placed = True
                    break
        if not placed:
            classes.append([rep, len(same), [text]])
    classes.sort(key=lambda c: -c[1])
    return [(c[1], c[2]) for c in classes]


def summarize(reports: list) -> dict:
    """The class summary of report dicts (as written by ``derivcheck grade --format json``)."""
    per_q: dict = {}
    totals, maxima, unreadable = [], [], 0
    for rep in reports:
        if rep.get("error"):
            unreadable += 1
        totals.append(float(rep.get("score", 0)))
        maxima.append(float(rep.get("max_score", 0)))
        for r in rep.get("results", []):
            d = per_q.setdefault(r["question"], {"scores": [], "max": float(r.get("max_score", 0)),
                                                 "verdicts": {}, "wrong": []})
            d["scores"].append(float(r.get("score", 0)))
            d["max"] = max(d["max"], float(r.get("max_score", 0)))
            d["verdicts"][r["verdict"]] = d["verdicts"].get(r["verdict"], 0) + 1
            if r["verdict"] in (INCORRECT, PARTIAL) and r.get("answer") is not None:
                d["wrong"].append(r["answer"])
    from .questions import questions

    qs = questions()
    out_q = []
    n = len(reports)
    for qid, d in per_q.items():
        kind = qs[qid].kind if qid in qs else "unknown"
        scores = d["scores"] + [0.0] * (n - len(d["scores"]))
        v = d["verdicts"]
        groups = _group(qid, kind, d["wrong"]) if d["wrong"] else []
        out_q.append({
            "question": qid, "kind": kind, "points": d["max"],
            "mean_score": round(statistics.fmean(scores), 4) if scores else 0.0,
            "mean_fraction": round(statistics.fmean(scores) / d["max"], 4) if scores and d["max"] else None,
            "answered": n - v.get(UNANSWERED, 0) - (n - len(d["scores"])),
            "correct": v.get(CORRECT, 0), "partial": v.get(PARTIAL, 0), "incorrect": v.get(INCORRECT, 0),
            "unparseable": v.get(UNPARSEABLE, 0), "timeout": v.get(TIMEOUT, 0),
            "needs_human": v.get(NEEDS_HUMAN, 0), "unanswered": v.get(UNANSWERED, 0) + (n - len(d["scores"])),
            "common_wrong": [{"students": c, "written_as": texts[:3], "variants": len(texts)}
                             for c, texts in groups[:TOP]],
        })
    order = {qid: i for i, qid in enumerate(qs)}
    out_q.sort(key=lambda x: order.get(x["question"], len(order)))
    return {
        "submissions": n, "unreadable": unreadable,
        "score": {"mean": round(statistics.fmean(totals), 4) if totals else 0.0,
                  "median": round(statistics.median(totals), 4) if totals else 0.0,
                  "max_score": max(maxima) if maxima else 0.0},
        "questions": out_q,
    }


_CSS = ("body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
        "table{border-collapse:collapse;width:100%}th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;"
        "vertical-align:top;font-size:.92em}th{background:#f4f4f4}code{white-space:pre-wrap;word-break:break-word}"
        ".bar{background:#cfe3d4;height:.8em;display:inline-block}")


def to_html(summ: dict) -> str:
    """The summary as one self-contained page (every student string escaped)."""
    e = html.escape
    s = summ["score"]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>derivcheck class summary</title>"
             f"<style>{_CSS}</style></head><body><h1>Class summary</h1>",
             f"<p>{summ['submissions']} submissions ({summ['unreadable']} could not be read); mean score "
             f"{s['mean']:g}, median {s['median']:g} of {s['max_score']:g}.</p>",
             "<table><tr><th>question</th><th>mean</th><th>right</th><th>partial</th><th>wrong</th>"
             "<th>unreadable</th><th>by a person</th><th>unanswered</th><th>most common wrong answers</th></tr>"]
    for q in summ["questions"]:
        frac = q["mean_fraction"] or 0.0
        wrong = "".join(f"<div>{c['students']} &times; <code>{e(str(c['written_as'][0]))}</code>"
                        + (f" <small>(also written {c['variants'] - 1} other way(s))</small>" if c["variants"] > 1
                           else "") + "</div>" for c in q["common_wrong"])
        parts.append(f"<tr><td><code>{e(q['question'])}</code><br><small>{e(q['kind'])}, {q['points']:g} pt</small>"
                     f"</td><td>{q['mean_score']:g}<br><span class='bar' style='width:{frac * 4:.2f}em'></span></td>"
                     f"<td>{q['correct']}</td><td>{q['partial']}</td><td>{q['incorrect']}</td>"
                     f"<td>{q['unparseable'] + q['timeout']}</td><td>{q['needs_human']}</td><td>{q['unanswered']}</td>"
                     f"<td>{wrong}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)
