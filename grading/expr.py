"""The meaning of an answer: a small, typed expression tree.

The semantic pass (:mod:`grading.semantics`) turns a student's syntax tree
into these nodes, :mod:`grading.keys` turns the SymPy answer of a verified
claim into the same nodes, and the engine (:mod:`grading.engine`) evaluates
both on random instances of the question's context.  Part 2 of the grading
assistant (step-by-step derivations) judges each step as a relation between
two such trees with the same engine.

Node kinds (``op``; ``value`` holds the non-child data):

=================  ==========================================================
``num``            an exact rational (``fractions.Fraction``) or a float
``const``          ``pi``, ``e``, ``i`` (imaginary unit), ``inf``
``sym``            a context object by canonical name (scalar, vector,
                   matrix, field over support variables, density)
``ident``          the identity matrix; ``value`` its size name or None
``bound``          a variable bound by a sum (its integer value)
``add`` ``mul``    n-ary; ``mul`` keeps the order (matrices do not commute)
``neg`` ``div`` ``pow``
``T`` ``inv``      transpose, inverse
``kron`` ``hadamard``
``fn``             ``value`` in log, exp, sqrt, root, abs, det, tr, vec,
                   norm (``args[1]`` the order), sin, cos, ...
``density``        ``value = (name, vars, given)``: p(z|x) and friends
``E``              expectation: ``args = (density, body)``, ``value`` the
                   variables averaged over
``int``            integral over ``value`` (a support variable)
``sum`` ``prod``   ``value`` the index (or support variable); ``args =
                   (lo, hi, body)`` with lo/hi None over a support
``kl`` ``jsd``     divergences between two ``density`` nodes
``matrix``         ``value = (rows, cols)``, ``args`` row-major entries
``tuple`` ``set`` ``list``
``pm``             a ± b (two values)
``rel``            ``value`` the relation symbols, ``args`` the sides
=================  ==========================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class Expr:
    op: str
    args: tuple = ()
    value: Any = None

    def __str__(self) -> str:
        return to_text(self)

    def walk(self):
        """Every node of the tree, depth first."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(a for a in node.args if isinstance(a, Expr))

    def symbols(self) -> set:
        return {n.value for n in self.walk() if n.op == "sym"} | {
            n.value[0] for n in self.walk() if n.op == "density"}


def num(v) -> Expr:
    if isinstance(v, int):
        v = Fraction(v)
    return Expr("num", (), v)


ZERO = num(0)
ONE = num(1)


def sym(name: str) -> Expr:
    return Expr("sym", (), name)


def add(*terms) -> Expr:
    flat = []
    for t in terms:
        flat.extend(t.args if t.op == "add" else (t,))
    return flat[0] if len(flat) == 1 else Expr("add", tuple(flat))


def mul(*factors) -> Expr:
    flat = []
    for f in factors:
        flat.extend(f.args if f.op == "mul" else (f,))
    return flat[0] if len(flat) == 1 else Expr("mul", tuple(flat))


def neg(x: Expr) -> Expr:
    return Expr("neg", (x,))


def sub(a: Expr, b: Expr) -> Expr:
    return add(a, neg(b))


def div(a: Expr, b: Expr) -> Expr:
    return Expr("div", (a, b))


def pow_(a: Expr, b: Expr) -> Expr:
    return Expr("pow", (a, b))


def fn(name: str, *args) -> Expr:
    return Expr("fn", tuple(args), name)


# --------------------------------------------------------------------------
# Printing (for messages: readings of ambiguous input, counterexamples)
# --------------------------------------------------------------------------
_PREC = {"rel": 0, "pm": 1, "add": 1, "kron": 2, "hadamard": 2, "mul": 3, "div": 3, "neg": 4, "pow": 5}


def _paren(e: Expr, parent: int) -> str:
    s = to_text(e)
    return f"({s})" if _PREC.get(e.op, 9) < parent else s


def _num_text(v) -> str:
    if isinstance(v, Fraction):
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    if isinstance(v, complex):
        return f"({v.real:g}{v.imag:+g}i)"
    return f"{v:g}" if isinstance(v, float) else str(v)


def to_text(e: Expr) -> str:
    op, a = e.op, e.args
    if op == "num":
        return _num_text(e.value)
    if op == "const":
        return {"pi": "π", "inf": "∞"}.get(e.value, e.value)
    if op in ("sym", "bound"):
        return str(e.value)
    if op == "ident":
        return "I" if e.value is None else f"I_{e.value}"
    if op == "add":
        out = to_text(a[0])
        for t in a[1:]:
            if t.op == "neg":
                out += " - " + _paren(t.args[0], 2)
            elif t.op == "mul" and t.args[0].op == "num" and isinstance(t.args[0].value, Fraction) \
                    and t.args[0].value < 0:
                rest = mul(num(-t.args[0].value), *t.args[1:]) if t.args[0].value != -1 else mul(*t.args[1:])
                out += " - " + _paren(rest, 2)
            else:
                out += " + " + _paren(t, 1)
        return out
    if op == "mul":
        return "·".join(_paren(f, 3) if f.op != "div" else f"({to_text(f)})" for f in a)
    if op == "neg":
        return "-" + _paren(a[0], 4)
    if op == "div":
        return f"{_paren(a[0], 4)}/{_paren(a[1], 5)}"
    if op == "pow":
        return f"{_paren(a[0], 6)}^{_paren(a[1], 6)}"
    if op == "T":
        return f"{_paren(a[0], 6)}ᵀ"
    if op == "inv":
        return f"{_paren(a[0], 6)}⁻¹"
    if op == "kron":
        return " ⊗ ".join(_paren(x, 3) for x in a)
    if op == "hadamard":
        return " ⊙ ".join(_paren(x, 3) for x in a)
    if op == "fn":
        if e.value == "norm":
            order = a[1].value if len(a) > 1 else None
            return f"‖{to_text(a[0])}‖" + (f"_{order}" if order is not None else "")
        if e.value == "abs":
            return f"|{to_text(a[0])}|"
        if e.value == "log" and len(a) > 1:
            return f"log_{to_text(a[1])}({to_text(a[0])})"
        return f"{e.value}({', '.join(to_text(x) for x in a)})"
    if op == "density":
        name, vars_, given = e.value
        inner = ",".join(vars_) + (("|" + ",".join(given)) if given else "")
        return f"{name}({inner})"
    if op == "E":
        return f"E_{{{','.join(e.value)} ~ {to_text(a[0])}}}[{to_text(a[1])}]"
    if op == "int":
        return f"∫ {to_text(a[0])} d{e.value}"
    if op in ("sum", "prod"):
        lo, hi, body = a[:3]
        sign = "Σ" if op == "sum" else "Π"
        rng = f"_{{{e.value}={to_text(lo)}}}^{{{to_text(hi)}}}" if lo is not None else f"_{e.value}"
        if len(a) > 3:
            rng = f"_{{{e.value}≠{to_text(a[3])}}}"
        return f"{sign}{rng} {_paren(body, 3)}"
    if op == "kl":
        return f"KL({to_text(a[0])} ‖ {to_text(a[1])})"
    if op == "jsd":
        return f"JSD({to_text(a[0])}, {to_text(a[1])})"
    if op == "matrix":
        r, c = e.value
        rows = ["; ".join(to_text(a[i * c + j]) for j in range(c)) for i in range(r)]
        return "[" + " \\\\ ".join(rows) + "]"
    if op == "tuple":
        return "(" + ", ".join(to_text(x) for x in a) + ")"
    if op == "set":
        return "{" + ", ".join(to_text(x) for x in a) + "}"
    if op == "list":
        return ", ".join(to_text(x) for x in a)
    if op == "pm":
        return f"{_paren(a[0], 1)} ± {_paren(a[1], 2)}"
    if op == "apply":
        return f"{e.value}({to_text(a[0])})"
    if op == "at":
        return f"{e.value}_{{{','.join(to_text(x) for x in a)}}}"
    if op == "copy":
        return f"{to_text(a[0])}[{e.value}→{e.value}_{to_text(a[1])}]"
    if op == "Eiid":
        return f"E_{{{e.value}_{{{to_text(a[2])}:{to_text(a[3])}}} ~ {to_text(a[0])}}}[{to_text(a[1])}]"
    if op == "transport":
        return f"{to_text(a[0])}[{e.value[0]}→{e.value[1]}]"
    if op == "rel":
        out = to_text(a[0])
        for rel, x in zip(e.value, a[1:]):
            out += f" {rel} {to_text(x)}"
        return out
    return f"{op}({', '.join(to_text(x) for x in a)})"
