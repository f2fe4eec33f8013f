"""The HTML report is self-contained and shows claims, verdicts, evidence and plots."""
import re

import pytest

from derivcheck.reports.html import latex_to_mathml, render_html
from derivcheck.runner import document, verify


@pytest.fixture(scope="module")
def gan_html(registry):
    doc = document(verify(registry.select("gan_dynamics"), registry=registry))
    return render_html(doc), doc


def test_report_is_self_contained(gan_html):
    html, _ = gan_html
    assert html.startswith("<!DOCTYPE html>")
    # no external resources: no scripts, stylesheets, images or fonts fetched from anywhere
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*(src|href)\s*=\s*['\"]?(https?:)?//", html)
    assert "@import" not in html and "url(http" not in html


def test_report_shows_each_claim_with_verdicts_and_evidence(gan_html):
    html, doc = gan_html
    for c in doc["claims"]:
        assert f'id="{c["id"]}"' in html
    assert "<math" in html, "statements are rendered as MathML"
    assert html.count("<svg") >= 2, "the divergence and phase-plane plots are inline"
    assert "continuous flow" in html and "spiral" in html
    assert "standard error" in html or "roundoff bound" in html
    assert "ODE tolerance" in html
    assert "Answer-set statements refuted" in html and "003_6d1f8bd69ec35d2c.txt" in html


def test_report_marks_failures(registry):
    c = registry.get("gan_dynamics.eigenvalues")
    import sympy as sp

    from derivcheck.runner import ClaimOutcome, run_symbolic

    wrong = c.variant(answer=(1 + c.answer[0].free_symbols.pop(), sp.Integer(1)))
    doc = document([ClaimOutcome(wrong, run_symbolic(wrong))])
    html = render_html(doc)
    assert "status-failed" in html and "counterexample" in html
    assert doc["summary"]["ok"] is False


def test_bad_latex_is_shown_as_source_not_dropped():
    out = latex_to_mathml(r"\frac{1}{")
    assert "frac" in out or "<math" in out
