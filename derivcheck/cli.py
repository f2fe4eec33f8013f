"""The ``derivcheck`` command line: a thin layer over registry, runner and reports.

    derivcheck list   [--only PATTERN] [--results FILE] [--json]
    derivcheck verify [--only PATTERN] [--full] [--json] [--save FILE] [--no-save] [--quiet]
    derivcheck report [-o FILE] [--only PATTERN] [--results FILE] [--run [--full]]
    derivcheck grade SUBMISSION.yaml [--format json|gradescope|html] [-o FILE]
    derivcheck check QID --answer TEXT [--json]
    derivcheck serve [--host 127.0.0.1] [--port 8000] [--audience student|staff] [--only PATTERN]

Exit codes: 0 every selected claim verified (or symbolic-only), 1 some claim
failed or was inconclusive, 2 usage error (bad pattern, unreadable file).

Results live in one store (:mod:`derivcheck.store`): ``verify`` writes it (``--only`` merges
into it), ``list`` and ``report`` read it.  Its place: ``--save``/``--results FILE``, else
``$DERIVCHECK_RESULTS``, else ``~/.cache/derivcheck/results.json`` (``$XDG_CACHE_HOME``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

from . import store


def _registry():
    from .registry import REGISTRY, load_all

    return load_all(REGISTRY)


def _select(pattern: Optional[str]):
    claims = _registry().select(pattern)
    if not claims:
        raise UsageError(f"no claim or question matches {pattern!r}; run 'derivcheck list' to see the IDs")
    return claims


class UsageError(Exception):
    pass


class Progress:
    """A one-line-per-check progress display on stderr (a bar when it is a terminal)."""

    def __init__(self, total: int, quiet: bool = False, stream=None):
        self.total = total
        self.done = 0
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()

    def __call__(self, kind: str, name: str, result) -> None:
        self.done += 1
        if self.quiet:
            return
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        verdict = result.verdict.value if not getattr(result, "skipped", None) else "skipped"
        line = f"[{bar}] {self.done:>3}/{self.total} {kind:<8} {name} ... {verdict} ({result.elapsed_s:.2f} s)"
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if not self.quiet:
            self.stream.write(f"{self.done} checks in {time.perf_counter() - self.start:.1f} s\n")


def _run(args) -> dict:
    from .registry import REGISTRY
    from .runner import count_checks, document, verify

    start = time.perf_counter()
    claims = _select(args.only)
    progress = Progress(count_checks(claims, REGISTRY), quiet=getattr(args, "quiet", False))
    outcomes = verify(claims, registry=REGISTRY, full=args.full, progress=progress,
                      seed=getattr(args, "seed", None), jobs=getattr(args, "jobs", 1) or (os.cpu_count() or 1))
    progress.close()
    doc = document(outcomes, full=args.full)
    doc.update(wall_s=round(time.perf_counter() - start, 2), environment=store.run_environment(),
               seed=getattr(args, "seed", None))  # the run's base seed (verify --seed), None: fixed seeds
    if not getattr(args, "no_save", False):
        _save(doc, getattr(args, "save", None), merge=bool(args.only), quiet=getattr(args, "quiet", False))
    return doc


def _save(doc: dict, path: Optional[str], *, merge: bool, quiet: bool = False) -> None:
    """Write ``doc`` to the results store: a run of every claim replaces it, ``--only`` merges."""
    try:
        where = store.merge_save(doc, path) if merge else store.save(doc, path)
    except OSError as exc:  # a read-only directory must not fail the run
        sys.stderr.write(f"derivcheck: could not save results to {store.results_path(path)}: {exc}\n")
        return
    if not quiet:
        sys.stderr.write(f"results {'merged into' if merge else 'saved to'} {where}\n")


def _load(path: Optional[str], *, required: bool = False) -> dict:
    """The stored results (``path`` or the default store); a usage error if unreadable, or if
    ``required`` and there are none."""
    p = store.results_path(path)
    if path and not p.exists():
        raise UsageError(f"cannot read results file {p}: it does not exist")
    try:
        doc = store.load(p)
    except store.ResultsError as exc:
        raise UsageError(str(exc)) from None
    if required and not doc["claims"]:
        raise UsageError(f"no results in {p}; run 'derivcheck verify' first "
                         "(or 'derivcheck report --run'), or pass --results FILE")
    return doc


def _exit_code(doc: dict) -> int:
    return 0 if doc["summary"]["ok"] else 1


def cmd_list(args) -> int:
    reg = _registry()
    claims = _select(args.only)
    last = {}
    stored = _load(args.results)
    results_path = None if stored.get("empty") else store.results_path(args.results)
    last = {c["id"]: c["status"] for c in stored["claims"]}
    rows = []
    for c in claims:
        confs = reg.confirmations(c.id)
        rows.append({
            "id": c.id,
            "questions": list(c.questions),
            "expect": c.expect.value,
            "numeric": [conf.name + (" (slow)" if conf.slow else "") for conf in confs],
            "status": last.get(c.id, "not run"),
            "title": c.title,
        })
    qrows = None
    if getattr(args, "question_files", None):
        from .grading.listing import question_rows

        qrows = question_rows([str(f.resolve()) for f in args.question_files])
    if args.json:
        print(json.dumps({"claims": rows} if qrows is None else {"claims": rows, "questions": qrows}, indent=1))
        return 0
    if qrows is not None:
        from .grading.listing import print_rows

        print_rows(qrows, sys.stdout)
        print()
    id_w = max(len(r["id"]) for r in rows)
    q_w = max(len(", ".join(r["questions"])) for r in rows)
    print(f"{'claim':<{id_w}}  {'questions':<{q_w}}  {'numeric':>7}  {'status':<13}  title")
    for r in rows:
        n = str(len(r["numeric"])) if r["numeric"] else "none"
        title = r["title"] + ("  [refutes an answer set]" if r["expect"] == "fails" else "")
        print(f"{r['id']:<{id_w}}  {', '.join(r['questions']):<{q_w}}  {n:>7}  {r['status']:<13}  {title}")
    missing = sum(1 for r in rows if not r["numeric"])
    print(f"\n{len(rows)} claims; {missing} without a numeric confirmation"
          + (f"; status from {results_path}" if results_path else "; run 'derivcheck verify' for status"))
    return 0


def _print_summary(doc: dict) -> None:
    for c in doc["claims"]:
        sym = c["symbolic"]["verdict"]
        nums = ", ".join(r["verdict"] if not r["skipped"] else "skipped" for r in c["numeric"]) or "none"
        flag = "ok " if c["status"] in ("verified", "symbolic-only", "definition", "transcribed") else "!! "
        print(f"{flag}{c['status']:<13} {c['id']}  (expect {c['expect']}; symbolic {sym}; numeric {nums})")
        if flag == "!! ":
            if c["symbolic"]["verdict"] != c["expect"]:
                print(f"     symbolic: {c['symbolic']['method']}; residual {c['symbolic']['residual']}"
                      + (f"; {c['symbolic']['detail']}" if c["symbolic"]["detail"] else ""))
            for r in c["numeric"]:
                if r["verdict"] != c["expect"] and not r["skipped"]:
                    print(f"     numeric {r['check']}: {r['detail']}")
                    for e in r["evidence"]:
                        if e["verdict"] != c["expect"]:
                            print(f"       {e['verdict']}: {e['quantity']}: {e['estimate']} {e['relation']} "
                                  f"{e['reference']} (tolerance {e['tolerance']:.3g}, {e['rule']})")
    s = doc["summary"]
    print(f"\n{s['claims']} claims: {s['verified']} verified, {s['symbolic-only']} symbolic only, "
          f"{s['failed']} failed, {s['inconclusive']} inconclusive; "
          f"{s['numeric_missing']} without a numeric confirmation ({doc['profile']} profile)")


def cmd_verify(args) -> int:
    doc = _run(args)
    if args.json:
        print(json.dumps(doc, indent=1))
    else:
        _print_summary(doc)
    return _exit_code(doc)


def cmd_report(args) -> int:
    from .reports.html import render_html

    if args.run:
        if args.results:
            raise UsageError("--run writes the results store; --results FILE is read without running: "
                             "give one of them (use --save FILE to run and keep the results elsewhere)")
        _run(args)
        doc = _load(getattr(args, "save", None), required=True)
    else:
        doc = _load(args.results, required=True)
    if args.only:
        wanted = {c.id for c in _select(args.only)}
        doc = dict(doc, claims=[c for c in doc["claims"] if c["id"] in wanted])
        if not doc["claims"]:
            raise UsageError(f"the results hold none of the claims {args.only!r} selects; "
                             f"run 'derivcheck verify --only {args.only}' first")
        doc["summary"] = store.summarize(doc["claims"])
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(doc), encoding="utf-8")
    s = doc["summary"]
    sys.stderr.write(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB): {s['claims']} claims, "
                     f"{s['verified']} verified, {s['failed']} failed, {s['inconclusive']} inconclusive\n")
    return _exit_code(doc)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="derivcheck", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    only = dict(metavar="PATTERN", help="claim ID or question ID prefix, or a glob (e.g. 'gan_*', 'ift6135-h22/4.*')")

    q = sub.add_parser("list", help="list claims, the questions they answer and their last status")
    q.add_argument("--only", **only)
    q.add_argument("--results", metavar="FILE", help="status from this results file (default: the results store, "
                   "$DERIVCHECK_RESULTS or ~/.cache/derivcheck/results.json)")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.add_argument("--questions", action="append", metavar="FILE|DIR", help=QUESTIONS_HELP)
    q.set_defaults(func=cmd_list)

    v = sub.add_parser("verify", help="run every symbolic check and numeric confirmation")
    v.add_argument("--only", **only)
    v.add_argument("--full", action="store_true", help="also run long trainings (slow confirmations)")
    v.add_argument("--json", action="store_true", help="print the results as one JSON object")
    v.add_argument("--save", metavar="FILE", help="where to save the results JSON (default: the results store, "
                   "$DERIVCHECK_RESULTS or ~/.cache/derivcheck/results.json); --only merges into it")
    v.add_argument("--no-save", action="store_true", help="do not write the results anywhere")
    v.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    v.add_argument("--seed", type=int, default=None,
                   help="run base seed: every numeric confirmation gets a seed derived from it and its name")
    v.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="run the checks on N processes (0: all cores); same results as the serial run")
    v.add_argument("--questions", action="append", metavar="FILE|DIR", help=QUESTIONS_HELP)
    v.set_defaults(func=cmd_verify)

    from .selftest import add_command as add_selftest_command

    add_selftest_command(sub)

    r = sub.add_parser("report", help="write the self-contained HTML verification report")
    r.add_argument("-o", "--output", default="report.html", metavar="FILE")
    r.add_argument("--only", metavar="PATTERN", help="render only these claims (claim/question ID prefix or glob)")
    r.add_argument("--results", metavar="FILE", help="render this results file (default: the results store, "
                   "$DERIVCHECK_RESULTS or ~/.cache/derivcheck/results.json)")
    r.add_argument("--run", action="store_true", help="run the (selected) checks first and store their results")
    r.add_argument("--full", action="store_true", help="with --run: also run long trainings")
    r.add_argument("--save", metavar="FILE", help="with --run: store the results in this file instead")
    r.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    r.add_argument("--questions", action="append", metavar="FILE|DIR", help=QUESTIONS_HELP)
    r.set_defaults(func=cmd_report)

    from .grading.cli import add_commands as add_grading_commands

    add_grading_commands(sub)
    from .web import add_command as add_serve_command

    add_serve_command(sub)
    return p


QUESTIONS_HELP = "more question records: a YAML file or a folder of them (repeatable)"


def _use_questions(args) -> None:
    """``--questions FILE|DIR``: add those records to the catalogue before anything reads it."""
    paths = getattr(args, "questions", None) or []
    if not paths and getattr(args, "command", None) != "list":
        return
    from . import catalogue

    try:
        args.question_files = catalogue.use_questions(paths) if paths else []
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    for problem in catalogue.problems():  # a bad record is reported loudly (and fails only its question)
        sys.stderr.write(f"derivcheck: {problem}\n")


def main(argv: Optional[list] = None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    args = build_parser().parse_args(argv)
    try:
        _use_questions(args)
        return args.func(args)
    except UsageError as exc:
        sys.stderr.write(f"derivcheck: {exc}\n")
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
