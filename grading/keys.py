"""The answer key, built from verified claims.

A key entry for question Q is the ``answer`` of a claim that lists Q among
its ``questions``, expects to hold, and whose answer has the type Q's kind
needs (an option label for ``choice``, a list of labels for ``choices``, a
dict for ``mapping``, a tuple for ``set``, a SymPy expression or matrix for
``expression``/``matrix``/``point``).  Claims with ``expect="fails"`` record
an answer set's mistakes and are never keys.  When several claims fit, the
question's spec must pin one (:mod:`grading.questions`); otherwise the
question is graded by a person.

Every entry is verified before it is used: its claim's symbolic check is run
(:func:`derivcheck.runner.run_symbolic`) and must give the claim's expected
verdict.  A key entry whose claim does not verify raises
:class:`AnswerKeyError`: grading against an unverified key is refused.

Questions whose claims do not exist yet get a ``missing`` entry: the grader
answers ``needs-human`` and says so, never a guessed verdict.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from derivcheck.model import Claim, Verdict

from .adapters import ADAPTERS, adapter  # noqa: F401  (ADAPTERS is importable from here)
from .expr import Expr
from .questions import Question, question, questions
from .symbolic import KeyConversionError, from_sympy


class AnswerKeyError(RuntimeError):
    """A key entry is backed by a claim that does not verify (or is malformed)."""


OK = "ok"
MISSING = "missing"
AMBIGUOUS = "ambiguous"
UNREADABLE = "unreadable"
NO_KEY = "no-key"  # text, derivation, code, unavailable: not keyed in part 1


@dataclass
class KeyEntry:
    question: str
    status: str
    claims: tuple = ()
    raw: Any = None
    expr: Optional[Expr] = None  # expression / matrix / point
    items: Optional[list] = None  # set: expressions or labels
    labels: Any = None  # choice: str; choices: set; mapping: dict
    message: str = ""
    verification: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def describe(self) -> dict:
        return {"question": self.question, "status": self.status, "claims": list(self.claims),
                "message": self.message,
                "key": (str(self.expr) if self.expr is not None else
                        [str(i) for i in self.items] if self.items is not None else self.labels)}


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
_verified: dict = {}
_entries: dict = {}


CACHE_PATH = Path(".derivcheck") / "grading-keys.json"


def _fingerprint_claim(c: Claim) -> str:
    """Changes whenever the claim's module, the proof helpers or the answer change."""
    h = hashlib.sha256()
    h.update(c.id.encode())
    h.update(_fingerprint(c.answer).encode())
    for mod in (c.module, "derivcheck.derivations.prove", "derivcheck.runner"):
        try:
            path = importlib.import_module(mod).__file__
            h.update(Path(path).read_bytes())
        except (ImportError, OSError, TypeError):
            h.update(b"?")
    return h.hexdigest()


def _disk_cache_enabled() -> bool:
    return os.environ.get("DERIVCHECK_KEY_CACHE", "1") not in ("0", "", "no", "off")


def _read_disk_cache() -> dict:
    try:
        data = json.loads(CACHE_PATH.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_disk_cache(claim_id: str, record: dict) -> None:
    try:
        data = _read_disk_cache()
        data[claim_id] = record
        CACHE_PATH.parent.mkdir(parents=True, exist_ok=True)
        tmp = CACHE_PATH.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(CACHE_PATH)
    except OSError:  # a read-only directory only costs a re-verification next time
        pass


def verify_claim(c: Claim) -> dict:
    """Run the claim's symbolic check (once per process, and once per change of its source when the
    on-disk cache ``.derivcheck/grading-keys.json`` is enabled); raise AnswerKeyError unless it gives
    the claim's ``expect``.  Only passing verifications are cached; ``DERIVCHECK_KEY_CACHE=0`` disables
    the disk cache."""
    from derivcheck.runner import run_symbolic

    with _lock:
        hit = _verified.get(c.id)
    if hit is None and _disk_cache_enabled():
        fp = _fingerprint_claim(c)
        cached = _read_disk_cache().get(c.id)
        if isinstance(cached, dict) and cached.get("fingerprint") == fp and cached.get("verdict") == c.expect.value:
            hit = dict(cached, cached=True)
            with _lock:
                _verified[c.id] = hit
    if hit is None:
        res = run_symbolic(c)
        hit = {"claim": c.id, "verdict": res.verdict.value, "expect": c.expect.value, "method": res.method,
               "residual": res.residual, "detail": res.detail, "elapsed_s": round(res.elapsed_s, 3)}
        with _lock:
            _verified[c.id] = hit
        if _disk_cache_enabled() and hit["verdict"] == hit["expect"]:
            _write_disk_cache(c.id, dict(hit, fingerprint=_fingerprint_claim(c)))
    if hit["verdict"] != hit["expect"]:
        raise AnswerKeyError(
            f"the key claim {c.id} does not verify: its symbolic check gives {hit['verdict']} "
            f"(expected {hit['expect']}; {hit['method']}; residual {hit['residual']}). "
            "Grading against an unverified key is refused; fix the claim or remove it from the key."
        )
    return hit


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
    reg = _registry()
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


def _fingerprint(answer) -> str:
    if isinstance(answer, dict):
        return repr(sorted((str(k), str(v).lower()) for k, v in answer.items()))
    if isinstance(answer, (list, tuple, set, frozenset)) and all(isinstance(a, str) for a in answer):
        return repr(sorted(a.lower() for a in answer))
    if isinstance(answer, str):
        return answer.strip().lower()
    return sp.srepr(answer) if isinstance(answer, sp.Basic) else repr(answer)


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
        _verified.clear()
