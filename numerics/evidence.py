"""Turning numbers into :class:`Evidence`: one function per kind of error bar.

    compare(...)        the general rule: estimate <relation> reference within tolerance
    mc_mean(...)        Monte Carlo mean, Student t (numerics.stats)
    mc_difference(...)  paired Monte Carlo: mean of a per-sample difference
    bounded_mean(...)   mean of bounded values: Hoeffding / empirical Bernstein
    roundoff(...)       deterministic float computation with a gamma_n bound
    solver(...)         a value from a solver that reports its own error bound

The verdict of each relation on ``delta = estimate - reference`` with
tolerance ``t``:

    ==   holds if |delta| <= t, else fails
    <=   holds if delta <= t, else fails
    >=   holds if delta >= -t, else fails
    <    holds if delta < -t, fails if delta > t, else inconclusive
    >    holds if delta > t, fails if delta < -t, else inconclusive
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from derivcheck.model import RELATIONS, Evidence, Verdict

from . import policy


def judge(delta: float, relation: str, tolerance: float) -> Verdict:
    if relation not in RELATIONS:
        raise ValueError(f"relation must be one of {RELATIONS}, not {relation!r}")
    if not np.isfinite(delta):
        return Verdict.FAILS if np.isinf(delta) and relation == "==" else Verdict.INCONCLUSIVE
    if relation == "==":
        return Verdict.HOLDS if abs(delta) <= tolerance else Verdict.FAILS
    if relation == "<=":
        return Verdict.HOLDS if delta <= tolerance else Verdict.FAILS
    if relation == ">=":
        return Verdict.HOLDS if delta >= -tolerance else Verdict.FAILS
    if relation == "<":
        return Verdict.HOLDS if delta < -tolerance else Verdict.FAILS if delta > tolerance else Verdict.INCONCLUSIVE
    return Verdict.HOLDS if delta > tolerance else Verdict.FAILS if delta < -tolerance else Verdict.INCONCLUSIVE


def _delta(estimate, reference) -> float:
    if isinstance(estimate, complex) or isinstance(reference, complex):
        return abs(complex(estimate) - complex(reference))
    return float(estimate) - float(reference)


def compare(
    quantity: str,
    estimate,
    reference,
    *,
    tolerance: float,
    rule: str,
    error: float,
    error_kind: str,
    n: int,
    seed: Optional[int] = None,
    relation: str = "==",
    z: Optional[float] = None,
    detail: str = "",
) -> Evidence:
    estimate = complex(estimate) if np.iscomplexobj(estimate) else float(estimate)
    reference = complex(reference) if np.iscomplexobj(reference) else float(reference)
    if isinstance(estimate, complex) or isinstance(reference, complex):
        if relation != "==":
            raise ValueError("complex values can only be compared with '=='")
    verdict = judge(_delta(estimate, reference), relation, tolerance)
    return Evidence(
        quantity=quantity,
        estimate=estimate,
        reference=reference,
        relation=relation,
        error=float(error),
        error_kind=error_kind,
        tolerance=float(tolerance),
        rule=rule,
        n=int(n),
        seed=seed,
        verdict=verdict,
        z=z,
        detail=detail,
    )


def mc_mean(
    quantity: str,
    samples,
    reference: float,
    *,
    seed: Optional[int],
    relation: str = "==",
    detail: str = "",
) -> Evidence:
    """Mean of i.i.d. samples against ``reference``: Student t (see :mod:`numerics.stats`)."""
    from . import stats

    return stats.mean_test(quantity, samples, reference, seed=seed, relation=relation, detail=detail)


def mc_difference(quantity: str, lhs_samples, rhs_samples, *, seed: Optional[int], relation: str = "==",
                  detail: str = "") -> Evidence:
    """Paired samples of both sides: compare the mean difference with 0."""
    diff = np.asarray(lhs_samples, dtype=float) - np.asarray(rhs_samples, dtype=float)
    return mc_mean(quantity, diff, 0.0, seed=seed, relation=relation, detail=detail)


def bounded_mean(quantity: str, samples, reference: float, *, low: float, high: float,
                 seed: Optional[int], relation: str = "==", detail: str = "") -> Evidence:
    """Mean of values in [low, high]: Hoeffding / empirical Bernstein, no normal approximation."""
    from . import stats

    return stats.bounded_test(quantity, samples, reference, low=low, high=high, seed=seed, relation=relation,
                              detail=detail)


def roundoff(
    quantity: str,
    estimate,
    reference,
    *,
    n_ops: int,
    scale: float,
    n: int = 1,
    seed: Optional[int] = None,
    relation: str = "==",
    u: float = policy.UNIT_ROUNDOFF,
    detail: str = "",
) -> Evidence:
    """A deterministic float result against exact arithmetic's value.

    Tolerance ``gamma(n_ops) * scale``: Higham's bound for ``n_ops`` rounding
    errors on values of magnitude ``scale``.  It is a bound when ``n_ops`` counts
    every rounding of the computation; the counts given by callers are estimates
    of that (library kernels are not audited), so the rule says "estimate".
    """
    g = policy.gamma(n_ops, u)
    tol = g * float(scale)
    return compare(
        quantity,
        estimate,
        reference,
        tolerance=tol,
        rule=(f"roundoff estimate gamma_{n_ops}·scale (Higham's bound with an estimated operation count "
              f"n = {n_ops}), scale = {scale:.3g}"),
        error=tol,
        error_kind="roundoff bound (estimated count)",
        n=n,
        seed=seed,
        relation=relation,
        detail=detail,
    )


def solver(
    quantity: str,
    estimate,
    reference,
    *,
    bound: float,
    rule: str,
    n: int,
    error_kind: str = "solver error estimate",
    seed: Optional[int] = None,
    relation: str = "==",
    detail: str = "",
) -> Evidence:
    """A value from an ODE solver or quadrature routine with its own error bound."""
    return compare(
        quantity,
        estimate,
        reference,
        tolerance=bound,
        rule=rule,
        error=bound,
        error_kind=error_kind,
        n=n,
        seed=seed,
        relation=relation,
        detail=detail,
    )


# --------------------------------------------------------------------------
# Option keys from measurements of each option's own statement
# --------------------------------------------------------------------------
def _truth(ev) -> Optional[bool]:
    return {Verdict.HOLDS: True, Verdict.FAILS: False}.get(ev.verdict)


def statement_holds(evs) -> Optional[bool]:
    """An option's statement measured by ``evs`` (each evidence *is* a test of the statement):
    True if every one holds, False if one fails, None if one is undecided and none fails.
    (``all()`` cannot be used: it reads an undecided None as False.)"""
    truths = [_truth(e) for e in evs]
    if any(t is False for t in truths):
        return False
    if any(t is None for t in truths):
        return None
    return True


def statement_refuted_by(evs) -> Optional[bool]:
    """An option whose statement *denies* what ``evs`` measure ("p(x|z) cannot be recovered"
    against evidence that it is recovered): False when the measurements hold, True when one
    fails, None when undecided."""
    t = statement_holds(evs)
    return None if t is None else not t


def option_key(measured: dict, select: str):
    """The key from measured option truths (``select``: ``true``, ``false`` or ``all-true``);
    None when an option is undecided or a single-answer key is not unique."""
    if any(v is None for v in measured.values()):
        return None
    if select == "all-true":
        return {o for o, v in measured.items() if v}
    hits = [o for o, v in measured.items() if v is (select == "true")]
    return hits[0] if len(hits) == 1 else None


def option_key_evidence(answer, measured: dict, *, select: str, options) -> Evidence:
    """Evidence that the answer's option(s) equal the key the measurements give."""
    given = {str(a).strip().lower() for a in ([answer] if isinstance(answer, str) else answer)}
    unknown = sorted(o for o, v in measured.items() if v is None)
    detail = f"measured: {dict(sorted(measured.items()))}; answer: {sorted(given)}"
    if unknown:
        ev = compare("options whose statement the measurements decide", len(options) - len(unknown), len(options),
                     tolerance=0, rule="every option must be decided", error=0.0, error_kind="count",
                     n=len(options), relation=">=", detail=detail + f"; undecided: {unknown}")
        ev.verdict = Verdict.INCONCLUSIVE  # no key: neither accepted nor rejected
        return ev
    key = option_key(measured, select)
    key_set = set() if key is None else ({key} if isinstance(key, str) else set(key))
    mismatch = sorted(set(options) & (given ^ key_set)) if key is not None else sorted(options)
    return compare(f"options where the answer disagrees with the measured key ({select})", len(mismatch), 0,
                   tolerance=0, rule="exact count", error=0.0, error_kind="count", n=len(options),
                   detail=detail + (f"; measured key {sorted(key_set)}" if key is not None else "; no unique key")
                   + (f"; disagree on {mismatch}" if mismatch else ""))
