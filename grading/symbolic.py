"""The bridge to SymPy, in both directions.

* :func:`from_sympy` reads a verified claim's answer (a SymPy object built by
  the project's own derivations) into an :class:`~grading.expr.Expr` of the
  question's context, matching symbol names canonically (``F_{12}`` and
  ``F_12`` are the same object).  SymPy objects are walked node by node;
  nothing is printed and re-parsed, nothing is evaluated as code.
* :func:`to_sympy` builds SymPy objects from an expression tree (student or
  key) for the symbolic confirmation: scalars become symbols with the
  assumptions of their domain, matrices become non-commutative
  ``MatrixSymbol`` objects with symbolic sizes, defined objects are expanded
  into their definitions.  Constructs SymPy cannot compare reliably
  (expectations, integrals, norms of vectors) raise :class:`Unsupported`; the
  engine then reports a numeric-only verdict.
* :func:`confirm_equal` asks SymPy whether two trees are equal, within a time
  budget: True (SymPy reduced the difference to zero), or None (not
  confirmed: SymPy's "no" is never taken as a proof).
"""
from __future__ import annotations

from fractions import Fraction
from typing import Optional

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions import (
    Determinant,
    HadamardProduct,
    Identity,
    Inverse,
    KroneckerProduct,
    MatAdd,
    MatMul,
    MatPow,
    MatrixExpr,
    MatrixSymbol,
    Trace,
    Transpose,
    ZeroMatrix,
)

from . import expr as X
from .context import Context, canonical
from .errors import ParseError
from .expr import Expr
from .semantics import definition, resolve_text


class Unsupported(Exception):
    """The construct has no SymPy counterpart here (numeric comparison only)."""


class KeyConversionError(ValueError):
    """A claim's answer uses something the grader cannot evaluate (the message says what)."""


# --------------------------------------------------------------------------
# SymPy -> Expr (reading the key)
# --------------------------------------------------------------------------
def from_sympy(obj, ctx: Context, aliases: Optional[dict] = None, handlers: Optional[dict] = None) -> Expr:
    """The key ``obj`` as an expression of ``ctx``.

    ``aliases`` maps key symbol names to context names (or to expressions);
    ``handlers`` maps the class or function name of a topic's own SymPy
    notation (``Expect``, ``KL``, ``E_p0``...) to ``handler(reader, node) -> Expr``.
    """
    aliases = {canonical(k): v for k, v in (aliases or {}).items()}
    return _Reader(ctx, aliases, handlers or {}).read(obj)


class _Reader:
    def __init__(self, ctx: Context, aliases: dict, handlers: dict):
        self.ctx = ctx
        self.aliases = aliases
        self.handlers = handlers
        self.bound: list = []

    def fail(self, what: str):
        raise KeyConversionError(what)

    def name(self, raw: str) -> Expr:
        key = canonical(raw)
        if key in self.bound:
            return Expr("bound", (), key)
        target = self.aliases.get(key, key)
        if isinstance(target, Expr):
            return target
        obj = self.ctx.lookup(target)
        if obj is None:
            if target == "I" or target == "i":
                return Expr("const", (), "i")
            # a symbol named by a formula of the question's notation (r"\|u\|", r"u^\top v"): read the
            # name with the project's own parser, as a student's answer would be read
            try:
                return resolve_text(raw, self.ctx, trusted=True)
            except ParseError:
                pass
            self.fail(f"the key uses {raw!r}, which is not an object of context {self.ctx.name} "
                      f"({', '.join(self.ctx.names())}) nor a formula in its notation")
        if obj.kind == "density":
            return Expr("density", (), (obj.name, tuple(obj.over), tuple(obj.given)))
        if obj.kind == "joint":
            self.fail(f"the key uses the joint density {raw!r} without arguments")
        return X.sym(obj.name)

    def read(self, o) -> Expr:
        if isinstance(o, bool):
            self.fail("a boolean is not an expression")
        if isinstance(o, int):
            return X.num(o)
        if isinstance(o, float):
            return Expr("num", (), o)
        if isinstance(o, Fraction):
            return Expr("num", (), o)
        if isinstance(o, sp.MatrixBase):
            r, c = o.shape
            return Expr("matrix", tuple(self.read(x) for x in o), (r, c))
        if not isinstance(o, sp.Basic):
            self.fail(f"cannot read a {type(o).__name__} as an expression")
        handler = self.handlers.get(type(o).__name__)
        if handler is None and isinstance(o, AppliedUndef):
            handler = self.handlers.get(str(o.func))
        if handler is not None:
            return handler(self, o)
        if o is sp.I:
            return Expr("const", (), "i")
        if o is sp.pi:
            return Expr("const", (), "pi")
        if o is sp.E:
            return Expr("const", (), "e")
        if isinstance(o, sp.Integer):
            return X.num(int(o))
        if isinstance(o, sp.Rational):
            return Expr("num", (), Fraction(int(o.p), int(o.q)))
        if isinstance(o, sp.Float):
            return Expr("num", (), float(o))
        if isinstance(o, sp.Symbol):
            return self.name(o.name)
        if isinstance(o, MatrixSymbol):
            return self.name(o.name)
        if isinstance(o, Identity):
            n = o.rows
            if isinstance(n, sp.Symbol):
                dim = next((d for d in self.ctx.dims if canonical(d) == canonical(n.name)), None)
                if dim is None:
                    self.fail(f"the key's identity has size {n}, not a dimension of context {self.ctx.name}")
                return Expr("ident", (), dim)
            return Expr("ident", (), int(n))
        if isinstance(o, ZeroMatrix):
            self.fail("a zero-matrix key")
        if isinstance(o, sp.MatrixBase):
            r, c = o.shape
            return Expr("matrix", tuple(self.read(x) for x in o), (r, c))
        if isinstance(o, (sp.Add, MatAdd)):
            return X.add(*[self.read(a) for a in o.args])
        if isinstance(o, MatMul):
            return X.mul(*[self.read(a) for a in o.args])
        if isinstance(o, sp.Mul):
            return X.mul(*[self.read(a) for a in o.args])
        if isinstance(o, MatPow):
            return X.pow_(self.read(o.args[0]), self.read(o.args[1]))
        if isinstance(o, sp.Pow):
            base, ex = o.args
            if base is sp.E:
                return X.fn("exp", self.read(ex))
            return X.pow_(self.read(base), self.read(ex))
        if isinstance(o, Transpose):
            return Expr("T", (self.read(o.args[0]),))
        if isinstance(o, Inverse):
            return Expr("inv", (self.read(o.args[0]),))
        if isinstance(o, Trace):
            return X.fn("tr", self.read(o.args[0]))
        if isinstance(o, Determinant):
            return X.fn("det", self.read(o.args[0]))
        if isinstance(o, KroneckerProduct):
            return Expr("kron", tuple(self.read(a) for a in o.args))
        if isinstance(o, HadamardProduct):
            return Expr("hadamard", tuple(self.read(a) for a in o.args))
        if isinstance(o, sp.exp):
            return X.fn("exp", self.read(o.args[0]))
        if isinstance(o, sp.log):
            if len(o.args) == 2:
                return X.fn("log", self.read(o.args[0]), self.read(o.args[1]))
            return X.fn("log", self.read(o.args[0]))
        if isinstance(o, sp.Abs):
            return X.fn("abs", self.read(o.args[0]))
        for f, name in ((sp.sin, "sin"), (sp.cos, "cos"), (sp.tan, "tan"), (sp.tanh, "tanh"),
                        (sp.atan, "atan"), (sp.sinh, "sinh"), (sp.cosh, "cosh")):
            if isinstance(o, f):
                return X.fn(name, self.read(o.args[0]))
        if isinstance(o, (sp.Min, sp.Max)):
            return X.fn("min" if isinstance(o, sp.Min) else "max", *[self.read(a) for a in o.args])
        if isinstance(o, AppliedUndef):
            return self.applied(o)
        if isinstance(o, sp.Integral):
            if len(o.limits) != 1:
                self.fail("a multiple integral in the key")
            var = o.limits[0][0]
            if self.ctx.var(canonical(var.name)) is None:
                self.fail(f"the key integrates over {var}, not a variable of context {self.ctx.name}")
            return Expr("int", (self.read(o.function),), canonical(var.name))
        if isinstance(o, (sp.Sum, sp.Product)):
            kind = "sum" if isinstance(o, sp.Sum) else "prod"
            if len(o.limits) != 1:
                self.fail("a multiple sum in the key")
            lim = o.limits[0]
            idx = canonical(lim[0].name)
            if len(lim) == 1 and self.ctx.var(idx) is not None:
                return Expr(kind, (None, None, self.read(o.function)), idx)
            if len(lim) != 3:
                self.fail("a sum without limits in the key")
            self.bound.append(idx)
            try:
                body = self.read(o.function)
            finally:
                self.bound.pop()
            return Expr(kind, (self.read(lim[1]), self.read(lim[2]), body), idx)
        self.fail(f"the key contains {type(o).__name__}, which the grader cannot evaluate")

    def applied(self, o) -> Expr:
        fname = canonical(str(o.func))
        target = self.aliases.get(fname, fname)
        if isinstance(target, Expr):
            return target
        obj = self.ctx.lookup(target)
        if obj is None or not obj.is_function:
            self.fail(f"the key applies {fname!r}, which is not a density or field of context {self.ctx.name}")
        vars_ = tuple(canonical(a.name) if isinstance(a, sp.Symbol) else None for a in o.args)
        if None in vars_ or any(self.ctx.var(v) is None for v in vars_):
            self.fail(f"the key applies {fname} to {o.args}, not to variables of the context")
        if obj.kind == "joint":
            return Expr("density", (), (obj.name, vars_, ()))
        if obj.kind == "density":
            return Expr("density", (), (obj.name, tuple(obj.over), tuple(obj.given)))
        return X.sym(obj.name)


# --------------------------------------------------------------------------
# Expr -> SymPy (symbolic confirmation)
# --------------------------------------------------------------------------
_DOMAIN_ASSUMPTIONS = {
    "real": dict(real=True), "positive": dict(positive=True), "unit": dict(positive=True),
    "posint": dict(integer=True, positive=True), "int": dict(integer=True), "nonneg": dict(nonnegative=True),
    "complex": dict(),
}


class _Writer:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.cache: dict = {}

    def dim(self, name) -> sp.Expr:
        if isinstance(name, int):
            return sp.Integer(name)
        return sp.Symbol(name, integer=True, positive=True)

    def symbol(self, name: str):
        if name in self.cache:
            return self.cache[name]
        obj = self.ctx.lookup(name)
        if obj is None:
            raise Unsupported(f"unknown symbol {name}")
        if obj.definition is not None:
            out = self.write(definition(self.ctx, obj.name))
        elif obj.kind == "scalar":
            out = sp.Symbol(obj.name, **_DOMAIN_ASSUMPTIONS.get(obj.domain, {}))
        elif obj.kind in ("field",):
            out = sp.Symbol(obj.name, **_DOMAIN_ASSUMPTIONS.get(obj.domain, {}))
        elif obj.kind == "density":
            out = sp.Symbol(obj.name, positive=True)
        elif obj.kind == "matrix":
            out = MatrixSymbol(obj.name, self.dim(obj.shape[0]), self.dim(obj.shape[1]))
        elif obj.kind == "vector":
            raise Unsupported("vectors (inner products are compared numerically)")
        else:
            raise Unsupported(f"{obj.kind} objects")
        self.cache[name] = out
        return out

    def write(self, e: Expr):
        op, a = e.op, e.args
        if op == "num":
            v = e.value
            if isinstance(v, Fraction):
                if abs(v.numerator) > 10**30 or v.denominator > 10**30:
                    raise Unsupported("a very large number")
                return sp.Rational(v.numerator, v.denominator)
            if isinstance(v, str):
                raise Unsupported("a symbolic norm order")
            return sp.Float(v)
        if op == "const":
            return {"pi": sp.pi, "e": sp.E, "i": sp.I, "inf": sp.oo}[e.value]
        if op == "sym":
            return self.symbol(e.value)
        if op == "density":
            name, vars_, given = e.value
            obj = self.ctx.lookup(name)
            if obj.kind == "joint":
                raise Unsupported("joint densities")
            return self.symbol(name)
        if op == "ident":
            n = e.value if e.value is not None else self.ctx.identity_dim
            if n is None:
                raise Unsupported("an identity of unknown size")
            return Identity(self.dim(n))
        if op == "add":
            lazy = [t for t in a if t.op == "ident" and t.value is None]
            terms = [self.write(t) for t in a if not (t.op == "ident" and t.value is None)]
            if lazy:
                square = next((t for t in terms if isinstance(t, MatrixExpr) and t.shape[0] == t.shape[1]), None)
                if square is None:
                    raise Unsupported("an identity of unknown size")
                terms += [Identity(square.shape[0])] * len(lazy)
            if any(isinstance(t, MatrixExpr) for t in terms):
                if not all(isinstance(t, MatrixExpr) for t in terms):
                    raise Unsupported("a scalar added to a matrix")
                return MatAdd(*terms)
            return sp.Add(*terms)
        if op == "mul":
            lazy = [f for f in a if f.op == "ident" and f.value is None]
            if lazy:
                kept = [self.write(f) for f in a if not (f.op == "ident" and f.value is None)]
                if any(isinstance(k, MatrixExpr) for k in kept):
                    out = kept[0]  # I M = M I = M: the size follows M
                    for f in kept[1:]:
                        out = out * f
                    return out
            factors = [self.write(f) for f in a]
            out = factors[0]
            for f in factors[1:]:
                out = out * f
            return out
        if op == "neg":
            return -self.write(a[0])
        if op == "div":
            num, den = self.write(a[0]), self.write(a[1])
            if isinstance(den, MatrixExpr):
                raise Unsupported("division by a matrix")
            return num / den
        if op == "pow":
            base, ex = self.write(a[0]), self.write(a[1])
            if isinstance(ex, sp.Integer) and abs(int(ex)) > 200:
                raise Unsupported("a large power")
            if isinstance(ex, sp.Number) and not isinstance(ex, sp.Integer) and isinstance(base, MatrixExpr):
                raise Unsupported("a fractional matrix power")
            return MatPow(base, ex) if isinstance(base, MatrixExpr) else base ** ex
        if op == "T":
            x = self.write(a[0])
            return x.T if isinstance(x, MatrixExpr) else x
        if op == "inv":
            x = self.write(a[0])
            return Inverse(x) if isinstance(x, MatrixExpr) else 1 / x
        if op == "kron":
            parts = [self.write(x) for x in a]
            if not all(isinstance(p, MatrixExpr) for p in parts):
                out = parts[0]
                for p in parts[1:]:
                    out = out * p
                return out
            return KroneckerProduct(*parts)
        if op == "hadamard":
            parts = [self.write(x) for x in a]
            if all(isinstance(p, MatrixExpr) for p in parts):
                return HadamardProduct(*parts)
            out = parts[0]
            for p in parts[1:]:
                out = out * p
            return out
        if op == "fn":
            return self.function(e)
        if op == "matrix":
            r, c = e.value
            entries = [self.write(x) for x in a]
            if any(isinstance(x, MatrixExpr) for x in entries):
                raise Unsupported("block matrices")
            return sp.ImmutableMatrix(r, c, entries)
        if op == "tuple":
            entries = [self.write(x) for x in a]
            return sp.ImmutableMatrix(len(entries), 1, entries)
        raise Unsupported(f"{op} (compared numerically)")

    def function(self, e: Expr):
        name, a = e.value, e.args
        x = self.write(a[0])
        if isinstance(x, MatrixExpr) and name not in ("tr", "det"):
            raise Unsupported(f"{name} of a matrix")
        if name == "log":
            return sp.log(x, self.write(a[1])) if len(a) > 1 else sp.log(x)
        if name == "exp":
            return sp.exp(x)
        if name == "sqrt":
            return sp.sqrt(x)
        if name == "sigmoid":
            return 1 / (1 + sp.exp(-x))
        if name in ("min", "max"):
            args = [self.write(b) for b in a]
            if any(isinstance(b, MatrixExpr) for b in args):
                raise Unsupported(f"{name} of matrices")
            return (sp.Min if name == "min" else sp.Max)(*args)
        if name == "root":
            return x ** (1 / self.write(a[1]))
        if name == "abs":
            return sp.Abs(x)
        if name == "tr":
            return Trace(x) if isinstance(x, MatrixExpr) else x
        if name == "det":
            return Determinant(x) if isinstance(x, MatrixExpr) else x
        simple = {"sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "tanh": sp.tanh, "atan": sp.atan,
                  "sinh": sp.sinh, "cosh": sp.cosh}
        if name in simple:
            return simple[name](x)
        raise Unsupported(f"{name} (compared numerically)")


def to_sympy(e: Expr, ctx: Context):
    return _Writer(ctx).write(e)


def _symmetric_names(ctx: Context) -> set:
    return {o.name for o in ctx.objects if o.kind == "matrix" and o.structure in ("symmetric", "spd", "psd")
            and o.definition is None}


def _normalize_matrix(m, ctx: Context):
    sym = _symmetric_names(ctx)
    reps = {}
    for node in sp.preorder_traversal(m):
        if isinstance(node, Transpose) and isinstance(node.args[0], MatrixSymbol) and node.args[0].name in sym:
            reps[node] = node.args[0]
    if reps:
        m = m.xreplace(reps)
    try:
        m = m.doit()
    except Exception:  # pragma: no cover - SymPy internals
        pass
    if isinstance(m, MatrixExpr) and not isinstance(m, sp.MatrixBase) and all(
            getattr(n, "is_Integer", False) for n in m.shape) and not m.atoms(MatrixSymbol):
        try:
            m = sp.ImmutableMatrix(m.as_explicit())
        except Exception:  # pragma: no cover
            pass
    try:
        m = sp.expand(m, kroneckerproduct=True) if m.has(KroneckerProduct) else sp.expand(m)
    except Exception:  # pragma: no cover
        pass
    return m


def _is_zero(d) -> bool:
    if isinstance(d, ZeroMatrix):
        return True
    if isinstance(d, sp.MatrixBase):
        return all(sp.simplify(x) == 0 for x in d)
    return d == 0


_PROBE_SAFE = {"real", "positive", "posint", "int", "complex"}


def _exact_witness(d, ctx: Context) -> Optional[str]:
    """A point (exact rationals inside every symbol's domain) where ``d`` is provably non-zero.

    Only used when every free symbol's domain is one the probe values respect
    exactly (real, positive, integers); the value is computed to 40 digits and
    must exceed 1e-25, so a true identity SymPy failed to simplify is never
    reported as different.
    """
    from derivcheck.derivations import prove

    syms = sorted(d.free_symbols, key=lambda s: s.name)
    if not syms:
        v = sp.N(d, 40)
        if v.is_number and not v.has(sp.nan, sp.zoo) and abs(v) > sp.Float("1e-25"):
            return f"it equals {sp.N(d, 8)}"
        return None
    for s in syms:
        obj = ctx.lookup(s.name)
        if obj is None or obj.definition is not None or obj.kind not in ("scalar",) or obj.domain not in _PROBE_SAFE:
            return None
    for point in prove.probe_points(syms, n=4, seed=1):
        try:
            v = sp.N(d.subs(point), 40)
        except Exception:  # pragma: no cover - SymPy internals
            continue
        if v.is_number and not v.has(sp.nan, sp.zoo) and abs(v) > sp.Float("1e-25"):
            shown = ", ".join(f"{k} = {val}" for k, val in point.items())
            return f"at {shown} it equals {sp.N(v, 8)}"
    return None


def writer(ctx: Context) -> "_Writer":
    """A writer of expressions of ``ctx`` as SymPy objects (``.write(expr)``, ``.symbol(name)``);
    raises :class:`Unsupported` for what it cannot write."""
    return _Writer(ctx)


def compare_sympy(sa, sb, ctx: Context, relation: str = "=") -> tuple:
    """Decide ``sa relation sb`` for SymPy objects written in ``ctx``: (True, method) when SymPy proves it,
    (False, why) when SymPy proves it false (an exact witness inside the domains, or a sign that is
    known), (None, why not) otherwise."""
    if relation in ("=", "=="):
        if isinstance(sa, MatrixExpr) != isinstance(sb, MatrixExpr):
            return None, "one side is a matrix expression, the other a scalar"
        if isinstance(sa, MatrixExpr):
            if sa.shape != sb.shape:
                return None, f"SymPy shapes differ: {sa.shape} vs {sb.shape}"
            d = _normalize_matrix(MatAdd(sa, -sb), ctx)
            if _is_zero(d):
                return True, "SymPy: the matrix difference reduces to 0"
            if isinstance(d, sp.MatrixBase):
                for x in d:
                    xs = sp.simplify(x)
                    if xs != 0:
                        witness = _exact_witness(xs, ctx)
                        if witness is not None:
                            return False, f"SymPy: an entry of the difference, {xs}, is exactly non-zero ({witness})"
            return None, "SymPy did not reduce the matrix difference to 0"
        d = sa - sb
        if sp.expand(d) == 0:
            return True, "SymPy: expand(a - b) = 0"
        ds = sp.simplify(d)
        if ds == 0:
            return True, "SymPy: simplify(a - b) = 0"
        witness = _exact_witness(ds, ctx)
        if witness is not None:
            return False, f"SymPy: a - b is exactly non-zero ({witness})"
        return None, "SymPy did not reduce a - b to 0"
    if isinstance(sa, MatrixExpr) or isinstance(sb, MatrixExpr):
        return None, "an inequality between matrices"
    raw = (sa - sb) if relation in (">=", ">") else (sb - sa)
    d = raw
    for form in (raw, sp.factor(raw), sp.simplify(raw)):
        d = form
        prop = d.is_nonnegative if relation in (">=", "<=") else d.is_positive
        if prop is not None:
            break
    if prop is True:
        return True, f"SymPy: the difference {d} is {'non-negative' if relation in ('>=', '<=') else 'positive'} " \
                     "under the domains' assumptions"
    if prop is False and (d.is_negative if relation in (">=", "<=") else d.is_nonpositive):
        return False, f"SymPy: the difference {d} has the wrong sign everywhere"
    return None, f"SymPy could not settle the sign of {d}"


def confirm_equal(a: Expr, b: Expr, ctx: Context, *, budget_s: float = 0.3) -> tuple:
    """(True, method) when SymPy reduces a - b to zero; (False, why) when a - b is exactly
    non-zero at an exact point of the domain; (None, why not) otherwise."""
    from derivcheck.limits import CheckTimeout, time_limit

    try:
        with time_limit(budget_s):
            w = _Writer(ctx)
            return compare_sympy(w.write(a), w.write(b), ctx)
    except Unsupported as exc:
        return None, f"no symbolic confirmation ({exc})"
    except CheckTimeout:
        return None, f"symbolic confirmation ran past its {budget_s:g} s budget"
    except (TypeError, ValueError, AttributeError, NotImplementedError, RecursionError) as exc:
        return None, f"no symbolic confirmation (SymPy: {type(exc).__name__})"
