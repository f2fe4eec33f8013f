"""What a key entry is (shared by the key builder, the reference checker and the graders).

A :class:`KeyEntry` holds the key of one question: the expression, the items of
a set, or the labels of a choice/choices/mapping question, with the claims or the
verified reference it comes from.  ``status`` says whether it can be used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .expr import Expr

OK = "ok"
MISSING = "missing"
AMBIGUOUS = "ambiguous"
UNREADABLE = "unreadable"
UNVERIFIED = "unverified"  # a LaTeX reference (or an option's claim) that did not pass its verification
NO_KEY = "no-key"  # text, derivation, code, unavailable: not keyed by value


@dataclass
class KeyEntry:
    question: str
    status: str
    claims: tuple = ()
    raw: Any = None
    expr: Optional[Expr] = None  # expression / matrix / point
    items: Optional[list] = None  # set: expressions or labels
    labels: Any = None  # choice: str; choices: set; mapping: dict
    message: str = ""
    verification: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def describe(self) -> dict:
        return {"question": self.question, "status": self.status, "claims": list(self.claims),
                "message": self.message, "verification": self.verification,
                "key": (str(self.expr) if self.expr is not None else
                        [str(i) for i in self.items] if self.items is not None else self.labels)}
