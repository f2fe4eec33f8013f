"""Building blocks for symbolic checks: each returns a ``SymbolicResult``.

A check is three-valued.  ``holds`` means SymPy reduced the residual to zero
(or the condition to ``True``); ``fails`` comes with a *counterexample*: a
point inside the symbols' assumptions where the residual is non-zero when
evaluated exactly (rationals substituted, then 40-digit evaluation); when
SymPy can neither simplify the residual away nor find such a point the
verdict is ``inconclusive`` (a CAS "no" is not a proof).

    prove.equal(lhs, rhs)            # scalars or matrices
    prove.zero(expr)
    prove.same_set(actual, expected) # multisets of expressions
    prove.true(condition)            # a SymPy relation / Boolean
    prove.choice(answer, derived)    # an option label against a derived one
    prove.all_of(r1, r2, ...)        # every part must hold
"""
from __future__ import annotations

import random
from typing import Iterable, Optional, Sequence

import sympy as sp

from derivcheck.model import SymbolicResult, Verdict, combine

_PROBES = 12
_ZERO = sp.Float("1e-25")


def _latex(expr) -> str:
    try:
        return sp.latex(expr)
    except Exception:  # pragma: no cover - printing must never fail a check
        return str(expr)


def _sample_value(sym: sp.Symbol, rnd: random.Random) -> sp.Expr:
    """An exact value inside the symbol's declared assumptions."""
    if sym.is_integer:
        lo = 1 if sym.is_positive else 0 if sym.is_nonnegative else -5
        hi = -1 if sym.is_negative else 0 if sym.is_nonpositive else 7
        return sp.Integer(rnd.randint(lo, hi))
    num = rnd.randint(1, 29)
    den = rnd.choice([2, 3, 5, 7, 11])
    value = sp.Rational(num, den)
    if sym.is_positive or sym.is_nonnegative:
        return value
    if sym.is_negative or sym.is_nonpositive:
        return -value
    return value if rnd.random() < 0.5 else -value


def _symbols(expr) -> list:
    return sorted(getattr(expr, "free_symbols", set()), key=lambda s: s.name)


def probe_points(symbols: Sequence[sp.Symbol], n: int = _PROBES, seed: int = 0):
    """Deterministic exact sample points respecting the symbols' assumptions."""
    rnd = random.Random(seed)
    for _ in range(n):
        yield {s: _sample_value(s, rnd) for s in symbols}


def _nonzero_at(expr, point) -> Optional[sp.Expr]:
    """The exact value of ``expr`` at ``point`` if it is certainly non-zero."""
    try:
        value = expr.subs(point)
        approx = sp.N(value, 40)
    except Exception:
        return None
    if not approx.is_number or approx.has(sp.nan, sp.zoo):
        return None
    if abs(approx) > _ZERO:
        return approx
    return None


def _counterexample(entries: Iterable[sp.Expr], symbols) -> Optional[dict]:
    entries = list(entries)
    for point in probe_points(symbols):
        for e in entries:
            value = _nonzero_at(e, point)
            if value is not None:
                shown = {str(k): str(v) for k, v in point.items()}
                shown["value"] = str(sp.N(value, 8))
                return shown
    return None


def as_expr(value) -> sp.Basic:
    """A SymPy object from a SymPy object or a Python number (never from text)."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool):
        return sp.true if value else sp.false
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, float):
        return sp.Float(value)
    if isinstance(value, complex):
        return sp.Float(value.real) + sp.I * sp.Float(value.imag)
    raise TypeError(f"expected a SymPy object or a number, got {type(value).__name__}")


def _simplify(expr):
    expr = as_expr(expr)
    if expr == 0:
        return expr
    out = sp.simplify(expr)
    if out != 0:
        out = sp.simplify(sp.expand_complex(out)) if out.has(sp.I) else out
    return out


def zero(expr, *, what: str = "residual") -> SymbolicResult:
    """Holds iff ``expr`` (scalar or matrix) simplifies to zero."""
    if isinstance(expr, sp.MatrixBase):
        residual = expr.applyfunc(_simplify)
        entries = [e for e in residual if e != 0]
    else:
        residual = _simplify(expr)
        entries = [] if residual == 0 else [residual]
    if not entries:
        return SymbolicResult(Verdict.HOLDS, method=f"simplify({what}) = 0", residual="0", residual_latex="0")
    symbols = sorted(set().union(*(_symbols(e) for e in entries)), key=lambda s: s.name)
    cex = _counterexample(entries, symbols)
    if cex is not None:
        return SymbolicResult(
            Verdict.FAILS,
            method=f"{what} is non-zero at an exact point within the assumptions",
            residual=str(residual),
            residual_latex=_latex(residual),
            counterexample=cex,
        )
    return SymbolicResult(
        Verdict.INCONCLUSIVE,
        method=f"simplify({what}) did not reach 0",
        residual=str(residual),
        residual_latex=_latex(residual),
        detail=f"no counterexample at {_PROBES} exact probe points",
    )


def equal(lhs, rhs, *, what: str = "lhs - rhs") -> SymbolicResult:
    """Holds iff ``lhs - rhs`` simplifies to zero (shapes must agree)."""
    lm, rm = isinstance(lhs, sp.MatrixBase), isinstance(rhs, sp.MatrixBase)
    if lm or rm:
        if not (lm and rm) or lhs.shape != rhs.shape:
            ls = lhs.shape if lm else "scalar"
            rs = rhs.shape if rm else "scalar"
            return SymbolicResult(
                Verdict.FAILS,
                method="shape mismatch",
                residual=f"shapes {ls} and {rs}",
                detail=f"{_latex(lhs)} vs {_latex(rhs)}",
            )
    return zero(lhs - rhs, what=what)


def _as_multiset(values) -> list:
    if isinstance(values, dict):  # SymPy's {value: multiplicity}
        return [as_expr(k) for k, m in values.items() for _ in range(int(m))]
    return [as_expr(v) for v in values]


def same_set(actual, expected, *, what: str = "set") -> SymbolicResult:
    """Holds iff the two multisets of expressions agree element by element."""
    actual, expected = _as_multiset(actual), _as_multiset(expected)
    left = list(actual)
    unmatched = []
    for e in expected:
        for i, a in enumerate(left):
            if _simplify(a - e) == 0:
                del left[i]
                break
        else:
            unmatched.append(e)
    if not unmatched and not left:
        return SymbolicResult(
            Verdict.HOLDS, method=f"every element of the {what} matched by simplify(a - b) = 0", residual="{}"
        )
    residual = f"expected but missing: {unmatched}; present but unexpected: {left}"
    symbols = sorted(set().union(set(), *(_symbols(x) for x in actual + expected)), key=lambda s: s.name)
    if len(actual) != len(expected):
        return SymbolicResult(
            Verdict.FAILS,
            method=f"{what} sizes differ ({len(actual)} vs {len(expected)})",
            residual=residual,
        )
    for point in probe_points(symbols):
        try:
            a_vals = sorted((complex(sp.N(x.subs(point), 30)) for x in actual), key=lambda z: (z.real, z.imag))
            e_vals = sorted((complex(sp.N(x.subs(point), 30)) for x in expected), key=lambda z: (z.real, z.imag))
        except (TypeError, ValueError):
            continue
        if any(abs(p - q) > 1e-12 * max(1.0, abs(p)) for p, q in zip(a_vals, e_vals)):
            shown = {str(k): str(v) for k, v in point.items()}
            shown["derived"] = str([complex(round(z.real, 10), round(z.imag, 10)) for z in a_vals])
            shown["claimed"] = str([complex(round(z.real, 10), round(z.imag, 10)) for z in e_vals])
            return SymbolicResult(
                Verdict.FAILS,
                method=f"the {what}s differ at an exact point within the assumptions",
                residual=residual,
                counterexample=shown,
            )
    return SymbolicResult(
        Verdict.INCONCLUSIVE, method=f"{what} elements not matched symbolically", residual=residual
    )


def _sign_of(expr) -> Optional[int]:
    """+1, 0 or -1 when SymPy's assumptions decide the sign of ``expr``."""
    expr = sp.simplify(expr)
    if expr.is_zero:
        return 0
    if expr.is_positive:
        return 1
    if expr.is_negative:
        return -1
    return None


def _decide_relational(rel) -> Optional[bool]:
    """Decide ``lhs <op> rhs`` from the sign of lhs - rhs (or of lhs^2 - rhs^2
    when both sides are non-negative, which settles square roots)."""
    ops = {
        sp.StrictGreaterThan: lambda s: s > 0, sp.GreaterThan: lambda s: s >= 0,
        sp.StrictLessThan: lambda s: s < 0, sp.LessThan: lambda s: s <= 0,
        sp.Equality: lambda s: s == 0, sp.Unequality: lambda s: s != 0,
    }
    test = ops.get(type(rel))
    if test is None:
        return None
    lhs, rhs = rel.lhs, rel.rhs
    sign = _sign_of(lhs - rhs)
    if sign is None and lhs.is_nonnegative and rhs.is_nonnegative:
        sign = _sign_of(sp.expand(lhs**2 - rhs**2))
    return None if sign is None else test(sign)


def true(condition, *, what: str = "condition") -> SymbolicResult:
    """Holds iff the SymPy condition simplifies to ``True``; fails on ``False``."""
    cond = as_expr(condition)
    simplified = sp.simplify(cond) if not isinstance(cond, sp.logic.boolalg.BooleanAtom) else cond
    if isinstance(simplified, sp.core.relational.Relational):
        decided = _decide_relational(simplified)
        if decided is not None:
            simplified = sp.true if decided else sp.false
    if simplified is sp.true:
        return SymbolicResult(Verdict.HOLDS, method=f"{what} simplifies to True", residual="True")
    if simplified is sp.false:
        return SymbolicResult(
            Verdict.FAILS,
            method=f"{what} simplifies to False",
            residual=str(cond),
            residual_latex=_latex(cond),
        )
    return SymbolicResult(
        Verdict.INCONCLUSIVE,
        method=f"{what} did not simplify to True or False",
        residual=str(simplified),
        residual_latex=_latex(simplified),
    )


def choice(answer, derived, *, reason: str, options: Optional[Sequence[str]] = None) -> SymbolicResult:
    """An option label against the one the derivation gives (case-insensitive)."""
    given = str(answer).strip().lower()
    target = str(derived).strip().lower()
    if options is not None and given not in [o.lower() for o in options]:
        return SymbolicResult(
            Verdict.FAILS, method="not one of the options", residual=f"{answer!r} not in {list(options)}"
        )
    if given == target:
        return SymbolicResult(Verdict.HOLDS, method="the derivation selects this option", residual="", detail=reason)
    return SymbolicResult(
        Verdict.FAILS,
        method="the derivation selects another option",
        residual=f"derived {derived!r}, claimed {answer!r}",
        detail=reason,
    )


def all_of(*results: SymbolicResult, labels: Optional[Sequence[str]] = None) -> SymbolicResult:
    """Every part must hold; the first part that does not gives the residual."""
    labels = list(labels) if labels else [f"part {i + 1}" for i in range(len(results))]
    verdict = combine(r.verdict for r in results)
    methods = "; ".join(f"{lab}: {r.method}" for lab, r in zip(labels, results))
    for lab, r in zip(labels, results):
        if r.verdict is not Verdict.HOLDS and (verdict is Verdict.INCONCLUSIVE or r.verdict is Verdict.FAILS):
            return SymbolicResult(
                verdict,
                method=methods,
                residual=f"{lab}: {r.residual}",
                residual_latex=r.residual_latex,
                counterexample=r.counterexample,
                detail=r.detail,
            )
    return SymbolicResult(verdict, method=methods, residual="0")


def nonzero(expr, *, what: str = "expression") -> SymbolicResult:
    """The statement "``expr`` is not identically zero": holds with a witness (an exact point where
    it is non-zero), fails when it simplifies to zero, inconclusive otherwise."""
    z = zero(expr, what=what)
    if z.verdict is Verdict.HOLDS:
        return SymbolicResult(Verdict.FAILS, method=f"simplify({what}) = 0: it is identically zero", residual="0",
                              residual_latex="0")
    if z.verdict is Verdict.FAILS:
        return SymbolicResult(Verdict.HOLDS, method=f"{what} is non-zero at an exact point", residual=z.residual,
                              residual_latex=z.residual_latex, detail=f"witness: {z.counterexample}")
    return SymbolicResult(Verdict.INCONCLUSIVE, method=z.method, residual=z.residual, residual_latex=z.residual_latex,
                          detail=z.detail)


def holds_if(ok: Optional[bool], method: str, *, residual: str = "", detail: str = "") -> SymbolicResult:
    """A decided condition as a result: True holds, False fails, None is inconclusive."""
    verdict = Verdict.INCONCLUSIVE if ok is None else Verdict.HOLDS if ok else Verdict.FAILS
    return SymbolicResult(verdict, method=method, residual=residual or ("" if ok else method), detail=detail)


def option_truths(statements: dict) -> tuple:
    """Each option's truth from the check of *that option's own statement*.

    ``statements`` maps an option label to ``(says, check)``: ``says`` the option's statement in
    the project's words, ``check()`` a ``SymbolicResult`` whose verdict is the truth of ``says``
    (``holds``: the statement is true; ``fails``: it is false, with the residual that refutes it).
    Returns ``({label: True/False/None}, {label: result}, reason)``; no list of labels anywhere
    says which option is the key."""
    results = {label: check() for label, (says, check) in statements.items()}
    truths = {label: {Verdict.HOLDS: True, Verdict.FAILS: False}.get(r.verdict) for label, r in results.items()}
    reason = "; ".join(
        f"({label}) {'true' if truths[label] else 'false' if truths[label] is False else 'undecided'}: "
        f"{statements[label][0]} [{results[label].method}"
        + (f"; {results[label].residual}" if results[label].residual and truths[label] is False else "") + "]"
        for label in sorted(statements))
    return truths, results, reason


def option_key(truths: dict, *, select: str) -> Optional[object]:
    """The key from option truths: ``select`` is ``"true"`` (the one true option), ``"false"`` (the
    one false option: "which proposition is false") or ``"all-true"`` (the set of true options).
    None when some option is undecided or a single-answer question has no unique option."""
    if any(v is None for v in truths.values()):
        return None
    if select == "all-true":
        return sorted(k for k, v in truths.items() if v)
    want = select == "true"
    hits = sorted(k for k, v in truths.items() if v is want)
    return hits[0] if len(hits) == 1 else None


def option_answer(answer, statements, *, select: str, options: Sequence[str]) -> SymbolicResult:
    """Check ``answer`` (a label, or a set of labels for ``all-true``) against the key derived from
    the option statements' own checks.  ``statements`` is the dict of :func:`option_truths` or its
    (cached) return value."""
    truths, results, reason = option_truths(statements) if isinstance(statements, dict) else statements
    key = option_key(truths, select=select)
    if key is None:
        undecided = [k for k, v in truths.items() if v is None]
        return SymbolicResult(Verdict.INCONCLUSIVE, method="the options' checks do not determine a key",
                              residual=f"undecided: {undecided}" if undecided else "no unique option",
                              detail=reason)
    if select == "all-true":
        given = [answer] if isinstance(answer, str) else list(answer)
        labels = {str(a).strip().lower() for a in given}
        bad = sorted(labels - {o.lower() for o in options})
        if bad:
            return SymbolicResult(Verdict.FAILS, method="not among the options", residual=f"{bad} not in {list(options)}")
        return choice(",".join(sorted(labels)), ",".join(key), reason=reason)
    return choice(answer, key, reason=reason, options=options)
