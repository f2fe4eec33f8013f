r"""Checking one answer and grading whole submissions.

    from derivcheck import grading
    r = grading.check("ift6135-h22/5.2", r"F_{12} - W_p F_1")
    r.verdict, r.score, r.message
    report = grading.grade({"student": "anon-17", "answers": {...}})
    report.to_dict()

Verdicts: ``correct``, ``incorrect``, ``partial``, ``unparseable``,
``needs-human``, ``unknown-question``, ``timeout``, ``unanswered``.

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
from .questions import Question, question, questions
from .results import (CORRECT, INCORRECT, NEEDS_HUMAN, PARTIAL, TIMEOUT, UNANSWERED,  # noqa: F401
                      UNKNOWN_QUESTION, UNPARSEABLE, VERDICTS, GradeReport, Result, complete)
from .submission import (SubmissionError, answer_size_problem, assignments_of, load_submission,  # noqa: F401
                         safe_yaml)
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
    if q.errors:  # a broken record fails its own question only
        return Result(q.id, NEEDS_HUMAN, 0.0, q.points, "this question's record has an error, so it is not "
                      "graded automatically; graded by a person", staff={"record_errors": list(q.errors)},
                      elapsed_s=time.perf_counter() - start)
    grader = grader_for(q.kind)
    if entry is None and grader.keyed:
        # the key (and its claim's verification) is loaded outside the answer's time limit
        entry = key_entry(q.id)
        if entry.ok and q.spec.context:
            engine(q.spec.context)  # draw the context's instances once, outside any answer's budget
        start = time.perf_counter()
    elif grader.prepare is not None:
        grader.prepare(q)  # e.g. start the code sandbox's worker, outside the answer's budget
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
    if result.answer is None:
        result.answer = answer
    return result


def _check(q: Question, grader, answer: Any, deadline: float, entry: Optional[KeyEntry] = None) -> Result:
    if _blank(answer) and (not grader.empty_ok or q.kind == "text"):
        return Result(q.id, UNANSWERED, 0.0, q.points, "no answer given")
    too_big = answer_size_problem(answer, q.kind)
    if too_big:
        return Result(q.id, UNPARSEABLE, 0.0, q.points, f"{too_big}; not graded")
    if grader.keyed:
        entry = entry if entry is not None else key_entry(q.id)
        if not entry.ok:
            # the entry's message names claims, never key values
            return Result(q.id, NEEDS_HUMAN, 0.0, q.points, entry.message, staff={"key": entry.describe()})
    if grader.yaml_text:
        answer = _maybe_yaml(answer, q.kind)
    result = grader.fn(q, entry, answer, deadline)
    if result.verdict == INCORRECT and q.spec.hints and q.kind in ("expression", "matrix", "point"):
        from .hints import hint_for

        hint = hint_for(q, answer, deadline)
        if hint:
            result.message += f". Hint: {hint}"
            result.details["hint"] = hint
    if entry is not None:
        result.staff.setdefault("key_claims", list(entry.claims))
        provenance = _provenance(entry)
        if provenance:  # a key that rests on transcribed data says so (issue: keys are derived, never set)
            result.message += f" (note: this question's key is not derived from the sheets: {provenance}; " \
                              "a person should confirm the grade)"
            result.details["key_provenance"] = provenance
    return result


def _blank(answer: Any) -> bool:
    """Nothing written: None, blank text, or an empty list/mapping (or one of blanks, as a template leaves it)."""
    if answer is None:
        return True
    if isinstance(answer, str):
        return not answer.strip()
    if isinstance(answer, dict):
        return all(_blank(v) for v in answer.values())
    if isinstance(answer, (list, tuple)):
        return all(_blank(v) for v in answer)
    return False


def _provenance(entry: KeyEntry) -> str:
    """Where a key's data come from when not from the sheets (the key claim's ``provenance``), else ''."""
    how = entry.verification or {}
    found = [how.get("provenance", "")] + [o.get("provenance", "") for o in (how.get("options") or {}).values()
                                            if isinstance(o, dict)]
    return next((f for f in found if f), "")


def _maybe_yaml(answer: Any, kind: str) -> Any:
    """A YAML list or mapping given as text (the CLI's --answer) becomes the list or mapping."""
    if not isinstance(answer, str):
        return answer
    t = answer.strip()
    if (t.startswith("[") or t.startswith("{") or t.startswith("- ") or (kind == "mapping" and ":" in t)) \
            and not t.startswith("\\"):
        try:
            data = safe_yaml(t)
        except yaml.YAMLError:
            return answer
        if isinstance(data, (list, dict)):
            return data
    return answer



# --------------------------------------------------------------------------
# grade()
# --------------------------------------------------------------------------
def grade(submission: Union[str, Path, dict, bytes], *, time_limit_s: float = DEFAULT_TIME_LIMIT_S,
          assignment: Optional[str] = None, name: Optional[str] = None,
          memo: Optional["AnswerMemo"] = None) -> GradeReport:
    """Grade every answer of a submission (an unreadable answer never stops the others).

    The maximum is the catalogue's total of the submission's assignment(s)
    (``assignment``, else the submission's ``assignment`` field, else the
    prefixes of the question IDs it answers); unanswered questions score 0.
    Raises :class:`SubmissionError` when the file cannot be read at all."""
    start = time.perf_counter()
    sub = load_submission(submission, name=name)
    if assignment:
        sub["assignment"] = assignment
    results = [(memo.check if memo is not None else check)(str(qid), answer, time_limit_s=time_limit_s)
               for qid, answer in sub["answers"].items()]
    report = GradeReport(sub["student"], results, warnings=sub["warnings"], source=sub["source"],
                         assignments=assignments_of(sub))
    complete(report, assignment_points(report.assignments))
    report.elapsed_s = time.perf_counter() - start
    return report


def assignment_points(assignments) -> dict:
    """question ID -> points for every catalogue question of ``assignments``, in catalogue order."""
    wanted = set(assignments)
    return {qid: q.points for qid, q in questions().items() if qid.split("/")[0] in wanted}


class AnswerMemo:
    """Results of answers already graded in this process, by (question, answer): a class repeats many answers.

    Grading is deterministic (seeded instances), so a repeated answer gets a copy of the first result.
    Timeouts and long answers are not remembered; at most ``size`` entries are kept."""

    def __init__(self, size: int = 20_000, max_chars: int = 4_000):
        import collections

        self.size, self.max_chars = size, max_chars
        self.results: "collections.OrderedDict" = collections.OrderedDict()
        self.hits = self.misses = 0

    def _key(self, qid: str, answer: Any) -> Optional[str]:
        import json

        try:
            text = json.dumps(answer, sort_keys=True)
        except (TypeError, ValueError):
            return None
        return None if len(text) > self.max_chars else f"{qid}\x00{text}"

    def check(self, qid: str, answer: Any, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> Result:
        import copy

        key = self._key(qid, answer)
        hit = self.results.get(key) if key is not None else None
        if hit is not None:
            self.hits += 1
            self.results.move_to_end(key)
            out = copy.deepcopy(hit)
            out.elapsed_s = 0.0
            return out
        self.misses += 1
        result = check(qid, answer, time_limit_s=time_limit_s)
        if key is not None and result.verdict != TIMEOUT:
            self.results[key] = copy.deepcopy(result)
            if len(self.results) > self.size:
                self.results.popitem(last=False)
        return result
