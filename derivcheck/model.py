"""The claim model: what a claim is, and what checking it produces.

A *claim* is one mathematical statement that answers one or more catalogue
questions.  It carries a LaTeX statement, explicit assumptions, optionally the
*answer* it establishes (a SymPy object or plain data: the grader's key), and a
symbolic check.  Numeric *confirmations* of the same claim live in
``numerics/`` and are attached to it by claim ID.

Every check returns a structured result, never a bare bool:

* :class:`SymbolicResult`: verdict, the residual (or counterexample), method.
* :class:`NumericResult`: verdict plus a list of :class:`Evidence` records
  (estimate, reference, error bar, tolerance rule, sample size, seed) and
  optional :class:`Plot` data for the report.

The records are plain data; :meth:`to_dict` gives the JSON shape that the CLI
prints and the report renders.
"""
from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


class Verdict(str, enum.Enum):
    """Three-valued outcome of one check."""

    HOLDS = "holds"
    FAILS = "fails"
    INCONCLUSIVE = "inconclusive"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


def combine(verdicts) -> Verdict:
    """All must hold; a single failure fails; otherwise inconclusive."""
    verdicts = list(verdicts)
    if any(v is Verdict.FAILS for v in verdicts):
        return Verdict.FAILS
    if verdicts and all(v is Verdict.HOLDS for v in verdicts):
        return Verdict.HOLDS
    return Verdict.INCONCLUSIVE


def _jsonable(value: Any) -> Any:
    """Numbers, complex numbers and containers as JSON-safe values."""
    if isinstance(value, complex):
        return {"re": _jsonable(value.real), "im": _jsonable(value.imag)}
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return _jsonable(value.item())
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------
@dataclass
class SymbolicResult:
    """Outcome of a SymPy check.

    ``residual`` is what should have simplified to zero (or the unmatched
    part of a set, or the violated condition); ``counterexample`` is an
    assignment of the free symbols, within the assumptions, at which the
    residual is provably non-zero.
    """

    verdict: Verdict
    method: str
    residual: Optional[str] = None
    residual_latex: Optional[str] = None
    counterexample: Optional[dict] = None
    detail: str = ""
    check: str = ""
    elapsed_s: float = 0.0

    def to_dict(self) -> dict:
        return _jsonable(dataclasses.asdict(self))

    def explain(self) -> str:
        lines = [f"symbolic check {self.check or '?'}: {self.verdict.value} ({self.method})"]
        if self.residual is not None:
            lines.append(f"  residual: {self.residual}")
        if self.counterexample:
            pts = ", ".join(f"{k} = {v}" for k, v in self.counterexample.items())
            lines.append(f"  counterexample: {pts}")
        if self.detail:
            lines.append(f"  {self.detail}")
        return "\n".join(lines)


RELATIONS = ("==", "<=", ">=", "<", ">")


@dataclass
class Evidence:
    """One numeric comparison of an estimate with what the claim predicts.

    The comparison is ``estimate <relation> reference`` up to ``tolerance``;
    ``error`` is the error bar of the estimate (a standard error for Monte
    Carlo, a bound for roundoff or ODE error) and ``rule`` says how
    ``tolerance`` was derived from it.
    """

    quantity: str
    estimate: Any
    reference: Any
    relation: str
    error: float
    error_kind: str
    tolerance: float
    rule: str
    n: int
    seed: Optional[int]
    verdict: Verdict
    z: Optional[float] = None
    detail: str = ""

    def to_dict(self) -> dict:
        return _jsonable(dataclasses.asdict(self))

    def explain(self) -> str:
        z = f", z = {self.z:.2f}" if self.z is not None else ""
        seed = f", seed {self.seed}" if self.seed is not None else ""
        return (
            f"{self.verdict.value}: {self.quantity}: estimate {_fmt(self.estimate)} "
            f"{self.relation} reference {_fmt(self.reference)} "
            f"(tolerance {self.tolerance:.3g}; {self.error_kind} {self.error:.3g}{z}; "
            f"n = {self.n}{seed}; rule: {self.rule})"
            + (f" [{self.detail}]" if self.detail else "")
        )


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    if isinstance(x, complex):
        return f"{x.real:.6g}{x.imag:+.6g}j"
    return str(x)


@dataclass
class Series:
    """One line (kind ``line``), one point cloud (``scatter``) or one picture
    (``images``: ``image`` is an H x W grey or H x W x 3 RGB nested list with
    values in [0, 1], ``cell_labels`` optional; ``x``/``y`` unused)."""

    label: str
    x: list = field(default_factory=list)
    y: list = field(default_factory=list)
    style: str = "-"
    image: Optional[list] = None
    # a picture whose pixels are the cells of a labelled grid (e.g. a receptive field): the label
    # of each pixel, same H x W shape as ``image``; the report writes it in the cell
    cell_labels: Optional[list] = None


@dataclass
class Plot:
    """Data for one figure; ``reports`` draws it, nothing here decides.

    ``kind``: ``line`` (x/y curves, ``style`` a matplotlib format string),
    ``scatter`` (one colour per series) or ``images`` (a grid of pictures,
    ``ncols`` per row, each series' label under its picture).
    """

    title: str
    xlabel: str = ""
    ylabel: str = ""
    series: list = field(default_factory=list)
    logy: bool = False
    caption: str = ""
    kind: str = "line"
    ncols: int = 5
    equal_aspect: bool = False

    def to_dict(self) -> dict:
        return _jsonable(dataclasses.asdict(self))


@dataclass
class Table:
    """A small table of figures for the report (e.g. an invariance table)."""

    title: str
    columns: list
    rows: list
    caption: str = ""

    def to_dict(self) -> dict:
        return _jsonable(dataclasses.asdict(self))


@dataclass
class NumericResult:
    """Outcome of one numeric confirmation."""

    evidence: list = field(default_factory=list)
    plots: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    detail: str = ""
    verdict: Optional[Verdict] = None  # derived from evidence when None
    check: str = ""
    seed: Optional[int] = None
    elapsed_s: float = 0.0
    skipped: Optional[str] = None
    training_s: float = 0.0  # time spent in (cached) trainings during this check, not in elapsed_s

    def __post_init__(self):
        if self.verdict is None:
            self.verdict = combine(e.verdict for e in self.evidence)

    def to_dict(self) -> dict:
        d = {
            "check": self.check,
            "verdict": self.verdict.value,
            "seed": self.seed,
            "elapsed_s": self.elapsed_s,
            "training_s": self.training_s,
            "skipped": self.skipped,
            "detail": self.detail,
            "evidence": [e.to_dict() for e in self.evidence],
            "plots": [p.to_dict() for p in self.plots],
            "tables": [t.to_dict() if hasattr(t, "to_dict") else _jsonable(t) for t in self.tables],
        }
        return d

    def explain(self) -> str:
        head = f"numeric confirmation {self.check or '?'}: {self.verdict.value}"
        if self.skipped:
            head += f" (skipped: {self.skipped})"
        lines = [head] + ["  " + e.explain() for e in self.evidence]
        if self.detail:
            lines.append("  " + self.detail)
        return "\n".join(lines)


# --------------------------------------------------------------------------
# Declarations
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """One verified statement.

    ``check`` is the symbolic check.  It is called with ``answer`` when the
    claim declares one, so the same check can be fed a wrong answer (a
    *variant*) and must reject it.  ``expect`` is ``holds`` for the project's
    own claims and ``fails`` for statements taken from an answer set that the
    project refutes (``note`` says why).
    """

    id: str
    questions: tuple
    statement: str
    check: Callable[..., SymbolicResult]
    title: str = ""
    assumptions: tuple = ()
    answer: Any = None
    expect: Verdict = Verdict.HOLDS
    note: str = ""
    timeout_s: float = 60.0
    module: str = ""
    line: int = 0
    #: "theorem" (the default: something derived) or "definition" (the check only restates a
    #: definition or a construction; the report shows "definition", never "verified")
    kind: str = "theorem"
    #: where the key's data come from when it is not derived from the sheet (e.g. "transcribed from the
    #: answer set's figures"); a non-empty provenance makes the status "transcribed", never "verified"
    provenance: str = ""
    #: wrong variants of the answer (or a callable returning them) that every side must reject;
    #: the pytest plugin turns each into a symbolic and a numeric rejection item
    rejects: Any = ()

    @property
    def topic(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def takes_answer(self) -> bool:
        return self.answer is not None

    def variant(self, answer: Any, *, id: Optional[str] = None, expect: Verdict = Verdict.HOLDS) -> "Claim":
        """The same claim with another answer (e.g. a wrong one to reject)."""
        return dataclasses.replace(self, id=id or f"{self.id}[variant]", answer=answer, expect=expect)

    def describe(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "topic": self.topic,
            "questions": list(self.questions),
            "statement": self.statement,
            "assumptions": list(self.assumptions),
            "expect": self.expect.value,
            "note": self.note,
            "answer": None if self.answer is None else _answer_text(self.answer),
            "answer_is_latex": _answer_is_latex(self.answer),
            "source": f"{self.module}:{self.line}",
            "kind": self.kind,
            "provenance": self.provenance,
        }

    def wrong_variants(self) -> list:
        """The declared wrong answers (``rejects``), evaluated if given as a callable."""
        r = self.rejects() if callable(self.rejects) else self.rejects
        return list(r or ())


def _answer_is_latex(answer: Any) -> bool:
    try:
        import sympy
    except ImportError:  # pragma: no cover
        return False
    if isinstance(answer, sympy.Basic):
        return True
    return isinstance(answer, (set, frozenset, list, tuple)) and bool(answer) and all(
        isinstance(a, sympy.Basic) for a in answer)


def _answer_text(answer: Any) -> str:
    try:
        import sympy

        if isinstance(answer, sympy.Basic):
            return sympy.latex(answer)
        if _answer_is_latex(answer):
            items = answer if isinstance(answer, (list, tuple)) else sorted(answer, key=sympy.default_sort_key)
            return ", ".join(sympy.latex(a) for a in items)
    except ImportError:  # pragma: no cover
        pass
    return str(answer)


@dataclass
class NumericContext:
    """What a numeric confirmation receives: its seed, a seeded generator,
    the claim's answer (possibly a variant's), the run profile and the ID of
    the claim it is confirming (one function may confirm several claims)."""

    seed: int
    answer: Any = None
    full: bool = False
    claim_id: str = ""

    def __post_init__(self):
        import numpy as np

        self.rng = np.random.default_rng(self.seed)


@dataclass(frozen=True)
class Confirmation:
    """A numeric confirmation of claim ``claim_id``."""

    claim_id: str
    name: str
    run: Callable[[NumericContext], NumericResult]
    seed: int
    timeout_s: float = 120.0
    slow: bool = False
    module: str = ""
    line: int = 0

    @property
    def qualname(self) -> str:
        return f"{self.claim_id}[{self.name}]"


# --------------------------------------------------------------------------
# Shared work (trainings cached per process): charged to the training, not to the check
# --------------------------------------------------------------------------
_TRAININGS: dict = {}


def training(name: str) -> Callable:
    """Decorate a (cached) training so its run time is charged to ``name``, not to whichever check
    happens to call it first.  Put it *under* ``functools.lru_cache`` so only real runs are timed."""
    import functools
    import time

    def wrap(func):
        @functools.wraps(func)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                key = f"{name}{list(args) if args else ''}"
                _TRAININGS[key] = _TRAININGS.get(key, 0.0) + time.perf_counter() - start
        return timed
    return wrap


def training_seconds() -> float:
    """Seconds spent in trainings so far in this process."""
    return sum(_TRAININGS.values())


def trainings() -> dict:
    """Training name (with its arguments) -> seconds, in this process."""
    return dict(_TRAININGS)
