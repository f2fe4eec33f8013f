r"""Gradable questions, read from the catalogue's records (:mod:`derivcheck.catalogue`).

A question is one record in a questions file (``derivcheck/questions.yaml``,
or a file added with ``--questions``).  This module turns a record into what
the grader works with:

* a :class:`~grading.context.Context` (:func:`contexts`): the named contexts
  under ``contexts:`` and every inline ``context:`` record (named after its
  question or claim);
* a :class:`Spec`: points, the context's name, form restrictions
  (``targets``, ``forbid``, ``forbid_ops``, ``only_through``, ``labels``,
  ``point_vars``), the key source (``claim`` pin, or a LaTeX ``answer``
  verified before use, :mod:`grading.reference`), the key adapter, the
  rubric, the visibility, hints, and the examples to accept and reject;
* a :class:`Question`: the record's ID and kind, its spec and the raw record.

A record with schema problems is still a question: it carries its
``errors``, grading it answers ``needs-human`` with the error, and every
other question loads.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Optional

from derivcheck import catalogue

from .context import Context, Obj, Var


# --------------------------------------------------------------------------
# Contexts from records
# --------------------------------------------------------------------------
def _range(v, default=(2, 5)) -> tuple:
    if v is None:
        return tuple(default)
    if isinstance(v, int):
        return (v, v)
    return (int(v[0]), int(v[1]))


_OBJ_FIELDS = {f.name for f in dataclasses.fields(Obj)}
_VAR_FIELDS = {f.name for f in dataclasses.fields(Var)}


def _value(v):
    return tuple(str(x) for x in v) if isinstance(v, list) else v


def build_object(name: str, spec) -> Obj:
    """One context object from its record (a bare string is the domain of a scalar).  Every field of
    :class:`~grading.context.Obj` may be given (lists become tuples)."""
    if isinstance(spec, str):
        return Obj(str(name), "scalar", domain=spec)
    spec = dict(spec or {})
    kind = spec.pop("kind", "scalar")
    fields = {k: _value(v) for k, v in spec.items() if k in _OBJ_FIELDS}
    if "shape" in spec:
        fields["shape"] = tuple(spec["shape"])  # sizes may be numbers
    return Obj(str(name), kind, **fields)


def build_variable(name: str, spec) -> Var:
    """A random variable with a finite support: ``[min, max]`` size, or ``{size: [..], copy_of, like, measure}``."""
    if isinstance(spec, dict):
        extra = {k: _value(v) for k, v in spec.items() if k in _VAR_FIELDS and k != "size"}
        return Var(str(name), _range(spec.get("size")), **extra)
    return Var(str(name), _range(spec))


def build_context(name: str, data: dict) -> Context:
    """A :class:`Context` from a context record (see ``CONTEXT_FIELDS`` in :mod:`derivcheck.catalogue`)."""
    variables = data.get("variables") or {}
    if isinstance(variables, list):
        variables = {v: None for v in variables}
    extra = {"default_expectation": data["default_expectation"]} if data.get("default_expectation") else {}
    return Context(
        name,
        objects=[build_object(k, v) for k, v in (data.get("objects") or {}).items()],
        variables=[build_variable(k, v) for k, v in variables.items()],
        dims={str(k): _range(v) for k, v in (data.get("dims") or {}).items()},
        identity_dim=data.get("identity_dim"),
        imaginary_unit=bool(data.get("imaginary_unit", False)),
        description=data.get("description", ""),
        **extra,
    )


@functools.lru_cache(maxsize=None)
def contexts() -> dict:
    """Every notation context by name: the named ones, then the inline ones (named by question or claim ID).

    A context whose record is broken is left out (its questions then carry the error)."""
    cat = catalogue.catalogue()
    out = {}
    for name, rec in cat.contexts.items():
        if not rec.errors:
            out[name] = _safe_context(name, rec.data)
    for qid, q in cat.questions.items():
        if isinstance(q.spec.get("context"), dict) and not q.errors:
            out[qid] = _safe_context(qid, q.spec["context"])
    for cid, rec in cat.claims.items():
        if isinstance(rec.data.get("context"), dict) and not rec.errors:
            out[cid] = _safe_context(cid, rec.data["context"])
    return {k: v for k, v in out.items() if v is not None}


def _safe_context(name: str, data: dict) -> Optional[Context]:
    try:
        return build_context(name, data)
    except (ValueError, TypeError, KeyError):
        return None


def context_name(record_id: str, data: dict) -> Optional[str]:
    """The name under which a record's context is found in :func:`contexts`."""
    ctx = data.get("context")
    if ctx is None:
        return None
    return ctx if isinstance(ctx, str) else record_id


# --------------------------------------------------------------------------
# Question specs
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """What grading knows about one question (read from its record)."""

    points: float
    context: Optional[str] = None
    targets: tuple = ()
    forbid: tuple = ()  # object names not allowed as values in an answer
    forbid_ops: tuple = ()  # expression ops not allowed (kl, jsd)
    only_through: Optional[str] = None  # LaTeX of the only form in which the context's objects may appear
    restates: tuple = ()  # LaTeX of the quantity asked for: an answer containing it restates the question
    key_claim: Optional[str] = None  # pin: the claim whose answer is the key (or that confirms `reference`)
    adapter: Optional[str] = None  # how to read the key's SymPy notation
    labels: bool = False  # a set of plain labels (not expressions)
    point_vars: tuple = ()  # names of a point's coordinates, in order (for answers like "d = 0, g = 0")
    rubric: str = ""
    unavailable: str = ""
    reference: object = None  # LaTeX reference answer (a list of items for a set), verified before use
    visibility: str = "visible"
    hints: tuple = ()  # ((LaTeX answer, message), ...) for known wrong answers
    accept: tuple = ()  # answers that must be graded correct
    reject: tuple = ()  # answers that must be graded wrong
    option_claims: tuple = ()  # ((label, claim ID), ...): an option's truth is its claim's verified status


def spec_of(q: catalogue.Question) -> Spec:
    r = q.spec
    options = r.get("options")
    return Spec(
        points=float(r.get("points", 0) or 0),
        context=context_name(q.id, r),
        targets=tuple(str(t) for t in r.get("targets") or ()),
        forbid=tuple(str(t) for t in r.get("forbid") or ()),
        forbid_ops=tuple(str(t) for t in r.get("forbid_ops") or ()),
        only_through=r.get("only_through"),
        restates=tuple(str(t) for t in r.get("restates") or ()),
        key_claim=r.get("claim"),
        adapter=r.get("adapter"),
        labels=bool(r.get("labels", False)),
        point_vars=tuple(str(t) for t in r.get("point_vars") or ()),
        rubric=r.get("rubric", ""),
        unavailable=r.get("unavailable", ""),
        reference=r.get("answer"),
        visibility=r.get("visibility", "visible"),
        hints=tuple((h.get("answer"), h.get("message", "")) for h in r.get("hints") or () if isinstance(h, dict)),
        accept=tuple(r.get("accept") or ()),
        reject=tuple(r.get("reject") or ()),
        option_claims=tuple((str(k), v["claim"]) for k, v in options.items()) if isinstance(options, dict) else (),
    )


@dataclass(frozen=True)
class Question:
    """A gradable question: the catalogue record plus its grading spec."""

    id: str
    kind: str
    spec: Spec
    catalogue_spec: dict = field(compare=False, hash=False, default_factory=dict)
    source: object = field(default=None, compare=False, hash=False)
    errors: tuple = field(default=(), compare=False, hash=False)

    @property
    def points(self) -> float:
        return self.spec.points

    @property
    def options(self) -> list:
        return [str(o) for o in self.catalogue_spec.get("options", [])]

    @property
    def keys(self) -> list:
        return [str(k) for k in self.catalogue_spec.get("keys", [])]

    @property
    def ask(self) -> str:
        return self.catalogue_spec.get("ask", "")

    @property
    def block(self) -> dict:
        """The kind-specific block of the record (``derivation:`` for a derivation question), or {}."""
        b = self.catalogue_spec.get(self.kind)
        return b if isinstance(b, dict) else {}

    @property
    def visibility(self) -> str:
        return self.spec.visibility

    @property
    def context(self) -> Optional[Context]:
        if not self.spec.context:
            return None
        ctx = contexts().get(self.spec.context)
        if ctx is None:
            raise KeyError(f"{self.id}: context {self.spec.context!r} could not be built; "
                           + "; ".join(catalogue.problems()))
        return ctx

    def describe(self) -> dict:
        ctx = self.context if not self.errors else None
        return {
            "question": self.id, "kind": self.kind, "points": self.points, "ask": self.ask,
            "options": self.options or None, "keys": self.keys or None,
            "notation": ctx.description if ctx else None, "visibility": self.visibility,
        }


@functools.lru_cache(maxsize=None)
def questions() -> dict:
    """Every catalogue question with its grading spec (a record with problems carries its ``errors``)."""
    out = {}
    for qid, q in catalogue.questions().items():
        errors = tuple(str(e) for e in q.errors)
        try:
            spec = spec_of(q)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:  # only a record with errors gets here
            spec = Spec(points=0.0)
            errors = errors or (f"{q.source}: {type(exc).__name__}: {exc}",)
        if not errors and spec.context and spec.context not in contexts():
            errors = (f"{q.source}: context: {spec.context!r} could not be built",)
        out[qid] = Question(qid, q.kind, spec, dict(q.spec), q.source, errors)
    return out


def specs() -> dict:
    """Every question's :class:`Spec`, by ID."""
    return {qid: q.spec for qid, q in questions().items()}


def question(qid: str) -> Question:
    qs = questions()
    if qid not in qs:
        raise KeyError(f"unknown question {qid!r}." + catalogue.did_you_mean(qid, qs))
    return qs[qid]


@catalogue.on_change
def _forget() -> None:
    questions.cache_clear()
    contexts.cache_clear()
