"""The HTML report: correct math, verdicts that read right, navigation, size, valid HTML, accessibility.

Most tests render a document built from every registered claim's declaration with synthetic check
results (no check runs: fast), so every statement, assumption and key of the project is rendered.
A few render real results of small topics.  Each problem of issue 15 has a test here that fails
on the report before it (raw LaTeX, wrong badge, missing viewport/navigation, duplicated plots and
IDs, glyph-outline SVG text, inaccessible plots, low contrast, unlabelled pixel grids).
"""
import copy
import html as html_lib
import re

import html5lib
import pytest

from derivcheck.reports import inputs
from derivcheck.reports.html import build_view, display_status, render_html, short_method
from derivcheck.reports.mathml import leaks, sympy_text_to_latex, to_mathml
from derivcheck.reports.plots import describe, render_svg
from derivcheck.runner import document, verify

NO_GRADINGS = inputs.Gradings(False, reason="answer-set grading is not available in this test")


# --------------------------------------------------------------------------- documents
def _record(c, status=None, **extra):
    d = c.describe()
    expect = d["expect"]
    d.update({
        "status": status or "symbolic-only",
        "symbolic": {"verdict": expect, "method": "simplify(lhs - rhs) = 0", "residual": "0",
                     "residual_latex": "0", "counterexample": None, "detail": "", "check": "x.y", "elapsed_s": 0.01},
        "numeric": [], "numeric_declared": 0,
    })
    d.update(extra)
    return d


def _doc(records, profile="quick"):
    from derivcheck.store import summarize

    return {"derivcheck": "0.1.0", "generated": "2026-01-01T00:00:00+00:00", "profile": profile, "policy": {},
            "summary": summarize(records), "claims": records}


@pytest.fixture(scope="module")
def every_claim_doc(registry):
    return _doc([_record(c) for c in registry])


@pytest.fixture(scope="module")
def every_claim_html(every_claim_doc):
    return render_html(every_claim_doc, gradings=NO_GRADINGS)


@pytest.fixture(scope="module")
def gan_html(registry):
    doc = document(verify(registry.select("gan_dynamics"), registry=registry))
    return render_html(doc, gradings=NO_GRADINGS), doc


def _parse(page):
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)


def _card(page, claim_id):
    m = re.search(r'<article class="claim[^"]*" id="%s".*?</article>' % re.escape(claim_id), page, re.S)
    assert m, f"no card for {claim_id}"
    return m.group(0)


def _visible_math_text(page):
    """The text a reader sees inside <math> elements."""
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", m)) for m in re.findall(r"<math\b.*?</math>", page, re.S)]


# --------------------------------------------------------------------------- self-contained, valid
def test_report_is_self_contained(gan_html):
    page, _ = gan_html
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|link|img|iframe|image)\b[^>]*\s(src|href)\s*=\s*['\"]?(https?:)?//", page)
    assert "@import" not in page and "url(http" not in page
    assert not re.search(r"<script[^>]*\ssrc=", page), "scripts are inline"
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_report_is_valid_html_with_unique_ids(every_claim_html, gan_html):
    for page in (every_claim_html, gan_html[0]):
        _parse(page)  # strict: raises on any parse error
        ids = re.findall(r'\sid="([^"]+)"', page)
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        assert not dupes, f"duplicate element IDs: {dupes[:10]}"
        # every in-page link points at an element that exists
        targets = set(ids)
        missing = {h for h in re.findall(r'href="#([^"]+)"', page) if html_lib.unescape(h) not in targets}
        assert not missing, f"links to missing anchors: {sorted(missing)[:10]}"


# --------------------------------------------------------------------------- correct math
def test_no_raw_latex_in_any_statement_assumption_or_key(registry):
    leaked = []
    for c in registry:
        d = c.describe()
        texts = [d["statement"], *d["assumptions"]] + ([d["answer"]] if d["answer_is_latex"] else [])
        for tex in texts:
            for display in (False, True):
                out = to_mathml(tex, display)
                if leaks(out) or "<code" in out:
                    leaked.append((c.id, tex[:60]))
    assert not leaked, f"raw LaTeX left in the math: {leaked[:8]}"


def test_no_raw_latex_visible_in_the_report(every_claim_html):
    bad = [t for t in _visible_math_text(every_claim_html) if "\\" in t]
    assert not bad, bad[:5]
    for raw in (r"\arg", r"\%", r"\_", r"\frac"):
        assert raw not in "".join(_visible_math_text(every_claim_html))


def test_known_leaks_are_fixed():
    assert not leaks(to_mathml(r"D^* = \arg\max_{d} f(d)"))
    assert "arg" in to_mathml(r"\arg\max_q L")
    out = to_mathml(r"\text{a 100\% gap; see vae.elbo\_decomposition}")
    assert "100%" in html_lib.unescape(out) and "elbo_decomposition" in out and not leaks(out)


def test_a_real_leak_is_detected():
    assert leaks('<math><mi>\\foo</mi></math>')
    assert not leaks("<math><mi>x</mi></math>")


def test_sympy_residuals_and_counterexamples_become_math():
    assert sympy_text_to_latex("alpha**2") == r"{\alpha}^{2}"
    assert sympy_text_to_latex("oo") == r"\infty"
    assert sympy_text_to_latex("sqrt(2)/2") == r"\frac{\sqrt{2}}{2}"
    assert sympy_text_to_latex("__import__('os')") is None  # not an expression: stays text
    assert sympy_text_to_latex("{1, 2}") is None


def test_residual_and_counterexample_render_as_math_not_sympy_text(registry):
    c = registry.get("gan_dynamics.eigenvalues")
    rec = _record(c, status="failed")
    rec["symbolic"].update(verdict="fails", residual="alpha**2 + 1", residual_latex=None,
                           counterexample={"alpha": "oo", "k": "3"})
    page = render_html(_doc([rec]), gradings=NO_GRADINGS)
    card = _card(page, c.id)
    assert "alpha**2" not in card and "<msup>" in card
    assert "&#x0221E;" in card or "∞" in card, "oo is shown as infinity"
    assert "oo" not in re.sub(r"<[^>]+>", "", card.split("counterexample")[1][:400])


def test_method_is_a_short_sentence_with_the_details_folded():
    long = "expand the IWAE bound; " + "apply Jensen term by term, " * 60 + "done"
    short, more = short_method(long)
    assert len(short) <= 115 and more == " ".join(long.split())
    assert short_method("simplify(lhs - rhs) = 0") == ("simplify(lhs - rhs) = 0", "")


def test_long_method_is_folded_in_the_card(registry):
    c = registry.get("vae.iwae_convergence") if "vae.iwae_convergence" in registry else next(iter(registry))
    rec = _record(c)
    rec["symbolic"]["method"] = "step; " * 300
    card = _card(render_html(_doc([rec]), gradings=NO_GRADINGS), c.id)
    visible, folded = card.split("<details>", 1) if "<details>" in card else (card, "")
    assert "step; " * 300 not in visible.replace("\n", "")
    assert "method details" in card and "step; step;" in folded


# --------------------------------------------------------------------------- verdicts that read right
def test_refuted_statement_has_one_refuted_badge_not_verified(registry):
    refuted = [c for c in registry if c.expect.value == "fails"]
    assert refuted
    c = refuted[0]
    rec = _record(c, status="verified")
    rec["numeric"] = [{"check": "n.c", "verdict": "fails", "seed": 1, "elapsed_s": 0.1, "skipped": None,
                       "detail": "", "evidence": [], "tables": [], "plots": []}]
    card = _card(render_html(_doc([rec]), gradings=NO_GRADINGS), c.id)
    assert "refuted: the answer set is wrong here" in card
    assert "b-verified" not in card, "no green 'verified' badge on a refuted statement"
    assert "b-failed" not in card and "b-fails" not in card, "the checks that show it false are not red"
    assert display_status(rec) == "refuted"


def test_a_failing_claim_is_red_and_says_so(registry):
    c = registry.get("gan_dynamics.eigenvalues")
    import sympy as sp

    from derivcheck.runner import ClaimOutcome, run_symbolic

    wrong = c.variant(answer=(1 + c.answer[0].free_symbols.pop(), sp.Integer(1)))
    doc = document([ClaimOutcome(wrong, run_symbolic(wrong))])
    page = render_html(doc, gradings=NO_GRADINGS)
    card = _card(page, doc["claims"][0]["id"])
    assert "is-failed" in card and "b-failed" in card and ">failing<" in card and "counterexample" in card
    assert doc["summary"]["ok"] is False


def test_definition_status_and_provenance_are_shown(registry):
    c = registry.get("gan_dynamics.update_matrix")
    rec = _record(c, status="definition", provenance="key transcribed from the answer set's figure 2")
    page = render_html(_doc([rec]), gradings=NO_GRADINGS)
    card = _card(page, c.id)
    assert ">definition<" in card and "b-definition" in card and "b-verified" not in card
    assert "Provenance:" in card and "transcribed from the answer set" in card
    view = build_view(_doc([rec]), gradings=NO_GRADINGS, keys={})
    assert view["totals"]["definition"] == 1 and view["totals"]["verified"] == 0


# --------------------------------------------------------------------------- navigation
def test_viewport_print_styles_filters_and_expand_all(every_claim_html):
    page = every_claim_html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media print" in page
    for f in ("refuted", "failed", "inconclusive", "needs-human"):
        assert f'data-filter="{f}"' in page
    assert 'id="expand-all"' in page
    # the controls need the script, so they start hidden: the page reads the same with scripts off
    assert re.search(r'<div id="controls" hidden', page)


def test_summary_per_assignment_with_run_details(registry):
    recs = [_record(c, status="verified") for c in registry.select("gan_dynamics")]
    doc = _doc(recs)
    doc.update(seed=1234, wall_s=12.5, environment={
        "versions": {"python": "3.11", "sympy": "1.14.0", "numpy": "2.4", "scipy": "1.17", "torch": "2.13.0"},
        "commit": "a844401167c86debba9a5118e1bb4bde6993efe1", "dirty": False})
    page = render_html(doc, gradings=NO_GRADINGS)
    summary = page.split('id="summary"')[1].split('id="policy"')[0]
    assert "ift6135-h22" in summary
    for word in ("verified", "refuted", "symbolic only", "failing", "inconclusive", "1234", "12.5 s",
                 "a844401167c8", "1.14.0", "2.13.0", "quick"):
        assert word in summary, word
    view = build_view(doc, gradings=NO_GRADINGS, keys={})
    [h22] = [a for a in view["assignments"] if a["slug"] == "ift6135-h22"]
    assert h22["counts"]["refuted"] >= 1 and h22["counts"]["verified"] + h22["counts"]["refuted"] == len(recs)


def test_contents_tree_assignment_question_claim_with_anchors(every_claim_doc, every_claim_html):
    page = every_claim_html
    nav = page.split('<nav class="toc"')[1].split("</nav>")[0]
    from derivcheck.catalogue import questions

    for qid in questions():
        anchor = "q-" + qid
        assert f'id="{anchor}"' in page, f"no section for question {qid}"
        assert f'href="#{anchor}"' in nav, f"question {qid} is not in the contents"
    for c in every_claim_doc["claims"]:
        assert f'href="#{c["id"]}"' in nav and f'id="{c["id"]}"' in page
    for slug in ("ift6135-h22", "ift6135-a23", "mit-hw4", "vae-simclr"):
        assert f'href="#a-{slug}"' in nav


def test_each_claim_card_appears_once(every_claim_doc, every_claim_html):
    for c in every_claim_doc["claims"]:
        assert every_claim_html.count(f'id="{c["id"]}"') == 1


def test_per_question_view_lists_key_and_claims(registry):
    recs = [_record(c, status="verified") for c in registry.select("gan_dynamics")]
    page = render_html(_doc(recs), gradings=NO_GRADINGS,
                       keys={"ift6135-h22/4.3": {"claims": ["gan_dynamics.eigenvalues"], "status": "ok", "message": ""}})
    q = page.split('id="q-ift6135-h22/4.3"')[1].split("<section")[0]
    assert "Key:" in q and 'href="#gan_dynamics.eigenvalues"' in q and "<math" in q
    assert "Claims behind it" in q and 'id="gan_dynamics.eigenvalue_modulus"' in q


def test_answer_sets_are_shown_per_question():
    sets = [{"name": "answer set 003", "source": "seeds/003.txt", "assignment": "ift6135-h22", "results": [
        {"question": "ift6135-h22/4.3", "verdict": "incorrect", "score": 0, "max_score": 2,
         "first_wrong_step": 2, "message": "drops the stretch factor",
         "answer": [r"v_{k+1} = A v_k", r"\|A v\| = \|v\|", r"\|v_k\| = \|v_0\|"]},
        {"question": "ift6135-h22/4.1", "verdict": "correct", "score": 2, "max_score": 2,
         "first_wrong_step": None, "message": ""}]}]
    from derivcheck import REGISTRY

    recs = [_record(c, status="verified") for c in REGISTRY.select("gan_dynamics")]
    page = render_html(_doc(recs), gradings=inputs.Gradings(True, sets=inputs.normalise_gradings(sets)), keys={})
    _parse(page)
    overview = page.split('id="answer-sets"')[1].split("<section")[0]
    assert "answer set 003" in overview and "2 / 4" in overview and 'href="#q-ift6135-h22/4.3"' in overview
    q = page.split('id="q-ift6135-h22/4.3"')[1].split("<section")[0]
    assert "How each answer set answered it" in q and "step 3" in q and "drops the stretch factor" in q
    q41 = page.split('id="q-ift6135-h22/4.1"')[1].split("<section")[0]
    assert "b-correct" in q41 and "answer set 003 (2/2)" in q41
    assert "b-incorrect" in q
    # the derivation is shown as math, its first wrong step (0-based index 2: the third) marked in words
    steps = re.search(r'<ol class="steps">(.*?)</ol>', q, re.S).group(1)
    items = re.findall(r"<li(?: class=\"wrong\")?>.*?</li>", steps, re.S)
    assert len(items) == 3 and "first wrong step" in items[2] and "wrong" not in items[0]
    assert "<math" in steps and "\\|" not in "".join(_visible_math_text(steps))


def test_answer_sets_missing_module_is_said_not_an_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_answer_sets(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "derivcheck.grading" and fromlist and "answer_sets" in fromlist:
            raise ImportError("no answer_sets")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_answer_sets)
    g = inputs.answer_set_gradings()
    assert g.available is False and "not available" in g.reason
    page = render_html(_doc([]), gradings=g, keys={})
    assert "Answer-set grading is not available" in page


# --------------------------------------------------------------------------- size
def _line_plot(title="Distance", n=60, series=3):
    return {"title": title, "xlabel": "step k", "ylabel": "norm", "kind": "line", "logy": False, "caption": "c",
            "series": [{"label": f"alpha = {i}", "x": list(range(n)), "y": [1.01 ** (j * (i + 1)) for j in range(n)],
                        "style": "o-"} for i in range(series)]}


def test_svg_text_is_text_not_glyph_outlines():
    svg = render_svg(_line_plot(), "fig-9")
    assert "<text" in svg and ">step k<" in svg and ">norm<" in svg
    assert "DejaVuSans-" not in svg, "glyphs are not drawn as paths"
    assert len(svg) < 30_000, f"a three-series line plot is {len(svg)} bytes"


def test_each_plot_is_embedded_once_with_unique_ids(registry):
    plot = _line_plot()
    recs = []
    for cid in ("gan_dynamics.behaviour", "gan_dynamics.answer_set_rotation"):
        rec = _record(registry.get(cid), status="verified")
        rec["numeric"] = [{"check": "n.for_" + cid, "verdict": rec["expect"], "seed": 1, "elapsed_s": 0.1,
                           "skipped": None, "detail": "", "evidence": [], "tables": [],
                           "plots": [copy.deepcopy(plot), _line_plot("Other", 20, 1)]}]
        recs.append(rec)
    page = render_html(_doc(recs), gradings=NO_GRADINGS)
    assert page.count("<svg") == 2, "two distinct figures, each embedded once"
    assert page.count("the same figure as under") == 2


def test_a_confirmation_shared_by_two_claims_shows_its_evidence_once(registry):
    ev = [{"quantity": "q", "estimate": 1.0, "reference": 1.0, "relation": "==", "error": 0.1,
           "error_kind": "standard error", "tolerance": 0.6, "rule": "z = 6.11", "n": 100, "seed": 1,
           "verdict": "holds", "z": 0.0, "detail": ""}]
    recs = []
    for cid in ("gan_dynamics.eigenvalues", "gan_dynamics.eigenvalue_modulus"):
        rec = _record(registry.get(cid), status="verified")
        rec["numeric"] = [{"check": "n.shared", "verdict": "holds", "seed": 1, "elapsed_s": 0.1, "skipped": None,
                           "detail": "", "evidence": ev, "tables": [], "plots": [_line_plot()]}]
        recs.append(rec)
    page = render_html(_doc(recs), gradings=NO_GRADINGS)
    assert page.count('<table class="grid evidence">') == 1 and page.count("<svg") == 1
    assert "The same confirmation" in page and 'href="#gan_dynamics.eigenvalues-n0"' in page
    # the link points up the page, to the card shown first
    assert page.index('id="gan_dynamics.eigenvalues-n0"') < page.index("The same confirmation")


# --------------------------------------------------------------------------- accessibility
def test_headings_are_in_order(every_claim_html, gan_html):
    for page in (every_claim_html, gan_html[0]):
        levels = [int(h) for h in re.findall(r"<h([1-6])\b", page)]
        assert levels[0] == 1 and levels.count(1) == 1
        jumps = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
        assert not jumps, f"heading levels skip: {jumps[:5]}"


def test_claim_headings_carry_words_not_only_the_id(every_claim_doc, every_claim_html):
    for c in every_claim_doc["claims"][:20]:
        h = re.search(r'<h4 id="%s-h">(.*?)</h4>' % re.escape(c["id"]), every_claim_html, re.S).group(1)
        assert c["title"] and c["title"] in html_lib.unescape(h)


def test_every_table_header_has_a_name(gan_html):
    page, _ = gan_html
    empty = re.findall(r"<th[^>]*>\s*</th>", page)
    assert not empty
    assert "<th>relation</th>" in page


def test_plots_have_role_title_and_text_alternative(gan_html):
    page, doc = gan_html
    svgs = re.findall(r"<svg\b[^>]*>.*?</svg>", page, re.S)
    assert svgs
    for svg in svgs:
        head = svg[:svg.find(">")]
        assert 'role="img"' in head
        ids = re.search(r'aria-labelledby="([^"]+)"', head).group(1).split()
        for i in ids:
            m = re.search(r'<(title|desc) id="%s">([^<]+)<' % re.escape(i), svg)
            assert m and m.group(2).strip(), f"{i} names no text"
    plot = _line_plot()
    alt = describe(plot)
    assert "Line plot" in alt and "alpha = 0" in alt and "step k" in alt and "60 points" in alt


def _hex_rgb(h):
    h = h.lstrip("#")
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    return [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]


def _lum(rgb):
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg, bg):
    a, b = sorted((_lum(_hex_rgb(fg)), _lum(_hex_rgb(bg))), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_contrast_of_badges_and_muted_text(every_claim_html):
    css = every_claim_html.split("<style>")[1].split("</style>")[0]
    badge_colours = re.findall(r"\.b-[\w-]+(?:,\s*\.b-[\w-]+)*\s*\{\s*background:\s*(#[0-9a-fA-F]{3,6})", css)
    assert len(badge_colours) >= 6
    for bg in badge_colours:
        assert contrast("#ffffff", bg) >= 4.5, f"white on {bg}: {contrast('#ffffff', bg):.2f}"
    for var in ("--ink", "--muted", "--link"):
        fg = re.search(r"%s:\s*(#[0-9a-fA-F]{3,6})" % var, css).group(1)
        assert contrast(fg, "#ffffff") >= 4.5 and contrast(fg, "#f0f0f0") >= 4.5, var
    for fg in re.findall(r"\.caption\s*\{[^}]*color:\s*(#[0-9a-fA-F]{3,6})", css):
        assert contrast(fg, "#fcfcfc") >= 4.5
    assert contrast("#ffffff", "#ef6c00") < 4.5  # the old "inconclusive" orange: this check can fail


def test_receptive_field_grids_have_pixel_labels_and_readable_text():
    from derivcheck.numerics import masked_conv as num
    from derivcheck.derivations import masked_conv as sym

    plot = {"title": "Receptive field of output pixel 33", "kind": "images", "ncols": 4, "caption": "",
            "series": [{"label": f"case {i}", "image": num.grid_image(sym.FIELD_KEY[("A", "A")]),
                        "cell_labels": num.grid_labels()} for i in range(4)]}
    svg = render_svg(plot, "fig-3")
    labels = set(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    assert {"11", "33", "55"} <= labels, "each cell is labelled with its pixel number"
    assert min(int(size) for size in re.findall(r'font-size="(\d+)"', svg)) >= 10, "no tiny text"
    # titles do not overlap: one title, above every panel
    title_y = [float(y) for y in re.findall(r'<text x="[^"]+" y="([^"]+)"[^>]*font-weight="600"', svg)]
    first_cell_y = min(float(y) for y in re.findall(r'<g transform="translate\([^ ]+ ([^)]+)\)"', svg))
    assert title_y and max(title_y) < first_cell_y


def test_picture_grids_embed_small_pngs_not_vector_pixels():
    img = [[(i * j % 7) / 7 for j in range(28)] for i in range(28)]
    plot = {"title": "digits", "kind": "images", "ncols": 5, "series": [{"label": "d", "image": img}] * 5}
    svg = render_svg(plot, "fig-4")
    assert svg.count("data:image/png;base64,") == 1, "one mosaic for the grid"
    assert len(svg) < 12_000 and svg.count(">d</text>") == 5
