r"""Inputs a real class sends: Unicode, the sheets' own notations, labels written the way the sheets print
them, and answers that only restate the question.  Each accepted form has a wrong twin that stays wrong."""
import pytest

from derivcheck import grading


@pytest.fixture(autouse=True)
def _loaded(registry):
    return registry


def verdict(qid, answer):
    r = grading.check(qid, answer)
    assert "internal error" not in r.message, r.staff
    return r


@pytest.mark.parametrize("qid, right, wrong, note", [
    ("ift6135-h22/5.2", "F₁₂ - W_p F₁", "F₁₂ - F₁ W_p", "subscripts"),
    ("vae-simclr/1b", "μ + σε", "μ - σ", "Greek"),
    ("ift6135-h22/5.4", "2X′ ⊗ I", "2X ⊗ I", "operator"),
    ("mit-hw4/1", "N = K", "N = K²", None),
    ("ift6135-h22/4.1", r"\begin{bmatrix}１ & \alpha\\ -\alpha & 1\end{bmatrix}",
     r"\begin{bmatrix}１ & -\alpha\\ \alpha & 1\end{bmatrix}", "full-width"),
    ("mit-hw4/2.C", "С = N", "С = N + 1", "look Latin"),  # a Cyrillic capital С
])
def test_unicode_is_normalised_with_a_note(qid, right, wrong, note):
    r = verdict(qid, right)
    assert r.verdict == "correct", r.message
    if note:
        assert note in r.message
    assert verdict(qid, wrong).verdict == "incorrect"


@pytest.mark.parametrize("answer", [r"\mu + \sigma \epsilon_₁", "μ + σ ж", "F_{12} ☃ W_p", "\u200b\u2028"])
def test_unicode_never_gives_an_internal_error(answer):
    r = verdict("vae-simclr/1b", answer)
    assert r.verdict in ("unparseable", "incorrect", "unanswered")
    if "ж" in answer:
        assert "CYRILLIC SMALL LETTER ZHE" in r.message


@pytest.mark.parametrize("qid, right, wrong", [
    # bold, roman and sans-serif E for the expectation
    ("ift6135-a23/4.6a", r"\log 2 + \frac{1}{2}\mathbf{E}_{x \sim p_1}[\log D^*(x)] + \frac{1}{2}\mathbf{E}_{x \sim p_0}[\log(1 - D^*(x))]",
     r"\log 2 + \frac{1}{2}\mathbf{E}_{x \sim p_1}[\log D^*(x)] + \frac{1}{2}\mathbf{E}_{x \sim p_0}[\log D^*(x)]"),
    ("ift6135-a23/4.6a", r"\log 2 + \frac{1}{2}\boldsymbol{E}_{p_1}[\log D(x)] + \frac{1}{2}\operatorname{E}_{p_0}[\log(1 - D(x))]",
     r"\frac{1}{2}\boldsymbol{E}_{p_1}[\log D(x)] + \frac{1}{2}\operatorname{E}_{p_0}[\log(1 - D(x))]"),
    # a transposed tuple is the column it names
    ("ift6135-h22/4.2", r"(0, 0)^\top", r"(1, 0)^\top"),
    ("ift6135-h22/4.2", "[0, 0]^T", "[0, 1]^T"),
    # a sized identity
    ("ift6135-h22/5.4", r"2 X' \otimes I_n", r"2 X \otimes I_n"),
    ("ift6135-h22/5.4", r"2 X' \otimes I_{n_2}", r"X' \otimes I_{n_2}"),
    ("ift6135-h22/5.3", r"-(I_{n} + W_p^\top W_p) W X' - (W_p - I_n)^\top (W_p - I_n) W X",
     r"-(I_{n} + W_p W_p^\top) W X' - (W_p - I_n)^\top (W_p - I_n) W X"),
    # the dot product written with \cdot
    ("mit-hw4/3.general", r"\sqrt{\|u\|^2 + \|v\|^2 - 2 u \cdot v}", r"\sqrt{\|u\|^2 + \|v\|^2 + 2 u \cdot v}"),
    ("mit-hw4/3.general", r"\sqrt{(u - v) \cdot (u - v)}", r"\sqrt{(u + v) \cdot (u - v)}"),
])
def test_the_sheets_notations(qid, right, wrong):
    r = verdict(qid, right)
    assert r.verdict == "correct", r.message
    assert verdict(qid, wrong).verdict == "incorrect"


def test_a_scalar_cdot_is_still_a_product():
    assert verdict("vae-simclr/1b", r"\mu + \sigma \cdot \epsilon").verdict == "correct"
    assert verdict("ift6135-h22/5.2", r"F_{12} - W_p \cdot F_1").verdict == "correct"
    assert verdict("ift6135-h22/5.2", r"F_{12} - F_1 \cdot W_p").verdict == "incorrect"


@pytest.mark.parametrize("answer", [r"\|u - v\|_2", r"\|v-u\|", r"\sqrt{\|u - v\|^2}", r"\|u - v\|_2 = \|u - v\|_2"])
def test_restating_the_quantity_asked_for_is_not_an_answer(answer):
    r = verdict("mit-hw4/3.general", answer)
    assert r.verdict == "incorrect" and "restates" in r.message
    # naming the quantity on the left of a real answer is fine
    assert verdict("mit-hw4/3.general", r"\|u - v\|_2 = \sqrt{\|u\|^2 + \|v\|^2 - 2u^\top v}").verdict == "correct"


@pytest.mark.parametrize("qid, right, wrong", [
    ("ift6135-a23/3.1", "(b)", "(c)"),
    ("ift6135-a23/3.1", "b)", "c)"),
    ("ift6135-a23/3.1", "B.", "A."),
    ("ift6135-a23/3.1", "option b", "option d"),
    ("ift6135-a23/3.1", "(b) the second statement", "(a) the first statement"),
    ("mit-hw4/4c", "(ii)", "(iii)"),
    ("mit-hw4/5.1", "No, because accuracy ignores the margin", "Yes, because"),
    ("ift6135-h22/4.3.behaviour", "diverge: the norm grows", "cycle: they rotate"),
    ("ift6135-a23/4.4", "Non-saturating cost", "saturating cost"),
])
def test_option_labels_as_the_sheets_print_them(qid, right, wrong):
    assert verdict(qid, right).verdict == "correct"
    assert verdict(qid, wrong).verdict == "incorrect"


@pytest.mark.parametrize("answer", ["a or b", "no idea", "yes or no", "a lower bound"])
def test_hedges_are_not_read_as_a_choice(answer):
    qid = "mit-hw4/5.1" if "no" in answer.split() or "yes" in answer.split() else "ift6135-a23/3.1"
    r = verdict(qid, answer)
    assert r.verdict == "unparseable" and "options" in r.message


def test_choices_and_mappings_as_printed():
    assert verdict("ift6135-a23/3.3", "(a), (b), (d)").verdict == "correct"
    assert verdict("ift6135-a23/3.3", "a, b and d").verdict == "correct"
    assert verdict("ift6135-a23/3.3", "{a, b, d}").verdict == "correct"
    assert verdict("ift6135-a23/3.3", "(a), (c)").verdict in ("incorrect", "partial")
    r = verdict("ift6135-a23/2.2", {"1)": "reverse KL", "2)": "forward KL divergence"})
    assert r.verdict == "correct" and "read as scenario1" in r.message
    assert verdict("ift6135-a23/2.2", {"Scenario 1": "reverse", "scenario 2": "Forward"}).verdict == "correct"
    assert verdict("ift6135-a23/2.2", {"(1)": "forward KL", "(2)": "reverse KL"}).verdict == "incorrect"
    r = verdict("mit-hw4/8b.i", {"Shape": "Sensitive", "Location": "sensitive", "Colour": "invariant"})
    assert r.verdict == "correct" and "read as color" in r.message
    assert verdict("mit-hw4/8b.i", {"Shape": "Sensitive", "Location": "sensitive", "Colour": "sensitive"}).verdict \
        == "partial"


RIGHT = [(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (2, 1), (2, 2), (2, 3), (3, 1)]


@pytest.mark.parametrize("fmt", [
    lambda cells: [f"({r},{c})" for r, c in cells],
    lambda cells: ", ".join(f"({r}, {c})" for r, c in cells),
    lambda cells: ", ".join(f"x_{{{r}{c}}}" for r, c in cells),
    lambda cells: ", ".join(f"x_{{{r},{c}}}" for r, c in cells),
    lambda cells: ", ".join(f"{r}-{c}" for r, c in cells),
    lambda cells: " ".join(f"x{r}{c}" for r, c in cells),
    lambda cells: "{" + ", ".join(f"{r}{c}" for r, c in cells) + "}",
    lambda cells: [[r, c] for r, c in cells],
])
def test_pixel_labels_written_another_way(fmt):
    assert verdict("ift6135-a23/1.1", fmt(RIGHT)).verdict == "correct"
    wrong = RIGHT[:-1] + [(3, 2)]
    r = verdict("ift6135-a23/1.1", fmt(wrong))
    assert r.verdict == "incorrect" and "32" in r.message
