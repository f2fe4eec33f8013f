"""The self-contained HTML verification report.

:func:`render_html` turns a results document (what ``derivcheck verify --json`` prints and the
results store holds) into one HTML file that needs nothing else: math is MathML (rendered by
browsers natively), figures are inline SVG with text as text, style and the little script are
inline, and a Content-Security-Policy forbids any request.  The page reads the same with scripts
off; the script only adds the filters and the expand-all button.

Layout: a summary (per assignment: verified, refuted, symbolic-only, definition, failing,
inconclusive; run versions, commit, profile, seed), a sticky contents tree (assignment ->
question -> claim), then one section per assignment with one section per catalogue question (its
key, the claims behind it, how each answer set answered it) holding the cards of the claims whose
first question it is.  Nothing here decides a verdict: :func:`display_status` only names the one
the checks gave (a false answer-set statement that the checks show false is "refuted").
"""
from __future__ import annotations

import functools
import html
import re
from collections import OrderedDict
from pathlib import Path
from typing import Optional

import jinja2
from markupsafe import Markup

from . import inputs
from .mathml import leaks, sympy_text_to_latex, to_inline_html, to_mathml
from .plots import plot_key, render_svg

TEMPLATES = Path(__file__).with_name("templates")

TOPIC_TITLES = {
    "gan_dynamics": "GAN gradient descent-ascent dynamics",
    "vae": "Variational autoencoders",
    "flows": "Normalizing flows",
    "gan_theory": "GAN theory: optimal discriminator and generator costs",
    "simsiam": "SimSiam linear dynamics",
    "masked_conv": "Masked convolutions",
    "contrastive": "Contrastive learning",
}

# what each displayed status says, in words (colour is never the only signal)
STATUS_LABELS = {
    "verified": "verified",
    "refuted": "refuted: the answer set is wrong here",
    "symbolic-only": "symbolic only",
    "definition": "definition",
    "transcribed": "transcribed: the key's data come from an answer set",
    "failed": "failing",
    "inconclusive": "inconclusive",
    "not-run": "not run",
}
SUMMARY_COLUMNS = ("verified", "refuted", "symbolic-only", "definition", "transcribed", "failed", "inconclusive")
HUMAN_KINDS = ("text", "derivation", "code", "unavailable")


def latex_to_mathml(tex: str, display: bool = False) -> str:
    """MathML for ``tex`` (see :mod:`.mathml`); kept under this name for callers of older versions."""
    return to_mathml(tex, display)


def display_status(claim: dict) -> str:
    """The status a reader sees: a false answer-set statement shown false is ``refuted``."""
    status = claim.get("status", "inconclusive")
    if claim.get("expect") == "fails" and status in ("verified", "symbolic-only", "transcribed"):
        return "refuted"
    return status


def check_badge(verdict: str, expect: str) -> tuple:
    """(css class, words) for one check's verdict, read against what the claim expects."""
    if verdict == "inconclusive":
        return "inconclusive", "inconclusive"
    if expect == "fails":
        return ("refuted", "shows the statement false") if verdict == "fails" else ("failed", "holds: not refuted")
    return ("holds", "holds") if verdict == "holds" else ("failed", "fails")


def short_method(text: str, limit: int = 110) -> tuple:
    """(a short sentence, the rest or '') of a symbolic method description."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text, ""
    cut = max(text.rfind("; ", 0, limit), text.rfind(". ", 0, limit), text.rfind(", ", 0, limit))
    if cut < limit // 3:
        cut = text.rfind(" ", 0, limit)
    if cut <= 0:
        cut = limit
    return text[:cut].rstrip(" ;,.") + " …", text


def _fmt(value) -> str:
    if isinstance(value, dict) and set(value) == {"re", "im"}:
        return f"{value['re']:.6g}{value['im']:+.6g}i"
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "–"
    return html.escape(str(value))


def _sympy_math(text, display: bool = False) -> str:
    """Math for a value a check printed in SymPy's form; the text in <code> when it is not math."""
    if text is None:
        return ""
    s = str(text)
    tex = sympy_text_to_latex(s)
    if tex is not None:
        out = to_mathml(tex, display)
        if "<math" in out and not leaks(out):
            return out if display else f'<span class="imath">{out}</span>'
    return f"<code>{html.escape(s)}</code>"


def _answer_html(answer, wrong=None) -> str:
    """An answer set's answer as the reader should see it: LaTeX as math, a derivation as a
    numbered list of steps with its first wrong step marked (in words, not only colour), option
    labels and mappings as text.  The text is parsed by latex2mathml only, never evaluated."""
    def one(text) -> str:
        text = str(text)
        if re.search(r"[\\^_{}=<>]", text):
            out = to_inline_html(text)
            if "<math" in out and not leaks(out) and 'class="tex"' not in out:
                return out
        return f"<code>{html.escape(text)}</code>"

    if answer is None or answer == "" or answer == []:
        return '<span class="meta">no answer</span>'
    if isinstance(answer, dict):
        return "; ".join(f"{html.escape(str(k))}: {one(v)}" for k, v in answer.items())
    if isinstance(answer, (list, tuple)):
        items = []
        for i, step in enumerate(answer):
            mark = ' class="wrong"' if wrong is not None and i == wrong else ""
            note = ' <span class="wrong-note">(first wrong step)</span>' if mark else ""
            items.append(f"<li{mark}>{one(step)}{note}</li>")
        return f'<ol class="steps">{"".join(items)}</ol>'
    return one(answer)


def _step_number(value):
    """The 1-based step number of a 0-based ``first_wrong_step`` index (None when there is none)."""
    if value is None or value == "":
        return None
    try:
        return int(value) + 1
    except (TypeError, ValueError):
        return value


def _symbol_math(name: str) -> str:
    tex = sympy_text_to_latex(str(name))
    return f'<span class="imath">{to_mathml(tex)}</span>' if tex is not None else f"<code>{html.escape(str(name))}</code>"


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _anchor(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/]", "-", text)


# --------------------------------------------------------------------------- the view model
def _catalogue():
    try:
        from derivcheck.catalogue import questions

        return questions()
    except Exception:  # pragma: no cover - the catalogue ships with the package
        return {}


def _environment(doc: dict) -> list:
    env = doc.get("environment") or {}
    rows = [("profile", doc.get("profile") or "–")]
    seed = doc.get("seed")
    rows.append(("seed", str(seed) if seed is not None else "each check's own fixed seed (shown per check)"))
    if doc.get("wall_s") is not None:
        rows.append(("wall time", f"{float(doc['wall_s']):.1f} s"))
    rows.append(("generated", doc.get("generated") or "–"))
    rows.append(("derivcheck", doc.get("derivcheck") or "–"))
    commit = env.get("commit")
    rows.append(("git commit", (commit[:12] + (" (modified)" if env.get("dirty") else "")) if commit else "not recorded"))
    versions = env.get("versions") or {}
    for lib in ("python", "sympy", "numpy", "scipy", "torch"):
        rows.append((lib, versions.get(lib) or "not recorded"))
    if env.get("device"):
        rows.append(("device", env["device"]))
    return rows


def _claim_time(c: dict) -> float:
    t = float((c.get("symbolic") or {}).get("elapsed_s") or 0.0)
    return t + sum(float(r.get("elapsed_s") or 0.0) for r in c.get("numeric", []))


def build_view(doc: dict, *, gradings: Optional[inputs.Gradings] = None, keys: Optional[dict] = None) -> dict:
    """Everything the template shows, as plain data (tests read it too)."""
    catalogue = _catalogue()
    claims = [dict(c) for c in doc.get("claims", [])]
    by_id = {c["id"]: c for c in claims}
    for c in claims:
        c["display"] = display_status(c)
        c["display_label"] = STATUS_LABELS.get(c["display"], c["display"])
        c["short_method"], c["method_more"] = short_method((c.get("symbolic") or {}).get("method", ""))

    if gradings is None:
        gradings = inputs.answer_set_gradings()
    graded = inputs.grading_results_by_question(gradings.sets) if gradings.available else {}

    # questions: the catalogue's, in its order, plus any a claim or a grading names that it lacks
    qids = list(catalogue)
    for c in claims:
        qids += [q for q in c.get("questions", []) if q not in qids]
    for q in graded:
        if q not in qids:
            qids.append(q)
    if keys is None:
        keys = inputs.question_keys([q for q in qids if q in catalogue]) if claims else {}

    home: dict = {}
    for c in claims:  # each card lives once: under the first of its questions in catalogue order
        qs = sorted(c.get("questions", []), key=lambda q: qids.index(q) if q in qids else len(qids))
        home[c["id"]] = qs[0] if qs else None

    assignments: "OrderedDict[str, dict]" = OrderedDict()
    for qid in qids:
        slug = qid.split("/", 1)[0]
        a = assignments.setdefault(slug, {"slug": slug, "anchor": f"a-{_anchor(slug)}", "questions": [],
                                          "claim_ids": []})
        q = catalogue.get(qid)
        qclaims = [c for c in claims if qid in c.get("questions", [])]
        kind = q.kind if q is not None else "unknown"
        key = (keys or {}).get(qid)
        key_claims = [by_id[k] for k in (key or {}).get("claims", []) if k in by_id]
        results = graded.get(qid, [])
        flags = {d for c in qclaims for d in [c["display"]]}
        needs_human = kind in HUMAN_KINDS or any(r.get("verdict") == "needs-human" for _, r in results) or (
            key is not None and key.get("status") not in ("ok", None))
        a["questions"].append({
            "id": qid, "anchor": f"q-{_anchor(qid)}", "number": qid.split("/", 1)[-1], "kind": kind,
            "ask": q.ask if q is not None else "", "in_catalogue": q is not None,
            "claims": qclaims, "cards": [c for c in qclaims if home[c["id"]] == qid],
            "key": key, "key_claims": key_claims, "results": results,
            "flags": sorted(flags | ({"needs-human"} if needs_human else set())),
        })
        for c in qclaims:
            if c["id"] not in a["claim_ids"]:
                a["claim_ids"].append(c["id"])
    orphans = [c for c in claims if home[c["id"]] is None]

    for a in assignments.values():
        cs = [by_id[i] for i in a["claim_ids"]]
        a["counts"] = {k: sum(1 for c in cs if c["display"] == k) for k in SUMMARY_COLUMNS}
        a["counts"]["claims"] = len(cs)
        a["time_s"] = sum(_claim_time(c) for c in cs)
        a["title"] = _assignment_title(a["slug"])
    totals = {k: sum(1 for c in claims if c["display"] == k) for k in SUMMARY_COLUMNS}
    totals["claims"] = len(claims)
    totals["time_s"] = sum(_claim_time(c) for c in claims)
    extra_statuses = sorted({c["display"] for c in claims} - set(SUMMARY_COLUMNS))

    # a confirmation shared by several claims: its evidence is shown once, later cards link to it;
    # figures: each distinct plot once; a repeat links to the first
    # ("first" in the order the cards appear on the page)
    shown: dict = {}
    seen: dict = {}
    n = 0
    page_order = [c for a in assignments.values() for q in a["questions"] for c in q["cards"]] + orphans
    for c in page_order:
        c["numeric"] = [dict(r) for r in c.get("numeric", [])]
        for k, r in enumerate(c["numeric"]):
            r["anchor"] = f"{c['id']}-n{k}"
            key = plot_key({kk: r.get(kk) for kk in ("check", "seed", "evidence", "tables", "plots", "detail")})
            if r.get("evidence") or r.get("tables") or r.get("plots"):
                if key in shown:
                    r["same_as"] = shown[key]
                else:
                    shown[key] = {"anchor": r["anchor"], "claim": c["id"]}
            r["figures"] = []
            if r.get("same_as"):
                continue
            for p in r.get("plots", []) or []:
                k = plot_key(p)
                if k in seen:
                    r["figures"].append({"repeat_of": seen[k], "plot": p})
                else:
                    n += 1
                    seen[k] = {"uid": f"fig-{n}", "claim": c["id"]}
                    r["figures"].append({"uid": f"fig-{n}", "plot": p})

    return {
        "link_targets": {v["anchor"] for v in shown.values()},
        "doc": doc,
        "claims": claims,
        "assignments": list(assignments.values()),
        "orphans": orphans,
        "refuted": [c for c in claims if c.get("expect") == "fails"],
        "totals": totals,
        "extra_statuses": extra_statuses,
        "environment": _environment(doc),
        "policy": doc.get("policy") or {},
        "gradings": gradings,
        "status_labels": STATUS_LABELS,
        "summary_columns": SUMMARY_COLUMNS,
        "topic_titles": TOPIC_TITLES,
        "home": home,
        "empty": not claims,
    }


_ASSIGNMENT_TITLES = {
    "ift6135-h22": "IFT6135 (winter 2022)",
    "ift6135-a23": "IFT6135 (fall 2023)",
    "mit-hw4": "MIT homework 4",
    "vae-simclr": "VAE and SimCLR problem set",
}


def _assignment_title(slug: str) -> str:
    return _ASSIGNMENT_TITLES.get(slug, slug)


# --------------------------------------------------------------------------- rendering
@functools.lru_cache(maxsize=1)
def _environment_jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["math"] = lambda tex: Markup(to_inline_html(tex))
    env.filters["displaymath"] = lambda tex: Markup(to_mathml(tex, display=True))
    env.filters["sympymath"] = lambda text: Markup(_sympy_math(text))
    env.filters["symbolmath"] = lambda name: Markup(_symbol_math(name))
    env.filters["num"] = lambda v: Markup(_fmt(v))
    env.filters["svg"] = lambda fig: Markup(render_svg(fig["plot"], fig["uid"]))
    env.filters["check_badge"] = lambda verdict, expect: check_badge(verdict, expect)
    env.filters["answer"] = lambda r: Markup(_answer_html(r.get("answer"), _int_or_none(r.get("first_wrong_step"))))
    env.filters["step_number"] = _step_number
    env.filters["anchor"] = _anchor
    return env


def render_html(doc: dict, *, gradings: Optional[inputs.Gradings] = None, keys: Optional[dict] = None) -> str:
    """The report as one HTML string.  ``gradings``/``keys`` default to what the grader provides
    (:mod:`.inputs`); pass them to render other data (tests do)."""
    view = build_view(doc, gradings=gradings, keys=keys)
    page = _environment_jinja().get_template("report.html.j2").render(**view).lstrip()
    page = re.sub(r"\n[ \t]+", "\n", page)  # indentation only: the page has no preformatted text
    # line breaks before block-level and SVG shape tags render as nothing
    return re.sub(r"\n+(?=</?(?:div|tr|td|th|table|thead|tbody|section|article|p|ul|li|details|summary|h[1-6]|figure|"
                  r"figcaption|dl|dt|dd|path|use|rect|image|defs|g|text|title|desc|style)\b)", "", page)
