"""Kinds that a person grades: free text (with a rubric for staff) and questions that depend on
a figure the sheets do not include.  Derivations and code are graded by machine in their own
modules when those are registered; until then they fall back to a person here."""
from __future__ import annotations

from .kinds import grades
from .results import NEEDS_HUMAN, Result


@grades("unavailable", keyed=False, empty_ok=True)
def grade_unavailable(q, entry, answer, deadline) -> Result:
    return Result(q.id, NEEDS_HUMAN, 0.0, q.points, f"unavailable: {q.spec.unavailable}")


@grades("text", keyed=False, empty_ok=True)
def grade_text(q, entry, answer, deadline) -> Result:
    return Result(q.id, NEEDS_HUMAN, 0.0, q.points, "free text, graded by a person",
                  staff={"rubric": q.spec.rubric})


@grades("derivation", keyed=False)
def grade_derivation_by_hand(q, entry, answer, deadline) -> Result:
    return Result(q.id, NEEDS_HUMAN, 0.0, q.points,
                  "a derivation: step-by-step checking is not available for it, graded by a person")


@grades("code", keyed=False)
def grade_code_by_hand(q, entry, answer, deadline) -> Result:
    return Result(q.id, NEEDS_HUMAN, 0.0, q.points,
                  f"code ({q.catalogue_spec.get('function', '')}): not run by the grader, graded by a person")
