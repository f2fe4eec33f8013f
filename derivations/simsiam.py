"""SimSiam's linear learning dynamics and why the stop-gradient matters (ift6135-h22, question 5).

Setting.  A linear encoder ``W`` (n2 x n1) and a linear predictor ``W_p``
(n2 x n2).  A data point x gives two augmented views x1, x2, drawn
independently given x.  Write ``m = E[x' | x]`` for the mean augmented view
and ``x_k = m + e_k`` with ``E[e_k | x] = 0``.  Then

    X  = E_x[m m^T]                  (second moment of the mean view)
    X' = E_x[Cov(x' | x)]            (conditional covariance, averaged over x)

and the objective is J = 1/2 E || W_p f1 - StopGrad(f2) ||^2 with f_k = W x_k.

How the checks derive things.  Answers are matrix expressions built from
non-commutative :class:`sympy.MatrixSymbol` objects (``W``, ``W_p``, ``X``,
``X'``, ``F_1``, ``F_{12}``, ...) with symbolic sizes n1, n2.  A check never
compares two typed-in formulas: it instantiates the answer on *explicit*
matrices of symbols (sizes such as 3 x 2, where products do not commute, so a
wrong factor order fails) and compares it with what is derived from the
definitions:

* the expectation is a linear functional on quadratic polynomials in the
  random symbols (m, e1, e2), fixed by the moment rules E[m m^T] = X,
  E[e_k e_k^T] = X', all cross moments zero (conditional independence and zero
  conditional mean);
* gradients are entry-wise derivatives of the resulting polynomial;
  the stop-gradient is modelled by giving the target branch its own copy ``V``
  of the encoder and setting V = W only after differentiating;
* vec is column-stacking (``sympy.Matrix.vec``), so vec(A W B) = (B^T kron A) vec(W),
  and H(t) is the Jacobian of -vec(dW/dt) with respect to vec(W).

Two SymPy pitfalls met here: ``(Trace(A) + Trace(B)).diff(M)`` returns 0 for
matrix symbols (SymPy 1.14) while each term differentiates correctly, so
:func:`matrix_derivative` differentiates term by term; and ``exp`` of a
matrix symbol is a *scalar* function in SymPy, so the closed form of 5.4 is
declared through its generator M in W(t) = W(0) e^{tM}.

Answer-set findings (003_6d1f8bd69ec35d2c.txt).
* 5.2 reaches the right gradient through four wrong lines whose errors
  cancel in pairs: the objective is rewritten with three copies of
  tr(W_p F12) (and the sign of tr(F2) flipped); the next line differentiates
  only two of them; the derivative of tr(W_p^T W_p F1) is given as W_p F1^T
  (it is W_p (F1 + F1^T) = 2 W_p F1); and the factor 1/2 in front of the
  bracket then disappears.
* 5.3 (in the sheet's own hint, used by the answer set for 5.3 and 5.4):
  ||w(t)|| equals e^{-lambda_0 t} ||w(0)||.  Gronwall gives only an upper
  bound; equality for every start needs H(t) = lambda_0 I.
Beyond the sheet: without stop-gradient lambda_min(H(t)) >= lambda_min(X')
for every predictor, so the hypothesis of 5.3 holds automatically when
X' > 0; with stop-gradient W_p^T W_p - W W^T is conserved, which keeps W away
from 0 whenever ||W(0)||_F > ||W_p(0)||_F.
"""
from __future__ import annotations

import functools
import itertools
import random
from typing import Optional

import numpy as np
import sympy as sp
from sympy.matrices.expressions.kronecker import KroneckerProduct

from derivcheck import claim
from derivcheck.model import SymbolicResult, Verdict

from . import prove

SOURCE = "003_6d1f8bd69ec35d2c.txt"

# --------------------------------------------------------------------------
# Abstract notation (what answers are written in)
# --------------------------------------------------------------------------
n1, n2 = sp.symbols("n_1 n_2", integer=True, positive=True)
W = sp.MatrixSymbol("W", n2, n1)
Wp = sp.MatrixSymbol("W_p", n2, n2)
X = sp.MatrixSymbol("X", n1, n1)
Xp = sp.MatrixSymbol("X'", n1, n1)
F1 = sp.MatrixSymbol("F_1", n2, n2)
F2 = sp.MatrixSymbol("F_2", n2, n2)
F12 = sp.MatrixSymbol("F_{12}", n2, n2)
F21 = sp.MatrixSymbol("F_{21}", n2, n2)
I2 = sp.Identity(n2)
#: matrices that are symmetric by definition (the second moments X and X'): for the mutation selftest, a
#: transpose of one of them is an equivalent mutant, not a wrong answer.  F1 is left out on purpose: the
#: quadratic-trace-derivative check treats it as a generic matrix.
SYMMETRIC = (X, Xp)
#: claims whose statement does not change when the answer is multiplied by a non-zero constant (a
#: multiple of a conserved quantity is conserved): the mutation selftest counts such mutants as equivalent
SCALE_INVARIANT = ("simsiam.stop_gradient_invariant",)
Wt = Wp - I2  # \tilde W_p, written out
WTILDE = sp.MatrixSymbol(r"\tilde{W}_p", n2, n2)  # the sheet's abbreviation, accepted in answers (= W_p - I)
t = sp.Symbol("t", nonnegative=True)

# the answers this module establishes
TRACE_FORM = sp.Rational(1, 2) * (sp.Trace(Wp.T * Wp * F1) - sp.Trace(Wp * F12) - sp.Trace(F12 * Wp)
                                  + sp.Trace(F2))
VIEW_MOMENTS = (W * (X + Xp) * W.T, W * X * W.T)
PREDICTOR_GRADIENT = F12 - Wp * F1
QUADRATIC_TRACE_DERIVATIVE = Wp * (F1 + F1.T)
NO_STOPGRAD_GRADIENT = -(Wp.T * Wp + I2) * W * Xp - Wt.T * Wt * W * X
NO_STOPGRAD_H = KroneckerProduct(Xp, Wp.T * Wp + I2) + KroneckerProduct(X, Wt.T * Wt)
IDENTITY_PREDICTOR_H = KroneckerProduct(2 * Xp, I2)
IDENTITY_PREDICTOR_GENERATOR = -2 * Xp
STOPGRAD_INVARIANT = Wp.T * Wp - W * W.T

# the answer set's lines for 5.2 (as written there)
AS_LINE2_OBJECTIVE = sp.Rational(1, 2) * (sp.Trace(Wp.T * Wp * F1) - 3 * sp.Trace(Wp * F12) - sp.Trace(F2))
AS_LINE3_VALUE = F12.T - Wp * F1  # -1/2 [2 W_p F1 - 2 F12^T]: the bracket of line 3 evaluated correctly
AS_LINE4 = -sp.Rational(1, 2) * (Wp * F1.T - 2 * F12.T)
AS_LINE5 = F12.T - Wp * F1.T
AS_QUADRATIC_DERIVATIVE = Wp * F1.T

COLLAPSE_RELATIONS = ("<=", "==", ">=")


# --------------------------------------------------------------------------
# Explicit matrices and instantiation
# --------------------------------------------------------------------------
def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


def _symmetric(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, n, lambda i, j: sp.Symbol(f"{name}_{min(i, j)}{max(i, j)}", real=True))


def _vector(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, 1, lambda i, j: sp.Symbol(f"{name}_{i}", real=True))


def instantiate(expr, env: dict):
    """``expr`` (a matrix or scalar expression in the abstract notation) with the
    matrix symbols of ``env`` replaced by explicit matrices.

    The sizes n1, n2 are read off the explicit matrices.  Returns an explicit
    ``sympy.Matrix`` (entries expanded) for matrix expressions and an expanded
    scalar otherwise.  The expression tree is walked directly with explicit
    matrix arithmetic (much faster than ``xreplace`` + ``doit`` on matrix
    expressions).  Raises ``ValueError`` when the expression uses a matrix
    symbol ``env`` does not define (an answer outside the question's notation)
    or a construct the walk does not know.
    """
    dims: dict = {}
    by_name = {}
    for sym, value in env.items():
        value = sp.Matrix(value)
        by_name[sym.name] = value
        for d, v in zip(sym.shape, value.shape):
            if isinstance(d, sp.Symbol):
                if dims.setdefault(d, v) != v:
                    raise ValueError(f"inconsistent sizes for {d}: {dims[d]} and {v}")
    out = _explicit(prove.as_expr(expr) if not isinstance(expr, sp.Basic) else expr, by_name, dims)
    if isinstance(out, sp.MatrixBase):
        return sp.Matrix(out).applyfunc(sp.expand)
    return sp.expand(out)


def _size(d, dims) -> int:
    d = dims.get(d, d)
    if not getattr(d, "is_Integer", False) and not isinstance(d, int):
        raise ValueError(f"unknown size {d}")
    return int(d)


def _explicit(e, env: dict, dims: dict):
    """The explicit value of a matrix/scalar expression tree (see :func:`instantiate`)."""
    from sympy.matrices.expressions.kronecker import kronecker_product

    if isinstance(e, sp.MatrixSymbol):
        if e.name not in env:
            raise ValueError(f"the expression uses {e.name}, which this question's notation does not define")
        value = env[e.name]
        if value.shape != (_size(e.rows, dims), _size(e.cols, dims)):
            raise ValueError(f"{e.name} is {value.shape}, the expression wants {e.shape}")
        return value
    if isinstance(e, sp.Identity):
        return sp.eye(_size(e.rows, dims))
    if isinstance(e, sp.ZeroMatrix):
        return sp.zeros(_size(e.rows, dims), _size(e.cols, dims))
    if isinstance(e, sp.MatrixBase):
        return sp.Matrix(e)
    if isinstance(e, (sp.MatAdd, sp.Add)):
        parts = [_explicit(a, env, dims) for a in e.args]
        out = parts[0]
        for p in parts[1:]:
            if isinstance(out, sp.MatrixBase) != isinstance(p, sp.MatrixBase):
                raise ValueError("a matrix added to a scalar")
            out = out + p
        return out
    if isinstance(e, (sp.MatMul, sp.Mul)):
        out = sp.Integer(1)
        for a in e.args:
            out = out * _explicit(a, env, dims)  # Matrix * Matrix is the matrix product
        return out
    if isinstance(e, sp.Transpose):
        return _explicit(e.arg, env, dims).T
    if isinstance(e, sp.Inverse):
        return _explicit(e.arg, env, dims).inv()
    if isinstance(e, sp.MatPow):
        return _explicit(e.base, env, dims) ** e.exp
    if isinstance(e, KroneckerProduct):
        return sp.Matrix(kronecker_product(*[_explicit(a, env, dims) for a in e.args]))
    if isinstance(e, sp.Trace):
        return _explicit(e.arg, env, dims).trace()
    if isinstance(e, sp.Pow):
        return _explicit(e.base, env, dims) ** _explicit(e.exp, env, dims)
    if isinstance(e, (sp.Symbol, sp.Number, sp.NumberSymbol)) or (isinstance(e, sp.Expr) and not e.has(sp.MatrixExpr)
                                                                   and not e.atoms(sp.MatrixSymbol)):
        return e
    raise ValueError(f"cannot expand {type(e).__name__} ({e})")


def matrix_derivative(scalar, M: sp.MatrixSymbol):
    """d(scalar)/dM for a scalar built from traces of matrix symbols, term by term
    (SymPy's ``diff`` of a *sum* of traces returns 0; single terms are right)."""
    parts = [term.diff(M) for term in sp.Add.make_args(sp.expand(scalar))]
    parts = [p for p in parts if not (p == 0 or getattr(p, "is_ZeroMatrix", False))]
    if not parts:
        return sp.ZeroMatrix(*M.shape)
    return sp.MatAdd(*parts).doit()


def grad(scalar, M: sp.Matrix) -> sp.Matrix:
    """Entry-wise gradient of a scalar polynomial with respect to an explicit matrix of symbols."""
    return M.applyfunc(lambda m: sp.diff(scalar, m))


def _partial_shape_check(derived: sp.Matrix, claimed) -> Optional[SymbolicResult]:
    if not isinstance(claimed, sp.MatrixBase) or claimed.shape != derived.shape:
        shape = claimed.shape if isinstance(claimed, sp.MatrixBase) else "scalar"
        return SymbolicResult(Verdict.FAILS, method="shape mismatch",
                              residual=f"derived shape {derived.shape}, answer shape {shape}")
    return None


def _equal(derived, claimed, what: str) -> SymbolicResult:
    """prove.zero of the expanded residual.

    The residuals here are polynomials (or exponential polynomials), for which
    expansion is canonical enough to decide zero; when entries survive, only
    the smallest one is handed to ``prove.zero`` (which simplifies it and finds
    an exact counterexample), so a wrong answer is refuted without simplifying
    every entry of a large matrix.
    """
    if isinstance(derived, sp.MatrixBase):
        bad = _partial_shape_check(derived, claimed)
        if bad is not None:
            return bad
        residual = (derived - claimed).applyfunc(sp.expand)
        nonzero = [(sp.count_ops(residual[i, j]), (i, j), residual[i, j])
                   for i in range(residual.rows) for j in range(residual.cols) if residual[i, j] != 0]
        if not nonzero:
            return prove.zero(residual, what=what)
        _, (i, j), entry = min(nonzero, key=lambda item: item[0])
        result = _refute(entry, f"{what}, entry ({i + 1}, {j + 1})")
        result.detail = (result.detail + "; " if result.detail else "") + (
            f"{len(nonzero)} of {residual.rows * residual.cols} entries of the expanded residual are non-zero")
        return result
    residual = sp.expand(derived - claimed)
    return prove.zero(residual, what=what) if residual == 0 else _refute(residual, what)


_SLICE_TERMS = 40


def _refute(entry, what: str) -> SymbolicResult:
    """``prove.zero`` of a non-zero expanded residual, on a slice when it is large.

    Simplifying a polynomial with hundreds of terms is slow and pointless (an expanded non-zero
    polynomial is not the zero function), so all but three of its symbols are fixed at small exact
    values; if the restricted residual is still non-zero, ``prove.zero`` refutes it and the fixed
    values join the counterexample.  An unlucky slice falls back to the whole residual.
    """
    if len(sp.Add.make_args(entry)) <= _SLICE_TERMS:
        return prove.zero(entry, what=what)
    symbols = sorted(entry.free_symbols, key=lambda x: x.name)
    rnd = random.Random(3)
    fixed = {x: sp.Rational(rnd.choice([-3, -2, -1, 1, 2, 3]), rnd.choice([1, 2])) for x in symbols[3:]}
    restricted = sp.expand(entry.xreplace(fixed))
    if restricted == 0:
        return prove.zero(entry, what=what)
    result = prove.zero(restricted, what=f"{what} (restricted to a slice)")
    if result.counterexample is not None:
        result.counterexample = {**{str(k): str(v) for k, v in fixed.items()}, **result.counterexample}
    result.detail = (result.detail + "; " if result.detail else "") + (
        f"the expanded residual has {len(sp.Add.make_args(entry))} terms; {len(fixed)} of its symbols were "
        "fixed at the exact values listed in the counterexample")
    return result


# --------------------------------------------------------------------------
# The explicit model: moments, objective, dynamics
# --------------------------------------------------------------------------
class LinearSimSiam:
    """Explicit n2 x n1 encoder, n2 x n2 predictor and the expectation over views.

    Random symbols: ``m`` (mean view), ``e1``, ``e2`` (the views' deviations).
    :meth:`expect` maps a polynomial of degree <= 2 in them to its expectation
    under the moment rules of the module docstring.  The target branch uses
    the encoder copy ``V``; :meth:`tie` sets V = W.
    """

    def __init__(self, d1: int, d2: int):
        self.n1, self.n2 = d1, d2
        self.W = _matrix("W", d2, d1)
        self.V = _matrix("V", d2, d1)
        self.P = _matrix("P", d2, d2)
        self.X = _symmetric("X", d1)
        self.Xp = _symmetric("X'", d1)
        self.m, self.e1, self.e2 = _vector("m", d1), _vector("a", d1), _vector("b", d1)
        self.x1, self.x2 = self.m + self.e1, self.m + self.e2
        self._random = list(self.m) + list(self.e1) + list(self.e2)
        self._moment = {}
        for i, j in itertools.product(range(d1), repeat=2):
            self._moment[(self.m[i], self.m[j])] = self.X[i, j]
            self._moment[(self.e1[i], self.e1[j])] = self.Xp[i, j]
            self._moment[(self.e2[i], self.e2[j])] = self.Xp[i, j]
        self._tie = dict(zip(list(self.V), list(self.W)))

    @property
    def env(self) -> dict:
        return {W: self.W, Wp: self.P, X: self.X, Xp: self.Xp, WTILDE: self.P - sp.eye(self.n2)}

    @property
    def state(self) -> list:
        return list(self.W) + list(self.P)

    def expect(self, expr):
        """E[expr] for a polynomial of degree 0 or 2 in the random symbols."""
        if isinstance(expr, sp.MatrixBase):
            return expr.applyfunc(self.expect)
        poly = sp.Poly(sp.expand(expr), *self._random)
        out = sp.Integer(0)
        for monom, coeff in poly.terms():
            degree = sum(monom)
            if degree == 0:
                out += coeff
            elif degree == 2:
                a, b = [self._random[k] for k, power in enumerate(monom) for _ in range(power)]
                out += coeff * self._moment.get((a, b), 0)
            else:
                raise ValueError(f"moment of degree {degree} is not defined by the model")
        return sp.expand(out)

    def tie(self, expr):
        return expr.xreplace(self._tie)

    @functools.lru_cache(maxsize=None)
    def objective(self, predictor: str = "trained"):
        """J(W, V) = 1/2 E ||P W x1 - V x2||^2 (P = I when the predictor is removed)."""
        P = self.P if predictor == "trained" else sp.eye(self.n2)
        r = P * self.W * self.x1 - self.V * self.x2
        return self.expect((r.T * r)[0] / 2)

    @functools.lru_cache(maxsize=None)
    def moments(self) -> dict:
        """F1 = E[f1 f1^T], F2 = E[f2 f2^T], F12 = E[f1 f2^T], F21 = E[f2 f1^T] with f_k = W x_k."""
        f1, f2 = self.W * self.x1, self.W * self.x2
        return {F1: self.expect(f1 * f1.T), F2: self.expect(f2 * f2.T),
                F12: self.expect(f1 * f2.T), F21: self.expect(f2 * f1.T)}

    @functools.lru_cache(maxsize=None)
    def dynamics(self, *, stop_gradient: bool, predictor: str = "trained"):
        """(dW/dt, dP/dt) = minus the gradients of J, at V = W.

        With the stop-gradient only the online copy W is differentiated;
        without it the tied objective J(W, W) is.
        """
        J = self.objective(predictor)
        if stop_gradient:
            dW = -self.tie(grad(J, self.W))
        else:
            dW = -grad(self.tie(J), self.W)
        dP = -self.tie(grad(J, self.P)) if predictor == "trained" else sp.zeros(self.n2, self.n2)
        return dW.applyfunc(sp.expand), dP.applyfunc(sp.expand)

    def h_matrix(self, predictor: str = "trained") -> sp.Matrix:
        """H with d vec(W)/dt = -H vec(W) (no stop-gradient), as the Jacobian in vec(W)."""
        dW, _ = self.dynamics(stop_gradient=False, predictor=predictor)
        return -dW.vec().jacobian(self.W.vec())

    def time_derivative(self, Q: sp.Matrix, *, stop_gradient: bool) -> sp.Matrix:
        """dQ/dt along the flow, by the chain rule over the state (W, P)."""
        dW, dP = self.dynamics(stop_gradient=stop_gradient)
        velocity = dict(zip(self.state, list(dW) + list(dP)))
        return Q.applyfunc(lambda q: sp.expand(sum(sp.diff(q, s) * v for s, v in velocity.items())))


@functools.lru_cache(maxsize=None)
def model(d1: int = 3, d2: int = 2) -> LinearSimSiam:
    return LinearSimSiam(d1, d2)


def _generic_predictor_env(d2: int = 3, symmetric: bool = True) -> dict:
    """W_p generic; F1 (= F2) and F12 (= F21) generic, symmetric when asked (the sheet's F's are)."""
    P = _matrix("P", d2, d2)
    make = (lambda name: _symmetric(name, d2)) if symmetric else (lambda name: _matrix(name, d2, d2))
    A, B = make("F1"), make("F12")
    return {Wp: P, F1: A, F2: A, F12: B, F21: B.T}


def _neg_predictor_gradient(objective, env: dict) -> sp.Matrix:
    """-dJ/dW_p of a trace-form objective, entry-wise on explicit matrices."""
    return -grad(instantiate(objective, env), env[Wp])


# --------------------------------------------------------------------------
# 5.1: the trace form and the view moments
# --------------------------------------------------------------------------
def _trace_form_check(answer):
    """The expected loss, derived from the moment rules, equals the answer with the F's
    replaced by their definitions E[f f^T] (also derived from the moment rules)."""
    results, labels = [], []
    for dims in ((3, 2), (2, 3)):
        m = model(*dims)
        derived = m.tie(m.objective())
        env = {**m.env, **m.moments()}
        claimed = instantiate(answer, env)
        if isinstance(claimed, sp.MatrixBase):
            return SymbolicResult(Verdict.FAILS, method="the objective is a scalar", residual=f"shape {claimed.shape}")
        results.append(_equal(derived, claimed, what="E[1/2 ||W_p f1 - f2||^2] - answer"))
        labels.append(f"n1 = {dims[0]}, n2 = {dims[1]}")
    return prove.all_of(*results, labels=labels)


claim(
    "simsiam.trace_form",
    title="The SimSiam objective in trace form",
    questions=["ift6135-h22/5.1"],
    statement=(
        r"J = \tfrac12\,\mathbb{E}\|W_p f_1 - f_2\|^2 = \tfrac12\big[\operatorname{tr}(W_p^\top W_p F_1)"
        r" - \operatorname{tr}(W_p F_{12}) - \operatorname{tr}(F_{12} W_p) + \operatorname{tr}(F_2)\big],"
        r"\ F_1 = \mathbb{E}[f_1 f_1^\top],\ F_2 = \mathbb{E}[f_2 f_2^\top],\ F_{12} = \mathbb{E}[f_1 f_2^\top]"
    ),
    assumptions=[r"f_k = W x_k,\ x_1, x_2 \text{ independent given } x",
                 r"\mathbb{E}[x_k \mid x] = \bar x,\ \operatorname{Cov}(x_k \mid x) = \Sigma_x"],
    answer=TRACE_FORM,
    rejects=lambda: [
        sp.Rational(1, 2) * (sp.Trace(Wp.T * Wp * F1) - sp.Trace(Wp * F1) - sp.Trace(F1 * Wp) + sp.Trace(F2)),
    ],
)(_trace_form_check)

claim(
    "simsiam.answer_set_predictor_objective",
    title="Refuted (5.2, second line): J = ½[tr(WpᵀWpF1) − 3 tr(WpF12) − tr(F2)]",
    questions=["ift6135-h22/5.2"],
    statement=r"J \overset{?}{=} \tfrac12\big[\operatorname{tr}(W_p^\top W_p F_1) - 3\operatorname{tr}(W_p F_{12})"
              r" - \operatorname{tr}(F_2)\big]",
    assumptions=[r"F_1 = F_2,\ F_{12} = F_{21} \text{ as in 5.1}"],
    answer=AS_LINE2_OBJECTIVE,
    expect="fails",
    note=(
        f"In {SOURCE} the 5.2 answer starts by restating J with the cross term tr(W_p F12) three times instead "
        "of twice and with +tr(F2) turned into -tr(F2). The restated objective is a different function of W_p "
        "(it differs from J by tr(W_p F12)/2 + tr(F2)); the next line then differentiates only two of the three "
        "cross terms, which hides the slip (see simsiam.answer_set_predictor_dropped_term)."
    ),
)(_trace_form_check)


@claim(
    "simsiam.view_moments",
    title="F1 = F2 = W(X + X')Wᵀ and F12 = F21 = W X Wᵀ",
    questions=["ift6135-h22/5.1"],
    statement=(
        r"\mathbb{E}[f_1 f_1^\top] = \mathbb{E}[f_2 f_2^\top] = W(X + X')W^\top,\quad"
        r"\mathbb{E}[f_1 f_2^\top] = \mathbb{E}[f_2 f_1^\top] = W X W^\top"
    ),
    assumptions=[r"X = \mathbb{E}_x[\bar x \bar x^\top],\ \bar x = \mathbb{E}[x' \mid x]",
                 r"X' = \mathbb{E}_x[\operatorname{Cov}(x' \mid x)]",
                 r"x_1, x_2 \text{ i.i.d. given } x"],
    answer=VIEW_MOMENTS,
    rejects=lambda: [
        (W * (X + Xp) * W.T, W * Xp * W.T),  # X and X' swapped in F12
    ],
)
def view_moments(answer):
    """Each second moment of the representations, from the moment rules, equals the claimed matrix."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return SymbolicResult(Verdict.FAILS, method="the answer must be the pair (F1, F12)", residual=repr(answer))
    m = model(3, 2)
    mom = m.moments()
    a1, a12 = (instantiate(a, m.env) for a in answer)
    return prove.all_of(
        _equal(mom[F1], a1, "E[f1 f1^T] - answer F1"),
        _equal(mom[F2], a1, "E[f2 f2^T] - answer F1"),
        _equal(mom[F12], a12, "E[f1 f2^T] - answer F12"),
        _equal(mom[F21], a12, "E[f2 f1^T] - answer F12"),
        labels=["F1", "F2 = F1", "F12", "F21 = F12"],
    )


# --------------------------------------------------------------------------
# 5.2: the predictor gradient and the answer set's route to it
# --------------------------------------------------------------------------
@claim(
    "simsiam.predictor_gradient",
    title="The predictor's gradient flow: dW_p/dt = F12 − W_p F1",
    questions=["ift6135-h22/5.2"],
    statement=r"\dot W_p = -\frac{\partial J}{\partial W_p} = F_{12} - W_p F_1",
    assumptions=[r"F_1 = F_1^\top,\ F_{12} = F_{12}^\top \text{ (true for the moments of 5.1)}"],
    answer=PREDICTOR_GRADIENT,
    rejects=lambda: [
        F12 - F1 * Wp,  # wrong factor order
    ],
)
def predictor_gradient(answer):
    """Three routes agree with the answer: entry-wise differentiation of the trace form (generic
    symmetric F's, n2 = 3), SymPy's matrix calculus on the trace form, and differentiation of the
    expected loss itself (moment rules) with the F's replaced by their definitions."""
    env = _generic_predictor_env(3)
    claimed = instantiate(answer, env)
    by_entries = _neg_predictor_gradient(TRACE_FORM, env)
    calculus = instantiate(-matrix_derivative(TRACE_FORM, Wp), env)
    m = model(3, 2)
    from_loss = -m.tie(grad(m.objective(), m.P))
    loss_env = {**m.env, **m.moments()}
    return prove.all_of(
        _equal(by_entries, claimed, "-dJ/dW_p (entry-wise) - answer"),
        _equal(calculus, claimed, "-dJ/dW_p (matrix calculus) - answer"),
        _equal(from_loss.applyfunc(sp.expand), instantiate(answer, loss_env), "-dE[loss]/dW_p - answer"),
        labels=["trace form, entry-wise", "trace form, matrix calculus", "expected loss"],
    )


def _quadratic_trace_check(answer):
    """d tr(W_p^T W_p F1) / dW_p, entry-wise with a generic (not symmetric) F1, against the answer."""
    env = _generic_predictor_env(3, symmetric=False)
    derived = grad(instantiate(sp.Trace(Wp.T * Wp * F1), env), env[Wp])
    calculus = instantiate(matrix_derivative(sp.Trace(Wp.T * Wp * F1), Wp), env)
    claimed = instantiate(answer, env)
    sym_env = _generic_predictor_env(3, symmetric=True)
    return prove.all_of(
        _equal(derived, claimed, "d tr(W_p^T W_p F1)/dW_p - answer"),
        _equal(calculus, claimed, "matrix calculus - answer"),
        _equal(grad(instantiate(sp.Trace(Wp.T * Wp * F1), sym_env), sym_env[Wp]), instantiate(answer, sym_env),
               "same, F1 symmetric"),
        labels=["entry-wise, generic F1", "matrix calculus", "entry-wise, symmetric F1"],
    )


claim(
    "simsiam.quadratic_trace_derivative",
    title="d tr(WpᵀWp F1)/dWp = Wp(F1 + F1ᵀ)  (= 2 Wp F1 for symmetric F1)",
    questions=["ift6135-h22/5.2"],
    statement=r"\frac{\partial}{\partial W_p}\operatorname{tr}(W_p^\top W_p F_1) = W_p (F_1 + F_1^\top)",
    assumptions=[r"F_1 \in \mathbb{R}^{n_2\times n_2} \text{ arbitrary}"],
    answer=QUADRATIC_TRACE_DERIVATIVE,
    rejects=lambda: [
        Wp * F1.T,  # the answer set's line
    ],
)(_quadratic_trace_check)

claim(
    "simsiam.answer_set_quadratic_trace_derivative",
    title="Refuted (5.2, fourth line): d tr(WpᵀWp F1)/dWp = Wp F1ᵀ",
    questions=["ift6135-h22/5.2"],
    statement=r"\frac{\partial}{\partial W_p}\operatorname{tr}(W_p^\top W_p F_1) \overset{?}{=} W_p F_1^\top",
    assumptions=[r"F_1 \in \mathbb{R}^{n_2\times n_2}"],
    answer=AS_QUADRATIC_DERIVATIVE,
    expect="fails",
    note=(
        f"In {SOURCE} the 5.2 answer differentiates the quadratic term as W_p F1^T. W_p enters that trace "
        "twice, so the derivative is W_p (F1 + F1^T), which is 2 W_p F1 for the symmetric F1 of the sheet: "
        "the line is off by a factor 2 in its first term. The following line drops the factor 1/2 in front "
        "of the bracket (simsiam.answer_set_predictor_halving), and the two slips cancel."
    ),
)(_quadratic_trace_check)


@claim(
    "simsiam.answer_set_predictor_dropped_term",
    title="Refuted (5.2, third line): differentiating the restated objective gives F12 − Wp F1",
    questions=["ift6135-h22/5.2"],
    statement=(
        r"-\frac{\partial}{\partial W_p}\tfrac12\big[\operatorname{tr}(W_p^\top W_p F_1)"
        r" - 3\operatorname{tr}(W_p F_{12}) - \operatorname{tr}(F_2)\big] \overset{?}{=} F_{12}^\top - W_p F_1"
    ),
    assumptions=[r"F_1 = F_1^\top,\ F_{12} = F_{12}^\top"],
    answer=AS_LINE3_VALUE,
    expect="fails",
    note=(
        f"In {SOURCE} the third line of 5.2 differentiates the objective of the second line but keeps only two "
        "of its three tr(W_p F12) terms. Evaluated correctly, the derivative of the second line's objective "
        "is (3/2) F12 - W_p F1, not F12 - W_p F1: the dropped term undoes the extra one introduced a line earlier."
    ),
)
def answer_set_predictor_dropped_term(answer):
    """-d/dW_p of the answer set's restated objective (its second line), entry-wise, against the answer."""
    env = _generic_predictor_env(3)
    return _equal(_neg_predictor_gradient(AS_LINE2_OBJECTIVE, env), instantiate(answer, env),
                  "-d(line 2)/dW_p - answer")


@claim(
    "simsiam.answer_set_predictor_halving",
    title="Refuted (5.2, last step): −½(Wp F1ᵀ − 2 F12ᵀ) = −Wp F1ᵀ + F12ᵀ",
    questions=["ift6135-h22/5.2"],
    statement=r"-\tfrac12\big[W_p F_1^\top - 2F_{12}^\top\big] \overset{?}{=} -W_p F_1^\top + F_{12}^\top",
    assumptions=[r"F_1, F_{12} \in \mathbb{R}^{n_2\times n_2}"],
    answer=AS_LINE5,
    expect="fails",
    note=(
        f"In {SOURCE} the 5.2 answer turns -1/2 (W_p F1^T - 2 F12^T) into -W_p F1^T + F12^T: the 1/2 is applied to "
        "the second term only. This compensates the missing factor 2 of the previous line "
        "(simsiam.answer_set_quadratic_trace_derivative), so the boxed result F12 - W_p F1 is right although "
        "neither step is."
    ),
)
def answer_set_predictor_halving(answer):
    """The answer set's fourth line, expanded on explicit matrices, against the answer."""
    env = _generic_predictor_env(3)
    return _equal(instantiate(AS_LINE4, env), instantiate(answer, env), "line 4 - answer")


# --------------------------------------------------------------------------
# 5.3: no stop-gradient: gradient, H(t), its lower bound, collapse
# --------------------------------------------------------------------------
@claim(
    "simsiam.no_stopgrad_gradient",
    title="Without stop-gradient: dW/dt = −(WpᵀWp + I) W X' − W̃pᵀW̃p W X",
    questions=["ift6135-h22/5.3"],
    statement=(
        r"\dot W = -\frac{\partial J}{\partial W} = -(W_p^\top W_p + I) W X' - \tilde W_p^\top \tilde W_p W X,"
        r"\quad \tilde W_p = W_p - I"
    ),
    assumptions=[r"\text{no stop-gradient: } f_2 = W x_2 \text{ is differentiated too}", r"X = X^\top,\ X' = X'^\top"],
    answer=NO_STOPGRAD_GRADIENT,
    rejects=lambda: [
        -(Wp.T * Wp + I2) * W * X - (Wp - I2).T * (Wp - I2) * W * Xp,  # X and X' swapped
    ],
)
def no_stopgrad_gradient(answer):
    """-d/dW of the expected loss J(W, W) (both branches), from the moment rules, equals the answer."""
    m = model(3, 2)
    dW, _ = m.dynamics(stop_gradient=False)
    return _equal(dW, instantiate(answer, m.env), "-dJ(W, W)/dW - answer (n1 = 3, n2 = 2)")


def _gram_substitution(m: LinearSimSiam):
    """X = M M^T and X' = L L^T with generic square L, M: every PSD pair arises this way."""
    L, M = _matrix("L", m.n1, m.n1), _matrix("M", m.n1, m.n1)
    return L, M, {**m.env, X: M * M.T, Xp: L * L.T}


def _kron(A: sp.Matrix, B: sp.Matrix) -> sp.Matrix:
    from sympy.matrices.expressions.kronecker import kronecker_product

    return sp.Matrix(kronecker_product(sp.Matrix(A), sp.Matrix(B)))


@claim(
    "simsiam.no_stopgrad_h",
    title="H(t) = X' ⊗ (WpᵀWp + I) + X ⊗ W̃pᵀW̃p, and H(t) is PSD",
    questions=["ift6135-h22/5.3.H"],
    statement=(
        r"\tfrac{d}{dt}\operatorname{vec}(W) = -H\operatorname{vec}(W),\ "
        r"H = X' \otimes (W_p^\top W_p + I) + X \otimes \tilde W_p^\top \tilde W_p \succeq 0"
    ),
    assumptions=[r"\operatorname{vec} \text{ stacks columns}: "
                 r"\operatorname{vec}(AWB) = (B^\top\otimes A)\operatorname{vec}(W)",
                 r"X \succeq 0,\ X' \succeq 0"],
    answer=NO_STOPGRAD_H,
    rejects=lambda: [
        KroneckerProduct(Wp.T * Wp + I2, Xp) + KroneckerProduct((Wp - I2).T * (Wp - I2), X),  # factors swapped
    ],
)
def no_stopgrad_h(answer):
    """The Jacobian of -vec(dW/dt) in vec(W) (derived from the loss) equals the answer, does not
    depend on W (the flow is linear in W), and the answer is a Gram matrix G G^T once X = M M^T and
    X' = L L^T, hence PSD."""
    m = model(3, 2)
    H = m.h_matrix()
    claimed = instantiate(answer, m.env)
    L, M, gram_env = _gram_substitution(m)
    C_T = sp.Matrix.hstack(m.P.T, sp.eye(m.n2))
    G = sp.Matrix.hstack(_kron(L, C_T), _kron(M, (m.P - sp.eye(m.n2)).T))
    linear = prove.true(sp.Eq(len(H.free_symbols & set(m.W)), 0), what="H free of W")
    return prove.all_of(
        linear,
        _equal(H, claimed, "H_derived - answer"),
        _equal((G * G.T).applyfunc(sp.expand), instantiate(answer, gram_env), "G G^T - answer"),
        labels=["flow linear in vec(W)", "H", "Gram form (PSD)"],
    )


def _rational_vector(v: np.ndarray) -> sp.Matrix:
    return sp.Matrix([sp.Rational(round(float(x) * 10**6), 10**6) for x in v])


@claim(
    "simsiam.h_lower_bound",
    title="λmin(H(t)) ≥ λmin(X') for every predictor: 5.3's hypothesis holds when X' ≻ 0",
    questions=["ift6135-h22/5.3"],
    statement=(
        r"\lambda_{\min}(H) \ge \lambda_{\min}(X') \ \ \forall W_p,\ \text{since }"
        r"H - \lambda I = (X' - \lambda I)\otimes(W_p^\top W_p + I) + \lambda I \otimes W_p^\top W_p"
        r" + X \otimes \tilde W_p^\top\tilde W_p,\ \lambda = \lambda_{\min}(X')"
    ),
    assumptions=[r"X \succeq 0,\ X' \succeq 0", r"\text{no stop-gradient}"],
    answer=Xp,
    rejects=lambda: [
        3 * Xp,  # too strong a bound
    ],
)
def h_lower_bound(answer):
    """The answer S bounds the spectrum: H - lambda_min(S) I is PSD.

    First a search for a counterexample: at exact rational instances (W_p in {I, 0, a rational
    matrix}, S = I + N N^T so lambda_min(S) = 1 when it applies, the other moment a Gram matrix) a
    vector v with v^T (H - I) v < 0 evaluated exactly refutes the bound.  Then, when the answer is X',
    the proof: with X' = lambda I + L L^T (lambda > 0) the derived H - lambda I equals
    G G^T, G = [L kron C^T | sqrt(lambda) I kron W_p^T | M kron W~_p^T], C^T = [W_p^T  I].
    """
    m = model(2, 2)
    H = m.h_matrix()
    S = instantiate(answer, m.env)
    bad = _partial_shape_check(m.X, S)
    if bad is not None:
        return bad
    rnd = random.Random(5)
    N = sp.Matrix(2, 2, [sp.Rational(rnd.randint(-3, 3), 2) for _ in range(4)])
    R = sp.Matrix(2, 2, [sp.Rational(rnd.randint(-4, 4), 3) for _ in range(4)])
    for Pval in (sp.eye(2), sp.zeros(2, 2), sp.Matrix(2, 2, [sp.Rational(rnd.randint(-4, 4), 3) for _ in range(4)])):
        for scale in (sp.Integer(0), sp.Rational(1, 10), sp.Integer(1)):
            for target, other in ((m.Xp, m.X), (m.X, m.Xp)):
                # one moment is I + N N^T, the other a scaled Gram matrix; lambda_min(S) is computed exactly
                sub = {}
                sub.update({s: v for s, v in zip(target, sp.eye(2) + N * N.T)})
                sub.update({s: v for s, v in zip(other, scale * R * R.T)})
                sub.update({s: v for s, v in zip(m.P, Pval)})
                S_val = S.xreplace(sub)
                if S_val.free_symbols:
                    continue
                lam = min(sp.Matrix(S_val).eigenvals(multiple=True), key=lambda z: float(sp.re(z)))
                Hm = H.xreplace(sub) - lam * sp.eye(H.rows)
                vals, vecs = np.linalg.eigh(np.array(Hm.evalf(30).tolist(), dtype=float))
                v = _rational_vector(vecs[:, 0])
                q = sp.expand((v.T * Hm * v)[0])
                if sp.N(q, 30) < -sp.Float("1e-20"):
                    return SymbolicResult(
                        Verdict.FAILS, method="v^T (H - lambda_min(S) I) v < 0 at an exact instance",
                        residual=f"v^T (H - lambda I) v = {sp.N(q, 8)}",
                        counterexample={"W_p": str(Pval.tolist()), "S": str(S_val.tolist()), "lambda_min(S)": str(lam),
                                        "v": str(list(v)), "value": str(sp.N(q, 8))},
                    )
    same = _equal(m.Xp, S, "answer - X'")
    if same.verdict is not Verdict.HOLDS:
        return SymbolicResult(Verdict.INCONCLUSIVE, method="no counterexample, and the answer is not X'",
                              residual=same.residual, detail="only the bound by X' is proved here")
    lam = sp.Symbol("lambda", positive=True)
    L, M = _matrix("L", m.n1, m.n1), _matrix("M", m.n1, m.n1)
    sub = {**dict(zip(m.Xp, lam * sp.eye(m.n1) + L * L.T)), **dict(zip(m.X, M * M.T))}
    I2e = sp.eye(m.n2)
    G = sp.Matrix.hstack(_kron(L, sp.Matrix.hstack(m.P.T, I2e)), sp.sqrt(lam) * _kron(sp.eye(m.n1), m.P.T),
                         _kron(M, (m.P - I2e).T))
    shifted = (H.xreplace(sub) - lam * sp.eye(H.rows)).applyfunc(sp.expand)
    return prove.all_of(
        same,
        _equal(shifted, (G * G.T).applyfunc(sp.expand), "(H - lambda I) - G G^T"),
        labels=["the answer is X'", "H - lambda_min(X') I is a Gram matrix"],
    )


def _collapse_relation(answer):
    """Which relation links ||w(t)|| and e^{-lambda_0 t} ||w(0)|| for every admissible H(t).

    Gronwall: with H = lambda_0 I + G G^T (any H >= lambda_0 I, here 3 x 3), along w' = -H w
    d/dt [e^{2 lambda_0 t} ||w||^2] = -2 e^{2 lambda_0 t} ||G^T w||^2 <= 0, so the rescaled norm never
    grows: '<=' holds.  The example H = diag(1, 3), w(0) = (1, 1) (lambda_0 = 1, exact solution
    (e^{-t}, e^{-3t}), verified) makes it strict at t = 1, refuting '==' and '>='; H = lambda_0 I
    attains equality, so no better constant exists.
    """
    rel = str(answer).strip()
    if rel not in COLLAPSE_RELATIONS:
        return SymbolicResult(Verdict.FAILS, method="not one of the options",
                              residual=f"{answer!r} not in {list(COLLAPSE_RELATIONS)}")
    lam = sp.Symbol("lambda_0", positive=True)
    G = _matrix("G", 3, 3)
    w = _vector("w", 3)
    H = lam * sp.eye(3) + G * G.T
    rescaled_rate = sp.exp(2 * lam * t) * (2 * lam * (w.T * w)[0] + 2 * (w.T * (-H * w))[0])
    u = G.T * w
    gronwall_form = -2 * sp.exp(2 * lam * t) * sum(ui**2 for ui in u)
    Hs = sp.diag(1, 3)
    ws = sp.Matrix([sp.exp(-t), sp.exp(-3 * t)])
    w0 = ws.subs(t, 0)
    solves = prove.all_of(prove.zero(ws.diff(t) + Hs * ws, what="w' + H w"),
                          prove.equal(w0, sp.Matrix([1, 1]), what="w(0) - (1, 1)"),
                          labels=["ODE", "initial value"])
    ratio = sp.simplify((ws.T * ws)[0] / (sp.exp(-2 * t) * (w0.T * w0)[0]))  # ||w||^2 / (e^{-2 t} ||w0||^2)
    at_one = ratio.subs(t, 1)
    we = sp.exp(-lam * t) * w  # the solution for H = lambda_0 I
    equal_case = prove.zero(sp.simplify((we.T * we)[0] - sp.exp(-2 * lam * t) * (w.T * w)[0]),
                            what="||w(t)||^2 - e^{-2 lambda_0 t} ||w0||^2 for H = lambda_0 I")
    if rel == "<=":
        return prove.all_of(
            prove.equal(rescaled_rate, gronwall_form, what="d/dt[e^{2 lambda_0 t}||w||^2] + 2 e^{..}||G^T w||^2"),
            prove.true(gronwall_form <= 0, what="-2 e^{2 lambda_0 t} ||G^T w||^2 <= 0"),
            solves, prove.true(at_one <= 1, what="example ratio at t = 1 is <= 1"), equal_case,
            labels=["Gronwall identity", "sign", "example solves w' = -Hw", "example obeys the bound",
                    "equality for H = lambda_0 I (sharp)"],
        )
    relation = sp.Eq(at_one, 1) if rel == "==" else (at_one >= 1)
    return prove.all_of(
        solves, prove.true(relation, what=f"||w(1)||^2 / (e^{{-2}}||w(0)||^2) {rel} 1 for H = diag(1, 3)"),
        labels=["example solves w' = -Hw", f"relation '{rel}' at the example"],
    )


claim(
    "simsiam.collapse_bound",
    title="If λmin(H(t)) ≥ λ0 > 0 then ||w(t)|| ≤ e^{−λ0 t}||w(0)||, so W(t) → 0",
    questions=["ift6135-h22/5.3"],
    statement=(
        r"\dot w = -H(t) w,\ \inf_t \lambda_{\min}(H(t)) \ge \lambda_0 > 0 \ \Rightarrow\ "
        r"\|w(t)\|_2 \le e^{-\lambda_0 t}\|w(0)\|_2 \to 0"
    ),
    assumptions=[r"H(t) \text{ symmetric}", r"\lambda_0 > 0"],
    answer="<=",
    rejects=lambda: [
        "==",
    ],
)(_collapse_relation)

claim(
    "simsiam.answer_set_collapse_equality",
    title="Refuted (5.3 hint, used in 5.3 and 5.4): ||w(t)|| = e^{−λ0 t}||w(0)||",
    questions=["ift6135-h22/5.3"],
    statement=r"\dot w = -H(t) w,\ \lambda_{\min}(H(t)) \ge \lambda_0 \ \Rightarrow\ "
              r"\|w(t)\|_2 \overset{?}{=} e^{-\lambda_0 t}\|w(0)\|_2",
    assumptions=[r"H(t) \succeq \lambda_0 I,\ \lambda_0 > 0"],
    answer="==",
    expect="fails",
    note=(
        f"The sheet's hint for 5.3, which the answer set in {SOURCE} relies on for 5.3 and 5.4, states the decay "
        "with an equals sign. Gronwall's argument only gives ||w(t)|| <= e^{-lambda_0 t} ||w(0)||; equality for "
        "every start needs H(t) = lambda_0 I. With H = diag(1, 3) and w(0) = (1, 1) the norm at t = 1 is "
        "sqrt((1 + e^{-4})/2) < 1 times the claimed value. The collapse conclusion survives, since an upper "
        "bound tending to 0 suffices."
    ),
)(_collapse_relation)


# --------------------------------------------------------------------------
# 5.4: identity predictor, no stop-gradient
# --------------------------------------------------------------------------
@claim(
    "simsiam.identity_predictor_h",
    title="Identity predictor, no stop-gradient: H = 2X' ⊗ I",
    questions=["ift6135-h22/5.4"],
    statement=r"W_p = I \Rightarrow \tfrac{d}{dt}\operatorname{vec}(W) = -(2X' \otimes I_{n_2})\operatorname{vec}(W)",
    assumptions=[r"\text{no stop-gradient, no predictor } (W_p = I)", r"\text{column-stacking vec}"],
    answer=IDENTITY_PREDICTOR_H,
    rejects=lambda: [
        KroneckerProduct(Xp, I2),  # the factor 2 missing
    ],
)
def identity_predictor_h(answer):
    """The Jacobian of -vec(dW/dt) for the loss 1/2 E||f1 - f2||^2 (both branches), from the moment
    rules, equals the answer; X drops out."""
    m = model(3, 2)
    return _equal(m.h_matrix(predictor="identity"), instantiate(answer, m.env), "H_derived - answer (n1 = 3, n2 = 2)")


EXAMPLE_XPRIME = (sp.Matrix([[2, 1], [1, 2]]), sp.Matrix([[3, 1], [1, 1]]))


@claim(
    "simsiam.identity_predictor_solution",
    title="Identity predictor: W(t) = W(0) e^{−2X't} → 0 for X' ≻ 0",
    questions=["ift6135-h22/5.4"],
    statement=r"W(t) = W(0)\,e^{tM},\ M = -2X' \quad\Rightarrow\quad W(t) \to 0 \text{ when } X' \succ 0",
    assumptions=[r"W_p = I,\ \text{no stop-gradient}", r"X' \succ 0"],
    answer=IDENTITY_PREDICTOR_GENERATOR,
    rejects=lambda: [
        -Xp,  # the factor 2 missing
    ],
)
def identity_predictor_solution(answer):
    """For exact SPD X' (eigenvalues {1, 3} and {2 +- sqrt 2}) and a symbolic W(0): W(0) e^{tM} with M
    the answer satisfies the derived flow dW/dt = -dJ/dW (predictor I) and starts at W(0); M is
    symmetric with negative spectrum, so ||W(0) e^{tM}||_F <= e^{lambda_max(M) t} ||W(0)||_F -> 0."""
    m = model(2, 2)
    dW, _ = m.dynamics(stop_gradient=False, predictor="identity")
    W0 = _matrix("W0", 2, 2)
    parts, labels = [], []
    for k, xq in enumerate(EXAMPLE_XPRIME):
        Mval = instantiate(answer, {**m.env, Xp: xq})
        bad = _partial_shape_check(xq, Mval)
        if bad is not None:
            return bad
        if Mval.free_symbols - {t}:
            return SymbolicResult(Verdict.FAILS, method="the generator must be a matrix in X' only",
                                  residual=str(Mval))
        Wt_ = W0 * (t * Mval).exp()
        flow = dW.xreplace(dict(zip(m.Xp, xq))).xreplace(dict(zip(m.W, Wt_)))
        label = f"X' #{k + 1}"
        steps = [
            (f"{label}: flow", lambda: _equal(Wt_.diff(t), flow, "dW/dt - (-dJ/dW)")),
            (f"{label}: initial value", lambda: _equal(Wt_.subs(t, 0), W0, "W(0) - W0")),
            (f"{label}: M symmetric", lambda: _equal(Mval, Mval.T, "M - M^T")),
            (f"{label}: spectrum of M < 0", lambda: prove.true(
                sp.And(*[sp.re(ev) < 0 for ev in Mval.eigenvals(multiple=True)]), what="every eigenvalue of M < 0")),
        ]
        for name, step in steps:  # stop at the first part that does not hold
            parts.append(step())
            labels.append(name)
            if parts[-1].verdict is not Verdict.HOLDS:
                return prove.all_of(*parts, labels=labels)
    return prove.all_of(*parts, labels=labels)


# --------------------------------------------------------------------------
# The contrast: with stop-gradient (5.5)
# --------------------------------------------------------------------------
@claim(
    "simsiam.stop_gradient_invariant",
    title="With stop-gradient WpᵀWp − WWᵀ is conserved; without it, it is not",
    questions=["ift6135-h22/5.5"],
    statement=(
        r"\dot W = -W_p^\top\big(W_p W (X+X') - W X\big),\ \dot W_p = F_{12} - W_p F_1"
        r"\ \Rightarrow\ \tfrac{d}{dt}\big(W_p^\top W_p - W W^\top\big) = 0"
    ),
    assumptions=[r"\text{stop-gradient on } f_2", r"\text{no weight decay}"],
    answer=STOPGRAD_INVARIANT,
    rejects=lambda: [
        Wp * Wp.T - W * W.T,  # wrong Gram side
    ],
)
def stop_gradient_invariant(answer):
    """dQ/dt of the answer Q along the stop-gradient flow (derived from the loss) expands to zero;
    along the flow without stop-gradient it is non-zero at an exact point."""
    m = model(3, 2)
    Q = instantiate(answer, m.env)
    if not isinstance(Q, sp.MatrixBase):
        Q = sp.Matrix([[Q]])
    with_sg = m.time_derivative(Q, stop_gradient=True)
    without = m.time_derivative(Q, stop_gradient=False)
    rnd = random.Random(11)
    point = {s: sp.Rational(rnd.randint(-6, 6), rnd.choice([1, 2, 3])) for s in m.state}
    point.update({s: v for s, v in zip(m.X, sp.Matrix([[2, 1, 0], [1, 2, 1], [0, 1, 2]]))})
    point.update({s: v for s, v in zip(m.Xp, sp.Matrix([[1, 0, 0], [0, 2, 1], [0, 1, 1]]))})
    drift = without.xreplace(point)
    return prove.all_of(
        _equal(with_sg, sp.zeros(*with_sg.shape), "dQ/dt with stop-gradient"),
        prove.true(sp.Ne(max(abs(v) for v in drift), 0), what="dQ/dt without stop-gradient is non-zero"),
        labels=["conserved with stop-gradient", "drifts without stop-gradient"],
    )


def frobenius_balance_check(stop_gradient: bool = True) -> SymbolicResult:
    """||W||_F^2 - ||W_p||_F^2 is constant along the flow (so ||W(t)||_F^2 >= ||W(0)||_F^2 - ||W_p(0)||_F^2).

    Holds with the stop-gradient; ``stop_gradient=False`` gives the refuted variant used in the tests.
    """
    m = model(3, 2)
    balance = sp.Matrix([[(m.W.T * m.W).trace() - (m.P.T * m.P).trace()]])
    rate = m.time_derivative(balance, stop_gradient=stop_gradient)
    return prove.all_of(
        _equal(rate, sp.zeros(1, 1), "d/dt (||W||_F^2 - ||W_p||_F^2)"),
        prove.true((m.P.T * m.P).trace() >= 0, what="||W_p||_F^2 >= 0"),
        labels=["balance conserved", "dropping ||W_p(t)||_F^2 >= 0"],
    )


@claim(
    "simsiam.stop_gradient_no_collapse",
    title="With stop-gradient ||W(t)||²_F ≥ ||W(0)||²_F − ||Wp(0)||²_F: "
          "no collapse if the encoder starts larger",
    questions=["ift6135-h22/5.5"],
    statement=(
        r"\|W(t)\|_F^2 = \|W_p(t)\|_F^2 + \|W(0)\|_F^2 - \|W_p(0)\|_F^2 \ \ge\ \|W(0)\|_F^2 - \|W_p(0)\|_F^2,"
        r"\ \text{so } \|W(0)\|_F > \|W_p(0)\|_F \Rightarrow W(t) \not\to 0"
    ),
    assumptions=[r"\text{stop-gradient on } f_2", r"\text{no weight decay}"],
)
def stop_gradient_no_collapse():
    """The trace of the conserved W_p^T W_p - W W^T gives the balance; ||W_p||_F^2 >= 0 gives the floor."""
    return frobenius_balance_check(stop_gradient=True)
