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
    assert verdicts["ift6135-a23/3.2b"] == "correct" and verdicts["vae-simclr/1a"] == "unparseable"


# --------------------------------------------------------------------------
# the flow KL invariance: ift6135-a23/2.1, ift6135-h22/3.1
# --------------------------------------------------------------------------
FLOW = [
    r"D_{KL}\left[P_X \| P_{F(U)}\right] = \int_x p_X(x) \log\left(\frac{p_X(x)}{p_{F(U)}(x)}\right) dx",
    r"= \int_x p_X(x) \log\left(\frac{p_X(x)}{p_U(F^{-1}(x)) \left|\det \frac{\partial F^{-1}(x)}{\partial x}\right|}"
    r"\right) dx",
    r"= \int_u p_X(F(u)) \log\left(\frac{p_X(F(u)) \left|\det \frac{\partial F(u)}{\partial u}\right|}{p_U(u)}\right)"
    r" \cdot \left|\det \frac{\partial F(u)}{\partial u}\right| du",
    r"= \int_u p_{F^{-1}(X)}(u) \log\left(\frac{p_{F^{-1}(X)}(u)}{p_U(u)}\right) du",
    r"= D_{KL}\left[P_{F^{-1}(X)} \| P_U\right]",
]


@pytest.mark.parametrize("qid", ["ift6135-a23/2.1", "ift6135-h22/3.1"])
def test_flow_kl_invariance(qid):
    assert_correct(qid, FLOW)
    # from the other end, with expectations and J notation
    assert_correct(qid, [
        r"D_{KL}(P_{F^{-1}(X)} \| P_U) = \mathbb{E}_{u \sim p_{F^{-1}(X)}}\left[\log p_X(F(u)) + \log |\det J_F(u)|"
        r" - \log p_U(u)\right]",
        r"= \mathbb{E}_{x \sim p_X}\left[\log p_X(x) - \log |\det J_{F^{-1}}(x)| - \log p_U(F^{-1}(x))\right]",
        r"= D_{KL}(P_X \| P_{F(U)})",
    ])
    no_jacobian = list(FLOW)  # the change of variables without its Jacobian
    no_jacobian[2] = (r"= \int_u p_X(F(u)) \log\left(\frac{p_X(F(u)) \left|\det \frac{\partial F(u)}{\partial u}\right|}"
                      r"{p_U(u)}\right) du")
    assert_wrong_at(qid, no_jacobian, 2)
    sign = list(FLOW)  # log|det J_{F^{-1}}| = -log|det J_F|: the sign of the log-determinant
    sign[1] = (r"= \int_x p_X(x) \left(\log p_X(x) - \log p_U(F^{-1}(x)) + \log\left|\det J_{F^{-1}}(x)\right|"
               r"\right) dx")
    assert_wrong_at(qid, sign, 1)
    assert_partial(qid, FLOW[:3])


def test_forward_and_reverse_kl_are_told_apart():
    r = check("ift6135-a23/2.1", FLOW[:4] + [r"= D_{KL}\left[P_U \| P_{F^{-1}(X)}\right]"])
    assert r.verdict == "incorrect" and r.first_wrong_step == 4


# --------------------------------------------------------------------------
# the importance-weighted bound: ift6135-a23/3.4a, 3.4b
# --------------------------------------------------------------------------
IW_A = [
    r"\log p(x) = \log \mathbb{E}_{z_{1:k} \sim q(z|x)}\left[\frac{1}{k}\sum_{j=1}^{k} \frac{p(x, z_j)}{q(z_j|x)}\right]",
    r"\geq \mathbb{E}_{z_{1:k} \sim q(z|x)}\left[\log \frac{1}{k} \sum_{j=1}^{k} \frac{p(x, z_j)}{q(z_j|x)}\right]",
    r"= \mathcal{L}_k",
]


def test_iwae_bound():
    assert_correct("ift6135-a23/3.4a", IW_A)
    assert_correct("ift6135-a23/3.4a", [  # right to left, with the weights w_j
        r"\mathcal{L}_k = \mathbb{E}_{z_{1:k} \sim q(z|x)}\left[\log \frac{1}{k}\sum_{j=1}^{k} w_j\right]",
        r"\leq \log \mathbb{E}_{z_{1:k} \sim q(z|x)}\left[\frac{1}{k}\sum_{j=1}^{k} w_j\right]",
        r"= \log \frac{1}{k}\sum_{j=1}^{k} \mathbb{E}_{z_{1:k} \sim q(z|x)}[w_j]",
        r"= \log p(x)",
    ])
    wrong = list(IW_A)
    wrong[0] = r"\log p(x) = \log \mathbb{E}_{z_{1:k} \sim q(z|x)}\left[\sum_{j=1}^{k} \frac{p(x, z_j)}{q(z_j|x)}\right]"
    wrong.insert(1, r"= \log \mathbb{E}_{z_{1:k} \sim q(z|x)}\left[\frac{1}{k}\sum_{j=1}^{k} "
                    r"\frac{p(x, z_j)}{q(z_j|x)}\right]")
    assert_wrong_at("ift6135-a23/3.4a", wrong, 0)
    reversed_ = list(IW_A)
    reversed_[1] = reversed_[1].replace(r"\geq", r"\leq", 1)
    r = assert_wrong_at("ift6135-a23/3.4a", reversed_, 1)
    assert r.details["steps"][1]["slip"] == "reversed inequality"
    assert_partial("ift6135-a23/3.4a", IW_A[:1])


def test_a_strict_inequality_between_equal_sides_fails():
    """002, 3.4(a) ends with '> L_k' right after writing L_k's own definition."""
    steps = IW_A[:2] + [r"> \mathcal{L}_k"]
    r = check("ift6135-a23/3.4a", steps)
    assert r.verdict == "incorrect" and r.first_wrong_step == 2


IW_B = [
    r"\mathcal{L}_2 = \mathbb{E}_{z_1, z_2 \sim q(z|x)}\left[\log \frac{w_1 + w_2}{2}\right]",
    r"\geq \mathbb{E}_{z_1, z_2 \sim q(z|x)}\left[\frac{1}{2}(\log w_1 + \log w_2)\right]",
    r"= \frac{1}{2}\mathbb{E}_{z_1 \sim q(z|x)}[\log w_1] + \frac{1}{2}\mathbb{E}_{z_2 \sim q(z|x)}[\log w_2]",
    r"= \mathcal{L}_1",
]


def test_iwae_two_samples_beat_one():
    assert_correct("ift6135-a23/3.4b", IW_B)
    assert_correct("ift6135-a23/3.4b", [  # from L_1 upwards, with the ELBO's name
        r"\mathcal{L}_1 = ELBO",
        r"= \mathbb{E}_{z_1, z_2 \sim q(z|x)}\left[\frac{\log w_1 + \log w_2}{2}\right]",
        r"\leq \mathbb{E}_{z_1, z_2 \sim q(z|x)}\left[\log \frac{w_1 + w_2}{2}\right]",
        r"= \mathcal{L}_2",
    ])
    wrong = list(IW_B)
    wrong[2] = r"= \mathbb{E}_{z_1 \sim q(z|x)}[\log w_1] + \mathbb{E}_{z_2 \sim q(z|x)}[\log w_2]"
    assert_wrong_at("ift6135-a23/3.4b", wrong, 2)
    reversed_ = list(IW_B)
    reversed_[1] = reversed_[1].replace(r"\geq", r"\leq", 1)
    assert_wrong_at("ift6135-a23/3.4b", reversed_, 1)
    assert_partial("ift6135-a23/3.4b", IW_B[:2])


def test_the_answer_sets_subset_identity_is_flagged_at_its_step():
    """vae.answer_set_iwae_subset_identity (002, 3.4b): a number set equal to a random average."""
    steps = [r"\mathcal{L}_2 = \mathbb{E}_{z_1, z_2 \sim q(z|x)}\left[\log \frac{1}{2} \sum_{j=1}^{2} "
             r"\frac{p(x, z_j)}{q(z_j|x)}\right]",
             r"\mathbb{E}_{z_1 \sim q(z|x)}\left[\frac{p(x, z_1)}{q(z_1|x)}\right] = \frac{1}{2} \sum_{i=1}^{2} "
             r"\frac{p(x, z_i)}{q(z_i|x)}"]
    assert_wrong_at("ift6135-a23/3.4b", steps, 1)


# --------------------------------------------------------------------------
# SimSiam's trace form: ift6135-h22/5.1
# --------------------------------------------------------------------------
SIMSIAM = [
    r"J(W,W_p) = \frac{1}{2} \mathbb{E}_{x_1,x_2} \left[ \|W_p f_1 - \operatorname{Stop-Grad}(f_2)\|_2^2 \right]",
    r"= \frac{1}{2} \mathbb{E}_{x_1,x_2} \left[ (W_p f_1 - f_2)^\top (W_p f_1 - f_2) \right]",
    r"= \frac{1}{2} \mathbb{E} \left[ f_1^\top W_p^\top W_p f_1 - f_1^\top W_p^\top f_2 - f_2^\top W_p f_1 "
    r"+ f_2^\top f_2 \right]",
    r"= \frac{1}{2} \mathbb{E} \left[ \operatorname{tr}(W_p^\top W_p f_1 f_1^\top) - \operatorname{tr}(W_p^\top f_2 "
    r"f_1^\top) - \operatorname{tr}(f_1 f_2^\top W_p) + \operatorname{tr}(f_2 f_2^\top) \right]",
    r"= \frac{1}{2} \left[ \operatorname{tr}(W_p^\top W_p F_1) - \operatorname{tr}(W_p^\top F_{21}) - "
    r"\operatorname{tr}(F_{12} W_p) + \operatorname{tr}(F_2) \right]",
    r"= \frac{1}{2} \left[ \operatorname{tr}(W_p^\top W_p F_1) - \operatorname{tr}(W_p F_{12}) - "
    r"\operatorname{tr}(F_{12} W_p) + \operatorname{tr}(F_2) \right]",
]


def test_simsiam_trace_form():
    assert_correct("ift6135-h22/5.1", SIMSIAM)
    assert_correct("ift6135-h22/5.1", [  # from the trace form back to the objective
        r"\frac{1}{2} \left[ \operatorname{tr}(W_p^\top W_p F_1) - \operatorname{tr}(W_p F_{12}) - "
        r"\operatorname{tr}(F_{12} W_p) + \operatorname{tr}(F_2) \right] = \frac{1}{2} \mathbb{E}\left[ "
        r"\operatorname{tr}(W_p f_1 f_1^\top W_p^\top) - 2 f_2^\top W_p f_1 + f_2^\top f_2\right]",
        r"= \frac{1}{2} \mathbb{E}\left[\|W_p f_1 - f_2\|^2\right]",
        r"= J",
    ])
    swapped = list(SIMSIAM)  # a non-commuting product swapped: f_1^T f_1 for f_1 f_1^T
    swapped[3] = swapped[3].replace(r"W_p^\top W_p f_1 f_1^\top", r"W_p^\top W_p f_1^\top f_1")
    assert_wrong_at("ift6135-h22/5.1", swapped, 3)
    half = list(SIMSIAM)  # the 1/2 dropped on one line
    half[4] = half[4].replace(r"= \frac{1}{2} \left[", r"= \left[", 1)
    assert_wrong_at("ift6135-h22/5.1", half, 4)
    assert_partial("ift6135-h22/5.1", SIMSIAM[:3])


# --------------------------------------------------------------------------
# NT-Xent as a unified contrastive loss: vae-simclr/2a
# --------------------------------------------------------------------------
NTX = [
    r"\mathcal{L}_{\phi,\psi}(\theta) = \sum_{i=1}^N \log\left(\sum_{j \neq i} \exp\left(\frac{d_i^2 - d_{ij}^2}"
    r"{\tau}\right)\right)",
    r"= \sum_{i=1}^N \log\left(\sum_{j \neq i} \exp\left(\frac{(1 - z_i^\top z_{i'}) - (1 - z_i^\top z_j)}{\tau}"
    r"\right)\right)",
    r"= \sum_{i=1}^N \log\left(\exp\left(-\frac{\mathrm{sim}(z_i, z_{i'})}{\tau}\right) \sum_{j \neq i} "
    r"\exp\left(\frac{\mathrm{sim}(z_i, z_j)}{\tau}\right)\right)",
    r"= -\sum_{i=1}^N \log \frac{\exp(\mathrm{sim}(z_i, z_{i'})/\tau)}{\sum_{j \neq i} \exp(\mathrm{sim}(z_i, z_j)/\tau)}",
    r"= \mathcal{L}_{\text{NT-Xent}}",
]


def test_nt_xent_from_the_unified_loss():
    assert_correct("vae-simclr/2a", NTX)
    assert_correct("vae-simclr/2a", [  # from NT-Xent back to the unified loss
        r"\mathcal{L}_{\text{NT-Xent}} = \sum_{i=1}^N \left(-\frac{\mathrm{sim}(z_i, z_{i'})}{\tau} + \log \sum_{j \neq i}"
        r" \exp\left(\frac{\mathrm{sim}(z_i, z_j)}{\tau}\right)\right)",
        r"= \sum_{i=1}^N \log \sum_{j \neq i} \exp\left(\frac{\mathrm{sim}(z_i, z_j) - \mathrm{sim}(z_i, z_{i'})}"
        r"{\tau}\right)",
        r"= \sum_{i=1}^N \phi\left(\sum_{j \neq i} \psi(d_i^2 - d_{ij}^2)\right)",
        r"= \mathcal{L}_{\phi,\psi}",
    ])
    sign = list(NTX)  # the positive's similarity with the wrong sign
    sign[2] = sign[2].replace(r"-\frac{\mathrm{sim}(z_i, z_{i'})}", r"\frac{\mathrm{sim}(z_i, z_{i'})}")
    assert_wrong_at("vae-simclr/2a", sign, 2)
    ij = list(NTX)  # d_ij^2 = 1 + z_i^T z_j: the cosine's sign
    ij[1] = ij[1].replace(r"(1 - z_i^\top z_j)", r"(1 + z_i^\top z_j)")
    assert_wrong_at("vae-simclr/2a", ij, 1)
    assert_partial("vae-simclr/2a", NTX[:1])


def test_ambiguous_notation_is_read_the_way_that_holds_and_says_so():
    """\\log \\frac{1}{2}(a + b) (004, 3.4b): log of the product, or log(1/2) times the bracket."""
    steps = [r"\mathcal{L}_2 = \mathbb{E}_{z_{1,2} \sim q(z|x)}\left[\log \frac{1}{2}\left(w_1 + w_2\right)\right]",
             r"\geq \mathcal{L}_1"]
    r = check("ift6135-a23/3.4b", steps)
    assert r.details["steps"][0]["verdict"] == "holds"
    assert "ambiguous" in r.details["steps"][0]["message"]
    wrong = [r"\mathcal{L}_2 = \mathbb{E}_{z_{1,2} \sim q(z|x)}\left[\log \frac{1}{3}\left(w_1 + w_2\right)\right]",
             r"\geq \mathcal{L}_1"]
    assert_wrong_at("ift6135-a23/3.4b", wrong, 0)  # no reading holds


def test_free_indices_make_a_step_hold_for_every_index():
    steps = [r"d_{ij}^2 = \frac{1}{2}\|z_i - z_j\|^2 = \frac{1}{2}(\|z_i\|^2 + \|z_j\|^2 - 2 z_i^T z_j) "
             r"= 1 - \mathrm{sim}(z_i, z_j)",
             r"d_{ij}^2 = 1 + z_i^\top z_j"]
    r = check("vae-simclr/2a", steps)
    assert r.details["steps"][0]["verdict"] == "holds"
    assert r.first_wrong_step == 1


def test_paired_points_of_a_flow_and_notation_variants():
    r = check("ift6135-a23/2.1", [
        r"\left|\det \frac{\partial F^{-1}(x)}{\partial x}\right| = \left|\det \frac{\partial F(u)}{\partial u}\right|^{-1}",
        r"\left|\det \frac{\partial F^{-1}(x)}{\partial x}\right| = \left|\det \frac{\partial F(u)}{\partial u}\right|"])
    assert [s["verdict"] for s in r.details["steps"]] == ["holds", "fails"]
    r = check("ift6135-a23/3.4a", [
        r"\log p(x) = \log \mathbb{E}_{z_1, \dots, z_k \sim q(z|x)}\left[\frac{1}{k}\sum_{j=1}^{k} w_j\right]",
        r"\geq \mathbb{E}_{z_{1:k}}\left[\log \frac{1}{k} \sum_{j=1}^{k} w_j\right] = \mathcal{L}_k"])
    assert r.verdict == "correct", r.message
    r = check("vae-simclr/1a", [r"\log p(x) = \mathbb{E}_{q}[\log p(x,z)] + H(q) + " + KL,
                                r"= ELBO + " + KL])
    assert r.verdict == "correct", r.message


def test_a_transpose_after_a_bracket_belongs_to_that_bracket():
    """(a)(b)^T is a b^T, an outer product (it was read as (a b)^T)."""
    steps = [r"J = \frac{1}{2}\mathbb{E}\left[\|W_p f_1 - f_2\|^2\right]",
             r"= \frac{1}{2}\mathbb{E}\left[\operatorname{tr}\left((W_p f_1 - f_2)(W_p f_1 - f_2)^\top\right)\right]"]
    r = check("ift6135-h22/5.1", steps)
    assert r.details["steps"][1]["verdict"] == "holds", r.details["steps"][1]["message"]


def test_a_name_the_derivation_defines_is_used_in_later_steps():
    steps = [r"A := \mathbb{E}_{q(z|x)}\left[\log \frac{p(x,z)}{q(z|x)}\right]",
             r"\log p(x) = \log \mathbb{E}_{q(z|x)}\left[\frac{p(x,z)}{q(z|x)}\right]",
             r"\geq A",
             r"= \mathcal{L}"]
    r = check("ift6135-a23/3.2b", steps)
    assert r.verdict == "correct", r.message
    assert "defines A" in r.details["steps"][0]["message"]
    wrong = [steps[0], steps[1], r"\leq A", steps[3]]
    assert_wrong_at("ift6135-a23/3.2b", wrong, 2)
    # a definition alone does not reach the result
    assert check("ift6135-a23/3.2b", steps[:1]).verdict == "partial"
