r"""The step checker (grading/steps.py) on every derivation question.

For each question: a correct derivation, one with a wrong middle step (the index of the first wrong
step is asserted), a reversed inequality where the question has one, one that stops short
(``partial``), and one written in a different but valid order.  Plus the machinery: chains, continuations,
unreadable steps and labels, "= const +" allowed only where the question says so, the audience rule.
"""
import pytest

from derivcheck.grading import api
from derivcheck.grading.steps import split_relations, split_steps


def check(qid, steps):
    return api.check(qid, steps, time_limit_s=30)


def assert_correct(qid, steps):
    r = check(qid, steps)
    assert r.verdict == "correct", (r.message, [s["message"] for s in r.details.get("steps", [])])
    assert r.score == r.max_score
    assert all(s["verdict"] == "holds" for s in r.details["steps"] if s["relation"])
    return r


def assert_wrong_at(qid, steps, index):
    r = check(qid, steps)
    assert r.verdict == "incorrect", (r.message, [s["message"] for s in r.details.get("steps", [])])
    assert r.first_wrong_step == index, r.message
    bad = r.details["steps"][index]
    assert bad["verdict"] == "fails"
    assert bad["counterexample"] is not None and bad["counterexample"]["lhs"] is not None
    assert r.score == 0
    return r


def assert_partial(qid, steps):
    r = check(qid, steps)
    assert r.verdict == "partial", (r.message, [s["message"] for s in r.details.get("steps", [])])
    assert 0 < r.score < r.max_score
    assert r.details["missing"]
    return r


# --------------------------------------------------------------------------
# the ELBO family: vae-simclr/1a, ift6135-a23/3.2a, 3.2b, ift6135-h22/1.1
# --------------------------------------------------------------------------
KL = r"D_{KL}(q(z|x) \| p(z|x))"
ELBO_DECOMP = [
    KL + r" = \mathbb{E}_{q(z|x)}[\log q(z|x) - \log p(z|x)]",
    r"= \mathbb{E}_{q(z|x)}[\log q(z|x) - \log p(x,z) + \log p(x)]",
    r"= \log p(x) - \mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right]",
    r"\log p(x) = \mathcal{L}(\phi, x) + D_{KL}(q_\phi(z|x) \| p(z|x))",
]
# the same result reached the other way round: from log p(x), inserting q
ELBO_FROM_EVIDENCE = [
    r"\log p(x) = \mathbb{E}_{q(z|x)}[\log p(x)]",
    r"= \mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{p(z|x)}\right]",
    r"= \mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)} \frac{q(z|x)}{p(z|x)}\right]",
    r"= \mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right] + " + KL,
    r"= \mathcal{L} + " + KL,
]


@pytest.mark.parametrize("qid", ["vae-simclr/1a", "ift6135-a23/3.2a"])
def test_elbo_decomposition(qid):
    r = assert_correct(qid, ELBO_DECOMP)
    assert "random instances" in r.details["steps"][0]["confirmed_by"]
    assert_correct(qid, ELBO_FROM_EVIDENCE)  # a different, valid order
    # a wrong middle step: Bayes' rule with the wrong sign of log p(x)
    wrong = list(ELBO_DECOMP)
    wrong[1] = r"= \mathbb{E}_{q(z|x)}[\log q(z|x) - \log p(x,z) - \log p(x)]"
    assert_wrong_at(qid, wrong, 1)
    assert_partial(qid, ELBO_DECOMP[:2])


def test_the_answer_sets_flipped_elbo_sign_is_flagged_at_its_step():
    """vae.answer_set_elbo_sign: distributing the minus sign flips only one term (004, 3.2a)."""
    steps = [
        r"\log p(x) = " + KL + r" - \mathbb{E}_{q(z|x)}[\log q(z|x) - \log p(x,z)]",
        r"= " + KL + r" + \mathbb{E}_{q(z|x)}[\log q(z|x) + \log p(x,z)]",
    ]
    assert_wrong_at("ift6135-a23/3.2a", steps, 1)


JENSEN = [
    r"\log p(x) = \log \int p(x,z)\, dz",
    r"= \log \int q(z|x) \frac{p(x,z)}{q(z|x)}\, dz",
    r"= \log \mathbb{E}_{q(z|x)}\left[\frac{p(x,z)}{q(z|x)}\right]",
    r"\geq \mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right] \quad \text{(Jensen)}",
    r"= \mathcal{L}",
]


def test_elbo_by_jensen():
    assert_correct("ift6135-a23/3.2b", JENSEN)
    # the same bound read from right to left
    assert_correct("ift6135-a23/3.2b", [
        r"\mathcal{L} = \mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right]",
        r"\leq \log \mathbb{E}_{q(z|x)}\left[\frac{p(x,z)}{q(z|x)}\right]",
        r"= \log p(x)",
    ])
    wrong = list(JENSEN)
    wrong[1] = r"= \log \int p(z) \frac{p(x,z)}{q(z|x)}\, dz"
    assert_wrong_at("ift6135-a23/3.2b", wrong, 1)
    assert_partial("ift6135-a23/3.2b", JENSEN[:3])


def test_jensen_reversed_is_rejected_and_named():
    reversed_ = list(JENSEN)
    reversed_[3] = r"\leq \mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right]"
    r = assert_wrong_at("ift6135-a23/3.2b", reversed_, 3)
    assert r.details["steps"][3]["slip"] == "reversed inequality"
    assert "reversed" in r.message


def test_an_equality_written_where_jensen_is_needed_fails():
    eq = list(JENSEN)
    eq[3] = r"= \mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right]"
    assert_wrong_at("ift6135-a23/3.2b", eq, 3)


ECLL = [
    r"\arg\max_\theta \mathbb{E}_{q(z|x)}[\log p_\theta(x|z) p(z)] = \arg\max_\theta "
    r"\mathbb{E}_{q(z|x)}\left[\log \frac{p_\theta(x|z)p(z)}{p_\theta(z|x)} + \log \frac{p_\theta(z|x)}{q(z|x)}\right]",
    r"= \arg\max_\theta \mathbb{E}_{q(z|x)}\left[\log p_\theta(x)\right] + "
    r"\mathbb{E}_{q(z|x)}\left[\log \frac{p_\theta(z|x)}{q(z|x)}\right]",
    r"= \arg\max_\theta \log p_\theta(x) - D_{KL}(q(z|x) \| p_\theta(z|x))",
]


def test_ecll_up_to_a_term_free_of_theta():
    r = assert_correct("ift6135-h22/1.1", ECLL)
    assert "does not depend on theta" in r.details["steps"][0]["message"]
    # "= const +" form, no argmax, written from the other end
    assert_correct("ift6135-h22/1.1", [
        r"\log p_\theta(x) - D_{KL}(q(z|x) \| p_\theta(z|x)) = \mathbb{E}_{q(z|x)}\left[\log p_\theta(x) "
        r"+ \log p_\theta(z|x) - \log q(z|x)\right]",
        r"= \mathbb{E}_{q(z|x)}[\log p_\theta(x, z)] - \mathbb{E}_{q(z|x)}[\log q(z|x)]",
        r"= const + \mathbb{E}_{q(z|x)}[\log p_\theta(x|z) p(z)]",
    ])
    wrong = list(ECLL)  # a term that does depend on theta is dropped
    wrong[1] = r"= \arg\max_\theta \mathbb{E}_{q(z|x)}\left[\log \frac{p_\theta(z|x)}{q(z|x)}\right]"
    assert_wrong_at("ift6135-h22/1.1", wrong, 1)
    assert_partial("ift6135-h22/1.1", ECLL[:1])


def test_the_answer_sets_ecll_chain_read_literally_is_accepted_only_up_to_theta():
    """vae.answer_set_ecll_literal: without the argmax the chain is false by H(q); with it, each line is right."""
    literal = [r"\mathbb{E}_{q(z|x)}[\log p_\theta(x|z)p(z)] = \log p_\theta(x) - D_{KL}(q(z|x) \| p_\theta(z|x))",
               r"= \log p_\theta(x) - D_{KL}(q(z|x) \| p_\theta(z|x))"]
    r = check("ift6135-h22/1.1", literal)
    assert r.details["steps"][0]["verdict"] == "holds"
    assert "up to a term that does not depend on theta" in r.details["steps"][0]["message"]
    # the same literal equality is wrong where the question asks for exact relations
    r2 = check("ift6135-a23/3.2a", [r"\mathbb{E}_{q(z|x)}[\log p(x|z)p(z)] = \log p(x) - " + KL,
                                    r"= \log p(x) - " + KL])
    assert r2.verdict == "incorrect" and r2.first_wrong_step == 0


def test_const_plus_is_refused_where_the_question_asks_for_exact_relations():
    steps = [r"\log p(x) = \mathcal{L} + " + KL, r"= const + \mathcal{L}"]
    r = check("vae-simclr/1a", steps)
    assert r.verdict == "incorrect" and r.first_wrong_step == 1
    assert "not allowed here" in r.message


# --------------------------------------------------------------------------
# the machinery
# --------------------------------------------------------------------------
def test_split_relations_keeps_subscripts_and_brackets_whole():
    sides, rels = split_relations(r"\sum_{j=1}^{k} a_j = \log \mathbb{E}[x] \geq b \leq c")
    assert rels == ["=", ">=", "<="]
    assert sides[0] == r"\sum_{j=1}^{k} a_j"
    sides, rels = split_relations(r"= \left(a = b\right)")
    assert sides[0] == "" and rels == ["="]


def test_split_steps_accepts_a_list_or_text_with_line_breaks():
    assert split_steps(["a = b", "= c"]) == ["a = b", "= c"]
    assert split_steps("a = b\n= c \\\\ = d") == ["a = b", "= c ", " = d"]


def test_every_side_of_a_chain_is_checked():
    chain = [r"\log p(x) = \log \int p(x,z)\, dz = \log 2 \int p(x,z)\, dz = \log p(x)"]
    r = check("ift6135-a23/3.2b", chain + JENSEN[1:])
    assert r.verdict == "incorrect" and r.first_wrong_step == 0
    rel = r.details["steps"][0]["relations"]
    assert [x["verdict"] for x in rel] == ["holds", "fails", "fails"]


def test_an_unreadable_step_is_unparseable_at_its_index_and_the_rest_is_checked():
    steps = list(JENSEN)
    steps[2] = r"= \log \mathbb{E}_{q(z|x)}\left[\frac{p(x,z)}{q(z|x)}\right \oops"
    r = check("ift6135-a23/3.2b", steps)
    assert r.verdict == "unparseable" and r.first_wrong_step == 2
    assert r.details["steps"][1]["verdict"] == "holds"
    assert r.details["steps"][3]["verdict"] == "unchecked"  # its left side is the unreadable one
    assert r.details["steps"][4]["verdict"] == "holds"


def test_an_unreadable_left_label_does_not_stop_the_chain():
    steps = [r"\mathcal{L}_{\text{VAE}}^{\star} = \mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right] "
             r"= \mathbb{E}_{q(z|x)}[\log p(x,z)] - \mathbb{E}_{q(z|x)}[\log q(z|x)]",
             r"\leq \log p(x)"]
    r = check("ift6135-a23/3.2b", steps)
    assert r.details["steps"][0]["verdict"] == "holds"
    assert "could not be read" in r.details["steps"][0]["message"]
    assert r.verdict == "correct"


def test_a_bare_restatement_is_not_a_derivation():
    r = check("vae-simclr/1a", [r"\log p(x) = \mathcal{L} + " + KL])
    assert r.verdict == "partial"
    assert "only stated" in r.details["missing"]


def test_the_student_never_sees_the_target():
    r = check("vae-simclr/1a", ELBO_DECOMP[:2])
    student = r.to_dict("student")
    assert "staff" not in student
    assert "target" in r.to_dict("staff")["staff"]
    text = str(student)
    assert r"\mathcal{L} + D_{KL}" not in text


def test_grading_a_submission_with_a_derivation_and_a_broken_one():
    rep = api.grade({"student": "s", "answers": {"ift6135-a23/3.2b": JENSEN, "vae-simclr/1a": {"not": "a list"}}})
    verdicts = {r.question: r.verdict for r in rep.results}
    assert verdicts == {"ift6135-a23/3.2b": "correct", "vae-simclr/1a": "unparseable"}
