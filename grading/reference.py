r"""A reference answer written in LaTeX is verified before it is trusted as a key.

:func:`check_reference` runs, for a question whose record gives ``answer:``
(an expression, a matrix, a point, or the items of a set), these checks in
order; the reference becomes a key only if none fails:

1. **parse**: the project's own parser reads it in the question's notation
   context, with exactly one reading (an ambiguous reference is refused);
2. **instances**: it has a value on random instances of the context (sizes,
   supports and values drawn as for grading), and equals itself there;
3. **claim**: when the record names a ``claim:``, that claim's status must be
   verified (:mod:`grading.claimstatus`) and its right-hand side (a data
   claim) or its answer (a Python claim) must equal the reference;
4. **sympy**: SymPy confirms the reference equal to each ``accept`` example
   where it can (a SymPy proof that they differ fails the reference);
5. **accept** / **reject** / **hints**: every ``accept`` example is graded
   correct against the reference, every ``reject`` example and every hint's
   answer is not.

The outcome, :class:`ReferenceCheck`, lists every step with its verdict and
detail (for ``derivcheck list`` and staff); it never goes to a student.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from derivcheck import catalogue

from .claimstatus import status_of
from .entries import OK, KeyEntry
from .errors import ParseError
from .expr import Expr
from .kinds import grader_for
from .questions import Question, contexts
from .results import CORRECT
from .semantics import readings
from .symbolic import KeyConversionError, confirm_equal, from_sympy
from .syntax import parse

EXAMPLE_TIME_S = 10.0


@dataclass
class ReferenceCheck:
    question: str
    steps: list = field(default_factory=list)  # {"check", "verdict": pass|fail|skip, "detail"}
    expr: Optional[Expr] = None
    items: Optional[list] = None

    @property
    def ok(self) -> bool:
        return bool(self.steps) and not any(s["verdict"] == "fail" for s in self.steps)

    def add(self, check: str, verdict: str, detail: str = "") -> None:
        self.steps.append({"check": check, "verdict": verdict, "detail": detail})

    def problems(self) -> list:
        return [f"{s['check']}: {s['detail']}" for s in self.steps if s["verdict"] == "fail"]

    def to_dict(self) -> dict:
        return {"question": self.question, "verified": self.ok, "steps": list(self.steps)}


_lock = threading.Lock()
_checks: dict = {}


@catalogue.on_change
def reset() -> None:
    with _lock:
        _checks.clear()


def check_reference(q: Question) -> ReferenceCheck:
    """The verification of ``q``'s LaTeX reference (cached per question)."""
    with _lock:
        hit = _checks.get(q.id)
    if hit is None:
        hit = _check(q)
        with _lock:
            _checks[q.id] = hit
    return hit


def reference_entry(q: Question) -> KeyEntry:
    """A key entry from ``q``'s verified reference; status ``unverified`` when any check fails."""
    from .entries import UNVERIFIED

    chk = check_reference(q)
    claims = (q.spec.key_claim,) if q.spec.key_claim else ()
    if not chk.ok:
        return KeyEntry(q.id, UNVERIFIED, claims=claims, raw=q.spec.reference, verification=chk.to_dict(),
                        message=f"the reference answer of {q.id} did not pass its verification, so it is not "
                                "used as a key; graded by a person")
    entry = _entry(q, chk)
    entry.claims = claims or ("reference",)
    entry.verification = chk.to_dict()
    return entry


def _entry(q: Question, chk: ReferenceCheck) -> KeyEntry:
    return KeyEntry(q.id, OK, claims=("reference",), raw=q.spec.reference, expr=chk.expr, items=chk.items)


# --------------------------------------------------------------------------
def _read(text: Any, q: Question) -> Expr:
    if not isinstance(text, (str, int, float)) or isinstance(text, bool):
        raise ParseError(f"expected LaTeX text, got {text!r}")
    rds = readings(str(text), q.context)
    if len(rds) != 1:
        raise ParseError(f"{text!r} has {len(rds)} readings ({'; '.join(r.describe() for r in rds)}): "
                         "write the reference so it reads one way")
    return rds[0].expr


def _column(e: Expr) -> Expr:
    if e.op == "tuple":
        return Expr("matrix", e.args, (len(e.args), 1))
    if e.op == "matrix" and e.value[0] == 1:
        return Expr("matrix", e.args, (e.value[1], 1))
    return e


def _check(q: Question) -> ReferenceCheck:
    chk = ReferenceCheck(q.id)
    ref = q.spec.reference
    if ref is None:
        chk.add("parse", "fail", "the record gives no 'answer:'")
        return chk
    if q.errors:
        chk.add("parse", "fail", "; ".join(q.errors))
        return chk
    if q.spec.labels:
        chk.items = sorted({str(x).strip().lower() for x in ref})
        chk.add("parse", "pass", f"{len(chk.items)} labels")
    else:
        try:
            if q.kind == "set":
                chk.items = [_read(t, q) for t in ref]
            else:
                e = _read(ref, q)
                chk.expr = _column(e) if q.kind == "point" else e
            chk.add("parse", "pass", "one reading in the question's notation")
        except (ParseError, KeyError) as exc:
            chk.add("parse", "fail", getattr(exc, "message", str(exc)))
            return chk
        from .engine import Engine

        eng = Engine(contexts()[q.spec.context])
        exprs = chk.items if chk.items is not None else [chk.expr]
        for e in exprs:
            j = eng.judge(e, "=", e, symbolic=False)
            if j.verdict.value != "holds":
                chk.add("instances", "fail", f"the reference has no consistent value on random instances: "
                                             f"{j.method} {j.detail or ''}".strip())
                return chk
        chk.add("instances", "pass", f"defined and self-consistent on {j.instances} random instances")
        _check_claim(q, chk, eng)
        _check_sympy(q, chk)
    _check_examples(q, chk)
    return chk


def _check_claim(q: Question, chk: ReferenceCheck, eng) -> None:
    cid = q.spec.key_claim
    if not cid:
        return
    from derivcheck import REGISTRY, load_all

    reg = load_all(REGISTRY)
    if cid not in reg:
        chk.add("claim", "fail", f"the claim {cid} is not declared")
        return
    claim = reg.get(cid)
    ok, how = status_of(claim)
    if not ok:
        chk.add("claim", "fail", f"the claim {cid} does not verify ({how.get('error', '')})")
        return
    data = catalogue.catalogue().claims.get(cid)
    try:
        if data is not None:
            if data.data.get("relation", "=") != "=":
                chk.add("claim", "fail", f"the claim {cid} is not an equation")
                return
            other = _read(data.data["rhs"], q)
        else:
            from .adapters import adapter

            aliases, handlers = adapter(q.spec.adapter)(q.context) if q.spec.adapter else ({}, {})
            other = from_sympy(claim.answer, q.context, aliases, handlers)
        if chk.items is not None:
            j = eng.same_multiset(chk.items, other if isinstance(other, list) else [other])
        else:
            j = eng.judge(chk.expr, "=", _column(other) if q.kind == "point" else other)
    except (ParseError, KeyConversionError, KeyError) as exc:
        chk.add("claim", "fail", f"the claim {cid}'s answer cannot be read in the question's notation: "
                                 f"{getattr(exc, 'message', exc)}")
        return
    if j.verdict.value != "holds":
        chk.add("claim", "fail", f"the reference differs from the claim {cid}: {j.method}")
        return
    chk.add("claim", "pass", f"equals the verified claim {cid} ({how.get('source', '')}; {j.method})")


def _last_side(text: str) -> Optional[str]:
    try:
        tree = parse(text)
    except ParseError:
        return None
    return text if tree.kind != "rel" else None


def _check_sympy(q: Question, chk: ReferenceCheck) -> None:
    if chk.expr is None:
        return
    confirmed, total = 0, 0
    for ex in q.spec.accept:
        if not isinstance(ex, str) or _last_side(ex) is None:
            continue
        try:
            e = _read(ex, q)
        except (ParseError, KeyError):
            continue
        total += 1
        same, why = confirm_equal(chk.expr, _column(e) if q.kind == "point" else e, q.context, budget_s=2.0)
        if same is False:
            chk.add("sympy", "fail", f"SymPy shows the reference and the accepted example {ex!r} differ: {why}")
            return
        confirmed += bool(same)
    if total:
        chk.add("sympy", "pass" if confirmed else "skip",
                f"SymPy confirms the reference equal to {confirmed} of {total} accepted examples")


def _grade(q: Question, entry: KeyEntry, answer: Any):
    grader = grader_for(q.kind)
    if grader.yaml_text and isinstance(answer, str):
        import yaml

        t = answer.strip()
        if t.startswith("[") or t.startswith("{"):
            try:
                data = yaml.safe_load(t)
                if isinstance(data, (list, dict)):
                    answer = data
            except yaml.YAMLError:
                pass
    from derivcheck.limits import CheckTimeout, time_limit

    try:
        with time_limit(EXAMPLE_TIME_S):
            return grader.fn(q, entry, answer, time.perf_counter() + EXAMPLE_TIME_S).verdict
    except CheckTimeout:
        return "timeout"


def _check_examples(q: Question, chk: ReferenceCheck) -> None:
    entry = _entry(q, chk)
    for field_name, examples, want in (("accept", q.spec.accept, True), ("reject", q.spec.reject, False),
                                       ("hints", [h for h, _ in q.spec.hints], False)):
        if not examples:
            continue
        wrong = []
        for ex in examples:
            verdict = _grade(q, entry, ex)
            if (verdict == CORRECT) != want:
                wrong.append(f"{ex!r} is graded {verdict}")
        if wrong:
            what = "must be accepted" if want else "must be rejected"
            chk.add(field_name, "fail", f"{len(wrong)} of {len(examples)} examples that {what} are not: "
                                        + "; ".join(wrong[:3]))
        else:
            chk.add(field_name, "pass", f"{len(examples)} examples graded as the record says")
