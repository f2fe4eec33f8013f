"""Every option key is derived: for each choice / choices / mapping claim, editing the key to any
other option (every other label, every other subset of one label more or less, every other value
of one mapping entry) is rejected by the symbolic check and by every quick numeric confirmation."""
from __future__ import annotations

import pytest

from derivcheck import REGISTRY, Verdict, catalogue, load_all
from derivcheck.derivations import prove
from derivcheck.runner import run_numeric, run_symbolic

load_all()

OPTION_KINDS = ("choice", "choices", "mapping")


def _option_claims():
    out = []
    for c in REGISTRY:
        if c.answer is None or c.expect is not Verdict.HOLDS:
            continue
        for qid in c.questions:
            q = catalogue.question(qid)
            if q.kind in OPTION_KINDS and q.spec.get("options"):
                out.append((c.id, qid))
                break
    return out


def _edits(answer, spec):
    """Every other key a one-step edit can make."""
    options = [str(o) for o in spec["options"]]
    if spec["kind"] == "choice" and isinstance(answer, str):
        return [o for o in options if o != answer.lower()]
    if spec["kind"] == "choices":
        given = {str(a).lower() for a in ([answer] if isinstance(answer, str) else answer)}
        return [sorted(given ^ {o}) for o in options if given ^ {o}]
    if spec["kind"] == "mapping" and isinstance(answer, dict):
        return [{**answer, k: o} for k in answer for o in options if o != answer[k]]
    return []


CLAIMS = _option_claims()
#: the four claims whose keys used to be set by hand: the numeric side is run for every edit
NUMERIC = {"vae.answer_3_1", "vae.answer_3_3", "gan_theory.mc_4_1", "gan_theory.mc_4_3"}


def test_the_option_claims_are_found():
    ids = {cid for cid, _ in CLAIMS}
    assert NUMERIC <= ids
    assert len(ids) >= 10


@pytest.mark.parametrize("claim_id, qid", CLAIMS, ids=[c for c, _ in CLAIMS])
def test_every_edited_key_is_rejected_symbolically(claim_id, qid):
    c = REGISTRY.get(claim_id)
    edits = _edits(c.answer, catalogue.question(qid).spec)
    if not edits:
        pytest.skip(f"{claim_id}: answer {c.answer!r} is not a plain option key")
    assert run_symbolic(c).verdict is Verdict.HOLDS
    for wrong in edits:
        res = run_symbolic(c.variant(answer=wrong))
        assert res.verdict is Verdict.FAILS, f"{claim_id} accepted the edited key {wrong!r}:\n{res.explain()}"


@pytest.mark.parametrize("claim_id", sorted(NUMERIC))
def test_every_edited_key_is_rejected_numerically(claim_id, request):
    c = REGISTRY.get(claim_id)
    qid = next(q for cid, q in CLAIMS if cid == claim_id)
    confs = [k for k in REGISTRY.confirmations(claim_id) if request.config.getoption("full", False) or not k.slow]
    assert confs, f"{claim_id} has no quick numeric confirmation"
    for wrong in _edits(c.answer, catalogue.question(qid).spec):
        for conf in confs:
            res = run_numeric(conf, answer=wrong)
            assert res.verdict is Verdict.FAILS, f"{conf.qualname} accepted {wrong!r}:\n{res.explain()}"


def test_option_truths_come_from_each_statement():
    """The key follows the statements' checks: flipping one statement's check moves the key."""
    def true_():
        return prove.holds_if(True, "true")

    def false_():
        return prove.holds_if(False, "false")

    statements = {"a": ("s_a", false_), "b": ("s_b", true_), "c": ("s_c", false_)}
    assert prove.option_answer("b", statements, select="true", options="abc").verdict is Verdict.HOLDS
    assert prove.option_answer("a", statements, select="true", options="abc").verdict is Verdict.FAILS
    statements["a"] = ("s_a", true_)  # now two true statements: no unique key, never a silent pick
    assert prove.option_answer("b", statements, select="true", options="abc").verdict is Verdict.INCONCLUSIVE
    statements["a"] = ("s_a", lambda: prove.holds_if(None, "undecided"))
    assert prove.option_answer("b", statements, select="true", options="abc").verdict is Verdict.INCONCLUSIVE
    assert prove.option_answer(["a", "b"], {"a": ("", true_), "b": ("", true_), "c": ("", false_)},
                               select="all-true", options="abc").verdict is Verdict.HOLDS


def test_an_undecided_measurement_never_marks_an_option_true():
    """numerics/vae.py used all() on Optional[bool]: an inconclusive check made an option true."""
    from derivcheck.model import Evidence
    from derivcheck.numerics import evidence

    def ev(v):
        return Evidence("q", 0.0, 0.0, "==", 0.0, "x", 0.0, "r", 1, None, v)

    assert evidence.statement_holds([ev(Verdict.HOLDS), ev(Verdict.INCONCLUSIVE)]) is None
    assert evidence.statement_refuted_by([ev(Verdict.HOLDS), ev(Verdict.INCONCLUSIVE)]) is None
    assert evidence.statement_refuted_by([ev(Verdict.HOLDS)]) is False
    assert evidence.statement_refuted_by([ev(Verdict.FAILS), ev(Verdict.INCONCLUSIVE)]) is True
    measured = {"a": evidence.statement_refuted_by([ev(Verdict.INCONCLUSIVE)]), "b": True}
    key = evidence.option_key_evidence("b", measured, select="true", options="ab")
    assert key.verdict is Verdict.INCONCLUSIVE and "undecided" in key.detail
