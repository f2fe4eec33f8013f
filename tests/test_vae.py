"""VAE claims: every claim rejects a wrong variant on the symbolic and on the numeric side,
the refuted answer-set statements are false on both sides, and the helpers (notation
instances, numeric evaluator, IDX reader) behave."""
import gzip
import re
import struct

import numpy as np
import pytest
import sympy as sp

from derivcheck import NumericResult, Verdict
from derivcheck.derivations import vae as V
from derivcheck.numerics import vae as N
from derivcheck.numerics import vae_training as T
from derivcheck.registry import Registry
from derivcheck.runner import FAILED, VERIFIED, run_numeric, run_symbolic, verify

mu, sigma, eps = V.mu, V.sigma, V.epsilon

# Claims with an answer: their wrong variants live on the claim (rejects=[...]) and the pytest
# plugin runs them on both sides (derivations/vae.py::<id>[rejects:i], numerics/vae.py::...).
EQUIVALENT_ANSWERS = [
    ("vae.elbo_decomposition", V.ELBO_FORMS[0]),
    ("vae.elbo_decomposition", sp.log(V.P_X) - V.KL(V.Q, V.P_Z_GIVEN_X)),
    ("vae.reparameterization", mu - sigma * eps),  # eps and -eps have the same law
    ("vae.answer_3_3", ["D", "b", "A"]),
]


@pytest.mark.parametrize("claim_id, answer", EQUIVALENT_ANSWERS,
                         ids=[f"{c}:{i}" for i, (c, _) in enumerate(EQUIVALENT_ANSWERS)])
def test_equivalent_answers_are_accepted(registry, claim_id, answer):
    c = registry.get(claim_id)
    assert run_symbolic(c.variant(answer=answer)).verdict is Verdict.HOLDS
    for conf in registry.confirmations(claim_id):
        assert run_numeric(conf, answer=answer).verdict is Verdict.HOLDS


# --------------------------------------------------------------------------
# Claims without an answer: the wrong statement, declared in a private registry
# --------------------------------------------------------------------------
def _outcome(symbolic, numeric):
    reg = Registry()
    reg.claim("demo.wrong", questions=["ift6135-a23/3.4b"], statement="a wrong variant")(symbolic)
    reg.confirms("demo.wrong")(numeric)
    [outcome] = verify(registry=reg)
    return outcome


WRONG_STATEMENTS = {
    # ELBO >= log p(x)
    "vae.jensen_bound": (lambda: V.jensen_gap_proof("<="),
                         lambda ctx: NumericResult(evidence=N.jensen_evidence(ctx.rng, ctx.seed, relation=">="))),
    # L_k >= log p(x)
    "vae.iwae_lower_bound": (lambda: V.iwae_upper_proof("<="),
                             lambda ctx: NumericResult(evidence=N.iwae_bound_evidence(N.IW_SEED, relation=">=")[0])),
    # L_2 <= L_1 (and L_{k+1} <= L_k)
    "vae.iwae_monotone": (lambda: V.iwae_monotone_proof("<="),
                          lambda ctx: NumericResult(evidence=N.iwae_order_evidence(N.IW_SEED, relation="<="))),
    # L_k = log p(x) already for finite k
    "vae.iwae_convergence": (lambda: V.iwae_upper_proof("==", ks=(2,)),
                             lambda ctx: NumericResult(evidence=N.iwae_gap_evidence(N.IW_SEED, bound_scale=0.0)[0])),
    # ECLL - (log p - KL) = +H(q)
    "vae.ecll_decomposition": (lambda: V.ecll_gap_proof(V.Entropy(V.Q)),
                               lambda ctx: NumericResult(evidence=N.ecll_evidence(ctx.rng, ctx.seed, offset="zero")[0])),
    # d/dsigma E[f(mu + sigma eps)] = E[f'(z)] (the eps factor forgotten)
    "vae.reparam_gradient": (lambda: V.pathwise_gradient_proof(sp.Integer(1)),
                             lambda ctx: NumericResult(evidence=N.gradient_evidence(ctx.seed, sigma_weight="one")[0])),
    # the trained model's ELBO exceeds L_k
    "vae.digits_training": (lambda: V.order(V.weight_model().L(2) - V.weight_model().L(1), "<=",
                                            certificate=_l2_l1_certificate(), what="L_2 - L_1"),
                            lambda ctx: NumericResult(evidence=N.training_evidence(
                                N.trained(N.QUICK_EPOCHS, 7), ctx.seed, k=100, n_samples=2, iwae_relation="<=")[0])),
}


def _l2_l1_certificate():
    wm = V.weight_model()
    cert = 0
    for pr, tup in wm.tuples(2):
        A = wm.mean_weight(tup)
        cert += pr * (V.Gibbs(wm.w[tup[0]] / A) + V.Gibbs(wm.w[tup[1]] / A)) / 2
    return cert


@pytest.mark.parametrize("claim_id", sorted(WRONG_STATEMENTS))
def test_wrong_statements_fail_on_both_sides(registry, claim_id):
    assert run_symbolic(registry.get(claim_id)).verdict is Verdict.HOLDS  # the right statement holds
    symbolic, numeric = WRONG_STATEMENTS[claim_id]
    outcome = _outcome(symbolic, numeric)
    assert outcome.symbolic.verdict is Verdict.FAILS, outcome.symbolic.explain()
    assert [r.verdict for r in outcome.numeric] == [Verdict.FAILS], outcome.numeric[0].explain()
    assert outcome.status == FAILED


def test_every_vae_claim_has_a_wrong_variant_test(registry):
    ids = {c.id for c in registry if c.topic == "vae"}
    covered = {c.id for c in registry if c.topic == "vae" and c.wrong_variants()} | set(WRONG_STATEMENTS) | set(REFUTED)
    assert ids == covered, ids ^ covered


# --------------------------------------------------------------------------
# Statements from the answer sets: false on both sides, with a counterexample
# --------------------------------------------------------------------------
REFUTED = {
    "vae.answer_set_elbo_sign": V.ELBO,
    "vae.answer_set_ecll_literal": None,
    "vae.answer_set_iwae_subset_identity": None,
}


@pytest.mark.parametrize("claim_id", sorted(REFUTED))
def test_refuted_answer_set_statements(registry, claim_id):
    c = registry.get(claim_id)
    assert c.expect is Verdict.FAILS and re.search(r"\d{3}_[0-9a-f]{16}\.txt", c.note), "the note cites the sheet"
    sym = run_symbolic(c)
    assert sym.verdict is Verdict.FAILS
    assert sym.counterexample, "a refutation names an exact counterexample"
    for conf in registry.confirmations(claim_id):
        assert run_numeric(conf, answer=c.answer).verdict is Verdict.FAILS
    [outcome] = verify([c], registry=registry)
    assert outcome.status == VERIFIED
    if REFUTED[claim_id] is not None:  # the corrected statement holds
        assert run_symbolic(c.variant(answer=REFUTED[claim_id])).verdict is Verdict.HOLDS


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def test_finite_instance_rejects_free_latent_and_evaluates_expectations():
    fm = V.finite_model(2)
    with pytest.raises(V.FreeLatentError):
        V.on_finite(sp.log(V.P_XZ), fm)
    # E_q[p(x, z) / q] = p(x) exactly
    assert V.same(V.on_finite(V.Expect(V.P_XZ / V.Q, V.Q), fm), fm.marginal, what="E_q[w] - p").verdict is Verdict.HOLDS
    # a KL with itself is zero, the entropy of q is positive at a point
    assert sp.simplify(V.on_finite(V.KL(V.Q, V.Q), fm)) == 0


def test_gaussian_model_is_derived_correctly():
    gm = V.gaussian_model()
    assert sp.simplify(gm.post_var - gm.s**2 / (gm.a**2 + gm.s**2)) == 0
    assert sp.simplify(gm.post_mean - gm.a * (V.x - gm.b) / (gm.a**2 + gm.s**2)) == 0
    assert sp.simplify(gm.marginal - V.normal_pdf(V.x, gm.b, gm.a**2 + gm.s**2)) == 0
    t, mgf = V.standard_normal_mgf()
    assert sp.simplify(mgf - sp.exp(t**2 / 2)) == 0


def test_gibbs_lemma_and_certificates():
    assert V.gibbs_lemma().verdict is Verdict.HOLDS
    t = sp.Symbol("t", positive=True)
    # a wrong certificate (missing term) is caught by the identity
    bad = V.certify_nonnegative(V.gibbs(t) + (t - 1) ** 2, V.Gibbs(t), what="g + square")
    assert bad.verdict is Verdict.FAILS


def test_notation_value_matches_closed_forms():
    S = N.SETTINGS[0]
    rng = np.random.default_rng(0)
    zs = S.sample_q(rng, 200_000)
    kl = N.notation_value(V.KL(V.Q, V.P_Z_GIVEN_X), S, zs)
    assert abs(kl.samples.mean() - S.kl_q_post) < 6 * kl.samples.std() / np.sqrt(zs.size)
    ent = N.notation_value(V.Entropy(V.P_Z), S, zs)  # not under q: quadrature
    assert ent.samples is None and abs(ent.const - 0.5 * np.log(2 * np.pi * np.e)) < 1e-8
    assert N.notation_value(sp.log(V.P_X), S, zs).const == pytest.approx(S.log_marginal)


def test_np_eval_refuses_unknown_objects():
    with pytest.raises(N.NotationError):
        N.np_eval(sp.Function("f")(mu), {mu: 1.0})
    assert N.np_eval(mu + sigma * eps, {mu: 1.0, sigma: 2.0, eps: 0.5}) == pytest.approx(2.0)


def _write_idx(path, array, code=0x08, compress=False):
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(">u1" if code == 0x08 else array.dtype).tobytes()
    (gzip.open if compress else open)(path, "wb").write(data)


def test_idx_reader_and_mnist_loading(tmp_path):
    rng = np.random.default_rng(1)
    tr = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    te = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", tr, compress=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", rng.integers(0, 10, 30, dtype=np.uint8))
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", te)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 12, dtype=np.uint8), compress=True)
    assert np.array_equal(T.read_idx(tmp_path / "train-images-idx3-ubyte.gz"), tr)
    data = T.load_data(3, mnist=str(tmp_path), sizes=(20, 10))
    assert data.x_train.shape == (20, 784) and data.x_test.shape == (10, 784) and data.shape == (28, 28)
    assert set(np.unique(data.x_test_bin)) <= {0.0, 1.0}
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError):
        T.read_idx(tmp_path / "bad")


def test_digits_data_is_the_bundled_set():
    data = T.load_data(0, mnist="")
    assert data.shape == (8, 8) and len(data.x_train) + len(data.x_test) == 1797
    assert "load_digits" in data.source
