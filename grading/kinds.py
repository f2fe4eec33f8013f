"""One registry of answer-kind graders (the ``kind`` of a catalogue question -> the function that grades it).

    from derivcheck.grading.kinds import grades

    @grades("derivation")
    def grade_derivation(q, entry, answer, deadline) -> Result: ...

A grader receives the :class:`~derivcheck.grading.questions.Question`, the key
entry (``None`` for kinds declared ``keyed=False``), the student's answer as
loaded from YAML/JSON (text, number, list or mapping) and the wall-clock
deadline (``time.perf_counter()`` seconds).  It returns a
:class:`~derivcheck.grading.results.Result` and keeps to the audience rule of
:mod:`.results` (nothing that reveals the key outside ``Result.staff``).

The modules that register graders are listed in :data:`GRADER_MODULES` and
imported on first use, so importing the registry costs nothing.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from derivcheck.catalogue import did_you_mean

#: modules that register graders with :func:`grades` (imported on first lookup)
GRADER_MODULES = (
    "derivcheck.grading.answers",   # choice, choices, mapping, set, expression, matrix, point
    "derivcheck.grading.human",     # text, unavailable, and any kind not machine-graded yet
    "derivcheck.grading.steps",     # derivation: step by step
    "derivcheck.grading.sandbox",   # code: run in a sandboxed process, compared with a reference
)


@dataclass(frozen=True)
class KindGrader:
    kind: str
    fn: Callable
    keyed: bool          # needs a key entry built from verified claims
    yaml_text: bool      # a YAML list/mapping given as text (the CLI's --answer) is read as such
    empty_ok: bool       # an empty answer is passed to the grader instead of "no answer given"
    prepare: Callable = None  # called with the question outside the answer's time limit (start a worker)


_GRADERS: dict = {}
_loaded = False


def grades(kind: str, *, keyed: bool = True, yaml_text: bool = False, empty_ok: bool = False,
           prepare: Callable = None):
    """Register the decorated function as the grader of answers of ``kind`` (a later registration replaces)."""

    def deco(fn):
        _GRADERS[kind] = KindGrader(kind, fn, keyed, yaml_text, empty_ok, prepare)
        return fn

    return deco


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in GRADER_MODULES:
            importlib.import_module(mod)


def grader_for(kind: str) -> KindGrader:
    """The grader of ``kind``; a KeyError that names the known kinds if there is none."""
    _load()
    try:
        return _GRADERS[kind]
    except KeyError:
        raise KeyError(f"no grader for answer kind {kind!r}{did_you_mean(kind, _GRADERS)}; "
                       f"known kinds: {', '.join(sorted(_GRADERS))}") from None


def known_kinds() -> list:
    _load()
    return sorted(_GRADERS)
