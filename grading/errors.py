"""The grader's error types, in one place (no grading module needs another just for its errors).

* :class:`ParseError`: the input cannot be read (with its 0-based position);
* :class:`TooCostly`: the input exceeds a resource guard (graded as a timeout);
* :class:`NotationError`: the input parses but uses notation outside the question's context;
* :class:`EvalError`: an expression has no value on a random instance (shape mismatch, ...).

They stay importable from where they were first defined (``syntax``, ``semantics``, ``evaluate``).
"""
from __future__ import annotations

from typing import Optional


class ParseError(ValueError):
    """The input cannot be read; ``position`` is a 0-based character offset."""

    def __init__(self, message: str, position: Optional[int] = None, expected: Optional[list] = None,
                 text: str = ""):
        super().__init__(message)
        self.message = message
        self.position = position
        self.expected = list(expected or [])
        self.text = text

    def pointer(self) -> str:
        """The input with a caret under the error position (for messages)."""
        if self.position is None or not self.text:
            return ""
        line = self.text.replace("\n", " ")
        pos = min(self.position, len(line))
        lo = max(0, pos - 40)
        return f"{line[lo:pos + 40]}\n{' ' * (pos - lo)}^"

    def describe(self) -> str:
        where = f" at position {self.position}" if self.position is not None else ""
        exp = f"; expected {', '.join(self.expected)}" if self.expected else ""
        return f"{self.message}{where}{exp}"


class TooCostly(ParseError):
    """The input exceeds a resource guard (size, nesting, exponent, sum length): graded as a timeout."""


class NotationError(ParseError):
    """The input parses but uses notation outside the question's context."""


class EvalError(ValueError):
    """The expression has no value on this instance (the message says why)."""
