"""Kinds that a person grades: free text (with a rubric for staff) and questions that depend on
a figure the sheets do not include.  Derivations are graded by machine in their own module when
it is registered; until then they fall back to a person here.  Code runs in :mod:`.sandbox`."""
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
