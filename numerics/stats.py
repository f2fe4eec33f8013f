"""The one statistics module: every statistical comparison of a numeric confirmation.

Each function returns an :class:`~derivcheck.model.Evidence` record whose ``rule``
names the test, the per-comparison false-failure rate, the critical value and the
degrees of freedom, so a reader can redo the decision by hand.

    mean_test(q, samples, ref)          i.i.d. samples: Student t with n - 1 degrees of freedom
    welch_test(q, a, b)                 two independent samples: Welch's t (Welch-Satterthwaite df)
    batch_means_test(q, series, ref)    an autocorrelated series (training losses): batch means,
                                        effective sample size from the autocorrelation, t on the batches
    bounded_test(q, samples, ref, ...)  values in [low, high]: Hoeffding or empirical Bernstein
                                        (Maurer & Pontil 2009), whichever is tighter; no normal approximation
    bootstrap_test(q, samples, ref)     a small sample (n < 30): percentile-t bootstrap, reported beside t
    equivalence(...)                    two-sided evidence for an equality: |delta| <= margin *and*
                                        the data could have shown a discrepancy of that margin

The budget (see :mod:`numerics.policy`): a whole run may fail a true claim by chance
with probability at most ``policy.TOTAL_FALSE_FAILURE``; it is split (Bonferroni)
over ``policy.MAX_COMPARISONS`` statistical comparisons, ``policy.PER_COMPARISON``
each.  :func:`count_statistical` counts the comparisons a run actually made, and
:func:`budget_report` states the union bound on them, so the split is checked
against what was done, not assumed.

Student t is exact for normal data and conservative against the normal for every
sample size; for other laws it is the usual large-sample approximation, which is why
``mean_test`` refuses fewer than ``MIN_T_SAMPLES`` samples unless a bootstrap is asked
for, and why bounded quantities use concentration inequalities instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from derivcheck.model import Evidence

from . import evidence as _evidence
from . import policy

#: below this many samples a mean is compared by t *and* a bootstrap (both must accept)
SMALL_SAMPLE = 30
MIN_T_SAMPLES = 2
#: the statistical kinds of error bar; everything else (roundoff, ODE, quadrature) is deterministic
STATISTICAL_KINDS = ("standard error", "standard error (batch means)", "standard error (Welch)",
                     "concentration bound", "standard error (bootstrap)")


# --------------------------------------------------------------------------
# Critical values
# --------------------------------------------------------------------------
def critical_t(df: float, *, two_sided: bool, rate: float = policy.PER_COMPARISON) -> float:
    """Student t critical value at false-failure ``rate`` (infinite df: the normal's)."""
    from scipy import stats as _st

    tail = rate / 2.0 if two_sided else rate
    if not math.isfinite(df) or df > 1e7:
        return float(_st.norm.isf(tail))
    return float(_st.t.isf(tail, df))


def _two_sided(relation: str) -> bool:
    return relation == "=="


def _side(relation: str) -> str:
    return "two-sided" if _two_sided(relation) else "one-sided"


# --------------------------------------------------------------------------
# Autocorrelation: effective sample size (Geyer's initial positive sequence)
# --------------------------------------------------------------------------
def effective_sample_size(x) -> float:
    """n / (1 + 2 sum_k rho_k), the sum cut at the first pair of lags whose sum is <= 0
    (Geyer 1992, initial positive sequence).  Equals n for white noise, less when correlated."""
    x = np.asarray(x, dtype=float).ravel()
    n = x.size
    if n < 4:
        return float(n)
    y = x - x.mean()
    var = float(y @ y) / n
    if var == 0.0:
        return float(n)
    f = np.fft.rfft(y, 2 * n)
    acov = np.fft.irfft(f * np.conj(f))[:n] / n
    rho = acov / var
    tau = -1.0  # tau = -1 + 2 sum over positive pairs (rho_0 = 1 included in the first pair)
    for k in range(0, n - 1, 2):
        pair = rho[k] + rho[k + 1]
        if pair <= 0:
            break
        tau += 2.0 * pair
    tau = max(tau, 1.0 / n)
    return float(n / tau)


@dataclass(frozen=True)
class BatchMeans:
    means: np.ndarray
    mean: float
    se: float
    df: int
    ess: float
    batch_size: int


def batch_means(series, n_batches: int = 20) -> BatchMeans:
    """Non-overlapping batch means of an autocorrelated series.

    The batch size is raised until it is at least the series' integrated
    autocorrelation time (n / ESS), so that the batch means are nearly
    independent; the standard error is that of the batch means, with
    ``n_batches - 1`` degrees of freedom (a t test on them is then honest even
    when n_batches is small)."""
    x = np.asarray(series, dtype=float).ravel()
    ess = effective_sample_size(x)
    tau = x.size / max(ess, 1.0)
    size = max(x.size // n_batches, 1)
    while size < 2 * tau and n_batches > 4:
        n_batches //= 2
        size = x.size // n_batches
    used = x[: size * n_batches]
    means = used.reshape(n_batches, size).mean(axis=1)
    se = float(means.std(ddof=1) / math.sqrt(n_batches)) if n_batches > 1 else math.inf
    return BatchMeans(means, float(means.mean()), se, n_batches - 1, ess, size)


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------
def t_compare(quantity, mean, se, df, reference, *, relation, seed, n, extra=0.0, extra_rule="",
                error_kind="standard error", what="Student t", detail="") -> Evidence:
    tcrit = critical_t(df, two_sided=_two_sided(relation))
    tol = tcrit * se + extra
    zscore = (mean - float(reference)) / se if se > 0 else (0.0 if mean == reference else math.inf)
    rule = (f"{_side(relation)} {what} test, df = {df:g}, at per-comparison false-failure rate "
            f"{policy.PER_COMPARISON:g}: tolerance t*·se with t* = {tcrit:.2f}"
            + (f" + {extra_rule}" if extra_rule else "") + f" (detectable discrepancy {tol:.3g})")
    if not np.isfinite(mean):
        detail = (detail + "; " if detail else "") + "non-finite samples: heavy tails are not compared"
    return _evidence.compare(quantity, mean, reference, tolerance=tol, rule=rule, error=se, error_kind=error_kind,
                             n=n, seed=seed, relation=relation, z=zscore, detail=detail)


def mean_test(quantity: str, samples, reference: float, *, seed: Optional[int], relation: str = "==",
              extra: float = 0.0, extra_rule: str = "", detail: str = "") -> Evidence:
    """Mean of i.i.d. samples against ``reference``: Student t with n - 1 df.

    ``extra`` is a deterministic addition to the tolerance (a quadrature error
    estimate, a roundoff bound) named by ``extra_rule``.  Below ``SMALL_SAMPLE``
    samples a percentile-t bootstrap must agree too (the stricter verdict wins)."""
    x = np.asarray(samples, dtype=float).ravel()
    n = x.size
    if n < MIN_T_SAMPLES:
        raise ValueError("a Monte Carlo comparison needs at least two samples")
    mean = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(n))
    ev = t_compare(quantity, mean, se, n - 1, reference, relation=relation, seed=seed, n=n, extra=extra,
                     extra_rule=extra_rule, detail=detail)
    if n < SMALL_SAMPLE and se > 0 and np.isfinite(mean):
        boot = bootstrap_test(quantity, x, reference, seed=seed, relation=relation, extra=extra)
        if boot.tolerance > ev.tolerance:
            boot.detail = (detail + "; " if detail else "") + f"bootstrap wider than t (t* tolerance {ev.tolerance:.3g})"
            return boot
    return ev


def welch_test(quantity: str, a, b, *, seed: Optional[int], relation: str = "==", reference: float = 0.0,
               extra: float = 0.0, extra_rule: str = "", detail: str = "") -> Evidence:
    """mean(a) - mean(b) against ``reference`` for two independent samples (Welch's t)."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)) if va + vb > 0 else math.inf
    return t_compare(quantity, float(a.mean() - b.mean()), se, round(df, 1), reference, relation=relation,
                       seed=seed, n=a.size + b.size, extra=extra, extra_rule=extra_rule,
                       error_kind="standard error (Welch)", what="Welch t", detail=detail)


def batch_means_test(quantity: str, series, reference: float, *, seed: Optional[int], relation: str = "==",
                     n_batches: int = 20, extra: float = 0.0, extra_rule: str = "", detail: str = "") -> Evidence:
    """The mean of an autocorrelated series against ``reference``: t on batch means."""
    bm = batch_means(series, n_batches)
    d = f"{len(bm.means)} batches of {bm.batch_size}; effective sample size {bm.ess:.1f} of {np.size(series)}"
    return t_compare(quantity, bm.mean, bm.se, bm.df, reference, relation=relation, seed=seed, n=int(np.size(series)),
                       extra=extra, extra_rule=extra_rule, error_kind="standard error (batch means)",
                       what="batch-means t", detail=(detail + "; " if detail else "") + d)


def batch_drift_test(quantity: str, series, *, seed: Optional[int], n_batches: int = 20, detail: str = "") -> Evidence:
    """Later half of the batch means minus the earlier half, against 0 (Welch t on the batch means)."""
    bm = batch_means(series, n_batches)
    half = len(bm.means) // 2
    d = f"{len(bm.means)} batches of {bm.batch_size}; effective sample size {bm.ess:.1f} of {np.size(series)}"
    return welch_test(quantity, bm.means[half:], bm.means[:half], seed=seed, relation="==",
                      detail=(detail + "; " if detail else "") + d)


def hoeffding_halfwidth(n: int, low: float, high: float, *, two_sided: bool = True,
                        rate: float = policy.PER_COMPARISON) -> float:
    tail = rate / 2.0 if two_sided else rate
    return (high - low) * math.sqrt(math.log(1.0 / tail) / (2.0 * n))


def bernstein_halfwidth(x, low: float, high: float, *, two_sided: bool = True,
                        rate: float = policy.PER_COMPARISON) -> float:
    """Empirical Bernstein (Maurer & Pontil 2009, Thm 4), one tail at ``rate`` (or rate/2 each side):
    sqrt(2 V ln(2/d) / n) + 7 (b - a) ln(2/d) / (3 (n - 1))."""
    x = np.asarray(x, dtype=float).ravel()
    n = x.size
    if n < 2:
        return math.inf
    d = rate / 2.0 if two_sided else rate
    lg = math.log(2.0 / d)
    v = float(x.var(ddof=1))
    return math.sqrt(2.0 * v * lg / n) + 7.0 * (high - low) * lg / (3.0 * (n - 1))


def bounded_test(quantity: str, samples, reference: float, *, low: float, high: float, seed: Optional[int],
                 relation: str = "==", detail: str = "") -> Evidence:
    """Mean of values in [low, high]: the tighter of Hoeffding and empirical Bernstein (both
    distribution-free at the stated rate, so the union bound over the two costs a factor 2 in rate,
    paid by using rate/2 for each)."""
    x = np.asarray(samples, dtype=float).ravel()
    n = x.size
    if np.any(x < low) or np.any(x > high):
        raise ValueError(f"bounded_test: samples outside [{low}, {high}]")
    two = _two_sided(relation)
    rate = policy.PER_COMPARISON / 2.0
    h = hoeffding_halfwidth(n, low, high, two_sided=two, rate=rate)
    b = bernstein_halfwidth(x, low, high, two_sided=two, rate=rate)
    half, which = (h, "Hoeffding") if h <= b else (b, "empirical Bernstein")
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    return _evidence.compare(
        quantity, float(x.mean()), reference, tolerance=half,
        rule=(f"{_side(relation)} {which} bound for values in [{low:g}, {high:g}] at per-comparison rate "
              f"{policy.PER_COMPARISON:g} (min of Hoeffding and empirical Bernstein, rate/2 each): "
              f"half-width {half:.3g}, no normal approximation"),
        error=half, error_kind="concentration bound", n=n, seed=seed, relation=relation,
        detail=(detail + "; " if detail else "") + f"sample se {se:.3g}")


def bootstrap_test(quantity: str, samples, reference: float, *, seed: Optional[int], relation: str = "==",
                   resamples: int = 4000, extra: float = 0.0, detail: str = "") -> Evidence:
    """Percentile-t bootstrap for a small sample.  With few resamples the extreme tail at
    1e-9 is not resolved, so the critical value is max(t*, bootstrap quantile scaled by the t
    tail ratio): the bootstrap can only widen the t tolerance (skewed small samples)."""
    x = np.asarray(samples, dtype=float).ravel()
    n = x.size
    rng = np.random.default_rng(0 if seed is None else seed)
    mean = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(n))
    idx = rng.integers(0, n, size=(resamples, n))
    bx = x[idx]
    bse = bx.std(axis=1, ddof=1) / math.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstar = np.abs((bx.mean(axis=1) - mean) / bse)
    tstar = tstar[np.isfinite(tstar)]
    q = 0.99
    tq_boot = float(np.quantile(tstar, q)) if tstar.size else math.inf
    t_ref_q = critical_t(n - 1, two_sided=True, rate=2 * (1 - q))
    tcrit = critical_t(n - 1, two_sided=_two_sided(relation))
    scaled = tcrit * max(1.0, tq_boot / t_ref_q)
    tol = scaled * se + extra
    return _evidence.compare(
        quantity, mean, reference, tolerance=tol,
        rule=(f"{_side(relation)} Student t (df = {n - 1}) widened by a percentile-t bootstrap ({resamples} "
              f"resamples; 99% quantile ratio {tq_boot / t_ref_q:.2f}): t* = {scaled:.2f} at rate "
              f"{policy.PER_COMPARISON:g}; an estimate for small samples"),
        error=se, error_kind="standard error (bootstrap)", n=n, seed=seed, relation=relation,
        z=(mean - reference) / se if se > 0 else None, detail=detail)


def equivalence(quantity: str, estimate: float, reference: float, *, margin: float, error: float, df: float,
                seed: Optional[int], n: int, margin_rule: str, detail: str = "") -> list:
    """Two-sided evidence for an equality ``estimate == reference`` up to a stated ``margin``:
    (1) |delta| <= t*·se + margin (the data do not contradict equality), and
    (2) t*·se <= margin (the comparison had the power to see a discrepancy of the margin),
    so that passing is evidence for equality, not merely absence of evidence against it."""
    tcrit = critical_t(df, two_sided=True)
    first = t_compare(quantity, estimate, error, df, reference, relation="==", seed=seed, n=n, extra=margin,
                        extra_rule=margin_rule, detail=detail)
    power = _evidence.compare(
        f"{quantity}: detectable discrepancy t*·se <= margin", tcrit * error, margin, relation="<=", tolerance=0.0,
        rule=f"power requirement: t* = {tcrit:.2f} (df {df:g}) times se must not exceed the margin ({margin_rule})",
        error=0.0, error_kind="decision", n=n, seed=seed)
    return [first, power]


# --------------------------------------------------------------------------
# The budget over a run
# --------------------------------------------------------------------------
def is_statistical(ev) -> bool:
    kind = ev["error_kind"] if isinstance(ev, dict) else ev.error_kind
    return kind in STATISTICAL_KINDS


def count_statistical(outcomes) -> int:
    n = 0
    for o in outcomes:
        for r in o.numeric:
            n += sum(1 for e in r.evidence if is_statistical(e))
    return n


def budget_report(n_comparisons: int) -> dict:
    """The union bound over the statistical comparisons a run made."""
    bound = n_comparisons * policy.PER_COMPARISON
    return {
        "statistical_comparisons": n_comparisons,
        "per_comparison_rate": policy.PER_COMPARISON,
        "union_bound": bound,
        "within_budget": n_comparisons <= policy.MAX_COMPARISONS,
        "rule": (f"Bonferroni: {n_comparisons} comparisons x {policy.PER_COMPARISON:g} = {bound:.3g} "
                 f"<= {policy.TOTAL_FALSE_FAILURE:g} (budget split over at most {policy.MAX_COMPARISONS})"),
    }
