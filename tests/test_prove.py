"""The symbolic building blocks are three-valued and give counterexamples."""
import sympy as sp

from derivcheck import Verdict
from derivcheck.derivations import prove

x = sp.Symbol("x", positive=True)
y = sp.Symbol("y", real=True)
n = sp.Symbol("n", integer=True, positive=True)


def test_zero_holds_for_identities():
    assert prove.zero(sp.sin(y) ** 2 + sp.cos(y) ** 2 - 1).verdict is Verdict.HOLDS
    assert prove.equal(sp.log(x * 2), sp.log(x) + sp.log(2)).verdict is Verdict.HOLDS


def test_zero_fails_with_counterexample_inside_assumptions():
    r = prove.equal(sp.sqrt(x**2), -x)
    assert r.verdict is Verdict.FAILS
    assert float(sp.Rational(r.counterexample["x"])) > 0
    assert r.residual


def test_assumptions_matter():
    # sqrt(y^2) = y is false for real y (take y < 0) but true for positive x
    assert prove.equal(sp.sqrt(y**2), y).verdict is Verdict.FAILS
    assert prove.equal(sp.sqrt(x**2), x).verdict is Verdict.HOLDS


def test_integer_symbols_get_integer_counterexamples():
    r = prove.equal(n * (n + 1) / 2, n)
    assert r.verdict is Verdict.FAILS
    assert int(r.counterexample["n"]) >= 2  # n = 1 satisfies it: the probe must move on


def test_matrices_do_not_commute_and_shapes_are_checked():
    a, b, c, d = sp.symbols("a b c d", real=True)
    A = sp.Matrix([[a, b], [c, d]])
    B = sp.Matrix([[d, c], [b, a]])
    assert prove.equal(A * B, B * A).verdict is Verdict.FAILS
    assert prove.equal(A * B, (B.T * A.T).T).verdict is Verdict.HOLDS
    r = prove.equal(A, sp.Matrix([a, b]))
    assert r.verdict is Verdict.FAILS and r.method == "shape mismatch"


def test_same_set_is_a_multiset_comparison():
    a = sp.Symbol("a", positive=True)
    assert prove.same_set({1 + sp.I * a: 1, 1 - sp.I * a: 1}, (1 - sp.I * a, 1 + sp.I * a)).verdict is Verdict.HOLDS
    assert prove.same_set([1, 1], [1]).verdict is Verdict.FAILS
    r = prove.same_set([1 + sp.I * a, 1 - sp.I * a], [1 + a, 1 - a])
    assert r.verdict is Verdict.FAILS and r.counterexample


def test_true_decides_relations_under_assumptions():
    assert prove.true(sp.sqrt(1 + x**2) > 1).verdict is Verdict.HOLDS
    assert prove.true(sp.sqrt(1 + x**2) < 1).verdict is Verdict.FAILS
    assert prove.true(y > 0).verdict is Verdict.INCONCLUSIVE


def test_choice_and_all_of():
    assert prove.choice("Diverge ", "diverge", reason="r").verdict is Verdict.HOLDS
    bad = prove.choice("cycle", "diverge", reason="r")
    assert bad.verdict is Verdict.FAILS and "derived 'diverge'" in bad.residual
    assert prove.choice("spiral", "diverge", reason="r", options=["cycle", "diverge"]).verdict is Verdict.FAILS
    combined = prove.all_of(prove.zero(sp.Integer(0)), bad, labels=["ok", "behaviour"])
    assert combined.verdict is Verdict.FAILS and combined.residual.startswith("behaviour:")


def test_text_is_never_parsed():
    import pytest

    with pytest.raises(TypeError):
        prove.zero("__import__('os').system('true')")
