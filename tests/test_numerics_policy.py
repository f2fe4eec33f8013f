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


# --------------------------------------------------------------------------
# numerics.stats: the one statistics module
# --------------------------------------------------------------------------
from derivcheck.numerics import stats  # noqa: E402


def test_student_t_is_wider_than_normal_for_small_samples():
    assert stats.critical_t(19, two_sided=True) > 10 > policy.z_two_sided()
    assert stats.critical_t(10**9, two_sided=True) == pytest.approx(policy.z_two_sided(), rel=1e-6)
    ev = stats.mean_test("m", np.arange(40.0), 19.5, seed=1)
    assert "Student t" in ev.rule and "df = 39" in ev.rule


def test_small_samples_get_a_bootstrap_that_only_widens():
    rng = np.random.default_rng(2)
    x = rng.exponential(size=12)
    ev = stats.mean_test("m", x, 1.0, seed=2)
    t_only = stats.critical_t(11, two_sided=True) * x.std(ddof=1) / math.sqrt(12)
    assert ev.tolerance >= t_only - 1e-15
    assert stats.mean_test("m", x, 100.0, seed=2).verdict is Verdict.FAILS


def test_effective_sample_size_sees_autocorrelation():
    rng = np.random.default_rng(3)
    e = rng.standard_normal(4000)
    ar = np.zeros_like(e)
    for i in range(1, e.size):
        ar[i] = 0.9 * ar[i - 1] + e[i]
    assert stats.effective_sample_size(e) > 3000
    assert stats.effective_sample_size(ar) < 400  # tau = (1 + 0.9) / (1 - 0.9) = 19
    bm = stats.batch_means(ar, 20)
    assert bm.batch_size >= 2 * ar.size / stats.effective_sample_size(ar) or len(bm.means) <= 5
    assert stats.batch_means_test("ar", ar, 0.0, seed=3).verdict is Verdict.HOLDS
    assert stats.batch_means_test("ar", ar + 3.0, 0.0, seed=3).verdict is Verdict.FAILS


def test_batch_means_are_honest_where_naive_iid_is_not():
    """Across 200 seeds of an AR(1) series with mean 0, the naive i.i.d. t test at a loose 1 % rate
    rejects far more often than 1 %; the batch-means test does not."""
    from scipy import stats as st

    naive = honest = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        e = rng.standard_normal(1000)
        ar = np.zeros_like(e)
        for i in range(1, e.size):
            ar[i] = 0.9 * ar[i - 1] + e[i]
        naive += abs(ar.mean()) / (ar.std(ddof=1) / math.sqrt(ar.size)) > st.t.isf(0.005, ar.size - 1)
        bm = stats.batch_means(ar, 20)
        honest += abs(bm.mean) / bm.se > st.t.isf(0.005, bm.df)
    assert naive > 50 and honest <= 8


def test_bounded_test_is_distribution_free_and_can_fail():
    rng = np.random.default_rng(4)
    x = (rng.random(20000) < 0.02).astype(float)
    ok = stats.bounded_test("p", x, 0.02, low=0, high=1, seed=4)
    assert ok.verdict is Verdict.HOLDS and ok.error_kind == "concentration bound"
    assert "Bernstein" in ok.rule  # far tighter than Hoeffding for a small variance
    assert stats.bounded_test("p", x, 0.05, low=0, high=1, seed=4).verdict is Verdict.FAILS
    with pytest.raises(ValueError):
        stats.bounded_test("p", x + 2, 0.02, low=0, high=1, seed=4)


def test_welch_and_equivalence_are_two_sided():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 1, 500), rng.normal(0, 3, 800)
    assert stats.welch_test("d", a, b, seed=5).verdict is Verdict.HOLDS
    assert stats.welch_test("d", a + 2, b, seed=5).verdict is Verdict.FAILS
    same, power = stats.equivalence("e", 0.01, 0.0, margin=0.1, error=0.001, df=999, seed=5, n=1000,
                                    margin_rule="stated")
    assert same.verdict is Verdict.HOLDS and power.verdict is Verdict.HOLDS
    _, weak = stats.equivalence("e", 0.01, 0.0, margin=0.1, error=1.0, df=999, seed=5, n=1000, margin_rule="stated")
    assert weak.verdict is Verdict.FAILS  # too noisy to be evidence of equality


def test_budget_counts_only_statistical_comparisons():
    rep = stats.budget_report(400)
    assert rep["within_budget"] and rep["union_bound"] == pytest.approx(400 * policy.PER_COMPARISON)
    assert not stats.budget_report(policy.MAX_COMPARISONS + 1)["within_budget"]
    assert stats.is_statistical({"error_kind": "standard error (batch means)"})
    assert not stats.is_statistical({"error_kind": "roundoff bound"})
