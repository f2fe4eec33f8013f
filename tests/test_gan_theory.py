"""Wrong answers to the GAN-theory claims are rejected symbolically and numerically; the
functional machinery, the tiny GAN's gradients and the answer-set refutations behave as documented."""
import math

import numpy as np
import pytest
import sympy as sp

from derivcheck import REGISTRY, Verdict, load_all
from derivcheck.derivations import gan_theory as G
from derivcheck.numerics import gan_theory as N
from derivcheck.registry import Registry
from derivcheck.runner import run_numeric, run_symbolic

load_all()
f0, f1, D, E0, E1 = G.f0, G.f1, G.D, G.E_p0, G.E_p1
V = G.V_FUNCTIONAL


def _confirmations(claim_id, request):
    confs = REGISTRY.confirmations(claim_id)
    assert confs, f"{claim_id} has no numeric confirmation"
    full = request.config.getoption("full", False)
    return [c for c in confs if full or not c.slow]


# Wrong answers live on the claims (rejects=[...]); the pytest plugin runs them on both sides.
def test_every_gan_theory_answer_has_wrong_variants():
    missing = [c.id for c in REGISTRY if c.topic == "gan_theory" and c.takes_answer
               and c.expect is Verdict.HOLDS and not c.wrong_variants()]
    assert not missing, missing


@pytest.mark.parametrize("claim_id", ["gan_theory.optimal_discriminator", "gan_theory.jsd_from_discriminator",
                                      "gan_theory.density_ratio"])
def test_equivalent_forms_of_the_key_are_accepted(claim_id):
    """A different but equal way of writing the key must pass the symbolic check."""
    alt = {
        "gan_theory.optimal_discriminator": 1 / (1 + f0 / f1),
        "gan_theory.jsd_from_discriminator": (E1(sp.log(2 * D)) + E0(sp.log(2 * (1 - D)))) / 2,
        "gan_theory.density_ratio": f0 / (1 / D - 1),
    }[claim_id]
    assert run_symbolic(REGISTRY.get(claim_id).variant(answer=alt)).verdict is Verdict.HOLDS


def test_wrong_value_at_optimum_is_rejected():
    reg = Registry()

    @reg.claim("demo.value_wrong_constant", questions=["ift6135-a23/4.6a"], statement=r"V(D^*) = 2 JSD - \log 2")
    def wrong_constant():
        return G.functional_equal(V, 2 * G.JSD_FUNCTIONAL - sp.log(2), substitute={D: G.optimal_discriminator()})

    @reg.claim("demo.value_wrong_dstar", questions=["ift6135-a23/4.6a"], statement=r"V(f_0/(f_0+f_1)) = 2 JSD - \log 4")
    def wrong_dstar():
        return G.functional_equal(V, 2 * G.JSD_FUNCTIONAL - sp.log(4), substitute={D: f0 / (f0 + f1)})

    for c in reg:
        res = run_symbolic(c)
        assert res.verdict is Verdict.FAILS, res.explain()
        assert res.counterexample
    assert run_symbolic(REGISTRY.get("gan_theory.value_at_optimum")).verdict is Verdict.HOLDS


def test_two_point_counterexamples_are_probability_vectors():
    res = G.functional_equal(V, 2 * G.JSD_FUNCTIONAL - sp.log(4), substitute={D: f0 / (f0 + f1)})
    cex = res.counterexample
    assert cex["space"].startswith("two points")
    for key in ("p_0", "p_1"):
        a, b = (sp.Rational(v.strip()) for v in cex[key].strip("()").split(","))
        assert a > 0 and b > 0 and a + b == 1


def test_functionals_must_be_linear_in_expectations():
    with pytest.raises(G.NotLinearFunctional):
        G.expectation_terms(sp.log(E0(D)))
    with pytest.raises(G.NotLinearFunctional):
        G.expectation_terms(E0(D) * E1(D))
    with pytest.raises(G.NotLinearFunctional):
        G.expectation_terms(D + E0(D))
    terms, const = G.expectation_terms(3 * E1(sp.log(D)) - sp.log(2))
    assert const == -sp.log(2) and terms == [(3, E1, sp.log(D))]
    assert sp.simplify(G.integrand(sp.Integer(2)) - (f0 + f1)) == 0


def test_answer_sets_are_refuted_and_cited(request):
    for cid, key_id, seed_file in (("gan_theory.answer_set_4_1", "gan_theory.mc_4_1", "002_ad9a826c24b56ffd.txt"),
                                   ("gan_theory.answer_set_4_3", "gan_theory.mc_4_3", "002_ad9a826c24b56ffd.txt")):
        refuted = REGISTRY.get(cid)
        assert refuted.expect is Verdict.FAILS and seed_file in refuted.note
        assert run_symbolic(refuted).verdict is Verdict.FAILS
        for conf in _confirmations(cid, request):
            assert run_numeric(conf, answer=refuted.answer).verdict is Verdict.FAILS
        key = REGISTRY.get(key_id)
        assert key.answer == "b"
        for conf in _confirmations(key_id, request):
            assert run_numeric(conf, answer=key.answer).verdict is Verdict.HOLDS


def test_proposition_truths_of_4_1():
    truths, _ = G.proposition_truths()
    assert truths == {"a": True, "b": False, "c": True, "d": True}


def test_dropout_penalty_is_the_ridge_term():
    p = sp.Symbol("p", positive=True)
    w1, w2, x1, x2 = sp.symbols("w_1 w_2 x_1 x_2", real=True)
    assert sp.simplify(G.dropout_penalty() - (1 - p) / p * (w1**2 * x1**2 + w2**2 * x2**2)) == 0
    assert G.rmsprop_fixed_points() == [0]


def test_rejection_limits():
    assert G.rejection_limits() == {"saturating": 0, "non-saturating": -1}


def test_tiny_gan_gradients_match_autograd():
    torch = N.torch()
    rng = np.random.default_rng(5)
    w, g = rng.normal(size=3), np.array([0.7, 0.2])
    real, z_d, z_g = rng.normal(size=64), rng.normal(size=64), rng.normal(size=64)
    loss_d, grad_w, loss_g, grad_g = N.gan_losses_and_grads(w, g, real, z_d, z_g)
    wt = torch.tensor(w, requires_grad=True)
    gt = torch.tensor(g, requires_grad=True)
    sp_ = torch.nn.functional.softplus

    def logit(x):
        return wt[0] + wt[1] * x + wt[2] * x * x

    ld = sp_(-logit(torch.tensor(real))).mean() + sp_(logit(gt.detach()[0] * torch.tensor(z_d) + gt.detach()[1])).mean()
    (aw,) = torch.autograd.grad(ld, wt)
    lg = sp_(-logit(gt[0] * torch.tensor(z_g) + gt[1])).mean()
    (ag,) = torch.autograd.grad(lg, gt)
    assert loss_d == pytest.approx(float(ld.detach()), rel=1e-12)
    assert loss_g == pytest.approx(float(lg.detach()), rel=1e-12)
    np.testing.assert_allclose(grad_w, aw.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_g, ag.numpy(), rtol=1e-10, atol=1e-12)


def test_discriminator_plot_is_small_and_compares_with_dstar():
    conf = next(c for c in REGISTRY.confirmations("gan_theory.optimal_discriminator")
                if c.name == "trained_discriminator_quick")
    res = run_numeric(conf, answer=REGISTRY.get("gan_theory.optimal_discriminator").answer)
    assert res.verdict is Verdict.HOLDS, res.explain()
    plot = res.plots[0]
    assert plot.kind == "line" and len(plot.series) >= 2
    labels = [s.label for s in plot.series]
    assert "trained D(x)" in labels and "answer's D*(x)" in labels
    assert all(len(s.x) == len(s.y) <= 500 for s in plot.series)
    trained = np.array(plot.series[0].y)
    dstar = np.array(plot.series[1].y)
    assert np.max(np.abs(trained - dstar)) < 0.1, "the quick training is visibly close to D*"


def test_jsd_mc_estimate_sits_within_its_error_bar():
    conf = next(c for c in REGISTRY.confirmations("gan_theory.jsd_from_discriminator")
                if c.name == "jsd_estimate_quick")
    res = run_numeric(conf, answer=G.JSD_ANSWER)
    mc = res.evidence[0]
    assert mc.error_kind == "standard error" and mc.n > 0 and mc.verdict is Verdict.HOLDS
    assert abs(mc.estimate - mc.reference) <= mc.tolerance
    assert mc.reference == pytest.approx(N.jsd_quadrature(N.P0_TRAIN, N.P1_TRAIN).value)
    assert 0 < mc.reference < math.log(2)
