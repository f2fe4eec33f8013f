r"""Graders of the keyed answer kinds: option labels (choice, choices, mapping), label and
expression sets, expressions, matrices and points.

Each is registered with :func:`.kinds.grades`; :mod:`.api` dispatches to it.  An expression
answer is parsed by the project's own grammar (never evaluated as code), read every possible
way where the notation is ambiguous, checked against the question's form restrictions, and
judged by the equivalence engine on random instances of the question's notation context.
"""
from __future__ import annotations

import functools
import itertools
import re
from typing import Any, Optional

import yaml

from derivcheck import catalogue
from derivcheck.model import Verdict

from . import expr as X
from . import slips
from .context import Context
from .engine import Engine, Judgement
from .expr import Expr, to_text
from .keys import KeyEntry, key_entry, normalize_label
from .kinds import grades
from .questions import Question, contexts
from .results import CORRECT, INCORRECT, NEEDS_HUMAN, PARTIAL, UNPARSEABLE, Result
from .semantics import NotationError, Reading, readings_of_tree
from .syntax import ParseError, S, TooCostly, normalize_unicode, parse


# --------------------------------------------------------------------------
# Engines (one per context, instances drawn once per process)
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def engine(context_name: str) -> Engine:
    return Engine(contexts()[context_name])


catalogue.on_change(engine.cache_clear)  # a questions file added or removed may redefine a context


# -- labels ----------------------------------------------------------------------
_LABEL_STRIP = re.compile(r"^[\s(\[]*(.*?)[\s)\].:]*$")
#: 'option b', 'answer: (b)', 'choice B.'
_LABEL_PREFIX = re.compile(r"^\s*(?:option|answer|choice|ans)\b\s*[:.=\-]?\s*", re.I)
#: a label as the sheets print it before an option's text: '(b) text', 'b) text', 'B. text', 'ii: text', 'yes, because'
_LEADING_LABEL = re.compile(r"^\s*[(\[]?\s*([a-z0-9][a-z0-9-]*)\s*(?:[)\]]|[.:,;!]\s|[.:,;!]$|\s-+\s)", re.I)
#: words that make a short phrase a hedge, not a choice ('no idea', 'not sure', 'a or b')
_HEDGES = {"idea", "sure", "unsure", "know", "either", "neither", "both", "or", "not", "never", "unknown", "?"}


def _label(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    s = str(x).strip().lower()
    m = _LABEL_STRIP.match(s)
    return m.group(1).strip() if m else s


def _option(x: Any, options: list) -> tuple:
    """(label, note): the option a student's text names, read the way the sheets print options
    ('(b)', 'b)', 'B.', 'option b', '(b) the text of b', 'reverse KL'); the plain label when none fits."""
    plain = _label(x)
    if not options or plain in options or isinstance(x, bool):
        return plain, ""
    text = _LABEL_PREFIX.sub("", str(x).strip())
    if _label(text) in options:
        return _label(text), ""
    m = _LEADING_LABEL.match(text)
    if m and m.group(1).lower() in options:
        return m.group(1).lower(), f"{text[:60]!r} read as option {m.group(1).lower()}"
    words = [w for w in re.split(r"[\s,;:.!()\[\]]+", text.lower()) if w]
    named = [w for w in words if w in options]
    if len(set(named)) == 1 and len(words) <= 4 and not (set(words) & _HEDGES) and "?" not in text \
            and not all(len(o) == 1 for o in options):
        return named[0], f"{text[:60]!r} read as option {named[0]}"
    return plain, ""


def _key_name(k: Any, keys: list) -> tuple:
    """(key, note): a mapping key as the student wrote it ('Scenario 1', '1)', 'Colour') -> the record's key."""
    plain = _label(k)
    if not keys or plain in keys:
        return plain, ""
    squash = {re.sub(r"[^a-z0-9]", "", key): key for key in keys}
    mine = re.sub(r"[^a-z0-9]", "", plain)
    if mine in squash:
        return squash[mine], ""
    if mine.isdigit():  # '1)' or '(2)': the scenario numbered so
        ends = [key for key in keys if re.sub(r"\D", "", key) == mine]
        if len(ends) == 1:
            return ends[0], f"'{k}' read as {ends[0]}"
    import difflib

    close = difflib.get_close_matches(mine, list(squash), n=2, cutoff=0.8)
    if len(close) == 1:
        return squash[close[0]], f"'{k}' read as {squash[close[0]]}"
    return plain, ""


@grades("choice")
def _grade_choice(q, entry, answer, deadline) -> Result:
    if isinstance(answer, (list, dict)):
        return Result(q.id, UNPARSEABLE, 0.0, q.points, f"expected one option label, got a {type(answer).__name__}")
    options = [o.lower() for o in q.options]
    given, note = _option(answer, options)
    if options and given not in options:
        return Result(q.id, UNPARSEABLE, 0.0, q.points,
                      f"{str(answer)[:200]!r} is not one of the options ({', '.join(q.options)})")
    note = f" ({note})" if note else ""
    if given == entry.labels:
        return Result(q.id, CORRECT, q.points, q.points, f"{given}: correct{note}", method="option label")
    return slips.annotate(Result(q.id, INCORRECT, 0.0, q.points, f"{given}: incorrect{note}",
                                 method="option label"), q, given, entry.labels)


def _as_label_list(answer, options: Optional[list] = None) -> Optional[list]:
    if isinstance(answer, dict) and all(v is None for v in answer.values()):
        answer = list(answer)  # '{a, b}' read by YAML as a mapping without values
    if isinstance(answer, (list, tuple, set)):
        return [_option(a, options or [])[0] for a in answer]
    if isinstance(answer, str):
        parts = [p for p in re.split(r"[\s,;{}\\&]+|\band\b", answer) if p and p.strip()]
        return [_option(p, options or [])[0] for p in parts]
    if isinstance(answer, (int, float, bool)):
        return [_label(answer)]
    return None


@grades("choices", yaml_text=True)
def _grade_choices(q, entry, answer, deadline) -> Result:
    options = [o.lower() for o in q.options]
    given = _as_label_list(answer, options)
    if given is None:
        return Result(q.id, UNPARSEABLE, 0.0, q.points, "expected a list of option labels")
    bad = [g for g in given if options and g not in options]
    if bad:
        return Result(q.id, UNPARSEABLE, 0.0, q.points,
                      f"not options: {', '.join(bad)} (options: {', '.join(q.options)})")
    chosen, key = set(given), set(entry.labels)
    right, wrong = chosen & key, chosen - key
    missed = key - chosen
    if chosen == key:
        return Result(q.id, CORRECT, q.points, q.points, "every correct option and no other", method="option labels")
    frac = max(0.0, (len(right) - len(wrong)) / len(key)) if key else 0.0
    score = round(q.points * frac, 4)
    msg = []
    if wrong:
        msg.append(f"wrongly selected: {', '.join(sorted(wrong))}")
    if missed:
        msg.append(f"missing: {len(missed)} correct option(s)")
    verdict = PARTIAL if score > 0 else INCORRECT
    return Result(q.id, verdict, score, q.points, "; ".join(msg) + " (partial credit: (right - wrong) / correct)",
                  method="option labels")


@grades("mapping", yaml_text=True)
def _grade_mapping(q, entry, answer, deadline) -> Result:
    if not isinstance(answer, dict):
        return Result(q.id, UNPARSEABLE, 0.0, q.points,
                      f"expected a mapping {{{', '.join(k + ': ...' for k in q.keys)}}}")
    options = [o.lower() for o in q.options]
    keys_known = [k.lower() for k in q.keys] or [str(k) for k in entry.labels]
    given, notes = {}, []
    for k, v in answer.items():
        name, n1 = _key_name(k, keys_known)
        value, n2 = _option(v, options)
        given[name] = value
        notes.extend(n for n in (n1, n2) if n)
    bad = [f"{k}: {v}" for k, v in given.items() if options and v not in options]
    if bad:
        return Result(q.id, UNPARSEABLE, 0.0, q.points,
                      f"not options: {', '.join(bad)} (options: {', '.join(q.options)})")
    keys = list(entry.labels)
    right = [k for k in keys if given.get(k) == entry.labels[k]]
    wrong = [k for k in keys if k in given and given[k] != entry.labels[k]]
    missing = [k for k in keys if k not in given]
    extra = [k for k in given if k not in entry.labels]
    score = round(q.points * len(right) / len(keys), 4) if keys else 0.0
    parts = []
    if wrong:
        parts.append(f"incorrect: {', '.join(wrong)}")
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    if extra:
        parts.append(f"ignored unknown keys: {', '.join(extra)}")
    parts.extend(dict.fromkeys(notes))
    if len(right) == len(keys):
        return Result(q.id, CORRECT, q.points, q.points, "every entry correct" + (
            f" ({'; '.join(parts)})" if parts else ""), method="option labels")
    verdict = PARTIAL if right else INCORRECT
    return slips.annotate(Result(q.id, verdict, score, q.points, "; ".join(parts), method="option labels per key"),
                          q, given, entry.labels)


# -- expressions -------------------------------------------------------------------
class _Unreadable(Exception):
    def __init__(self, message: str, details: Optional[dict] = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


def _parse_error_details(exc: ParseError) -> dict:
    return {"position": exc.position, "expected": exc.expected, "pointer": exc.pointer()}


def _top_split(text: str) -> Optional[str]:
    """The text after the last '=' outside brackets, if any."""
    depth = 0
    last = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "=" and depth == 0:
            last = i
        i += 1
    if last is None or last == len(text) - 1:
        return None
    return text[last + 1:]


def _parse_answer(text: str) -> tuple:
    """Parse, falling back to the part after the last top-level '=' when the whole does not parse."""
    try:
        return parse(text), ""
    except TooCostly:
        raise
    except ParseError as exc:
        tail = _top_split(text)
        if tail is not None:
            try:
                return parse(tail), "only the expression after the last '=' was read"
            except TooCostly:
                raise
            except ParseError:
                pass
        raise _Unreadable(f"cannot read the answer: {exc.describe()}", _parse_error_details(exc)) from None


def _strip_lhs(tree: S) -> tuple:
    """An '=' chain grades its last side ('D^*(x) = ...', 'A = ...')."""
    if tree.kind == "rel":
        if all(op in ("=", ":=") for op in tree.value):
            return tree.args[-1], "the last side of the equation was graded"
        raise _Unreadable(f"expected an expression, got a relation ({' '.join(tree.value)})")
    if tree.kind == "cont":
        raise _Unreadable("expected an expression, got a step that starts with a relation")
    return tree, ""


def _text(answer: Any) -> str:
    if isinstance(answer, bool):
        raise _Unreadable("expected an expression, got a yes/no value")
    if isinstance(answer, (int, float)):
        return repr(answer) if isinstance(answer, float) else str(answer)
    if isinstance(answer, str):
        return normalize_unicode(answer)[0]
    raise _Unreadable(f"expected LaTeX text, got a {type(answer).__name__}")


def _readings(tree: S, ctx: Context, text: str) -> list:
    try:
        return readings_of_tree(tree, ctx, text)
    except TooCostly:
        raise
    except NotationError as exc:
        raise _Unreadable(exc.describe() if exc.position is None else
                          f"{exc.message} (at position {exc.position})", _parse_error_details(exc)) from None


def _restriction(q: Question, e: Expr) -> Optional[str]:
    """Why an answer's form is not acceptable for the question (or None)."""
    ctx = q.context
    forbid = {ctx.lookup(n).name for n in q.spec.forbid if ctx.lookup(n) is not None}
    if forbid or q.spec.forbid_ops:
        stack = [e]
        while stack:
            node = stack.pop()
            if node.op in q.spec.forbid_ops:
                return f"the answer uses {node.op.upper()}, which this question asks to express otherwise"
            if node.op == "E":
                stack.append(node.args[1])  # the distribution may be named
                continue
            if node.op in ("sym", "density"):
                name = node.value if node.op == "sym" else node.value[0]
                if name in forbid:
                    return f"the answer uses {name}, which this question asks to eliminate"
            stack.extend(a for a in node.args if isinstance(a, Expr))
    if q.spec.restates:
        asked = set()
        for latex in q.spec.restates:
            asked |= _allowed_forms(latex, ctx)
        if any(node in asked for node in e.walk()):
            return (f"the answer restates the quantity asked for instead of expressing it"
                    + (f" ({q.ask})" if q.ask else ""))
    if q.spec.only_through:
        allowed = _allowed_forms(q.spec.only_through, ctx)
        stack = [e]
        while stack:
            node = stack.pop()
            if node in allowed:
                continue
            if node.op == "sym":
                return (f"express the answer through {q.spec.only_through} only "
                        f"({node.value} appears elsewhere)")
            stack.extend(a for a in node.args if isinstance(a, Expr))
    return None


@functools.lru_cache(maxsize=None)
def _allowed_forms(latex: str, ctx: Context) -> frozenset:
    from .semantics import resolve_text

    base = resolve_text(latex, ctx, trusted=True)
    forms = {base}
    if base.op == "fn" and base.value == "norm":
        inner = base.args[0]
        forms.add(X.fn("norm", inner, X.num(2)))
        if inner.op == "add" and len(inner.args) == 2 and inner.args[1].op == "neg":
            flipped = X.add(inner.args[1].args[0], X.neg(inner.args[0]))
            forms.update({X.fn("norm", flipped), X.fn("norm", flipped, X.num(2))})
    return frozenset(forms)


def _judge_readings(q: Question, eng: Engine, rds: list, key: Expr, deadline: float, judge) -> Result:
    judged = []
    for rd in rds:
        problem = _restriction(q, rd.expr)
        if problem is not None:
            judged.append((rd, None, problem))
            continue
        judged.append((rd, judge(rd.expr), None))
    if len(judged) == 1:
        rd, j, problem = judged[0]
        if problem:
            return Result(q.id, INCORRECT, 0.0, q.points, problem, method="form check",
                          details={"reading": to_text(rd.expr)})
        return _from_judgement(q, j, rd)
    # several readings
    outcomes = []
    for rd, j, problem in judged:
        ok = j is not None and j.verdict is Verdict.HOLDS
        outcomes.append((rd, j, problem, ok))
    shown = "; ".join(f"reading {i + 1} ({rd.describe()}): {'correct' if ok else 'incorrect'}"
                      for i, (rd, j, problem, ok) in enumerate(outcomes))
    details = {"readings": [{"reading": to_text(rd.expr), "how": rd.describe(), "correct": ok,
                             "judgement": _student_judgement(j) if j else None, "problem": problem}
                            for rd, j, problem, ok in outcomes]}
    if all(ok for *_, ok in outcomes):
        return Result(q.id, CORRECT, q.points, q.points, f"ambiguous notation, but every reading is correct: {shown}",
                      method=outcomes[0][1].method, details=details)
    if not any(ok for *_, ok in outcomes):
        return Result(q.id, INCORRECT, 0.0, q.points, f"ambiguous notation, and no reading is correct: {shown}",
                      method="every reading checked", details=details)
    return Result(q.id, NEEDS_HUMAN, 0.0, q.points,
                  f"ambiguous notation: the answer can be read in {len(outcomes)} ways and they disagree: {shown}. "
                  "Add brackets to make the intended reading explicit; a person decides.",
                  method="every reading checked", details=details)


def _student_judgement(j: Judgement) -> dict:
    """A judgement as the student may see it: the key's value on a counterexample is staff-only."""
    d = j.to_dict()
    if d.get("counterexample"):
        d["counterexample"] = {k: v for k, v in d["counterexample"].items() if k != "reference"}
    return d


def _from_judgement(q: Question, j: Judgement, rd: Reading) -> Result:
    details = {"reading": to_text(rd.expr), "judgement": _student_judgement(j)}
    staff = {"judgement": j.to_dict()}
    if j.verdict is Verdict.HOLDS:
        return Result(q.id, CORRECT, q.points, q.points, "equivalent to the key", method=j.method, details=details,
                      staff=staff)
    if j.verdict is Verdict.FAILS:
        msg = "not equivalent to the key: " + j.method
        if j.detail and j.detail not in msg:
            msg += f" ({j.detail})"
        cex = j.counterexample or {}
        if "answer" in cex:
            msg += f"; on the instance {_inst_text(cex['instance'])} your answer is {cex['answer']}"
        if "reference" in cex:
            staff["key_value"] = f"on the instance {_inst_text(cex['instance'])} the key is {cex['reference']}"
        return Result(q.id, INCORRECT, 0.0, q.points, msg, method=j.method, details=details, staff=staff)
    return Result(q.id, NEEDS_HUMAN, 0.0, q.points, f"could not decide: {j.method}", method=j.method, details=details,
                  staff=staff)


def _inst_text(inst: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in inst.items())


def _noting_unicode(fn):
    """Say in the result's message how Unicode in the answer was read (subscript digits, Greek, ⊗...)."""
    @functools.wraps(fn)
    def wrapped(q, entry, answer, deadline):
        res = fn(q, entry, answer, deadline)
        texts = [answer] if isinstance(answer, str) else [a for a in answer if isinstance(a, str)] \
            if isinstance(answer, (list, tuple)) else []
        notes = []
        for t in texts:
            for n in normalize_unicode(t)[1]:
                if n not in notes:
                    notes.append(n)
        if notes:
            res.message += " (" + "; ".join(notes) + ")"
            res.details.setdefault("notes", notes)
        return res

    return wrapped


@grades("matrix")
@grades("expression")
@_noting_unicode
def _grade_expression(q, entry: KeyEntry, answer, deadline) -> Result:
    try:
        text = _text(answer)
        tree, note1 = _parse_answer(text)
        tree, note2 = _strip_lhs(tree)
        if tree.kind in ("list", "set"):
            raise _Unreadable(f"expected one {q.kind}, got several values")
        rds = _readings(tree, q.context, text)
        if any(n.op == "pm" for rd in rds for n in rd.expr.walk()):
            raise _Unreadable("± gives two values; this question expects one")
    except _Unreadable as exc:
        return Result(q.id, UNPARSEABLE, 0.0, q.points, exc.message, details=exc.details)
    eng = engine(q.spec.context)
    false_side = _check_other_sides(q, eng, text, deadline, entry)
    if false_side is not None:
        return false_side
    res = _judge_readings(q, eng, rds, entry.expr, deadline,
                          lambda e: eng.judge(e, "=", entry.expr, deadline=deadline))
    if len(rds) == 1:
        slips.annotate(res, q, rds[0].expr, entry.expr, q.context, eng)
    notes = "; ".join(n for n in (note1, note2) if n)
    if notes:
        res.message += f" ({notes})"
    return res


def _chain_sides(text: str) -> list:
    """The sides of an '=' chain before the last one.  When the whole chain does not parse (a side
    written with an operator the grammar does not read, such as a derivative), each side is read on
    its own and the unreadable ones are skipped."""
    try:
        tree = parse(text)
    except TooCostly:
        raise
    except ParseError:
        parts, depth, start = [], 0, 0
        for i, ch in enumerate(text):
            depth += ch in "([{"
            depth -= ch in ")]}"
            if ch == "=" and depth == 0:
                parts.append(text[start:i].rstrip(":"))
                start = i + 1
        sides = []
        for part in parts:
            try:
                sides.append(parse(part))
            except TooCostly:
                raise
            except ParseError:
                continue
        return sides
    if tree.kind != "rel" or len(tree.args) < 2:
        return []
    return list(tree.args[:-1])


def _check_other_sides(q: Question, eng: Engine, text: str, deadline: float,
                       entry: Optional[KeyEntry] = None) -> Optional[Result]:
    """In an '=' chain every side that is an expression of the question (not a label such as
    'H(t)' or the asked-for name itself) must equal the key too: 'wrong = right' is not accepted."""
    sides = _chain_sides(text)
    if not sides:
        return None
    from .context import canonical
    from .semantics import build_name

    targets = {canonical(t) for t in q.spec.targets}
    entry = entry if entry is not None else (key_entry(q.id) if q.spec.context else None)
    for side in sides:
        name = build_name(side) if side.kind != "call" else build_name(side.args[0])
        if name is not None and canonical(name) in targets:
            continue
        try:
            rds = readings_of_tree(side, q.context, text)
        except ParseError:
            continue  # a label outside the notation (\dot{W}_p, H(t), \mathcal{L})
        for rd in rds:
            j = eng.judge(rd.expr, "=", entry.expr, deadline=deadline, symbolic=False)
            if j.verdict is Verdict.FAILS:
                return slips.annotate(Result(q.id, INCORRECT, 0.0, q.points,
                                             f"the equation chain contains a side that is not equal to the key: "
                                             f"{to_text(rd.expr)} ({j.method})", method=j.method,
                                             details={"reading": to_text(rd.expr), "judgement": _student_judgement(j)},
                                             staff={"judgement": j.to_dict()}),
                                      q, (rd.expr, "=", entry.expr), entry.expr, q.context, eng)
    return None


def _point_items(q: Question, tree: S) -> S:
    """'d = 0, g = 0' -> the tuple in the question's coordinate order."""
    if tree.kind == "list" and all(t.kind == "rel" and t.value == ("=",) for t in tree.args) and q.spec.point_vars:
        from .semantics import build_name

        values = {}
        for t in tree.args:
            name = build_name(t.args[0])
            if name is None:
                raise _Unreadable("write the point as (d, g) or as 'd = ..., g = ...'")
            values[name.replace("^*", "")] = t.args[1]
        if set(values) != set(q.spec.point_vars):
            raise _Unreadable(f"give every coordinate: {', '.join(q.spec.point_vars)}")
        return S("group", (S("args", tuple(values[v] for v in q.spec.point_vars)),), "(")
    return tree


def _as_column(e: Expr) -> Expr:
    if e.op == "tuple":
        return Expr("matrix", e.args, (len(e.args), 1))
    if e.op == "matrix" and e.value[0] == 1:
        return Expr("matrix", e.args, (e.value[1], 1))
    return e


@grades("point", yaml_text=True)
@_noting_unicode
def _grade_point(q, entry, answer, deadline) -> Result:
    try:
        if isinstance(answer, (list, tuple)):
            items = [_text(a) for a in answer]
            text = "(" + ", ".join(items) + ")"
        else:
            text = _text(answer)
        tree, note = _parse_answer(text)
        tree = _point_items(q, tree)
        tree, note2 = _strip_lhs(tree)
        rds = _readings(tree, q.context, text)
        rds = [Reading(_as_column(r.expr), r.choices, r.labels) for r in rds]
    except _Unreadable as exc:
        return Result(q.id, UNPARSEABLE, 0.0, q.points, exc.message, details=exc.details)
    eng = engine(q.spec.context)
    return _judge_readings(q, eng, rds, entry.expr, deadline,
                           lambda e: eng.judge(e, "=", entry.expr, deadline=deadline))


def _expand_pm(e: Expr) -> list:
    """Replace every ± by + and by - (all ± together, as the notation means)."""
    if not any(n.op == "pm" for n in e.walk()):
        return [e]

    def sub(node: Expr, sign: int) -> Expr:
        if node.op == "pm":
            a, b = sub(node.args[0], sign), sub(node.args[1], sign)
            return X.add(a, b if sign > 0 else X.neg(b))
        if not node.args:
            return node
        return Expr(node.op, tuple(sub(a, sign) if isinstance(a, Expr) else a for a in node.args), node.value)

    return [sub(e, +1), sub(e, -1)]


def _set_items(tree: S) -> list:
    if tree.kind in ("set",):
        return list(tree.args[0].args)
    if tree.kind == "list":
        return list(tree.args)
    if tree.kind == "group" and tree.args[0].value is None and len(tree.args[0].args) > 1:
        return list(tree.args[0].args)
    return [tree]


@grades("set", yaml_text=True)
@_noting_unicode
def _grade_set(q, entry, answer, deadline) -> Result:
    if q.spec.labels:
        return _grade_label_set(q, entry, answer)
    try:
        if isinstance(answer, (list, tuple, set)):
            raw = [_text(a) for a in answer]
            trees = []
            for t in raw:
                tr, _ = _parse_answer(t)
                trees.extend(_set_items(_strip_lhs(tr)[0]))
            text = ", ".join(raw)
        else:
            text = _text(answer)
            tr, _ = _parse_answer(text)
            items = _set_items(tr)
            trees = []
            for it in items:
                it, _ = _strip_lhs(it)
                trees.extend(_set_items(it))
        per_item = [_readings(t, q.context, text) for t in trees]
    except _Unreadable as exc:
        return Result(q.id, UNPARSEABLE, 0.0, q.points, exc.message, details=exc.details)
    combos = list(itertools.islice(itertools.product(*per_item), 16))
    eng = engine(q.spec.context)
    readings = []
    for combo in combos:
        exprs = [e for rd in combo for e in _expand_pm(rd.expr)]
        labels = tuple(l for rd in combo for l in rd.labels)
        readings.append(Reading(Expr("list", tuple(exprs)), (), labels))
    return _judge_readings(q, eng, readings, None, deadline,
                           lambda e: eng.same_multiset(list(e.args), entry.items, deadline=deadline))


_PAIR = re.compile(r"[(\[{]\s*(\d)\s*,\s*(\d)\s*[)\]}]|(?<!\d)(\d)\s*-\s*(\d)(?!\d)")


_SUBSCRIPTED = re.compile(r"[A-Za-z]*\\?_\{\s*(\d)\s*,?\s*(\d)\s*\}")


def _grid_label(item: Any) -> Any:
    """A pixel written another way -> its row-column label: (3,3), [3, 3], x_{33}, x_{3,3}, p33, 3-3 -> '33'."""
    if isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(v, int) for v in item):
        return f"{item[0]}{item[1]}"
    text = str(item).strip()
    m = re.fullmatch(r"[A-Za-z]*\\?_?\{?\s*(\d)\s*,?\s*(\d)\s*\}?|[(\[]\s*(\d)\s*,\s*(\d)\s*[)\]]|(\d)\s*-\s*(\d)",
                     text)
    if m:
        return "".join(g for g in m.groups() if g)
    return item


def _label_items(answer: Any, grid: bool) -> Optional[list]:
    if isinstance(answer, dict) and all(v is None for v in answer.values()):
        answer = list(answer)  # '{11, 12}' read by YAML as a mapping without values
    if isinstance(answer, (list, tuple, set)):
        return [normalize_label(_grid_label(a) if grid else a) for a in answer]
    if isinstance(answer, (str, int)):
        text = str(answer)
        if grid:  # pairs and subscripts first, so '(1,1), x_{1,2}' is not split inside a label
            text = _SUBSCRIPTED.sub(lambda m: " " + m.group(1) + m.group(2) + " ", text)
            text = _PAIR.sub(lambda m: " " + "".join(g for g in m.groups() if g) + " ", text)
        parts = [p for p in re.split(r"[\s,;{}\\\[\]()]+|\band\b", text) if p]
        return [normalize_label(_grid_label(p) if grid else p) for p in parts]
    return None


def _grade_label_set(q, entry, answer) -> Result:
    grid = bool(entry.items) and all(re.fullmatch(r"\d\d", str(k)) for k in entry.items)
    given = _label_items(answer, grid)
    if given is None:
        return Result(q.id, UNPARSEABLE, 0.0, q.points, "expected a list of labels")
    chosen, key = set(given), set(entry.items)
    if chosen == key:
        return Result(q.id, CORRECT, q.points, q.points, f"the {len(key)} labels match", method="label set")
    missing, extra = sorted(key - chosen), sorted(chosen - key)
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing")
    if extra:
        parts.append(f"wrongly included: {', '.join(extra)}")
    return Result(q.id, INCORRECT, 0.0, q.points, "; ".join(parts), method="label set")




# -- reading an answer without grading it (class summaries group wrong answers by value) ------------
def reading_of(q: Question, answer: Any) -> Optional[Expr]:
    """The first reading of an expression, matrix, point or expression-set answer (None if unreadable)."""
    try:
        if q.kind == "set" and not q.spec.labels:
            items = answer if isinstance(answer, (list, tuple)) else [answer]
            exprs = []
            for a in items:
                tree, _ = _parse_answer(_text(a))
                for it in _set_items(_strip_lhs(tree)[0]):
                    exprs.extend(_expand_pm(_readings(it, q.context, _text(a))[0].expr))
            return Expr("list", tuple(exprs))
        if isinstance(answer, (list, tuple)) and q.kind == "point":
            answer = "(" + ", ".join(_text(a) for a in answer) + ")"
        text = _text(answer)
        tree, _ = _parse_answer(text)
        if q.kind == "point":
            tree = _point_items(q, tree)
        tree, _ = _strip_lhs(tree)
        e = _readings(tree, q.context, text)[0].expr
        return _as_column(e) if q.kind == "point" else e
    except (_Unreadable, ParseError, TooCostly, RecursionError, ValueError, TypeError):
        return None


def same_value(q: Question, a: Expr, b: Expr, deadline: Optional[float] = None) -> bool:
    """Do two readings of answers to ``q`` agree on every random instance (numeric only, no key involved)?"""
    eng = engine(q.spec.context)
    if a.op == "list" and b.op == "list":
        j = eng.same_multiset(list(a.args), list(b.args), deadline=deadline)
    else:
        j = eng.judge(a, "=", b, deadline=deadline, symbolic=False)
    return j.verdict is Verdict.HOLDS
