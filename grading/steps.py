r"""The step checker: a derivation graded line by line.

A submission to a ``derivation`` question is a YAML list of LaTeX steps (a
single string is split at its line breaks).  A step is

* a **full relation** ``lhs = rhs``, possibly a chain ``a = b \geq c`` (every
  relation of the chain is checked, not only the last one);
* a **continuation** that starts with a relation symbol (``=``, ``\geq``,
  ``\leq``, ``<``, ``>``, ``\propto``) and continues from the previous step's
  last side; ``= \text{const} + ...`` says "equal up to an additive term that
  does not depend on the question's parameters" (accepted only where the
  question allows it: :attr:`DerivationSpec.up_to_constant_in`);
* an optimisation wrapper ``\arg\max_{\theta}`` on both sides of a relation:
  the relation is then "equal up to a term constant in theta" (the maximisers
  agree), again only where the question allows it.

Each relation is judged by the question's :class:`~grading.engine.Engine` on
random instances of its notation context (SymPy confirms equalities where it
can); inequalities are checked as inequalities.  The derivation is

* ``correct`` when every step holds and some chain of steps relates the two
  sides of the relation asked for (in either orientation, terms may be moved
  from one side to the other) with a relation at least as strong;
* ``incorrect`` at the first step that fails, with a short counterexample
  (the instance's sizes and scalar values and both sides' values);
* ``partial`` when every step holds but no chain reaches the relation asked
  for (``details["missing"]`` says what is missing; half the points);
* ``unparseable`` at the first step that cannot be read (the other steps are
  still checked and reported).

Whether a chain *reaches* the target is decided on free instances
(:class:`FreeEvaluator`: definitions opaque, densities unnormalised, a joint's
marginals independent), because every side of a true equality chain has the
target's value; only the form tells a finished derivation from one that stops
half-way.  Free indices (``d_{ij}^2 = 1 - z_i^\top z_j``) are quantified over all
values; a flow's paired points (x = F(u)) are compared point by point; notation
the grammar lacks is rewritten by the question's ``rewrites`` (plain regular
expressions on the text, nothing is evaluated).

The relation asked for (the "target") is read from the question's
``derivation:`` block of the catalogue (``derivcheck/questions.yaml``); it is
shown to staff only (``Result.staff``).  Student-facing text shows the
student's own steps and values.
"""
from __future__ import annotations

import functools
import itertools
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from derivcheck.model import Verdict

from . import expr as X
from .context import Context
from .instances import Instance, Val
from .engine import Engine, Judgement, _short
from .errors import EvalError
from .evaluate import Evaluator
from .expr import Expr, to_text
from .kinds import grades
from .results import CORRECT, INCORRECT, NEEDS_HUMAN, PARTIAL, UNPARSEABLE, Result
from .semantics import readings
from .syntax import ParseError, TooCostly

PARTIAL_CREDIT = 0.5
MAX_STEPS = 60
MAX_TERMS = 9  # target matching: larger sums fall back to side-by-side matching

HOLDS, FAILS, UNREADABLE, UNCHECKED, HUMAN = "holds", "fails", "unparseable", "unchecked", "needs-human"

#: relation symbols of a step, as written -> canonical
_REL_TEXT = [
    (r"\\coloneqq", ":="), (r":=", ":="), (r"\\triangleq", ":="), (r"\\equiv", "="),
    (r"\\leqslant", "<="), (r"\\geqslant", ">="), (r"\\leq", "<="), (r"\\geq", ">="), (r"\\le(?![a-zA-Z])", "<="),
    (r"\\ge(?![a-zA-Z])", ">="), (r"\\propto", "propto"), (r"\\approx", "~="), (r"\\neq", "!="), (r"\\ne(?![a-zA-Z])", "!="),
    (r"<=", "<="), (r">=", ">="), (r"!=", "!="), (r"=", "="), (r"<", "<"), (r">", ">"),
]
_REL_RE = re.compile("|".join(f"(?:{p})" for p, _ in _REL_TEXT))
_CONST_PLUS = re.compile(
    r"^\s*(?:\\(?:text|mathrm|operatorname)\{\s*(?:const|cst|constant)\.?\s*\}|const\.?|cst|C)\s*\+\s*")
_ARGMAX = re.compile(
    r"\\(?:arg\s*\\max|argmax|operatorname\*?\{\s*arg\s*(?:\\,|\\;|\s)*max\s*\}|mathrm\{\s*arg\s*(?:\\,|\s)*max\s*\})"
    r"(?:\\limits)?\s*_\s*(\{[^{}]*\}|\\[A-Za-z]+|[A-Za-z])")
_ANNOTATION = re.compile(r"(\\quad|\\qquad|\\;|\\,|\s)*(\\text|\\textrm|\\mbox|\\tag|\\textit)\{[^{}]*\}\s*$")
_NOISE = re.compile(r"\\(?:nonumber|notag|displaystyle|label\{[^{}]*\})")


# --------------------------------------------------------------------------
# What a question's derivation block holds
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class DerivationSpec:
    """The ``derivation:`` block of a catalogue entry."""

    context: str
    target: str  # LaTeX of the relation asked for (trusted: parsed with the project's parser)
    up_to_constant_in: tuple = ()  # "= const +" and argmax steps are allowed, constant in these objects
    rewrites: tuple = ()  # (regex, replacement): notation the grammar lacks (\frac{\partial F(u)}{\partial u})
    note: str = ""

    @staticmethod
    def from_catalogue(block: dict, context: Optional[str] = None) -> "DerivationSpec":
        return DerivationSpec(context=str(block.get("context") or context), target=str(block["target"]),
                              up_to_constant_in=tuple(block.get("up_to_constant_in", ()) or ()),
                              rewrites=tuple((str(a), str(b)) for a, b in block.get("rewrites", ()) or ()),
                              note=str(block.get("note", "")))

    def rewrite(self, text: str) -> str:
        """Apply the notation rewrites (plain regex substitutions on the text; nothing is evaluated)."""
        for pattern, replacement in self.rewrites:
            text = _compiled(pattern).sub(lambda m, r=replacement: f" {_fill(r, m)} ", text)
        return text


def _fill(replacement: str, m) -> str:
    """The replacement with \\1..\\9 replaced by the match's groups (other backslashes are LaTeX, kept)."""
    return re.sub(r"\\([1-9])", lambda g: m.group(int(g.group(1))) or "", replacement)


@functools.lru_cache(maxsize=None)
def _compiled(pattern: str):
    return re.compile(pattern)


def derivation_spec(q) -> Optional[DerivationSpec]:
    """The question's ``derivation:`` block (its notation context is the question's ``context:``)."""
    block = (q.catalogue_spec or {}).get("derivation")
    if not isinstance(block, dict):
        return None
    return DerivationSpec.from_catalogue(block, q.spec.context)


def validate_block(block: dict) -> list:
    """Schema problems of a ``derivation:`` block, as (field, message) pairs."""
    out = []
    for k in block:
        if k not in ("context", "target", "up_to_constant_in", "rewrites", "note"):
            out.append((k, "unknown field (context, target, up_to_constant_in, rewrites, note)"))
    if not isinstance(block.get("target"), str):
        out.append(("target", "the relation asked for, in LaTeX (one relation: =, \\leq, \\geq; argmax allowed)"))
    for i, rw in enumerate(block.get("rewrites") or ()):
        if not (isinstance(rw, list) and len(rw) == 2 and all(isinstance(x, str) for x in rw)):
            out.append((f"rewrites[{i}]", "a rewrite is [REGEX, REPLACEMENT]"))
            continue
        try:
            re.compile(rw[0])
        except re.error as exc:
            out.append((f"rewrites[{i}]", f"not a regular expression: {exc}"))
    return out


def _register() -> None:
    from derivcheck import catalogue

    if hasattr(catalogue, "register_block"):
        catalogue.register_block("derivation", validate_block)


_register()


@functools.lru_cache(maxsize=None)
def _engine(context_name: str) -> Engine:
    from .questions import contexts

    return Engine(contexts()[context_name])


# --------------------------------------------------------------------------
# Splitting a submission into steps and a step into sides
# --------------------------------------------------------------------------
def split_steps(answer: Any) -> list:
    """The submitted steps as strings (a list as given; a string split at its line breaks)."""
    if isinstance(answer, (list, tuple)):
        return ["" if a is None else str(a) for a in answer]
    if isinstance(answer, dict):
        raise ValueError("a derivation is a list of steps, not a mapping")
    text = str(answer)
    parts = [p for p in re.split(r"\n|\\\\(?![a-zA-Z])", text) if p.strip()]
    return parts


def _clean(text: str) -> str:
    t = _NOISE.sub(" ", text)
    t = t.replace("&", " ")
    t = re.sub(r"\\\\\s*$", "", t.strip())
    prev = None
    while prev != t:  # trailing justifications: \quad \text{(Jensen)}
        prev = t
        t = _ANNOTATION.sub("", t).strip()
    return t.strip().rstrip(".,;").strip()


def split_relations(text: str) -> tuple:
    """``(sides, relations)`` of a step, split at relation symbols outside brackets.

    ``sides[0]`` is ``""`` for a continuation.  Subscripts such as ``\\sum_{j=1}`` are inside
    braces and are not split."""
    sides, rels = [], []
    depth, start, i = 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            depth += 1 if text[i + 1] == "{" else -1
            i += 2
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            m = _REL_RE.match(text, i)
            if m and not (ch == "\\" and not _is_relation_command(m.group())):
                sides.append(text[start:i].strip())
                rels.append(_canon_rel(m.group()))
                i = m.end()
                start = i
                continue
            if ch == "\\":  # skip a whole command name so that \left, \geq are not split inside
                m2 = re.match(r"\\[A-Za-z]+", text[i:])
                if m2:
                    i += len(m2.group())
                    continue
        i += 1
    sides.append(text[start:].strip())
    return sides, rels


def _is_relation_command(s: str) -> bool:
    return any(re.fullmatch(p, s) for p, _ in _REL_TEXT)


def _canon_rel(s: str) -> str:
    for p, c in _REL_TEXT:
        if re.fullmatch(p, s):
            return c
    return s  # pragma: no cover


# --------------------------------------------------------------------------
# Step records
# --------------------------------------------------------------------------
@dataclass
class Side:
    text: str
    expr: Optional[Expr] = None
    error: str = ""
    position: Optional[int] = None
    alternatives: tuple = ()  # other readings of ambiguous notation

    @property
    def ok(self) -> bool:
        return self.expr is not None


@dataclass
class Link:
    """One relation ``left REL right`` of a step."""

    left: Optional[Side]
    rel: str
    right: Side
    up_to_constant: bool = False  # "= const + ..." or argmax on both sides
    verdict: str = UNCHECKED
    message: str = ""
    method: str = ""
    confirmed_by: str = ""
    counterexample: Optional[dict] = None
    slip: str = ""
    defines: bool = False  # "NEW := expr": a definition, not a relation to check


@dataclass
class Step:
    index: int
    text: str
    links: list = field(default_factory=list)
    start: Optional[Side] = None  # the step's own first side (None for a continuation)
    verdict: str = UNCHECKED
    message: str = ""
    note: str = ""

    def relation_text(self) -> str:
        return " ".join(lk.rel if not lk.up_to_constant else f"{lk.rel} const +" for lk in self.links)


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------
def wrap_integrands(text: str, variables) -> str:
    r"""``\int_u A \cdot B\, du`` -> ``\int_u {A \cdot B} du``: the integrand runs to its differential, so a
    product written with ``\cdot`` (or a sum) inside an integral is read as one integrand."""
    if "\\int" not in text or not variables:
        return text
    diff = re.compile(r"(?<![A-Za-z\\])d\s*(" + "|".join(re.escape(v) for v in variables) + r")(?![A-Za-z0-9_])")
    out, i = [], 0
    for m in re.finditer(r"\\int(?![a-zA-Z])", text):
        if m.start() < i:
            continue
        j = m.end()
        sub = re.match(r"\s*_\s*", text[j:])
        if sub:  # the integral's subscript: one letter or a balanced brace group (\int_{\mathcal{X}})
            k0 = j + sub.end()
            if k0 < len(text) and text[k0] == "{":
                depth0 = 0
                for k1 in range(k0, len(text)):
                    depth0 += {"{": 1, "}": -1}.get(text[k1], 0)
                    if depth0 == 0:
                        j = k1 + 1
                        break
            elif k0 < len(text) and text[k0] == "\\":
                m2 = re.match(r"\\[A-Za-z]+", text[k0:])
                j = k0 + (m2.end() if m2 else 1)
            else:
                j = k0 + 1
        depth, k = 0, j
        while k < len(text):
            ch = text[k]
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
                if depth < 0:
                    break
            elif depth == 0 and ch == "d":
                dm = diff.match(text, k)
                if dm and (k == 0 or not (text[k - 1].isalpha() or text[k - 1] == "\\")):
                    out.append(text[i:j] + " {" + text[j:k] + "} ")
                    i = k
                    break
            k += 1
    out.append(text[i:])
    return "".join(out)


def _read_side(text: str, ctx: Context, local: Optional[dict] = None) -> Side:
    if not text.strip():
        return Side(text, error="an empty side")
    try:
        rds = readings(wrap_integrands(text, ctx.axis_names), ctx, local=local)
    except TooCostly:
        raise
    except ParseError as exc:
        return Side(text, error=exc.describe(), position=exc.position)
    return Side(text, rds[0].expr, alternatives=tuple(r.expr for r in rds[1:]))


def _defined_name(text: str, ctx: Context) -> Optional[str]:
    """The name a step defines when its first side is a new symbol (``A := ...``, ``\\mathcal{L}_{VAE} = ...``):
    a plain (sub/superscripted) name that is not part of the question's notation."""
    from .context import canonical
    from .semantics import build_name
    from .syntax import parse

    try:
        tree = parse(text)
    except ParseError:
        return None
    name = build_name(tree)
    if name is None or ctx.lookup(name) is not None or ctx.var(name) is not None:
        return None
    return canonical(name)


def _read_step(index: int, raw: str, ctx: Context, spec: Optional["DerivationSpec"] = None,
               local: Optional[dict] = None) -> Step:
    """Read one step; a step ``NEW := expr`` (or ``NEW = expr``) adds NEW to ``local`` for the later steps."""
    local = {} if local is None else local
    step = Step(index, raw)
    text = _clean(raw)
    if spec is not None:
        text = spec.rewrite(text)
    argmax_vars = [m.group(1).strip("{} \\") for m in _ARGMAX.finditer(text)]
    if argmax_vars:
        text = _ARGMAX.sub(" ", text)
        step.note = f"argmax over {', '.join(sorted(set(argmax_vars)))}"
    sides, rels = split_relations(text)
    if not rels:
        step.start = _read_side(sides[0], ctx, local)
        return step
    first = sides[0]
    step.start = _read_side(first, ctx, local) if first.strip() else None
    left = step.start
    for rel, side_text in zip(rels, sides[1:]):
        up_to_const = bool(argmax_vars)
        m = _CONST_PLUS.match(side_text) if rel == "=" else None
        if m:
            side_text = side_text[m.end():]
            up_to_const = True
        right = _read_side(side_text, ctx, local)
        step.links.append(Link(left, rel, right, up_to_constant=up_to_const))
        left = right
    if step.start is not None and not step.start.ok and step.links and step.links[0].rel in ("=", ":=") \
            and step.links[0].right.ok and not argmax_vars:
        name = _defined_name(first, ctx)
        if name is not None and name not in local:
            local[name] = step.links[0].right.expr
            step.links[0].verdict = HOLDS
            step.links[0].message = f"defines {first.strip()} (used as such in the later steps)"
            step.links[0].confirmed_by = "definition"
            step.note = f"defines {first.strip()}"
            step.start = None
            step.links[0].left = None
            step.links[0].defines = True
    return step


# --------------------------------------------------------------------------
# Judging one relation
# --------------------------------------------------------------------------
def _cex_short(inst: Instance, lhs, rhs) -> dict:
    """A short counterexample: sizes and scalar values of the instance, both sides' values."""
    desc = {}
    for k, v in inst.dims.items():
        desc[k] = v
    for k, v in inst.supports.items():
        var = inst.context.var(k)
        if var is not None and (getattr(var, "copy_of", "") or getattr(var, "like", "")):
            continue  # the same size as the variable it copies or is paired with
        desc[f"|{k}|"] = v
    for name, val in inst.values.items():
        a = np.asarray(val.arr)
        if val.kind == "s" and a.size == 1:
            desc[name] = val.short()
    return {"instance": desc, "lhs": None if lhs is None else _short(lhs),
            "rhs": None if rhs is None else _short(rhs)}


def _values(eng: Engine, e: Expr, k: int, deadline):
    o = eng.outcome(e, k, deadline)
    return o.value


def _judge_link(link: Link, eng: Engine, spec: DerivationSpec, deadline: float) -> None:
    """Judge one relation; ambiguous notation is judged in every reading, and readings that disagree
    send the relation to a person with both readings spelled out."""
    _judge_one(link, eng, spec, deadline)
    left, right = link.left, link.right
    if left is None or not left.ok or not right.ok or link.verdict not in (HOLDS, FAILS):
        return
    alts = [(a, b) for a in (left.expr,) + left.alternatives for b in (right.expr,) + right.alternatives][1:4]
    for a, b in alts:
        other = Link(Side(left.text, a), link.rel, Side(right.text, b), up_to_constant=link.up_to_constant)
        _judge_one(other, eng, spec, deadline)
        if other.verdict == link.verdict:
            continue
        if other.verdict not in (HOLDS, FAILS):
            link.verdict, link.message = HUMAN, f"ambiguous notation, one reading undecided: {other.message}"
            return
        holds, fails = (link, other) if link.verdict == HOLDS else (other, link)
        read = f"{to_text(holds.left.expr)} {link.rel} {to_text(holds.right.expr)}"
        wrong = f"{to_text(fails.left.expr)} {link.rel} {to_text(fails.right.expr)}"
        if holds is other:
            link.verdict, link.method, link.confirmed_by = HOLDS, other.method, other.confirmed_by
            link.counterexample = None
        link.message = (f"holds when read as {read} (the notation is ambiguous: read as {wrong} it would not "
                        "hold; add brackets)")
        return


def _judge_one(link: Link, eng: Engine, spec: DerivationSpec, deadline: float) -> None:
    left, right, rel = link.left, link.right, link.rel
    if left is None:
        link.verdict, link.message = UNREADABLE, "a continuation with no previous step to continue from"
        return
    if not left.ok or not right.ok:
        bad = right if not right.ok else left
        if bad is right:
            link.verdict = UNREADABLE
            link.message = f"cannot read {bad.text!r}: {bad.error}"
        else:
            link.verdict = UNCHECKED
            link.message = f"not checked: its left side {left.text!r} could not be read"
        return
    if rel in ("!=", "~="):
        link.verdict = UNCHECKED
        link.message = f"a relation '{rel}' is not a derivation step (use =, \\leq, \\geq)"
        return
    if link.up_to_constant and not spec.up_to_constant_in:
        link.verdict = FAILS
        link.message = ("this question asks for exact relations: dropping a term (\"= const + ...\" or an argmax) "
                        "is not allowed here")
        return
    lhs, rhs = _quantified(left.expr, right.expr)
    rhs = _paired(lhs, rhs, eng, deadline)
    if rel == "propto":
        _judge_propto(link, eng, deadline)
        return
    relation = "=" if rel in ("=", ":=") else rel
    if link.up_to_constant:
        j = eng.judge(lhs, "=", rhs, reference_side="lhs", deadline=deadline,
                      up_to_constant_in=spec.up_to_constant_in)
        _record(link, j, eng, lhs, rhs, deadline)
        if j.verdict is Verdict.HOLDS:
            link.message = f"equal up to a term that does not depend on {', '.join(spec.up_to_constant_in)}"
        return
    j = eng.judge(lhs, relation, rhs, reference_side="lhs", deadline=deadline)
    if j.verdict is Verdict.FAILS and relation == "=" and spec.up_to_constant_in:
        j2 = eng.judge(lhs, "=", rhs, reference_side="lhs", deadline=deadline,
                       up_to_constant_in=spec.up_to_constant_in)
        if j2.verdict is Verdict.HOLDS:
            link.up_to_constant = True
            _record(link, j2, eng, lhs, rhs, deadline)
            link.message = (f"not equal, but equal up to a term that does not depend on "
                            f"{', '.join(spec.up_to_constant_in)} (allowed in this question)")
            return
    _record(link, j, eng, lhs, rhs, deadline)
    if link.verdict == HOLDS and relation in ("<", ">"):
        same = eng.judge(lhs, "=", rhs, reference_side="lhs", deadline=deadline, symbolic=False)
        if same.verdict is Verdict.HOLDS:
            link.verdict = FAILS
            link.message = (f"does not hold: the two sides are equal on every instance ({same.instances} random "
                            f"instances), so the strict inequality '{relation}' is false (write = or a non-strict "
                            "inequality)")
            k = next((i for i, r in enumerate(eng.reference(lhs)) if r.ok), None)
            if k is not None:
                link.counterexample = _cex_short(eng.instances[k], _values(eng, lhs, k, deadline),
                                                 _values(eng, rhs, k, deadline))
            return
    if link.verdict == FAILS and relation in ("<=", ">=", "<", ">"):
        flipped = {"<=": ">=", ">=": "<=", "<": ">", ">": "<"}[relation]
        j3 = eng.judge(lhs, flipped, rhs, reference_side="lhs", deadline=deadline, symbolic=False)
        if j3.verdict is Verdict.HOLDS:
            link.slip = "reversed inequality"
            link.message += f"; the opposite relation ({flipped}) holds: the inequality is reversed"


def free_indices(e: Expr, bound: frozenset = frozenset()) -> set:
    """Index names used in ``e`` outside any sum or product that binds them."""
    if e.op == "bound":
        return set() if e.value in bound else {e.value}
    inner = bound | {e.value} if e.op in ("sum", "prod") and isinstance(e.value, str) else bound
    out = set()
    for i, a in enumerate(e.args):
        if isinstance(a, Expr):
            # a sum's limits are outside its binding; its body (and excluded index) inside
            out |= free_indices(a, bound if e.op in ("sum", "prod") and i < 2 else inner)
    return out


def _quantified(lhs: Expr, rhs: Expr) -> tuple:
    """Both sides for every value of the free indices they use (``d_{ij}^2 = 1 - z_i^T z_j``)."""
    names = tuple(sorted(free_indices(lhs) | free_indices(rhs)))
    if not names:
        return lhs, rhs
    return Expr("forall", (lhs,), names), Expr("forall", (rhs,), names)


def _paired(lhs: Expr, rhs: Expr, eng: Engine, deadline) -> Expr:
    """A flow pairs its variables (x = F(u)): a side written in x against a side written in u is compared
    point by point at paired points, ``|det ∂F^{-1}(x)/∂x| = |det ∂F(u)/∂u|^{-1}`` with x = F(u)."""
    pairs = [(v.name, v.like) for v in eng.ctx.variables if getattr(v, "like", "")]
    if not pairs:
        return rhs
    k = next((i for i in range(len(eng.instances)) if eng.outcome(lhs, i, deadline).ok), None)
    if k is None:
        return rhs
    dl, dr = set(_depends(eng, eng.outcome(lhs, k, deadline).value, k)), \
        set(_depends(eng, eng.outcome(rhs, k, deadline).value, k))
    for a, b in pairs:
        if dl == {a} and dr == {b}:
            return Expr("transport", (rhs,), (b, a))
        if dl == {b} and dr == {a}:
            return Expr("transport", (rhs,), (a, b))
    return rhs


def _record(link: Link, j: Judgement, eng: Engine, lhs: Expr, rhs: Expr, deadline) -> None:
    link.method = j.method
    if j.verdict is Verdict.HOLDS:
        link.verdict = HOLDS
        link.confirmed_by = "sympy" if j.symbolic else f"random instances (n={j.instances})"
        link.message = "holds" + (" (SymPy confirmed it)" if j.symbolic else
                                  f" on {j.instances} random instances (SymPy could not confirm it)")
        return
    if j.verdict is Verdict.INCONCLUSIVE:
        link.verdict = HUMAN
        link.message = f"could not be decided: {j.method}"
        return
    link.verdict = FAILS
    link.confirmed_by = "sympy" if j.symbolic is False else f"random instances (n={max(j.instances, 1)})"
    cex = j.counterexample or {}
    k = cex.get("k")
    if k is not None:
        lv, rv = _values(eng, lhs, k, deadline), _values(eng, rhs, k, deadline)
        link.counterexample = _cex_short(eng.instances[k], lv, rv)
        c = link.counterexample
        inst = ", ".join(f"{a} = {b}" for a, b in c["instance"].items())
        link.message = (f"does not hold ({j.detail or j.method}): on the instance {inst} the left side is "
                        f"{c['lhs']} and the right side is {c['rhs']}")
        dl, dr = _depends(eng, lv, k), _depends(eng, rv, k)
        if dl != dr:
            link.message += (f"; the left side depends on {', '.join(dl) or 'no variable'}, the right side on "
                             f"{', '.join(dr) or 'no variable'}")
    else:
        link.message = f"does not hold: {j.detail or j.method}"


def _depends(eng: Engine, v, k: int) -> list:
    """The support variables a value varies over (a random quantity depends on its samples)."""
    if v is None:
        return []
    inst = eng.instances[k]
    shape = np.asarray(v.arr).shape
    names = inst.context.axis_names
    return [n for i, n in enumerate(names) if i < len(shape) and shape[i] > 1]


def _judge_propto(link: Link, eng: Engine, deadline) -> None:
    """a ∝ b: the ratio a/b is the same at every point of the supports (a positive constant)."""
    lhs, rhs = link.left.expr, link.right.expr
    used = 0
    for k in range(len(eng.instances)):
        if used >= eng.n:
            break
        a, b = eng.outcome(lhs, k, deadline), eng.outcome(rhs, k, deadline)
        if not (a.ok and b.ok) or a.value.kind != "s" or b.value.kind != "s":
            continue
        with np.errstate(all="ignore"):
            x, y = np.broadcast_arrays(a.value.arr, b.value.arr)
            ratio = x / y
        if not np.all(np.isfinite(ratio)):
            continue
        used += 1
        r0 = ratio.reshape(-1)[0]
        if np.any(np.abs(ratio - r0) > 1e-9 * (np.abs(ratio) + abs(r0)) + 1e-12) or r0.real <= 0:
            link.verdict = FAILS
            link.confirmed_by = f"random instances (n={used})"
            link.counterexample = _cex_short(eng.instances[k], a.value, b.value)
            link.message = "does not hold: the ratio of the two sides changes across the support"
            return
    if used == 0:
        link.verdict, link.message = HUMAN, "could not be decided: no instance where both sides have values"
        return
    link.verdict = HOLDS
    link.confirmed_by = f"random instances (n={used})"
    link.method = f"numeric: the ratio is one positive constant on {used} random instances"
    link.message = "holds (proportional)"


# --------------------------------------------------------------------------
# Chains and the relation asked for
# --------------------------------------------------------------------------
@dataclass
class Chain:
    first: Side
    last: Side
    rels: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    up_to_constant: bool = False

    def composite(self) -> Optional[str]:
        kinds = {r for r in self.rels}
        kinds.discard("=")
        kinds.discard(":=")
        if not kinds:
            return "="
        if kinds <= {"<=", "<"}:
            return "<="
        if kinds <= {">=", ">"}:
            return ">="
        return None  # mixed directions (or proportional) establish no relation


def _chains(steps: list) -> list:
    out = []
    cur: Optional[Chain] = None
    for st in steps:
        if st.start is not None and st.start.ok:
            cur = Chain(st.start, st.start, steps=[st.index])
            out.append(cur)
        elif st.start is not None:  # an unreadable left label: the chain starts at its first readable side
            cur = None
        for lk in st.links:
            if not lk.right.ok:
                cur = None
                continue
            if cur is None or lk.left is None or not lk.left.ok:
                cur = Chain(lk.right, lk.right, steps=[st.index])
                out.append(cur)
                continue
            cur.last = lk.right
            cur.rels.append(lk.rel)
            cur.up_to_constant |= lk.up_to_constant
            if st.index not in cur.steps:
                cur.steps.append(st.index)
    return [c for c in out if c.rels]


def _terms(e: Expr, sign: int = 1) -> list:
    if e.op == "add":
        return [t for a in e.args for t in _terms(a, sign)]
    if e.op == "neg":
        return _terms(e.args[0], -sign)
    return [(sign, e)]


class FreeEvaluator(Evaluator):
    """Evaluation on a *free* instance, to tell the form of an expression from its value.

    A derivation's sides are all equal in value, so "the chain ends at the relation asked for" cannot be
    decided on the question's instances.  Here every defined object (the ELBO, F_1, p_{F(U)}, a measure, w_j)
    is an opaque random value, every base density a random positive table (not normalised) and every
    marginal or conditional of a joint density an independent table.  Two expressions agree on free
    instances when they are the same expression up to algebra, not when a property of the model
    (normalisation, Bayes' rule, a definition, a change of variables) makes them equal."""

    def __init__(self, instance: Instance, deadline=None, seed: int = 0):
        super().__init__(instance, deadline)
        self.seed = seed
        self.opaque: dict = {}

    def _free(self, key, real: Val, positive: bool = True) -> Val:
        hit = self.opaque.get(key)
        if hit is not None:
            return hit
        rng = np.random.default_rng([self.seed, zlib.crc32(repr(key).encode())])
        shape = np.asarray(real.arr).shape
        if real.kind == "m" and not positive:
            arr = rng.normal(size=shape)
        else:
            arr = rng.uniform(0.5, 2.0, size=shape)
        v = Val(np.asarray(arr, dtype=complex), real.kind)
        self.opaque[key] = v
        return v

    def e_sym(self, e):
        name = e.value
        if name in self.bound:
            return self.e_bound(e)
        obj = self.ctx.lookup(name)
        real = super().e_sym(e)
        if obj is None:
            return real
        if obj.definition is not None:
            return self._free(("def", obj.name), real, positive=obj.kind not in ("matrix", "vector"))
        if obj.kind == "density":
            return self._free(("density", obj.name), real)
        return real

    def e_density(self, e):
        name, vars_, given = e.value
        obj = self.ctx.lookup(name)
        real = super().e_density(e)
        if obj is not None and obj.kind == "joint":
            return self._free(("joint", name, tuple(vars_), tuple(given)), real)
        return real

    def e_at(self, e):
        obj = self.ctx.lookup(e.value)
        real = super().e_at(e)
        if obj is not None and obj.definition is not None:
            idx = tuple(self._int_value(self.visit(a), "an index") for a in e.args)
            return self._free(("at", obj.name, idx), real, positive=obj.kind not in ("matrix", "vector"))
        return real

    def e_open_at(self, e):
        return super().e_at(Expr("at", e.args, e.value))


def expand_fields(e: Expr, ctx: Context) -> Expr:
    """One level of definitions opened: defined scalar quantities (the ELBO, L_k, J) are replaced by their
    definitions; matrices and densities named in the question (F_1, p_{F(U)}) stay names: reaching them is
    part of the derivation."""
    from .semantics import definition

    if e.op == "sym":
        obj = ctx.lookup(e.value)
        if obj is not None and obj.definition is not None and obj.kind in ("field", "scalar"):
            return definition(ctx, obj.name)
        return e
    if e.op == "at":
        obj = ctx.lookup(e.value)
        if obj is not None and obj.definition is not None:
            return Expr("open_at", e.args, e.value)
        return e
    if not e.args:
        return e
    return Expr(e.op, tuple(expand_fields(a, ctx) if isinstance(a, Expr) else a for a in e.args), e.value)


class _Vectors:
    """Values of expressions on free instances (:class:`FreeEvaluator`), flattened to one comparable vector."""

    def __init__(self, eng: Engine, deadline, n: int = 4):
        self.eng = eng
        self.deadline = deadline
        self.evaluators = [FreeEvaluator(eng.instances[k], deadline, seed=eng.seed + k)
                           for k in range(min(n, len(eng.instances)))]

    def of(self, e: Expr) -> Optional[np.ndarray]:
        parts = []
        for ev in self.evaluators:
            inst = ev.inst
            shape = tuple(inst.supports[v] for v in inst.context.axis_names)
            try:
                with np.errstate(all="ignore"):
                    v = ev.value(e)
            except (EvalError, ZeroDivisionError, OverflowError, FloatingPointError, np.linalg.LinAlgError,
                    KeyError, IndexError):
                return None
            a = v.arr
            try:
                if v.kind == "m":
                    a = np.broadcast_to(a, shape + a.shape[-2:])
                else:
                    a = np.broadcast_to(a, shape)
            except ValueError:
                return None
            parts.append(np.asarray(a, dtype=complex).reshape(-1))
        return np.concatenate(parts) if parts else None


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    scale = max(1.0, float(np.max(np.abs(a))), float(np.max(np.abs(b))))
    return bool(np.all(np.abs(a - b) <= 1e-9 * (np.abs(a) + np.abs(b)) + 1e-10 * scale))


def _groups_match(svals: list, tvals: list, const_ok) -> bool:
    """Can the student's signed term values be grouped so that each group sums to one target term
    (every target term gets a non-empty group)?  ``const_ok(indices)``: may the leftover terms remain
    (their sum is constant in the allowed parameters)?  None: no leftover allowed."""
    n, m = len(svals), len(tvals)
    if n < m:
        return False
    buckets = m + (1 if const_ok is not None else 0)
    if buckets ** n > 200_000:
        return False
    for assign in itertools.product(range(buckets), repeat=n):
        if any(j not in assign for j in range(m)):
            continue
        ok = True
        for j in range(m):
            s = sum(svals[i] for i in range(n) if assign[i] == j)
            if not any(_close(s, t) for t in tvals[j]):
                ok = False
                break
        if not ok:
            continue
        if const_ok is not None and buckets > m:
            rest = [i for i in range(n) if assign[i] == m]
            if rest and not const_ok(tuple(rest)):
                continue
        return True
    return False


@dataclass
class Target:
    lhs: Expr
    rel: str  # "=", "<=", ">=", or "=c" (equal up to a term constant in the parameters)
    rhs: Expr
    text: str


@functools.lru_cache(maxsize=None)
def _target(spec: DerivationSpec) -> Target:
    from .questions import contexts

    ctx = contexts()[spec.context]
    text = spec.target
    up_to = bool(_ARGMAX.search(text))
    t = _ARGMAX.sub(" ", text)
    sides, rels = split_relations(t)
    if len(rels) != 1:
        raise ValueError(f"derivation target {text!r}: expected exactly one relation")
    from .semantics import resolve_text

    lhs = resolve_text(sides[0], ctx, trusted=True)
    rhs = resolve_text(sides[1], ctx, trusted=True)
    rel = "=c" if up_to else rels[0]
    return Target(lhs, rel, rhs, text)


def _matches(chain: Chain, target: Target, eng: Engine, spec: DerivationSpec, deadline) -> bool:
    comp = chain.composite()
    if comp is None:
        return False
    vec = _Vectors(eng, deadline)
    s_terms = _terms(chain.first.expr) + [(-s, e) for s, e in _terms(chain.last.expr)]
    t_terms = _terms(target.lhs) + [(-s, e) for s, e in _terms(target.rhs)]
    if len(s_terms) > MAX_TERMS:
        s_terms = [(1, chain.first.expr), (-1, chain.last.expr)]
    svals, tvals = [], []
    for s, e in s_terms:
        v = vec.of(e)
        if v is None:
            return False
        svals.append(s * v)
    for s, e in t_terms:  # each target term as written, or with its defined quantities opened once
        forms = [v for v in (vec.of(e), vec.of(expand_fields(e, eng.ctx))) if v is not None]
        if not forms:
            return False
        tvals.append([s * v for v in forms])
    # which orientations are allowed by the relations
    if target.rel in ("=", ":="):
        if comp != "=" or chain.up_to_constant:
            return False
        signs = (1, -1)
    elif target.rel == "=c":
        if comp != "=":
            return False
        signs = (1, -1)
    elif target.rel in ("<=", "<"):
        signs = {"=": (1, -1), "<=": (1,), ">=": (-1,)}[comp]
    elif target.rel in (">=", ">"):
        signs = {"=": (1, -1), ">=": (1,), "<=": (-1,)}[comp]
    else:
        return False
    const_ok = None
    if target.rel == "=c" and spec.up_to_constant_in:
        @functools.lru_cache(maxsize=None)
        def const_ok(indices: tuple) -> bool:  # the leftover terms must not depend on the parameters
            e = X.add(*[e if s > 0 else X.neg(e) for s, e in (s_terms[i] for i in indices)])
            j = eng.judge(e, "=", X.ZERO, reference_side="lhs", deadline=deadline, symbolic=False,
                          up_to_constant_in=spec.up_to_constant_in)
            return j.verdict is Verdict.HOLDS
    for sign in signs:
        if _groups_match([sign * v for v in svals], tvals, const_ok):
            return True
    return False


# --------------------------------------------------------------------------
# The grader
# --------------------------------------------------------------------------
def _slip_note(q, link: Link, ctx: Context, eng: Engine) -> str:
    """A known slip, from the answer-set and slip diagnosis module when it exists."""
    if link.slip:
        return link.slip
    try:
        from . import slips  # provided by the sandbox branch (optional)
    except ImportError:
        return ""
    fn = getattr(slips, "diagnose_step", None)
    if fn is None:
        return ""
    try:
        out = fn(q.id, link.left.expr, link.rel, link.right.expr, ctx, eng)
    except Exception:  # noqa: BLE001 - a diagnosis never breaks grading
        return ""
    return str(out or "")


def check_steps(q, spec: DerivationSpec, answer: Any, deadline: float) -> Result:
    from .questions import contexts

    ctx = contexts()[spec.context]
    eng = _engine(spec.context)
    try:
        texts = split_steps(answer)
    except ValueError as exc:
        return Result(q.id, UNPARSEABLE, 0.0, q.points, str(exc))
    if not texts:
        return Result(q.id, UNPARSEABLE, 0.0, q.points, "no steps given")
    if len(texts) > MAX_STEPS:
        return Result(q.id, UNPARSEABLE, 0.0, q.points, f"{len(texts)} steps; at most {MAX_STEPS} are checked")
    local: dict = {}
    steps = [_read_step(i, t, ctx, spec, local) for i, t in enumerate(texts)]
    # continuations pick up the previous step's last side
    prev_last: Optional[Side] = None
    for st in steps:
        if st.links and st.start is None and not st.links[0].defines:
            st.links[0].left = prev_last
        if st.links:
            prev_last = st.links[-1].right
        elif st.start is not None:
            prev_last = st.start
    for st in steps:
        for lk in st.links:
            if lk.defines:
                continue
            _judge_link(lk, eng, spec, deadline)
            if lk.verdict == FAILS and not lk.slip:
                note = _slip_note(q, lk, ctx, eng)
                if note and note not in lk.message:
                    lk.message += f" (known slip: {note})"
                    lk.slip = note
        _step_verdict(st)
    return _result(q, spec, steps, eng, deadline)


def _step_verdict(st: Step) -> None:
    if not st.links:
        if st.start is not None and not st.start.ok:
            st.verdict, st.message = UNREADABLE, f"cannot read this step: {st.start.error}"
        else:
            st.verdict, st.message = UNCHECKED, "an expression without a relation: nothing to check"
        return
    order = [FAILS, UNREADABLE, HUMAN]
    for v in order:
        bad = [lk for lk in st.links if lk.verdict == v]
        if bad:
            st.verdict = v
            k = st.links.index(bad[0])
            where = f"relation {k + 1} ({bad[0].rel})" if len(st.links) > 1 else f"'{bad[0].rel}'"
            st.message = f"{where}: {bad[0].message}"
            return
    if all(lk.verdict == HOLDS for lk in st.links):
        st.verdict = HOLDS
        st.message = "; ".join(lk.message for lk in st.links) if len(st.links) == 1 else \
            f"all {len(st.links)} relations hold"
        return
    # some links unchecked because the left label is unreadable, the rest hold
    if st.start is not None and not st.start.ok and any(lk.verdict == HOLDS for lk in st.links):
        st.verdict = HOLDS
        st.message = (f"the left label {st.start.text!r} could not be read ({st.start.error}); "
                      "the relations between the other sides hold")
        return
    st.verdict = UNCHECKED
    st.message = next((lk.message for lk in st.links if lk.verdict == UNCHECKED), "not checked")


def _step_record(st: Step) -> dict:
    main = next((lk for lk in st.links if lk.verdict == st.verdict), st.links[0] if st.links else None)
    return {
        "index": st.index,
        "text": st.text,
        "verdict": st.verdict,
        "relation": st.relation_text(),
        "message": st.message + (f" ({st.note})" if st.note else ""),
        "method": main.method if main else "",
        "confirmed_by": (main.confirmed_by or None) if main else None,
        "counterexample": main.counterexample if main else None,
        "slip": (main.slip or None) if main else None,
        "relations": [{"relation": lk.rel + (" const +" if lk.up_to_constant else ""), "verdict": lk.verdict,
                       "confirmed_by": lk.confirmed_by or None, "message": lk.message,
                       "counterexample": lk.counterexample} for lk in st.links],
    }


def _result(q, spec: DerivationSpec, steps: list, eng: Engine, deadline) -> Result:
    records = [_step_record(st) for st in steps]
    details = {"steps": records, "context": eng.ctx.description}
    staff = {"target": spec.target, "context": spec.context}
    if spec.up_to_constant_in:
        staff["up_to_constant_in"] = list(spec.up_to_constant_in)
    n_sympy = sum(1 for st in steps for lk in st.links if lk.verdict == HOLDS and lk.confirmed_by == "sympy")
    n_num = sum(1 for st in steps for lk in st.links if lk.verdict == HOLDS and lk.confirmed_by != "sympy")
    method = f"{n_sympy + n_num} relations checked: {n_sympy} confirmed by SymPy, {n_num} on random instances only"
    for st in steps:
        if st.verdict == FAILS:
            return Result(q.id, INCORRECT, 0.0, q.points, f"step {st.index + 1} does not hold: {st.message}",
                          first_wrong_step=st.index, method=method, details=details, staff=staff)
        if st.verdict == UNREADABLE:
            return Result(q.id, UNPARSEABLE, 0.0, q.points, f"step {st.index + 1} cannot be read: {st.message}",
                          first_wrong_step=st.index, method=method, details=details, staff=staff)
        if st.verdict == HUMAN:
            return Result(q.id, NEEDS_HUMAN, 0.0, q.points,
                          f"step {st.index + 1} could not be decided by machine: {st.message}",
                          first_wrong_step=st.index, method=method, details=details, staff=staff)
    target = _target(spec)
    chains = _chains(steps)
    n_links = sum(len(st.links) for st in steps)
    reached = [c for c in chains if _matches(c, target, eng, spec, deadline)]
    if reached and n_links >= 2:
        c = reached[-1]
        staff["reached_by_steps"] = c.steps
        return Result(q.id, CORRECT, q.points, q.points,
                      f"every step holds and steps {_span(c.steps)} establish the relation asked for",
                      method=method, details=details, staff=staff)
    if reached:
        missing = "the relation asked for is only stated, not derived: give the intermediate steps"
    elif not chains:
        missing = "no relation was written"
    else:
        last = chains[-1]
        comp = last.composite()
        if comp is None:
            missing = ("the last chain mixes \\leq and \\geq (or \\propto), so it establishes no single relation; "
                       "the relation asked for is not reached")
        else:
            missing = (f"the last chain establishes {last.first.text.strip()} {_REL_SHOWN.get(comp, comp)} "
                       f"{last.last.text.strip()}, which is not yet the relation asked for: continue the "
                       "derivation until it is")
    details["missing"] = missing
    return Result(q.id, PARTIAL, round(PARTIAL_CREDIT * q.points, 4), q.points,
                  f"every step holds, but the derivation stops short: {missing}",
                  method=method, details=details, staff=staff)


_REL_SHOWN = {"<=": "\\leq", ">=": "\\geq"}


def _span(idx: list) -> str:
    idx = sorted(idx)
    return f"{idx[0] + 1}-{idx[-1] + 1}" if len(idx) > 1 else f"{idx[0] + 1}"


@grades("derivation", keyed=False, yaml_text=True)
def grade_derivation(q, entry, answer, deadline) -> Result:
    spec = derivation_spec(q)
    if spec is None:
        return Result(q.id, NEEDS_HUMAN, 0.0, q.points,
                      "a derivation: step-by-step checking is not set up for this question, graded by a person")
    return check_steps(q, spec, answer, deadline)
