"""Tests for the contrastive-learning claims (mit-hw4, vae-simclr/2) and the shapes study helpers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from derivcheck import REGISTRY, Verdict, load_all
from derivcheck.derivations import contrastive as sym
from derivcheck.derivations import prove
from derivcheck.registry import Registry
from derivcheck.runner import run_numeric, run_symbolic

load_all()

ANSWER_CLAIMS = sorted(c.id for c in REGISTRY if c.topic == "contrastive" and c.answer is not None)


def test_every_answer_claim_has_a_wrong_variant():
    """Wrong variants live on the claims (rejects=[...]); the pytest plugin runs them on both sides."""
    refuted = {c.id for c in REGISTRY if c.topic == "contrastive" and c.expect is Verdict.FAILS}
    assert {c for c in ANSWER_CLAIMS if REGISTRY.get(c).wrong_variants()} | refuted == set(ANSWER_CLAIMS)


@pytest.mark.parametrize("cid", ANSWER_CLAIMS)
def test_claim_has_expected_verdict(cid):
    c = REGISTRY.get(cid)
    assert run_symbolic(c).verdict is c.expect


def test_answer_set_distance_formula_is_refuted_with_a_note():
    c = REGISTRY.get("contrastive.answer_set_distance_general")
    assert c.expect is Verdict.FAILS and "000_c4c2f3e64aaf4d56.txt" in c.note
    assert run_symbolic(c).verdict is Verdict.FAILS
    # the same formula is right on the unit sphere
    on_sphere = sym.sphere_residual(1 - (sp.sqrt(2 - 2 * sym.DOT).subs(sym.DOT, 1 - sym.DIST**2 / 2)) ** 2 / 2)
    assert prove.zero(on_sphere).verdict is Verdict.HOLDS


def test_unanswered_claims_hold():
    for c in REGISTRY:
        if c.topic == "contrastive" and c.answer is None:
            assert run_symbolic(c).verdict is Verdict.HOLDS, c.id
            for conf in REGISTRY.confirmations(c.id):
                if not conf.slow:
                    assert run_numeric(conf).verdict is Verdict.HOLDS, conf.qualname


# ---------------------------------------------------------------------------
# wrong variants of claims that carry no answer (private registry)
# ---------------------------------------------------------------------------
def _fails(check) -> bool:
    reg = Registry()
    reg.claim("contrastive.wrong_variant", questions=["vae-simclr/2a"], statement="wrong")(check)
    return run_symbolic(reg.get("contrastive.wrong_variant")).verdict is Verdict.FAILS


def test_ntxent_without_positive_in_denominator_is_not_tian():
    s_p, negs = sym._sims()

    def wrong():
        tian = sym.tian_term(s_p, [s_p] + negs, phi=lambda x: x, psi=lambda x: sp.exp(x / sym.tau))
        return prove.equal(tian, sp.exp(sym.ntxent_term(s_p, negs, sym.tau, include_positive=False)))

    assert _fails(wrong)


def test_ntxent_without_positive_differs_numerically():
    from derivcheck.numerics import contrastive as num

    rng = np.random.default_rng(0)
    z, partner = num._views(rng, 6, 4)
    right = num.ntxent_loss(z, partner, 0.5)
    assert abs(num.tian_loss(z, partner, 0.5) - right) < 1e-12
    assert abs(num.tian_loss(z, partner, 0.5) - num.ntxent_loss(z, partner, 0.5, include_positive=False)) > 0.1


def test_wrong_temperature_limits_fail():
    s_p, negs = sym._sims()

    def wrong_large():  # log(M - 1) instead of log M
        return prove.equal(sp.limit(sym.ntxent_term(s_p, negs, sym.tau), sym.tau, sp.oo), sp.log(len(negs)))

    def wrong_small():  # hardest negative without the hinge at 0
        s_pos, others = sp.Rational(9, 10), [sp.Rational(1, 10), sp.Rational(-3, 5), sp.Rational(1, 2)]
        value = sp.limit(sym.tau * sym.ntxent_term(s_pos, others, sym.tau), sym.tau, 0, "+")
        return prove.equal(value, max(others) - s_pos)

    def wrong_gradient():  # softmax weight without the 1/tau factor
        loss = sym.ntxent_term(s_p, negs, sym.tau)
        z = sp.exp(s_p / sym.tau) + sum(sp.exp(s / sym.tau) for s in negs)
        return prove.equal(sp.diff(loss, negs[0]), sp.exp(negs[0] / sym.tau) / z)

    assert _fails(wrong_large)
    assert _fails(wrong_small)
    assert _fails(wrong_gradient)


def test_wrong_loss_floor_and_growth_fail():
    def wrong_floor():  # gaps capped at 1 instead of 2
        gaps = sp.symbols("delta1:4", positive=True)
        at_cap = sp.log(1 + sum(sp.exp(-g) for g in gaps)).subs({g: 2 for g in gaps})
        return prove.equal(at_cap, sp.log(1 + 3 * sp.exp(-1)))

    def wrong_threshold():
        eps, g = sp.Symbol("epsilon", positive=True), sp.Symbol("g", positive=True)
        (gstar,) = sp.solve(sp.Eq(sp.log(1 + sym.m_neg * sp.exp(-g)), eps), g)
        return prove.equal(sp.exp(gstar), sym.m_neg / sp.exp(eps))

    assert _fails(wrong_floor)
    assert _fails(wrong_threshold)


def test_wrong_dual_encoder_fails():
    g = sp.Matrix(sp.symbols("g1:4", real=True))

    def wrong():  # f2(c) = all-ones instead of one-hot
        return prove.equal(sym.dual_logits(g, sp.ones(3, 3)), g)

    assert _fails(wrong)
    assert prove.equal(sym.dual_logits(g, sp.eye(3)), g).verdict is Verdict.HOLDS


def test_wrong_hue_collision_probability_fails():
    delta, r = sp.Symbol("delta", positive=True), sp.Symbol("r", nonnegative=True)

    def wrong():  # forgetting the circle (density 1 on [0, 1])
        return prove.equal(sp.integrate(1, (r, 0, delta)), 2 * delta)

    assert _fails(wrong)


# ---------------------------------------------------------------------------
# derivation helpers
# ---------------------------------------------------------------------------
def test_counterexample_search_finds_i_and_iii_but_not_ii():
    found = sym.accuracy_counterexamples()
    assert found["counterexample"]["ii"] is None and found["satisfied"]["ii"] > 100
    for option in ("i", "iii"):
        groups = found["counterexample"][option]
        assert sym.condition(option, groups) and not sym.perfectly_accurate(groups)
        for g in groups:
            for x, y in g:
                assert x * x + y * y == 1  # exact points on the circle


def test_autoencoder_model_check_labels():
    assert {q: sym.autoencoder_label(q) for q in sym.AE_KEY} == sym.AE_KEY


def test_invariance_mapping_matches_key():
    for aug, resampled in sym.AUGMENTATIONS.items():
        assert sym.invariance_mapping(resampled) == sym.INVARIANCE_KEY[aug]
    assert sym.invariance_mapping(()) == {"shape": "sensitive", "location": "sensitive", "color": "sensitive"}


def test_mapping_rejects_non_mappings_and_unknown_keys():
    assert sym.mapping("invariant", {"shape": "invariant"}, options=["invariant"], reason="").verdict is Verdict.FAILS
    bad = {"shape": "invariant", "size": "invariant"}
    assert sym.mapping(bad, {"shape": "invariant"}, options=["invariant"], reason="").verdict is Verdict.FAILS


# ---------------------------------------------------------------------------
# the shapes study
# ---------------------------------------------------------------------------
def test_rendered_shapes_stay_inside_and_have_their_colour():
    from derivcheck.numerics import shapes

    rng = np.random.default_rng(1)
    f = shapes.sample_factors(rng, 64)
    x = shapes.render(f)
    assert x.shape == (64, 3, shapes.SIZE, shapes.SIZE) and x.min() >= 0 and x.max() <= 1
    border = np.concatenate([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], axis=-1)
    assert border.max() == 0.0  # black background all around
    hues = shapes._hue_of(x)
    err = np.minimum(np.abs(hues - f["hue"]), 1 - np.abs(hues - f["hue"]))
    assert err.max() < 1e-3


@pytest.mark.parametrize("kind", ["A", "B", "C"])
def test_augmentations_keep_exactly_the_preserved_factors(kind):
    from derivcheck.numerics import shapes

    rng = np.random.default_rng(2)
    f = shapes.sample_factors(rng, 200)
    g = shapes.augment(rng, f, kind)
    for key in f:
        same = np.array_equal(f[key], g[key])
        assert same == (key not in shapes.AUGMENTATION_FACTORS[kind]), key


def test_knn_rule_on_known_encoders():
    from derivcheck.numerics import shapes

    data = shapes.study_data()
    bins_tr, bins_q = shapes.factor_bins(data["train"]), shapes.factor_bins(data["heldout"])
    # an encoder that sees only the shape: shape sensitive, the rest invariant
    e_tr, e_q = np.eye(4)[bins_tr["shape"]], np.eye(4)[bins_q["shape"]]
    e_tr = e_tr + 1e-3 * np.random.default_rng(0).normal(size=e_tr.shape)
    kappas = shapes.knn_kappas(e_tr, data["train"], e_q, data["heldout"], cosine=False)
    labels = {k: shapes.verdict(v["kappa"])[0] for k, v in kappas.items()}
    assert labels == {"shape": "sensitive", "location": "invariant", "color": "invariant"}


def test_contrastive_loss_matches_its_definition():
    from derivcheck.numerics import shapes
    from derivcheck.numerics.torchkit import torch

    t = torch()
    gen = t.Generator().manual_seed(0)
    z = t.nn.functional.normalize(t.randn(6, 4, generator=gen, dtype=t.float64), dim=1)
    zp = t.nn.functional.normalize(t.randn(6, 4, generator=gen, dtype=t.float64), dim=1)
    tau = 0.07
    manual = np.mean([-(float(z[a] @ zp[a]) / tau - math.log(sum(math.exp(float(z[a] @ zp[b]) / tau)
                                                                    for b in range(6)))) for a in range(6)])
    assert abs(float(shapes.contrastive_loss(z, zp, tau)) - manual) < 1e-10


def test_quick_shapes_confirmations_produce_tables():
    for aug in "abc":
        confs = [c for c in REGISTRY.confirmations(f"contrastive.invariances_{aug}") if not c.slow]
        (result,) = [run_numeric(c, answer=REGISTRY.get(f"contrastive.invariances_{aug}").answer) for c in confs]
        assert result.verdict is Verdict.HOLDS
        assert result.tables and len(result.tables[0].rows) == 3


@pytest.mark.slow
def test_trained_encoders_reject_wrong_invariances(request):
    if not request.config.getoption("full", False):
        pytest.skip("long training: run with --full")
    for cid in ("contrastive.invariances_a", "contrastive.invariances_b", "contrastive.invariances_c"):
        for conf in REGISTRY.confirmations(cid):
            if conf.slow:
                for wrong in REGISTRY.get(cid).wrong_variants():
                    assert run_numeric(conf, answer=wrong, full=True).verdict is Verdict.FAILS
