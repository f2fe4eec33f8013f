"""Numeric confirmations for ``derivations/simsiam.py`` (SimSiam's linear dynamics, ift6135-h22/5).

Data.  A synthetic, finite augmentation model generated in code (no
downloads): N points in R^4 drawn from a three-cluster mixture, each with K
stored views x_ia = s_ia x_i + eps_ia (random scaling s in [0.7, 1.3] and
anisotropic Gaussian noise).  A draw of (x, x1, x2) picks a point uniformly
and two of its views independently and uniformly, so every expectation is a
finite sum and the moments are exact:

    mean view  m_i = mean_a x_ia,   X = mean_i m_i m_i^T,
    X' = mean_i mean_a (x_ia - m_i)(x_ia - m_i)^T.

The whole data set is rescaled so that tr(X + X') = n1.

What is measured (every answer is read from ``ctx.answer`` and evaluated by
:func:`evaluate`, a NumPy walk of the SymPy expression tree, so a wrong variant
goes through the same computation and is rejected):

* 5.1: Monte Carlo over points and views of J and of the second moments F1,
  F12 (with standard errors, the policy's z, and paired differences for
  F1 = F2 and F12 = F21), plus the exact finite sums against the answer;
* 5.2: Torch autograd of the trace form and of the SimSiam loss with
  ``detach`` on a batch; the answer set's lines through the same autograd;
* 5.3: autograd of the loss without stop-gradient, its Hessian in vec(W)
  (column-stacking) against the Kronecker answer, the spectrum bound, and
  ODE runs of the flow (``solve_ivp``) with ||W(t)|| against e^{-lambda_0 t};
* 5.4: the closed form W(0) expm(tM) against ``solve_ivp``;
* 5.5: both settings simulated from one start: ||W(t)||, the eigenvalues of
  W_p(t), the conserved W_p^T W_p - W W^T and the floor on ||W(t)||_F.

ODE error bounds.  ``numerics.ode.integrate`` sums the local error bounds,
which bounds the global error only for flows that do not amplify errors.  An
error made at time s reaches time t multiplied by at most ||Phi(t, s)||_2, Phi
the solution operator of the flow linearised along the trajectory; the bound
used is (sum of local bounds) x max_(s<=t) ||Phi(t, s)||_2.  For the
contracting linear flows (no stop-gradient, frozen predictor: the Jacobian is
-H with H PSD) that factor is exactly 1.  For the joint flows of (W, W_p) it is
computed from central-difference Jacobians on a time grid (a first-order
estimate; the rule also prints the cruder one-sided logarithmic-norm bound
exp(int max(mu, 0) dt), which is about 10^6 for the stop-gradient run against
a factor near 3).  The ODE right-hand sides are the per-pair
chain rule (backpropagation) of the loss written out in NumPy for speed; each
confirmation that integrates checks it against Torch autograd first.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy import linalg
from sympy.matrices.expressions.kronecker import KroneckerProduct

from derivcheck import NumericResult, Plot, Series, Table, confirms
from derivcheck.registry import stable_seed
from derivcheck.derivations import simsiam as sym

from derivcheck.model import training as _training

from . import evidence, ode, policy
from .torchkit import seeded, torch

N1, N2 = 4, 3          # input and representation sizes of the numeric model
N_POINTS, N_VIEWS = 48, 8
RTOL, ATOL = 1e-11, 1e-13
DIMS = {sym.n1: N1, sym.n2: N2}


# --------------------------------------------------------------------------
# Evaluating answers numerically (no lambdify: a walk over the expression tree)
# --------------------------------------------------------------------------
def _dim(d, dims) -> int:
    d = sp.Integer(d) if isinstance(d, int) else d
    if d.is_Integer:
        return int(d)
    if d in dims:
        return int(dims[d])
    raise ValueError(f"unknown size {d}")


def evaluate(expr, values: dict, dims: dict = DIMS):
    """The value of a SymPy matrix/scalar expression with matrix symbols taken by name
    from ``values`` (NumPy arrays) and sizes from ``dims``."""
    if isinstance(expr, (int, float)):
        return float(expr)
    if isinstance(expr, sp.MatrixSymbol):
        if expr.name not in values:
            raise ValueError(f"no value for {expr.name}")
        v = np.asarray(values[expr.name], dtype=float)
        want = (_dim(expr.rows, dims), _dim(expr.cols, dims))
        if v.shape != want:
            raise ValueError(f"{expr.name} has shape {v.shape}, the expression wants {want}")
        return v
    if isinstance(expr, sp.Identity):
        return np.eye(_dim(expr.rows, dims))
    if isinstance(expr, sp.ZeroMatrix):
        return np.zeros((_dim(expr.rows, dims), _dim(expr.cols, dims)))
    if isinstance(expr, sp.MatrixBase):
        return np.array(expr.evalf().tolist(), dtype=float)
    if isinstance(expr, (sp.MatAdd, sp.Add)):
        parts = [evaluate(a, values, dims) for a in expr.args]
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out
    if isinstance(expr, (sp.MatMul, sp.Mul)):
        out = 1.0
        for a in expr.args:
            v = evaluate(a, values, dims)
            if np.ndim(out) == 2 and np.ndim(v) == 2:
                out = out @ v
            else:
                out = out * v
        return out
    if isinstance(expr, sp.Transpose):
        return evaluate(expr.arg, values, dims).T
    if isinstance(expr, sp.Inverse):
        return np.linalg.inv(evaluate(expr.arg, values, dims))
    if isinstance(expr, sp.MatPow):
        return np.linalg.matrix_power(evaluate(expr.base, values, dims), int(expr.exp))
    if isinstance(expr, KroneckerProduct):
        out = evaluate(expr.args[0], values, dims)
        for a in expr.args[1:]:
            out = np.kron(out, evaluate(a, values, dims))
        return out
    if isinstance(expr, sp.Trace):
        return float(np.trace(evaluate(expr.arg, values, dims)))
    if isinstance(expr, sp.Pow):
        return evaluate(expr.base, values, dims) ** float(expr.exp)
    if isinstance(expr, sp.Symbol) and expr.name in values:
        return float(values[expr.name])
    if isinstance(expr, sp.Expr) and expr.is_number:
        return float(expr)
    raise ValueError(f"cannot evaluate {type(expr).__name__} ({expr})")


def _answer_matrix(answer, values) -> np.ndarray:
    """A matrix answer's value (``\\tilde{W}_p`` = W_p - I when W_p is given); ``ValueError`` when it
    cannot be evaluated here (the runner reports that as inconclusive)."""
    if "W_p" in values:
        values = {**values, sym.WTILDE.name: np.asarray(values["W_p"]) - np.eye(np.shape(values["W_p"])[0])}
    try:
        return np.atleast_2d(np.asarray(evaluate(answer, values), dtype=float))
    except (ValueError, TypeError) as exc:  # an answer outside the notation
        raise ValueError(f"the answer cannot be evaluated here: {exc}") from None


# --------------------------------------------------------------------------
# The finite augmentation model
# --------------------------------------------------------------------------
@dataclass
class Views:
    views: np.ndarray   # (N, K, n1)
    X: np.ndarray       # exact second moment of the mean views
    Xp: np.ndarray      # exact mean conditional covariance

    @property
    def values(self) -> dict:
        return {"X": self.X, "X'": self.Xp}


def _moments(views: np.ndarray):
    m = views.mean(axis=1)
    X = m.T @ m / len(m)
    dev = views - m[:, None, :]
    Xp = np.einsum("nki,nkj->ij", dev, dev) / (views.shape[0] * views.shape[1])
    return (X + X.T) / 2, (Xp + Xp.T) / 2


def make_views(rng: np.random.Generator, *, whiten: bool = False) -> Views:
    """N points, K views each; ``whiten`` rescales so that X + X' = I exactly (up to roundoff)."""
    centers = rng.normal(size=(3, N1)) * 1.5
    x = centers[rng.integers(0, 3, N_POINTS)] + 0.5 * rng.normal(size=(N_POINTS, N1))
    scale = rng.uniform(0.7, 1.3, size=(N_POINTS, N_VIEWS, 1))
    sigma = rng.uniform(0.3, 0.6, size=N1)
    views = scale * x[:, None, :] + rng.normal(size=(N_POINTS, N_VIEWS, N1)) * sigma
    X, Xp = _moments(views)
    if whiten:
        S = X + Xp
        vals, vecs = np.linalg.eigh(S)
        views = views @ (vecs @ np.diag(vals ** -0.5) @ vecs.T)
    else:
        views = views / math.sqrt(np.trace(X + Xp) / N1)
    X, Xp = _moments(views)
    return Views(views, X, Xp)


def random_state(rng: np.random.Generator, w_scale: float = 0.6, p_scale: float = 0.3):
    return rng.normal(size=(N2, N1)) * w_scale, rng.normal(size=(N2, N2)) * p_scale


def vec(A: np.ndarray) -> np.ndarray:
    """Column-stacking vec."""
    return A.reshape(-1, order="F")


# --------------------------------------------------------------------------
# The loss: per-pair backpropagation (NumPy) and Torch autograd
# --------------------------------------------------------------------------
def loss_grads(data: Views, W: np.ndarray, P: np.ndarray, V: np.ndarray | None = None):
    """J = 1/2 mean_{i,a,b} ||P W x_ia - V x_ib||^2 and its gradients in (W online, P, V target),
    by the chain rule applied pair by pair (V defaults to W)."""
    V = W if V is None else V
    x = data.views
    n, k = x.shape[0], x.shape[1]
    f1 = x @ W.T                                   # online representations, (N, K, n2)
    g1 = f1 @ P.T                                  # predictor outputs
    f2 = x @ V.T                                   # target representations
    count = n * k * k                              # pairs (i, a, b); residual r_iab = g1_ia - f2_ib
    # pair sums through per-point sums: sum_b r_iab = K g1_ia - sum_b f2_ib, and likewise over a
    s1, s2 = g1.sum(axis=1, keepdims=True), f2.sum(axis=1, keepdims=True)
    J = 0.5 * (k * float(np.sum(g1 * g1)) + k * float(np.sum(f2 * f2)) - 2 * float(np.sum(s1 * s2))) / count
    d_g1 = (k * g1 - s2) / count                   # dJ/dg1_ia = sum_b r_iab / count
    d_f2 = -(s1 - k * f2) / count                  # dJ/df2_ib = -sum_a r_iab / count
    x2 = x.reshape(-1, x.shape[2])
    dP = d_g1.reshape(-1, g1.shape[2]).T @ f1.reshape(-1, f1.shape[2])
    dW = (d_g1 @ P).reshape(-1, P.shape[1]).T @ x2  # chain rule through g1 = P f1, f1 = W x
    dV = d_f2.reshape(-1, f2.shape[2]).T @ x2
    return J, dW, dP, dV


def torch_loss(data: Views):
    """The same J as a Torch function of (W online, P, V target), float64 on the CPU (tiny tensors)."""
    t = torch()
    x = t.tensor(data.views, dtype=t.float64)

    def J(W, P, V):
        r = (x @ (P @ W).T)[:, :, None, :] - (x @ V.T)[:, None, :, :]
        return 0.5 * (r * r).sum(-1).mean()

    return J


def _per_pair_scale(data: Views, W: np.ndarray, P: np.ndarray) -> float:
    """A bound on every summand of the gradient sums: (1 + ||P||)^2 ||W|| (|x_a| + |x_b|)^2."""
    xmax = float(np.max(np.linalg.norm(data.views, axis=2)))
    return (1 + np.linalg.norm(P, 2)) ** 2 * max(np.linalg.norm(W, 2), 1.0) * (2 * xmax) ** 2


def _sum_ops(extra: int = 0) -> int:
    return N_POINTS * N_VIEWS * N_VIEWS + 8 * (N1 + N2) + extra


def _backprop_vs_autograd(data: Views, W, P, seed, label: str):
    """Evidence that the NumPy per-pair chain rule equals Torch autograd (both branches, and P)."""
    t = torch()
    J = torch_loss(data)
    Wt = t.tensor(W, requires_grad=True)
    Pt = t.tensor(P, requires_grad=True)
    Vt = t.tensor(W, requires_grad=True)
    gW, gP, gV = t.autograd.grad(J(Wt, Pt, Vt), (Wt, Pt, Vt))
    _, dW, dP, dV = loss_grads(data, W, P)
    err = max(float(np.max(np.abs(a - b.numpy()))) for a, b in ((dW, gW), (dP, gP), (dV, gV)))
    return evidence.roundoff(f"{label}: max |backprop (NumPy) - autograd (Torch)| over dJ/dW, dJ/dW_p, dJ/dV",
                             err, 0.0, n_ops=_sum_ops(), scale=2 * _per_pair_scale(data, W, P), seed=seed)


# --------------------------------------------------------------------------
# ODE runs with an error bound
# --------------------------------------------------------------------------
def _rhs(data: Views, *, stop_gradient: bool, predictor: str, P_fixed=None):
    """The flow (dW/dt, dW_p/dt) = -(gradients); ``predictor``: trained | frozen | identity."""
    k = N2 * N1

    def f(_t, y):
        W = y[:k].reshape(N2, N1)
        P = y[k:].reshape(N2, N2) if predictor == "trained" else (
            np.eye(N2) if predictor == "identity" else P_fixed)
        _, dW, dP, dV = loss_grads(data, W, P)
        gW = dW if stop_gradient else dW + dV
        if predictor == "trained":
            return -np.concatenate([gW.ravel(), dP.ravel()])
        return -gW.ravel()

    return f


def _jacobian(f, y: np.ndarray) -> np.ndarray:
    h = 1e-6 * max(1.0, float(np.max(np.abs(y))))
    d = y.size
    J = np.empty((d, d))
    for j in range(d):
        e = np.zeros(d)
        e[j] = h
        J[:, j] = (f(0.0, y + e) - f(0.0, y - e)) / (2 * h)
    return J


def _growth_factor(f, ts: np.ndarray, ys: np.ndarray, intervals: int = 30, linear: bool = False) -> tuple[float, str]:
    """How much the flow can amplify an error made at time s by time t >= s: max ||Phi(t, s)||_2.

    Phi is the solution operator of the flow linearised along the computed trajectory, built as a
    product of expm(J_k dt) over ``intervals`` intervals (J_k the central-difference Jacobian at each
    interval's midpoint): a first-order estimate.  For the contracting linear flows (J = -H, H PSD)
    every factor has norm <= 1 and the result is exactly 1.  Also returns the cruder but one-sided
    logarithmic-norm bound exp(int max(mu, 0) dt) for the rule's text.
    """
    idx = np.unique(np.linspace(0, len(ts) - 1, intervals + 1).round().astype(int))
    factors, mus = [], []
    J_const = _jacobian(f, ys[:, 0]) if linear else None  # a linear autonomous flow has one Jacobian
    for i0, i1 in zip(idx[:-1], idx[1:]):
        J = J_const if linear else _jacobian(f, 0.5 * (ys[:, i0] + ys[:, i1]))
        factors.append(linalg.expm(J * (ts[i1] - ts[i0])))
        mus.append(float(np.linalg.eigvalsh((J + J.T) / 2)[-1]))
    growth = 1.0
    for i in range(len(factors)):
        Phi = np.eye(ys.shape[0])
        for j in range(i, len(factors)):
            Phi = factors[j] @ Phi
            growth = max(growth, float(np.linalg.norm(Phi, 2)))
    dt = np.diff(ts[idx])
    lognorm = float(np.exp(np.sum(np.maximum(mus, 0.0) * dt)))
    return growth, (f"products of expm(J dt) on {len(factors)} intervals, J by central differences at their "
                    f"midpoints; the logarithmic-norm bound exp(int max(mu, 0) dt) would give {lognorm:.3g}")


@dataclass
class Run:
    t: np.ndarray
    W: np.ndarray          # (T, n2, n1)
    P: np.ndarray          # (T, n2, n2)
    bound: float           # bound on ||y_numeric(t) - y(t)||_2 for every t
    growth: float
    n_steps: int
    rule: str


def simulate(data: Views, W0, P0, *, stop_gradient: bool, predictor: str, T: float, grid: int = 300) -> Run:
    """Integrate the flow from (W0, P0) and bound the global error (see the module docstring)."""
    f = _rhs(data, stop_gradient=stop_gradient, predictor=predictor, P_fixed=P0)
    y0 = np.concatenate([W0.ravel(), P0.ravel()]) if predictor == "trained" else W0.ravel()
    ts = np.linspace(0.0, T, grid)
    sol = ode.integrate(f, (0.0, T), y0, rtol=RTOL, atol=ATOL, t_eval=ts)
    growth, detail = _growth_factor(f, ts, sol.y, linear=predictor != "trained")
    bound = growth * sol.local_bound
    k = N2 * N1
    Ws = sol.y[:k].T.reshape(-1, N2, N1)
    Ps = sol.y[k:].T.reshape(-1, N2, N2) if predictor == "trained" else np.broadcast_to(
        np.eye(N2) if predictor == "identity" else P0, (grid, N2, N2))
    rule = (f"solve_ivp {sol.method}, rtol = {sol.rtol:g}, atol = {sol.atol:g}: sum over {sol.n_steps} steps of "
            f"sqrt(d)(atol + rtol|y|) = {sol.local_bound:.3g}, times the growth factor max_(s<=t) "
            f"||Phi(t, s)||_2 = {growth:.3g} of the linearised flow ({detail}); an estimate: the local "
            "errors are the solver's estimates and the growth factor uses finite-difference Jacobians")
    return Run(ts, Ws, np.asarray(Ps), bound, growth, sol.n_steps, rule)


def _fro(A: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(A * A, axis=(-2, -1)))


def _decimate(x: np.ndarray, n: int = 300) -> list:
    idx = np.unique(np.linspace(0, len(x) - 1, min(n, len(x))).round().astype(int))
    return np.asarray(x)[idx].tolist()


# --------------------------------------------------------------------------
# 5.1: Monte Carlo over points and views
# --------------------------------------------------------------------------
def _draw_pairs(data: Views, rng: np.random.Generator, n: int):
    i = rng.integers(0, N_POINTS, n)
    a = rng.integers(0, N_VIEWS, n)
    b = rng.integers(0, N_VIEWS, n)
    return data.views[i, a], data.views[i, b]


def _exact_F(data: Views, W: np.ndarray) -> dict:
    """F1 = F2 = E[f f^T] and F12 = F21 = E[f1 f2^T] as exact finite sums (definitions, no formula)."""
    f = data.views @ W.T
    F1 = np.einsum("nkp,nkq->pq", f, f) / (N_POINTS * N_VIEWS)
    fbar = f.mean(axis=1)
    F12 = fbar.T @ fbar / N_POINTS
    return {"F_1": F1, "F_2": F1, "F_{12}": F12, "F_{21}": F12.T}


@confirms("simsiam.trace_form")
@confirms("simsiam.answer_set_predictor_objective")
def monte_carlo_objective(ctx):
    """J by Monte Carlo over points and views, and exactly as a finite sum, against the answer
    evaluated at the exact moments F1, F2, F12 (definitions), at two random (W, W_p)."""
    data = make_views(ctx.rng)
    n = 1_000_000 if ctx.full else 200_000
    ev, series = [], []
    for k in range(2):
        W, P = random_state(ctx.rng, 0.8, 0.6)
        values = {"W": W, "W_p": P, **data.values, **_exact_F(data, W)}
        reference = float(evaluate(ctx.answer, values))
        x1, x2 = _draw_pairs(data, ctx.rng, n)
        r = x1 @ (P @ W).T - x2 @ W.T
        samples = 0.5 * np.sum(r * r, axis=1)
        ev.append(evidence.mc_mean(f"instance {k + 1}: Monte Carlo mean of 1/2 ||W_p f1 - f2||^2 vs the answer",
                                   samples, reference, seed=ctx.seed))
        exact = loss_grads(data, W, P)[0]
        ev.append(evidence.roundoff(f"instance {k + 1}: exact finite-sum J vs the answer", exact, reference,
                                    n_ops=_sum_ops(), scale=_per_pair_scale(data, W, P)))
        if k == 0:
            ns = np.unique(np.geomspace(100, n, 120).astype(int))
            csum, csq = np.cumsum(samples), np.cumsum(samples ** 2)
            mean = csum[ns - 1] / ns
            se = np.sqrt(np.maximum(csq[ns - 1] / ns - mean ** 2, 0) / (ns - 1))
            z = policy.z_two_sided()
            series = [
                Series("running Monte Carlo mean", ns.tolist(), mean.tolist()),
                Series(f"mean ± {z:.1f}·se", ns.tolist(), (mean + z * se).tolist(), style="b:"),
                Series(f"mean − {z:.1f}·se", ns.tolist(), (mean - z * se).tolist(), style="b:"),
                Series("answer at the exact moments", [int(ns[0]), int(ns[-1])], [reference, reference], style="k--"),
            ]
    plot = Plot("5.1: Monte Carlo estimate of J against the trace form", "samples n", "J", series,
                caption="Running mean of 1/2||W_p f1 - f2||^2 over random points and views with the policy's "
                        "two-sided band; the dashed line is the claimed trace form at the exact moments.")
    return NumericResult(evidence=ev, plots=[plot])


@confirms("simsiam.view_moments")
def monte_carlo_moments(ctx):
    """E[f1 f1^T], E[f1 f2^T] by Monte Carlo (entries with standard errors) and exactly against the
    answer at the exact X, X'; paired differences for F1 = F2 and F12 = F21."""
    data = make_views(ctx.rng)
    W, _ = random_state(ctx.rng, 0.8)
    claimed = [_answer_matrix(a, {"W": W, **data.values}) for a in ctx.answer]
    n = 1_000_000 if ctx.full else 200_000
    x1, x2 = _draw_pairs(data, ctx.rng, n)
    f1, f2 = x1 @ W.T, x2 @ W.T
    ev, rows = [], []
    upper = [(p, q) for p in range(N2) for q in range(p, N2)]
    for name, (A, B), target in (("F1 = E[f1 f1^T]", (f1, f1), claimed[0]), ("F12 = E[f1 f2^T]", (f1, f2), claimed[1])):
        for p, q in upper:
            e = evidence.mc_mean(f"{name} entry ({p + 1},{q + 1})", A[:, p] * B[:, q], target[p, q], seed=ctx.seed)
            ev.append(e)
            rows.append([name, f"({p + 1},{q + 1})", f"{e.estimate:.5f}", f"{e.error:.2g}", f"{target[p, q]:.5f}"])
    for p, q in upper:
        ev.append(evidence.mc_difference(f"F1 - F2 entry ({p + 1},{q + 1})", f1[:, p] * f1[:, q], f2[:, p] * f2[:, q],
                                         seed=ctx.seed))
    for p, q in upper:
        if p != q:
            ev.append(evidence.mc_difference(f"F12 - F21 entry ({p + 1},{q + 1})", f1[:, p] * f2[:, q],
                                             f2[:, p] * f1[:, q], seed=ctx.seed))
    exact = _exact_F(data, W)
    scale = float(np.max(np.linalg.norm(data.views, axis=2))) ** 2 * np.linalg.norm(W, 2) ** 2
    for name, key, target in (("F1", "F_1", claimed[0]), ("F12", "F_{12}", claimed[1])):
        ev.append(evidence.roundoff(f"exact finite-sum {name} vs the answer (max entry)",
                                    float(np.max(np.abs(exact[key] - target))), 0.0,
                                    n_ops=N_POINTS * N_VIEWS + 4 * N1, scale=2 * scale))
    table = Table("5.1: Monte Carlo second moments of the representations", ["moment", "entry", "estimate",
                  "standard error", "answer"], rows, caption=f"n = {n} draws of (point, view, view), seed {ctx.seed}.")
    return NumericResult(evidence=ev, tables=[table])


# --------------------------------------------------------------------------
# 5.2: autograd
# --------------------------------------------------------------------------
def _random_spd(rng, n, shift=0.1):
    A = rng.normal(size=(n, n))
    return A @ A.T / n + shift * np.eye(n)


def _trace_objective_torch(expr):
    """A trace-form objective (SymPy) as a Torch function of W_p, by the same tree walk in Torch."""
    t = torch()

    def walk(e, env):
        if isinstance(e, sp.MatrixSymbol):
            return env[e.name]
        if isinstance(e, sp.Identity):
            return t.eye(_dim(e.rows, DIMS), dtype=t.float64)
        if isinstance(e, (sp.MatAdd, sp.Add)):
            out = walk(e.args[0], env)
            for a in e.args[1:]:
                out = out + walk(a, env)
            return out
        if isinstance(e, (sp.MatMul, sp.Mul)):
            out = None
            for a in e.args:
                v = walk(a, env)
                if out is None:
                    out = v
                elif isinstance(out, t.Tensor) and isinstance(v, t.Tensor) and out.dim() == 2 and v.dim() == 2:
                    out = out @ v
                else:
                    out = out * v
            return out
        if isinstance(e, sp.Transpose):
            return walk(e.arg, env).T
        if isinstance(e, sp.Trace):
            return t.trace(walk(e.arg, env))
        if e.is_number:
            return float(e)
        raise ValueError(f"cannot translate {type(e).__name__}")

    return lambda env: walk(expr, env)


def _grad_instances(rng, count=6, symmetric=True):
    for _ in range(count):
        P = rng.normal(size=(N2, N2))
        F1 = _random_spd(rng, N2) if symmetric else rng.normal(size=(N2, N2))
        B = rng.normal(size=(N2, N2))
        F12 = (B + B.T) / 2 if symmetric else B
        yield P, F1, F12


def _neg_grad_of(objective_expr, P, F1, F12):
    t = torch()
    Pt = t.tensor(P, requires_grad=True)
    env = {"W_p": Pt, "F_1": t.tensor(F1), "F_2": t.tensor(F1), "F_{12}": t.tensor(F12), "F_{21}": t.tensor(F12.T)}
    (g,) = t.autograd.grad(_trace_objective_torch(objective_expr)(env), Pt)
    return -g.numpy()


def _scale3(*mats) -> float:
    return float(np.prod([max(1.0, np.linalg.norm(m, 2)) for m in mats]))


@confirms("simsiam.predictor_gradient")
def autograd_predictor(ctx):
    """-dJ/dW_p by Torch autograd (a) of the trace form at random symmetric F's and (b) of the SimSiam
    loss with f2 detached on a batch (both view orders, so its moments are symmetric) equals the answer."""
    seeded(ctx.seed)
    t = torch()
    ev = []
    worst, scale = 0.0, 0.0
    for P, F1, F12 in _grad_instances(ctx.rng):
        got = _neg_grad_of(sym.TRACE_FORM, P, F1, F12)
        want = _answer_matrix(ctx.answer, {"W_p": P, "F_1": F1, "F_2": F1, "F_{12}": F12, "F_{21}": F12.T})
        worst = max(worst, float(np.max(np.abs(got - want))))
        scale = max(scale, 2 * _scale3(P, F1) + _scale3(F12))
    ev.append(evidence.roundoff("max |autograd of the trace form - answer| over 6 random instances", worst, 0.0,
                                n_ops=4 * N2 + 8, scale=scale, n=6, seed=ctx.seed))
    data = make_views(ctx.rng)
    W, P = random_state(ctx.rng, 0.8, 0.6)
    x1, x2 = _draw_pairs(data, ctx.rng, 512)
    a, b = np.vstack([x1, x2]), np.vstack([x2, x1])  # both orders: batch moments symmetric
    Wt, Pt = t.tensor(W, requires_grad=True), t.tensor(P, requires_grad=True)
    f1, f2 = t.tensor(a) @ Wt.T, t.tensor(b) @ Wt.T
    loss = 0.5 * ((f1 @ Pt.T - f2.detach()) ** 2).sum(1).mean()
    (gP,) = t.autograd.grad(loss, Pt)
    fa, fb = a @ W.T, b @ W.T
    F1 = fa.T @ fa / len(fa)
    F12 = fa.T @ fb / len(fa)
    want = _answer_matrix(ctx.answer, {"W_p": P, "F_1": F1, "F_2": F1, "F_{12}": F12, "F_{21}": F12.T, "W": W})
    xmax = float(np.max(np.linalg.norm(a, axis=1)))
    ev.append(evidence.roundoff("|autograd of the stop-gradient loss on a batch - answer at the batch moments|",
                                float(np.max(np.abs(-gP.numpy() - want))), 0.0, n_ops=len(a) + 8 * (N1 + N2),
                                scale=4 * _scale3(P) * (np.linalg.norm(W, 2) * xmax) ** 2, n=len(a), seed=ctx.seed))
    return NumericResult(evidence=ev)


@confirms("simsiam.quadratic_trace_derivative")
@confirms("simsiam.answer_set_quadratic_trace_derivative")
def autograd_quadratic_trace(ctx):
    """d tr(W_p^T W_p F1)/dW_p by autograd against the answer, for generic and for symmetric F1."""
    t = torch()
    ev = []
    for symmetric in (False, True):
        worst, scale = 0.0, 0.0
        for P, F1, _ in _grad_instances(ctx.rng, symmetric=symmetric):
            Pt = t.tensor(P, requires_grad=True)
            (g,) = t.autograd.grad(t.trace(Pt.T @ Pt @ t.tensor(F1)), Pt)
            want = _answer_matrix(ctx.answer, {"W_p": P, "F_1": F1})
            worst = max(worst, float(np.max(np.abs(g.numpy() - want))))
            scale = max(scale, 2 * _scale3(P, F1))
        ev.append(evidence.roundoff(f"max |autograd - answer|, {'symmetric' if symmetric else 'generic'} F1",
                                    worst, 0.0, n_ops=4 * N2, scale=scale, n=6, seed=ctx.seed))
    return NumericResult(evidence=ev)


@confirms("simsiam.answer_set_predictor_dropped_term")
def autograd_restated_objective(ctx):
    """-d/dW_p of the answer set's restated objective (second line of its 5.2) by autograd, against the answer."""
    worst, scale = 0.0, 0.0
    for P, F1, F12 in _grad_instances(ctx.rng):
        got = _neg_grad_of(sym.AS_LINE2_OBJECTIVE, P, F1, F12)
        want = _answer_matrix(ctx.answer, {"W_p": P, "F_1": F1, "F_2": F1, "F_{12}": F12, "F_{21}": F12.T})
        worst = max(worst, float(np.max(np.abs(got - want))))
        scale = max(scale, 2 * _scale3(P, F1) + 3 * _scale3(F12))
    return NumericResult(evidence=[evidence.roundoff(
        "max |autograd of the restated objective - answer| over 6 instances", worst, 0.0, n_ops=4 * N2 + 8,
        scale=scale, n=6, seed=ctx.seed)])


@confirms("simsiam.answer_set_predictor_halving")
def evaluate_halving_step(ctx):
    """The answer set's fourth line of 5.2, evaluated at random matrices, against the answer (its fifth line)."""
    worst, scale = 0.0, 0.0
    for P, F1, F12 in _grad_instances(ctx.rng, symmetric=False):
        values = {"W_p": P, "F_1": F1, "F_{12}": F12}
        worst = max(worst, float(np.max(np.abs(evaluate(sym.AS_LINE4, values) - _answer_matrix(ctx.answer, values)))))
        scale = max(scale, _scale3(P, F1) + 2 * _scale3(F12))
    return NumericResult(evidence=[evidence.roundoff("max |line 4 - answer| over 6 instances", worst, 0.0,
                                                     n_ops=2 * N2 + 4, scale=scale, n=6, seed=ctx.seed)])


# --------------------------------------------------------------------------
# 5.3 and 5.4: gradient and H(t) without stop-gradient
# --------------------------------------------------------------------------
def _torch_full_grad(data: Views, W, P):
    """-dJ(W, W)/dW by autograd through both branches (no stop-gradient)."""
    t = torch()
    J = torch_loss(data)
    Wt = t.tensor(W, requires_grad=True)
    (g,) = t.autograd.grad(J(Wt, t.tensor(P), Wt), Wt)
    return -g.numpy()


def _torch_hessian_vec(data: Views, P) -> np.ndarray:
    """H = Hessian of J(W, W) in vec(W) (column-stacking), by Torch autograd.

    J is quadratic in W, so its gradient is linear and the k-th column of H is the gradient at
    W = E_k, the k-th unit matrix in column-stacking order.  All columns come from one backward
    pass through sum_k J(E_k) (exact, and much faster than ``torch.autograd.functional.hessian``).
    """
    t = torch()
    x = t.tensor(data.views, dtype=t.float64)
    units = np.stack([e.reshape(N2, N1, order="F") for e in np.eye(N1 * N2)])
    U = t.tensor(units, requires_grad=True)                              # (B, n2, n1)
    Pt = t.tensor(P, dtype=t.float64)
    online = t.einsum("nki,bpi->bnkp", x, Pt @ U)                         # (B, N, K, n2)
    target = t.einsum("nki,bpi->bnkp", x, U)
    r = online[:, :, :, None, :] - target[:, :, None, :, :]              # (B, N, K, K, n2)
    total = 0.5 * (r * r).sum(-1).mean(dim=(1, 2, 3)).sum()
    (g,) = t.autograd.grad(total, U)
    return np.stack([vec(gk) for gk in g.numpy()], axis=1)


def _hessian_vec_numpy(data: Views, P) -> np.ndarray:
    """The same H column by column: the flow is linear in W, so H e_k = vec(dJ/dW + dJ/dV at W = E_k)."""
    H = np.empty((N1 * N2, N1 * N2))
    for k in range(N1 * N2):
        E = np.zeros(N1 * N2)
        E[k] = 1.0
        _, dW, _, dV = loss_grads(data, E.reshape(N2, N1, order="F"), P)
        H[:, k] = vec(dW + dV)
    return H


def _h_scale(data: Views, P) -> float:
    xmax = float(np.max(np.linalg.norm(data.views, axis=2)))
    return (1 + np.linalg.norm(P, 2)) ** 2 * (2 * xmax) ** 2


@confirms("simsiam.no_stopgrad_gradient")
def autograd_no_stopgrad(ctx):
    """-dJ/dW through both branches (autograd on the exact finite-sum loss) against the answer at the
    exact X, X', at five random (W, W_p) including W_p = I and W_p = 0."""
    seeded(ctx.seed)
    data = make_views(ctx.rng)
    worst, scale = 0.0, 0.0
    states = [random_state(ctx.rng, 0.8, 0.8) for _ in range(3)]
    states += [(random_state(ctx.rng)[0], np.eye(N2)), (random_state(ctx.rng)[0], np.zeros((N2, N2)))]
    for W, P in states:
        want = _answer_matrix(ctx.answer, {"W": W, "W_p": P, **data.values})
        worst = max(worst, float(np.max(np.abs(_torch_full_grad(data, W, P) - want))))
        scale = max(scale, 2 * _per_pair_scale(data, W, P))
    return NumericResult(evidence=[evidence.roundoff("max |autograd dW/dt - answer| over 5 states", worst, 0.0,
                                                     n_ops=_sum_ops(), scale=scale, n=len(states), seed=ctx.seed)])


def _kronecker_evidence(ctx, data: Views, states, label: str):
    ev = []
    worst_h, worst_v, scale, min_eig, eig_scale = 0.0, 0.0, 0.0, math.inf, 0.0
    for W, P in states:
        H = _answer_matrix(ctx.answer, {"W_p": P, **data.values})
        if H.shape != (N1 * N2, N1 * N2):
            raise ValueError(f"H has shape {H.shape}, expected {(N1 * N2,) * 2}")
        hess = _torch_hessian_vec(data, P)
        worst_h = max(worst_h, float(np.max(np.abs(hess - H))))
        worst_v = max(worst_v, float(np.max(np.abs(H @ vec(W) + vec(_torch_full_grad(data, W, P))))))
        s = _h_scale(data, P)
        scale = max(scale, 2 * s * max(1.0, np.linalg.norm(W)))
        Hs = (H + H.T) / 2
        min_eig = min(min_eig, float(np.linalg.eigvalsh(Hs)[0]))
        eig_scale = max(eig_scale, float(np.linalg.norm(Hs, 2)))
    n = len(states)
    ev.append(evidence.roundoff(f"{label}: max |Hessian of J in vec(W) (autograd) - answer|", worst_h, 0.0,
                                n_ops=_sum_ops(), scale=scale, n=n, seed=ctx.seed))
    ev.append(evidence.roundoff(f"{label}: max |answer vec(W) + vec(-dJ/dW)| (column-stacking vec identity)",
                                worst_v, 0.0, n_ops=_sum_ops(N1 * N2), scale=scale, n=n, seed=ctx.seed))
    ev.append(evidence.roundoff(f"{label}: smallest eigenvalue of the answer (>= 0: PSD)", min_eig, 0.0,
                                relation=">=", n_ops=10 * (N1 * N2) ** 2, scale=eig_scale, n=n, seed=ctx.seed))
    return ev


@confirms("simsiam.no_stopgrad_h")
def hessian_kronecker(ctx):
    """The answer's H against the autograd Hessian of J(W, W) in column-stacked vec(W), the identity
    d vec(W)/dt = -H vec(W) at random W, and H's spectrum (PSD), at four predictors."""
    seeded(ctx.seed)
    data = make_views(ctx.rng)
    states = [random_state(ctx.rng, 0.8, s) for s in (0.3, 1.0, 2.0)] + [(random_state(ctx.rng)[0], np.eye(N2))]
    return NumericResult(evidence=_kronecker_evidence(ctx, data, states, "no stop-gradient"))


@confirms("simsiam.identity_predictor_h")
def hessian_identity_predictor(ctx):
    """With W_p = I: the autograd Hessian of 1/2 E||f1 - f2||^2 in vec(W) and the vec identity against the answer."""
    seeded(ctx.seed)
    data = make_views(ctx.rng)
    states = [(random_state(ctx.rng, 0.8)[0], np.eye(N2)) for _ in range(3)]
    return NumericResult(evidence=_kronecker_evidence(ctx, data, states, "W_p = I"))


@confirms("simsiam.h_lower_bound")
def spectrum_lower_bound(ctx):
    """lambda_min(H) (autograd Hessian) minus lambda_min(answer) over 40 predictors of many sizes,
    W_p = I and W_p = 0 included: never below zero."""
    seeded(ctx.seed)
    data = make_views(ctx.rng)
    S = _answer_matrix(ctx.answer, data.values)
    lam_S = float(np.linalg.eigvalsh((S + S.T) / 2)[0])
    preds = [np.eye(N2), np.zeros((N2, N2))] + [ctx.rng.normal(size=(N2, N2)) * s
                                                for s in np.geomspace(0.05, 3.0, 38)]
    gaps, norms, ratio, scale = [], [], [], 0.0
    check = np.max(np.abs(_hessian_vec_numpy(data, preds[2]) - _torch_hessian_vec(data, preds[2])))
    ev = [evidence.roundoff("|H by per-pair backprop (NumPy) - H by autograd (Torch)| at one predictor", float(check),
                            0.0, n_ops=_sum_ops(), scale=2 * _h_scale(data, preds[2]), seed=ctx.seed)]
    for P in preds:
        lam = float(np.linalg.eigvalsh(_hessian_vec_numpy(data, P))[0])
        gaps.append(lam - lam_S)
        norms.append(float(np.linalg.norm(P, 2)))
        ratio.append(lam / float(np.linalg.eigvalsh(data.Xp)[0]))
        scale = max(scale, _h_scale(data, P))
    ev += [evidence.roundoff("min over predictors of lambda_min(H) - lambda_min(answer)", min(gaps), 0.0,
                            relation=">=", n_ops=_sum_ops(10 * (N1 * N2) ** 2), scale=scale, n=len(preds),
                            seed=ctx.seed, detail=f"lambda_min(answer) = {lam_S:.4g}")]
    plot = Plot("5.3: lambda_min(H) / lambda_min(X') over predictors", "||W_p||_2",
                "lambda_min(H) / lambda_min(X')", [Series("random W_p, I and 0", norms, ratio, style="o")],
                kind="scatter", logy=True,
                caption="Every predictor gives a ratio >= 1: without stop-gradient H is bounded below by X'.")
    return NumericResult(evidence=ev, plots=[plot])


# --------------------------------------------------------------------------
# Collapse: ||W(t)|| against e^{-lambda_0 t} ||W(0)||
# --------------------------------------------------------------------------
def _relation_evidence(name, run: Run, lam0: float, lam_err: float, relation: str, seed):
    norms = _fro(run.W)
    w0 = norms[0]
    bound = np.exp(-lam0 * run.t) * w0
    d = norms - bound
    # the bound curve's own error: |d/d lambda e^{-lambda t}| <= 1/(e lambda) times |delta lambda|
    tol = run.bound + lam_err * w0 / (math.e * max(lam0, 1e-300)) + policy.gamma(8) * w0
    if relation not in ("<=", "==", ">="):
        return evidence.compare(f"{name}: relation", math.nan, 0.0, tolerance=0.0, rule="relation must be <=, == "
                                "or >=", error=0.0, error_kind="none", n=0, detail=f"unknown relation {relation!r}")
    est = {"<=": float(d.max()), ">=": float(d.min()), "==": float(d[np.argmax(np.abs(d))])}[relation]
    what = {"<=": "max_t", ">=": "min_t", "==": "the largest |.| over t of"}[relation]
    return evidence.solver(
        f"{name}: {what} ||W(t)||_F - e^(-lambda_0 t)||W(0)||_F (lambda_0 = {lam0:.4g}) {relation} 0", est, 0.0,
        bound=tol, relation=relation, n=run.n_steps, seed=seed,
        rule=run.rule + f"; plus the bound curve's error from |delta lambda_0| <= {lam_err:.2g}",
        detail=f"||W(T)||_F = {norms[-1]:.4g}, bound e^(-lambda_0 T)||W(0)||_F = {bound[-1]:.4g}",
    )


@functools.lru_cache(maxsize=4)
@_training("SimSiam collapse runs")
def _collapse_runs(seed: int, T: float = 30.0):
    rng = np.random.default_rng(seed)
    runs = {}
    white = make_views(rng, whiten=True)
    W0, _ = random_state(rng)
    P0 = np.zeros((N2, N2))
    H = _torch_hessian_vec(white, P0)
    runs["H = I (W_p = 0, X + X' = I)"] = (simulate(white, W0, P0, stop_gradient=False, predictor="frozen", T=T),
                                            H, white)
    data = make_views(rng)
    W0, P0 = random_state(rng, 0.6, 0.6)
    H = _torch_hessian_vec(data, P0)
    runs["frozen random W_p"] = (simulate(data, W0, P0, stop_gradient=False, predictor="frozen", T=T), H, data)
    runs["trained W_p"] = (simulate(data, W0, P0, stop_gradient=False, predictor="trained", T=T), None, data)
    return runs


COLLAPSE_SEED = stable_seed("simsiam/collapse_runs")      # one simulation shared by both claims
CONTRAST_SEED = stable_seed("simsiam/contrast_runs")


@confirms("simsiam.collapse_bound", seed=COLLAPSE_SEED)
@confirms("simsiam.answer_set_collapse_equality", seed=COLLAPSE_SEED)
def collapse_runs(ctx):
    """Three flows without stop-gradient: H = I exactly (equality case), a frozen random predictor
    (constant H, lambda_0 = lambda_min(H)), and a trained predictor (lambda_0 = lambda_min(X'), a valid
    lower bound at every t by simsiam.h_lower_bound).  The relation the answer states between ||W(t)||_F
    and e^{-lambda_0 t}||W(0)||_F is tested on the whole trajectory."""
    relation = str(ctx.answer).strip()
    runs = _collapse_runs(ctx.seed)
    ev, series = [], []
    styles = iter(["b", "g", "r"])
    for name, (run, H, data) in runs.items():
        if H is not None:
            vals = np.linalg.eigvalsh(H)
            lam0 = float(vals[0])
            lam_err = policy.gamma(_sum_ops(10 * (N1 * N2) ** 2)) * float(np.abs(vals).max()) * 4
        else:
            lam0 = float(np.linalg.eigvalsh(data.Xp)[0])
            lam_err = policy.gamma(10 * N1 ** 2) * float(np.linalg.norm(data.Xp, 2))
        ev.append(_relation_evidence(name, run, lam0, lam_err, relation, ctx.seed))
        c = next(styles)
        norms = _fro(run.W) / _fro(run.W[0])
        series.append(Series(f"{name}: ||W(t)||/||W(0)||", _decimate(run.t), _decimate(norms), style=c + "-"))
        series.append(Series(f"{name}: e^(-lambda_0 t), lambda_0 = {lam0:.3g}", _decimate(run.t),
                             _decimate(np.exp(-lam0 * run.t)), style=c + "--"))
    if "trained W_p" in runs:
        run, _, data = runs["trained W_p"]
        ev.append(_backprop_vs_autograd(data, run.W[-1], run.P[-1], ctx.seed, "flow right-hand side at t = T"))
    plot = Plot("5.3: ||W(t)||_F without stop-gradient and the bound e^(-lambda_0 t)", "t",
                "||W(t)||_F / ||W(0)||_F", series, logy=True,
                caption="Solid: solve_ivp runs of the flow without stop-gradient. Dashed: e^(-lambda_0 t). The bound "
                        "is attained only when H = lambda_0 I (blue); otherwise the norm decays strictly faster.")
    return NumericResult(evidence=ev, plots=[plot])


@confirms("simsiam.identity_predictor_solution")
def identity_predictor_ode(ctx):
    """solve_ivp of the flow with W_p = I (gradients of the loss, both branches) against the closed
    form W(0) expm(t M), M the answer, on 300 times in [0, 25]."""
    data = make_views(ctx.rng)
    W0, _ = random_state(ctx.rng)
    M = _answer_matrix(ctx.answer, data.values)
    if M.shape != (N1, N1):
        raise ValueError(f"the generator has shape {M.shape}, expected {(N1, N1)}")
    T = 25.0
    run = simulate(data, W0, np.eye(N2), stop_gradient=False, predictor="identity", T=T)
    closed = np.stack([W0 @ linalg.expm(tt * M) for tt in run.t])
    dist = float(np.max(_fro(run.W - closed)))
    # expm: backward error <= u (Al-Mohy & Higham), forward error <= ||tM|| times that for normal M
    expm_err = policy.gamma(10 * N1 ** 3) * max(1.0, T * float(np.linalg.norm(M, 2))) * float(np.linalg.norm(W0))
    ev = [
        _backprop_vs_autograd(data, W0, np.eye(N2), ctx.seed, "flow right-hand side at t = 0"),
        evidence.solver("max_t ||W_ode(t) - W(0) expm(t M)||_F", dist, 0.0, bound=run.bound + expm_err,
                        rule=run.rule + f"; plus expm's error {expm_err:.2g}", n=run.n_steps, seed=ctx.seed),
    ]
    lam = 2 * float(np.linalg.eigvalsh(data.Xp)[0])
    w0 = float(np.linalg.norm(W0))
    ev.append(evidence.solver("||W(T)||_F (tends to 0: below e^(-2 lambda_min(X') T)||W(0)||_F)",
                              float(_fro(run.W[-1])), math.exp(-lam * T) * w0, bound=run.bound, relation="<=",
                              n=run.n_steps, seed=ctx.seed, rule=run.rule))
    series = [
        Series("solve_ivp", _decimate(run.t), _decimate(_fro(run.W))),
        Series("closed form W(0) expm(tM)", _decimate(run.t), _decimate(_fro(closed)), style="k--"),
        Series("e^(-2 lambda_min(X') t)||W(0)||", _decimate(run.t), _decimate(np.exp(-lam * run.t) * w0), style="r:"),
    ]
    plot = Plot("5.4: identity predictor without stop-gradient: W(t) -> 0", "t", "||W(t)||_F", series, logy=True,
                caption="The ODE solution and the closed form coincide; both decay at least as fast as "
                        "e^(-2 lambda_min(X') t).")
    return NumericResult(evidence=ev, plots=[plot])


# --------------------------------------------------------------------------
# The contrast (5.5): with and without stop-gradient from one start
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
@_training("SimSiam stop-gradient contrast runs")
def _contrast_runs(seed: int, T: float = 30.0):
    rng = np.random.default_rng(seed)
    data = make_views(rng)
    W0, P0 = random_state(rng, 0.6, 0.3)
    if np.linalg.norm(W0) <= np.linalg.norm(P0):  # the floor needs ||W(0)||_F > ||W_p(0)||_F
        W0 = W0 * 2 * np.linalg.norm(P0) / np.linalg.norm(W0)
    sg = simulate(data, W0, P0, stop_gradient=True, predictor="trained", T=T)
    nosg = simulate(data, W0, P0, stop_gradient=False, predictor="trained", T=T)
    return data, sg, nosg


def _contrast_plots(data: Views, sg: Run, nosg: Run) -> list:
    w0, p0 = float(np.linalg.norm(sg.W[0])), float(np.linalg.norm(sg.P[0]))
    lam = float(np.linalg.eigvalsh(data.Xp)[0])
    norm_series = [
        Series("with stop-gradient", _decimate(sg.t), _decimate(_fro(sg.W)), style="b-"),
        Series("without stop-gradient", _decimate(nosg.t), _decimate(_fro(nosg.W)), style="r-"),
        Series("floor sqrt(||W(0)||^2 - ||W_p(0)||^2)", [0.0, float(sg.t[-1])], [math.sqrt(w0**2 - p0**2)] * 2,
               style="b:"),
        Series("e^(-lambda_min(X') t)||W(0)||", _decimate(nosg.t), _decimate(np.exp(-lam * nosg.t) * w0), style="r:"),
    ]
    eig_series = []
    for label, run, c in (("with", sg, "b"), ("without", nosg, "r")):
        eigs = np.array([np.sort_complex(np.linalg.eigvals(P)) for P in run.P])
        for k in range(N2):
            eig_series.append(Series(f"{label} stop-gradient: Re lambda_{k + 1}(W_p)", _decimate(run.t),
                                     _decimate(eigs[:, k].real), style=c + ["-", "--", ":"][k]))
    return [
        Plot("5.5: ||W(t)||_F with and without stop-gradient (same start)", "t", "||W(t)||_F", norm_series, logy=True,
             caption="Without stop-gradient the encoder collapses below e^(-lambda_min(X') t); with it ||W(t)||_F "
                     "never drops below the floor set by the conserved W_p^T W_p - W W^T."),
        Plot("5.5: eigenvalues of W_p(t) (real parts)", "t", "Re lambda(W_p)", eig_series,
             caption="Blue: with stop-gradient; red: without. Without stop-gradient the predictor freezes as W -> 0 "
                     "(F1 and F12 vanish, so dW_p/dt = F12 - W_p F1 does too); with it the predictor keeps learning."),
    ]


@confirms("simsiam.stop_gradient_invariant", seed=CONTRAST_SEED)
def conserved_quantity(ctx):
    """The answer Q(W_p, W) along solve_ivp runs from one start: constant with stop-gradient (within the
    ODE bound propagated to Q), drifting without it."""
    data, sg, nosg = _contrast_runs(ctx.seed)
    ev = [_backprop_vs_autograd(data, sg.W[-1], sg.P[-1], ctx.seed, "flow right-hand side at t = T")]
    series = []
    for label, run, relation in (("with stop-gradient", sg, "=="), ("without stop-gradient", nosg, ">")):
        Q = np.stack([_answer_matrix(ctx.answer, {"W_p": P, "W": W}) for W, P in zip(run.W, run.P)])
        drifts = _fro(Q - Q[0])
        drift = float(np.max(drifts))
        series.append(Series(label, _decimate(run.t[1:]), _decimate(np.maximum(drifts[1:], 1e-17)),
                             style="b-" if relation == "==" else "r-"))
        E = run.bound
        size = float(max(np.max(_fro(run.W)), np.max(_fro(run.P))))
        tol = 4 * size * E + 2 * E * E + policy.gamma(2 * max(N1, N2)) * 2 * size ** 2
        ev.append(evidence.solver(f"{label}: max_t ||Q(t) - Q(0)||_F", drift, 0.0, bound=tol, relation=relation,
                                  n=run.n_steps, seed=ctx.seed,
                                  rule=run.rule + "; propagated to Q: 4 max(||W||, ||W_p||) E + 2 E^2 (+ roundoff)"))
        if relation == "==":
            series.append(Series("ODE error bound propagated to Q", [float(run.t[1]), float(run.t[-1])], [tol, tol],
                                 style="b:"))
    plot = Plot("5.5: drift of Q = answer(W_p, W) along the flow", "t", "||Q(t) - Q(0)||_F", series, logy=True,
                caption="With stop-gradient Q stays constant to solver accuracy (below the dotted error bound); "
                        "without it Q moves by O(1).")
    return NumericResult(evidence=ev, plots=[plot])


@confirms("simsiam.stop_gradient_no_collapse", seed=CONTRAST_SEED)
def no_collapse_runs(ctx):
    """From one start with ||W(0)||_F > ||W_p(0)||_F: with stop-gradient ||W(t)||_F^2 stays above
    ||W(0)||_F^2 - ||W_p(0)||_F^2; without it ||W(t)||_F falls below e^{-lambda_min(X') t}||W(0)||_F."""
    data, sg, nosg = _contrast_runs(ctx.seed)
    w0, p0 = float(np.linalg.norm(sg.W[0])), float(np.linalg.norm(sg.P[0]))
    floor = w0 ** 2 - p0 ** 2
    norms_sq = _fro(sg.W) ** 2
    E = sg.bound
    size = float(np.max(_fro(sg.W)))
    ev = [evidence.solver("with stop-gradient: min_t ||W(t)||_F^2 - (||W(0)||_F^2 - ||W_p(0)||_F^2)",
                          float(np.min(norms_sq - floor)), 0.0, relation=">=", bound=2 * size * E + E * E,
                          n=sg.n_steps, seed=ctx.seed, rule=sg.rule + "; propagated to ||W||^2: 2||W|| E + E^2",
                          detail=f"floor = {floor:.4g}, ||W(T)||_F = {math.sqrt(norms_sq[-1]):.4g}")]
    lam = float(np.linalg.eigvalsh(data.Xp)[0])
    T = float(nosg.t[-1])
    ev.append(evidence.solver("without stop-gradient: ||W(T)||_F vs e^(-lambda_min(X') T)||W(0)||_F", float(
        _fro(nosg.W[-1])), math.exp(-lam * T) * w0, relation="<=", bound=nosg.bound, n=nosg.n_steps, seed=ctx.seed,
        rule=nosg.rule))
    rows = []
    for label, run in (("with stop-gradient", sg), ("without stop-gradient", nosg)):
        eig = np.sort_complex(np.linalg.eigvals(run.P[-1]))
        rows.append([label, f"{_fro(run.W[0]):.4f}", f"{_fro(run.W[-1]):.4f}", f"{_fro(run.P[-1]):.4f}",
                     ", ".join(f"{z.real:.3f}" + (f"{z.imag:+.3f}i" if abs(z.imag) > 1e-9 else "") for z in eig)])
    table = Table("5.5: end of the runs (t = T)", ["setting", "||W(0)||_F", "||W(T)||_F", "||W_p(T)||_F",
                                                   "eigenvalues of W_p(T)"], rows,
                  caption=f"T = {T:g}; same data, same start; no weight decay.")
    return NumericResult(evidence=ev, plots=_contrast_plots(data, sg, nosg), tables=[table])
