r"""Notation contexts: the objects a question's answers may use, and their domains.

A :class:`Context` lists

* support **variables** (``x``, ``z``): each gets a finite support of random
  size per instance, so expectations, integrals and sums over it are exact
  finite sums;
* **objects**, each with a kind and a domain:

  ``scalar``   real, positive, unit (0 < s < 1), integer, positive integer,
               complex;
  ``vector``   a column vector of a named dimension, optionally unit length;
  ``matrix``   rows x cols (named dimensions) with a structure: general,
               symmetric, spd (symmetric positive definite), psd, orthogonal;
  ``density``  a positive function of its variables summing to one over them
               (for every value of the conditioning variables);
  ``joint``    a joint density family ``p`` over several variables: every
               marginal and conditional (``p(z)``, ``p(x|z)``...) is derived;
  ``field``    a scalar function of support variables (e.g. ``D^*(x)``);

* **definitions**: objects given by a LaTeX formula in terms of others
  (``F_1 = W(X+X')W^\top``, ``D^*(x) = f_1(x)/(f_0(x)+f_1(x))``).  They are
  parsed by the project's own parser (never evaluated as code) and expanded
  before symbolic comparison, so a student may write either side.

:meth:`Context.sample` draws one random *instance* (:mod:`grading.instances`:
sizes, supports and a value for every base object).  A definition is resolved
by :func:`grading.semantics.definition`.  This module holds declarations only
and imports no other grading module but :mod:`grading.instances`.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .instances import Instance, sample  # noqa: F401  (Instance is importable from here)


@dataclass(frozen=True)
class Var:
    """A support variable with a finite support of ``size`` (inclusive range) points."""

    name: str
    size: tuple = (2, 5)
    copy_of: str = ""  # an i.i.d. copy of this variable (z_1, z_2 of z): densities of it apply to the copy
    like: str = ""  # the same support size as this other variable (a bijection pairs their points)
    measure: str = ""  # a positive field over this variable giving each point's volume (integrals, densities)


@dataclass(frozen=True)
class Obj:
    name: str
    kind: str  # scalar | vector | matrix | density | joint | field
    domain: str = "real"
    shape: tuple = ()
    structure: str = "general"
    over: tuple = ()
    given: tuple = ()
    aliases: tuple = ()
    definition: Optional[str] = None
    description: str = ""
    depends: tuple = ()  # parameters it depends on (redrawn by "up to a term constant in theta" checks)
    fixed: tuple = ()  # a joint's variables whose marginal does not depend on those parameters (a prior)
    index: tuple = ()  # an indexed family: placeholder names of its indices (z_i, d_{ij}, w_j)
    mirror: str = ""  # a field equal to this other field at the mirrored point of its (paired) support
    members: int = 0  # a family of base values: how many members are drawn (indices 1..members)
    params: tuple = ()  # argument names written after a defined object and ignored: \mathcal{L}(\phi, x)

    @property
    def is_function(self) -> bool:
        """Objects written with arguments: densities, joints, fields, functions (phi(t) = log t)."""
        return self.kind in ("density", "joint", "field", "function")


@functools.lru_cache(maxsize=4096)
def canonical(name: str) -> str:
    r"""A canonical spelling of a symbol name: ``F_{12}`` -> ``F_12``, ``q_{\phi}`` -> ``q_phi``,
    ``\tilde{W}_p`` -> ``tilde(W)_p``, ``\varepsilon`` -> ``epsilon``, ``X^{\prime}`` -> ``X'``."""
    s = name.strip()
    s = re.sub(r"\\(?:mathbf|boldsymbol|bm|mathit|mathrm)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\(tilde|widetilde|hat|widehat|bar|overline|dot)\{\\?([A-Za-z]+)\}",
               lambda m: f"{_ACC.get(m.group(1), m.group(1))}({m.group(2)})", s)
    s = re.sub(r"\\(tilde|hat|bar|dot)\s*\\?([A-Za-z])",
               lambda m: f"{_ACC.get(m.group(1), m.group(1))}({m.group(2)})", s)
    s = s.replace("^{\\prime}", "'").replace("^\\prime", "'").replace("\\prime", "'")
    s = s.replace("^{*}", "^*").replace("^{\\ast}", "^*").replace("\\ast", "*")
    s = s.replace("\\varepsilon", "epsilon").replace("\\varphi", "phi").replace("\\vartheta", "theta")
    s = s.replace("{", "").replace("}", "").replace("\\", "").replace(" ", "")
    return s


_ACC = {"widetilde": "tilde", "widehat": "hat", "overline": "bar"}


@dataclass
class Context:
    """A question's notation: variables, objects, definitions and conventions."""

    name: str
    objects: list = field(default_factory=list)
    variables: list = field(default_factory=list)
    dims: dict = field(default_factory=dict)  # dimension name -> (lo, hi)
    identity_dim: Optional[str] = None  # size of a bare I when nothing else fixes it
    imaginary_unit: bool = False  # 'i' is sqrt(-1)
    description: str = ""
    default_expectation: str = ""  # the density of an \mathbb{E}[...] written without a subscript

    def __post_init__(self):
        self._by_name: dict[str, Obj] = {}
        for o in self.objects:
            for n in (o.name,) + tuple(o.aliases):
                key = canonical(n)
                if key in self._by_name and self._by_name[key] is not o:
                    raise ValueError(f"context {self.name}: name {n!r} declared twice")
                self._by_name[key] = o
        self._vars = {v.name: v for v in self.variables}

    # -- lookup -------------------------------------------------------------
    def lookup(self, name: str) -> Optional[Obj]:
        return self._by_name.get(canonical(name))

    def var(self, name: str) -> Optional[Var]:
        return self._vars.get(name)

    @property
    def axis_names(self) -> tuple:
        return tuple(v.name for v in self.variables)

    def axis(self, var: str) -> int:
        return self.axis_names.index(var)

    def names(self) -> list:
        """The spellings a student may use (for error messages)."""
        out = []
        for o in self.objects:
            out.append(o.name)
        return out + [v.name for v in self.variables]

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other) -> bool:
        return self is other

    # -- sampling -----------------------------------------------------------
    def sample(self, rng: np.random.Generator, *, prefer_distinct: bool = True) -> Instance:
        """One random instance: sizes, supports and base values (see :func:`grading.instances.sample`)."""
        return sample(self, rng, prefer_distinct=prefer_distinct)
