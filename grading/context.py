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

:meth:`Context.sample` draws one random *instance*: sizes, supports and a
value for every base object, as :class:`grading.evaluate.Val` arrays.
Matrices are generic (products do not commute; sizes differ between
instances so a wrong factor order is usually also a shape error).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Var:
    """A support variable with a finite support of ``size`` (inclusive range) points."""

    name: str
    size: tuple = (2, 5)


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
    params: tuple = ()  # argument names written after a defined object and ignored: \mathcal{L}(\phi, x)

    @property
    def is_function(self) -> bool:
        """Objects written with arguments: densities, joints, fields."""
        return self.kind in ("density", "joint", "field")


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

    @functools.lru_cache(maxsize=None)  # noqa: B019 - contexts live for the process
    def definition(self, name: str):
        """The resolved expression of a defined object (parsed with the project's parser)."""
        from .semantics import resolve_text

        obj = self.lookup(name)
        if obj is None or obj.definition is None:
            return None
        return resolve_text(obj.definition, self, trusted=True)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other) -> bool:
        return self is other

    # -- sampling -----------------------------------------------------------
    def sample(self, rng: np.random.Generator, *, prefer_distinct: bool = True) -> "Instance":
        """One random instance: sizes, supports and base values."""
        dims = {}
        for name, (lo, hi) in self.dims.items():
            dims[name] = int(rng.integers(lo, hi + 1))
        if prefer_distinct and len(self.dims) > 1:
            # distinct sizes make a wrong factor order a shape error; retry a few times
            for _ in range(8):
                if len(set(dims.values())) == len(dims):
                    break
                for name, (lo, hi) in self.dims.items():
                    dims[name] = int(rng.integers(lo, hi + 1))
        supports = {v.name: int(rng.integers(v.size[0], v.size[1] + 1)) for v in self.variables}
        shape_axes = tuple(supports[v] for v in self.axis_names)
        inst = Instance(self, dims, supports)
        for o in self.objects:
            if o.definition is not None:
                continue
            inst.values[o.name] = _sample_object(o, rng, dims, supports, self.axis_names, shape_axes)
        return inst


@dataclass
class Instance:
    """Sizes, supports and values of one random draw of a context."""

    context: Context
    dims: dict
    supports: dict
    values: dict = field(default_factory=dict)

    def describe(self) -> dict:
        out = {}
        for k, v in self.dims.items():
            out[k] = v
        for k, v in self.supports.items():
            out[f"|support of {k}|"] = v
        for name, val in self.values.items():
            out[name] = val.short()
        return out


def _draw_scalar(domain: str, rng, shape=()):
    if domain == "positive":
        return np.exp(rng.uniform(np.log(0.2), np.log(4.0), size=shape))
    if domain == "unit":
        return rng.uniform(0.05, 0.95, size=shape)
    if domain == "posint":
        return rng.integers(1, 13, size=shape).astype(float)
    if domain == "int":
        return rng.integers(-6, 7, size=shape).astype(float)
    if domain == "nonneg":
        return rng.uniform(0.0, 3.0, size=shape)
    if domain == "complex":
        return rng.normal(size=shape) + 1j * rng.normal(size=shape)
    # real: bounded away from 0 so 1/x and log|x| stay tame
    mag = rng.uniform(0.3, 2.5, size=shape)
    sign = np.where(rng.random(size=shape) < 0.5, -1.0, 1.0)
    return mag * sign


def _sample_object(o: Obj, rng, dims, supports, axis_names, shape_axes):
    from .evaluate import Val

    n_axes = len(axis_names)
    if o.kind == "scalar":
        value = _draw_scalar(o.domain, rng)
        return Val(np.asarray(value, dtype=complex).reshape((1,) * n_axes), "s")
    if o.kind in ("vector", "matrix"):
        rows = _size(o.shape[0], dims)
        cols = 1 if o.kind == "vector" else _size(o.shape[1], dims)
        m = _draw_matrix(o.structure, rows, cols, rng)
        return Val(np.asarray(m, dtype=complex).reshape((1,) * n_axes + m.shape), "m")
    if o.kind in ("density", "joint", "field"):
        axes = tuple(o.over) + tuple(o.given)
        full = [supports[v] if v in axes else 1 for v in axis_names]
        if o.kind == "field":
            value = _draw_scalar(o.domain, rng, tuple(full))
            return Val(np.asarray(value, dtype=complex), "s")
        raw = np.exp(rng.uniform(np.log(0.15), np.log(1.0), size=tuple(full)))
        sum_axes = tuple(axis_names.index(v) for v in o.over)
        raw = raw / raw.sum(axis=sum_axes, keepdims=True)
        return Val(np.asarray(raw, dtype=complex), "s")
    raise ValueError(f"object {o.name}: unknown kind {o.kind!r}")


def _size(dim, dims) -> int:
    if isinstance(dim, int):
        return dim
    if dim not in dims:
        raise KeyError(f"dimension {dim!r} is not declared in the context")
    return dims[dim]


def _draw_matrix(structure: str, rows: int, cols: int, rng) -> np.ndarray:
    a = rng.normal(size=(rows, cols))
    if structure == "general":
        return a
    if structure == "unit":
        return a / np.linalg.norm(a)
    if structure == "symmetric":
        return (a + a.T) / 2
    if structure == "spd":
        return a @ a.T + 0.5 * np.eye(rows)
    if structure == "psd":
        k = max(1, rows - 1)
        b = rng.normal(size=(rows, k))
        return b @ b.T
    if structure == "orthogonal":
        q, _ = np.linalg.qr(a)
        return q
    raise ValueError(f"unknown matrix structure {structure!r}")
