"""Random instances of a notation context, and the values evaluation works with.

* :class:`Val`: a value, a complex NumPy array laid out on the context's support
  axes (one per support variable, size 1 where the value does not depend on it),
  followed by two matrix axes for matrix values;
* :class:`Instance`: sizes, supports and a value for every base object of one draw;
* :func:`sample`: one random instance of a context.  Matrices are generic
  (products do not commute; sizes differ between instances, so a wrong factor
  order is usually also a shape error), except those declared ``commuting``: all
  commuting matrices of one size share an orthogonal eigenbasis in each instance.

This module imports no other grading module: a context (declarations,
:mod:`grading.context`) and the evaluator (:mod:`grading.evaluate`) both use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class Val:
    """A value: ``kind`` 's' (scalar field), 'm' (matrix field) or 'I' (scaled identity)."""

    __slots__ = ("arr", "kind")

    def __init__(self, arr, kind: str):
        self.arr = arr
        self.kind = kind

    @property
    def mshape(self) -> tuple:
        return self.arr.shape[-2:] if self.kind == "m" else ()

    def short(self) -> str:
        a = np.asarray(self.arr)
        if self.kind == "m":
            return f"{a.shape[-2]}x{a.shape[-1]} matrix"
        if a.size == 1:
            return fmt_complex(complex(a.reshape(-1)[0]))
        return f"values over a support of {a.size} points"

    def __repr__(self) -> str:  # pragma: no cover
        return f"Val({self.kind}, {np.asarray(self.arr).shape})"


def fmt_complex(z: complex) -> str:
    if abs(z.imag) < 1e-12 * max(1.0, abs(z.real)):
        return f"{z.real:.6g}"
    return f"{z.real:.6g}{z.imag:+.6g}i"


@dataclass
class Instance:
    """Sizes, supports and values of one random draw of a context."""

    context: "object"  # a grading.context.Context
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


def sample(ctx, rng: np.random.Generator, *, prefer_distinct: bool = True) -> Instance:
    """One random instance of the context ``ctx``: sizes, supports and base values."""
    dims = {}
    for name, (lo, hi) in ctx.dims.items():
        dims[name] = int(rng.integers(lo, hi + 1))
    if prefer_distinct and len(ctx.dims) > 1:
        # distinct sizes make a wrong factor order a shape error; retry a few times
        for _ in range(8):
            if len(set(dims.values())) == len(dims):
                break
            for name, (lo, hi) in ctx.dims.items():
                dims[name] = int(rng.integers(lo, hi + 1))
    supports = {v.name: int(rng.integers(v.size[0], v.size[1] + 1)) for v in ctx.variables}
    for v in ctx.variables:
        if getattr(v, "like", "") or getattr(v, "copy_of", ""):
            supports[v.name] = supports[v.like or v.copy_of]
    shape_axes = tuple(supports[v] for v in ctx.axis_names)
    inst = Instance(ctx, dims, supports)
    bases: dict = {}  # size -> the orthogonal basis shared by the context's commuting matrices
    for o in ctx.objects:
        if o.definition is not None or o.kind in ("map", "function"):
            continue
        inst.values[o.name] = _sample_object(o, rng, dims, supports, ctx.axis_names, shape_axes, bases)
    return inst


def draw_scalar(domain: str, rng, shape=()):
    if domain == "small":  # a small count (a number of samples): 1, 2 or 3
        return rng.integers(1, 4, size=shape).astype(float)
    if domain == "few":  # a small count of at least two (a batch with negatives): 2, 3 or 4
        return rng.integers(2, 5, size=shape).astype(float)
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


def _sample_object(o, rng, dims, supports, axis_names, shape_axes, bases=None):
    n_axes = len(axis_names)
    if getattr(o, "members", 0):  # an indexed family of base values: members stacked on a leading axis
        from dataclasses import replace

        one = replace(o, members=0)
        vals = [_sample_object(one, rng, dims, supports, axis_names, shape_axes) for _ in range(o.members)]
        return Val(np.stack([v.arr for v in vals]), vals[0].kind)
    if o.kind == "scalar":
        value = draw_scalar(o.domain, rng)
        return Val(np.asarray(value, dtype=complex).reshape((1,) * n_axes), "s")
    if o.kind in ("vector", "matrix"):
        rows = _size(o.shape[0], dims)
        cols = 1 if o.kind == "vector" else _size(o.shape[1], dims)
        if o.over:  # a vector (matrix) field: one draw at every point of its supports
            full = [supports[v] if v in o.over else 1 for v in axis_names]
            cells = [draw_matrix(o.structure, rows, cols, rng) for _ in range(int(np.prod(full)))]
            arr = np.asarray(cells, dtype=complex).reshape(tuple(full) + (rows, cols))
            return Val(arr, "m")
        if o.structure == "commuting":
            if rows != cols:
                raise ValueError(f"object {o.name}: a commuting matrix is square")
            if bases is None:
                bases = {}
            if rows not in bases:
                bases[rows] = np.linalg.qr(rng.normal(size=(rows, rows)))[0]
            q = bases[rows]
            m = q @ np.diag(rng.normal(size=rows)) @ q.T
        else:
            m = draw_matrix(o.structure, rows, cols, rng)
        return Val(np.asarray(m, dtype=complex).reshape((1,) * n_axes + m.shape), "m")
    if o.kind in ("density", "joint", "field"):
        axes = tuple(o.over) + tuple(o.given)
        full = [supports[v] if v in axes else 1 for v in axis_names]
        if o.kind == "field":
            value = draw_scalar(o.domain, rng, tuple(full))
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


def draw_matrix(structure: str, rows: int, cols: int, rng) -> np.ndarray:
    a = rng.normal(size=(rows, cols))
    if structure == "general":
        return a
    if structure == "unit":
        return a / np.linalg.norm(a)
    if structure == "simplex":  # positive entries summing to one (a probability vector)
        p = np.exp(rng.uniform(np.log(0.15), np.log(1.0), size=(rows, cols)))
        return p / p.sum(axis=0, keepdims=True)
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
