"""Wrong variants of the flow claims are rejected, symbolically and numerically; the quadrature
helper and the restricted oracles behave as documented."""
import math

import numpy as np
import pytest
import sympy as sp

from derivcheck import REGISTRY, Verdict, load_all
from derivcheck.derivations import flows as fl
from derivcheck.numerics import flows as nf
from derivcheck.numerics import quadrature as quad
from derivcheck.registry import Registry
from derivcheck.runner import run_numeric, run_symbolic

load_all()


def _run_confirmations(claim_id, answer, request):
    confs = REGISTRY.confirmations(claim_id)
    assert confs, f"{claim_id} has no numeric confirmation"
    ran = []
    for conf in confs:
        if conf.slow and not request.config.getoption("full", False):
            continue
        ran.append(run_numeric(conf, answer=answer))
    assert ran
    return ran


# --------------------------------------------------------------------------
# Invariance claims (no answer): wrong derivations declared in a private registry
# --------------------------------------------------------------------------
def _wrong_derivations():
    reg = Registry()

    @reg.claim("demo.kl_no_density_jacobian", questions=["ift6135-a23/2.1"],
               statement=r"p_{F^{-1}(X)}(u) = p_X(F(u))")
    def no_density_jacobian():
        return fl._orientation_check(fl.kl_invariance_residual, "KL residual", density_jacobian=False)

    @reg.claim("demo.kl_no_measure_jacobian", questions=["ift6135-a23/2.1"], statement=r"dx = du")
    def no_measure_jacobian():
        return fl._orientation_check(fl.kl_invariance_residual, "KL residual", measure_jacobian=False)

    @reg.claim("demo.reverse_no_density_jacobian", questions=["ift6135-a23/2.1"],
               statement=r"p_{F^{-1}(X)}(u) = p_X(F(u))")
    def reverse_no_density_jacobian():
        return fl._orientation_check(fl.kl_reverse_residual, "reverse residual", density_jacobian=False)

    @reg.claim("demo.fdiv_no_jacobian", questions=["ift6135-a23/2.1"], statement=r"p_{a}(F(u)), p_b(F(u))")
    def fdiv_no_jacobian():
        return fl._orientation_check(fl.f_divergence_residual, "f-divergence residual", density_jacobian=False)

    @reg.claim("demo.affine_half_sandwich", questions=["ift6135-a23/2.1"],
               statement=r"\mathrm{Cov}(F^{-1}(X)) = A^{-1} S")
    def affine_half_sandwich():
        return fl.affine_gaussian_check(pullback_cov=fl.A_MAT.inv() * fl.S_MAT)

    @reg.claim("demo.affine_untransformed", questions=["ift6135-a23/2.1"], statement=r"\mathrm{Cov}(F^{-1}(X)) = S")
    def affine_untransformed():
        return fl.affine_gaussian_check(pullback_cov=fl.S_MAT)

    return reg


@pytest.mark.parametrize("claim_id", [c.id for c in _wrong_derivations()])
def test_wrong_derivations_fail_with_a_counterexample(claim_id):
    reg = _wrong_derivations()
    result = run_symbolic(reg.get(claim_id))
    assert result.verdict is Verdict.FAILS, result.explain()
    assert result.counterexample, "a failing check names a counterexample"


def test_counterexample_instances_respect_the_orientation():
    result = fl._orientation_check(fl.kl_invariance_residual, "r", density_jacobian=False)
    assert result.verdict is Verdict.FAILS
    # the first failing part is the increasing flow, instantiated with F = sinh
    assert "sinh" in result.counterexample["instance F"]
    for s in fl.ORIENTATIONS:
        inst = fl.instances(s)[0]
        t = sp.Symbol("t", real=True)
        for v in (sp.Rational(7, 3), sp.Rational(-5, 2), sp.Integer(0)):
            assert abs(sp.N(inst[fl.G](inst[fl.F](v)) - v, 30)) < 1e-25, "the instance's G inverts its F"
        assert sp.sign(sp.diff(inst[fl.F](t), t).subs(t, 0)) == s


@pytest.mark.parametrize("claim_id", ["flows.kl_invariance", "flows.kl_invariance_reverse",
                                      "flows.f_divergence_invariance", "flows.kl_invariance_affine_gaussian"])
def test_invariance_claims_hold(claim_id):
    assert run_symbolic(REGISTRY.get(claim_id)).verdict is Verdict.HOLDS


def test_dropping_the_jacobian_breaks_the_numeric_invariance():
    """The u-space KL computed with p_X(F(u)) for the pull-back density (no |F'|) disagrees with the
    x-space quadrature by far more than the quadrature tolerance."""
    flow = nf.FLOWS[0]
    q = nf.kl_quadratures(flow)
    lpu = nf.BASE.logpdf

    def no_jacobian(u):
        return nf.DATA.logpdf(flow.F(u))

    wrong = quad.integrate(nf._weighted_log_ratio(no_jacobian, lambda t: no_jacobian(t) - lpu(t)),
                           breakpoints=sorted(float(flow.G(v)) for v in nf.DATA.breakpoints))
    ev = quad.agree("no-Jacobian u-space KL vs x-space KL", wrong, q["KL[P_X || P_F(U)] (x)"])
    assert ev.verdict is Verdict.FAILS
    good = quad.agree("u-space KL vs x-space KL", q["KL[P_F^-1(X) || P_U] (u)"], q["KL[P_X || P_F(U)] (x)"])
    assert good.verdict is Verdict.HOLDS


def test_paired_integrands_agree_sample_by_sample():
    rng = np.random.default_rng(0)
    for flow in nf.FLOWS:
        x = nf.DATA.sample(rng, 2000)
        u = flow.G(x)
        lhs = nf.DATA.logpdf(x) - nf.log_pushforward(flow, nf.BASE, x)
        rhs = nf.log_pullback(flow, nf.DATA, u) - nf.BASE.logpdf(u)
        assert nf._paired_roundoff(flow, x, lhs, rhs, nf.DATA) < 1e-13
        assert np.allclose(flow.F(u), x, rtol=1e-12, atol=1e-12)


def test_cubic_inverse_is_exact():
    y = np.linspace(-50, 50, 1001)
    t = nf._cubic_inverse(y)
    assert np.max(np.abs(t**3 / 3 + t - y) / (1 + np.abs(y))) < 1e-13


# --------------------------------------------------------------------------
# Which KL to train with (answers are mappings)
# --------------------------------------------------------------------------
def test_wrong_mappings_live_on_the_claim():
    """The wrong mappings are declared with rejects=[...]; the pytest plugin runs them on both sides."""
    assert {"scenario1": "forward", "scenario2": "reverse"} in REGISTRY.get("flows.kl_objectives").wrong_variants()


def test_answer_set_swap_is_refuted_and_the_key_holds(request):
    refuted = REGISTRY.get("flows.answer_set_swapped_scenarios")
    assert refuted.expect is Verdict.FAILS
    assert "002_ad9a826c24b56ffd.txt" in refuted.note
    assert run_symbolic(refuted).verdict is Verdict.FAILS
    for res in _run_confirmations(refuted.id, refuted.answer, request):
        assert res.verdict is Verdict.FAILS
    key = REGISTRY.get("flows.kl_objectives")
    assert key.answer == {"scenario1": "reverse", "scenario2": "forward"}
    assert run_symbolic(key).verdict is Verdict.HOLDS
    for res in _run_confirmations(key.id, key.answer, request):
        assert res.verdict is Verdict.HOLDS, res.explain()


def test_derived_oracle_needs():
    fwd, rev = fl.objective("forward"), fl.objective("reverse")
    assert fwd["needs"] == {"sample p_X", "evaluate p_U"}
    assert rev["needs"] == {"sample p_U", "evaluate p_X"}
    assert fwd["constant"] == sp.log(fl.p_X(fl.x)), "the dropped term is the (negative) entropy integrand"
    assert not rev["integrand"].has(fl.G_theta), "the reverse KL needs no inverse pass"
    assert not fwd["integrand"].has(fl.F_theta), "the forward KL needs no forward pass"


def test_oracles_refuse_what_a_scenario_lacks():
    rng = np.random.default_rng(1)
    only_density = nf.DataOracle(frozenset({"evaluate p_X"}), rng)
    with pytest.raises(nf.OracleUnavailable):
        only_density.sample_x(3)
    assert only_density.refused == ["sample p_X"]
    assert np.isfinite(only_density.log_px(np.zeros(2))).all()
    only_samples = nf.DataOracle(frozenset({"sample p_X"}), rng)
    with pytest.raises(nf.OracleUnavailable):
        nf.reverse_objective(only_samples, nf.THETAS[0], 10)
    assert nf.forward_objective(only_samples, nf.THETAS[0], 10).shape == (10,)


# --------------------------------------------------------------------------
# The quadrature helper
# --------------------------------------------------------------------------
def test_quadrature_of_a_gaussian():
    q = quad.integrate(lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi), breakpoints=[-1.0, 1.0])
    assert q.pieces == 3
    assert abs(q.value - 1.0) <= q.error + 1e-15
    ev = quad.agree("normalization", q, 1.0)
    assert ev.verdict is Verdict.HOLDS and ev.error_kind == "quadrature error estimate"
    assert quad.agree("normalization", q, 1.001).verdict is Verdict.FAILS
    assert quad.agree("below", q, 2.0, relation="<=").verdict is Verdict.HOLDS


def test_quadrature_arithmetic_tracks_errors():
    a = quad.integrate(lambda x: x * x, 0.0, 1.0)
    b = quad.integrate(lambda x: x, 0.0, 1.0)
    d = 2.0 * a - b
    assert abs(d.value - (2 / 3 - 1 / 2)) <= d.error
    assert d.error >= 2 * a.error + b.error
    assert (a + 1.0).value == pytest.approx(4 / 3)


def test_quadrature_refuses_a_divergent_integral():
    with pytest.raises(quad.QuadratureError):
        quad.integrate(lambda x: 1.0 / x, 0.0, 1.0)


def test_mc_against_quadrature_uses_both_errors():
    rng = np.random.default_rng(3)
    samples = rng.normal(size=10_000)
    q = quad.Quadrature(0.0, 1e-3, 10)
    ev = quad.mc_against("mean", samples, q, seed=3)
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    from derivcheck.numerics import stats

    assert ev.tolerance == pytest.approx(stats.critical_t(samples.size - 1, two_sided=True) * se + 1e-3)
    assert ev.verdict is Verdict.HOLDS
    assert quad.mc_against("mean", samples + 1.0, q, seed=3).verdict is Verdict.FAILS
