"""Key adapters: how a topic's SymPy notation reads as the grader's expressions.

A claim's answer is a SymPy object written in its topic's own vocabulary
(``Expect(body, dist)``, ``KL(a, b)`` in ``derivations/vae.py``; ``E_p0``,
``f_0`` in ``derivations/gan_theory.py``).  A question's record names the
adapter that translates it (``adapter: vae``).  An adapter is a function of
the question's :class:`~grading.context.Context` returning ``(aliases,
handlers)`` for :func:`grading.symbolic.from_sympy`: aliases map a SymPy
symbol name to an expression; handlers map a SymPy function-class name to
``handler(reader, node) -> Expr``.

Register one with ``@key_adapter("topic")``.  A topic module may register its
own (``derivations/<topic>.py``): :func:`adapter` imports
``derivcheck.derivations.<topic>`` before giving up on a name.
"""
from __future__ import annotations

import importlib
from typing import Callable

from . import expr as X
from .expr import Expr
from .symbolic import KeyConversionError

ADAPTERS: dict[str, Callable] = {}


def key_adapter(name: str):
    """Register ``fn(ctx) -> (aliases, handlers)`` as the key adapter of topic ``name``."""
    def register(fn):
        ADAPTERS[name] = fn
        return fn
    return register


def adapter(name: str) -> Callable:
    """The key adapter registered under ``name`` (raises KeyConversionError if there is none)."""
    if name not in ADAPTERS:
        try:
            importlib.import_module(f"derivcheck.derivations.{name}")
        except ImportError:
            pass
    if name not in ADAPTERS:
        raise KeyConversionError(f"no key adapter named {name!r} (known: {', '.join(sorted(ADAPTERS))})")
    return ADAPTERS[name]


def _density(name: str, vars_: tuple, given: tuple = ()) -> Expr:
    return Expr("density", (), (name, vars_, given))


@key_adapter("gan_theory")
def gan_theory(ctx) -> tuple[dict, dict]:
    """derivations/gan_theory.py: f_0, f_1 are density values at x, D is D*(x), E_p0/E_p1 expectations."""
    f0, f1 = _density("f_0", ("x",)), _density("f_1", ("x",))
    aliases = {"f_0": f0, "f_1": f1, "D": X.sym("D^*")}

    def expect(density):
        return lambda reader, node: Expr("E", (density, reader.read(node.args[0])), ("x",))

    return aliases, {"E_p0": expect(f0), "E_p1": expect(f1)}


@key_adapter("vae")
def vae(ctx) -> tuple[dict, dict]:
    """derivations/vae.py: density classes over (x, z), Expect(body, dist), KL(a, b), Entropy(a)."""
    forms = {
        "Joint": lambda a: _density("p", ("x", "z")),
        "Likelihood": lambda a: _density("p", ("x",), ("z",)),
        "Prior": lambda a: _density("p", ("z",)),
        "Posterior": lambda a: _density("p", ("z",), ("x",)),
        "Marginal": lambda a: _density("p", ("x",)),
        "Approx": lambda a: _density("q_phi", ("z",), ("x",)),
    }

    def check_args(node):
        names = tuple(str(a) for a in node.args)
        if not set(names) <= {"x", "z"}:
            raise KeyConversionError(f"the key evaluates {type(node).__name__} at {names}, not at (x, z)")

    handlers = {}
    for cls, make in forms.items():
        def h(reader, node, make=make):
            check_args(node)
            return make(node.args)
        handlers[cls] = h

    def dens(reader, node) -> Expr:
        e = reader.read(node)
        if e.op != "density":
            raise KeyConversionError(f"expected a density, got {node}")
        return e

    def expect(reader, node):
        body, dist = node.args
        d = dens(reader, dist)
        return Expr("E", (d, reader.read(body)), d.value[1])

    def kl(reader, node):
        return Expr("kl", (dens(reader, node.args[0]), dens(reader, node.args[1])))

    def entropy(reader, node):
        d = dens(reader, node.args[0])
        return X.neg(Expr("E", (d, X.fn("log", d)), d.value[1]))

    handlers.update({"Expect": expect, "KL": kl, "Entropy": entropy})
    return {}, handlers
