r"""The equivalence engine: non-commuting matrices, exact finite expectations, undefined values,
inequalities, equality up to a constant, symbolic confirmation and counterexamples."""
import numpy as np
import pytest

from derivcheck.grading.context import Context, Obj, Var
from derivcheck.grading.engine import Engine
from derivcheck.grading.evaluate import EvalError, Evaluator
from derivcheck.grading.questions import contexts
from derivcheck.grading.semantics import resolve_text
from derivcheck.model import Verdict

MATS = Context(
    "t-mats",
    objects=[Obj("A", "matrix", shape=("m", "n")), Obj("B", "matrix", shape=("k", "l")),
             Obj("Y", "matrix", shape=("n", "k")), Obj("S", "matrix", shape=("n", "n"), structure="spd"),
             Obj("T", "matrix", shape=("n", "n"))],
    dims={"m": (2, 4), "n": (2, 4), "k": (2, 4), "l": (2, 4)},
)
SCAL = Context("t-scal", objects=[Obj("a", "scalar", domain="unit"), Obj("r", "scalar", domain="real"),
                                  Obj("c", "scalar", domain="positive")])


def judge(ctx, lhs, rel, rhs, **kw):
    return Engine(ctx).judge(resolve_text(lhs, ctx), rel, resolve_text(rhs, ctx), **kw)


def test_matrices_do_not_commute():
    j = judge(MATS, r"S T", "=", r"T S")
    assert j.verdict is Verdict.FAILS
    assert j.counterexample and "answer" in j.counterexample and "reference" in j.counterexample


def test_vec_identity_and_kronecker_order():
    lhs = r"\mathrm{vec}(A Y B)"
    assert judge(MATS, lhs, "=", r"(B^\top \otimes A)\mathrm{vec}(Y)").verdict is Verdict.HOLDS
    assert judge(MATS, lhs, "=", r"(A \otimes B^\top)\mathrm{vec}(Y)").verdict is Verdict.FAILS


def test_transpose_of_a_product_reverses_it():
    assert judge(MATS, r"(A Y)^\top", "=", r"Y^\top A^\top").verdict is Verdict.HOLDS
    assert judge(MATS, r"(A Y)^\top", "=", r"A^\top Y^\top").verdict is Verdict.FAILS


def test_symbolic_confirmation_is_reported():
    j = judge(MATS, r"S^\top T + T", "=", r"(S + I)T")
    assert j.verdict is Verdict.HOLDS and j.symbolic is True and "SymPy" in j.method
    j = judge(SCAL, r"(c + 1)^2", "=", r"c^2 + 2c + 1")
    assert j.verdict is Verdict.HOLDS and j.symbolic is True


def test_one_sided_undefined_is_a_mismatch():
    j = judge(SCAL, r"\frac{a - a}{a - a}", "=", r"1")
    assert j.verdict is Verdict.FAILS and "undefined" in j.method


def test_log_of_square_is_not_twice_the_log_on_the_reals():
    """The pitfall of dropping points where one side is undefined: complex arithmetic keeps them."""
    assert judge(SCAL, r"\log(r^2)", "=", r"2\log r").verdict is Verdict.FAILS
    assert judge(SCAL, r"\log(c^2)", "=", r"2\log c").verdict is Verdict.HOLDS


def test_exact_difference_below_float_tolerance_is_caught_symbolically():
    j = judge(SCAL, r"c + 10^{-14} c", "=", r"c")
    assert j.verdict is Verdict.FAILS and j.symbolic is False


def test_expectations_are_exact_finite_sums():
    vae = contexts()["vae"]
    cases = [
        (r"\int p(x,z)\,dz", r"p(x)"),
        (r"\mathbb{E}_{q_\phi(z|x)}[1]", "1"),
        (r"\sum_z p(z|x)", "1"),
        (r"D_{KL}(q_\phi(z|x)\|q_\phi(z|x))", "0"),
        (r"p(x|z) p(z)", r"p(x, z)"),
        (r"\mathbb{E}_{q(z|x)}\left[\frac{p(x,z)}{q(z|x)}\right]", r"p(x)"),
    ]
    for lhs, rhs in cases:
        assert judge(vae, lhs, "=", rhs).verdict is Verdict.HOLDS, lhs


def test_inequalities_on_instances():
    vae = contexts()["vae"]
    jensen = (r"\log \mathbb{E}_{q(z|x)}\left[\frac{p(x,z)}{q(z|x)}\right]",
              r"\mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right]")
    assert judge(vae, jensen[0], r">=", jensen[1]).verdict is Verdict.HOLDS
    assert judge(vae, jensen[0], r"<=", jensen[1]).verdict is Verdict.FAILS
    gan = contexts()["gan-theory"]
    assert judge(gan, r"JSD(p_0, p_1)", "<=", r"\log 2").verdict is Verdict.HOLDS
    assert judge(gan, r"KL(p_0 \| p_1)", ">=", "0").verdict is Verdict.HOLDS


def test_equal_up_to_a_constant():
    vae = contexts()["vae"]
    elbo = r"\mathbb{E}_{q_\phi(z|x)}[\log p(x,z) - \log q_\phi(z|x)]"
    ecll = r"\mathbb{E}_{q_\phi(z|x)}[\log p(x,z)]"
    eng = Engine(vae)
    a, b = resolve_text(ecll, vae), resolve_text(elbo, vae)
    assert eng.judge(a, "=", b).verdict is Verdict.FAILS
    # the difference is the entropy of q: constant in the model p, not in q
    assert eng.judge(a, "=", b, up_to_constant_in=("p",)).verdict is Verdict.HOLDS
    assert eng.judge(a, "=", b, up_to_constant_in=("q_phi",)).verdict is Verdict.FAILS


def test_identity_takes_its_size_from_context():
    sim = contexts()["simsiam"]
    assert judge(sim, r"\tilde{W}_p + I", "=", r"W_p").verdict is Verdict.HOLDS
    assert judge(sim, r"I", "=", r"I_{n_2}").verdict is Verdict.HOLDS


def test_shape_errors_are_reported():
    sim = contexts()["simsiam"]
    inst = sim.sample(np.random.default_rng(0))
    with pytest.raises(EvalError) as info:
        Evaluator(inst).value(resolve_text(r"W W_p", sim))
    assert "cannot multiply" in str(info.value)
    j = judge(sim, r"X W", "=", r"W X")
    assert j.verdict is Verdict.FAILS and j.method == "the answer has no value"


def test_multisets():
    gan = contexts()["gan-dynamics"]
    eng = Engine(gan)
    items = [resolve_text(t, gan) for t in (r"1 + i\alpha", r"1 - i\alpha")]
    assert eng.same_multiset(list(reversed(items)), items).verdict is Verdict.HOLDS
    assert eng.same_multiset([items[0], items[0]], items).verdict is Verdict.FAILS
    assert eng.same_multiset(items[:1], items).verdict is Verdict.FAILS


def test_instances_respect_domains():
    ctx = Context("t-dom", variables=[Var("x")],
                  objects=[Obj("u", "vector", shape=("d",), structure="unit"), Obj("f", "density", over=("x",)),
                           Obj("P", "matrix", shape=("d", "d"), structure="spd"), Obj("s", "scalar", domain="unit")],
                  dims={"d": (2, 5)})
    rng = np.random.default_rng(3)
    for _ in range(20):
        inst = ctx.sample(rng)
        u = inst.values["u"].arr.reshape(-1)
        assert abs(np.linalg.norm(u) - 1) < 1e-12
        f = inst.values["f"].arr.real
        assert np.all(f > 0) and abs(f.sum() - 1) < 1e-12
        P = inst.values["P"].arr.reshape(inst.dims["d"], inst.dims["d"]).real
        assert np.all(np.linalg.eigvalsh(P) > 0)
        assert 0 < inst.values["s"].arr.real.item() < 1


def test_deadline_stops_a_long_sum():
    from derivcheck.limits import CheckTimeout

    ctx = contexts()["gan-dynamics"]
    inst = ctx.sample(np.random.default_rng(0))
    import time

    with pytest.raises(CheckTimeout):
        Evaluator(inst, deadline=time.perf_counter() + 0.05).value(
            resolve_text(r"\sum_{j=1}^{900000} \frac{\alpha}{j}", ctx))
