"""A check must be able to fail: wrong claims and wrong answers are rejected
by the symbolic side and by the numeric side."""
import numpy as np
import pytest
import sympy as sp

from derivcheck import NumericResult, Verdict
from derivcheck.derivations import gan_dynamics as G
from derivcheck.derivations import prove
from derivcheck.numerics import evidence
from derivcheck.registry import Registry
from derivcheck.runner import FAILED, run_numeric, run_symbolic, verify

alpha = G.alpha


def _false_registry():
    """A deliberately false claim, declared like any other: eigenvalues 1 +- alpha."""
    reg = Registry()

    @reg.claim("demo.eigenvalues_real", questions=["ift6135-h22/4.3"], statement=r"\lambda = 1 \pm \alpha",
               answer=(1 + alpha, 1 - alpha))
    def eigen(answer):
        lam = sp.Symbol("lambda")
        return prove.same_set(sp.roots(G.update_matrix().charpoly(lam).as_expr(), lam), answer)

    @reg.confirms("demo.eigenvalues_real")
    def eigen_numeric(ctx):
        ev = []
        for a in (0.1, 0.7):
            got = sorted(np.linalg.eigvals(np.array([[1, a], [-a, 1]])), key=lambda z: (z.real, z.imag))
            want = sorted((complex(e.subs(alpha, a)) for e in ctx.answer), key=lambda z: (z.real, z.imag))
            dist = max(abs(p - q) for p, q in zip(got, want))
            ev.append(evidence.roundoff(f"eigenvalue distance at alpha = {a}", dist, 0.0, n_ops=40, scale=2.0))
        return NumericResult(evidence=ev)

    return reg


def test_false_claim_fails_symbolically_and_numerically():
    reg = _false_registry()
    [outcome] = verify(registry=reg)
    assert outcome.symbolic.verdict is Verdict.FAILS
    assert outcome.symbolic.counterexample, "a failing symbolic check names a counterexample"
    assert float(outcome.symbolic.counterexample["alpha"]) > 0, "counterexamples respect alpha > 0"
    assert [r.verdict for r in outcome.numeric] == [Verdict.FAILS]
    assert outcome.status == FAILED


WRONG_ANSWERS = [
    # signs swapped: d descends and g ascends
    ("gan_dynamics.update_matrix", sp.Matrix([[1, -alpha], [alpha, 1]])),
    # forgot the identity (the gradient field instead of the step)
    ("gan_dynamics.update_matrix", sp.Matrix([[0, alpha], [-alpha, 0]])),
    # one sign slip: both off-diagonal entries positive
    ("gan_dynamics.update_matrix", sp.Matrix([[1, alpha], [alpha, 1]])),
    ("gan_dynamics.stationary_point", sp.Matrix([1, 1])),
    ("gan_dynamics.eigenvalues", (1 + alpha, 1 - alpha)),
    ("gan_dynamics.eigenvalues", (1 + sp.I * alpha, 1 + sp.I * alpha)),
    ("gan_dynamics.eigenvalues", (sp.I * alpha, -sp.I * alpha)),
    ("gan_dynamics.eigenvalue_modulus", sp.Integer(1)),
    ("gan_dynamics.eigenvalue_modulus", 1 + alpha**2),
    ("gan_dynamics.norm_growth", sp.Integer(1)),
    ("gan_dynamics.norm_growth", 1 + alpha),
    ("gan_dynamics.behaviour", "cycle"),
    ("gan_dynamics.behaviour", "converge"),
]


@pytest.mark.parametrize("claim_id, wrong", WRONG_ANSWERS, ids=[f"{c}:{w}" for c, w in WRONG_ANSWERS])
def test_wrong_answers_are_rejected_on_both_sides(registry, claim_id, wrong):
    c = registry.get(claim_id)
    variant = c.variant(answer=wrong)
    sym = run_symbolic(variant)
    assert sym.verdict is Verdict.FAILS, sym.explain()
    confs = registry.confirmations(claim_id)
    assert confs
    for conf in confs:
        res = run_numeric(conf, answer=wrong)
        assert res.verdict is Verdict.FAILS, res.explain()


def test_refuted_answer_set_statement_is_false_on_both_sides(registry):
    c = registry.get("gan_dynamics.answer_set_rotation")
    assert c.expect is Verdict.FAILS
    assert run_symbolic(c).verdict is Verdict.FAILS
    assert all(run_numeric(conf, answer=c.answer).verdict is Verdict.FAILS for conf in registry.confirmations(c.id))


def test_broken_check_is_inconclusive_not_a_crash():
    reg = Registry()

    @reg.claim("demo.broken", questions=["ift6135-h22/4.1"], statement="x")
    def broken():
        raise ZeroDivisionError("boom")

    [outcome] = verify(registry=reg)
    assert outcome.symbolic.verdict is Verdict.INCONCLUSIVE
    assert "ZeroDivisionError" in outcome.symbolic.detail
    assert not outcome.ok
