"""One row per question for ``derivcheck list --questions FILE``: kind, points, visibility, and whether
the key is verified (a LaTeX reference that passed its checks, a claim that verifies, or options settled
by verified claims).  Rows never contain a key value."""
from __future__ import annotations

from typing import Optional

from derivcheck import catalogue

from .claimstatus import AnswerKeyError
from .entries import NO_KEY, OK
from .keys import key_entry
from .questions import questions


def question_rows(files: Optional[list] = None) -> list:
    """Rows for the questions written in ``files`` (paths; default: every question)."""
    wanted = {str(f) for f in files} if files is not None else None
    rows = []
    for qid, q in questions().items():
        src = str(q.source.file) if q.source is not None else ""
        if wanted is not None and src not in wanted:
            continue
        row = {"question": qid, "kind": q.kind, "points": q.points, "visibility": q.visibility,
               "source": str(q.source) if q.source is not None else "", "key": "", "verified": None,
               "problems": list(q.errors)}
        if q.errors:
            row["key"] = "record error"
            row["verified"] = False
        else:
            try:
                e = key_entry(qid)
                row["key"] = ("reference" if q.spec.reference is not None else
                              "option claims" if q.spec.option_claims else
                              "by a person" if e.status == NO_KEY else "claim")
                row["verified"] = None if e.status == NO_KEY else e.status == OK
                if e.status not in (OK, NO_KEY):
                    row["problems"] = [e.message] + [
                        f"{s['check']}: {s['detail']}" for s in (e.verification or {}).get("steps", [])
                        if s["verdict"] == "fail"] + list((e.verification or {}).get("problems", []))
            except AnswerKeyError as exc:
                row["key"], row["verified"], row["problems"] = "claim", False, [str(exc)]
        rows.append(row)
    return rows


def print_rows(rows: list, out) -> None:
    if not rows:
        out.write("no questions\n")
        return
    w = max(len(r["question"]) for r in rows)
    out.write(f"{'question':<{w}}  {'kind':<11} {'points':>6}  {'visibility':<15} {'key':<14} verified\n")
    for r in rows:
        v = "yes" if r["verified"] else "n/a" if r["verified"] is None else "NO"
        out.write(f"{r['question']:<{w}}  {r['kind']:<11} {r['points']:>6g}  {r['visibility']:<15} "
                  f"{r['key']:<14} {v}\n")
        for p in r["problems"]:
            out.write(f"    {p}\n")
    bad = sum(1 for r in rows if r["verified"] is False)
    out.write(f"\n{len(rows)} questions, {sum(r['points'] for r in rows):g} points; "
              f"{bad} with a key that is not verified" + "\n")


def problems() -> list:
    return catalogue.problems()
