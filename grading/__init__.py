"""Grading students' answers against the verified key.

    from derivcheck import grading
    grading.check("ift6135-h22/4.1", r"\\begin{bmatrix}1 & \\alpha\\\\ -\\alpha & 1\\end{bmatrix}")
    grading.grade("submission.yaml").to_dict()

Layers (each usable on its own; part 2, derivations, reuses them):

* :mod:`.syntax`     whitelisting tokenizer + LALR(1) grammar (lark, strict) -> syntax tree
* :mod:`.semantics`  names, applications, binders, ambiguous readings -> :class:`.expr.Expr`
* :mod:`.errors`     ParseError, TooCostly, NotationError, EvalError (one place)
* :mod:`.context`    notation contexts: declarations only (objects, domains, sizes)
* :mod:`.instances`  random instances of a context and the values (Val) evaluation works with
* :mod:`.evaluate`   numeric evaluation on an instance (non-commuting matrices, finite supports)
* :mod:`.symbolic`   SymPy bridge: reading claim answers, symbolic confirmation
* :mod:`.engine`     the equivalence engine (three-valued, counterexamples, time limits)
* :mod:`.questions`  Spec, Context and Question built from the catalogue's records (derivcheck/catalogue.py)
* :mod:`.corpus`     the records' accept/reject examples, arranged for tests and benchmarks
* :mod:`.entries`    KeyEntry and its statuses
* :mod:`.claimstatus` a claim's verified status (results store first) and the key cache
* :mod:`.reference`  a LaTeX reference verified before it is a key
* :mod:`.adapters`   key adapters: a topic's SymPy notation read as the grader's expressions
* :mod:`.keys`       the answer key from verified claims, verified references and option claims
* :mod:`.hints`      feedback for known wrong answers
* :mod:`.listing`    ``derivcheck list --questions``: kind, points, whether each key is verified
* :mod:`.results`    verdicts, Result, GradeReport; the audience rule (nothing key-revealing outside ``staff``)
* :mod:`.kinds`      the registry of answer-kind graders (``@grades("kind")``)
* :mod:`.answers`    graders of the keyed kinds (labels, sets, expressions, matrices, points)
* :mod:`.human`      kinds a person grades (text, unavailable)
* :mod:`.api`        check() and grade() (a submission's maximum is its assignment's catalogue total)
* :mod:`.submission` the hardened submission loader (size cap, UTF-8, no YAML aliases, file:line:column errors)
* :mod:`.batch`      many submissions, each isolated: serially, on a process pool or on Dask
* :mod:`.formats`    json / gradescope / csv / html output, for the student or the staff audience
* :mod:`.summary`    the class summary (per-question means, wrong answers grouped by value)
* :mod:`.autograder` the Gradescope autograder zip and the blank submission template
* :mod:`.cli`        the ``grade``, ``check``, ``summary``, ``template`` and ``autograder`` subcommands
"""
_API = ("CORRECT", "INCORRECT", "NEEDS_HUMAN", "PARTIAL", "TIMEOUT", "UNANSWERED", "UNKNOWN_QUESTION", "UNPARSEABLE",
        "VERDICTS",
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
