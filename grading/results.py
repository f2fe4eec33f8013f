"""What grading returns: the verdicts, one answer's :class:`Result`, one submission's :class:`GradeReport`.

Audiences.  A result's ``message`` and ``details`` are written for the
student: they may show the student's own values and what is wrong, never the
key, a rubric, a model answer or a key value.  Whatever reveals the key goes
into ``staff`` (a dict), which :meth:`Result.to_dict` includes only for
``audience="staff"``.  Every grader (:mod:`.kinds`) keeps to this rule.
"""
from __future__ import annotations

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
VERDICTS = (CORRECT, INCORRECT, PARTIAL, UNPARSEABLE, NEEDS_HUMAN, UNKNOWN_QUESTION, TIMEOUT)

AUDIENCES = ("student", "staff")


def check_audience(audience: str) -> str:
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}, not {audience!r}")
    return audience


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
        if audience == "staff" and self.staff:
            out["staff"] = self.staff
        return _jsonable(out)


@dataclass
class GradeReport:
    """The grade of one submission."""

    student: str
    results: list
    errors: list = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 4)

    @property
    def max_score(self) -> float:
        return round(sum(r.max_score for r in self.results), 4)

    def counts(self) -> dict:
        out = {v: 0 for v in VERDICTS}
        for r in self.results:
            out[r.verdict] = out.get(r.verdict, 0) + 1
        return out

    def to_dict(self, audience: str = "staff") -> dict:
        return {"student": self.student, "score": self.score, "max_score": self.max_score,
                "results": [r.to_dict(audience) for r in self.results]}
