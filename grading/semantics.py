r"""From syntax to meaning: names, applications, binders and ambiguity.

:func:`readings` takes a student's text and a question's :class:`Context` and
returns every *reading* of it as an :class:`~grading.expr.Expr`.  Almost
always there is exactly one.  When the notation genuinely allows two
(``\log 2(1-D)``: log(2(1-D)) or log(2)·(1-D); ``1/2x``; ``x^23``), each
reading is produced and labelled, and the grader says so instead of picking
one silently.

Name resolution is by whitelist: a name must be an object of the context
(with its aliases), a support variable where one is expected, an index bound
by an enclosing sum, or one of the constants e, π, i (when the context says
``i`` is the imaginary unit) and the identity ``I``.  ``p(x)`` is an
application when ``p`` is a density or field of the context and a product
otherwise.  Anything else is a :class:`NotationError` with its position.
"""
from __future__ import annotations

import re

import itertools
import weakref
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from . import expr as X
from .context import Context, canonical
from .expr import Expr
from .errors import NotationError, ParseError  # noqa: F401  (NotationError is importable from here)
from .syntax import S, parse

MAX_AMBIGUITIES = 4


@dataclass
class Reading:
    expr: Expr
    choices: tuple
    labels: tuple  # one label per ambiguity point, describing the choice taken

    def describe(self) -> str:
        return "; ".join(self.labels)


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------
def subname(s: S) -> Optional[str]:
    """The canonical text of a subscript, when it is a plain name or number."""
    k = s.kind
    if k == "number":
        return s.value
    if k in ("letter", "word"):
        return s.value
    if k == "kl":
        return "KL"
    if k == "juxt":
        parts = [subname(a) for a in s.args]
        return None if None in parts else "".join(parts)
    if k in ("sub", "sup", "prime"):
        return build_name(s)
    if k == "list":
        parts = [subname(a) for a in s.args if isinstance(a, S)]
        return None if None in parts else ",".join(parts)
    if k == "neg" and s.args[0].kind == "number":
        return "-" + s.args[0].value
    if k == "call" and s.args[1].kind == "group" and len(s.args[1].args[0].args) == 1 \
            and s.args[1].args[0].value is None:  # P_{F(U)}, P_{F^{-1}(X)}: a distribution named by a map
        b, a = subname(s.args[0]), subname(s.args[1].args[0].args[0])
        return None if b is None or a is None else f"{b}({a})"
    return None


def free_index_names(ctx: Context) -> frozenset:
    """Index names a step may use without a sum (``i``, ``j`` of ``z_i``, ``d_{ij}``, ``w_j``): the index
    placeholders of the context's families; a relation using them must hold for every value."""
    cached = getattr(ctx, "_free_index_names", None)
    if cached is None:
        names = set()
        for o in ctx.objects:
            if getattr(o, "index", ()) and o.kind != "function":
                names |= {i for i in o.index if ctx.lookup(i) is None}
        cached = frozenset(names)
        try:
            ctx._free_index_names = cached
        except AttributeError:  # pragma: no cover - a frozen context
            pass
    return cached


def build_name(s: S) -> Optional[str]:
    """``W_p``, ``F_{12}``, ``X'``, ``D^*``, ``q_\\phi``... as one canonical name, or None."""
    k = s.kind
    if k in ("letter", "word"):
        return s.value
    if k == "sub":
        b = build_name(s.args[0])
        si = subname(s.args[1])
        return None if b is None or si is None else f"{b}_{si}"
    if k == "prime":
        b = build_name(s.args[0])
        return None if b is None else b + "'"
    if k == "sup":
        b = build_name(s.args[0])
        arg = s.args[1]
        if b is None:
            return None
        if arg.kind == "star":
            return b + "^*"
        if arg.kind == "primes":
            return b + "'" * arg.value
        if arg.kind == "number" and arg.value.startswith("-"):
            return f"{b}^{arg.value}"
        if arg.kind == "neg" and arg.args[0].kind == "number":
            return f"{b}^-{arg.args[0].value}"
        return None
    return None


def _transpose(e: Expr) -> Expr:
    """``(a, b)^\\top``, ``[a, b]^T``: a tuple written in a row and transposed is the column it names
    (the sheets write column vectors so); anything else is transposed."""
    if e.op == "tuple":
        return Expr("matrix", e.args, (len(e.args), 1))
    return Expr("T", (e,))


def _unwrap_postfix(s: S):
    """The innermost atom of a postfix chain and the operations applied to it (inner first)."""
    ops = []
    while s.kind in ("call", "sup", "sub", "prime") and s.args:
        ops.append(s)
        s = s.args[0]
    return s, list(reversed(ops))


def _juxt_items(s: S) -> list:
    return list(s.args) if s.kind == "juxt" else [s]


class Resolver:
    def __init__(self, ctx: Context, choices=(), trusted: bool = False, text: str = ""):
        self.ctx = ctx
        self.choices = tuple(choices)
        self.points: list = []  # (position, label_a, label_b)
        self.trusted = trusted
        self.bound: list = []
        self.text = text

    # -- errors and choices ---------------------------------------------------------
    def error(self, msg: str, s: Optional[S] = None):
        raise NotationError(msg, s.pos if s is not None else None, text=self.text)

    def choose(self, s: S, label_a: str, label_b: str) -> int:
        k = len(self.points)
        self.points.append((s.pos, label_a, label_b))
        return self.choices[k] if k < len(self.choices) else 0

    def known_names(self) -> str:
        names = self.ctx.names()
        return ", ".join(names) if names else "(none)"

    # -- dispatch ------------------------------------------------------------------------
    def r(self, s: S) -> Expr:
        method = getattr(self, "r_" + s.kind, None)
        if method is None:
            self.error(f"{s.kind} is not allowed here", s)
        return method(s)

    # -- top level -------------------------------------------------------------------------
    def r_rel(self, s):
        return Expr("rel", tuple(self.r(a) for a in s.args), tuple(s.value))

    def r_cont(self, s):
        return Expr("cont", tuple(self.r(a) for a in s.args), tuple(s.value))

    def r_list(self, s):
        return Expr("list", tuple(self.r(a) for a in s.args))

    # -- atoms -------------------------------------------------------------------------------
    def r_number(self, s):
        if s.meta.get("bare_multidigit"):  # only reached outside a superscript (never)
            pass
        try:
            return X.num(Fraction(s.value))
        except (ValueError, ZeroDivisionError):  # pragma: no cover - the tokenizer only emits numbers
            self.error(f"bad number {s.value!r}", s)

    def r_const(self, s):
        if s.value == "pi":
            return Expr("const", (), "pi")
        if s.value == "inf":
            return Expr("const", (), "inf")
        return Expr("const", (), s.value)

    def name_expr(self, name: str, s: S) -> Expr:
        """A bare name: bound index, context object, variable, constant."""
        if name in self.bound:
            return Expr("bound", (), name)
        obj = self.ctx.lookup(name)
        if obj is not None:
            if obj.kind == "joint":
                self.error(f"{obj.name} is a joint density: write it with its arguments, e.g. "
                           f"{obj.name}({', '.join(obj.over)})", s)
            if obj.kind == "density":
                return Expr("density", (), (obj.name, tuple(obj.over), tuple(obj.given)))
            return X.sym(obj.name)
        if name == "e":
            return Expr("const", (), "e")
        if name == "i" and self.ctx.imaginary_unit:
            return Expr("const", (), "i")
        if name == "I":
            return Expr("ident", (), None)
        if self.ctx.var(name) is not None:
            self.error(f"{name} is a variable of integration/expectation here and has no value of its own", s)
        local = getattr(self, "local", None)
        if local and canonical(name) in local:  # a name the derivation defined itself
            return local[canonical(name)]
        if not self.trusted and name in free_index_names(self.ctx):
            return Expr("bound", (), name)  # a free index (d_{ij} = 1 - z_i^T z_j holds for every i, j)
        self.error(f"unknown symbol {_show(name)}; this question's notation: {self.known_names()}", s)

    def r_letter(self, s):
        return self.name_expr(s.value, s)

    def r_word(self, s):
        return self.name_expr(s.value, s)

    def r_brace(self, s):
        return self.r(s.args[0])

    def r_group(self, s):
        args = s.args[0]
        if args.value is not None:
            self.error(f"unexpected '{args.value}' in a bracket", args)
        items = [self.r(a) for a in args.args]
        if not items:
            self.error("empty brackets", s)
        if len(items) == 1:
            return items[0]
        return Expr("tuple", tuple(items))

    def r_set(self, s):
        args = s.args[0]
        if args.value is not None:
            self.error(f"unexpected '{args.value}' in a set", args)
        return Expr("set", tuple(self.r(a) for a in args.args))

    def r_abs(self, s):
        return X.fn("abs", self.r(s.args[0]))

    def r_norm(self, s):
        return X.fn("norm", self.r(s.args[0]))

    def r_frac(self, s):
        return X.div(self.r(s.args[0]), self.r(s.args[1]))

    def r_sqrt(self, s):
        return X.fn("sqrt", self.r(s.args[0]))

    def r_root(self, s):
        return X.fn("root", self.r(s.args[1]), self.r(s.args[0]))

    def r_matrix(self, s):
        rows = [[self.r(e) for e in row.args] for row in s.args]
        if not rows or not rows[0]:
            self.error("an empty matrix", s)
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            self.error(f"matrix rows of different lengths {sorted(widths)}", s)
        c = widths.pop()
        entries = tuple(e for row in rows for e in row)
        m = Expr("matrix", entries, (len(rows), c))
        if s.value == "vmatrix":
            return X.fn("det", m)
        return m

    def r_kl(self, s):
        self.error("KL needs its two arguments: D_{KL}(q \\| p)", s)

    def r_jsd(self, s):
        self.error("JSD needs its two arguments: JSD(p_0, p_1)", s)

    def r_top(self, s):
        self.error("a transpose needs something to transpose", s)

    # -- operators ---------------------------------------------------------------------------------
    def r_add(self, s):
        return X.add(self.r(s.args[0]), self.r(s.args[1]))

    def r_minus(self, s):
        return X.add(self.r(s.args[0]), X.neg(self.r(s.args[1])))

    def r_neg(self, s):
        return X.neg(self.r(s.args[0]))

    def r_pm(self, s):
        return Expr("pm", (self.r(s.args[0]), self.r(s.args[1])))

    def r_mp(self, s):
        return Expr("pm", (self.r(s.args[0]), X.neg(self.r(s.args[1]))))

    def r_mul(self, s):
        a, b = self.r(s.args[0]), self.r(s.args[1])
        if s.meta.get("op") in ("cdot", "cdotp", "\u00b7") and self._vector(a) and self._vector(b):
            return X.mul(Expr("T", (a,)), b)  # u \cdot v between two vectors: the dot product u^T v
        return X.mul(a, b)

    def _vector(self, e: Expr) -> bool:
        """Is ``e`` a column vector by its form (a vector object, a tuple, sums and scalings of them)?"""
        if e.op == "sym":
            obj = self.ctx.lookup(e.value)
            return obj is not None and obj.kind == "vector"
        if e.op == "tuple":
            return True
        if e.op in ("add",):
            return all(self._vector(a) for a in e.args)
        if e.op == "neg":
            return self._vector(e.args[0])
        if e.op == "mul":
            vecs = [a for a in e.args if self._vector(a)]
            return len(vecs) == 1 and all(a.op in ("num", "const") or (a.op == "sym" and self._scalar(a))
                                          for a in e.args if a is not vecs[0])
        return False

    def _scalar(self, e: Expr) -> bool:
        obj = self.ctx.lookup(e.value) if e.op == "sym" else None
        return obj is not None and obj.kind == "scalar"

    def r_kron(self, s):
        a, b = self.r(s.args[0]), self.r(s.args[1])
        return Expr("kron", (a, b))

    def r_hadamard(self, s):
        return Expr("hadamard", (self.r(s.args[0]), self.r(s.args[1])))

    def r_div(self, s):
        num, den = s.args
        if den.kind == "juxt" and len(den.args) > 1:
            items = den.args
            first = self.r(items[0])
            rest = [self.r(i) for i in items[1:]]
            a = X.div(self.r(num), X.mul(first, *rest))
            b = X.mul(X.div(self.r(num), first), *rest)
            pick = self.choose(s, f"'/' divides by the whole product: {a}", f"'/' divides by the first factor only: {b}")
            return a if pick == 0 else b
        return X.div(self.r(num), self.r(den))

    # -- juxtaposition and calls -----------------------------------------------------------------
    def factors(self, s: S) -> list:
        """The factors of an implicit product, each with whether it came from a bracket group."""
        out = []
        for item in _juxt_items(s):
            out.extend(self._item_factors(item))
        return out

    def _item_factors(self, s: S) -> list:
        if s.kind == "call" and not self._is_application(s):
            base, group = s.args
            return self._item_factors(base) + [(self.group_value(group), True)]
        if s.kind == "group":
            return [(self.r(s), True)]
        return [(self.r(s), False)]

    def r_juxt(self, s):
        return X.mul(*[f for f, _ in self.factors(s)])

    def _is_application(self, s: S) -> bool:
        base = s.args[0]
        if base.kind in ("kl", "jsd"):
            return True
        if base.kind == "sub" and base.args[0].kind == "letter" and base.args[0].value == "D" and \
                subname(base.args[1]) in ("KL", "JS", "JSD"):
            return True
        name = build_name(base)
        if name is None:
            return False
        obj = self.ctx.lookup(name)
        return obj is not None and obj.is_function and name not in self.bound

    def group_value(self, group: S) -> Expr:
        args = group.args[0]
        if args.value is not None:
            self.error(f"unexpected '{args.value}' here (only a density or a divergence takes it)", args)
        items = [self.r(a) for a in args.args]
        if len(items) != 1:
            self.error("a tuple cannot multiply an expression", group)
        return items[0]

    def r_call(self, s):
        if self._is_application(s):
            return self.application(s)
        return X.mul(*[f for f, _ in self._item_factors(s)])

    def application(self, s: S) -> Expr:
        base, group = s.args
        if base.kind in ("kl", "jsd") or base.kind == "sub":
            name = build_name(base)
            obj = self.ctx.lookup(name) if name else None
            if obj is None or not obj.is_function:
                is_js = base.kind == "jsd" or (base.kind == "sub" and subname(base.args[1]) in ("JS", "JSD"))
                return self.divergence("jsd" if is_js else "kl", group, s)
        name = build_name(base)
        obj = self.ctx.lookup(name)
        args = group.args[0]
        if getattr(obj, "params", ()):
            return self.parametrised(obj, group)
        if obj.kind == "function":  # phi(...) with phi(t) = log t: one argument, any expression
            if args.value is not None or len(args.args) != 1:
                self.error(f"{obj.name} takes one argument", group)
            return Expr("apply", (self.r(args.args[0]),), obj.name)
        if args.value not in (None, "|"):
            self.error(f"unexpected '{args.value}' in the arguments of {name}", args)
        moves = []  # p_X(F(u)): evaluate p_X at the image of u, i.e. move its x axis onto u
        vars_ = tuple(self.mapped_var(a, moves) for a in args.args)
        given = tuple(self.mapped_var(a, moves) for a in args.meta.get("given", ())) if args.value == "|" else ()
        if moves:
            e = self._application_at(obj, vars_, given, group)
            for src, dst in moves:
                if isinstance(dst, tuple):  # z_j: the copy is chosen by the value of an index
                    e = Expr("copy", (e, dst[1]), src)
                else:
                    e = Expr("transport", (e,), (src, dst))
            return e
        return self._application_at(obj, vars_, given, group)

    def mapped_var(self, a: S, moves: list) -> str:
        """A variable argument, or a map applied to one (``F(u)``, ``F^{-1}(x)``): then the variable of the
        map's image, and the move of that variable's axis onto the argument's variable is recorded.  A copy
        of a variable (``z_1``, or ``z_j`` with j a summation index) moves the variable onto the copy."""
        name = build_name(a)
        var = self.ctx.var(name) if name else None
        if var is not None and getattr(var, "copy_of", ""):
            moves.append((var.copy_of, var.name))
            return var.copy_of
        if a.kind == "sub" and build_name(a.args[0]) is not None and self.ctx.var(build_name(a.args[0])) is not None:
            base_var = build_name(a.args[0])
            if self.copies(base_var):
                moves.append((base_var, ("copy", self.r(a.args[1]))))
                return base_var
        if a.kind == "call":
            mname = build_name(a.args[0])
            m = self.ctx.lookup(mname) if mname else None
            if m is not None and m.kind == "map":
                inner = a.args[1].args[0]
                if inner.value is not None or len(inner.args) != 1:
                    self.error(f"{m.name} takes one variable", a)
                v = self.var_name(inner.args[0])
                src, dst = m.over[0], m.given[0]
                if v != src:
                    self.error(f"{m.name} maps {src} to {dst}: write {m.name}({src})", a)
                moves.append((dst, src))
                return dst
        return self.var_name(a)

    def _application_at(self, obj, vars_, given, group) -> Expr:
        if obj.kind == "joint":
            allowed = set(obj.over)
            used = list(vars_) + list(given)
            if len(set(used)) != len(used) or not set(used) <= allowed or not vars_:
                self.error(f"{obj.name} is a density over {', '.join(obj.over)}: its arguments must be "
                           f"distinct variables among them", group)
            return Expr("density", (), (obj.name, vars_, given))
        if obj.kind == "density":
            if tuple(vars_) != tuple(obj.over) or tuple(given) != tuple(obj.given):
                want = ",".join(obj.over) + ("|" + ",".join(obj.given) if obj.given else "")
                self.error(f"{obj.name} is written {obj.name}({want}) in this question", group)
            return Expr("density", (), (obj.name, tuple(obj.over), tuple(obj.given)))
        # field
        if tuple(vars_) != tuple(obj.over) or given:
            self.error(f"{obj.name} is a function of {', '.join(obj.over)} in this question", group)
        return X.sym(obj.name)

    def parametrised(self, obj, group: S) -> Expr:
        r"""A defined quantity written with its parameters, ``\mathcal{L}(\theta, \phi; x)``: the arguments
        must be among the object's declared parameters and are otherwise ignored."""
        args = group.args[0]
        items = list(args.args) + list(args.meta.get("params", ())) + list(args.meta.get("given", ()))
        allowed = {canonical(p) for p in obj.params} | {canonical(v) for v in obj.over}
        for a in items:
            n = build_name(a)
            if n is None or canonical(n) not in allowed:
                self.error(f"{obj.name} is written with its parameters ({', '.join(obj.params)}) or without "
                           f"arguments", a)
        return X.sym(obj.name)

    def var_name(self, s: S) -> str:
        name = build_name(s)
        if name is None or self.ctx.var(name) is None:
            vs = ", ".join(self.ctx.axis_names) or "(none)"
            self.error(f"expected a variable ({vs}) here", s)
        return name

    def density(self, s: S) -> Expr:
        """A distribution: a density application, a bare density name or a defined mixture."""
        if s.kind == "call" and self._is_application(s):
            e = self.application(s)
            if e.op == "density":
                return e
        if s.kind == "group":
            return self.density(s.args[0].args[0]) if len(s.args[0].args) == 1 else self.error("a tuple", s)
        name = build_name(s)
        if name is not None:
            obj = self.ctx.lookup(name)
            if obj is not None and obj.kind == "density":
                return Expr("density", (), (obj.name, tuple(obj.over), tuple(obj.given)))
            if obj is not None and obj.kind == "joint":
                self.error(f"{obj.name} needs its arguments here, e.g. {obj.name}({', '.join(obj.over)})", s)
        self.error("expected a distribution (a density of this question)", s)

    def divergence(self, kind: str, group: S, s: S) -> Expr:
        args = group.args[0]
        if args.value == "||":
            first, second = args.args, args.meta["second"]
        elif args.value is None and len(args.args) == 2:
            first, second = args.args[:1], args.args[1:]
        else:
            self.error(f"{'KL' if kind == 'kl' else 'JSD'} takes two distributions: (p \\| q) or (p, q)", group)
        if len(first) != 1 or len(second) != 1:
            self.error("a divergence takes exactly two distributions", group)
        p, q = self.density(first[0]), self.density(second[0])
        if set(p.value[1]) != set(q.value[1]):
            self.error(f"the two distributions are over different variables ({', '.join(p.value[1])} and "
                       f"{', '.join(q.value[1])})", group)
        return Expr(kind, (p, q))

    # -- sub/superscripts --------------------------------------------------------------------
    def r_sub(self, s):
        name = build_name(s)
        if name is not None and (self.ctx.lookup(name) is not None or name in self.bound):
            return self.name_expr(name, s)
        local = getattr(self, "local", None)
        if name is not None and local and canonical(name) in local:
            return local[canonical(name)]
        fam = self.family_member(s)
        if fam is not None:
            return fam
        base, arg = s.args
        if base.kind == "norm":
            order = subname(arg)
            if order in ("2", "F", "1", "fro", "infty"):
                o = {"2": 2, "1": 1, "F": "F", "fro": "F"}.get(order, order)
                return X.fn("norm", self.r(base.args[0]), Expr("num", (), o if isinstance(o, str) else Fraction(o)))
            self.error(f"norm with subscript {order!r}: use \\|.\\|, \\|.\\|_2 or \\|.\\|_F", arg)
        if base.kind == "letter" and base.value == "I" and self.ctx.lookup("I") is None:
            dim = subname(arg)
            if dim is not None and canonical(dim) in {canonical(d) for d in self.ctx.dims}:
                real = next(d for d in self.ctx.dims if canonical(d) == canonical(dim))
                return Expr("ident", (), real)
            if dim is not None and dim.isdigit():
                return Expr("ident", (), int(dim))
            if dim is not None and re.fullmatch(r"[A-Za-z](_[A-Za-z0-9]+)?", dim) and self.ctx.lookup(dim) is None:
                # I_n, I_d, I_{n_2}: the identity of a size this question does not name; it takes the size that
                # the expression around it fixes, as a bare I does
                return Expr("ident", (), None)
            self.error(f"I_{{{dim}}}: the identity's size must be one of {', '.join(self.ctx.dims) or '(none)'}",
                       arg)
        if base.kind == "letter" and base.value == "D" and subname(arg) in ("KL", "JS", "JSD"):
            self.error("a divergence needs its arguments: D_{KL}(q \\| p)", s)
        shown = name if name is not None else "this subscripted symbol"
        self.error(f"unknown symbol {_show(shown)}; this question's notation: {self.known_names()}", s)

    def family_member(self, s: S) -> Optional[Expr]:
        r"""``z_i``, ``z_{i'}`` (the member of the partner family ``z'``), ``d_{ij}``, ``w_j``, ``\mathcal{L}_k``:
        a member of an indexed family of the context, as ``Expr("at", indices, family)``."""
        base, arg = s.args
        bname = build_name(base)
        if bname is None:
            return None
        if arg.kind == "prime" and self.ctx.lookup(bname + "'") is not None:
            obj, items = self.ctx.lookup(bname + "'"), [arg.args[0]]
        else:
            obj = self.ctx.lookup(bname)
            parts = [a for a in arg.args if isinstance(a, S)] if arg.kind in ("juxt", "list") else [arg]
            if len(parts) > 1 and self.ctx.lookup(f"{bname}#{len(parts)}") is not None:
                obj = self.ctx.lookup(f"{bname}#{len(parts)}")  # d_{ij} next to d_i
            if obj is None or not getattr(obj, "index", ()) or obj.kind == "function":
                return None
            n = len(obj.index)
            if n == 1:
                items = [arg]
            elif len(parts) == n:
                items = parts
            else:
                self.error(f"{obj.name} takes {n} indices ({''.join(obj.index)})", arg)
        if not getattr(obj, "index", ()):
            return None
        return Expr("at", tuple(self.r(a) for a in items), obj.name)

    def r_prime(self, s):
        name = build_name(s)
        if name is not None:
            return self.name_expr(name, s)
        self.error("a prime on something that is not a symbol", s)

    def r_sup(self, s):
        base, arg = s.args
        name = build_name(s)
        if name is not None and self.ctx.lookup(name) is not None:
            return self.name_expr(name, s)
        if base.kind == "call" and not self._is_application(base):
            # a (b)^T, a (b)^2: the superscript belongs to the bracket it follows, not to the product
            facs = [f for f, _ in self._item_factors(base.args[0])]
            last = self.r_sup(S("sup", (base.args[1], arg), pos=base.args[1].pos, end=s.end))
            return X.mul(*facs, last)
        if arg.kind == "top" or (arg.kind == "letter" and arg.value == "T" and self.ctx.lookup("T") is None):
            return _transpose(self.r(base))
        if arg.kind == "invtop":
            return Expr("inv", (Expr("T", (self.r(base),)),))
        if arg.kind in ("star", "primes"):
            self.error(f"unknown symbol {_show(name or '?')}; this question's notation: {self.known_names()}", s)
        if base.kind == "letter" and base.value == "e" and self.ctx.lookup("e") is None:
            return X.fn("exp", self.r(arg))
        if arg.kind == "number" and arg.meta.get("bare_multidigit"):
            b = self.r(base)
            digits = arg.value
            whole = X.pow_(b, X.num(Fraction(digits)))
            tex = X.mul(X.pow_(b, X.num(Fraction(digits[0]))), X.num(Fraction(digits[1:])))
            pick = self.choose(s, f"the exponent is {digits}: {whole}",
                               f"TeX reads only the first digit as the exponent: {tex}")
            return whole if pick == 0 else tex
        return X.pow_(self.r(base), self.r(arg))

    # -- prefix operators ------------------------------------------------------------------------------
    def r_prefix_app(self, s):
        prefix, arg = s.args
        ptype = prefix.meta["type"]
        if ptype == "EXPECT":
            return self.expectation(prefix, arg)
        if ptype in ("SUM", "PROD"):
            return self.sum_like(prefix, arg, "sum" if ptype == "SUM" else "prod")
        if ptype == "INT":
            return self.integral(prefix, arg)
        name = prefix.value
        if prefix.meta.get("sub") is not None and name != "log":
            self.error(f"a subscript on {name} is not supported", prefix.meta["sub"])
        base = self.r(prefix.meta["sub"]) if prefix.meta.get("sub") is not None else None
        power = prefix.meta.get("sup")

        def make(x: Expr) -> Expr:
            if name in ("min", "max") and x.op == "tuple":
                out = X.fn(name, *x.args)
            elif name == "stopgrad":
                out = x
            elif name == "sim":
                if x.op != "tuple" or len(x.args) != 2:
                    self.error("sim takes two vectors: sim(u, v)", prefix)
                u, v = x.args
                out = X.div(X.mul(Expr("T", (u,)), v), X.mul(X.fn("norm", u), X.fn("norm", v)))
            elif name == "log" and base is not None:
                out = X.fn("log", x, base)
            else:
                if x.op == "tuple":
                    self.error(f"{name} takes one argument", prefix)
                out = X.fn(name, x)
            if power is not None:
                if power.kind == "top":
                    return Expr("T", (out,))
                p = self.r(power)
                out = X.pow_(out, p)
            return out

        return self.apply_prefix(make, arg, prefix, delimited_rule=True)

    def apply_prefix(self, make, arg: S, prefix: S, delimited_rule: bool) -> Expr:
        items = _juxt_items(arg)
        first = items[0]
        core, ops = _unwrap_postfix(first)
        if delimited_rule and core.kind == "group":
            inner_args = core.args[0]
            if inner_args.value is not None:
                self.error(f"unexpected '{inner_args.value}' here", inner_args)
            inner = [self.r(a) for a in inner_args.args]
            value = make(inner[0] if len(inner) == 1 else Expr("tuple", tuple(inner)))
            for op in ops:
                value = self.apply_postfix(value, op)
            rest = [f for it in items[1:] for f, _ in self._item_factors(it)]
            return X.mul(value, *rest)
        facs = self.factors(arg)
        if len(facs) > 1:
            k = next((i for i, (_, g) in enumerate(facs) if i > 0 and g), None)
            if k is not None:
                whole = make(X.mul(*[f for f, _ in facs]))
                part = X.mul(make(X.mul(*[f for f, _ in facs[:k]])), *[f for f, _ in facs[k:]])
                pick = self.choose(prefix, f"the operator applies to the whole product: {whole}",
                                   f"the operator applies up to the bracket: {part}")
                return whole if pick == 0 else part
        return make(X.mul(*[f for f, _ in facs]))

    def apply_postfix(self, value: Expr, op: S) -> Expr:
        if op.kind == "call":
            return X.mul(value, self.group_value(op.args[1]))
        if op.kind == "sup":
            arg = op.args[1]
            if arg.kind == "top" or (arg.kind == "letter" and arg.value == "T"):
                return _transpose(value)
            return X.pow_(value, self.r(arg))
        self.error("a subscript or prime after a bracket", op)

    def expectation(self, prefix: S, arg: S) -> Expr:
        sub = prefix.meta.get("sub")
        default = self.default_expectation(sub)
        if default is not None:
            return self.apply_prefix(lambda body: Expr("E", (default, body), tuple(default.value[1])), arg, prefix,
                                     delimited_rule=True)
        if sub is None:
            self.error("say which distribution the expectation is over: \\mathbb{E}_{x\\sim p}[...]", prefix)
        if sub.kind == "list" and sub.args and isinstance(sub.args[-1], S) and sub.args[-1].kind == "sim":  # z_1, z_2 \sim q(z|x)
            last = sub.args[-1]
            firsts = tuple(a for a in sub.args[:-1] if isinstance(a, S))
            sub = S("sim", (S("list", firsts + (last.args[0],), pos=sub.pos), last.args[1]),
                    pos=sub.pos)
        default_name = getattr(self.ctx, "default_expectation", "")
        if sub.kind != "sim" and default_name:  # E_{z_{1:k}}[...]: the samples of the default distribution
            dobj = self.ctx.lookup(default_name)
            dflt = Expr("density", (), (dobj.name, tuple(dobj.over), tuple(dobj.given)))
            iid = self.sample_expectation(sub, dflt, sub)
            if iid is None and build_name(sub) is not None and (build_name(sub),) == tuple(dobj.over):
                iid = lambda body: Expr("E", (dflt, body), tuple(dobj.over))  # noqa: E731 - E_z[...]
            if iid is not None:
                return self.apply_prefix(iid, arg, prefix, delimited_rule=True)
        if sub.kind == "sim":
            dens = self.density(sub.args[1])
            iid = self.sample_expectation(sub.args[0], dens, sub)
            if iid is not None:
                if prefix.meta.get("sup") is not None:
                    self.error("a superscript on \\mathbb{E}", prefix.meta["sup"])
                return self.apply_prefix(iid, arg, prefix, delimited_rule=True)
            vars_ = self._vars_of(sub.args[0])
            if set(vars_) != set(dens.value[1]):
                self.error(f"{', '.join(vars_)} ~ {dens}: the distribution is over "
                           f"{', '.join(dens.value[1])}", sub)
        else:
            dens = self.density(sub)
            vars_ = dens.value[1]
        if prefix.meta.get("sup") is not None:
            self.error("a superscript on \\mathbb{E}", prefix.meta["sup"])
        return self.apply_prefix(lambda body: Expr("E", (dens, body), tuple(vars_)), arg, prefix,
                                 delimited_rule=True)

    def copies(self, var: str) -> list:
        """The copies of a support variable (``z_1, z_2, ...`` for i.i.d. samples of z), in order."""
        return [v.name for v in self.ctx.variables if getattr(v, "copy_of", "") == var]

    def sample_expectation(self, lhs: S, dens: Expr, sub: S):
        r"""``z_{1:k} \sim q(z|x)``, ``z_1, z_2 \sim q``, ``z_1 \sim q(z|x)``: i.i.d. copies of the density's
        variable; None when ``lhs`` names the density's own variables."""
        own = tuple(dens.value[1]) if dens.op == "density" else ()
        if len(own) != 1:
            return None
        base = own[0]
        if lhs.kind == "sub" and build_name(lhs.args[0]) == base and lhs.args[1].kind == "range":
            if not self.copies(base):
                self.error(f"{base} has no numbered samples in this question", lhs)
            lo, hi = self.r(lhs.args[1].args[0]), self.r(lhs.args[1].args[1])
            return lambda body: Expr("Eiid", (dens, body, lo, hi), base)
        if lhs.kind == "sub" and build_name(lhs.args[0]) == base and lhs.args[1].kind == "letter" \
                and lhs.args[1].value in self.bound and self.copies(base):  # z_j ~ q, j a summation index
            j = self.r(lhs.args[1])
            return lambda body: Expr("Eiid", (dens, body, j, j), base)
        items = [a for a in lhs.args if isinstance(a, S)] if lhs.kind == "list" else [lhs]
        if lhs.kind == "sub" and build_name(lhs.args[0]) == base and lhs.args[1].kind == "list":
            items = [S("sub", (lhs.args[0], a), pos=lhs.pos) for a in lhs.args[1].args if isinstance(a, S)]
        names = [build_name(a) for a in items]
        cps = self.copies(base)
        if not names or any(n not in cps for n in names):
            return None
        weight = None
        for n in names:
            w = Expr("transport", (dens,), (base, n))
            weight = w if weight is None else X.mul(weight, w)
        return lambda body: Expr("E", (weight, body), tuple(names))

    def default_expectation(self, sub) -> Optional[Expr]:
        """The context's default distribution for ``\\mathbb{E}[...]`` and ``\\mathbb{E}_{x_1, x_2}[...]`` (a
        subscript that only names the random quantities), or None."""
        name = getattr(self.ctx, "default_expectation", "")
        if not name:
            return None
        obj = self.ctx.lookup(name)
        if sub is not None:
            items = [a for a in sub.args if isinstance(a, S)] if sub.kind == "list" else [sub]
            for a in items:
                n = build_name(a)
                o = self.ctx.lookup(n) if n else None
                if o is None or o.kind not in ("vector", "field", "scalar") or tuple(o.over) != tuple(obj.over):
                    return None
        return Expr("density", (), (obj.name, tuple(obj.over), tuple(obj.given)))

    def _vars_of(self, s: S) -> tuple:
        if s.kind == "list":
            return tuple(self.var_name(a) for a in s.args)
        return (self.var_name(s),)

    def sum_like(self, prefix: S, arg: S, kind: str) -> Expr:
        sub, sup = prefix.meta.get("sub"), prefix.meta.get("sup")
        if sub is None:
            self.error(f"give the index of the {'sum' if kind == 'sum' else 'product'}: \\{kind}_{{j=1}}^{{N}}",
                       prefix)
        if sub.kind == "rel" and sub.value == ("=",):
            idx = build_name(sub.args[0])
            if idx is None:
                self.error("expected an index name", sub.args[0])
            if sup is None:
                self.error("give the upper limit of the sum", prefix)
            lo, hi = self.r(sub.args[1]), self.r(sup)
            self.bound.append(idx)
            try:
                body = self.r(arg)
            finally:
                self.bound.pop()
            return Expr(kind, (lo, hi, body), idx)
        name = build_name(sub)
        if name is not None and self.ctx.var(name) is not None:
            return Expr(kind, (None, None, self.r(arg)), name)
        indexed = self.index_range(sub, sup, prefix)
        if indexed is not None:
            idx, lo, hi, skip = indexed
            self.bound.append(idx)
            try:
                body = self.r(arg)
            finally:
                self.bound.pop()
            return Expr(kind, (lo, hi, body) + ((skip,) if skip is not None else ()), idx)
        self.error(f"a {kind} needs a range \\{kind}_{{j=1}}^{{N}} or a variable of this question", sub)

    def index_range(self, sub: S, sup, prefix: S):
        """``\\sum_{j \\neq i}``, ``\\sum_{j=1, j\\neq i}^{N}``, ``\\sum_i``: an index over 1..N (N the
        context's count) with one excluded value; None when the subscript is not of that form."""
        items = [a for a in sub.args if isinstance(a, S)] if sub.kind == "list" else [sub]
        idx, lo, skip = None, None, None
        for it in items:
            if it.kind == "rel" and it.value == ("!=",):
                idx = idx or build_name(it.args[0])
                skip = self.r(it.args[1])
            elif it.kind == "rel" and it.value == ("=",):
                idx = idx or build_name(it.args[0])
                lo = self.r(it.args[1])
            elif it.kind == "letter" and len(items) == 1 and it.value not in self.bound \
                    and self.ctx.lookup(it.value) is None:
                idx = it.value
            else:
                return None
        if idx is None:
            return None
        count = self.ctx.lookup("N")
        if sup is not None:
            hi = self.r(sup)
        elif count is not None:
            hi = X.sym(count.name)
        else:
            self.error("give the range of the sum: \\sum_{j=1}^{N}", prefix)
        return idx, (lo if lo is not None else X.ONE), hi, skip

    def _pop_differential(self, s: S):
        """Remove a trailing 'd var' from an implicit product (looking inside a trailing prefix
        operator: in '\\int q \\log r\\,dz' the dz was read as part of the log's argument)."""
        items = _juxt_items(s)
        if len(items) >= 2 and items[-2].kind == "letter" and items[-2].value == "d":
            name = build_name(items[-1])
            if name is not None and self.ctx.var(name) is not None:
                rest = items[:-2]
                return (None if not rest else rest[0] if len(rest) == 1 else S("juxt", tuple(rest), pos=s.pos)), name
        last = items[-1]
        if last.kind == "prefix_app" and last.args[0].meta.get("type") in ("FUNC", "WORD"):
            inner, var = self._pop_differential(last.args[1])
            if var is not None and inner is not None:
                new_last = S("prefix_app", (last.args[0], inner), pos=last.pos)
                rest = items[:-1] + [new_last]
                return (rest[0] if len(rest) == 1 else S("juxt", tuple(rest), pos=s.pos)), var
        return s, None

    def integral(self, prefix: S, arg: S) -> Expr:
        items = _juxt_items(arg)
        body_s, var = self._pop_differential(arg)
        if var is None and len(items) >= 2 and items[0].kind == "letter" and items[0].value == "d":
            name = build_name(items[1])
            if name is not None and self.ctx.var(name) is not None:
                var = name
                rest = items[2:]
                body_s = None if not rest else rest[0] if len(rest) == 1 else S("juxt", tuple(rest), pos=arg.pos)
        sub = prefix.meta.get("sub")
        if var is None and sub is not None:
            name = build_name(sub)
            if name is not None and self.ctx.var(name) is not None:
                var, body_s = name, arg
        if var is None:
            vs = ", ".join(self.ctx.axis_names) or "(none)"
            self.error(f"an integral needs its differential (d followed by one of: {vs}) at the end; "
                       "put a sum in the integrand in brackets", prefix)
        body = X.ONE if body_s is None else X.mul(*[f for f, _ in self.factors(body_s)])
        return Expr("int", (body,), var)


def _show(name: str) -> str:
    return name


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------
def resolve(tree: S, ctx: Context, *, choices=(), trusted: bool = False, text: str = "", bound=(),
            local=None) -> tuple:
    res = Resolver(ctx, choices, trusted, text)
    res.bound.extend(bound)
    res.local = dict(local or {})
    e = res.r(tree)
    return e, res.points


def resolve_text(text: str, ctx: Context, *, trusted: bool = False, bound=()) -> Expr:
    """The (first) reading of ``text``; used for the context's own definitions (``bound``: the index
    placeholders of an indexed family's definition, e.g. ``j`` in ``w_j = p(x, z_j)/q(z_j|x)``)."""
    e, _ = resolve(parse(text), ctx, trusted=trusted, text=text, bound=bound)
    return e


_DEFINITIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def definition(ctx: Context, name: str) -> Optional[Expr]:
    """The resolved expression of a defined object of ``ctx`` (parsed with the project's parser and
    cached per context), or None when ``name`` is not a defined object."""
    obj = ctx.lookup(name)
    if obj is None or obj.definition is None:
        return None
    cache = _DEFINITIONS.setdefault(ctx, {})
    if obj.name not in cache:
        cache[obj.name] = resolve_text(obj.definition, ctx, trusted=True, bound=tuple(getattr(obj, "index", ())))
    return cache[obj.name]


def readings_of_tree(tree: S, ctx: Context, text: str = "", local=None) -> list:
    """Every reading of a parsed answer (one unless the notation is ambiguous).  ``local``: names a
    derivation introduced itself (``A := ...``), canonical name -> expression."""
    first, points = resolve(tree, ctx, text=text, local=local)
    if not points:
        return [Reading(first, (), ())]
    n = min(len(points), MAX_AMBIGUITIES)
    out = []
    for combo in itertools.product((0, 1), repeat=n):
        e, pts = resolve(tree, ctx, choices=combo, text=text, local=local)
        labels = tuple(pts[i][1 + combo[i]] for i in range(min(n, len(pts))))
        if any(r.expr == e for r in out):
            continue
        out.append(Reading(e, combo, labels))
    return out


def readings(text: str, ctx: Context, local=None) -> list:
    return readings_of_tree(parse(text), ctx, text, local=local)
