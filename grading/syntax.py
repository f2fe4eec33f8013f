r"""Reading a student's LaTeX: a whitelisting tokenizer and an LALR(1) grammar.

Nothing here evaluates text.  The input goes through three stages:

1. :func:`tokenize` turns the string into tokens.  Every backslash command
   must be in the whitelist below (:data:`COMMANDS` and friends); anything
   else is a :class:`ParseError` that names the command and its position.
   Presentation-only commands (``\mathbf``, ``\left``/``\right`` sizes,
   spacing such as ``\,``) are dropped here.
2. A Lark LALR(1) parser built with ``strict=True`` (so the grammar is
   checked to be conflict-free when the module loads) turns the tokens into a
   parse tree.  A syntax error becomes a :class:`ParseError` with the
   position, the offending token and what would have been accepted there.
3. :class:`_Builder` (a Lark ``Transformer``) turns the parse tree into a
   small *syntax tree* of :class:`S` nodes.  Syntax only: whether ``p(x)`` is
   a density evaluated at x or the product p·x is decided later, with the
   question's notation context, by :mod:`grading.semantics`.

Conventions of the grammar (they follow how these assignments are written):

* juxtaposition binds tighter than ``\cdot``, ``\times``, ``\otimes``,
  ``\odot`` and ``/``; ``/`` takes the juxtaposed product on its right
  (``1/2x`` is read both ways, see :mod:`grading.semantics`);
* a parenthesised or bracketed group right after something is recorded as
  a *call* (``p(x,z)``, ``2(1-D)``, ``\mathbb{E}[...]``); the semantic pass
  decides between application and multiplication;
* a prefix operator (``\log``, ``\exp``, ``\det``, ``\operatorname{tr}``,
  ``\mathbb{E}``, ``\sum``, ``\int``...) without its own brackets takes the
  juxtaposed product that follows (``\log 2(1-D)`` is flagged as ambiguous);
* ``|...|`` and ``\|...\|`` delimit absolute values and norms; inside a call
  ``|`` separates a conditional (``p(z|x)``) and ``\|`` separates the two
  arguments of a divergence (``D_{KL}(q\|p)``).

Guards: inputs longer than :data:`MAX_LENGTH` characters, with brackets
nested deeper than :data:`MAX_DEPTH`, or with numbers longer than
:data:`MAX_DIGITS` digits are rejected before parsing, so the parser and the
later passes never recurse without bound.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer

from .errors import ParseError, TooCostly  # noqa: F401  (defined in errors.py; importable from here)

MAX_LENGTH = 4000
MAX_DEPTH = 40
MAX_DIGITS = 40


# --------------------------------------------------------------------------
# Whitelists
# --------------------------------------------------------------------------
GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda",
    "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
}
GREEK_VARIANTS = {"varepsilon": "epsilon", "varphi": "phi", "vartheta": "theta", "varrho": "rho",
                  "varsigma": "sigma", "varpi": "pi"}
#: prefix functions: command -> canonical name
FUNCTIONS = {
    "log": "log", "ln": "log", "lg": "log", "exp": "exp", "det": "det", "sin": "sin", "cos": "cos",
    "tan": "tan", "tanh": "tanh", "arctan": "atan", "sinh": "sinh", "cosh": "cosh",
    "min": "min", "max": "max",
}
#: words accepted inside \operatorname{...}, \mathrm{...}, \text{...} (and bare, where marked)
WORDS = {
    "tr": "tr", "Tr": "tr", "trace": "tr", "vec": "vec", "det": "det", "log": "log", "ln": "log",
    "exp": "exp", "diag": "diag", "sim": "sim", "softmax": "softmax", "sigmoid": "sigmoid",
    "KL": "KL", "D_{KL}": "KL", "JSD": "JSD", "JS": "JSD", "E": "E", "Var": "Var", "Cov": "Cov",
}
#: multi-letter words a student may type without a backslash
BARE_WORDS = {"log": "log", "ln": "log", "exp": "exp", "det": "det", "tr": "tr", "KL": "KL", "JSD": "JSD",
              "vec": "vec", "sqrt": "sqrt", "sim": "sim"}
#: multi-letter names a student may type without \text{...} (looked up in the question's notation)
BARE_NAMES = {"ELBO"}
SPACING = {",", ";", ":", "!", " ", "quad", "qquad", "displaystyle", "textstyle", "limits", "nolimits",
           "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr",
           "middle", "enspace", "thinspace", "medspace", "thickspace", "negthinspace"}
WRAPPERS = {"mathbf", "boldsymbol", "bm", "mathit", "mathnormal", "mathsf", "pmb", "boxed", "fbox",
            "mathbfit", "textbf", "mbox"}
ACCENTS = {"tilde": "tilde", "widetilde": "tilde", "hat": "hat", "widehat": "hat", "bar": "bar",
           "overline": "bar", "dot": "dot", "vec": "vecacc", "check": "check", "breve": "breve"}
RELATIONS = {"=": "=", "<": "<", ">": ">", "leq": "<=", "le": "<=", "leqslant": "<=", "geq": ">=",
             "ge": ">=", "geqslant": ">=", "neq": "!=", "ne": "!=", "approx": "~=", "coloneqq": ":=",
             "triangleq": ":=", "equiv": "==="}
MATRIX_ENVS = {"bmatrix", "pmatrix", "matrix", "Bmatrix", "vmatrix", "array", "smallmatrix"}

# token type -> what to call it in "expected ..." messages
FRIENDLY = {
    "NUMBER": "a number", "LETTER": "a symbol", "CONST": "a constant", "LPAR": "'('", "RPAR": "')'",
    "LBRACK": "'['", "RBRACK": "']'", "LBRACE": "'{'", "RBRACE": "'}'", "LSET": r"'\{'", "RSET": r"'\}'",
    "PLUS": "'+'", "MINUS": "'-'", "MUL": r"'\cdot'", "DIV": "'/'", "KRON": r"'\otimes'",
    "HADAMARD": r"'\odot'", "PM": r"'\pm'", "MP": r"'\mp'", "CARET": "'^'", "UNDER": "'_'",
    "PRIME": "a prime", "TOP": r"'\top'", "STAR": "'*'", "MID": "'|'", "DSEP": r"'\|'",
    "LBAR": "an opening '|'", "RBAR": "a closing '|'", "LDBAR": r"an opening '\|'", "RDBAR": r"a closing '\|'",
    "FRAC": r"'\frac'", "SQRT": r"'\sqrt'", "FUNC": "a function", "WORD": "an operator name",
    "EXPECT": r"'\mathbb{E}'", "SUM": r"'\sum'", "PROD": r"'\prod'", "INT": r"'\int'", "KL": "KL",
    "JSD": "JSD", "SIM": r"'\sim'", "REL": "a relation (=, \\leq, ...)", "COMMA": "','", "COLON": "':'",
    "SEMI": "';'", "AMP": "'&'", "ROWSEP": r"'\\'", "MATBEGIN": r"'\begin{bmatrix}'",
    "MATEND": r"'\end{bmatrix}'", "$END": "the end of the input",
}


@dataclass
class Tok:
    type: str
    value: Any
    pos: int
    text: str = ""


# --------------------------------------------------------------------------
# Pre-checks and tokenizer
# --------------------------------------------------------------------------
_OPEN = "([{"
_CLOSE = ")]}"


# --------------------------------------------------------------------------
# Unicode: what a keyboard, a PDF or a word processor puts into an answer
# --------------------------------------------------------------------------
_SUB_DIGITS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋ₐₑₒₓᵢⱼₖₗₘₙₚₛₜ", "0123456789+-aeoxijklmnpst"))
_SUP_DIGITS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ⁱⁿ", "0123456789+-in"))
_GREEK_CHARS = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ϑ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi",
    "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta",
    "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}
_SYMBOL_CHARS = {
    "⊗": r"\otimes ", "⊙": r"\odot ", "∘": r"\circ ", "⋅": r"\cdot ", "∙": r"\cdot ", "∗": "*",
    "±": r"\pm ", "∓": r"\mp ", "≤": r"\leq ", "≥": r"\geq ", "≠": r"\neq ", "≈": r"\approx ",
    "√": r"\sqrt ", "∑": r"\sum ", "∏": r"\prod ", "∫": r"\int ", "∞": r"\infty ", "‖": r"\|", "∥": r"\|",
    "′": "'", "’": "'", "‘": "'", "ᵀ": r"^\top ", "⊤": r"\top ", "−": "-", "–": "-", "—": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
}
#: letters that look like Latin ones (Cyrillic, Greek capitals without a LaTeX command)
_LOOKALIKES = dict(zip("АВЕКМНОРСТХаеорсухіјѕΑΒΕΖΗΙΚΜΝΟΡΤΥΧο", "ABEKMHOPCTXaeopcyxijsABEZHIKMNOPTYXo"))
_SCRIPT_RUN = re.compile("[" + "".join(_SUB_DIGITS) + "]+|[" + "".join(_SUP_DIGITS) + "]+")


def normalize_unicode(text: str) -> tuple:
    """ASCII LaTeX for the Unicode a student may type, and a note for each kind of change.

    Subscript and superscript digits become ``_{..}`` / ``^{..}``, Greek letters
    their commands, operator symbols theirs (⊗, ±, ≤, ‖, ᵀ...), look-alike
    letters (Cyrillic 'а', Greek capital 'Α') the Latin letter, and compatibility
    forms (full-width digits, ligatures) their plain form (NFKC).  Anything else
    that is not ASCII is left for the tokenizer, which rejects it by name."""
    if text.isascii():
        return text, []
    import unicodedata

    notes: list = []

    def script(m):
        run = m.group()
        sub = run[0] in _SUB_DIGITS
        body = "{" + "".join((_SUB_DIGITS if sub else _SUP_DIGITS)[c] for c in run) + "}"
        after_marker = m.start() > 0 and text[m.start() - 1] == ("_" if sub else "^")
        return body if after_marker else ("_" if sub else "^") + body

    out = _SCRIPT_RUN.sub(script, text)
    if out != text:
        notes.append("Unicode subscripts/superscripts were read as _{...} and ^{...}")
    chars = []
    greek = symbols = lookalike = False
    for ch in out:
        if ch in _GREEK_CHARS:
            chars.append("\\" + _GREEK_CHARS[ch] + " ")
            greek = True
        elif ch in _SYMBOL_CHARS:
            chars.append(_SYMBOL_CHARS[ch])
            symbols = symbols or ch not in "−–—\u00a0\u2009\u202f\u200b"
        elif ch in _LOOKALIKES:
            chars.append(_LOOKALIKES[ch])
            lookalike = True
        else:
            chars.append(ch)
    out = "".join(chars)
    if greek:
        notes.append("Unicode Greek letters were read as their LaTeX commands (α as \\alpha)")
    if symbols:
        notes.append("Unicode operator symbols were read as their LaTeX commands (⊗ as \\otimes, ᵀ as ^\\top)")
    if lookalike:
        notes.append("letters that only look Latin (Cyrillic or Greek capitals) were read as the Latin letters")
    compat = unicodedata.normalize("NFKC", out)
    if compat != out:
        notes.append("full-width or compatibility characters were read as plain ones")
        out = compat
    return out, notes


def describe_char(ch: str) -> str:
    """'ж' -> "'ж' (U+0436 CYRILLIC SMALL LETTER ZHE)" for an error message."""
    import unicodedata

    if ch.isascii():
        return repr(ch)
    return f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')})"


def precheck(text: str) -> None:
    """Reject inputs that would make the later passes slow or deeply recursive."""
    if len(text) > MAX_LENGTH:
        raise TooCostly(f"the answer is {len(text)} characters long; the limit is {MAX_LENGTH}", 0, text=text)
    depth = 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                raise TooCostly(f"brackets are nested more than {MAX_DEPTH} deep", i, text=text)
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
    for m in re.finditer(r"\d{%d,}" % (MAX_DIGITS + 1), text):
        raise TooCostly(f"a number with more than {MAX_DIGITS} digits", m.start(), text=text)
    if text.count("\\frac") + text.count("^") + text.count("\\sqrt") > 400:
        raise TooCostly("too many fractions, powers or roots (more than 400)", 0, text=text)


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _braced(text: str, i: int) -> tuple[str, int]:
    """The content of the brace group starting at text[i] == '{' and the index after it."""
    assert text[i] == "{"
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{" and (j == 0 or text[j - 1] != "\\"):
            depth += 1
        elif text[j] == "}" and (j == 0 or text[j - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return text[i + 1:j], j + 1
    raise ParseError("unbalanced '{'", i, text=text)


_CMD = re.compile(r"\\([a-zA-Z]+|.)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")


class _Tokenizer:
    """A hand-written LaTeX tokenizer with a whitelist of commands."""

    def __init__(self, text: str):
        self.text = text
        self.toks: list[Tok] = []
        self.skip_close: list[int] = []  # brace depths whose closing '}' belongs to a dropped wrapper
        self.depth = 0

    def error(self, msg: str, pos: int, expected=None):
        raise ParseError(msg, pos, expected, text=self.text)

    def emit(self, type_: str, value: Any, pos: int, text: str = ""):
        self.toks.append(Tok(type_, value, pos, text))

    def run(self) -> list[Tok]:
        t, i, n = self.text, 0, len(self.text)
        while i < n:
            ch = t[i]
            if ch.isspace() or ch == "~":
                i += 1
                continue
            if ch == "$":
                i += 1
                continue
            if ch == "\\":
                i = self.command(i)
                continue
            if ch.isdigit() or (ch == "." and i + 1 < n and t[i + 1].isdigit()):
                prev = self.toks[-1].type if self.toks else None
                if prev in ("CARET", "UNDER"):  # TeX: x^23 is x^{2}3; subscripts keep all digits
                    m = _NUMBER.match(t, i)
                    if prev == "CARET" and len(m.group()) > 1 and "." not in m.group():
                        self.emit("NUMBER", m.group(), i, "bare-multidigit")
                    else:
                        self.emit("NUMBER", m.group(), i)
                    i = m.end()
                    continue
                m = _NUMBER.match(t, i)
                self.emit("NUMBER", m.group(), i)
                i = m.end()
                continue
            if ch.isalpha() and ch.isascii():
                # bare multi-letter words (log, tr, KL...) only at a word boundary
                m = re.match(r"[A-Za-z]+", t[i:])
                word = m.group()
                prev = self.toks[-1].type if self.toks else None
                if word in BARE_NAMES and prev not in ("CARET", "UNDER"):  # ELBO: one name, not four letters
                    self.emit("NAME", word, i, word)
                    i += len(word)
                    continue
                if word in BARE_WORDS and prev not in ("CARET", "UNDER"):
                    self.word(BARE_WORDS[word], i, word)
                    i += len(word)
                    continue
                if word.startswith("KL") and prev not in ("CARET", "UNDER") and len(word) == 2:
                    self.emit("KL", "KL", i)
                    i += 2
                    continue
                self.emit("LETTER", ch, i)
                i += 1
                continue
            if ch == "|":
                if i + 1 < n and t[i + 1] == "|":
                    self.emit("DBAR", "||", i)
                    i += 2
                else:
                    self.emit("BAR", "|", i)
                    i += 1
                continue
            if ch == "{":
                self.depth += 1
                self.emit("LBRACE", "{", i)
                i += 1
                continue
            if ch == "}":
                if self.skip_close and self.skip_close[-1] == self.depth:
                    self.skip_close.pop()
                    self.depth -= 1
                    i += 1
                    continue
                self.depth -= 1
                self.emit("RBRACE", "}", i)
                i += 1
                continue
            if ch == "<" or ch == ">" or ch == "=":
                if t.startswith("<=", i) or t.startswith(">=", i):
                    self.emit("REL", t[i:i + 2], i)
                    i += 2
                elif ch == "=" and t.startswith("==", i):
                    self.emit("REL", "=", i)
                    i += 2
                else:
                    self.emit("REL", ch, i)
                    i += 1
                continue
            if ch == ":" and t.startswith(":=", i):
                self.emit("REL", ":=", i)
                i += 2
                continue
            if ch == "!" and t.startswith("!=", i):
                self.emit("REL", "!=", i)
                i += 2
                continue
            if ch == "*" and t.startswith("**", i):
                self.emit("CARET", "^", i)
                i += 2
                continue
            simple = {"+": "PLUS", "-": "MINUS", "/": "DIV", "(": "LPAR", ")": "RPAR", "[": "LBRACK",
                      "]": "RBRACK", ",": "COMMA", "^": "CARET", "_": "UNDER", "'": "PRIME", "&": "AMP",
                      "*": "STAR", ":": "COLON", ";": "SEMI"}
            if ch in simple:
                self.emit(simple[ch], ch, i)
                i += 1
                continue
            if ch == "." and i == n - 1 or (ch == "." and t[i + 1:].strip() == ""):
                i += 1  # a sentence-final period
                continue
            if ch in "\u2212\u2013":
                self.emit("MINUS", "-", i)
                i += 1
                continue
            if ch == "\u00b7" or ch == "\u00d7":
                self.emit("MUL", ch, i)
                i += 1
                continue
            self.error(f"unexpected character {describe_char(ch)}: write the answer in ASCII LaTeX", i)
        return self.toks

    # -- helpers -----------------------------------------------------------
    def word(self, name: str, pos: int, raw: str) -> None:
        if name in ("tr", "vec", "diag", "sim", "softmax", "sigmoid", "Var", "Cov"):
            self.emit("WORD", name, pos, raw)
        elif name == "KL":
            self.emit("KL", "KL", pos, raw)
        elif name == "JSD":
            self.emit("JSD", "JSD", pos, raw)
        elif name == "E":
            self.emit("EXPECT", "E", pos, raw)
        elif name == "sqrt":
            self.emit("SQRT", "sqrt", pos, raw)
        elif name in FUNCTIONS.values() or name in ("log", "exp", "det"):
            self.emit("FUNC", name, pos, raw)
        else:  # pragma: no cover - WORDS and BARE_WORDS are closed lists
            self.error(f"unknown operator {raw!r}", pos)

    def named_arg(self, i: int) -> tuple[str, int]:
        """The braced word after \\operatorname, \\mathrm, \\text... and the index after it."""
        j = _skip_ws(self.text, i)
        if j < len(self.text) and self.text[j] == "*":
            j = _skip_ws(self.text, j + 1)
        if j >= len(self.text) or self.text[j] != "{":
            if j < len(self.text) and self.text[j].isalpha():
                return self.text[j], j + 1
            self.error("expected '{' after the command", j, ["'{'"])
        content, end = _braced(self.text, j)
        return content.strip(), end

    def command(self, i: int) -> int:
        t = self.text
        m = _CMD.match(t, i)
        if not m:
            self.error("a lone backslash", i)
        name, end = m.group(1), m.end()
        if name == "\\":
            self.emit("ROWSEP", "\\\\", i)
            return end
        if name in ("{", "}"):
            self.emit("LSET" if name == "{" else "RSET", name, i)
            return end
        if name == "|":
            self.emit("DBAR", "\\|", i)
            return end
        if name in SPACING:
            return end
        if name in ("left", "right"):
            return self.sized(i, end, name)
        if name in GREEK or name in GREEK_VARIANTS:
            self.emit("LETTER", GREEK_VARIANTS.get(name, name), i, "\\" + name)
            return end
        if name in ("pi",):
            self.emit("CONST", "pi", i)
            return end
        if name in ("infty",):
            self.emit("CONST", "inf", i)
            return end
        if name in ("imath",):
            self.emit("CONST", "i", i)
            return end
        if name in FUNCTIONS:
            self.emit("FUNC", FUNCTIONS[name], i, "\\" + name)
            return end
        if name in ("frac", "dfrac", "tfrac", "cfrac"):
            return self.frac(i, end)
        if name == "sqrt":
            self.emit("SQRT", "sqrt", i)
            return end
        if name in ("cdot", "times", "ast", "cdotp"):
            self.emit("MUL", name, i)
            return end
        if name in ("odot", "circ"):
            self.emit("HADAMARD", name, i)
            return end
        if name == "otimes":
            self.emit("KRON", name, i)
            return end
        if name == "pm":
            self.emit("PM", "pm", i)
            return end
        if name == "mp":
            self.emit("MP", "mp", i)
            return end
        if name in ("top", "intercal", "T"):
            self.emit("TOP", "T", i)
            return end
        if name == "prime":
            self.emit("PRIME", "'", i)
            return end
        if name in ("sum",):
            self.emit("SUM", "sum", i)
            return end
        if name in ("prod",):
            self.emit("PROD", "prod", i)
            return end
        if name in ("int", "iint", "oint"):
            self.emit("INT", name, i)
            return end
        if name == "sim":
            self.emit("SIM", "~", i)
            return end
        if name in ("mid", "vert", "lvert", "rvert"):
            self.emit("BAR", "|", i)
            return end
        if name in ("Vert", "lVert", "rVert"):
            self.emit("DBAR", "\\|", i)
            return end
        if name in ("lbrace",):
            self.emit("LSET", "{", i)
            return end
        if name in ("rbrace",):
            self.emit("RSET", "}", i)
            return end
        if name in ("lbrack",):
            self.emit("LBRACK", "[", i)
            return end
        if name in ("rbrack",):
            self.emit("RBRACK", "]", i)
            return end
        if name in RELATIONS:
            self.emit("REL", RELATIONS[name], i)
            return end
        if name in ("to", "rightarrow", "Rightarrow", "implies", "iff", "Leftrightarrow"):
            self.error(f"'\\{name}' is not an equation step: write each relation with =, \\leq or \\geq", i)
        if name in WRAPPERS or name == "mathsf":
            j = _skip_ws(t, end)
            if t.startswith("E", j) or (t.startswith("{", j) and _braced(t, j)[0].strip() == "E"):
                # bold / sans-serif E is the expectation, as the sheets print it (\mathbf{E}, \boldsymbol{E})
                self.emit("EXPECT", "E", i)
                return j + 1 if t.startswith("E", j) else _braced(t, j)[1]
            return self.wrapper(end)
        if name == "mathbb":
            word, after = self.named_arg(end)
            if word == "E":
                self.emit("EXPECT", "E", i)
                return after
            if word in ("1", "I"):
                self.error("indicator functions are not supported", i)
            self.error(f"\\mathbb{{{word}}} is not part of the answer notation (only \\mathbb{{E}})", i)
        if name in ("mathcal", "mathscr"):
            word, after = self.named_arg(end)
            if len(word) == 1 and word.isalpha():
                self.emit("LETTER", f"cal({word})", i, f"\\{name}{{{word}}}")
                return after
            self.error(f"\\{name}{{{word}}}: expected a single letter", i)
        if name in ("operatorname", "mathrm", "text", "textrm", "textit", "mathop", "rm", "operatornamewithlimits"):
            word, after = self.named_arg(end)
            return self.named_word(word, i, after, name)
        if name in ACCENTS:
            return self.accent(i, end, ACCENTS[name])
        if name == "begin":
            env, after = self.named_arg(end)
            if env not in MATRIX_ENVS:
                self.error(f"environment {env!r} is not supported (matrices: bmatrix, pmatrix, matrix)", i)
            if env == "array":  # skip the column spec
                j = _skip_ws(t, after)
                if j < len(t) and t[j] == "{":
                    _, after = _braced(t, j)
            self.emit("MATBEGIN", env, i)
            return after
        if name == "end":
            env, after = self.named_arg(end)
            if env not in MATRIX_ENVS:
                self.error(f"environment {env!r} is not supported", i)
            self.emit("MATEND", env, i)
            return after
        if name in ("partial", "nabla"):
            self.error(f"derivatives (\\{name}) are not part of this answer notation", i)
        if name in ("dots", "cdots", "ldots", "vdots", "ddots"):
            self.error("'\\dots': write the expression in full (use \\sum for sums)", i)
        if name in ("cr",):
            self.emit("ROWSEP", "\\\\", i)
            return end
        if name in ("langle", "rangle"):
            self.error("\\langle ... \\rangle: write the inner product as u^\\top v", i)
        if name in ("quad",):
            return end
        if name in ("over",):
            self.error("'\\over': write \\frac{...}{...}", i)
        self.error(f"unknown command \\{name}", i)

    def named_word(self, word: str, pos: int, after: int, cmd: str) -> int:
        w = word.replace(" ", "")
        if w in ("", ","):
            return after
        if w == "E":  # \mathrm{E}, \operatorname{E}: the expectation
            self.word("E", pos, w)
            return after
        if len(w) == 1 and w.isalpha():
            self.emit("LETTER", w, pos, f"\\{cmd}{{{w}}}")
            return after
        if w in ("T",):
            self.emit("TOP", "T", pos)
            return after
        if w in WORDS:
            self.word(WORDS[w], pos, w)
            return after
        if w in ("KL", "D_{KL}", "D_\\text{KL}", "DKL"):
            self.emit("KL", "KL", pos)
            return after
        if w in ("Stop-Grad", "StopGrad", "sg", "stopgrad", "stop\\_grad", "SG"):
            self.emit("WORD", "stopgrad", pos, w)
            return after
        if re.fullmatch(r"[A-Za-z]+", w):
            self.emit("NAME", w, pos, f"\\{cmd}{{{w}}}")
            return after
        self.error(f"\\{cmd}{{{word}}} is not part of the answer notation", pos)

    def wrapper(self, end: int) -> int:
        """Drop \\mathbf{...} and friends, keeping the content."""
        j = _skip_ws(self.text, end)
        if j < len(self.text) and self.text[j] == "{":
            self.depth += 1
            self.skip_close.append(self.depth)
            return j + 1
        return end  # \mathbf x: the next token is the content

    def accent(self, pos: int, end: int, kind: str) -> int:
        """\\tilde{W}, \\tilde W, \\hat{x} -> one LETTER token ``tilde(W)``; ``\\tilde{W_p}`` keeps ``_p``."""
        t = self.text
        j = _skip_ws(t, end)
        inner_end = None
        if j < len(t) and t[j] == "{":
            content, inner_end = _braced(t, j)
            j = j + 1
            j = _skip_ws(t, j)
        if j < len(t) and t[j] == "\\":
            m = _CMD.match(t, j)
            base = m.group(1)
            if base in WRAPPERS:  # \tilde{\mathbf{x}}
                k = _skip_ws(t, m.end())
                if k < len(t) and t[k] == "{":
                    inner, k2 = _braced(t, k)
                    self.emit("LETTER", f"{kind}({inner.strip()})", pos)
                    return k2 if inner_end is None else self._after_accent(k2, inner_end)
            if base not in GREEK and base not in GREEK_VARIANTS:
                self.error(f"\\{kind} of {m.group()} is not supported", pos)
            letter = GREEK_VARIANTS.get(base, base)
            after = m.end()
        elif j < len(t) and t[j].isalpha():
            letter, after = t[j], j + 1
        else:
            self.error("expected a letter after the accent", j, ["a letter"])
        self.emit("LETTER", f"{kind}({letter})", pos)
        if inner_end is None:
            return after
        return self._after_accent(after, inner_end)

    def _after_accent(self, after: int, inner_end: int) -> int:
        rest = self.text[after:inner_end - 1]
        if rest.strip():  # \tilde{W_p}: tokenize "_p" in place, then skip the closing brace
            self.depth += 1
            self.skip_close.append(self.depth)
            return after
        return inner_end

    def sized(self, pos: int, end: int, which: str) -> int:
        """\\left( ... \\right): the delimiter, with | and \\| marked as opening/closing."""
        t = self.text
        j = _skip_ws(t, end)
        if j >= len(t):
            self.error(f"\\{which} without a delimiter", pos)
        if t[j] == ".":
            return j + 1
        if t[j] == "|":
            self.emit("LBAR" if which == "left" else "RBAR", "|", pos)
            return j + 1
        if t[j] in "([":
            self.emit("LPAR" if t[j] == "(" else "LBRACK", t[j], pos)
            return j + 1
        if t[j] in ")]":
            self.emit("RPAR" if t[j] == ")" else "RBRACK", t[j], pos)
            return j + 1
        if t[j] == "\\":
            m = _CMD.match(t, j)
            d = m.group(1)
            if d == "|" or d in ("Vert", "lVert", "rVert"):
                self.emit("LDBAR" if which == "left" else "RDBAR", "\\|", pos)
            elif d in ("vert", "lvert", "rvert"):
                self.emit("LBAR" if which == "left" else "RBAR", "|", pos)
            elif d in ("{", "lbrace"):
                self.emit("LSET", "{", pos)
            elif d in ("}", "rbrace"):
                self.emit("RSET", "}", pos)
            elif d in ("lbrack",):
                self.emit("LBRACK", "[", pos)
            elif d in ("rbrack",):
                self.emit("RBRACK", "]", pos)
            elif d in ("langle", "rangle"):
                self.error("\\langle ... \\rangle: write the inner product as u^\\top v", pos)
            else:
                self.error(f"\\{which}{m.group()} is not a supported delimiter", pos)
            return m.end()
        self.error(f"\\{which}{t[j]} is not a supported delimiter", pos)

    def frac(self, pos: int, end: int) -> int:
        """\\frac{a}{b}; also the TeX shorthands \\frac12 and \\frac1x."""
        t = self.text
        self.emit("FRAC", "frac", pos)
        j = _skip_ws(t, end)
        # shorthand: each argument a single character when not braced
        for _ in range(2):
            j = _skip_ws(t, j)
            if j < len(t) and (t[j].isdigit() or (t[j].isalpha() and t[j].isascii())):
                self.emit("LBRACE", "{", j)
                if t[j].isdigit():
                    self.emit("NUMBER", t[j], j)
                else:
                    self.emit("LETTER", t[j], j)
                self.emit("RBRACE", "}", j)
                j += 1
            else:
                break
        return j


_OPERAND_END = {"NUMBER", "LETTER", "NAME", "CONST", "RPAR", "RBRACK", "RBRACE", "RSET", "RBAR", "RDBAR",
                "PRIME", "TOP", "STAR", "MATEND", "KL", "JSD"}


def _classify_bars(toks: list[Tok], text: str) -> list[Tok]:
    """Give each ``|`` and ``\\|`` a role: opening, closing, or separator.

    A bar closes the innermost open bar of its kind when it follows an operand;
    directly inside brackets after an operand it separates a conditional
    (``p(z|x)``) or the two arguments of a divergence (``D_{KL}(q\\|p)``);
    otherwise it opens an absolute value or a norm.
    """
    stack: list[str] = []
    openers = {"LPAR": "(", "LBRACK": "[", "LBRACE": "{", "LSET": "{", "MATBEGIN": "m"}
    closers = {"RPAR": "(", "RBRACK": "[", "RBRACE": "{", "RSET": "{", "MATEND": "m"}
    prev = None
    for tok in toks:
        kind = tok.type
        if kind in openers:
            stack.append(openers[kind])
        elif kind in closers:
            while stack and stack[-1] in ("|", "||"):
                raise ParseError("an absolute value or norm is not closed", tok.pos, ["'|'"], text=text)
            if stack:
                stack.pop()
        elif kind in ("LBAR", "LDBAR"):
            stack.append("|" if kind == "LBAR" else "||")
        elif kind in ("RBAR", "RDBAR"):
            if stack and stack[-1] == ("|" if kind == "RBAR" else "||"):
                stack.pop()
        elif kind in ("BAR", "DBAR"):
            bar = "|" if kind == "BAR" else "||"
            after_operand = prev in _OPERAND_END
            if after_operand and stack and stack[-1] == bar:
                tok.type = "RBAR" if bar == "|" else "RDBAR"
                stack.pop()
            elif after_operand and stack and (stack[-1] in ("(", "[") or (bar == "||" and stack[-1] == "{")):
                # a conditional bar only inside ( ) or [ ]: in a brace group ("\frac{a |b|}{c}") it opens
                tok.type = "MID" if bar == "|" else "DSEP"
            else:
                tok.type = "LBAR" if bar == "|" else "LDBAR"
                stack.append(bar)
        prev = tok.type
    return toks


def tokenize(text: str) -> list[Tok]:
    text, _ = normalize_unicode(text)
    precheck(text)
    return _classify_bars(_Tokenizer(text).run(), text)


# --------------------------------------------------------------------------
# Grammar
# --------------------------------------------------------------------------
GRAMMAR = r"""
start: top

?top: relseq
    | relseq (COMMA relseq)+            -> toplist
    | REL expr (REL expr)*              -> continuation

relseq: expr (REL expr)*

?expr: expr PLUS term                   -> add
     | expr MINUS term                  -> sub
     | expr PM term                     -> pm
     | expr MP term                     -> mp
     | term

?term: term MUL signed                  -> mul
     | term DIV signed                  -> div
     | term KRON signed                 -> kron
     | term HADAMARD signed             -> hadamard
     | term STAR signed                 -> mul
     | signed

?signed: MINUS signed                   -> neg
       | PLUS signed                    -> pos
       | PM signed                      -> pm_unary
       | MP signed                      -> mp_unary
       | imp

?imp: postfix
    | postfix rest                      -> juxt
    | prefix_app

?rest: postfix_np
     | postfix_np rest                  -> juxt
     | prefix_app

prefix_app: prefix imp

prefix: FUNC | WORD | EXPECT | SUM | PROD | INT
      | prefix UNDER subarg             -> prefix_sub
      | prefix CARET suparg             -> prefix_sup

?postfix: atom
        | postfix CARET suparg          -> sup
        | postfix UNDER subarg          -> sub_
        | postfix PRIME                 -> prime
        | postfix paren                 -> call
        | postfix bracket               -> call

?postfix_np: atom_np
           | postfix_np CARET suparg    -> sup
           | postfix_np UNDER subarg    -> sub_
           | postfix_np PRIME           -> prime
           | postfix_np paren           -> call
           | postfix_np bracket         -> call

?atom: atom_np | paren | bracket

?atom_np: NUMBER                        -> number
        | LETTER                        -> letter
        | NAME                          -> name
        | CONST                         -> const
        | KL                            -> kl
        | JSD                           -> jsd
        | LBRACE expr RBRACE            -> group
        | LSET args RSET                -> setlit
        | LSET RSET                     -> emptyset
        | LBAR expr RBAR                -> abs
        | LDBAR expr RDBAR              -> norm
        | FRAC LBRACE expr RBRACE LBRACE expr RBRACE -> frac
        | SQRT LBRACE expr RBRACE       -> sqrt
        | SQRT LBRACK expr RBRACK LBRACE expr RBRACE -> root
        | SQRT LPAR expr RPAR           -> sqrt
        | MATBEGIN rows MATEND          -> matrix

paren: LPAR args RPAR
bracket: LBRACK args RBRACK

args: arglist
    | arglist MID arglist               -> conditional
    | arglist DSEP arglist              -> divergence
    | arglist SEMI arglist              -> semicolon

arglist: expr (COMMA expr)*

rows: row (ROWSEP row)* ROWSEP?
row: expr (AMP expr)*

?suparg: LBRACE supitem RBRACE          -> braced
       | NUMBER                         -> number
       | LETTER                         -> letter
       | CONST                          -> const
       | TOP                            -> top
       | STAR                           -> star
       | PRIME                          -> primes
       | MINUS NUMBER                   -> negnumber

?supitem: expr
        | TOP                           -> top
        | STAR                          -> star
        | PRIME                         -> primes
        | MINUS TOP                     -> invtop
        | PRIME PRIME                   -> primes

?subarg: LBRACE subitems RBRACE         -> braced_sub
       | NUMBER                         -> number
       | LETTER                         -> letter
       | KL                             -> kl

subitems: subitem (COMMA subitem)*
?subitem: expr
        | expr SIM expr                 -> sim
        | expr REL expr                 -> subrel
        | expr COLON expr               -> range_

%declare NUMBER LETTER NAME CONST KL JSD LBRACE RBRACE LSET RSET MID DSEP LBAR RBAR LDBAR RDBAR
%declare FRAC SQRT MATBEGIN MATEND LPAR RPAR LBRACK RBRACK COMMA REL PLUS MINUS PM MP MUL DIV KRON
%declare HADAMARD STAR CARET UNDER PRIME FUNC WORD EXPECT SUM PROD INT SIM COLON SEMI AMP ROWSEP TOP
"""


class _TokLexer(Lexer):
    """Feeds the pre-computed tokens to Lark (the text passed to parse() is ignored)."""

    def __init__(self, lexer_conf):  # noqa: D401 - Lark's interface
        pass

    def lex(self, data) -> Iterator[Token]:
        for tok in data:
            yield Token(tok.type, tok, start_pos=tok.pos)


@functools.lru_cache(maxsize=1)
def parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer=_TokLexer, strict=True, maybe_placeholders=False)


# --------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------
@dataclass(eq=False)
class S:
    """A syntax-tree node: ``kind``, children ``args``, a ``value`` and the source position."""

    kind: str
    args: tuple = ()
    value: Any = None
    pos: int = 0
    end: int = 0
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        inner = ", ".join(repr(a) for a in self.args)
        v = f"{self.value!r}" if self.value is not None else ""
        return f"{self.kind}({v}{'; ' if v and inner else ''}{inner})"


def _tokval(tok):
    return tok.value if isinstance(tok, Token) else tok


def _pos(x) -> int:
    if isinstance(x, S):
        return x.pos
    if isinstance(x, Token):
        return x.start_pos or 0
    if isinstance(x, Tok):
        return x.pos
    return 0


@v_args(inline=True)
class _Builder(Transformer):
    """Parse tree -> :class:`S` nodes (no interpretation)."""

    def start(self, top):
        return top

    # -- top level ---------------------------------------------------------
    def relseq(self, *items):
        exprs = items[0::2]
        ops = [_tokval(t).value for t in items[1::2]]
        if not ops:
            return exprs[0]
        return S("rel", tuple(exprs), tuple(ops), pos=_pos(exprs[0]))

    def toplist(self, *items):
        exprs = tuple(x for x in items if isinstance(x, S))
        return S("list", exprs, pos=_pos(exprs[0]))

    def continuation(self, *items):
        ops = [_tokval(t).value for t in items[0::2]]
        exprs = items[1::2]
        return S("cont", tuple(exprs), tuple(ops), pos=_pos(items[0]))

    # -- operators ---------------------------------------------------------
    def _bin(kind):
        def f(self, a, op, b):
            return S(kind, (a, b), pos=_pos(a), meta={"op": _tokval(op).value, "op_pos": _pos(op)})
        return f

    add = _bin("add")
    sub = _bin("minus")
    pm = _bin("pm")
    mp = _bin("mp")
    mul = _bin("mul")
    div = _bin("div")
    kron = _bin("kron")
    hadamard = _bin("hadamard")
    del _bin

    def neg(self, op, a):
        return S("neg", (a,), pos=_pos(op))

    def pos(self, op, a):
        return a

    def pm_unary(self, op, a):
        return S("pm", (S("number", value="0", pos=_pos(op)), a), pos=_pos(op))

    def mp_unary(self, op, a):
        return S("mp", (S("number", value="0", pos=_pos(op)), a), pos=_pos(op))

    def juxt(self, a, b):
        items = (a.args if a.kind == "juxt" else (a,)) + (b.args if b.kind == "juxt" else (b,))
        return S("juxt", items, pos=_pos(a))

    def prefix_app(self, prefix, arg):
        return S("prefix_app", (prefix, arg), pos=prefix.pos)

    def prefix(self, tok):
        t = _tokval(tok)
        return S("prefix", (), t.value, pos=t.pos, meta={"type": t.type, "sub": None, "sup": None,
                                                       "raw": t.text})

    def prefix_sub(self, prefix, _u, sub):
        prefix.meta["sub"] = sub
        return prefix

    def prefix_sup(self, prefix, _c, sup):
        prefix.meta["sup"] = sup
        return prefix

    def sup(self, base, caret, arg):
        return S("sup", (base, arg), pos=_pos(base), end=_pos(caret))

    def sub_(self, base, _u, arg):
        return S("sub", (base, arg), pos=_pos(base))

    def prime(self, base, tok):
        return S("prime", (base,), pos=_pos(base))

    def call(self, base, group):
        return S("call", (base, group), pos=_pos(base))

    # -- atoms -------------------------------------------------------------
    def number(self, tok):
        t = _tokval(tok)
        return S("number", (), t.value, pos=t.pos, meta={"bare_multidigit": t.text == "bare-multidigit"})

    def negnumber(self, _m, tok):
        t = _tokval(tok)
        return S("number", (), "-" + t.value, pos=t.pos)

    def letter(self, tok):
        t = _tokval(tok)
        return S("letter", (), t.value, pos=t.pos, meta={"raw": t.text or t.value})

    def name(self, tok):
        t = _tokval(tok)
        return S("word", (), t.value, pos=t.pos, meta={"raw": t.text})

    def const(self, tok):
        t = _tokval(tok)
        return S("const", (), t.value, pos=t.pos)

    def kl(self, tok):
        return S("kl", (), "KL", pos=_pos(tok))

    def jsd(self, tok):
        return S("jsd", (), "JSD", pos=_pos(tok))

    def top(self, tok):
        return S("top", (), "T", pos=_pos(tok))

    def invtop(self, _m, tok):
        return S("invtop", (), "-T", pos=_pos(tok))

    def star(self, tok):
        return S("star", (), "*", pos=_pos(tok))

    def primes(self, *toks):
        return S("primes", (), len(toks), pos=_pos(toks[0]))

    def group(self, lb, e, rb):
        return S("brace", (e,), pos=_pos(lb))

    def braced(self, lb, e, rb):
        return e if e.kind != "brace" else e.args[0]

    def braced_sub(self, lb, items, rb):
        return items

    def subitems(self, *items):
        if len(items) == 1:
            return items[0]
        return S("list", tuple(items), pos=_pos(items[0]))

    def sim(self, a, _s, b):
        return S("sim", (a, b), pos=_pos(a))

    def subrel(self, a, op, b):
        return S("rel", (a, b), (_tokval(op).value,), pos=_pos(a))

    def range_(self, a, _c, b):
        return S("range", (a, b), pos=_pos(a))

    def setlit(self, lb, args, rb):
        return S("set", (args,), pos=_pos(lb))

    def emptyset(self, lb, rb):
        return S("set", (S("args", (), pos=_pos(lb)),), pos=_pos(lb))

    def abs(self, lb, e, rb):  # noqa: A003
        return S("abs", (e,), pos=_pos(lb))

    def norm(self, lb, e, rb):
        return S("norm", (e,), pos=_pos(lb))

    def frac(self, f, lb1, a, rb1, lb2, b, rb2):
        return S("frac", (a, b), pos=_pos(f))

    def sqrt(self, s, lb, e, rb):
        return S("sqrt", (e,), pos=_pos(s))

    def root(self, s, lb, n, rb, lb2, e, rb2):
        return S("root", (n, e), pos=_pos(s))

    def matrix(self, begin, rows, end):
        b = _tokval(begin)
        return S("matrix", rows, b.value, pos=b.pos)

    def rows(self, *items):
        return tuple(r for r in items if isinstance(r, S))

    def row(self, *items):
        return S("row", tuple(x for x in items if isinstance(x, S)), pos=_pos(items[0]))

    def paren(self, lp, args, rp):
        return S("group", (args,), "(", pos=_pos(lp), end=_pos(rp))

    def bracket(self, lb, args, rb):
        return S("group", (args,), "[", pos=_pos(lb), end=_pos(rb))

    def arglist(self, *items):
        return tuple(x for x in items if isinstance(x, S))

    def args(self, arglist):
        return S("args", arglist, pos=_pos(arglist[0]) if arglist else 0)

    def conditional(self, a, _b, c):
        return S("args", a, "|", pos=_pos(a[0]), meta={"given": c})

    def divergence(self, a, _b, c):
        return S("args", a, "||", pos=_pos(a[0]), meta={"second": c})

    def semicolon(self, a, _b, c):
        return S("args", a, ";", pos=_pos(a[0]), meta={"params": c})


_OPERAND_START = {"NUMBER", "LETTER", "NAME", "CONST", "KL", "JSD", "LBRACE", "LSET", "LBAR", "LDBAR", "FRAC",
                  "SQRT", "MATBEGIN", "LPAR", "LBRACK", "FUNC", "WORD", "EXPECT", "SUM", "PROD", "INT", "MINUS",
                  "PLUS", "PM", "MP"}
_BINARY = {"PLUS", "MINUS", "PM", "MP", "MUL", "DIV", "KRON", "HADAMARD", "STAR"}


def _expected(names) -> list:
    names = set(names)
    out = []
    if len(names & _OPERAND_START) > 6:
        out.append("an expression (a number, a symbol, '(', \\frac, ...)")
        names -= _OPERAND_START
    if len(names & _BINARY) > 4:
        out.append("an operator (+, -, \\cdot, ...)")
        names -= _BINARY
    for n in sorted(names):
        f = FRIENDLY.get(n, n)
        if f not in out:
            out.append(f)
    return out


def _unclosed(toks: list) -> Optional[Tok]:
    """The innermost bracket still open at the end of the input, if any."""
    pairs = {"LPAR": "RPAR", "LBRACK": "RBRACK", "LBRACE": "RBRACE", "LSET": "RSET", "LBAR": "RBAR",
             "LDBAR": "RDBAR", "MATBEGIN": "MATEND"}
    stack = []
    for t in toks:
        if t.type in pairs:
            stack.append(t)
        elif stack and t.type == pairs[stack[-1].type]:
            stack.pop()
    return stack[-1] if stack else None


def parse(text: str) -> S:
    """Parse ``text`` into a syntax tree, or raise :class:`ParseError`."""
    if not isinstance(text, str):
        raise ParseError(f"expected LaTeX text, got {type(text).__name__}", 0)
    if not text.strip():
        raise ParseError("the answer is empty", 0, text=text)
    toks = tokenize(text)
    if not toks:
        raise ParseError("the answer has no mathematical content", 0, text=text)
    try:
        tree = parser().parse(toks)
    except UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            unclosed = _unclosed(toks)
            if unclosed is not None:
                opener = {"LPAR": "(", "LBRACK": "[", "LBRACE": "{", "LSET": "\\{", "LBAR": "|", "LDBAR": "\\|",
                          "MATBEGIN": f"\\begin{{{unclosed.value}}}"}[unclosed.type]
                raise ParseError(f"the answer ends before the '{opener}' at position {unclosed.pos} is closed",
                                 len(text), _expected(exc.expected), text=text) from None
            raise ParseError("the answer ends too early", len(text), _expected(exc.expected), text=text) from None
        t = tok.value if isinstance(tok.value, Tok) else None
        shown = text[t.pos:t.pos + 12] if t else str(tok)
        raise ParseError(f"unexpected {shown.split()[0] if shown.strip() else shown!r}",
                         t.pos if t else None, _expected(exc.expected), text=text) from None
    except UnexpectedEOF as exc:
        raise ParseError("the answer ends too early", len(text), _expected(exc.expected), text=text) from None
    except UnexpectedInput as exc:  # pragma: no cover - our lexer never produces UnexpectedCharacters
        raise ParseError(str(exc), getattr(exc, "pos_in_stream", None), text=text) from None
    return _Builder().transform(tree)
