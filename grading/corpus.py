r"""The self-test corpus, read from the question records: for each expression, matrix, point and set
question with examples, its reference (the record's ``answer``, else its first ``accept`` example),
the equivalent rewrites that must be accepted and the wrong variants (the errors students make: a sign,
a factor, the order of non-commuting factors, swapped distributions, a missing term, the wrong Kronecker
order) that must be rejected.

The examples live in the records (``accept:`` / ``reject:`` in ``derivcheck/questions.yaml`` or a file
added with ``--questions``); this module only arranges them for the tests
(``tests/test_grading_questions.py``) and the benchmark (``benchmarks/grading_bench.py``), where the
same items are also given to HuggingFace's math-verify for comparison.
"""
from __future__ import annotations

from .questions import questions

_KINDS = ("expression", "matrix", "point", "set")


def corpus(assignment: str | None = None) -> tuple[dict, dict]:
    """(TABLE, SETS): qid -> (reference, accepted, rejected) for expression/matrix/point and for
    expression-set questions that have examples (``assignment`` restricts to one assignment)."""
    table, sets = {}, {}
    for qid, q in questions().items():
        if q.errors or q.kind not in _KINDS or q.spec.labels or not q.spec.accept:
            continue
        if assignment is not None and not qid.startswith(assignment + "/"):
            continue
        ref = q.spec.reference if q.spec.reference is not None else q.spec.accept[0]
        row = (ref, list(q.spec.accept), list(q.spec.reject))
        (sets if q.kind == "set" else table)[qid] = row
    return table, sets


def __getattr__(name: str):
    # TABLE and SETS are computed from the records on use (the catalogue may gain files)
    if name in ("TABLE", "SETS"):
        table, sets = corpus()
        return table if name == "TABLE" else sets
    raise AttributeError(name)
