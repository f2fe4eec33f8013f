r"""The notation parser: the issue's notation list, errors with positions, ambiguity, guards, no eval."""
import re
from pathlib import Path

import pytest

from derivcheck.grading import syntax
from derivcheck.grading.context import Context, Obj, Var
from derivcheck.grading.questions import contexts
from derivcheck.grading.semantics import NotationError, readings, resolve_text
from derivcheck.grading.syntax import ParseError, TooCostly, parse

GRADING = Path(__file__).resolve().parents[1] / "grading"

# a context with every kind of object the notation list mentions
RICH = Context(
    "rich",
    variables=[Var("x"), Var("z")],
    objects=[
        Obj("alpha", "scalar", domain="positive"), Obj("a", "scalar"), Obj("b", "scalar"),
        Obj("D", "scalar", domain="unit"),
        Obj("u", "vector", shape=("n",)), Obj("v", "vector", shape=("n",)),
        Obj("A", "matrix", shape=("n", "n")), Obj("B", "matrix", shape=("n", "n")),
        Obj("W_p", "matrix", shape=("n", "n")), Obj("X'", "matrix", shape=("n", "n"), structure="spd"),
        Obj("J_F", "matrix", shape=("n", "n")),
        Obj("p", "joint", over=("x", "z")), Obj("q_phi", "density", over=("z",), given=("x",), aliases=("q",)),
        Obj("f_0", "density", over=("x",), aliases=("p_0",)), Obj("f_1", "density", over=("x",), aliases=("p_1",)),
        Obj("D^*", "field", over=("x",), definition=r"\frac{f_1(x)}{f_0(x)+f_1(x)}"),
        Obj("F^{-1}", "field", over=("x",), description="an inverse map evaluated at x"),
    ],
    dims={"n": (2, 4)},
    imaginary_unit=True,
)

NOTATION = [
    r"\frac{a}{b}", r"\sqrt{a^2 + b^2}", r"\sqrt[3]{\alpha}", r"\log a^2", r"\exp(a) + e^{b}",
    r"\left(a + b\right)^2", r"a \cdot b", r"u \odot v", r"A^\top B", r"A^T B", r"A^{-1}", r"W_p^{\top}W_p",
    r"\|u\|", r"\|u - v\|_2", r"\left\|u\right\|_2^2", r"\operatorname{tr}(A B)", r"\mathrm{tr}(A)",
    r"\det(J_F)", r"|\det J_F|", r"|a - b|", r"A \otimes B", r"\mathrm{vec}(A)", r"\operatorname{vec}(A B)",
    r"\begin{bmatrix}a & b\\ b & a\end{bmatrix}", r"\begin{pmatrix}1 \\ 0\end{pmatrix}",
    r"\{1 + i\alpha, 1 - i\alpha\}", r"1 \pm i\alpha", r"(a, b)",
    r"\mathbb{E}_{x\sim p_0}[\log D^*(x)]", r"\mathbb{E}_{q}[\log p(x,z)]", r"\mathbb{E}_{q_\phi(z|x)}[\log p(x|z)]",
    r"D_{KL}(q_\phi(z|x)\|p(z))", r"D_{KL}[q_\phi(z|x)\|p(z|x)]", r"KL(p_0 \| p_1)", r"\mathrm{KL}(p_0||p_1)",
    r"JSD(p_0, p_1)", r"\int p(x,z)\,dz", r"\int_z p(x, z) \mathrm{d}z", r"\sum_{j=1}^{3} j a",
    r"\sum_z p(x, z)", r"p(x,z)", r"p(z|x)", r"p(z \mid x)", r"q_\phi(z|x)", r"f_0(x)", r"D^*(x)",
    r"a = b", r"a \leq b", r"a \geq b", r"a < b", r"a > b", r"a \le b \le 2b", r"X' \otimes 2I",
    r"\mathbf{u}^\top \boldsymbol{v}", r"\tfrac12 a", r"\dfrac{a}{2}", r"-\frac{1}{2}\log 2\pi",
    r"F^{-1}(x)", r"\log|\det J_F|", r"\mathbb{E}_{q}\left[\log \frac{p(x,z)}{q(z|x)}\right]",
]


@pytest.mark.parametrize("text", NOTATION)
def test_notation_list_parses_and_resolves(text):
    rds = readings(text, RICH)
    assert rds and all(r.expr is not None for r in rds)


def test_grammar_is_lalr_and_conflict_free():
    p = syntax.parser()  # strict=True: a shift/reduce conflict would raise here
    assert p.options.parser == "lalr" and p.options.strict


@pytest.mark.parametrize("text,pos,expected", [
    (r"a +", 3, "an expression"),
    (r"\frac{a}{", 9, "an expression"),
    (r"(a + b", 6, "')'"),
    (r"a + * b", 4, "an expression"),
    (r"\|u - v", 7, r"'\|'"),
])
def test_unparseable_gives_position_and_expected(text, pos, expected):
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert err.position == pos
    assert any(expected in e for e in err.expected), err.expected
    assert "^" in err.pointer()


@pytest.mark.parametrize("text,fragment", [
    (r"\foo(a)", r"unknown command \foo"),
    (r"\mathbb{R}^n", r"\mathbb{R}"),
    (r"a \to b", "relation"),
    (r"a_1 + \dots + a_n", "in full"),
    (r"\begin{align}a\end{align}", "environment"),
])
def test_commands_are_whitelisted(text, fragment):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert fragment in info.value.message


def test_unknown_symbol_is_a_notation_error_with_the_allowed_names():
    ctx = contexts()["gan-dynamics"]
    with pytest.raises(NotationError) as info:
        resolve_text(r"\beta + 1", ctx)
    assert "beta" in info.value.message and "alpha" in info.value.message
    assert info.value.position == 0


def test_density_arguments_are_checked():
    with pytest.raises(NotationError) as info:
        resolve_text(r"q_\phi(z)", RICH)
    assert "q_phi(z|x)" in info.value.message
    with pytest.raises(NotationError):
        resolve_text(r"D_{KL}(p_0 \| q_\phi(z|x))", RICH)  # distributions over different variables


@pytest.mark.parametrize("text,n,fragments", [
    (r"\log 2(1-D)", 2, ["log(2·(1 - D))", "log(2)·(1 - D)"]),
    (r"1/2a", 2, ["1/(2·a)", "(1/2)·a"]),
    (r"a^23", 2, ["a^23", "a^2·3"]),
    (r"\log(2)(1-D)", 1, ["log(2)·(1 - D)"]),  # brackets right after the operator delimit it
    (r"\log 2a", 1, ["log(2·a)"]),  # juxtaposed letters stay inside
    (r"\log x", 1, []),
])
def test_ambiguous_input_is_read_both_ways(text, n, fragments):
    ctx = Context("t", objects=[Obj("D", "scalar", domain="unit"), Obj("a", "scalar"), Obj("x", "scalar")])
    rds = readings(text, ctx)
    assert len(rds) == n
    shown = " | ".join(str(r.expr) for r in rds)
    for f in fragments:
        assert f in shown, shown
    if n > 1:
        assert all(r.labels for r in rds)


def test_application_versus_product_follows_the_context():
    ctx = RICH
    assert resolve_text(r"f_0(x)", ctx).op == "density"
    e = resolve_text(r"a(b + 1)", ctx)
    assert e.op == "mul"
    e = resolve_text(r"A(B + A)", ctx)
    assert e.op == "mul"


def test_matrix_product_keeps_order():
    a = resolve_text(r"A B", RICH)
    b = resolve_text(r"B A", RICH)
    assert a != b and [x.value for x in a.args] == ["A", "B"]


@pytest.mark.parametrize("text,cls", [
    ("(" * 60 + "a" + ")" * 60, TooCostly),
    ("a+" * 2500 + "a", TooCostly),
    ("1" * 60, TooCostly),
    (r"\frac{1}{2}" * 401, TooCostly),
])
def test_guards_stop_pathological_input_before_parsing(text, cls):
    with pytest.raises(cls):
        parse(text)


def test_no_eval_of_student_text_anywhere_in_grading():
    """The grading package never evaluates text: no eval/exec/sympify/parse_expr/parse_latex/lambdify."""
    banned = re.compile(r"(?<![.\w])(eval|exec)\(|\b(sympify|parse_expr|parse_latex|lambdify)\b")
    for path in GRADING.glob("*.py"):
        if path.name == "sandbox_boot.py":  # the code-answer worker: runs submitted code only in its sandboxed child
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            assert not banned.search(code), f"{path.name}:{i}: {line.strip()}"


def test_bars_are_classified():
    assert parse(r"p(z|x)").args[1].args[0].value == "|"
    assert parse(r"D_{KL}(q\|p)").args[1].args[0].value == "||"
    assert parse(r"2|a|").kind == "juxt"
    assert parse(r"\|u\|_2").kind == "sub"


def test_trailing_period_and_dollars_are_ignored():
    assert str(resolve_text(r"$a + b$.", RICH)) == "a + b"
