"""The tolerance policy: where every numeric tolerance comes from.

Statistical comparisons (Monte Carlo, trained estimators)
    A whole ``derivcheck verify`` run may fail a true claim by chance with
    probability at most ``TOTAL_FALSE_FAILURE`` = 1e-6.  That budget is split
    evenly (Bonferroni) over at most ``MAX_COMPARISONS`` statistical
    comparisons per run, so each comparison gets ``PER_COMPARISON`` = 1e-9.
    A two-sided comparison accepts ``|estimate - reference| <= z * se`` with
    ``z = Phi^-1(1 - PER_COMPARISON / 2)`` (about 6.1); a one-sided one uses
    ``Phi^-1(1 - PER_COMPARISON)`` (about 6.0).  Bounded quantities may use
    Hoeffding's envelope instead (no normal approximation).  The smallest
    discrepancy a comparison can detect, ``z * se``, is reported with it.
    Heavy-tailed estimators (infinite variance) must not be compared this way:
    say so in the evidence instead of widening a tolerance.

Deterministic floating-point computations
    The false-failure rate is zero: the tolerance is a rigorous roundoff
    bound, ``gamma_n * scale`` with ``gamma_n = n u / (1 - n u)`` (Higham,
    *Accuracy and Stability of Numerical Algorithms*, §3.1) for ``n``
    floating-point operations on values of size ``scale``, ``u`` the unit
    roundoff.  Each call states its ``n``.

ODE integrations
    The solver keeps each step's estimated local error under
    ``atol + rtol |y|`` (RMS norm); the tolerance on a conserved quantity or
    on the distance to a known solution is the sum of those local bounds over
    the accepted steps, valid when the flow does not amplify errors (an
    isometry); other flows must state their own propagation factor.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

TOTAL_FALSE_FAILURE = 1e-6
MAX_COMPARISONS = 1000
PER_COMPARISON = TOTAL_FALSE_FAILURE / MAX_COMPARISONS

UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2  # u = 2^-53
UNIT_ROUNDOFF32 = float(np.finfo(np.float32).eps) / 2  # u = 2^-24


def z_two_sided(rate: float = PER_COMPARISON) -> float:
    return NormalDist().inv_cdf(1.0 - rate / 2.0)


def z_one_sided(rate: float = PER_COMPARISON) -> float:
    return NormalDist().inv_cdf(1.0 - rate)


def gamma(n: int, u: float = UNIT_ROUNDOFF) -> float:
    """Higham's gamma_n = n u / (1 - n u): the relative error bound of n operations."""
    nu = n * u
    if nu >= 1:
        return math.inf
    return nu / (1.0 - nu)


def hoeffding_halfwidth(n: int, low: float, high: float, rate: float = PER_COMPARISON) -> float:
    """Two-sided Hoeffding/DKW envelope for the mean of n values in [low, high]."""
    return (high - low) * math.sqrt(math.log(2.0 / rate) / (2.0 * n))


def describe() -> dict:
    """The policy as data, printed in reports and JSON output."""
    return {
        "total_false_failure_rate": TOTAL_FALSE_FAILURE,
        "max_statistical_comparisons": MAX_COMPARISONS,
        "per_comparison_rate": PER_COMPARISON,
        "z_two_sided": round(z_two_sided(), 4),
        "z_one_sided": round(z_one_sided(), 4),
        "unit_roundoff": UNIT_ROUNDOFF,
        "roundoff_rule": "gamma_n * scale, gamma_n = n u / (1 - n u) (Higham)",
        "ode_rule": "sum over accepted steps of sqrt(d) (atol + rtol |y|), for isometric flows",
    }
