r"""What the workers run: check one answer, and show how an answer is read (the live preview).

Both are plain functions of JSON-able arguments that return JSON-able
values, so they run the same in a forked worker (:mod:`.pool`) and inline.

:func:`preview` parses the answer with the grader's own grammar and notation
context (:mod:`grading.syntax`, :mod:`grading.semantics`) and prints the
*reading* back as LaTeX (:mod:`grading.render`) and MathML, so a student
sees ``F_{12} - W_p F_1`` versus ``F_{12} - F_1 W_p`` as the grader reads
it before submitting.  Ambiguous notation shows every reading.  The preview
never decides a verdict and never shows the key.
"""
from __future__ import annotations

import functools
from typing import Any

from derivcheck.grading.questions import contexts
from derivcheck.grading.syntax import ParseError

#: kinds whose answers are LaTeX the grader parses (the preview shows the reading)
MATH_KINDS = ("expression", "matrix", "point", "set")
#: answers longer than this are not previewed (the grader's own guard is larger)
PREVIEW_MAX_CHARS = 4000
PREVIEW_MAX_STEPS = 60


def check(qid: str, answer: Any, time_limit_s: float) -> dict:
    """The grader's result for one answer, as the staff dictionary (the server filters by audience)."""
    from derivcheck.grading.api import check as grade_one

    return grade_one(qid, answer, time_limit_s=time_limit_s).to_dict("staff")


def load_submission_text(data: bytes, name: str = "<upload>") -> dict:
    """A submission file's bytes (YAML or JSON), read by the grader's hardened loader
    (:func:`derivcheck.grading.submission.load_submission`: size cap, no YAML aliases, node count);
    raises its ``SubmissionError`` with the line, column and advice."""
    from derivcheck.grading.submission import load_submission

    return load_submission(data, name=name)


_MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac", "msqrt",
    "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
    "menclose", "mfenced", "semantics", "annotation",
}
_MATHML_ATTRS = {
    "xmlns", "display", "stretchy", "fence", "form", "separator", "lspace", "rspace", "width", "height", "depth",
    "mathvariant", "linethickness", "accent", "accentunder", "movablelimits", "columnalign", "rowspacing",
    "columnspacing", "displaystyle", "scriptlevel", "notation", "open", "close", "separators", "encoding",
    "largeop", "symmetric", "minsize", "maxsize", "columnlines", "rowlines", "frame", "framespacing",
    "equalrows", "equalcolumns", "align", "rowalign", "class",
}


def _sanitize_mathml(markup: str) -> str:
    """Re-serialize MathML keeping only MathML elements and presentation attributes ('' if not well formed).

    latex2mathml copies ``\\text{...}`` into the output unescaped, so its output is parsed as XML and
    written back by ElementTree (which escapes text) before it reaches a page."""
    import xml.etree.ElementTree as ET

    ns = "{http://www.w3.org/1998/Math/MathML}"
    try:
        root = ET.fromstring(markup)
    except ET.ParseError:
        return ""
    for el in root.iter():
        tag = el.tag[len(ns):] if el.tag.startswith(ns) else el.tag
        if tag not in _MATHML_TAGS:
            return ""
        el.tag = tag
        for a in list(el.attrib):
            if a not in _MATHML_ATTRS:
                del el.attrib[a]
    root.set("xmlns", "http://www.w3.org/1998/Math/MathML")
    return ET.tostring(root, encoding="unicode")


@functools.lru_cache(maxsize=4096)
def mathml(tex: str, display: bool = False) -> str:
    """MathML for ``tex`` (latex2mathml, sanitized); '' when it cannot convert."""
    if not tex:
        return ""
    try:
        from latex2mathml.converter import convert

        return _sanitize_mathml(convert(tex, display="block" if display else "inline"))
    except Exception:  # noqa: BLE001 - latex2mathml does not know every macro
        return ""


def _error(exc, text: str) -> dict:
    pos = getattr(exc, "position", None)
    describe = getattr(exc, "describe", None)
    return {"message": describe() if describe else str(exc), "position": pos,
            "expected": list(getattr(exc, "expected", []) or [])[:12],
            "pointer": exc.pointer() if hasattr(exc, "pointer") else ""}


def _as_typed(text: str) -> dict:
    return {"latex": text, "mathml": mathml(text), "how": "as typed (not read by the grader)"}


def _read(tree, ctx, text: str, *, strip_lhs: bool) -> dict:
    """Readings of one parsed answer or step; the sides left of '=' that name the target, as typed."""
    from derivcheck.grading.render import to_latex
    from derivcheck.grading.semantics import readings_of_tree

    prefix = ""
    if strip_lhs and tree.kind == "rel" and all(op in ("=", ":=") for op in tree.value):
        last = tree.args[-1]
        prefix = text[:last.pos].strip() + " "  # the named target, as typed (the grader does not grade it)
        tree = last
    out = []
    for rd in readings_of_tree(tree, ctx, text):
        tex = prefix + to_latex(rd.expr)
        out.append({"latex": tex, "mathml": mathml(tex, True), "how": rd.describe()})
    note = "the part after the last '=' is graded" if prefix else ""
    return {"readings": out, "note": note}


def _one(text: str, ctx, *, strip_lhs: bool) -> dict:
    from derivcheck.grading.semantics import NotationError  # noqa: F401  (a ParseError)
    from derivcheck.grading.syntax import ParseError, parse

    text = text if isinstance(text, str) else str(text)
    if not text.strip():
        return {"text": text, "empty": True, "readings": []}
    if len(text) > PREVIEW_MAX_CHARS:
        return {"text": text[:80] + "…", "error": {"message": f"longer than {PREVIEW_MAX_CHARS} characters; "
                                                               "not previewed"}, "readings": []}
    try:
        tree = parse(text)
    except ParseError as exc:
        return {"text": text, "error": _error(exc, text), "readings": []}
    if ctx is None:
        return {"text": text, "readings": [_as_typed(text)],
                "note": "this question has no notation context: shown as typed"}
    try:
        got = _read(tree, ctx, text, strip_lhs=strip_lhs)
    except ParseError as exc:
        return {"text": text, "error": _error(exc, text), "readings": []}
    return {"text": text, **got}


def preview(qid: str, answer: Any) -> dict:
    """How the grader reads ``answer`` to ``qid``: ``{"question", "kind", "items": [...]}``.

    Each item (one per derivation step, else one) has ``text``, ``readings``
    (``latex``, ``mathml``, ``how``; several when the notation is ambiguous),
    ``note``, or ``error`` (``message``, ``position``, ``expected``)."""
    from derivcheck.grading.questions import question

    try:
        q = question(qid)
    except KeyError as exc:
        return {"question": qid, "kind": None, "items": [], "error": str(exc).strip("'\"")}
    base = {"question": q.id, "kind": q.kind}
    if q.kind == "derivation":
        return {**base, "items": _derivation_preview(q, answer)}
    if q.kind not in MATH_KINDS or (q.kind == "set" and q.spec.labels) or q.context is None:
        return {**base, "items": [], "note": f"{q.kind} answers are not LaTeX: no preview"}
    if not isinstance(answer, str):
        return {**base, "items": []}
    if q.kind == "set":
        return {**base, "items": [_set_preview(answer, q.context)]}
    return {**base, "items": [_one(answer, q.context, strip_lhs=True)]}


def _side_latex(side) -> tuple:
    """(LaTeX, alternatives' LaTeX, error) of one side of a derivation step."""
    from derivcheck.grading.render import to_latex

    if side is None:
        return "", [], None
    if not side.ok:
        return "", [], {"message": side.error, "position": side.position}
    return to_latex(side.expr), [to_latex(a) for a in side.alternatives], None


def _derivation_preview(q, answer) -> list:
    """Each step read as the step checker (:mod:`grading.steps`) reads it: its sides and relations."""
    from derivcheck.grading import steps as S

    spec = S.derivation_spec(q)
    try:
        texts = S.split_steps(answer)
    except ValueError as exc:
        return [{"index": 0, "text": "", "error": {"message": str(exc)}, "readings": []}]
    texts = texts[:PREVIEW_MAX_STEPS]
    ctx = contexts().get(spec.context) if spec is not None else q.context
    items = []
    for i, raw in enumerate(texts):
        if not raw.strip():
            continue
        if len(raw) > PREVIEW_MAX_CHARS:
            items.append({"index": i, "text": raw[:80] + "…", "readings": [],
                          "error": {"message": f"longer than {PREVIEW_MAX_CHARS} characters; not previewed"}})
            continue
        if ctx is None:
            items.append({"index": i, "text": raw, "readings": [_as_typed(raw)],
                          "note": "this question has no notation context: shown as typed"})
            continue
        try:
            st = S._read_step(i, raw, ctx, spec)
        except ParseError as exc:  # a resource guard
            items.append({"index": i, "text": raw, "error": _error(exc, raw), "readings": []})
            continue
        parts, alts, errors = [], [], []
        first, first_alts, err = _side_latex(st.start)
        if err:
            errors.append(err)
        parts.append(first)
        alts += first_alts
        for lk in st.links:
            tex, lk_alts, err = _side_latex(lk.right)
            if err:
                errors.append(err)
            rel = _REL_TEX.get(lk.rel, lk.rel) + (r" \mathrm{const} +" if lk.up_to_constant and lk.rel == "=" else "")
            parts.append(f"{rel} {tex}")
            alts += lk_alts
        item = {"index": i, "text": raw, "readings": []}
        if errors:
            item["error"] = errors[0]
        else:
            tex = " ".join(p for p in parts if p).strip()
            item["readings"] = [{"latex": tex, "mathml": mathml(tex, True), "how": ""}]
            if alts:
                item["note"] = "ambiguous notation: another reading is " + "; ".join(alts[:3])
        if st.note:
            item["note"] = (item.get("note", "") + "; " if item.get("note") else "") + st.note
        items.append(item)
    return items


_REL_TEX = {"=": "=", ":=": ":=", "<=": r"\leq", ">=": r"\geq", "<": "<", ">": ">", "propto": r"\propto",
            "~=": r"\approx", "!=": r"\neq"}


def _set_preview(text: str, ctx) -> dict:
    """A set typed as a YAML list previews item by item; a LaTeX set or list as one expression."""
    t = text.strip()
    if t.startswith("[") or t.startswith("- "):
        import yaml

        try:
            data = yaml.safe_load(t) if len(t) <= PREVIEW_MAX_CHARS else None
        except yaml.YAMLError:
            data = None
        if isinstance(data, list) and all(isinstance(x, (str, int, float)) for x in data):
            parts = [_one(str(x), ctx, strip_lhs=True) for x in data[:PREVIEW_MAX_STEPS]]
            err = next((p["error"] for p in parts if "error" in p), None)
            if err:
                return {"text": text, "error": err, "readings": []}
            tex = r"\left\{" + ", ".join(p["readings"][0]["latex"] for p in parts if p.get("readings")) + r"\right\}"
            return {"text": text, "readings": [{"latex": tex, "mathml": mathml(tex, True), "how": "as a set"}]}
    return _one(text, ctx, strip_lhs=True)


def warm() -> bool:
    """Import and build everything a check needs (run in the server before the workers are forked)."""
    from derivcheck.grading import api, render  # noqa: F401
    from derivcheck.grading.answers import engine
    from derivcheck.grading.keys import load_key
    from derivcheck.grading.kinds import known_kinds
    from derivcheck.grading.questions import questions
    from derivcheck.grading.syntax import parser

    known_kinds()
    parser()
    load_key()
    for q in questions().values():
        if q.spec.context:
            engine(q.spec.context)
    mathml("x")
    return True


JOBS = {"check": check, "preview": preview, "load_submission": load_submission_text}

__all__ = ["JOBS", "check", "preview", "load_submission_text", "warm", "mathml"]
