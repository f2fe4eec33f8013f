"""Wrong variants of the SimSiam claims (ift6135-h22/5) must be rejected.

For every claim with an answer, a wrong answer fed through the same symbolic
check and the same numeric confirmations gives ``fails``.  For the claims that
record answer-set mistakes (``expect="fails"``) the corrected answer must hold,
so the check is shown to discriminate in both directions.  The claim without
an answer is varied through a private registry.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derivcheck import REGISTRY, Verdict, load_all
from derivcheck.registry import Registry
from derivcheck.runner import run_numeric, run_symbolic

load_all()

from derivcheck.derivations import simsiam as S  # noqa: E402
from derivcheck.numerics import simsiam as NS  # noqa: E402

W, Wp, X, Xp, F1, F2, F12, I2 = S.W, S.Wp, S.X, S.Xp, S.F1, S.F2, S.F12, S.I2
Wt = Wp - I2
HALF = sp.Rational(1, 2)

# refuted answer-set claims -> the corrected answer, which must hold
CORRECTED = {
    "simsiam.answer_set_predictor_objective": S.TRACE_FORM,
    "simsiam.answer_set_quadratic_trace_derivative": Wp * (F1 + F1.T),
    "simsiam.answer_set_predictor_dropped_term": sp.Rational(3, 2) * F12 - Wp * F1,
    "simsiam.answer_set_predictor_halving": F12.T - HALF * Wp * F1.T,
    "simsiam.answer_set_collapse_equality": "<=",
}


def test_every_claim_is_covered():
    """Each claim with an answer declares its wrong variants (rejects=[...], run by the pytest plugin
    on both sides) or is a refuted answer-set statement with a correction."""
    ids = {c.id for c in REGISTRY if c.id.startswith("simsiam.")}
    no_answer = {c.id for c in REGISTRY if c.id.startswith("simsiam.") and not c.takes_answer}
    with_rejects = {c.id for c in REGISTRY if c.id.startswith("simsiam.") and c.wrong_variants()}
    assert ids == with_rejects | set(CORRECTED) | no_answer
    assert no_answer == {"simsiam.stop_gradient_no_collapse"}
    for cid in CORRECTED:
        assert REGISTRY.get(cid).expect is Verdict.FAILS
        assert "003_6d1f8bd69ec35d2c.txt" in REGISTRY.get(cid).note


@pytest.mark.parametrize("cid", sorted(CORRECTED))
def test_answer_set_mistake_fails_and_correction_holds(cid):
    claim = REGISTRY.get(cid)
    assert run_symbolic(claim).verdict is Verdict.FAILS
    fixed = claim.variant(answer=CORRECTED[cid])
    assert run_symbolic(fixed).verdict is Verdict.HOLDS, run_symbolic(fixed).explain()
    for conf in REGISTRY.confirmations(cid):
        assert run_numeric(conf, answer=claim.answer).verdict is Verdict.FAILS
        assert run_numeric(conf, answer=CORRECTED[cid]).verdict is Verdict.HOLDS


def test_balance_without_stop_gradient_is_refuted():
    reg = Registry()
    reg.claim("simsiam.balance_without_stop_gradient", questions=["ift6135-h22/5.5"],
              statement=r"\|W\|_F^2 - \|W_p\|_F^2 \text{ conserved without stop-gradient}")(
        lambda: S.frobenius_balance_check(stop_gradient=False))
    reg.claim("simsiam.balance_with_stop_gradient", questions=["ift6135-h22/5.5"],
              statement=r"\|W\|_F^2 - \|W_p\|_F^2 \text{ conserved with stop-gradient}")(
        lambda: S.frobenius_balance_check(stop_gradient=True))
    assert run_symbolic(reg.get("simsiam.balance_without_stop_gradient")).verdict is Verdict.FAILS
    assert run_symbolic(reg.get("simsiam.balance_with_stop_gradient")).verdict is Verdict.HOLDS


def test_floor_is_crossed_without_stop_gradient():
    """The numeric floor of simsiam.stop_gradient_no_collapse holds only with the stop-gradient."""
    _, sg, nosg = NS._contrast_runs(NS.CONTRAST_SEED)
    floor = np.linalg.norm(sg.W[0]) ** 2 - np.linalg.norm(sg.P[0]) ** 2
    assert floor > 0
    assert np.min(NS._fro(sg.W) ** 2) - floor > 10 * sg.bound
    assert np.min(NS._fro(nosg.W) ** 2) < floor / 10


def test_sheet_abbreviation_tilde_w_p_is_accepted():
    """The sheet writes W~_p for W_p - I; an answer in that notation is graded like the written-out one."""
    answer = -(Wp.T * Wp + I2) * W * Xp - S.WTILDE.T * S.WTILDE * W * X
    claim = REGISTRY.get("simsiam.no_stopgrad_gradient").variant(answer=answer)
    assert run_symbolic(claim).verdict is Verdict.HOLDS
    for conf in REGISTRY.confirmations(claim.id.split("[")[0]):
        assert run_numeric(conf, answer=answer).verdict is Verdict.HOLDS


def test_answer_outside_the_notation_is_inconclusive():
    stranger = sp.MatrixSymbol("Q", S.n2, S.n2)
    result = run_symbolic(REGISTRY.get("simsiam.predictor_gradient").variant(answer=F12 - Wp * stranger))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "Q" in result.detail


def test_sympy_sum_of_traces_pitfall_is_avoided():
    """SymPy differentiates single traces but returns 0 for their sum; matrix_derivative does not."""
    n = sp.Symbol("n", integer=True, positive=True)
    A, B = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n)
    expr = sp.Trace(A * B) + sp.Trace(B * A)
    assert S.matrix_derivative(expr, A) == 2 * B.T


def test_numeric_evaluation_matches_symbolic_instantiation():
    rng = np.random.default_rng(0)
    d1, d2 = 3, 2
    values = {"W": rng.integers(-4, 5, size=(d2, d1)), "W_p": rng.integers(-4, 5, size=(d2, d2)),
              "X": rng.integers(-4, 5, size=(d1, d1)), "X'": rng.integers(-4, 5, size=(d1, d1))}
    exact = {sym: sp.Matrix(values[sym.name].tolist()) for sym in (W, Wp, X, Xp)}
    for expr in (S.NO_STOPGRAD_GRADIENT, S.NO_STOPGRAD_H, S.IDENTITY_PREDICTOR_H, S.TRACE_FORM.subs(
            {F1: W * W.T, F2: W * X * W.T, F12: Wp * W * Xp * W.T})):
        want = np.array(sp.Matrix([S.instantiate(expr, exact)]).tolist(), dtype=float)
        got = np.atleast_2d(NS.evaluate(expr, values, dims={S.n1: d1, S.n2: d2}))
        np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-12, atol=1e-9)


def test_column_stacking_vec_identity():
    """vec(A M B) = (B^T kron A) vec(M) with NumPy's Fortran-order vec, the convention of 5.3.H."""
    rng = np.random.default_rng(1)
    A, M, B = rng.normal(size=(3, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    np.testing.assert_allclose(NS.vec(A @ M @ B), np.kron(B.T, A) @ NS.vec(M), atol=1e-12)
    assert not np.allclose(NS.vec(A @ M @ B), np.kron(A, B.T) @ NS.vec(M))


def test_backprop_matches_autograd_for_stop_gradient():
    from derivcheck.numerics.torchkit import torch

    t = torch()
    rng = np.random.default_rng(2)
    data = NS.make_views(rng)
    Wn, Pn = NS.random_state(rng, 0.8, 0.8)
    Wt_, Pt_ = t.tensor(Wn, requires_grad=True), t.tensor(Pn, requires_grad=True)
    x = t.tensor(data.views)
    r = (x @ (Pt_ @ Wt_).T)[:, :, None, :] - (x @ Wt_.detach().T)[:, None, :, :]
    gW, gP = t.autograd.grad(0.5 * (r * r).sum(-1).mean(), (Wt_, Pt_))
    _, dW, dP, _ = NS.loss_grads(data, Wn, Pn)
    np.testing.assert_allclose(dW, gW.numpy(), atol=1e-12)
    np.testing.assert_allclose(dP, gP.numpy(), atol=1e-12)
