"""Adaptive quadrature with a stated error (SciPy ``quad``, i.e. QUADPACK).

:func:`integrate` runs ``scipy.integrate.quad`` over a finite or infinite
interval, split at optional breakpoints, and returns a :class:`Quadrature`:
the value, the sum of the routine's error estimates over the pieces, and the
number of integrand evaluations.  A piece that ends with a QUADPACK warning
(``ier > 0``: subdivision limit reached, roundoff detected, extremely bad
integrand behaviour, divergence, invalid input) raises
:class:`QuadratureError`: a value whose error estimate the routine itself
distrusts is never turned into evidence.

The rule (stated in every :class:`~derivcheck.model.Evidence` built here)
    QUADPACK's dqagse (finite pieces) and dqagie (infinite pieces, after the
    map x = a + (1 - t)/t) use a 21-point (dqagie: 15-point) Gauss-Kronrod
    pair with Wynn's epsilon extrapolation; ``abserr`` estimates
    ``|integral - value|`` from the Gauss/Kronrod difference, floored at
    ``50 u ∫|f|`` for roundoff (Piessens et al., *QUADPACK*, 1983, §2.2.3).
    It is an estimate, not a proven bound; it is conservative for smooth
    integrands, which is why the pieces must finish without a warning and why
    integrands here are smooth (densities, log-densities, their products).
    The tolerance on ``value_1 - value_2`` is ``err_1 + err_2`` plus the
    roundoff of forming the difference, ``gamma_2 (|value_1| + |value_2|)``.

Monte Carlo against quadrature: :func:`mc_against` compares a sample mean
with a quadrature value; its tolerance is the policy's ``z* · se`` (see
:mod:`numerics.policy`) plus the quadrature's error estimate.

    q = integrate(lambda x: x**2 * pdf(x), -np.inf, np.inf, breakpoints=[0.0])
    ev = agree("second moment", q, 1.0)
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Union

import numpy as np
from scipy import integrate as _integrate

from derivcheck.model import Evidence

from . import evidence, policy

EPSABS = 1e-12
EPSREL = 1e-10
LIMIT = 200


class QuadratureError(RuntimeError):
    """QUADPACK reported that it did not reach its requested accuracy."""


@dataclass(frozen=True)
class Quadrature:
    """A quadrature value with the routine's error estimate.

    Linear combinations keep track of the error: ``q1 - q2``, ``q1 + q2``,
    ``2.0 * q``, ``q + 1.0`` (a constant adds no quadrature error).
    """

    value: float
    error: float
    neval: int
    pieces: int = 1
    epsabs: float = EPSABS
    epsrel: float = EPSREL
    what: str = ""

    # -- arithmetic on (value, error) ---------------------------------------
    def _combine(self, other: "Quadrature", sign: float) -> "Quadrature":
        value = self.value + sign * other.value
        err = self.error + other.error + policy.gamma(1) * (abs(self.value) + abs(other.value))
        return Quadrature(value, err, self.neval + other.neval, self.pieces + other.pieces,
                          max(self.epsabs, other.epsabs), max(self.epsrel, other.epsrel))

    def __add__(self, other):
        if isinstance(other, Quadrature):
            return self._combine(other, 1.0)
        c = float(other)
        return Quadrature(self.value + c, self.error + policy.gamma(1) * (abs(self.value) + abs(c)),
                          self.neval, self.pieces, self.epsabs, self.epsrel, self.what)

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, Quadrature):
            return self._combine(other, -1.0)
        return self + (-float(other))

    def __rsub__(self, other):
        return (-1.0 * self) + other

    def __mul__(self, c):
        c = float(c)
        err = abs(c) * self.error * (1 + policy.gamma(1)) + policy.gamma(1) * abs(c * self.value)
        return Quadrature(c * self.value, err, self.neval, self.pieces, self.epsabs, self.epsrel, self.what)

    __rmul__ = __mul__

    def rule(self) -> str:
        return (
            f"scipy.integrate.quad (QUADPACK dqagse/dqagie, Gauss-Kronrod + epsilon extrapolation), "
            f"epsabs = {self.epsabs:g}, epsrel = {self.epsrel:g}, {self.pieces} piece(s) without warning: "
            "tolerance = sum of the routine's error estimates + gamma_n roundoff of the combination "
            "(an estimate from the Gauss-Kronrod difference, not a proven bound)"
        )


def integrate(
    f: Callable[[float], float],
    a: float = -math.inf,
    b: float = math.inf,
    *,
    breakpoints: Iterable[float] = (),
    epsabs: float = EPSABS,
    epsrel: float = EPSREL,
    limit: int = LIMIT,
    what: str = "",
) -> Quadrature:
    """Integrate ``f`` over ``[a, b]`` (either end may be infinite).

    ``breakpoints`` inside ``(a, b)`` split the range into pieces integrated
    separately (useful where the integrand has features far apart, e.g. the
    components of a mixture); the values and error estimates add up.
    """
    if not a < b:
        raise ValueError(f"need a < b, got [{a}, {b}]")
    cuts = sorted(float(p) for p in breakpoints if a < p < b)
    edges = [a, *cuts, b]
    total, err, neval = 0.0, 0.0, 0
    for lo, hi in zip(edges[:-1], edges[1:]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ier is read from the output instead
            out = _integrate.quad(f, lo, hi, epsabs=epsabs, epsrel=epsrel, limit=limit, full_output=1)
        value, abserr, info = out[0], out[1], out[2]
        if len(out) > 3:  # a message: ier > 0
            raise QuadratureError(f"quad on [{lo}, {hi}]{' for ' + what if what else ''}: {out[3]}")
        if not (np.isfinite(value) and np.isfinite(abserr)):
            raise QuadratureError(f"quad on [{lo}, {hi}]{' for ' + what if what else ''} returned {value} ± {abserr}")
        total += value
        err += abserr
        neval += int(info["neval"])
    # the sum of the pieces adds len(pieces) - 1 roundings
    err += policy.gamma(len(edges) - 2) * abs(total) if len(edges) > 2 else 0.0
    return Quadrature(float(total), float(err), neval, len(edges) - 1, epsabs, epsrel, what)


Number = Union[float, int, Quadrature]


def _parts(q: Number) -> tuple[float, float, int, Optional[Quadrature]]:
    if isinstance(q, Quadrature):
        return q.value, q.error, q.neval, q
    return float(q), 0.0, 0, None


def agree(
    quantity: str,
    estimate: Number,
    reference: Number,
    *,
    relation: str = "==",
    seed: Optional[int] = None,
    extra_bound: float = 0.0,
    extra_rule: str = "",
    detail: str = "",
) -> Evidence:
    """Evidence that two quadrature values (or a quadrature value and an exact
    number) satisfy ``relation``; the tolerance is the sum of their error
    estimates, the roundoff of the difference and an optional ``extra_bound``
    (e.g. an optimizer's tolerance) described by ``extra_rule``."""
    v1, e1, n1, q1 = _parts(estimate)
    v2, e2, n2, q2 = _parts(reference)
    bound = e1 + e2 + policy.gamma(2) * (abs(v1) + abs(v2)) + float(extra_bound)
    q = q1 or q2
    rule = q.rule() if q is not None else "exact values: roundoff gamma_2 (|a| + |b|)"
    if extra_rule:
        rule += f"; plus {extra_rule}"
    return evidence.solver(quantity, v1, v2, bound=bound, rule=rule, n=max(n1 + n2, 1),
                           error_kind="quadrature error estimate", seed=seed, relation=relation, detail=detail)


def mc_against(
    quantity: str,
    samples,
    reference: Number,
    *,
    seed: Optional[int],
    relation: str = "==",
    detail: str = "",
) -> Evidence:
    """A Monte Carlo mean against a quadrature value: tolerance ``t* se + err``.

    ``t*`` is Student t's two-sided (``==``) or one-sided quantile at the
    per-comparison false-failure rate (:mod:`numerics.stats`); ``err`` the
    quadrature's error *estimate*.
    """
    x = np.asarray(samples, dtype=float).ravel()
    n = x.size
    if n < 2:
        raise ValueError("a Monte Carlo comparison needs at least two samples")
    ref, qerr, _, _ = _parts(reference)
    from . import stats

    return stats.mean_test(quantity, x, ref, seed=seed, relation=relation, extra=qerr,
                           extra_rule="quadrature error estimate", detail=detail)
