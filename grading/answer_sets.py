"""The answer sets that ship with the sheets, graded like any submission (for tests and the report).

    from derivcheck.grading.answer_sets import gradings
    for g in gradings():          # one entry per answer set
        g["name"], g["source"], g["assignment"], g["results"]   # results: Result.to_dict("staff") each

The answer sets are transcribed, mistakes included, into one submission file
each under ``tests/fixtures/answer_sets/`` (``student``, ``source``,
``assignment``, ``answers``).  They are graded against the key built from
verified claims; they are never evidence for that key.  ``DERIVCHECK_ANSWER_SETS``
names another folder of such files.
"""
from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Optional

import yaml

from .api import grade


def answer_set_dir() -> Optional[Path]:
    """The folder of transcribed answer sets (None when this installation has none)."""
    env = os.environ.get("DERIVCHECK_ANSWER_SETS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "answer_sets"
    return here if here.is_dir() else None


def answer_set_files(folder: Optional[Path] = None) -> list:
    folder = folder if folder is not None else answer_set_dir()
    if folder is None or not folder.is_dir():
        return []
    return sorted(folder.glob("*.yaml"))


@functools.lru_cache(maxsize=4)
def _graded(folder: Optional[str]) -> tuple:
    out = []
    for path in answer_set_files(Path(folder) if folder else None):
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
        report = grade(path)
        out.append({"name": str(meta.get("student", path.stem)), "source": str(meta.get("source", "")),
                    "assignment": str(meta.get("assignment", "")),
                    "results": [r.to_dict("staff") for r in report.results]})
    return tuple(out)


def gradings(folder: Optional[Path] = None) -> list:
    """Every answer set graded: ``[{"name", "source", "assignment", "results": [Result.to_dict("staff")]}]``,
    in file order (graded once per process)."""
    return copy.deepcopy(list(_graded(str(folder) if folder else None)))
