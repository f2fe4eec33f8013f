r"""LaTeX for an expression tree: how the grader *read* an answer, for the live preview.

    from derivcheck.grading.render import to_latex
    to_latex(reading.expr)        # 'F_{12} - W_{p} F_{1}'

The output is built from the parsed tree (:mod:`grading.expr`), never from
the student's text, so the preview shows the reading the grader judges:
the order of matrix factors, what an operator applies to, which bracket
is an argument and which a product.  Products are written with a thin
space (``A \, B``) and scalar coefficients first, exactly in tree order;
brackets appear only where precedence needs them.  Only printing: no
verdict is decided here.
"""
from __future__ import annotations

import re
from fractions import Fraction

from .expr import Expr

_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
    "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "Gamma", "Delta",
    "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
}
_ACCENTS = {"tilde": r"\tilde", "hat": r"\hat", "bar": r"\bar", "dot": r"\dot", "cal": r"\mathcal",
            "bb": r"\mathbb", "vec": r"\vec"}
_RELS = {"=": "=", ":=": ":=", "<=": r"\leq", ">=": r"\geq", "<": "<", ">": ">", "!=": r"\neq",
         "~": r"\approx", "approx": r"\approx", "propto": r"\propto"}
_FN = {"log": r"\log", "exp": r"\exp", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "tanh": r"\tanh",
       "sinh": r"\sinh", "cosh": r"\cosh", "det": r"\det", "atan": r"\arctan", "tr": r"\operatorname{tr}",
       "vec": r"\operatorname{vec}", "sigmoid": r"\sigma", "max": r"\max", "min": r"\min"}
_PREC = {"rel": 0, "pm": 1, "add": 1, "kron": 2, "hadamard": 2, "mul": 3, "div": 9, "neg": 4, "pow": 5}


def name_latex(name: str) -> str:
    r"""LaTeX of a canonical context name: ``F_12`` -> ``F_{12}``, ``tilde(W)_p`` -> ``\tilde{W}_{p}``,
    ``q_phi`` -> ``q_{\phi}``, ``D^*`` -> ``D^{*}``, ``X'`` -> ``X'``."""
    base, sub, sup = name, "", ""
    m = re.fullmatch(r"(.*?)(\^[^_]*)?(?:_(.+))?", name)
    if m:
        base, sup, sub = m.group(1), (m.group(2) or "")[1:], m.group(3) or ""
    if "^" in sub:  # 'x_1^*'
        sub, sup = sub.split("^", 1)

    def atom(s: str) -> str:
        a = re.fullmatch(r"([a-z]+)\((.+)\)", s)
        if a and a.group(1) in _ACCENTS:
            return f"{_ACCENTS[a.group(1)]}{{{atom(a.group(2))}}}"
        primes = len(s) - len(s.rstrip("'"))
        core = s.rstrip("'")
        core = f"\\{core}" if core in _GREEK else (core if len(core) <= 1 or core.isdigit() else
                                                   rf"\mathrm{{{core}}}")
        return core + "'" * primes

    out = atom(base) if base else ""
    if sub:
        out += "_{" + ",".join(atom(p) for p in sub.split(",")) + "}"
    if sup:
        out += "^{" + ("*" if sup == "*" else atom(sup)) + "}"
    return out


def _num(v) -> str:
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return str(v.numerator)
        sign = "-" if v < 0 else ""
        return rf"{sign}\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
    if isinstance(v, complex):
        return rf"({v.real:g} {'+' if v.imag >= 0 else '-'} {abs(v.imag):g} i)"
    if isinstance(v, float):
        s = f"{v:g}"
        if "e" in s:
            mant, exp = s.split("e")
            return rf"{mant} \cdot 10^{{{int(exp)}}}"
        return s
    return str(v)


def _paren(e: Expr, parent: int) -> str:
    s = to_latex(e)
    if _PREC.get(e.op, 9) < parent or (e.op == "num" and parent >= 3 and isinstance(e.value, Fraction)
                                       and e.value < 0):
        return rf"\left({s}\right)"
    return s


def _density(value) -> str:
    name, vars_, given = value
    inner = ",".join(name_latex(v) for v in vars_)
    if given:
        inner += r" \mid " + ",".join(name_latex(v) for v in given)
    return f"{name_latex(name)}({inner})"


def _script(e: Expr) -> str:
    """A sub- or superscript: braces, no outer brackets."""
    return "{" + to_latex(e) + "}"


def to_latex(e: Expr) -> str:
    """LaTeX of an expression tree (the parsed reading of an answer, or a key)."""
    op, a = e.op, e.args
    if op == "num":
        return _num(e.value)
    if op == "const":
        return {"pi": r"\pi", "inf": r"\infty", "e": "e", "i": "i"}.get(e.value, str(e.value))
    if op == "sym":
        return name_latex(str(e.value))
    if op == "bound":
        return name_latex(str(e.value))
    if op == "ident":
        return "I" if e.value is None else f"I_{{{name_latex(str(e.value))}}}"
    if op == "add":
        out = to_latex(a[0])
        for t in a[1:]:
            if t.op == "neg":
                out += " - " + _paren(t.args[0], 2)
            elif t.op == "num" and isinstance(t.value, Fraction) and t.value < 0:
                out += " - " + _num(-t.value)
            else:
                out += " + " + _paren(t, 2)
        return out
    if op == "mul":
        return r" \, ".join(_paren(f, 3) if i == 0 else _paren(f, 5) for i, f in enumerate(a))
    if op == "neg":
        return "-" + _paren(a[0], 4)
    if op == "div":
        return rf"\frac{{{to_latex(a[0])}}}{{{to_latex(a[1])}}}"
    if op == "pow":
        base = a[0]
        if base.op == "fn" and base.value not in ("norm", "abs", "sqrt", "root"):
            return rf"\left({to_latex(base)}\right)^{_script(a[1])}"
        return f"{_paren(base, 6)}^{_script(a[1])}"
    if op == "T":
        return rf"{_paren(a[0], 6)}^{{\top}}"
    if op == "inv":
        return f"{_paren(a[0], 6)}^{{-1}}"
    if op == "kron":
        return r" \otimes ".join(_paren(x, 3) for x in a)
    if op == "hadamard":
        return r" \odot ".join(_paren(x, 3) for x in a)
    if op == "fn":
        return _fn(e)
    if op == "density":
        return _density(e.value)
    if op == "E":
        dist, body = a
        sub = ",".join(name_latex(v) for v in e.value) + r" \sim " + to_latex(dist)
        return rf"\mathbb{{E}}_{{{sub}}}\left[{to_latex(body)}\right]"
    if op == "int":
        return rf"\int {_paren(a[0], 3)} \, d{name_latex(str(e.value))}"
    if op in ("sum", "prod"):
        lo, hi, body = a
        sign = r"\sum" if op == "sum" else r"\prod"
        var = name_latex(str(e.value))
        rng = f"_{{{var}={to_latex(lo)}}}^{_script(hi)}" if lo is not None else f"_{{{var}}}"
        return f"{sign}{rng} {_paren(body, 3)}"
    if op == "kl":
        return rf"D_{{\mathrm{{KL}}}}\left({to_latex(a[0])} \,\|\, {to_latex(a[1])}\right)"
    if op == "jsd":
        return rf"\mathrm{{JSD}}\left({to_latex(a[0])} \,\|\, {to_latex(a[1])}\right)"
    if op == "matrix":
        r, c = e.value
        rows = [" & ".join(to_latex(a[i * c + j]) for j in range(c)) for i in range(r)]
        return r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"
    if op == "tuple":
        return r"\left(" + ", ".join(to_latex(x) for x in a) + r"\right)"
    if op == "set":
        return r"\left\{" + ", ".join(to_latex(x) for x in a) + r"\right\}"
    if op == "list":
        return ", ".join(to_latex(x) for x in a)
    if op == "pm":
        return f"{_paren(a[0], 1)} \\pm {_paren(a[1], 2)}"
    if op in ("rel", "cont"):  # a continuation step ('= rhs') has no first side
        out = to_latex(a[0]) if op == "rel" else ""
        for rel, x in zip(e.value, a[1:] if op == "rel" else a):
            out += f" {_RELS.get(rel, rel)} {to_latex(x)}"
        return out.strip()
    return rf"\operatorname{{{op}}}\left(" + ", ".join(to_latex(x) for x in a if isinstance(x, Expr)) + r"\right)"


def _fn(e: Expr) -> str:
    a, name = e.args, e.value
    if name == "norm":
        order = f"_{{{to_latex(a[1])}}}" if len(a) > 1 and a[1] is not None else ""
        return rf"\left\|{to_latex(a[0])}\right\|{order}"
    if name == "abs":
        return rf"\left|{to_latex(a[0])}\right|"
    if name == "sqrt":
        return rf"\sqrt{{{to_latex(a[0])}}}"
    if name == "root" and len(a) > 1:
        return rf"\sqrt[{to_latex(a[1])}]{{{to_latex(a[0])}}}"
    if name == "log" and len(a) > 1:
        return rf"\log_{{{to_latex(a[1])}}}\left({to_latex(a[0])}\right)"
    head = _FN.get(name, rf"\operatorname{{{name}}}")
    return head + r"\left(" + ", ".join(to_latex(x) for x in a) + r"\right)"
