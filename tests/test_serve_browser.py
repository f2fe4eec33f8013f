r"""The live check page in headless Chromium: type a right and a wrong answer to a matrix question and
to a derivation, and read the verdicts, the preview and the highlighted step off the page.

Drives Debian's ``chromium`` (or ``$DERIVCHECK_CHROMIUM``) with Playwright for Python through
``executable_path`` (no browser download).  Skipped, with the reason, when Chromium or Playwright is
absent.  Screenshots are saved under ``build/artifacts/`` (test artifacts).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from _serve_helpers import LiveServer, require_browser, web_stack_or_skip

web_stack_or_skip()


def _skip(reason: str):
    if require_browser():  # CI with Chromium installed: a missing piece is a failure, not a skip
        pytest.fail(f"DERIVCHECK_REQUIRE_BROWSER is set but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    import playwright.sync_api  # noqa: F401
except ImportError:
    _skip("Playwright for Python is not installed (pip install -e '.[browser]'; make test installs it)")


def _chromium() -> str:
    for cand in (os.environ.get("DERIVCHECK_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if cand and (shutil.which(cand) or Path(cand).is_file()):
            return shutil.which(cand) or cand
    _skip("Chromium is not installed (apt-get install -y chromium, or set DERIVCHECK_CHROMIUM)")


CHROMIUM = _chromium()
ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "artifacts"

from playwright.sync_api import sync_playwright  # noqa: E402
from test_serve import (DERIV_Q, DERIV_RIGHT, DERIV_WRONG, EXPR_Q, EXPR_RIGHT, EXPR_WRONG,  # noqa: E402
                        MATRIX_Q, MATRIX_RIGHT, MATRIX_WRONG)

from derivcheck.web.app import Config  # noqa: E402


@pytest.fixture(scope="module")
def server():
    srv = LiveServer(Config(audience="student", workers=2, time_limit_s=5.0))
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"serve-{name}.png"), full_page=True)


def type_answer(page, text: str) -> None:
    """Type into the answer box and wait until the page has shown the verdict for exactly this text."""
    before = page.evaluate("document.body.dataset.seq || '0'")
    page.fill("#answer", text)
    page.wait_for_function("prev => document.body.dataset.state === 'done' && document.body.dataset.seq !== prev",
                           arg=before, timeout=60_000)


def verdict(page) -> str:
    return page.inner_text("#verdict").strip().lower()


def test_matrix_right_and_wrong(server, page):
    page.goto(f"{server.url}/?q={MATRIX_Q}")
    assert page.input_value("#question") == MATRIX_Q
    assert "matrix" in page.inner_text("#q-kind")
    type_answer(page, MATRIX_RIGHT)
    assert verdict(page) == "correct"
    assert page.locator("#preview math").count() == 1  # read and rendered as MathML
    shot(page, "matrix-right")
    type_answer(page, MATRIX_WRONG)
    assert verdict(page) == "incorrect"
    assert page.inner_text("#score").startswith("0")
    shot(page, "matrix-wrong")


def test_preview_shows_the_order_of_matrix_factors(server, page):
    page.goto(f"{server.url}/?q={EXPR_Q}")
    type_answer(page, EXPR_RIGHT)
    right_text = page.locator("#preview math").first.text_content().replace(" ", "").replace("\u2009", "")
    assert verdict(page) == "correct"
    type_answer(page, EXPR_WRONG)
    wrong_text = page.locator("#preview math").first.text_content().replace(" ", "").replace("\u2009", "")
    assert verdict(page) == "incorrect"
    # the preview is the parse, printed back: W_p F_1 versus F_1 W_p
    assert right_text.split("\u2212")[-1] == "WpF1"
    assert wrong_text.split("\u2212")[-1] == "F1Wp"
    shot(page, "expression-preview")


def test_derivation_highlights_the_first_wrong_step(server, page):
    page.goto(f"{server.url}/?q={DERIV_Q}")
    assert "derivation" in page.inner_text("#q-kind")
    type_answer(page, "\n".join(DERIV_WRONG))
    assert verdict(page) == "incorrect"
    rows = page.locator("#steps tbody tr")
    assert rows.count() == len(DERIV_WRONG)
    wrong = page.locator("#steps tr.first-wrong")
    assert wrong.count() == 1 and wrong.get_attribute("data-index") == "1"
    assert "fails" in wrong.inner_text() and "on the instance" in wrong.inner_text()  # its counterexample
    assert page.locator("#preview .pv-item").count() == len(DERIV_WRONG)
    shot(page, "derivation-wrong")
    type_answer(page, "\n".join(DERIV_RIGHT))
    assert verdict(page) == "correct"
    assert page.locator("#steps tr.first-wrong").count() == 0
    assert page.locator("#steps tbody tr").count() == len(DERIV_RIGHT)
    shot(page, "derivation-right")


def test_unreadable_answer_shows_where_it_stops(server, page):
    page.goto(f"{server.url}/?q={MATRIX_Q}")
    type_answer(page, r"\begin{pmatrix} 1 & \alpha")
    assert verdict(page) == "unparseable"
    assert "cannot read" in page.inner_text("#preview")


def test_upload_a_submission(server, page, tmp_path):
    import yaml

    f = tmp_path / "anon-9.yaml"
    f.write_text(yaml.safe_dump({"student": "anon-9", "answers": {MATRIX_Q: MATRIX_RIGHT, DERIV_Q: DERIV_WRONG}},
                                sort_keys=False))
    page.goto(f"{server.url}/#grade")
    page.set_input_files("#grade-file", str(f))
    page.wait_for_selector("#grade-result:not([hidden])", timeout=60_000)
    assert page.inner_text("#grade-student") == "anon-9"
    table = page.inner_text("#grade-table")
    assert MATRIX_Q in table and "correct" in table and "first wrong step: 2" in table
    with page.expect_download() as dl:
        page.click("#download-csv")
    assert dl.value.suggested_filename == "grades.csv"
    shot(page, "grade")
