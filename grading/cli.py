"""The grading subcommands (wired into ``derivcheck`` by :func:`add_commands`).

    derivcheck grade PATH... [--format json|gradescope|csv|html] [-o FILE] [--audience student|staff]
                     [--jobs N | --dask ADDRESS] [--resume] [--assignment SLUG] [--time-limit S]
    derivcheck check QID --answer TEXT [--json]
    derivcheck summary RESULTS.json [-o FILE] [--format html|json]
    derivcheck template ASSIGNMENT [-o FILE]
    derivcheck autograder ASSIGNMENT -o autograder.zip

``grade`` takes files, folders (every .yaml/.yml/.json inside) and globs.
Each submission is graded on its own: a file that cannot be read gets a
result with the error (file, line, column, advice) and the others are graded.
``--format json`` writes one list of per-submission objects; ``gradescope``
takes one submission (and defaults to the student audience); ``csv`` is one
row per student.  With ``-o`` the output is written atomically and a journal
(``FILE.partial.jsonl``) records each finished submission, so ``--resume``
after an interruption grades only what is left.

Exit codes of ``grade``: 0 every submission was read and graded, 1 some
submission could not be read (its result says why; the output is still
written), 2 a usage error (nothing to grade, a key claim that does not
verify, a bad option), 130 interrupted (rerun with ``--resume``).
``check``: 0 correct, 1 any other verdict, 2 a usage error.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path



def add_commands(subparsers) -> None:
    """Add the grading subcommands to a ``derivcheck`` argparse subparsers object."""
    g = subparsers.add_parser("grade", help="grade student submissions (YAML or JSON) against the verified key")
    g.add_argument("submissions", nargs="+", metavar="PATH",
                   help="submission files, folders (every .yaml/.yml/.json inside) or globs")
    g.add_argument("--format", choices=["json", "gradescope", "csv", "html"], default="json",
                   help="json (default): a list of per-submission objects; gradescope: results.json of one "
                        "submission; csv: one row per student; html: a report")
    g.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of standard output")
    g.add_argument("--audience", choices=["student", "staff"], default=None,
                   help="student: never shows a key, rubric or key value (default for gradescope); "
                        "staff: everything (default otherwise)")
    g.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="grade on N processes (default: every core); 1 grades in this process")
    g.add_argument("--dask", metavar="ADDRESS", help="grade on a Dask distributed cluster (scheduler address)")
    g.add_argument("--resume", action="store_true",
                   help="with -o: keep the submissions an interrupted run already graded (same file contents)")
    g.add_argument("--assignment", metavar="SLUG",
                   help="the assignment whose questions count (default: read from each submission)")
    g.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="time limit per answer (default 5 s)")
    g.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    g.add_argument("--questions", action="append", metavar="FILE|DIR",
                   help="more question records: a YAML file or a folder of them (repeatable)")
    g.set_defaults(func=cmd_grade)

    c = subparsers.add_parser("check", help="check one answer to one question")
    c.add_argument("question", metavar="QID", help="question ID, e.g. ift6135-h22/4.1")
    c.add_argument("--answer", required=True, metavar="TEXT", help="LaTeX, or YAML for lists and mappings")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.add_argument("--audience", choices=["student", "staff"], default="staff")
    c.add_argument("--time-limit", type=float, default=None, metavar="SECONDS")
    c.add_argument("--questions", action="append", metavar="FILE|DIR",
                   help="more question records: a YAML file or a folder of them (repeatable)")
    c.set_defaults(func=cmd_check)

    s = subparsers.add_parser("summary", help="class summary of graded results: per-question means, common mistakes")
    s.add_argument("results", metavar="RESULTS", help="the JSON written by 'derivcheck grade --format json'")
    s.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    s.add_argument("--format", choices=["html", "json"], default=None,
                   help="html or json (default: from the -o suffix, else json)")
    s.set_defaults(func=cmd_summary)

    t = subparsers.add_parser("template", help="a blank submission for an assignment (every question, quoted)")
    t.add_argument("assignment", metavar="ASSIGNMENT", help="assignment slug, e.g. ift6135-h22")
    t.add_argument("-o", "--output", metavar="FILE")
    t.add_argument("--student", default="", help="fill in the student field")
    t.set_defaults(func=cmd_template)

    a = subparsers.add_parser("autograder", help="write a Gradescope autograder zip for an assignment")
    a.add_argument("assignment", metavar="ASSIGNMENT")
    a.add_argument("-o", "--output", default="autograder.zip", metavar="ZIP")
    a.set_defaults(func=cmd_autograder)


def atomic_write(path, text: str) -> None:
    from .batch import atomic_write as write

    write(path, text)


def _err(msg: str) -> int:
    sys.stderr.write(f"derivcheck: {msg}\n")
    return 2


# --------------------------------------------------------------------------
# grade
# --------------------------------------------------------------------------
def journal_path(output) -> Path:
    return Path(str(output) + ".partial.jsonl")


def read_journal(path: Path) -> dict:
    """source -> (sha256, report dict) of the submissions a previous run finished (a torn last line is dropped)."""
    done: dict = {}
    if not path.exists():
        return done
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
            done[rec["source"]] = (rec["sha256"], rec["report"])
        except (ValueError, KeyError, TypeError):
            continue
    return done


def _same_total_for_unreadable(reports: list) -> None:
    """A file that could not be read gets the maximum of the class's assignment when every readable
    submission of the batch is of that one assignment (so a gradebook column has one maximum)."""
    kinds = {r.assignments for r in reports if r.error is None and r.assignments}
    if len(kinds) != 1:
        return
    from .api import assignment_points
    from .results import complete

    (assignments,) = kinds
    for r in reports:
        if r.error is not None and not r.results:
            r.assignments = assignments
            complete(r, assignment_points(assignments))


def render(reports: list, fmt: str, audience: str) -> str:
    from . import formats

    if fmt == "json":
        return formats.to_json(reports, audience)
    if fmt == "gradescope":
        return json.dumps(formats.to_gradescope(reports[0], audience), indent=1)
    if fmt == "csv":
        return formats.to_csv(reports)
    return formats.to_html(reports, audience)


def cmd_grade(args) -> int:
    from .batch import NoSubmissions, collect, default_jobs, fingerprint, grade_many
    from .keys import AnswerKeyError
    from .results import GradeReport
    from .submission import SubmissionError, read_bytes

    try:
        paths = collect(args.submissions)
    except NoSubmissions as exc:
        return _err(str(exc))
    if args.format == "gradescope" and len(paths) != 1:
        return _err(f"--format gradescope writes one results.json: give exactly one submission ({len(paths)} found)")
    if args.resume and not args.output:
        return _err("--resume needs -o FILE (the journal of finished submissions lives next to it)")
    if args.dask and args.jobs:
        return _err("give --jobs or --dask, not both")
    audience = args.audience or ("student" if args.format == "gradescope" else "staff")
    reports: dict = {}
    journal = journal_path(args.output) if args.output else None
    todo = list(range(len(paths)))
    if journal is not None:
        done = read_journal(journal) if args.resume else {}
        todo = []
        for i, p in enumerate(paths):
            rec = done.get(p)
            if rec is not None:
                try:
                    same = fingerprint(read_bytes(p)) == rec[0]
                except SubmissionError:
                    same = False
                if same:
                    reports[i] = GradeReport.from_dict(rec[1])
                    continue
            todo.append(i)
        if args.resume and reports and not args.quiet:
            sys.stderr.write(f"resuming: {len(reports)} of {len(paths)} submissions already graded\n")
        mode = "a" if args.resume else "w"
        journal.parent.mkdir(parents=True, exist_ok=True)
        jfh = journal.open(mode, encoding="utf-8")
    else:
        jfh = None
    jobs = args.jobs or default_jobs()
    try:
        for k, rep in grade_many([paths[i] for i in todo], jobs=jobs, dask=args.dask, time_limit_s=args.time_limit,
                                 assignment=args.assignment):
            i = todo[k]
            reports[i] = rep
            if jfh is not None:
                try:
                    sha = fingerprint(read_bytes(paths[i]))
                except SubmissionError:
                    sha = ""
                jfh.write(json.dumps({"source": paths[i], "sha256": sha, "report": rep.to_dict("staff")}) + "\n")
                jfh.flush()
            if not args.quiet and (args.output or len(paths) > 1):
                state = "could not be read" if rep.error else f"{rep.score:g} / {rep.max_score:g}"
                sys.stderr.write(f"[{len(reports)}/{len(paths)}] {rep.student} ({paths[i]}): {state}\n")
    except AnswerKeyError as exc:
        return _err(f"answer key error: {exc}")
    except KeyboardInterrupt:
        sys.stderr.write(f"derivcheck: interrupted after {len(reports)} of {len(paths)} submissions"
                         + ("; rerun with --resume to grade the rest\n" if jfh else "\n"))
        return 130
    except RuntimeError as exc:  # --dask without Dask installed, a cluster that cannot be reached
        return _err(str(exc))
    except OSError as exc:
        return _err(f"--dask {args.dask}: {exc}" if args.dask else str(exc))
    finally:
        if jfh is not None:
            jfh.close()
    ordered = [reports[i] for i in range(len(paths))]
    if not args.assignment:
        _same_total_for_unreadable(ordered)
    text = render(ordered, args.format, audience)
    if args.output:
        try:
            atomic_write(args.output, text + ("" if text.endswith("\n") else "\n"))
        except OSError as exc:
            return _err(f"cannot write {args.output}: {exc}")
        journal.unlink(missing_ok=True)
        if not args.quiet:
            unreadable = sum(1 for r in ordered if r.error)
            sys.stderr.write(f"wrote {args.output} ({len(ordered)} submissions"
                             + (f", {unreadable} could not be read" if unreadable else "") + ")\n")
    else:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    return 1 if any(r.error for r in ordered) else 0


# --------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------
def cmd_check(args) -> int:
    from .api import CORRECT, DEFAULT_TIME_LIMIT_S, check
    from .keys import AnswerKeyError

    try:
        result = check(args.question, args.answer, time_limit_s=args.time_limit or DEFAULT_TIME_LIMIT_S)
    except AnswerKeyError as exc:
        return _err(f"answer key error: {exc}")
    if args.json:
        print(json.dumps(result.to_dict(args.audience), indent=1))
    else:
        print(f"{result.verdict} ({result.score:g} / {result.max_score:g}): {result.message}")
        if result.method:
            print(f"  method: {result.method}")
    return 0 if result.verdict == CORRECT else 1


# --------------------------------------------------------------------------
# summary, template, autograder
# --------------------------------------------------------------------------
def cmd_summary(args) -> int:
    from . import summary

    try:
        doc = json.loads(Path(args.results).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return _err(f"cannot read {args.results}: {exc} (give the JSON of 'derivcheck grade --format json')")
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list) or not all(isinstance(d, dict) and "results" in d for d in doc):
        return _err(f"{args.results} is not the JSON of 'derivcheck grade --format json'")
    fmt = args.format or ("html" if args.output and args.output.lower().endswith((".html", ".htm")) else "json")
    summ = summary.summarize(doc)
    text = summary.to_html(summ) if fmt == "html" else json.dumps(summ, indent=1)
    if args.output:
        atomic_write(args.output, text + "\n")
        sys.stderr.write(f"wrote {args.output}\n")
    else:
        print(text)
    return 0


def cmd_template(args) -> int:
    from .autograder import template

    try:
        text = template(args.assignment, student=args.student)
    except KeyError as exc:
        return _err(str(exc).strip("'\""))
    if args.output:
        atomic_write(args.output, text)
        sys.stderr.write(f"wrote {args.output}\n")
    else:
        sys.stdout.write(text)
    return 0


def cmd_autograder(args) -> int:
    from .autograder import build_zip

    try:
        path = build_zip(args.assignment, args.output)
    except KeyError as exc:
        return _err(str(exc).strip("'\""))
    sys.stderr.write(f"wrote {path} (upload it as the Gradescope autograder of {args.assignment})\n")
    return 0
