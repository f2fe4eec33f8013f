"""``derivcheck serve``: a live check page and a JSON API over the grader.

    pip install -e '.[serve]'
    derivcheck serve [--host 127.0.0.1] [--port 8000] [--audience student|staff] [--questions FILE|DIR]
                     [--only PATTERN]

The web stack (Starlette on uvicorn) is the optional extra ``serve``; this
module imports it only when the command runs.  The application is
:func:`derivcheck.web.app.create_app`; the worker pool :mod:`.pool`; what
the workers run :mod:`.jobs`.
"""
from __future__ import annotations

import sys

INSTALL_HINT = "derivcheck serve needs the web extra: pip install -e '.[serve]' (Starlette and uvicorn)"


def add_command(subparsers) -> None:
    """Add ``serve`` to a ``derivcheck`` argparse subparsers object."""
    s = subparsers.add_parser("serve", help="a live check page and JSON API (needs the 'serve' extra)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1, this machine only)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    s.add_argument("--audience", choices=["student", "staff"], default="student",
                   help="student (default): verdicts and messages only; staff: also keys, rubrics, the "
                        "verification report and the per-question view")
    s.add_argument("--questions", action="append", metavar="FILE|DIR",
                   help="more question records: a YAML file or a folder of them (repeatable); offered too")
    s.add_argument("--only", metavar="PATTERN",
                   help="offer only these questions: an assignment or question ID prefix, or a glob "
                        "(e.g. 'ift6135-h22', 'ift6135-h22/4.*')")
    s.add_argument("--results", metavar="FILE", help="verification results for the staff report "
                                                     "(default: the last 'derivcheck verify' results)")
    s.add_argument("--workers", type=int, default=2, help="worker processes that run checks (default 2)")
    s.add_argument("--time-limit", type=float, default=5.0, metavar="SECONDS",
                   help="time limit per answer (default 5 s)")
    s.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from .app import Config, create_app
    except ImportError:
        sys.stderr.write(f"derivcheck: {INSTALL_HINT}\n")
        return 2
    from derivcheck.grading.keys import AnswerKeyError

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.stderr.write(f"derivcheck: warning: serving on {args.host}, reachable from other machines\n")
    config = Config(audience=args.audience, only=args.only, results_file=args.results,
                    workers=args.workers, time_limit_s=args.time_limit)
    sys.stderr.write("derivcheck: loading the key ...\n")
    try:
        app = create_app(config)
    except AnswerKeyError as exc:
        sys.stderr.write(f"derivcheck: answer key error: {exc}\n")
        return 2
    except ValueError as exc:
        sys.stderr.write(f"derivcheck: {exc}\n")
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False,
                timeout_graceful_shutdown=5, timeout_keep_alive=30)  # idle keep-alive: no close race under load
    return 0
