"""Tolerances come from the stated policy and comparisons can fail."""
import math

import numpy as np
import pytest

from derivcheck import Verdict
from derivcheck.numerics import evidence, ode, policy


def test_policy_thresholds():
    assert policy.PER_COMPARISON == pytest.approx(1e-9)
    assert 6.0 < policy.z_two_sided() < 6.2
    assert policy.z_one_sided() < policy.z_two_sided()
    assert policy.gamma(10) == pytest.approx(10 * policy.UNIT_ROUNDOFF, rel=1e-12)
    assert math.isinf(policy.gamma(2**60))


@pytest.mark.parametrize("relation, delta, tol, verdict", [
    ("==", 0.5, 1.0, Verdict.HOLDS), ("==", 1.5, 1.0, Verdict.FAILS),
    ("<=", 1.5, 1.0, Verdict.FAILS), ("<=", -9.0, 1.0, Verdict.HOLDS),
    (">=", -0.5, 1.0, Verdict.HOLDS), (">=", -1.5, 1.0, Verdict.FAILS),
    (">", 2.0, 1.0, Verdict.HOLDS), (">", 0.0, 1.0, Verdict.INCONCLUSIVE), (">", -2.0, 1.0, Verdict.FAILS),
    ("<", -2.0, 1.0, Verdict.HOLDS), ("<", 0.5, 1.0, Verdict.INCONCLUSIVE), ("<", 2.0, 1.0, Verdict.FAILS),
])
def test_judge(relation, delta, tol, verdict):
    assert evidence.judge(delta, relation, tol) is verdict


def test_mc_mean_accepts_truth_and_rejects_a_shift():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, size=100_000)
    good = evidence.mc_mean("mean", x, 1.0, seed=0)
    assert good.verdict is Verdict.HOLDS and good.n == 100_000 and good.seed == 0
    assert good.error == pytest.approx(2.0 / math.sqrt(100_000), rel=0.02)
    assert "detectable discrepancy" in good.rule
    bad = evidence.mc_mean("mean", x, 1.1, seed=0)
    assert bad.verdict is Verdict.FAILS and abs(bad.z) > policy.z_two_sided()


def test_bounded_mean_uses_hoeffding():
    rng = np.random.default_rng(1)
    u = rng.uniform(size=50_000)
    assert evidence.bounded_mean("u", u, 0.5, low=0, high=1, seed=1).verdict is Verdict.HOLDS
    assert evidence.bounded_mean("u", u, 0.6, low=0, high=1, seed=1).verdict is Verdict.FAILS


def test_roundoff_bound_is_tight_enough_to_fail():
    ok = evidence.roundoff("sum", 0.1 + 0.2, 0.3, n_ops=2, scale=0.3)
    assert ok.verdict is Verdict.HOLDS
    assert evidence.roundoff("sum", 0.3 + 1e-12, 0.3, n_ops=2, scale=0.3).verdict is Verdict.FAILS


def test_complex_values_compare_by_distance():
    e = evidence.roundoff("eig", 1 + 0.5j, 1 + 0.5j, n_ops=4, scale=1.0)
    assert e.verdict is Verdict.HOLDS
    with pytest.raises(ValueError):
        evidence.compare("eig", 1j, 0.0, relation="<", tolerance=1, rule="", error=0, error_kind="", n=1)


def test_ode_bound_covers_the_rotation_and_not_a_wrong_answer():
    sol = ode.integrate(lambda t, y: np.array([y[1], -y[0]]), (0.0, 10.0), [1.0, 0.0])
    drift = float(np.max(np.abs(np.linalg.norm(sol.y, axis=0) - 1.0)))
    assert drift <= sol.local_bound < 1e-6
    assert sol.n_steps > 0 and "rtol" in sol.rule()
    # the wrong claim "the norm grows like e^{t/100}" is far outside the bound
    assert abs(np.linalg.norm(sol.y[:, -1]) - math.exp(10 / 100)) > sol.local_bound
