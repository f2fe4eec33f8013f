"""Hints for known wrong answers: a record's ``hints: [{answer: LATEX, message: TEXT}]``.

When an answer is graded wrong and it is equivalent to a hint's answer (graded
by the question's own grader with the hint's answer as the key), the hint's
message is added to the feedback.  A hint names a mistake, never the key (the
reference checker makes sure every hint's answer is itself graded wrong).
"""
from __future__ import annotations

from typing import Any, Optional

from .entries import OK, KeyEntry
from .errors import ParseError
from .kinds import grader_for
from .questions import Question
from .results import CORRECT
from .semantics import readings


def hint_for(q: Question, answer: Any, deadline: float) -> Optional[str]:
    """The message of the first hint whose answer ``answer`` is equivalent to, or None."""
    if not q.spec.hints or q.context is None:
        return None
    grader = grader_for(q.kind)
    for text, message in q.spec.hints:
        try:
            rds = readings(str(text), q.context)
        except ParseError:
            continue
        if len(rds) != 1:
            continue
        entry = KeyEntry(q.id, OK, claims=("hint",), expr=rds[0].expr)
        try:
            if grader.fn(q, entry, answer, deadline).verdict == CORRECT:
                return message
        except Exception:  # a hint never breaks grading
            continue
    return None
