"""The report in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Opened from a file:// URL, the report of every registered claim must show every claim section,
no raw LaTeX, make no request, and have no horizontal scrollbar (nor a card wider than its box)
at 1400 px and 400 px; with scripts off it still shows every claim.  Screenshots are saved under
``build/artifacts/`` (or ``$DERIVCHECK_ARTIFACTS``).

Skipped, with the reason, when Chromium or the Playwright package is missing (``pip install -e
'.[browser]'`` and ``apt-get install chromium``); ``.ci/run`` installs both and sets
``DERIVCHECK_REQUIRE_BROWSER=1`` so CI fails instead of skipping.
"""
import os
import re
import shutil
from pathlib import Path

import pytest

from derivcheck.reports import inputs
from derivcheck.reports.html import render_html

ROOT = Path(__file__).resolve().parent.parent
RAW_LATEX = re.compile(r"\\(frac|arg|mathrm|mathbb|mathcal|text|left|right|operatorname|sqrt|sum|log|max|min)\b|\\[%_]")


def _chromium():
    for name in (os.environ.get("DERIVCHECK_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _require(reason):
    if os.environ.get("DERIVCHECK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (DERIVCHECK_REQUIRE_BROWSER=1: the browser test must run here)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    if exe is None:
        _require("Chromium is not installed: apt-get install chromium (or set DERIVCHECK_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require("the Playwright package is not installed: pip install -e '.[browser]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def artifacts():
    out = Path(os.environ.get("DERIVCHECK_ARTIFACTS") or ROOT / "build" / "artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _evidence(expect):
    return [{"quantity": "mean of log-ratio over the samples (a long quantity name to stress the table)",
             "estimate": 0.123456789, "reference": 0.1234, "relation": "==", "error": 0.0012, "error_kind":
             "standard error", "tolerance": 0.0073, "rule": "z = 6.11 (two-sided, per-comparison rate 1e-9) times "
             "the standard error", "n": 100000, "seed": 123456789, "verdict": expect, "z": 0.04, "detail": ""}]


@pytest.fixture(scope="module")
def report_file(registry, tmp_path_factory):
    """A report of every registered claim (synthetic results: no check runs), with evidence tables,
    a line plot, a labelled grid and answer-set gradings on one card each."""
    from derivcheck.numerics import masked_conv as num
    from derivcheck.derivations import masked_conv as sym
    from derivcheck.store import summarize

    claims = []
    for i, c in enumerate(registry):
        d = c.describe()
        expect = d["expect"]
        d.update(status="verified", numeric_declared=1, symbolic={
            "verdict": expect, "method": "simplify(residual) = 0; " * (40 if i % 7 == 0 else 1), "residual": "0",
            "residual_latex": "0", "counterexample": None, "detail": "", "check": "m.f", "elapsed_s": 0.02})
        plots = []
        if i == 0:
            plots.append({"title": "Distance over time", "xlabel": "t", "ylabel": "norm", "kind": "line",
                          "series": [{"label": "a", "x": list(range(30)), "y": [1.1 ** k for k in range(30)],
                                      "style": "o-"}], "logy": True, "caption": "grows"})
        if i == 1:
            plots.append({"title": "Receptive field of output pixel 33", "kind": "images", "ncols": 4, "caption": "",
                          "series": [{"label": f"case {k}", "image": num.grid_image(sym.FIELD_KEY[("A", "A")]),
                                      "cell_labels": num.grid_labels()} for k in range(4)]})
        d["numeric"] = [{"check": "m.n", "verdict": expect, "seed": 7 + i, "elapsed_s": 0.1, "skipped": None,
                         "detail": "", "evidence": _evidence(expect), "tables": [], "plots": plots}]
        claims.append(d)
    claims[2]["status"] = "failed"
    claims[2]["symbolic"].update(verdict="fails", residual="alpha**2 + 1", residual_latex=None,
                                 counterexample={"alpha": "oo"})
    claims[3]["status"] = "inconclusive"
    doc = {"derivcheck": "0.1.0", "generated": "2026-01-01T00:00:00+00:00", "profile": "quick", "policy": {},
           "summary": summarize(claims), "claims": claims, "seed": 1, "wall_s": 60.0}
    first_q = claims[0]["questions"][0]
    gradings = inputs.Gradings(True, sets=inputs.normalise_gradings([
        {"name": "answer set A", "source": "seeds/a.txt", "assignment": first_q.split("/")[0], "results": [
            {"question": first_q, "verdict": "incorrect", "score": 0, "max_score": 2, "first_wrong_step": 2,
             "message": "step 2 does not follow from step 1"}]}]))
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(doc, gradings=gradings), encoding="utf-8")
    return path, [c["id"] for c in claims]


def _open(browser, path, width, javascript=True):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
    page = ctx.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return ctx, page, requests


def _check_page(page, requests, path, ids):
    # every claim section is present
    missing = page.evaluate("ids => ids.filter(id => !document.getElementById(id))", ids)
    assert not missing, f"claim sections missing: {missing[:5]}"
    # no raw LaTeX is visible, and MathML is laid out (not shown as source)
    text = page.evaluate("document.body.innerText")
    raw = RAW_LATEX.findall(text)
    assert not raw, f"raw LaTeX visible: {raw[:5]}"
    widths = page.evaluate("Array.from(document.querySelectorAll('math')).slice(0, 50)"
                           ".map(m => m.getBoundingClientRect().width)")
    assert widths and all(w > 0 for w in widths)
    # nothing was requested but the file itself
    assert [u for u in requests if u != path.as_uri() and not u.startswith("data:")] == []
    # no horizontal scrollbar; no card or table wider than its column
    sw, cw = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sw <= cw, f"horizontal scrollbar: content {sw} px in a {cw} px window"
    over = page.evaluate("""Array.from(document.querySelectorAll('article.claim, section.question'))
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.id || e.className)""")
    assert not over, f"boxes whose content overflows them: {over[:5]}"


@pytest.mark.parametrize("width", [1400, 400])
def test_report_in_chromium(browser, report_file, artifacts, width):
    path, ids = report_file
    ctx, page, requests = _open(browser, path, width)
    try:
        _check_page(page, requests, path, ids)
        page.screenshot(path=str(artifacts / f"report-{width}.png"))
        page.locator("section.question").first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"report-{width}-question.png"))
    finally:
        ctx.close()


def test_filters_and_expand_all(browser, report_file, artifacts):
    path, ids = report_file
    ctx, page, _ = _open(browser, path, 1400)
    try:
        assert page.is_visible("#controls")
        page.click("#controls button[data-filter=failed]")
        shown = page.evaluate("Array.from(document.querySelectorAll('article.claim'))"
                              ".filter(e => e.offsetParent !== null).map(e => e.id)")
        assert shown == [ids[2]], shown
        page.click("#controls button[data-filter=all]")
        page.click("#expand-all")
        closed = page.evaluate("Array.from(document.querySelectorAll('main details')).filter(d => !d.open).length")
        assert closed == 0
        page.screenshot(path=str(artifacts / "report-expanded.png"))
    finally:
        ctx.close()


def test_report_reads_with_scripts_off(browser, report_file):
    path, ids = report_file
    ctx, page, requests = _open(browser, path, 1400, javascript=False)
    try:
        _check_page(page, requests, path, ids)
        assert not page.is_visible("#controls"), "controls that need the script stay hidden"
        hidden = page.evaluate("ids => ids.filter(id => document.getElementById(id).offsetParent === null)", ids)
        assert not hidden
    finally:
        ctx.close()
