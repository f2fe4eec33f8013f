r"""Checking one answer and grading whole submissions.

    from derivcheck import grading
    r = grading.check("ift6135-h22/5.2", r"F_{12} - W_p F_1")
    r.verdict, r.score, r.message
    report = grading.grade({"student": "anon-17", "answers": {...}})
    report.to_dict()

Verdicts: ``correct``, ``incorrect``, ``partial``, ``unparseable``,
``needs-human``, ``unknown-question``, ``timeout``.

Every answer is checked under a wall-clock limit (``timeout``, never a
hang); an exception while checking one answer becomes that answer's
``needs-human`` result with the error, and the rest of the submission is
still graded.  Ambiguous notation is read every possible way: if the readings
disagree about correctness the answer goes to a person with both readings
spelled out.
"""
from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from derivcheck.limits import CheckTimeout, time_limit

from .answers import engine  # noqa: F401  (re-exported: the engine of a notation context)
from .keys import AnswerKeyError, KeyEntry, key_entry
from .kinds import grader_for
from .questions import Question, question
from .results import (CORRECT, INCORRECT, NEEDS_HUMAN, PARTIAL, TIMEOUT, UNKNOWN_QUESTION,  # noqa: F401
                      UNPARSEABLE, VERDICTS, GradeReport, Result)
from .syntax import TooCostly

DEFAULT_TIME_LIMIT_S = 5.0


# --------------------------------------------------------------------------
# check()
# --------------------------------------------------------------------------
def check(qid: str, answer: Any, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> Result:
    """Grade one answer to question ``qid`` (LaTeX text, a number, a list or a mapping)."""
    start = time.perf_counter()
    try:
        q = question(qid)
    except KeyError as exc:
        return Result(qid, UNKNOWN_QUESTION, 0.0, 0.0, str(exc).strip("'\""), elapsed_s=time.perf_counter() - start)
    return _run(q, answer, time_limit_s, None, start)


def _check_with_entry(q: Question, entry: KeyEntry, answer: Any, *,
                      time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> Result:
    """Grade against a given key entry (tests; the step checker reuses it for intermediate results)."""
    return _run(q, answer, time_limit_s, entry, time.perf_counter())


def _run(q: Question, answer: Any, time_limit_s: float, entry: Optional[KeyEntry], start: float) -> Result:
    grader = grader_for(q.kind)
    if entry is None and grader.keyed:
        # the key (and its claim's verification) is loaded outside the answer's time limit
        entry = key_entry(q.id)
        if entry.ok and q.spec.context:
            engine(q.spec.context)  # draw the context's instances once, outside any answer's budget
        start = time.perf_counter()
    try:
        with time_limit(time_limit_s):
            result = _check(q, grader, answer, deadline=start + time_limit_s, entry=entry)
    except CheckTimeout:
        result = Result(q.id, TIMEOUT, 0.0, q.points,
                        f"checking this answer ran past the {time_limit_s:g} s limit (an answer this costly to "
                        "evaluate, e.g. a huge power or a very long sum, goes to a person)")
    except TooCostly as exc:
        result = Result(q.id, TIMEOUT, 0.0, q.points,
                        f"not evaluated: {exc.message} (a resource guard; the answer goes to a person)",
                        details={"guard": exc.message, "position": exc.position})
    except AnswerKeyError:
        raise
    except RecursionError:
        result = Result(q.id, UNPARSEABLE, 0.0, q.points, "the answer is nested too deeply to read")
    except Exception as exc:  # one broken answer never stops a batch
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        result = Result(q.id, NEEDS_HUMAN, 0.0, q.points, "internal error while checking; graded by a person",
                        staff={"error": f"{type(exc).__name__}: {exc}{where}"})
    result.elapsed_s = time.perf_counter() - start
    return result


def _check(q: Question, grader, answer: Any, deadline: float, entry: Optional[KeyEntry] = None) -> Result:
    if not grader.empty_ok and (answer is None or (isinstance(answer, str) and not answer.strip())):
        return Result(q.id, UNPARSEABLE, 0.0, q.points, "no answer given")
    if grader.keyed:
        entry = entry if entry is not None else key_entry(q.id)
        if not entry.ok:
            # the entry's message names claims, never key values
            return Result(q.id, NEEDS_HUMAN, 0.0, q.points, entry.message, staff={"key": entry.describe()})
    if grader.yaml_text:
        answer = _maybe_yaml(answer, q.kind)
    result = grader.fn(q, entry, answer, deadline)
    if entry is not None:
        result.staff.setdefault("key_claims", list(entry.claims))
    return result


def _maybe_yaml(answer: Any, kind: str) -> Any:
    """A YAML list or mapping given as text (the CLI's --answer) becomes the list or mapping."""
    if not isinstance(answer, str):
        return answer
    t = answer.strip()
    if (t.startswith("[") or t.startswith("{") or t.startswith("- ") or (kind == "mapping" and ":" in t)) \
            and not t.startswith("\\"):
        try:
            data = yaml.safe_load(t)
        except yaml.YAMLError:
            return answer
        if isinstance(data, (list, dict)):
            return data
    return answer



# --------------------------------------------------------------------------
# grade()
# --------------------------------------------------------------------------
class SubmissionError(ValueError):
    """The submission file or object is malformed (the message says how)."""


def load_submission(source: Union[str, Path, dict]) -> dict:
    """A submission from a dict, or a YAML/JSON file path."""
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SubmissionError(f"cannot read {path}: {exc}") from None
        try:
            data = yaml.safe_load(text)  # YAML is a superset of JSON
        except yaml.YAMLError as exc:
            raise SubmissionError(f"{path} is neither YAML nor JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SubmissionError("a submission is a mapping with 'student' and 'answers'")
    answers = data.get("answers")
    if not isinstance(answers, dict):
        raise SubmissionError("'answers' must be a mapping from question ID to answer")
    return {"student": str(data.get("student", "anonymous")), "answers": answers}


def grade(submission: Union[str, Path, dict], *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> GradeReport:
    """Grade every answer of a submission (an unreadable answer never stops the others)."""
    start = time.perf_counter()
    sub = load_submission(submission)
    results = []
    for qid, answer in sub["answers"].items():
        results.append(check(str(qid), answer, time_limit_s=time_limit_s))
    return GradeReport(sub["student"], results, elapsed_s=time.perf_counter() - start)
