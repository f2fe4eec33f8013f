"""Property-based tests (hypothesis) of the answer reader: the tokenizer and the parser of
``grading/syntax.py`` and the end-to-end ``grading.api.check``, over random and adversarial LaTeX.

Properties: every input either gives tokens / a syntax tree / a graded result or a ``ParseError``
(never another exception), finishes within its limit (``TooCostly`` / ``timeout`` count as handled),
and never reaches an evaluator: ``eval``, ``exec``, ``compile`` and ``sympify`` of a string are
replaced by tripwires for the duration.  The figures (inputs tried, crashes, limits hit) are
printed at the end of the module.  ``DERIVCHECK_FUZZ_EXAMPLES`` scales the number of inputs
(default: a quick-profile number; derandomized, so CI is reproducible).
"""
from __future__ import annotations

import builtins
import contextlib
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivcheck.grading import api
from derivcheck.grading.syntax import ParseError, TooCostly, parse, tokenize

N = int(os.environ.get("DERIVCHECK_FUZZ_EXAMPLES", "150"))
LIMIT_S = 5.0  # a single tokenize/parse must finish (or refuse) within this, even on a loaded machine
FIGURES = {"inputs": 0, "parsed": 0, "refused": 0, "too_costly": 0, "crashes": 0, "slowest_s": 0.0}
SETTINGS = dict(max_examples=N, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

QIDS = ["ift6135-h22/5.2", "ift6135-a23/4.6.dstar", "vae-simclr/1b", "ift6135-h22/4.3", "ift6135-a23/3.1",
        "mit-hw4/8b.i", "ift6135-a23/1.1"]

# LaTeX fragments the sheets use, plus the usual slips and hostile inputs
FRAGMENTS = [
    r"\frac{", "}{", "}", "{", "^", "_", "(", ")", "[", "]", "|", r"\|", r"\left(", r"\right)", r"\left|",
    r"\right|", r"\log", r"\exp", r"\det", r"\operatorname{tr}", r"\mathbb{E}", r"\sum_{i=1}^{n}", r"\int",
    r"\,", r"\cdot", r"\otimes", r"\top", "^T", r"\alpha", r"\sigma", r"\mu", r"\epsilon", r"\varepsilon",
    r"D_{KL}(q\|p)", r"\mathrm{JSD}", "p(x|z)", "q_\\phi(z|x)", "W_p", "F_{12}", "X'", r"\tilde{W}_p",
    r"\begin{bmatrix}", r"\end{bmatrix}", "&", r"\\", r"\pm", "=", "<", ">=", r"\leq", r"\geq", "+", "-",
    "*", "/", "1", "2", "0.5", "10^{30}", "x", "D", "f_0", "f_1", " ", "\n", "\t", ",", ";",
    r"\sqrt{", r"\sqrt[3]{", "!", "'", '"', "%", "#", "$", "~", r"\input{/etc/passwd}", r"\write18{ls}",
    r"\def\x{1}", r"\csname", "__import__('os').system('true')", "eval(", "lambda x: x", r"\x00", "\u00e9",
    "\u2211", "\u221e", "9" * 45, "(" * 45, "{" * 45, "^" * 30, r"\frac{1}{" * 30,
]
latex = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=25).map("".join),
    st.text(max_size=80),
    st.text(alphabet=st.sampled_from(list("xyz0123456789+-*/^_(){}[]|\\,.=<> '")), max_size=60),
)


@contextlib.contextmanager
def no_evaluator(text: str = ""):
    """Tripwires around one call on the answer path: no eval/exec/sympify of source text that carries
    the student's text (library internals that build code, e.g. dataclasses, are left alone)."""
    needle = text.strip()

    def carries(source) -> bool:
        if isinstance(source, bytes):
            source = source.decode("utf-8", "replace")
        return isinstance(source, str) and len(needle) >= 2 and needle in source
    import sympy

    real = (builtins.eval, builtins.exec, sympy.sympify)

    def trip(name):
        original = real[0] if name == "eval" else real[1]

        def f(source, *a, **k):  # code objects (imports) pass; source text never does
            if carries(source):
                raise AssertionError(f"{name} of text was called on the answer path: {source!r:.80}")
            return original(source, *a, **k)
        return f

    def guarded_sympify(a, *args, **kwargs):
        if carries(a):
            raise AssertionError(f"sympify of the answer text was called: {a!r}")
        return real[2](a, *args, **kwargs)

    builtins.eval, builtins.exec, sympy.sympify = trip("eval"), trip("exec"), guarded_sympify
    try:
        yield
    finally:
        builtins.eval, builtins.exec, sympy.sympify = real


@pytest.fixture(scope="module", autouse=True)
def warm_grader():
    """Import and build the grader once, outside the tripwires."""
    for qid in QIDS:  # the first check of a question builds its key (it may run the claim's checks)
        api.check(qid, "x")


def _timed(fn, text):
    FIGURES["inputs"] += 1
    start = time.perf_counter()
    try:
        with no_evaluator(text):
            out = fn(text)
        FIGURES["parsed"] += 1
        return out
    except TooCostly:
        FIGURES["too_costly"] += 1
    except ParseError as exc:
        FIGURES["refused"] += 1
        assert str(exc), "a parse error says what is wrong"
    except Exception:
        FIGURES["crashes"] += 1
        raise
    finally:
        elapsed = time.perf_counter() - start
        FIGURES["slowest_s"] = max(FIGURES["slowest_s"], elapsed)
        assert elapsed < LIMIT_S, f"{fn.__name__} took {elapsed:.1f} s on {text!r}"


@settings(**SETTINGS)
@given(latex)
def test_tokenizer_tokenizes_or_refuses(text):
    toks = _timed(tokenize, text)
    if toks is not None:
        # positions refer to the text after Unicode normalisation (e.g. '∑' -> '\\sum'), so they may pass
        # the end of the original string; they are never negative
        assert all(isinstance(t.pos, int) and t.pos >= 0 for t in toks)


@settings(**SETTINGS)
@given(latex)
def test_parser_parses_or_refuses_with_a_position(text):
    _timed(parse, text)


@settings(**{**SETTINGS, "max_examples": max(10, N // 4)})
@given(st.sampled_from(QIDS), latex)
def test_check_grades_any_text_without_crashing(qid, text):
    FIGURES["inputs"] += 1
    start = time.perf_counter()
    with no_evaluator(text):
        result = api.check(qid, text, time_limit_s=2.0)
    elapsed = time.perf_counter() - start
    FIGURES["slowest_s"] = max(FIGURES["slowest_s"], elapsed)
    assert result.verdict, "every answer gets a verdict"
    assert result.verdict != "correct" or text.strip(), "an empty answer is never correct"
    assert elapsed < 2.0 + LIMIT_S


def test_unicode_digits_are_read_or_refused():
    """Found by this fuzzer: a non-ASCII digit ('¹') used to crash the tokenizer with AttributeError."""
    for text in ("\u00b9", "\u0663", "x\u00b2", "\u2462"):
        _timed(tokenize, text)


def test_a_hostile_answer_runs_nothing(tmp_path):
    canary = tmp_path / "canary"
    text = f"__import__('os').system('touch {canary}')"
    for fn in (tokenize, parse):
        try:
            fn(text)
        except ParseError:
            pass
    with no_evaluator(text):
        api.check("ift6135-h22/5.2", text)
    assert not canary.exists()


def test_zz_print_figures(capsys):
    """The figures of this module's run (printed with -s or -rA; kept in the test report)."""
    with capsys.disabled():
        print(f"\nfuzz (syntax): {FIGURES['inputs']} inputs tried, {FIGURES['parsed']} read, "
              f"{FIGURES['refused']} refused with a parse error, {FIGURES['too_costly']} refused by the size "
              f"limits, {FIGURES['crashes']} crashes, slowest {FIGURES['slowest_s']:.2f} s")
    assert FIGURES["crashes"] == 0
