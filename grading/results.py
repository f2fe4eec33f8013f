"""What grading returns: the verdicts, one answer's :class:`Result`, one submission's :class:`GradeReport`.

Audiences.  A result's ``message`` and ``details`` are written for the
student: they may show the student's own values and what is wrong, never the
key, a rubric, a model answer or a key value.  Whatever reveals the key goes
into ``staff`` (a dict), which :meth:`Result.to_dict` includes only for
``audience="staff"``.  Every grader (:mod:`.kinds`) keeps to this rule.

Totals.  A submission's maximum is fixed by the catalogue: every question of
the assignment(s) it answers counts, and a question left unanswered is a
``unanswered`` result worth 0 of its points (:func:`complete`).  So two
students of the same assignment always have the same ``max_score``, and an
empty submission of an assignment scores 0 of that assignment's total.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

from derivcheck.model import _jsonable

CORRECT = "correct"
INCORRECT = "incorrect"
PARTIAL = "partial"
UNPARSEABLE = "unparseable"
NEEDS_HUMAN = "needs-human"
UNKNOWN_QUESTION = "unknown-question"
TIMEOUT = "timeout"
UNANSWERED = "unanswered"
VERDICTS = (CORRECT, INCORRECT, PARTIAL, UNPARSEABLE, NEEDS_HUMAN, UNKNOWN_QUESTION, TIMEOUT, UNANSWERED)

AUDIENCES = ("student", "staff")

#: longest student answer echoed back in a result (the full text stays in the student's file)
ANSWER_ECHO_CHARS = 2000


def check_audience(audience: str) -> str:
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}, not {audience!r}")
    return audience


def _echo(answer):
    """The student's own answer as it is shown back (long text cut, containers kept small)."""
    if answer is None or isinstance(answer, (bool, int, float)):
        return answer
    if isinstance(answer, str):
        return answer if len(answer) <= ANSWER_ECHO_CHARS else answer[:ANSWER_ECHO_CHARS] + " [...]"
    data = _jsonable(answer)
    text = json.dumps(data, default=str)
    return data if len(text) <= ANSWER_ECHO_CHARS else text[:ANSWER_ECHO_CHARS] + " [...]"


@dataclass
class Result:
    """The grade of one answer."""

    question: str
    verdict: str
    score: float
    max_score: float
    message: str
    first_wrong_step: Optional[int] = None
    method: str = ""
    details: dict = field(default_factory=dict)
    elapsed_s: float = 0.0
    staff: dict = field(default_factory=dict)  # key, rubric, key values: shown to staff only
    answer: object = None  # the student's own answer (shown to both audiences)

    @property
    def ok(self) -> bool:
        return self.verdict == CORRECT

    def to_dict(self, audience: str = "staff") -> dict:
        check_audience(audience)
        out = {
            "question": self.question, "verdict": self.verdict, "score": self.score,
            "max_score": self.max_score, "first_wrong_step": self.first_wrong_step,
            "message": self.message, "method": self.method, "details": self.details,
            "elapsed_s": round(self.elapsed_s, 4),
        }
        if self.answer is not None:
            out["answer"] = _echo(self.answer)
        if audience == "staff" and self.staff:
            out["staff"] = self.staff
        return _jsonable(out)

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        """A result read back from :meth:`to_dict` (a resumed batch, ``derivcheck summary``)."""
        return cls(str(d["question"]), str(d["verdict"]), float(d.get("score", 0.0)), float(d.get("max_score", 0.0)),
                   str(d.get("message", "")), d.get("first_wrong_step"), str(d.get("method", "")),
                   dict(d.get("details") or {}), float(d.get("elapsed_s", 0.0)), dict(d.get("staff") or {}),
                   d.get("answer"))


def unanswered(qid: str, points: float) -> Result:
    """A catalogue question the submission does not answer: 0 of its points."""
    return Result(qid, UNANSWERED, 0.0, float(points), "no answer given")


def warning(code: str, message: str, **where) -> dict:
    """One warning about a submission (a duplicate or unknown question ID, a missing name, a repaired answer)."""
    return {"code": code, "message": message, **{k: v for k, v in where.items() if v is not None}}


@dataclass
class GradeReport:
    """The grade of one submission.

    ``error`` is set when the submission could not be read at all (then
    ``results`` holds the assignment's questions as unanswered, if the
    assignment is known); ``warnings`` lists what was odd but graded anyway.
    """

    student: str
    results: list
    errors: list = field(default_factory=list)
    elapsed_s: float = 0.0
    warnings: list = field(default_factory=list)
    error: Optional[dict] = None  # {"message", "file", "line", "column", "advice"}
    source: Optional[str] = None  # the file it came from
    assignments: tuple = ()

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 4)

    @property
    def max_score(self) -> float:
        return round(sum(r.max_score for r in self.results), 4)

    @property
    def readable(self) -> bool:
        return self.error is None

    def counts(self) -> dict:
        out = {v: 0 for v in VERDICTS}
        for r in self.results:
            out[r.verdict] = out.get(r.verdict, 0) + 1
        return out

    def to_dict(self, audience: str = "staff") -> dict:
        check_audience(audience)
        out = {"student": self.student, "score": self.score, "max_score": self.max_score,
               "results": [r.to_dict(audience) for r in self.results],
               "warnings": list(self.warnings)}
        if self.assignments:
            out["assignments"] = list(self.assignments)
        if self.source is not None:
            out["source"] = self.source
        if self.error is not None:
            out["error"] = dict(self.error)
        return _jsonable(out)

    @classmethod
    def from_dict(cls, d: dict) -> "GradeReport":
        return cls(str(d.get("student", "")), [Result.from_dict(r) for r in d.get("results", [])],
                   warnings=list(d.get("warnings") or []), error=d.get("error"), source=d.get("source"),
                   assignments=tuple(d.get("assignments") or ()))


def complete(report: GradeReport, points: dict) -> GradeReport:
    """Add an ``unanswered`` result for every question of ``points`` (qid -> points, in catalogue order)
    that the report has no result for, and put the results in that order (others after)."""
    have = {r.question: r for r in report.results}
    ordered = [have.get(qid) or unanswered(qid, pts) for qid, pts in points.items()]
    ordered.extend(r for r in report.results if r.question not in points)
    report.results = ordered
    return report
