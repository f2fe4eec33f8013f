"""The question catalogue: the stable question IDs claims and answers refer to.

The project ships its own copy (``derivcheck/questions.yaml``) of the shared
catalogue so an installed derivcheck works anywhere; a test keeps the copy in
sync with ``../shared/questions.yaml`` when that file is present.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CATALOGUE_PATH = Path(__file__).with_name("questions.yaml")


@dataclass(frozen=True)
class Question:
    id: str
    assignment: str
    number: str
    kind: str
    spec: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def ask(self) -> str:
        return self.spec.get("ask", "")


def parse_catalogue(text: str) -> dict:
    data = yaml.safe_load(text) or {}
    questions = {}
    for assignment, items in data.items():
        for number, spec in (items or {}).items():
            qid = f"{assignment}/{number}"
            spec = dict(spec or {})
            questions[qid] = Question(qid, str(assignment), str(number), spec.get("kind", "text"), spec)
    return questions


@functools.lru_cache(maxsize=None)
def questions() -> dict:
    """All catalogue questions by ID."""
    return parse_catalogue(CATALOGUE_PATH.read_text(encoding="utf-8"))


def did_you_mean(name: str, candidates) -> str:
    """' Did you mean a, b?' for the closest candidates, or '' when none is close."""
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f" Did you mean {', '.join(close)}?" if close else ""


def question(qid: str) -> Question:
    qs = questions()
    if qid not in qs:
        raise KeyError(f"unknown question ID {qid!r}: IDs are '<assignment>/<number>' as in questions.yaml."
                       + did_you_mean(qid, qs))
    return qs[qid]
