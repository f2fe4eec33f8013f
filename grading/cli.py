"""The ``grade`` and ``check`` subcommands (wired into ``derivcheck`` by :func:`add_commands`).

    derivcheck grade SUBMISSION.yaml [SUBMISSION ...] [--format json|gradescope|html] [-o FILE]
    derivcheck check QID --answer TEXT [--json]

``grade`` prints (or writes with ``-o``) the report; ``--format gradescope``
takes one submission; ``html`` and ``json`` take one or many.  Exit codes:
0 the report was produced, 2 a usage error (unreadable submission, unknown
format, a key claim that does not verify).

``check`` grades one answer (TEXT is LaTeX, or YAML for lists and mappings)
and prints the verdict and message (``--json``: the result object).  Exit
codes: 0 correct, 1 any other verdict, 2 a usage error.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def add_commands(subparsers) -> None:
    """Add ``grade`` and ``check`` to a ``derivcheck`` argparse subparsers object."""
    g = subparsers.add_parser("grade", help="grade student submissions (YAML or JSON) against the verified key")
    g.add_argument("submissions", nargs="+", metavar="SUBMISSION", help="submission file(s), YAML or JSON")
    g.add_argument("--format", choices=["json", "gradescope", "html"], default="json",
                   help="json (default): one object per submission; gradescope: results.json; html: a report")
    g.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    g.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="time limit per answer (default 5 s)")
    g.add_argument("--questions", action="append", metavar="FILE|DIR",
                   help="more question records: a YAML file or a folder of them (repeatable)")
    g.set_defaults(func=cmd_grade)

    c = subparsers.add_parser("check", help="check one answer to one question")
    c.add_argument("question", metavar="QID", help="question ID, e.g. ift6135-h22/4.1")
    c.add_argument("--answer", required=True, metavar="TEXT", help="LaTeX, or YAML for lists and mappings")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.add_argument("--time-limit", type=float, default=None, metavar="SECONDS")
    c.add_argument("--questions", action="append", metavar="FILE|DIR",
                   help="more question records: a YAML file or a folder of them (repeatable)")
    c.set_defaults(func=cmd_check)


def _err(msg: str) -> int:
    sys.stderr.write(f"derivcheck: {msg}\n")
    return 2


def cmd_grade(args) -> int:
    from . import formats
    from .api import DEFAULT_TIME_LIMIT_S, SubmissionError, grade
    from .keys import AnswerKeyError

    limit = args.time_limit or DEFAULT_TIME_LIMIT_S
    if args.format == "gradescope" and len(args.submissions) != 1:
        return _err("--format gradescope writes one results.json: give exactly one submission")
    reports = []
    try:
        for path in args.submissions:
            reports.append(grade(path, time_limit_s=limit))
    except SubmissionError as exc:
        return _err(str(exc))
    except AnswerKeyError as exc:
        return _err(f"answer key error: {exc}")
    if args.format == "json":
        text = formats.to_json(reports[0] if len(reports) == 1 else reports)
    elif args.format == "gradescope":
        text = json.dumps(formats.to_gradescope(reports[0]), indent=1)
    else:
        text = formats.to_html(reports)
    if args.output:
        out = Path(args.output)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            return _err(f"cannot write {out}: {exc}")
        for rep in reports:
            sys.stderr.write(f"{rep.student}: {rep.score:g} / {rep.max_score:g} "
                             f"({len(rep.results)} answers, {rep.elapsed_s:.2f} s)\n")
        sys.stderr.write(f"wrote {out}\n")
    else:
        print(text)
    return 0


def cmd_check(args) -> int:
    from .api import CORRECT, DEFAULT_TIME_LIMIT_S, check
    from .keys import AnswerKeyError

    try:
        result = check(args.question, args.answer, time_limit_s=args.time_limit or DEFAULT_TIME_LIMIT_S)
    except AnswerKeyError as exc:
        return _err(f"answer key error: {exc}")
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(f"{result.verdict} ({result.score:g} / {result.max_score:g}): {result.message}")
        if result.method:
            print(f"  method: {result.method}")
    return 0 if result.verdict == CORRECT else 1
