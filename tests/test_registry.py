"""The registry: declaring, finding and validating claims."""
import pytest
import sympy as sp

from derivcheck import RegistryError, Verdict
from derivcheck.derivations import prove
from derivcheck.registry import Registry, stable_seed

GAN_IDS = {
    "gan_dynamics.update_matrix",
    "gan_dynamics.stationary_point",
    "gan_dynamics.eigenvalues",
    "gan_dynamics.eigenvalue_modulus",
    "gan_dynamics.norm_growth",
    "gan_dynamics.polar_form",
    "gan_dynamics.behaviour",
    "gan_dynamics.answer_set_rotation",
    "gan_dynamics.continuous_flow",
}


def test_registry_finds_gan_claims(registry):
    ids = {c.id for c in registry}
    assert GAN_IDS <= ids
    for cid in GAN_IDS:
        c = registry.get(cid)
        assert c.questions and all(q.startswith("ift6135-h22/4.") for q in c.questions)
        assert c.statement and c.module == "derivcheck.derivations.gan_dynamics"
        assert registry.confirmations(cid), f"{cid} has no numeric confirmation"


def test_every_question_of_gan_dynamics_is_answered(registry):
    answered = {q for c in registry for q in c.questions}
    assert {"ift6135-h22/4.1", "ift6135-h22/4.2", "ift6135-h22/4.3", "ift6135-h22/4.3.behaviour"} <= answered


def test_every_confirmation_names_a_claim(registry):
    registry.validate()
    for conf in registry.confirmations():
        assert conf.claim_id in registry


def _ok():
    return prove.zero(sp.Integer(0))


def test_unknown_question_is_rejected_with_a_hint():
    reg = Registry()
    with pytest.raises(RegistryError, match="unknown question ID 'ift6135-h22/4.9'"):
        reg.claim("demo.x", questions=["ift6135-h22/4.9"], statement="x")(_ok)


def test_bad_id_and_signature_are_rejected():
    reg = Registry()
    with pytest.raises(RegistryError, match="dotted"):
        reg.claim("NoDots", questions=["ift6135-h22/4.1"], statement="x")(_ok)
    with pytest.raises(RegistryError, match="one argument"):
        reg.claim("demo.x", questions=["ift6135-h22/4.1"], statement="x", answer=1)(_ok)
    with pytest.raises(RegistryError, match="answers no question"):
        reg.claim("demo.x", questions=[], statement="x")(_ok)


def test_duplicate_id_from_another_place_is_rejected():
    reg = Registry()
    reg.claim("demo.x", questions=["ift6135-h22/4.1"], statement="x")(_ok)

    def other():
        return prove.zero(sp.Integer(0))

    with pytest.raises(RegistryError, match="declared twice"):
        reg.claim("demo.x", questions=["ift6135-h22/4.1"], statement="x")(other)


def test_orphan_confirmation_is_reported_with_the_closest_id():
    reg = Registry()
    reg.claim("demo.eigenvalues", questions=["ift6135-h22/4.3"], statement="x")(_ok)
    reg.confirms("demo.eigenvalue")(lambda ctx: None)
    with pytest.raises(RegistryError, match="did you mean 'demo.eigenvalues'"):
        reg.validate()


def test_select_by_prefix_question_and_glob(registry):
    assert {c.id for c in registry.select("gan_dynamics")} >= GAN_IDS
    by_question = {c.id for c in registry.select("ift6135-h22/4.3.behaviour")}
    assert "gan_dynamics.behaviour" in by_question and "gan_dynamics.update_matrix" not in by_question
    assert {c.id for c in registry.select("gan_dynamics.eigen*")} == {
        "gan_dynamics.eigenvalues", "gan_dynamics.eigenvalue_modulus"}
    assert registry.select("no_such_topic") == []


def test_get_unknown_claim_suggests_close_ids(registry):
    with pytest.raises(KeyError, match="gan_dynamics.eigenvalues"):
        registry.get("gan_dynamics.eigenvalue")


def test_seeds_are_stable():
    assert stable_seed("gan_dynamics.norm_growth/random_vectors") == stable_seed("gan_dynamics.norm_growth/random_vectors")
    assert stable_seed("a") != stable_seed("b")


def test_refutations_are_marked(registry):
    refuted = [c for c in registry if c.expect is Verdict.FAILS]
    assert any(c.id == "gan_dynamics.answer_set_rotation" for c in refuted)
    assert all(c.note for c in refuted), "a refuted answer-set statement must say why in its note"
