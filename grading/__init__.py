"""Grading students' answers against the verified key.

    from derivcheck import grading
    grading.check("ift6135-h22/4.1", r"\\begin{bmatrix}1 & \\alpha\\\\ -\\alpha & 1\\end{bmatrix}")
    grading.grade("submission.yaml").to_dict()

Layers (each usable on its own; part 2, derivations, reuses them):

* :mod:`.syntax`     whitelisting tokenizer + LALR(1) grammar (lark, strict) -> syntax tree
* :mod:`.semantics`  names, applications, binders, ambiguous readings -> :class:`.expr.Expr`
* :mod:`.context`    notation contexts: objects, domains, random instances
* :mod:`.evaluate`   numeric evaluation on an instance (non-commuting matrices, finite supports)
* :mod:`.symbolic`   SymPy bridge: reading claim answers, symbolic confirmation
* :mod:`.engine`     the equivalence engine (three-valued, counterexamples, time limits)
* :mod:`.questions`  kinds, points, contexts, rubrics per question
* :mod:`.keys`       the answer key from verified claims
* :mod:`.results`    verdicts, Result, GradeReport; the audience rule (nothing key-revealing outside ``staff``)
* :mod:`.kinds`      the registry of answer-kind graders (``@grades("kind")``)
* :mod:`.answers`    graders of the keyed kinds (labels, sets, expressions, matrices, points)
* :mod:`.human`      kinds a person grades (text, unavailable)
* :mod:`.api`        check() and grade()
* :mod:`.formats`    json / gradescope / html output
* :mod:`.cli`        the ``grade`` and ``check`` subcommands
"""
_API = ("CORRECT", "INCORRECT", "NEEDS_HUMAN", "PARTIAL", "TIMEOUT", "UNKNOWN_QUESTION", "UNPARSEABLE", "VERDICTS",
        "GradeReport", "Result", "SubmissionError", "check", "grade", "load_submission")
_KEYS = ("AnswerKeyError", "load_key")
__all__ = list(_API + _KEYS)


def __getattr__(name):
    """Lazy exports: ``import derivcheck.grading.cli`` (argparse wiring) does not pay for SymPy and NumPy."""
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _KEYS:
        from . import keys

        return getattr(keys, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
