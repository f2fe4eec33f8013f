"""Numeric confirmations for ``derivations/gan_dynamics.py``.

* the GDA step by Torch autograd against the claimed A;
* root finding on grad V from random starts, and the fixed-point residual;
* LAPACK eigenvalues and moduli against the claimed ones;
* ||A v|| / ||v|| on random vectors, and the rotation angle of A;
* the iterated map: the fitted per-step log-growth for several alpha, the
  behaviour it implies, and the continuous flow (``solve_ivp``) whose norm is
  conserved, drawn side by side.

All answers are read from ``ctx.answer`` so a wrong variant of a claim is fed
through the same computation and must be rejected.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from derivcheck import NumericResult, Plot, Series, confirms
from derivcheck.derivations import gan_dynamics as sym

from . import evidence, ode, policy
from .torchkit import torch

ALPHAS = (0.05, 0.2, 0.5, 1.0)
HORIZON = 20.0  # iterate each alpha up to time t = k alpha = HORIZON


def _value(expr, a: float) -> complex | float:
    v = complex(expr.subs(sym.alpha, a).evalf(30))
    return v.real if v.imag == 0 else v


def _matrix(expr, a: float) -> np.ndarray:
    return np.array(expr.subs(sym.alpha, a).evalf(30).tolist(), dtype=float)


def gda_map(a: float) -> np.ndarray:
    """The update matrix, read off the numeric GDA step applied to the unit vectors (no SymPy)."""
    return np.column_stack([iterate(a, e, 1)[1] for e in np.eye(2)])


def iterate(a: float, v0: np.ndarray, steps: int) -> np.ndarray:
    """Run simultaneous descent-ascent on V = d g: d += a g, g -= a d (old values)."""
    out = np.empty((steps + 1, 2))
    out[0] = v0
    for i in range(steps):
        dd, gg = out[i]
        out[i + 1] = (dd + a * gg, gg - a * dd)
    return out


@confirms("gan_dynamics.update_matrix")
def torch_autograd_step(ctx):
    """One simultaneous step computed with autograd equals A [d, g]^T at random states."""
    t = torch()
    ev = []
    states = ctx.rng.normal(size=(64, 2))
    for a in ALPHAS:
        x = t.tensor(states, dtype=t.float64, requires_grad=True)
        value = (x[:, 0] * x[:, 1]).sum()  # sum of V(d_i, g_i): per-row gradients
        (grad,) = t.autograd.grad(value, x)
        step = x.detach() + a * t.stack([grad[:, 0], -grad[:, 1]], dim=1)
        claimed = states @ _matrix(ctx.answer, a).T
        err = float(np.max(np.abs(step.numpy() - claimed)))
        scale = float(np.max(np.abs(states))) * (1 + a)
        ev.append(evidence.roundoff(f"max |autograd step - A x| at alpha = {a}", err, 0.0,
                                    n_ops=4, scale=scale, n=len(states), seed=ctx.seed))
    return NumericResult(evidence=ev)


@confirms("gan_dynamics.stationary_point")
def root_finding(ctx):
    """Newton-type root finding on grad V from random starts lands on the claimed point."""
    p = np.array([float(x) for x in ctx.answer])
    grad = lambda z: np.array([z[1], z[0]])  # noqa: E731  (dV/dd, dV/dg)
    ev = []
    starts = ctx.rng.uniform(-5, 5, size=(20, 2))
    worst = 0.0
    for s in starts:
        sol = optimize.root(grad, s, jac=lambda z: np.array([[0.0, 1.0], [1.0, 0.0]]), tol=1e-14)
        worst = max(worst, float(np.max(np.abs(sol.x - p))))
    ev.append(evidence.roundoff("max distance from root-finder result to the claimed point", worst, 0.0,
                                n_ops=8, scale=10.0, n=len(starts), seed=ctx.seed))
    for a in ALPHAS:
        A = gda_map(a)
        ev.append(evidence.roundoff(f"||A p - p|| at alpha = {a}", float(np.linalg.norm(A @ p - p)), 0.0,
                                    n_ops=4, scale=(1 + a) * max(1.0, float(np.abs(p).max()))))
        smin = float(np.linalg.svd(A - np.eye(2), compute_uv=False).min())
        ev.append(evidence.roundoff(f"smallest singular value of A - I at alpha = {a} (> 0: unique fixed point)",
                                    smin, 0.0, n_ops=40, scale=1 + a, relation=">"))
    return NumericResult(evidence=ev)


@confirms("gan_dynamics.eigenvalues")
def lapack_eigenvalues(ctx):
    """numpy.linalg.eigvals(A) matches the claimed eigenvalues (as a multiset)."""
    ev = []
    for a in ALPHAS:
        A = gda_map(a)
        computed = sorted(np.linalg.eigvals(A), key=lambda z: (z.real, z.imag))
        claimed = sorted((complex(_value(e, a)) for e in ctx.answer), key=lambda z: (z.real, z.imag))
        if len(claimed) != len(computed):
            dist = math.inf
        else:
            dist = max(abs(c - m) for c, m in zip(claimed, computed))
        # A is normal: eigenvalues are perfectly conditioned, |error| <= p(n) u ||A||_2 (p(n) = 10 n^2)
        ev.append(evidence.roundoff(
            f"max |lambda_LAPACK - lambda_claimed| at alpha = {a}", dist, 0.0, n_ops=40,
            scale=float(np.linalg.norm(A, 2)),
            detail=f"LAPACK {', '.join(f'{z:.6g}' for z in computed)}; claimed {', '.join(f'{z:.6g}' for z in claimed)}",
        ))
    return NumericResult(evidence=ev)


@confirms("gan_dynamics.eigenvalue_modulus")
def lapack_moduli(ctx):
    """|eigvals(A)| equals the claimed modulus for several alpha."""
    ev = []
    for a in ALPHAS:
        A = gda_map(a)
        mods = np.abs(np.linalg.eigvals(A))
        claimed = float(_value(ctx.answer, a))
        ev.append(evidence.roundoff(f"max | |lambda| - rho | at alpha = {a}", float(np.max(np.abs(mods - claimed))),
                                    0.0, n_ops=50, scale=float(np.linalg.norm(A, 2))))
    return NumericResult(evidence=ev)


@confirms("gan_dynamics.norm_growth")
def random_vectors(ctx):
    """||A v|| / ||v|| on 1000 random vectors per alpha equals the claimed factor."""
    ev = []
    vs = ctx.rng.normal(size=(1000, 2))
    for a in ALPHAS:
        ratios = np.linalg.norm(vs @ gda_map(a).T, axis=1) / np.linalg.norm(vs, axis=1)
        claimed = float(_value(ctx.answer, a))
        worst = float(np.max(np.abs(ratios - claimed)))
        # per ratio: 2x2 mat-vec (3 ops), two norms (4 ops each), a division: relative bound gamma_12
        ev.append(evidence.roundoff(f"max | ||Av||/||v|| - rho | at alpha = {a}", worst, 0.0, n_ops=12,
                                    scale=max(claimed, float(np.max(ratios))) * math.sqrt(2), n=len(vs),
                                    seed=ctx.seed))
    return NumericResult(evidence=ev)


@confirms("gan_dynamics.polar_form")
def rotation_angle(ctx):
    """A v is v turned clockwise by arctan(alpha), for random v."""
    ev = []
    vs = ctx.rng.normal(size=(500, 2))
    for a in ALPHAS:
        w = vs @ gda_map(a).T
        turn = np.angle((w[:, 0] + 1j * w[:, 1]) / (vs[:, 0] + 1j * vs[:, 1]))
        worst = float(np.max(np.abs(turn + math.atan(a))))
        ev.append(evidence.roundoff(f"max |angle(Av, v) + arctan(alpha)| at alpha = {a}", worst, 0.0,
                                    n_ops=20, scale=math.pi, n=len(vs), seed=ctx.seed))
    return NumericResult(evidence=ev)


def _fit_log_growth(norms: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of log ||v_k|| on k, and the bound on its roundoff error."""
    ks = np.arange(len(norms), dtype=float)
    logs = np.log(norms)
    w = (ks - ks.mean()) / np.sum((ks - ks.mean()) ** 2)
    slope = float(w @ logs)
    # each step is a 2x2 mat-vec on a scaled rotation: relative error <= sqrt(2) gamma_2 per step,
    # so log||v_k|| carries at most k sqrt(2) gamma_2 + gamma_4 (norm, log); slope error <= sum |w_k| e_k
    e = ks * math.sqrt(2) * policy.gamma(2) + policy.gamma(4) * (1 + np.abs(logs))
    return slope, float(np.sum(np.abs(w) * e))


_BEHAVIOUR_RELATION = {"diverge": ">", "converge": "<", "cycle": "=="}


@confirms("gan_dynamics.behaviour")
@confirms("gan_dynamics.answer_set_rotation")
def iterate_and_flow(ctx):
    """Iterate the map: the per-step log-growth is log sqrt(1 + alpha^2) > 0 (the behaviour the
    answer predicts is tested through its sign), while the continuous flow conserves the norm."""
    label = str(ctx.answer).strip().lower()
    relation = _BEHAVIOUR_RELATION.get(label)
    ev = []
    v0 = ctx.rng.normal(size=2)
    v0 /= np.linalg.norm(v0)
    norm_series, phase_series = [], []
    for a in ALPHAS:
        steps = int(round(HORIZON / a))
        traj = iterate(a, v0, steps)
        norms = np.linalg.norm(traj, axis=1)
        slope, bound = _fit_log_growth(norms)
        if relation is None:
            ev.append(evidence.compare("behaviour label", math.nan, 0.0, tolerance=0.0, rule="label must be one of "
                                       "converge/cycle/diverge", error=0.0, error_kind="none", n=0,
                                       detail=f"unknown label {label!r}"))
        else:
            ev.append(evidence.compare(
                f"fitted log-growth per step at alpha = {a} vs 0 ({label} means '{relation} 0')",
                slope, 0.0, relation=relation, tolerance=bound, error=bound, error_kind="roundoff bound",
                rule="roundoff bound of the least-squares slope: sum_k |w_k| (k sqrt(2) gamma_2 + gamma_4 (1 + |log r_k|))",
                n=steps, seed=ctx.seed,
                detail=f"log sqrt(1 + alpha^2) = {0.5 * math.log1p(a * a):.6g}",
            ))
        ts = np.arange(steps + 1) * a
        every = max(1, steps // 200)
        norm_series.append(Series(f"discrete GDA, alpha = {a}", ts[::every].tolist(), norms[::every].tolist()))
        if a in (0.2,):
            phase_series.append(Series(f"GDA iterates, alpha = {a}", traj[:40, 0].tolist(), traj[:40, 1].tolist(),
                                       style="o-"))
    sol = ode.integrate(lambda t, y: np.array([y[1], -y[0]]), (0.0, HORIZON), v0)
    flow_norms = np.linalg.norm(sol.y, axis=0)
    ev.append(evidence.solver(
        "max_t | ||x(t)|| - ||x(0)|| | for the continuous flow (d' = g, g' = -d)",
        float(np.max(np.abs(flow_norms - 1.0))), 0.0, bound=sol.local_bound, rule=sol.rule(), n=sol.n_steps,
        error_kind="ODE tolerance",
    ))
    dense = ode.integrate(lambda t, y: np.array([y[1], -y[0]]), (0.0, HORIZON), v0, t_eval=np.linspace(0, HORIZON, 400))
    norm_series.append(Series("continuous flow (solve_ivp)", dense.t.tolist(),
                              np.linalg.norm(dense.y, axis=0).tolist(), style="k--"))
    circle = ode.integrate(lambda t, y: np.array([y[1], -y[0]]), (0.0, 2 * math.pi), v0,
                           t_eval=np.linspace(0, 2 * math.pi, 200))
    phase_series.append(Series("continuous flow (conserved norm)", circle.y[0].tolist(), circle.y[1].tolist(),
                               style="k--"))
    plots = [
        Plot("Distance to the stationary point over time t = k·alpha", "t", "||(d, g)||", norm_series, logy=True,
             caption="Discrete descent-ascent grows like (1 + alpha^2)^(k/2); the continuous flow stays on its "
                     "circle. Smaller steps grow more slowly per unit time but still diverge."),
        Plot("Phase plane: outward spiral vs conserved circle", "d", "g", phase_series, equal_aspect=True,
             caption="First 40 GDA iterates at alpha = 0.2 spiral outwards from the circle the flow keeps."),
    ]
    return NumericResult(evidence=ev, plots=plots)


@confirms("gan_dynamics.continuous_flow")
def flow_conservation(ctx):
    """solve_ivp on the gradient flow from random starts: the norm is conserved and the solution
    is the exact rotation; the Euler step of size alpha reproduces A."""
    ev = []
    f = lambda t, y: np.array([y[1], -y[0]])  # noqa: E731
    for i, v0 in enumerate(ctx.rng.normal(size=(3, 2))):
        T = 30.0
        sol = ode.integrate(f, (0.0, T), v0)
        n0 = float(np.linalg.norm(v0))
        drift = float(np.max(np.abs(np.linalg.norm(sol.y, axis=0) - n0)))
        c, s = np.cos(sol.t), np.sin(sol.t)
        exact = np.vstack([c * v0[0] + s * v0[1], -s * v0[0] + c * v0[1]])
        dist = float(np.max(np.linalg.norm(sol.y - exact, axis=0)))
        ev.append(evidence.solver(f"start {i}: max_t | ||x(t)|| - ||x(0)|| |", drift, 0.0, bound=sol.local_bound,
                                  rule=sol.rule(), n=sol.n_steps, seed=ctx.seed, error_kind="ODE tolerance"))
        ev.append(evidence.solver(f"start {i}: max_t ||x(t) - R(t) x(0)||", dist, 0.0, bound=sol.local_bound,
                                  rule=sol.rule(), n=sol.n_steps, seed=ctx.seed, error_kind="ODE tolerance"))
    for a in ALPHAS:
        J = np.array([[0.0, 1.0], [-1.0, 0.0]])
        euler = np.eye(2) + a * J
        ev.append(evidence.roundoff(f"max |(I + alpha J) - A| at alpha = {a}", float(np.max(np.abs(euler - gda_map(a)))),
                                    0.0, n_ops=2, scale=1 + a))
    return NumericResult(evidence=ev)
