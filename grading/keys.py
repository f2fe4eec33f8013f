"""The answer key, built from verified claims.

A key entry for question Q is the ``answer`` of a claim that lists Q among
its ``questions``, expects to hold, and whose answer has the type Q's kind
needs (an option label for ``choice``, a list of labels for ``choices``, a
dict for ``mapping``, a tuple for ``set``, a SymPy expression or matrix for
``expression``/``matrix``/``point``).  Claims with ``expect="fails"`` record
an answer set's mistakes and are never keys.  When several claims fit, the
question's spec must pin one (:mod:`grading.questions`); otherwise the
question is graded by a person.

Every entry is verified before it is used (:mod:`grading.claimstatus`): the
claim's status is read from the results store where results exist, and its
symbolic check is run only when there is none.  A key entry whose claim does
not verify raises :class:`AnswerKeyError`: grading against an unverified key
is refused.

A record may instead give its reference in LaTeX (``answer:``): it is
verified first (:mod:`grading.reference`) and a reference that fails is never
a key (the entry is ``unverified``; graded by a person).  A choice question
whose options name claims is keyed by those claims' verified statuses.

Questions whose claims do not exist yet get a ``missing`` entry: the grader
answers ``needs-human`` and says so, never a guessed verdict.
"""
from __future__ import annotations

import threading
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from derivcheck import catalogue
from derivcheck.model import Verdict

from . import claimstatus
from .adapters import ADAPTERS, adapter  # noqa: F401  (ADAPTERS is importable from here)
from .claimstatus import AnswerKeyError, fingerprint as _fingerprint, status_of, verify_claim  # noqa: F401
from .entries import AMBIGUOUS, MISSING, NO_KEY, OK, UNREADABLE, UNVERIFIED, KeyEntry  # noqa: F401 (re-exported)
from .expr import Expr
from .questions import Question, question, questions
from .reference import reference_entry
from .symbolic import KeyConversionError, from_sympy


# --------------------------------------------------------------------------
# Selecting and verifying
# --------------------------------------------------------------------------
def _is_label(a) -> bool:
    return isinstance(a, str)


def fits(kind: str, answer: Any) -> bool:
    """Whether a claim's answer has the type a question of ``kind`` is keyed with."""
    if answer is None:
        return False
    if kind == "choice":
        return _is_label(answer)
    if kind == "choices":
        return isinstance(answer, (list, tuple, set, frozenset)) and all(_is_label(a) for a in answer)
    if kind == "mapping":
        return isinstance(answer, dict)
    if kind == "set":
        return isinstance(answer, (list, tuple, set, frozenset)) and len(answer) > 0 and \
            all(isinstance(a, (sp.Basic, int, str, float)) for a in answer)
    if kind == "expression":
        return isinstance(answer, (sp.Expr, MatrixExpr)) or (isinstance(answer, sp.Basic) and
                                                              not isinstance(answer, sp.MatrixBase))
    if kind == "matrix":
        return isinstance(answer, (sp.MatrixBase, MatrixExpr))
    if kind == "point":
        if isinstance(answer, sp.MatrixBase):
            return 1 in answer.shape
        return isinstance(answer, (tuple, list)) and all(isinstance(a, (sp.Basic, int, float)) for a in answer)
    return False


_lock = threading.Lock()
_entries: dict = {}


def _registry():
    from derivcheck import REGISTRY, load_all

    return load_all(REGISTRY)


def key_entry(qid: str, *, verify: bool = True, refresh: bool = False) -> KeyEntry:
    """The key entry of one question (verified unless ``verify=False``)."""
    if not refresh:
        with _lock:
            hit = _entries.get(qid)
        if hit is not None and (hit.status != OK or not verify or hit.verification):
            return hit
    q = question(qid)
    entry = _build(q, verify=verify)
    with _lock:
        _entries[qid] = entry
    return entry


def _build(q: Question, *, verify: bool) -> KeyEntry:
    if q.kind in ("text", "derivation", "code", "unavailable"):
        return KeyEntry(q.id, NO_KEY, message=f"{q.kind} questions are not keyed by value")
    if q.spec.reference is not None:  # a LaTeX reference, verified before it is used
        return reference_entry(q)
    reg = _registry()
    if q.spec.option_claims:
        return _option_entry(q, reg)
    if q.spec.key_claim is not None:
        if q.spec.key_claim not in reg:
            return KeyEntry(q.id, MISSING, message=(
                f"the key claim {q.spec.key_claim} for {q.id} is not declared (yet); graded by a person"))
        chosen = reg.get(q.spec.key_claim)
        if chosen.expect is not Verdict.HOLDS or not fits(q.kind, chosen.answer):
            raise AnswerKeyError(f"the pinned key claim {chosen.id} for {q.id} does not give a {q.kind} answer "
                                 f"that holds (expect={chosen.expect.value}, answer={chosen.answer!r})")
    else:
        candidates = [c for c in reg.for_question(q.id) if c.expect is Verdict.HOLDS and fits(q.kind, c.answer)]
        if not candidates:
            return KeyEntry(q.id, MISSING, message=(
                f"no verified claim answers {q.id} yet (a {q.kind} answer is needed); graded by a person"))
        distinct = {_fingerprint(c.answer) for c in candidates}
        if len(distinct) > 1:
            ids = ", ".join(c.id for c in candidates)
            return KeyEntry(q.id, AMBIGUOUS, claims=tuple(c.id for c in candidates), message=(
                f"several claims answer {q.id} with different {q.kind} values ({ids}) and none is pinned as the "
                "key; graded by a person"))
        chosen = candidates[0]
    entry = KeyEntry(q.id, OK, claims=(chosen.id,), raw=chosen.answer)
    try:
        _read_answer(q, entry)
    except KeyConversionError as exc:
        return KeyEntry(q.id, UNREADABLE, claims=(chosen.id,), raw=chosen.answer,
                        message=f"the key claim {chosen.id} cannot be read by the grader: {exc}; graded by a person")
    if verify:
        entry.verification = verify_claim(chosen)
    return entry


def _option_entry(q: Question, reg) -> KeyEntry:
    """choice / choices whose options each name a claim: an option is true when its claim verifies
    and expects to hold, false when it verifies and expects to fail; any other status leaves no key."""
    true, unsettled, ids = [], [], []
    how = {}
    for label, cid in q.spec.option_claims:
        ids.append(cid)
        if cid not in reg:
            unsettled.append(f"{label}: claim {cid} is not declared")
            continue
        c = reg.get(cid)
        ok, info = status_of(c)
        how[label] = {"claim": cid, "verified": ok, "source": info.get("source", "")}
        if not ok:
            unsettled.append(f"{label}: claim {cid} does not verify")
        elif c.expect is Verdict.HOLDS:
            true.append(label.strip().lower())
    claims = tuple(ids)
    if unsettled:
        return KeyEntry(q.id, UNVERIFIED, claims=claims, verification={"options": how, "problems": unsettled},
                        message=f"the options of {q.id} are not all settled by verified claims; graded by a person")
    if q.kind == "choice" and len(true) != 1:
        return KeyEntry(q.id, UNVERIFIED, claims=claims, verification={"options": how},
                        message=f"{len(true)} options of the single-choice question {q.id} verify as true; "
                                "graded by a person")
    labels = true[0] if q.kind == "choice" else sorted(true)
    return KeyEntry(q.id, OK, claims=claims, raw=labels, labels=labels, verification={"options": how})


def _read_answer(q: Question, entry: KeyEntry) -> None:
    a = entry.raw
    if q.kind == "choice":
        entry.labels = a.strip().lower()
        return
    if q.kind == "choices":
        entry.labels = sorted({x.strip().lower() for x in a})
        return
    if q.kind == "mapping":
        entry.labels = {str(k).strip().lower(): str(v).strip().lower() for k, v in a.items()}
        return
    if q.kind == "set" and q.spec.labels:
        entry.items = sorted({normalize_label(x) for x in a})
        return
    ctx = q.context
    if ctx is None:
        raise KeyConversionError(f"{q.id} has no notation context")
    aliases, handlers = adapter(q.spec.adapter)(ctx) if q.spec.adapter else ({}, {})
    if q.kind == "set":
        entry.items = [from_sympy(_number(x), ctx, aliases, handlers) for x in a]
        return
    if q.kind == "point" and not isinstance(a, sp.MatrixBase):
        a = sp.Matrix([_number(x) for x in a])
    e = from_sympy(a, ctx, aliases, handlers)
    if q.kind == "point" and e.op == "matrix" and e.value[0] == 1:
        e = Expr("matrix", e.args, (e.value[1], 1))
    entry.expr = e


def _number(x):
    """Python numbers as SymPy numbers (keys are SymPy objects or plain numbers, never text)."""
    if isinstance(x, bool):
        raise KeyConversionError("a boolean in an expression key")
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, float):
        return sp.Float(x)
    return x


def normalize_label(x) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float) and x == int(x):
        x = int(x)
    if isinstance(x, sp.Integer):
        x = int(x)
    return str(x).strip().lower()


def load_key(qids=None, *, verify: bool = True) -> dict:
    """Key entries for ``qids`` (default: every question); raises AnswerKeyError on a broken entry."""
    qids = list(questions()) if qids is None else list(qids)
    return {qid: key_entry(qid, verify=verify) for qid in qids}


def reset_cache() -> None:
    """Forget built entries and verifications (tests; after the registry changes)."""
    with _lock:
        _entries.clear()
    claimstatus.reset()


catalogue.on_change(reset_cache)  # a questions file added or removed changes questions and keys
