"""LaTeX (and SymPy text) to MathML for the report, with no raw LaTeX left on the page.

:func:`to_mathml` converts with ``latex2mathml`` after a small normalisation of what it does not
know (``\\arg``, ``\\operatorname``-style names, escapes such as ``\\%`` and ``\\_`` inside
``\\text{}``), then repairs what still leaks: a command name it kept as ``<mi>\\name</mi>`` becomes
an upright operator name, and escaped characters in ``<mtext>`` lose their backslash.
:func:`leaks` says whether a MathML string still shows a backslash; the tests run it over every
claim's statement, assumptions, key and residual.

Residuals and counterexample values that a check wrote as SymPy text (``alpha**2``, ``oo``)
are turned into LaTeX by :func:`sympy_text_to_latex`: a small tokenizer for SymPy's printed
form that never evaluates anything (a results file is data, not code); what it cannot read
stays text in ``<code>``.
"""
from __future__ import annotations

import functools
import html
import re

# operator names latex2mathml leaves as "\name" (rendered upright, like \log)
_OPERATOR_NAMES = ("arg", "sgn", "diag", "rank", "tr", "Tr", "softmax", "argmax", "argmin", "erf", "supp", "Var",
                   "Cov", "ReLU", "logit", "const")
_TEXT_ESCAPES = {"\\%": "%", "\\_": "_", "\\&": "&amp;", "\\#": "#", "\\$": "$", "\\{": "{", "\\}": "}"}


def _normalise(tex: str) -> str:
    tex = re.sub(r"\\(argmax|argmin)\b", lambda m: r"\operatorname{arg\,%s}" % m.group(1)[3:], tex)
    tex = re.sub(r"\\(%s)(?![A-Za-z])" % "|".join(n for n in _OPERATOR_NAMES if n not in ("argmax", "argmin")),
                 lambda m: r"\operatorname{%s}" % m.group(1), tex)
    return tex


_KEEP_ESCAPED = {"<", ">", "&", '"'}


def _compact(mathml: str) -> str:
    """Smaller MathML, same rendering: no ``xmlns`` (implied in HTML), characters instead of
    numeric references (except the ones HTML needs escaped)."""
    mathml = mathml.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "", 1)
    mathml = mathml.replace('<math display="inline">', "<math>", 1)
    # \mathrm{KL} comes out letter by letter; a multi-letter <mi> is upright anyway
    mathml = re.sub(r'(?:<mi mathvariant="normal">[A-Za-z]</mi>){2,}',
                    lambda m: "<mi>" + "".join(re.findall(r">([A-Za-z])<", m.group(0))) + "</mi>", mathml)
    # an <mrow> around one token element groups nothing
    mathml = re.sub(r"<mrow>(<(mi|mn|mo|mtext)>[^<]*</\2>)</mrow>", r"\1", mathml)
    # the one <mrow> right inside <math> groups nothing
    m = re.fullmatch(r"(<math[^>]*>)<mrow>(.*)</mrow>(</math>)", mathml, flags=re.S)
    if m and _balanced_mrow(m.group(2)):
        mathml = m.group(1) + m.group(2) + m.group(3)

    def char(m: "re.Match[str]") -> str:
        ch = chr(int(m.group(1), 16))
        return m.group(0) if ch in _KEEP_ESCAPED or not ch.isprintable() else ch

    return re.sub(r"&#x([0-9A-Fa-f]+);", char, mathml)


def _balanced_mrow(inner: str) -> bool:
    depth = 0
    for tag in re.findall(r"</?mrow>", inner):
        depth += 1 if tag == "<mrow>" else -1
        if depth < 0:
            return False
    return depth == 0


def _repair(mathml: str) -> str:
    # a command name latex2mathml kept verbatim, e.g. <mi>\sgn</mi>: an upright operator name
    mathml = re.sub(r"<(mi|mo)( [^>]*)?>\\([A-Za-z]+)</\1>", r"<mo>\3</mo>", mathml)
    mathml = re.sub(r"<(mi|mo)( [^>]*)?>\\</\1>", "<mspace width=\"0.25em\"/>", mathml)  # a stray "\ "

    def text(m: "re.Match[str]") -> str:
        body = m.group(2)
        for k, v in _TEXT_ESCAPES.items():
            body = body.replace(k, v)
        body = re.sub(r"\\([A-Za-z]+)", r"\1", body)  # an unknown command inside text: its name
        return f"<mtext{m.group(1)}>{body}</mtext>"

    return re.sub(r"<mtext([^>]*)>(.*?)</mtext>", text, mathml, flags=re.S)


@functools.lru_cache(maxsize=8192)
def to_mathml(tex: str, display: bool = False) -> str:
    """MathML for ``tex`` (inline, or a display block); on a conversion error the escaped source in
    ``<code class="tex">`` so nothing is lost."""
    if not tex:
        return ""
    try:
        from latex2mathml.converter import convert

        out = convert(_normalise(tex), display="block" if display else "inline")
    except Exception:  # latex2mathml does not know every construction: show the source as code
        return f'<code class="tex">{html.escape(tex)}</code>'
    return _compact(_repair(out))


def leaks(mathml: str) -> bool:
    """True when a MathML string still shows a backslash (raw LaTeX) as text."""
    if "<math" not in mathml:
        return False
    text = html.unescape(re.sub(r"<[^>]+>", "", mathml))
    return "\\" in text


# --------------------------------------------------------------------------- SymPy text -> LaTeX
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda",
          "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "Gamma",
          "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega"}
_FUNCS = {"sqrt", "exp", "log", "sin", "cos", "tan", "Abs", "atan", "tanh", "re", "im", "conjugate"}
_TOKEN = re.compile(r"\s*(?:(\d+\.\d*(?:e[-+]?\d+)?|\d+(?:e[-+]?\d+)?)|([A-Za-z_][A-Za-z_0-9]*)|(\*\*|[-+*/^(),]))")


class _Unreadable(ValueError):
    pass


def _tokens(text: str) -> list:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _Unreadable(text[pos:])
        out.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    return out


def _name(tok: str) -> str:
    if tok == "oo":
        return r"\infty"
    if tok == "I":
        return "i"
    if tok == "E":
        return "e"
    base, _, sub = tok.partition("_")
    core = "\\" + base if base in _GREEK else (base if len(base) == 1 else r"\mathrm{%s}" % base)
    return core + (f"_{{{_name(sub)}}}" if sub else "")


class _Parser:
    """Recursive descent over SymPy's printed form: + - * / ** ( ) , names, numbers, f(args)."""

    def __init__(self, toks):
        self.toks, self.i = toks, 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, want=None):
        tok = self.peek()
        if tok is None or (want is not None and tok != want):
            raise _Unreadable(f"expected {want!r}")
        self.i += 1
        return tok

    def sum(self):
        out = self.product()
        while self.peek() in ("+", "-"):
            op = self.take()
            out += f" {op} " + self.product()
        return out

    def product(self):
        out, prec = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            right, rprec = self.unary()
            if op == "/":
                out, prec = r"\frac{%s}{%s}" % (_strip(out), _strip(right)), 2
            else:
                out, prec = f"{out} \\cdot {right}" if prec == 0 and rprec == 0 else f"{out} {right}", 2
        return out

    def unary(self):
        if self.peek() == "-":
            self.take()
            inner, _ = self.unary()
            return "-" + inner, 1
        return self.power()

    def power(self):
        base, prec = self.atom()
        if self.peek() in ("**", "^"):
            self.take()
            exp, _ = self.unary()
            return f"{{{base}}}^{{{_strip(exp)}}}", 3
        return base, prec

    def atom(self):
        tok = self.take()
        if tok == "(":
            inner = self.sum()
            self.take(")")
            return rf"\left({inner}\right)", 3
        if re.match(r"\d", tok):
            mant, _, exp = tok.partition("e")
            return (rf"{mant} \times 10^{{{int(exp)}}}" if exp else tok), 0
        if re.match(r"[A-Za-z_]", tok):
            if self.peek() == "(":
                self.take("(")
                args = [self.sum()]
                while self.peek() == ",":
                    self.take(",")
                    args.append(self.sum())
                self.take(")")
                if tok == "sqrt" and len(args) == 1:
                    return r"\sqrt{%s}" % args[0], 3
                if tok == "Abs" and len(args) == 1:
                    return r"\left|%s\right|" % args[0], 3
                fname = "\\" + tok if tok in ("exp", "log", "sin", "cos", "tan", "tanh") else r"\operatorname{%s}" % tok
                return fname + r"\left(" + ", ".join(args) + r"\right)", 3
            return _name(tok), 3
        raise _Unreadable(tok)


def _strip(tex: str) -> str:
    if tex.startswith(r"\left(") and tex.endswith(r"\right)") and tex.count(r"\left(") == 1:
        return tex[6:-7]
    return tex


@functools.lru_cache(maxsize=4096)
def sympy_text_to_latex(text: str):
    """LaTeX for an expression in SymPy's printed form (``alpha**2 - 1``, ``oo``, ``sqrt(2)/2``),
    or None when it is not a plain expression (sets, matrices, prose).  Nothing is evaluated."""
    if not text or len(text) > 400:
        return None
    try:
        p = _Parser(_tokens(text))
        out = p.sum()
        if p.peek() is not None:
            return None
        return out
    except _Unreadable:
        return None
    except RecursionError:  # pragma: no cover - absurdly nested text
        return None


# --------------------------------------------------------------------------- inline: text wraps
def _split_text_groups(tex: str) -> list:
    """``[(kind, piece)]`` with kind ``text`` for each top-level ``\\text{...}`` group and
    ``math`` for what lies between them."""
    out, i, start, depth = [], 0, 0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\" and depth == 0 and tex.startswith("\\text{", i):
            j, d = i + len("\\text{"), 1
            while j < len(tex) and d:
                if tex[j] == "\\":
                    j += 2
                    continue
                d += {"{": 1, "}": -1}.get(tex[j], 0)
                j += 1
            if d:  # unbalanced: give up splitting
                return [("math", tex)]
            if tex[start:i].strip():
                out.append(("math", tex[start:i]))
            out.append(("text", tex[i + len("\\text{"):j - 1]))
            i = start = j
            continue
        if ch == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        i += 1
    if tex[start:].strip():
        out.append(("math", tex[start:]))
    return out


def _plain(text: str) -> str:
    for k, v in _TEXT_ESCAPES.items():
        text = text.replace(k, html.unescape(v))
    text = re.sub(r"\\[,;:! ]", " ", text)
    return html.escape(re.sub(r"\\([A-Za-z]+)", r"\1", text), quote=False)


def _boxed(tex: str) -> str:
    """Inline MathML; a long formula sits in a box that scrolls sideways on a narrow screen."""
    m = to_mathml(tex)
    return f'<span class="imath">{m}</span>' if len(tex) > 24 else m


@functools.lru_cache(maxsize=8192)
def to_inline_html(tex: str) -> str:
    """Inline math that may share a line with prose: top-level ``\\text{}`` groups become ordinary
    HTML text (so long sentences wrap on a narrow screen), the math between them MathML.  Each
    math piece sits in a box that scrolls sideways rather than widening the page."""
    if not tex:
        return ""
    parts = _split_text_groups(tex)
    maths = [p for k, p in parts if k == "math"]
    splittable = any(k == "text" for k, _ in parts) and all(p.count(r"\left") == p.count(r"\right") and p.count("{") == p.count("}")
                                        for p in maths)
    if not splittable:
        return _boxed(tex)
    out = []
    for kind, piece in parts:
        if kind == "text":
            out.append(_plain(piece))
        else:
            piece = re.sub(r"^(?:\\[ ,;:!]|\\q?quad\b|\s)+|(?:\\[ ,;:!]|\\q?quad\b|\s)+$", "", piece)
            if not piece:
                continue
            if "<math" not in to_mathml(piece):
                return _boxed(tex)
            out.append(_boxed(piece))
    return " ".join(o.strip() for o in out if o.strip())
