r"""Known slips: say which mistake a wrong answer or a failing step makes, never what the key is.

    from derivcheck.grading.slips import diagnose, diagnose_step
    diagnose(question, student, key, context, engine)        # -> "the factors of a matrix product ..." | None
    diagnose_step(qid, left, rel, right, context, engine)    # the step checker, for a failing step

Two sources, tried in this order:

1. **The answer sets' refuted statements** (claims with ``expect="fails"``).  A
   wrong answer matches one when it equals the claim's refuted answer (labels,
   mappings, expressions that differ from the key); a wrong relation (a failing
   step, or a side of an answer's equation chain against the key) matches one
   when it asserts the same false identity: its residual ``lhs - rhs`` equals
   the refuted statement's residual, up to sign, on random instances.  The
   refuted statements are restated in the grader's notation in
   :data:`STATEMENTS` (the claims state them in display LaTeX that the grammar
   does not read).  The student is shown a hint from :data:`HINTS` that names
   the mistake without the right result; the claim's note, which does explain
   the right result, is returned for staff (:func:`find_slip`).
2. **Structural slips**, by rewriting the student's side and checking the
   rewrite against the target with the engine: the factors of a
   non-commuting product in the wrong order, a transpose missing or one too
   many, the arguments of a KL divergence swapped (forward vs reverse KL), an
   inequality pointing the wrong way.

A diagnosis never breaks grading: any error inside it means "no diagnosis".
"""
from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from typing import Any, Optional

from derivcheck.model import Verdict

from . import expr as X
from .expr import Expr

MAX_VARIANTS = 24
BUDGET_S = 0.5

#: student-safe hints for the refuted answer-set statements (they name the mistake, not the answer)
HINTS = {
    "contrastive.answer_set_distance_general":
        "the formula holds only for vectors of norm 1, and the question asks about arbitrary vectors",
    "flows.answer_set_swapped_scenarios":
        "the two scenarios are swapped: ask which KL direction is an expectation over samples of p_X and which "
        "needs the density p_X at the model's samples",
    "gan_dynamics.answer_set_rotation":
        "complex eigenvalues do rotate the iterates, but check their modulus: each step may also stretch",
    "gan_theory.answer_set_4_1":
        "at the equilibrium the discriminator's loss settles at a constant; reconsider what the discriminator is "
        "trained to tell apart",
    "gan_theory.answer_set_4_3":
        "an optimizer changes how the training loss is minimized, not what it rewards: it is no regularizer",
    "masked_conv.answer_set_h22_case1_caption":
        "that field contains pixels that only a mask-B first layer can pass on",
    "simsiam.answer_set_predictor_objective":
        "the restated objective counts the cross term tr(W_p F_12) three times and flips the sign of tr(F_2)",
    "simsiam.answer_set_quadratic_trace_derivative":
        "W_p appears twice in tr(W_p^T W_p F_1): both occurrences contribute to the derivative",
    "simsiam.answer_set_predictor_dropped_term":
        "the derivative keeps only two of the three cross terms of the line before",
    "simsiam.answer_set_predictor_halving":
        "the factor 1/2 in front of the bracket is applied to one of its terms only",
    "simsiam.answer_set_collapse_equality":
        "Gronwall's argument bounds the norm from above; it does not give an equality",
    "vae.answer_set_elbo_sign":
        "distributing the minus sign over the expectation flipped only one of its two terms",
    "vae.answer_set_ecll_literal":
        "dividing by q(z|x) inside the logarithm changes the objective by the entropy of q, a term that does not "
        "depend on theta: only the maximiser is unchanged, not the value",
    "vae.answer_set_iwae_subset_identity":
        "the left side is a number (an expectation), the right side changes with the draw of z_1 and z_2",
}

#: the refuted statements as relations in the grader's notation: claim ID -> (lhs, relation, rhs).  Read in
#: the context of the question being graded; a statement that the context cannot read is skipped.
STATEMENTS = {
    "contrastive.answer_set_distance_general": (r"\|u - v\|_2", "=", r"\sqrt{2 - 2u^\top v}"),
    "vae.answer_set_elbo_sign": (
        r"\log p(x)", "=",
        r"D_{KL}(q(z|x) \| p(z|x)) + \mathbb{E}_{q(z|x)}\left[\log q(z|x) + \log p(x,z)\right]"),
    "vae.answer_set_ecll_literal": (
        r"\mathbb{E}_{q(z|x)}\left[\log p(x|z) p(z)\right]", "=", r"\log p(x) - D_{KL}(q(z|x) \| p(z|x))"),
    "vae.answer_set_iwae_subset_identity": (
        r"\mathbb{E}_{z_1 \sim q(z|x)}\left[\frac{p(x,z_1)}{q(z_1|x)}\right]", "=",
        r"\frac{1}{2}\sum_{i=1}^{2} \frac{p(x,z_i)}{q(z_i|x)}"),
    "simsiam.answer_set_predictor_halving": (
        r"-\frac{1}{2}\left(W_p F_1^\top - 2F_{12}^\top\right)", "=", r"-W_p F_1^\top + F_{12}^\top"),
    "simsiam.answer_set_predictor_objective": (
        r"\frac{1}{2}\left[\operatorname{tr}(W_p^\top W_p F_1) - \operatorname{tr}(W_p F_{12}) "
        r"- \operatorname{tr}(F_{12} W_p) + \operatorname{tr}(F_2)\right]", "=",
        r"\frac{1}{2}\left[\operatorname{tr}(W_p^\top W_p F_1) - 3\operatorname{tr}(W_p F_{12}) "
        r"- \operatorname{tr}(F_2)\right]"),
}


@dataclass(frozen=True)
class Slip:
    """A diagnosis: ``message`` is for the student; ``claim`` and ``note`` (the claim's own explanation,
    which may state the right result) are for staff."""

    kind: str  # answer-set | swapped-factors | missing-transpose | extra-transpose | kl-direction | reversed-inequality
    message: str
    claim: str = ""
    note: str = ""

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "claim": self.claim, "note": self.note}


# --------------------------------------------------------------------------------------------
# refuted claims
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def refuted_claims(qid: str) -> tuple:
    """The claims that refute an answer-set statement about question ``qid``."""
    from derivcheck.registry import REGISTRY, load_all

    load_all(REGISTRY)
    return tuple(c for c in REGISTRY.for_question(qid) if c.expect is Verdict.FAILS)


def _answer_set_slip(claim) -> Slip:
    hint = HINTS.get(claim.id, "one of the mistakes the project records from the answer sets")
    return Slip("answer-set", f"{hint} (a slip the answer sets make)", claim.id, claim.note)


def _norm_label(x: Any) -> Any:
    if isinstance(x, dict):
        return {_norm_label(k): _norm_label(v) for k, v in x.items()}
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (list, tuple, set, frozenset)):
        return frozenset(_norm_label(v) for v in x)
    return re.sub(r"^[\s(\[]*|[\s)\].:]*$", "", str(x).strip().lower())


def _label_answer(answer: Any) -> bool:
    return isinstance(answer, (str, dict, bool)) and not isinstance(answer, Expr)


@functools.lru_cache(maxsize=None)
def _claim_expr(claim_id: str, qid: str):
    """A refuted claim's SymPy answer read in the question's context (None when it is not an expression)."""
    import sympy as sp

    from .adapters import adapter
    from .questions import question
    from .symbolic import from_sympy

    claim = next((c for c in refuted_claims(qid) if c.id == claim_id), None)
    q = question(qid)
    if claim is None or q.context is None or not isinstance(claim.answer, sp.Basic):
        return None
    aliases, handlers = adapter(q.spec.adapter)(q.context) if q.spec.adapter else ({}, {})
    try:
        return from_sympy(claim.answer, q.context, aliases, handlers)
    except Exception:  # noqa: BLE001 - a notation the bridge does not know: no diagnosis
        return None


def _statement(claim_id: str, ctx) -> Optional[tuple]:
    st = STATEMENTS.get(claim_id)
    if st is None or ctx is None:
        return None
    return _read_statement(claim_id, ctx.name, ctx)


_STATEMENT_CACHE: dict = {}


def _read_statement(claim_id: str, ctx_name: str, ctx) -> Optional[tuple]:
    key = (claim_id, ctx_name, id(ctx))
    if key in _STATEMENT_CACHE:
        return _STATEMENT_CACHE[key]
    from .semantics import resolve_text

    lhs, rel, rhs = STATEMENTS[claim_id]
    try:
        out = (resolve_text(lhs, ctx, trusted=True), rel, resolve_text(rhs, ctx, trusted=True))
    except Exception:  # noqa: BLE001 - the context does not have this statement's objects
        out = None
    _STATEMENT_CACHE[key] = out
    return out


# --------------------------------------------------------------------------------------------
# engine helpers
# --------------------------------------------------------------------------------------------
def _holds(eng, a: Expr, rel: str, b: Expr, deadline: float) -> bool:
    if time.perf_counter() > deadline:
        return False
    try:
        j = eng.judge(a, rel, b, symbolic=False, deadline=deadline)
    except Exception:  # noqa: BLE001
        return False
    return j.verdict is Verdict.HOLDS


def _same_residual(eng, l1: Expr, r1: Expr, l2: Expr, r2: Expr, deadline: float) -> bool:
    """l1 - r1 equals l2 - r2 or r2 - l2, and is not zero."""
    d1, d2 = X.sub(l1, r1), X.sub(l2, r2)
    if _holds(eng, d1, "=", X.num(0), deadline):
        return False
    return _holds(eng, d1, "=", d2, deadline) or _holds(eng, d1, "=", X.neg(d2), deadline)


# --------------------------------------------------------------------------------------------
# structural variants of an expression
# --------------------------------------------------------------------------------------------
def _replace(e: Expr, target: Expr, new: Expr) -> Expr:
    if e is target:
        return new
    if not e.args:
        return e
    args = tuple(_replace(a, target, new) if isinstance(a, Expr) else a for a in e.args)
    return e if args == e.args else Expr(e.op, args, e.value)


def _matrix_like(e: Expr, ctx) -> bool:
    if e.op in ("T", "inv", "kron", "matrix"):
        return True
    if e.op == "sym" and ctx is not None:
        o = ctx.lookup(e.value)
        return o is not None and o.kind in ("matrix", "vector")
    if e.op == "mul":
        return any(_matrix_like(a, ctx) for a in e.args)
    if e.op in ("add", "neg"):
        return any(_matrix_like(a, ctx) for a in e.args if isinstance(a, Expr))
    return False


def swapped_factor_variants(e: Expr, ctx) -> list:
    """``e`` with the factors of one non-commuting product reversed, or two adjacent ones swapped."""
    out = []
    for node in e.walk():
        if node.op == "mul" and sum(_matrix_like(a, ctx) for a in node.args) >= 2:
            orders = [tuple(reversed(node.args))]
            orders += [node.args[:i] + (node.args[i + 1], node.args[i]) + node.args[i + 2:]
                       for i in range(len(node.args) - 1)]
            for args in orders:
                if args != node.args:
                    out.append(_replace(e, node, Expr("mul", args, node.value)))
        if node.op == "kron" and len(node.args) == 2:
            out.append(_replace(e, node, Expr("kron", tuple(reversed(node.args)), node.value)))
    krons = [n for n in e.walk() if n.op == "kron" and len(n.args) == 2]
    if len(krons) > 1:  # every Kronecker product written the other way round (the vec convention)
        def flip(n: Expr) -> Expr:
            args = tuple(flip(a) if isinstance(a, Expr) else a for a in n.args)
            return Expr(n.op, tuple(reversed(args)) if n.op == "kron" and len(args) == 2 else args, n.value)
        out.append(flip(e))
    return out


def transpose_variants(e: Expr, ctx) -> tuple:
    """(``e`` with one transpose removed, ``e`` with one matrix transposed)."""
    fewer, more = [], []
    under_t = {id(n.args[0]) for n in e.walk() if n.op == "T"}
    for node in e.walk():
        if node.op == "T":
            fewer.append(_replace(e, node, node.args[0]))
        elif node.op == "sym" and ctx is not None and id(node) not in under_t:
            o = ctx.lookup(node.value)
            if o is not None and o.kind == "matrix" and o.structure not in ("spd", "symmetric"):
                more.append(_replace(e, node, Expr("T", (node,))))
    return fewer, more


def kl_variants(e: Expr) -> list:
    return [_replace(e, node, Expr(node.op, tuple(reversed(node.args)), node.value))
            for node in e.walk() if node.op == "kl" and len(node.args) == 2]


_STRUCTURAL = (
    ("swapped-factors", "the factors of a matrix product are in the wrong order (matrices do not commute)"),
    ("missing-transpose", "a transpose is missing"),
    ("extra-transpose", "one transpose too many"),
    ("kl-direction", "the arguments of the KL divergence are swapped (forward vs reverse KL)"),
)


def _structural(eng, ctx, student: Expr, target: Expr, deadline: float) -> Optional[Slip]:
    fewer, more = transpose_variants(student, ctx)
    groups = {"swapped-factors": swapped_factor_variants(student, ctx), "missing-transpose": more,
              "extra-transpose": fewer, "kl-direction": kl_variants(student)}
    for kind, message in _STRUCTURAL:
        for v in groups[kind][:MAX_VARIANTS]:
            if _holds(eng, v, "=", target, deadline):
                return Slip(kind, message)
    return None


# --------------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------------
def _qid(question) -> str:
    return question if isinstance(question, str) else question.id


def find_slip(question, student: Any, key: Any, context=None, engine=None, *,
              deadline: Optional[float] = None) -> Optional[Slip]:
    """The known slip a wrong ``student`` answer makes (see :func:`diagnose`), with staff data."""
    qid = _qid(question)
    try:
        refuted_claims(qid)  # loads the registry once, outside the diagnosis budget
    except Exception:  # noqa: BLE001
        return None
    deadline = deadline if deadline is not None else time.perf_counter() + BUDGET_S
    try:
        if isinstance(student, tuple) and len(student) == 3:  # a relation (lhs, rel, rhs)
            return _relation_slip(qid, *student, context, engine, deadline)
        if _label_answer(student):
            given = _norm_label(student)
            for c in refuted_claims(qid):
                if isinstance(c.answer, (str, dict)) and _norm_label(c.answer) == given:
                    return _answer_set_slip(c)
            if isinstance(student, dict) and isinstance(key, dict):
                flip = {"forward": "reverse", "reverse": "forward"}
                flipped = {k: flip.get(v, v) for k, v in given.items()}
                if flipped == _norm_label(key) and flipped != given:
                    return Slip("kl-direction", "forward and reverse KL are swapped")
            return None
        if isinstance(student, Expr) and isinstance(key, Expr) and engine is not None:
            for c in refuted_claims(qid):
                ref = _claim_expr(c.id, qid)
                if ref is not None and _holds(engine, student, "=", ref, deadline) \
                        and not _holds(engine, ref, "=", key, deadline):
                    return _answer_set_slip(c)
            return _structural(engine, context, student, key, deadline)
    except Exception:  # noqa: BLE001 - a diagnosis never breaks grading
        return None
    return None


_REVERSED = {"<=": ">=", ">=": "<=", "<": ">", ">": "<"}


def _relation_slip(qid, lhs, rel, rhs, ctx, eng, deadline) -> Optional[Slip]:
    if lhs is None or rhs is None or eng is None:
        return None
    if rel in ("=", "==") or rel in _REVERSED:
        for c in refuted_claims(qid):
            st = _statement(c.id, ctx)
            if st is not None and _same_residual(eng, lhs, rhs, st[0], st[2], deadline):
                return _answer_set_slip(c)
    if rel in _REVERSED and _holds(eng, lhs, _REVERSED[rel], rhs, deadline) \
            and not _holds(eng, lhs, "=", rhs, deadline):
        return Slip("reversed-inequality", "the inequality points the wrong way")
    if rel in ("=", "=="):
        return _structural(eng, ctx, rhs, lhs, deadline) or _structural(eng, ctx, lhs, rhs, deadline)
    return None


def diagnose(question, student_expr_or_relation: Any, key: Any, context=None, engine=None) -> Optional[str]:
    """A student-safe sentence naming the known slip of a wrong answer, or None.

    ``student_expr_or_relation``: an :class:`~.expr.Expr` (judged against ``key``, an Expr), a relation
    ``(lhs, rel, rhs)`` of Exprs (a failing step, or a side of an equation chain against the key), or an
    option label / mapping (compared with the refuted claims' answers).  Never names the right answer."""
    slip = find_slip(question, student_expr_or_relation, key, context, engine)
    return slip.message if slip else None


def diagnose_step(qid: str, left: Optional[Expr], rel: str, right: Optional[Expr], context, engine) -> str:
    """For the step checker: the slip of a failing step ``left rel right`` ("" when none is known)."""
    slip = find_slip(qid, (left, rel, right), None, context, engine)
    return slip.message if slip else ""


def slip_record(question, student: Any, key: Any, context=None, engine=None) -> Optional[dict]:
    """:func:`find_slip` as a dict for ``Result.staff`` (claim and note included)."""
    slip = find_slip(question, student, key, context, engine)
    return slip.to_dict() if slip else None


__all__ = ["HINTS", "STATEMENTS", "Slip", "diagnose", "diagnose_step", "find_slip", "refuted_claims",
           "slip_record", "swapped_factor_variants", "transpose_variants", "kl_variants"]


def annotate(result, question, student: Any, key: Any, context=None, engine=None):
    """Add the slip of an incorrect ``result`` (a :class:`~.results.Result`) to its message (student-safe)
    and its staff data (claim and note); returns the result."""
    if getattr(result, "verdict", None) != "incorrect":
        return result
    slip = find_slip(question, student, key, context, engine)
    if slip is not None:
        result.message = f"{result.message.rstrip('. ')}. Known slip: {slip.message}"
        result.details["slip"] = slip.kind
        result.staff["slip"] = slip.to_dict()
    return result
