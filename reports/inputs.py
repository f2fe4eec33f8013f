"""What the report shows besides the results document, gathered defensively.

    answer_set_gradings() -> Gradings    how each answer set was graded (grading engineer's module)
    question_keys(qids) -> dict          which claim is the grader's key for each question

Both only read what other layers produce; a missing or failing producer makes the report say that
part is not available, never fail.  Neither decides a verdict.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Gradings:
    available: bool
    sets: list = field(default_factory=list)  # [{"name", "source", "assignment", "results": [...]}]
    reason: str = ""


def answer_set_gradings() -> Gradings:
    """``derivcheck.grading.answer_sets.gradings()``, or why it is not available."""
    try:
        from derivcheck.grading import answer_sets  # type: ignore[attr-defined]
    except ImportError:
        return Gradings(False, reason="answer-set grading is not available in this version of derivcheck")
    try:
        sets = list(answer_sets.gradings())
    except Exception as exc:  # a producer's failure must not lose the whole report
        return Gradings(False, reason=f"answer-set grading failed: {type(exc).__name__}: {exc}")
    return Gradings(True, sets=normalise_gradings(sets))


def normalise_gradings(sets) -> list:
    """Keep well-formed entries (dicts with a name and a results list); fill missing fields."""
    out = []
    for s in sets or []:
        if not isinstance(s, dict):
            continue
        results = [r for r in (s.get("results") or []) if isinstance(r, dict) and r.get("question")]
        out.append({
            "score": sum(_number(r.get("score")) for r in results),
            "max_score": sum(_number(r.get("max_score")) for r in results),
            "name": str(s.get("name") or s.get("source") or "answer set"),
            "source": str(s.get("source") or ""),
            "assignment": str(s.get("assignment") or ""),
            "results": results,
        })
    return out


def _number(x) -> float:
    try:
        return float(x) if x is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def question_keys(qids) -> dict:
    """``{qid: {"claims": [...], "status": str, "message": str}}`` from the grader's key table
    (without running any check), or ``{}`` when the grader cannot say."""
    try:
        from derivcheck.grading.keys import key_entry
    except Exception:
        return {}
    out = {}
    for qid in qids:
        try:
            e = key_entry(qid, verify=False)
        except Exception as exc:  # e.g. a pinned key claim that cannot be a key: say so on the page
            out[qid] = {"claims": [], "status": "error", "message": f"{type(exc).__name__}: {exc}"}
            continue
        out[qid] = {"claims": list(e.claims), "status": e.status, "message": e.message}
    return out


def grading_results_by_question(sets: list) -> dict:
    """``{qid: [(answer set, result), ...]}`` in the order the sets were given."""
    by_q: dict = {}
    for s in sets:
        for r in s["results"]:
            by_q.setdefault(r["question"], []).append((s, r))
    return by_q


def first_wrong_step(result: dict) -> Optional[str]:
    step = result.get("first_wrong_step")
    if step is None or step == "":
        return None
    return str(step)
