"""Known-slip diagnosis (grading/slips.py): answer-set slips and structural slips, never the key."""
import pytest

from derivcheck import grading
from derivcheck.grading import slips
from derivcheck.grading.answers import engine
from derivcheck.grading.questions import contexts, question
from derivcheck.grading.semantics import resolve_text
from derivcheck.model import Verdict
from derivcheck.registry import REGISTRY, load_all


SHEETS = ("mit-hw4/", "vae-simclr/", "ift6135-a23/", "ift6135-h22/")


def _refuted():
    """The refuted answer-set statements of the four sheets (other assignments loaded with --questions
    may add refuted claims of their own)."""
    load_all(REGISTRY)
    return [c for c in REGISTRY if c.expect is Verdict.FAILS and any(q.startswith(SHEETS) for q in c.questions)]


def test_every_refuted_claim_has_a_student_safe_hint_and_statements_are_refuted_claims():
    ids = {c.id for c in _refuted()}
    assert ids and set(slips.HINTS) == ids
    assert set(slips.STATEMENTS) <= ids


UNREADABLE = {"vae.answer_set_iwae_subset_identity": "z_1, z_2 as separate draws need the IWAE notation"}


@pytest.mark.parametrize("claim_id", sorted(slips.STATEMENTS))
def test_each_restated_statement_is_false_where_it_can_be_read(claim_id):
    """The restatement must assert a false identity (it is checked, not trusted): some context reads it,
    and the engine rejects it there."""
    verdicts = {}
    for name in contexts():
        st = slips._read_statement(claim_id, name, contexts()[name])
        if st is not None:
            verdicts[name] = engine(name).judge(st[0], st[1], st[2], symbolic=False).verdict
    if claim_id in UNREADABLE and not verdicts:
        pytest.skip(UNREADABLE[claim_id])
    assert Verdict.FAILS in verdicts.values(), verdicts


@pytest.mark.parametrize("claim_id, qid", [("contrastive.answer_set_distance_general", "mit-hw4/3.general"),
                                           ("simsiam.answer_set_predictor_halving", "ift6135-h22/5.2")])
def test_restated_statement_matches_the_claims_own_answer(claim_id, qid):
    q = question(qid)
    st = slips._read_statement(claim_id, q.spec.context, q.context)
    ref = slips._claim_expr(claim_id, qid)
    assert ref is not None and engine(q.spec.context).judge(st[2], "=", ref).verdict is Verdict.HOLDS


# -- answer-set slips on labels and expressions ---------------------------------------------------
@pytest.mark.parametrize("qid, answer, claim", [
    ("ift6135-a23/4.1", "c", "gan_theory.answer_set_4_1"),
    ("ift6135-a23/4.3", "(d)", "gan_theory.answer_set_4_3"),
    ("ift6135-h22/4.3.behaviour", "cycle", "gan_dynamics.answer_set_rotation"),
    ("ift6135-a23/2.2", {"scenario1": "forward", "scenario2": "reverse"}, "flows.answer_set_swapped_scenarios"),
    ("mit-hw4/3.general", r"\|u - v\|_2 = \sqrt{2 - 2u^\top v}", "contrastive.answer_set_distance_general"),
])
def test_answer_set_slips_are_named_with_the_hint_and_the_note_for_staff(qid, answer, claim):
    r = grading.check(qid, answer)
    assert r.verdict == "incorrect" and slips.HINTS[claim] in r.message
    assert r.staff["slip"]["claim"] == claim and r.staff["slip"]["note"]
    student = r.to_dict("student")
    assert "staff" not in student and r.staff["slip"]["note"] not in str(student)


@pytest.mark.parametrize("qid, answer", [
    ("ift6135-a23/4.1", "a"), ("ift6135-h22/4.3.behaviour", "converge"),
    ("mit-hw4/3.general", r"\sqrt{\|u\|^2 + \|v\|^2 + 2u^\top v}"),
])
def test_other_wrong_answers_get_no_answer_set_slip(qid, answer):
    r = grading.check(qid, answer)
    assert r.verdict == "incorrect" and "slip" not in r.staff


def test_a_right_answer_is_never_matched_to_a_refuted_statement():
    # simsiam.answer_set_predictor_dropped_term's answer equals the key (F_12 is symmetric): no slip
    r = grading.check("ift6135-h22/5.2", r"F_{12}^\top - W_p F_1")
    assert r.verdict == "correct" and "slip" not in r.staff


# -- structural slips ----------------------------------------------------------------------------------
@pytest.mark.parametrize("qid, answer, kind", [
    ("ift6135-h22/5.2", r"F_{12} - F_1 W_p", "swapped-factors"),
    ("ift6135-h22/5.2", r"F_{12} - W_p^\top F_1", "extra-transpose"),
    ("ift6135-h22/5.3", r"-(W_p W_p + I) W X' - \tilde{W}_p^\top \tilde{W}_p W X", "missing-transpose"),
    ("ift6135-h22/5.3", r"-(W_p^\top W_p + I) X' W - \tilde{W}_p^\top \tilde{W}_p W X", "swapped-factors"),
    ("ift6135-h22/5.4", r"2 I \otimes X'", "swapped-factors"),
    ("ift6135-h22/5.3.H", r"(W_p^\top W_p + I) \otimes X' + (\tilde{W}_p^\top \tilde{W}_p) \otimes X",
     "swapped-factors"),
    ("vae-simclr/1a.elbo", r"\log p(x) - D_{KL}(p(z|x) \| q_\phi(z|x))", "kl-direction"),
])
def test_structural_slips(qid, answer, kind):
    r = grading.check(qid, answer)
    assert r.verdict == "incorrect" and r.details["slip"] == kind, r.message
    assert dict(slips._STRUCTURAL)[kind] in r.message


def test_the_slip_message_does_not_show_the_key():
    r = grading.check("ift6135-h22/5.2", r"F_{12} - F_1 W_p")
    slip = r.staff["slip"]["message"]
    assert "W_p F_1" not in slip and "W_p" not in slip


# -- relations: the step checker's entry point -----------------------------------------------------------
def _rel(ctx_name, lhs, rhs):
    ctx = contexts()[ctx_name]
    return resolve_text(lhs, ctx, trusted=True), resolve_text(rhs, ctx, trusted=True), ctx, engine(ctx_name)


def test_step_matching_a_refuted_statement_rearranged():
    left, right, ctx, eng = _rel("vae", r"\log p(x) - D_{KL}(q(z|x) \| p(z|x))",
                                 r"\mathbb{E}_{q(z|x)}\left[\log q(z|x) + \log p(x,z)\right]")
    msg = slips.diagnose_step("ift6135-a23/3.2a", left, "=", right, ctx, eng)
    assert slips.HINTS["vae.answer_set_elbo_sign"] in msg


def test_reversed_inequality():
    left, right, ctx, eng = _rel("vae", r"\log \mathbb{E}_{q(z|x)}\left[\frac{p(x,z)}{q(z|x)}\right]",
                                 r"\mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right]")
    assert slips.diagnose_step("ift6135-a23/3.2b", left, "<=", right, ctx, eng) == "the inequality points the wrong way"
    assert slips.diagnose_step("ift6135-a23/3.2b", left, ">=", right, ctx, eng) == ""


def test_step_with_swapped_factors():
    left, right, ctx, eng = _rel("simsiam", r"\operatorname{tr}(W_p F_{12})", r"2\operatorname{tr}(W_p F_{12})")
    assert slips.diagnose_step("ift6135-h22/5.1", left, "=", right, ctx, eng) == ""  # a factor 2: no known slip
    left, right, ctx, eng = _rel("simsiam", r"W_p F_{1} W_p^\top", r"W_p^\top F_1 W_p")
    assert "wrong order" in slips.diagnose_step("ift6135-h22/5.1", left, "=", right, ctx, eng)


def test_diagnosis_never_raises():
    assert slips.diagnose("no-such/1", "x", None) is None
    assert slips.diagnose_step("ift6135-a23/3.2a", None, "=", None, None, None) == ""


def test_the_step_checker_reports_the_slip_of_a_failing_step():
    steps = [r"\mathcal{L} = \mathbb{E}_{q(z|x)}[\log p(x,z) - \log q(z|x)]",
             r"= \log p(x) - D_{KL}(p(z|x) \| q(z|x))"]
    r = grading.check("ift6135-a23/3.2a", steps)
    assert r.verdict == "incorrect" and r.first_wrong_step == 1
    assert "forward vs reverse KL" in r.message
