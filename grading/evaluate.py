"""Numeric evaluation of an expression tree on one instance of its context.

Values (:class:`Val`, defined in :mod:`grading.instances`) are complex NumPy arrays laid out on the context's
support axes (one axis per support variable, size 1 where a value does not
depend on it), followed by two matrix axes for matrix values.  Broadcasting
over the support axes is NumPy's own; expectations, integrals and sums over a
support variable are sums along its axis.  Matrix products keep their order.

A 1x1 matrix (``u^T v``) is used as a scalar wherever a scalar is needed.
The identity ``I`` without a size stays a scaled identity until it meets a
matrix that fixes its size (or the context's ``identity_dim``).

Errors: :class:`EvalError` for an expression that has no value (a shape
mismatch, the log of a matrix, an unknown object): the message says why.
Division by zero and the log of zero give inf/nan, which the engine treats as
*undefined at that instance*.
"""
from __future__ import annotations

import math
import time
from fractions import Fraction
from typing import Optional

import numpy as np

from .context import Context
from .errors import EvalError, TooCostly  # noqa: F401  (EvalError is importable from here)
from .expr import Expr
from .instances import Instance, Val  # noqa: F401  (Val is importable from here)
from .semantics import definition

MAX_SUM_TERMS = 1_000_000
MAX_EXPONENT = 1_000_000

# one-argument functions of a scalar, applied elementwise to the instance arrays
_UNARY = {
    "exp": np.exp, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
    "sinh": np.sinh, "cosh": np.cosh, "atan": np.arctan, "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
}


def _shape_str(v: Val) -> str:
    if v.kind == "m":
        r, c = v.mshape
        return f"{r}x{c} matrix" if c != 1 else f"{r}-vector"
    if v.kind == "I":
        return "identity"
    return "scalar"


class Evaluator:
    """Evaluates expression trees on one :class:`Instance` (values are cached per node)."""

    def __init__(self, instance: Instance, deadline: Optional[float] = None):
        self.inst = instance
        self.ctx: Context = instance.context
        self.n_axes = len(self.ctx.axis_names)
        self.deadline = deadline
        self.bound: dict = {}
        self._defs: dict = {}

    # -- helpers ------------------------------------------------------------
    def _check_time(self):
        if self.deadline is not None and time.perf_counter() > self.deadline:
            from derivcheck.limits import CheckTimeout

            raise CheckTimeout(0)

    def scalar(self, x) -> Val:
        return Val(np.asarray(x, dtype=complex).reshape((1,) * self.n_axes), "s")

    def as_scalar(self, v: Val, what: str) -> Val:
        if v.kind == "s":
            return v
        if v.kind == "m" and v.mshape == (1, 1):
            return Val(v.arr[..., 0, 0], "s")
        raise EvalError(f"{what} needs a scalar, got a {_shape_str(v)}")

    def sized_identity(self, v: Val, n: int) -> Val:
        eye = np.eye(n, dtype=complex)
        return Val(v.arr[..., None, None] * eye, "m")

    def identity_size(self) -> int:
        d = self.ctx.identity_dim
        if d is None:
            raise EvalError("the size of I is not determined: write I_{n}")
        return self.inst.dims[d]

    def concretize(self, v: Val) -> Val:
        """A scaled identity with its default size (or as is)."""
        if v.kind == "I":
            return self.sized_identity(v, self.identity_size())
        return v

    # -- entry point ----------------------------------------------------------
    def visit(self, e: Expr) -> Val:
        method = getattr(self, "e_" + e.op, None)
        if method is None:
            raise EvalError(f"cannot evaluate {e.op!r}")
        return method(e)

    def value(self, e: Expr) -> Val:
        """The value with identities concretized (what comparisons use)."""
        return self.concretize(self.visit(e))

    # -- leaves -------------------------------------------------------------------
    def e_num(self, e):
        v = e.value
        if isinstance(v, Fraction):
            v = v.numerator / v.denominator if abs(v.numerator) < 10**300 else float("inf")
        return self.scalar(complex(v))

    def e_const(self, e):
        c = {"pi": math.pi, "e": math.e, "i": 1j, "inf": float("inf")}[e.value]
        return self.scalar(c)

    def e_sym(self, e):
        name = e.value
        if name in self.bound:
            return self.e_bound(e)
        obj = self.ctx.lookup(name)
        if obj is None:
            raise EvalError(f"unknown symbol {name}")
        if obj.definition is not None:
            if obj.name not in self._defs:
                if obj.name in self._defs.values():  # pragma: no cover - guarded by construction
                    raise EvalError(f"circular definition of {obj.name}")
                self._defs[obj.name] = self.visit(definition(self.ctx, obj.name))
            return self._defs[obj.name]
        if obj.kind == "joint":
            raise EvalError(f"{name} is a joint density: give its arguments, e.g. {name}(x,z)")
        return self.inst.values[obj.name]

    def e_bound(self, e):
        v = self.bound[e.value]
        return v if isinstance(v, Val) else self.scalar(v)

    def e_apply(self, e):
        """A function of the context applied to a value: phi(t) = log t evaluated at the argument."""
        obj = self.ctx.lookup(e.value)
        arg = self.visit(e.args[0])
        k = obj.index[0]
        saved = self.bound.get(k)
        try:
            self.bound[k] = arg
            return self.visit(definition(self.ctx, obj.name))
        finally:
            if saved is None:
                self.bound.pop(k, None)
            else:
                self.bound[k] = saved

    def e_ident(self, e):
        if e.value is None:
            return Val(np.ones((1,) * self.n_axes, dtype=complex), "I")
        n = self.inst.dims.get(e.value)
        if n is None:
            raise EvalError(f"unknown dimension {e.value}")
        return self.sized_identity(self.scalar(1), n)

    def e_density(self, e):
        name, vars_, given = e.value
        obj = self.ctx.lookup(name)
        if obj is None:
            raise EvalError(f"unknown density {name}")
        if obj.kind == "joint":
            return self._joint(obj, vars_, given)
        return self.e_sym(Expr("sym", (), obj.name))

    def _joint(self, obj, vars_, given):
        base = self.inst.values[obj.name].arr
        axes = [self.ctx.axis(v) for v in obj.over]
        keep = set(vars_) | set(given)
        drop = tuple(self.ctx.axis(v) for v in obj.over if v not in keep)
        marg = base.sum(axis=drop, keepdims=True) if drop else base
        if given:
            drop_g = tuple(self.ctx.axis(v) for v in obj.over if v not in set(given))
            denom = base.sum(axis=drop_g, keepdims=True)
            marg = marg / denom
        del axes
        return Val(marg, "s")

    # -- arithmetic -----------------------------------------------------------------
    def _add2(self, a: Val, b: Val) -> Val:
        if a.kind == "m" and a.mshape == (1, 1) and b.kind == "s":
            a = self.as_scalar(a, "+")
        if b.kind == "m" and b.mshape == (1, 1) and a.kind == "s":
            b = self.as_scalar(b, "+")
        if a.kind == b.kind == "s":
            return Val(a.arr + b.arr, "s")
        if a.kind == b.kind == "I":
            return Val(a.arr + b.arr, "I")
        if a.kind == "I" and b.kind == "m":
            a = self.sized_identity(a, self._square(b, "I + "))
        elif b.kind == "I" and a.kind == "m":
            b = self.sized_identity(b, self._square(a, " + I"))
        if a.kind == b.kind == "m":
            if a.mshape != b.mshape:
                raise EvalError(f"cannot add a {_shape_str(a)} and a {_shape_str(b)}")
            return Val(a.arr + b.arr, "m")
        raise EvalError(f"cannot add a {_shape_str(a)} and a {_shape_str(b)}")

    def _square(self, m: Val, what: str) -> int:
        r, c = m.mshape
        if r != c:
            raise EvalError(f"{what}: the identity cannot be added to a {r}x{c} matrix")
        return r

    def e_add(self, e):
        acc = self.visit(e.args[0])
        for t in e.args[1:]:
            acc = self._add2(acc, self.visit(t))
        return acc

    def e_neg(self, e):
        v = self.visit(e.args[0])
        return Val(-v.arr, v.kind)

    def _mul2(self, a: Val, b: Val) -> Val:
        if a.kind == "s" or b.kind == "s":
            s, o = (a, b) if a.kind == "s" else (b, a)
            if o.kind == "m":
                return Val(s.arr[..., None, None] * o.arr, "m")
            return Val(s.arr * o.arr, o.kind)
        if a.kind == "I" or b.kind == "I":
            s, o = (a, b) if a.kind == "I" else (b, a)
            if o.kind == "m":
                return Val(s.arr[..., None, None] * o.arr, "m")
            return Val(s.arr * o.arr, "I")
        ra, ca = a.mshape
        rb, cb = b.mshape
        if ca == rb:
            return Val(np.matmul(a.arr, b.arr), "m")
        if (ra, ca) == (1, 1):
            return Val(a.arr[..., 0, 0][..., None, None] * b.arr, "m")
        if (rb, cb) == (1, 1):
            return Val(b.arr[..., 0, 0][..., None, None] * a.arr, "m")
        raise EvalError(f"cannot multiply a {_shape_str(a)} by a {_shape_str(b)} (sizes {ra}x{ca} and {rb}x{cb})")

    def e_mul(self, e):
        acc = self.visit(e.args[0])
        for f in e.args[1:]:
            acc = self._mul2(acc, self.visit(f))
        return acc

    def e_div(self, e):
        a = self.visit(e.args[0])
        b = self.visit(e.args[1])
        if b.kind != "s":
            b = self.as_scalar(b, "the denominator")
        with np.errstate(all="ignore"):
            inv = 1.0 / b.arr
        return self._mul2(a, Val(inv, "s"))

    def e_pow(self, e):
        base = self.visit(e.args[0])
        ex = self.as_scalar(self.visit(e.args[1]), "an exponent")
        if base.kind == "m" and base.mshape == (1, 1):
            base = self.as_scalar(base, "a power")
        if np.any(np.abs(ex.arr) > MAX_EXPONENT):
            raise TooCostly(f"an exponent larger than {MAX_EXPONENT} in absolute value")
        if base.kind == "s":
            with np.errstate(all="ignore"):
                b, x = base.arr, ex.arr
                if np.all(np.abs(x.imag) == 0) and np.all(x.real == np.round(x.real)) and \
                        np.all(np.abs(x.real) <= 64):
                    # integer powers exactly (keeps (-2)^3 real, 0^-1 = inf)
                    out = np.power(b, x.real.astype(int)) if np.all(x.real >= 0) else \
                        1.0 / np.power(b, (-x.real).astype(int))
                else:
                    out = np.power(b, x)
            return Val(np.asarray(out, dtype=complex), "s")
        # matrix power: integer exponents only
        xv = ex.arr.reshape(-1)
        if not np.all(np.abs(xv - xv[0]) == 0) or abs(xv[0].imag) > 0 or xv[0].real != round(xv[0].real):
            raise EvalError("a matrix power needs an integer exponent")
        k = int(xv[0].real)
        if base.kind == "I":
            return Val(base.arr ** k, "I")
        r, c = base.mshape
        if r != c:
            raise EvalError(f"a power of a non-square {r}x{c} matrix")
        m = base.arr
        if k < 0:
            m = self._inv(m)
            k = -k
        return Val(np.linalg.matrix_power(m, k) if m.ndim == 2 else _batched_power(m, k), "m")

    def _inv(self, m):
        try:
            with np.errstate(all="ignore"):
                out = np.linalg.inv(m)
        except np.linalg.LinAlgError:
            out = np.full_like(m, np.nan)
        return out

    def e_T(self, e):
        v = self.visit(e.args[0])
        if v.kind == "m":
            return Val(np.swapaxes(v.arr, -1, -2), "m")
        return v

    def e_inv(self, e):
        v = self.visit(e.args[0])
        if v.kind == "m":
            r, c = v.mshape
            if r != c:
                raise EvalError(f"the inverse of a non-square {r}x{c} matrix")
            return Val(self._inv(v.arr), "m")
        with np.errstate(all="ignore"):
            return Val(1.0 / v.arr, v.kind)

    def e_kron(self, e):
        acc = self.concretize(self.visit(e.args[0]))
        for f in e.args[1:]:
            b = self.concretize(self.visit(f))
            if acc.kind == "s" or b.kind == "s":
                acc = self._mul2(acc, b)
                continue
            x, y = acc.arr, b.arr
            r1, c1 = x.shape[-2:]
            r2, c2 = y.shape[-2:]
            out = np.einsum("...ij,...kl->...ikjl", x, y)
            acc = Val(out.reshape(out.shape[:-4] + (r1 * r2, c1 * c2)), "m")
        return acc

    def e_hadamard(self, e):
        acc = self.concretize(self.visit(e.args[0]))
        for f in e.args[1:]:
            b = self.concretize(self.visit(f))
            if acc.kind == "m" and b.kind == "m":
                if acc.mshape != b.mshape:
                    raise EvalError(f"⊙ of a {_shape_str(acc)} and a {_shape_str(b)}")
                acc = Val(acc.arr * b.arr, "m")
            else:
                acc = self._mul2(acc, b)
        return acc

    # -- functions ----------------------------------------------------------------
    def e_fn(self, e):
        name = e.value
        if name in ("det", "tr", "vec", "norm", "abs", "diag"):
            return getattr(self, "f_" + name)(e)
        args = [self.visit(a) for a in e.args]
        v0 = self.concretize(args[0])
        if v0.kind == "m" and v0.mshape[1] == 1 and v0.mshape != (1, 1) and len(args) == 1:
            return self._on_vector(name, v0)
        if name == "softmax":
            raise EvalError(f"softmax needs a vector, got a {_shape_str(v0)}")
        x = self.as_scalar(args[0], f"{name}")
        with np.errstate(all="ignore"):
            a = x.arr
            if name == "log":
                out = np.log(a)
                if len(args) > 1:
                    out = out / np.log(self.as_scalar(args[1], "a log base").arr)
            elif name in _UNARY:
                out = _UNARY[name](a)
            elif name == "root":
                n = self.as_scalar(args[1], "a root index").arr
                out = np.power(a, 1.0 / n)
            elif name in ("min", "max"):
                vals = [self.as_scalar(v, name).arr for v in args]
                if any(np.any(np.abs(v.imag) > 1e-12) for v in vals):
                    raise EvalError(f"{name} of complex values")
                stack = np.broadcast_arrays(*[v.real for v in vals])
                out = (np.minimum if name == "min" else np.maximum).reduce(stack).astype(complex)
            else:
                raise EvalError(f"unknown function {name}")
        return Val(np.asarray(out, dtype=complex), "s")

    def _on_vector(self, name: str, v: Val) -> Val:
        """A function of a column vector: softmax, or an elementwise function (exp, log, sigmoid...)."""
        a = v.arr
        with np.errstate(all="ignore"):
            if name == "softmax":
                ex = np.exp(a)
                return Val(ex / ex.sum(axis=-2, keepdims=True), "m")
            if name == "log":
                return Val(np.log(a), "m")
            if name in _UNARY:
                return Val(np.asarray(_UNARY[name](a), dtype=complex), "m")
        raise EvalError(f"{name} of a vector")

    def f_det(self, e):
        v = self.concretize(self.visit(e.args[0]))
        if v.kind == "s":
            return v
        r, c = v.mshape
        if r != c:
            raise EvalError(f"det of a non-square {r}x{c} matrix")
        return Val(np.linalg.det(v.arr), "s")

    def f_tr(self, e):
        v = self.concretize(self.visit(e.args[0]))
        if v.kind == "s":
            return v
        r, c = v.mshape
        if r != c:
            raise EvalError(f"trace of a non-square {r}x{c} matrix")
        return Val(np.trace(v.arr, axis1=-2, axis2=-1), "s")

    def f_vec(self, e):
        v = self.concretize(self.visit(e.args[0]))
        if v.kind == "s":
            return Val(v.arr[..., None, None], "m")
        r, c = v.mshape
        stacked = np.swapaxes(v.arr, -1, -2).reshape(v.arr.shape[:-2] + (r * c, 1))
        return Val(stacked, "m")

    def f_diag(self, e):
        v = self.concretize(self.visit(e.args[0]))
        if v.kind != "m":
            return v
        r, c = v.mshape
        if c == 1:
            return Val(v.arr[..., :, 0][..., :, None] * np.eye(r), "m")
        raise EvalError("diag of a matrix")

    def f_abs(self, e):
        v = self.concretize(self.visit(e.args[0]))
        if v.kind == "m":
            r, c = v.mshape
            if (r, c) == (1, 1):
                return Val(np.abs(v.arr[..., 0, 0]).astype(complex), "s")
            if r == c:  # |J| for a square matrix: the absolute determinant
                return Val(np.abs(np.linalg.det(v.arr)).astype(complex), "s")
            raise EvalError(f"|.| of a {r}x{c} matrix")
        return Val(np.abs(v.arr).astype(complex), "s")

    def f_norm(self, e):
        v = self.concretize(self.visit(e.args[0]))
        order = e.args[1].value if len(e.args) > 1 else None
        if v.kind == "s":
            return Val(np.abs(v.arr).astype(complex), "s")
        r, c = v.mshape
        a = v.arr
        if c == 1 or r == 1 or order in (None, "F"):
            if order not in (None, 2, "F", Fraction(2)):
                if order in (1, Fraction(1)):
                    return Val(np.abs(a).sum(axis=(-1, -2)).astype(complex), "s")
                raise EvalError(f"norm of order {order}")
            return Val(np.sqrt((np.abs(a) ** 2).sum(axis=(-1, -2))).astype(complex), "s")
        if order in (2, Fraction(2)):  # spectral norm of a matrix
            return Val(np.linalg.norm(a, ord=2, axis=(-2, -1)).astype(complex), "s")
        raise EvalError(f"matrix norm of order {order}")

    # -- binders ----------------------------------------------------------------------
    def _var_axes(self, vars_) -> tuple:
        return tuple(self.ctx.axis(v) for v in vars_)

    def _sum_axes(self, v: Val, axes: tuple) -> Val:
        if not axes:
            return v
        return Val(v.arr.sum(axis=axes, keepdims=True), v.kind)

    def e_E(self, e):
        weight = self.as_scalar(self.visit(e.args[0]), "a distribution")
        body = self.concretize(self.visit(e.args[1]))
        vars_ = tuple(e.value)
        copy = self._sloppy_copy(vars_, body)
        if copy is not None:  # E_{z ~ q}[f(z_1)]: read as the expectation over the one sample z_1 it uses
            weight = self.as_scalar(self.e_transport(Expr("transport", (e.args[0],), (vars_[0], copy))),
                                    "a distribution")
            vars_ = (copy,)
        prod = self._mul2(weight, body)
        return self._sum_axes(self._measured(prod, vars_), self._var_axes(vars_))

    def _sloppy_copy(self, vars_: tuple, body: Val):
        """The one copy z_j of the averaged variable z that a body uses when it does not use z itself."""
        if len(vars_) != 1:
            return None
        copies = [v.name for v in self.ctx.variables if getattr(v, "copy_of", "") == vars_[0]]
        if not copies:
            return None
        shape = np.asarray(body.arr).shape
        used = [c for c in copies if len(shape) > self.ctx.axis(c) and shape[self.ctx.axis(c)] > 1]
        if shape[self.ctx.axis(vars_[0])] == 1 and len(used) == 1:
            return used[0]
        return None

    def e_int(self, e):
        body = self.concretize(self.visit(e.args[0]))
        return self._sum_axes(self._measured(body, (e.value,)), self._var_axes((e.value,)))

    def e_sum(self, e):
        return self._sum_or_prod(e, is_sum=True)

    def e_prod(self, e):
        return self._sum_or_prod(e, is_sum=False)

    def _sum_or_prod(self, e, is_sum: bool):
        lo, hi, body = e.args[:3]
        skip = self._int_value(self.visit(e.args[3]), "an excluded index") if len(e.args) > 3 else None
        if lo is None:  # over a support variable
            v = self.concretize(self.visit(body))
            if is_sum:
                return self._sum_axes(v, self._var_axes((e.value,)))
            ax = self._var_axes((e.value,))
            return Val(np.prod(v.arr, axis=ax, keepdims=True), v.kind)
        a = self._int_value(self.visit(lo), "the lower limit")
        b = self._int_value(self.visit(hi), "the upper limit")
        acc = None
        saved = self.bound.get(e.value, None)
        count = 0
        try:
            for k in range(a, b + 1):
                count += 1
                if count % 256 == 0:
                    self._check_time()
                if count > MAX_SUM_TERMS:
                    raise TooCostly(f"a sum or product with more than {MAX_SUM_TERMS} terms")
                if k == skip:
                    continue
                self.bound[e.value] = k
                term = self.concretize(self.visit(body))
                if acc is None:
                    acc = term
                elif is_sum:
                    acc = self._add2(acc, term)
                else:
                    acc = self._mul2(acc, term)
        finally:
            if saved is None:
                self.bound.pop(e.value, None)
            else:
                self.bound[e.value] = saved
        if acc is None:
            return self.scalar(0 if is_sum else 1)
        return acc

    def _int_value(self, v: Val, what: str) -> int:
        s = self.as_scalar(v, what).arr.reshape(-1)
        if s.size != 1 or abs(s[0].imag) > 0 or not np.isfinite(s[0].real) or s[0].real != round(s[0].real):
            raise EvalError(f"{what} of a sum must be an integer")
        if abs(s[0].real) > 10**12:
            raise TooCostly(f"{what} of a sum is too large")
        return int(round(s[0].real))

    def _density_and_vars(self, d: Expr):
        val = self.as_scalar(self.visit(d), "a divergence argument")
        name, vars_, given = d.value if d.op == "density" else (None, (), ())
        return val, vars_

    def e_kl(self, e):
        p, vars_ = self._density_and_vars(e.args[0])
        q, _ = self._density_and_vars(e.args[1])
        with np.errstate(all="ignore"):
            terms = p.arr * (np.log(p.arr) - np.log(q.arr))
        return self._sum_axes(self._measured(Val(terms, "s"), vars_), self._var_axes(vars_))

    def e_jsd(self, e):
        p, vars_ = self._density_and_vars(e.args[0])
        q, _ = self._density_and_vars(e.args[1])
        m = (p.arr + q.arr) / 2
        with np.errstate(all="ignore"):
            terms = 0.5 * p.arr * (np.log(p.arr) - np.log(m)) + 0.5 * q.arr * (np.log(q.arr) - np.log(m))
        return self._sum_axes(self._measured(Val(terms, "s"), vars_), self._var_axes(vars_))

    def _measured(self, v: Val, vars_) -> Val:
        """``v`` times the volume of each point of the variables that carry a measure (a change of
        variables has a Jacobian: the two variables' points have different volumes)."""
        for name in vars_:
            var = self.ctx.var(name)
            measure = getattr(var, "measure", "") if var is not None else ""
            if measure:
                w = self.as_scalar(self.e_sym(Expr("sym", (), measure)), "a measure")
                v = self._mul2(w, v)
        return v

    def e_at(self, e):
        """A member of an indexed family: ``z_i`` (a drawn value) or ``w_j`` (a definition with j bound)."""
        obj = self.ctx.lookup(e.value)
        if obj is None:
            raise EvalError(f"unknown family {e.value}")
        idx = [self._int_value(self.visit(a), f"an index of {obj.name}") for a in e.args]
        if obj.definition is not None:
            # a member's value depends only on its indices (the definition binds nothing else): cached
            cache = self.__dict__.setdefault("_members", {})
            key = (obj.name, tuple(idx))
            if key in cache:
                return cache[key]
            saved = {k: self.bound.get(k) for k in obj.index}
            try:
                for k, v in zip(obj.index, idx):
                    self.bound[k] = v
                cache[key] = self.visit(definition(self.ctx, obj.name))
                return cache[key]
            finally:
                for k, v in saved.items():
                    if v is None:
                        self.bound.pop(k, None)
                    else:
                        self.bound[k] = v
        i = idx[0]
        if not 1 <= i <= obj.members:
            raise EvalError(f"{obj.name}_{i}: the index is outside 1..{obj.members}")
        val = self.inst.values[obj.name]
        return Val(val.arr[i - 1], val.kind)

    def e_forall(self, e):
        """An expression with free indices, evaluated for every value of them (1..N, N the context's count,
        or the number of samples): the values stacked on a leading axis, so two sides compare index by index."""
        import itertools

        names = e.value
        count = self.ctx.lookup("N")
        if count is not None:
            hi = self._int_value(self.e_sym(Expr("sym", (), count.name)), "N")
        else:
            copies = [v for v in self.ctx.variables if getattr(v, "copy_of", "")]
            hi = len(copies) or 3
        saved = {n: self.bound.get(n) for n in names}
        vals = []
        try:
            for combo in itertools.product(range(1, hi + 1), repeat=len(names)):
                for n, v in zip(names, combo):
                    self.bound[n] = v
                vals.append(self.concretize(self.visit(e.args[0])))
        finally:
            for n, v in saved.items():
                if v is None:
                    self.bound.pop(n, None)
                else:
                    self.bound[n] = v
        kinds = {v.kind for v in vals}
        shapes = {np.asarray(v.arr).shape for v in vals}
        if len(kinds) != 1 or len(shapes) != 1:
            raise EvalError("the value's shape changes with the free index")
        return Val(np.stack([np.asarray(v.arr) for v in vals]), vals[0].kind)

    def e_copy(self, e):
        """``p(x, z_j)``: the value over z moved onto the copy z_j chosen by the index's value."""
        n = self._int_value(self.visit(e.args[1]), "a sample index")
        dst = f"{e.value}_{n}"
        if self.ctx.var(dst) is None:
            raise EvalError(f"{dst}: only {len([v for v in self.ctx.variables if v.copy_of == e.value])} "
                            f"samples of {e.value} can be evaluated")
        return self.e_transport(Expr("transport", (e.args[0],), (e.value, dst)))

    def e_Eiid(self, e):
        """E over i.i.d. samples z_{lo:hi} of one density: the product of the copies' densities, summed."""
        dens, body, lo, hi = e.args
        a = self._int_value(self.visit(lo), "the first sample")
        b = self._int_value(self.visit(hi), "the last sample")
        names = [f"{e.value}_{j}" for j in range(a, b + 1)]
        if any(self.ctx.var(n) is None for n in names):
            raise EvalError(f"{e.value}_{{{a}:{b}}}: only a few samples of {e.value} can be evaluated")
        weight = self.scalar(1.0)
        for n in names:
            weight = self._mul2(weight, self.as_scalar(self.e_transport(Expr("transport", (dens,), (e.value, n))),
                                                       "a distribution"))
        prod = self._mul2(weight, self.concretize(self.visit(body)))
        return self._sum_axes(prod, self._var_axes(tuple(names)))

    def e_transport(self, e):
        """A value over ``src`` moved onto the paired variable ``dst`` (the same support size): p_X(F(u))."""
        src, dst = e.value
        v = self.visit(e.args[0])
        a, b = self.ctx.axis(src), self.ctx.axis(dst)
        if v.arr.ndim < self.n_axes or v.arr.shape[b] != 1:
            raise EvalError(f"cannot move a value that already depends on {dst} from {src} onto {dst}")
        return Val(np.swapaxes(v.arr, a, b), v.kind)

    # -- containers -------------------------------------------------------------------------
    def e_matrix(self, e):
        r, c = e.value
        entries = [self.as_scalar(self.visit(a), "a matrix entry") for a in e.args]
        shape = np.broadcast_shapes(*[x.arr.shape for x in entries])
        arr = np.empty(shape + (r, c), dtype=complex)
        for k, x in enumerate(entries):
            arr[..., k // c, k % c] = np.broadcast_to(x.arr, shape)
        return Val(arr, "m")

    def e_tuple(self, e):
        # a tuple used as a value is a column vector
        entries = [self.as_scalar(self.visit(a), "a tuple entry") for a in e.args]
        return self.e_matrix(Expr("matrix", e.args, (len(entries), 1)))


def _batched_power(m, k):
    out = np.broadcast_to(np.eye(m.shape[-1], dtype=complex), m.shape).copy()
    base = m.copy()
    while k:
        if k & 1:
            out = np.matmul(out, base)
        base = np.matmul(base, base)
        k >>= 1
    return out
