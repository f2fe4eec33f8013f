"""The ``derivcheck`` command line: a thin layer over registry, runner and reports.

    derivcheck list   [--only PATTERN] [--results FILE] [--json]
    derivcheck verify [--only PATTERN] [--full] [--json] [--save FILE] [--quiet]
    derivcheck report [-o FILE] [--only PATTERN] [--full] [--results FILE]
    derivcheck grade SUBMISSION.yaml [--format json|gradescope|html] [-o FILE]
    derivcheck check QID --answer TEXT [--json]

Exit codes: 0 every selected claim verified (or symbolic-only), 1 some claim
failed or was inconclusive, 2 usage error (bad pattern, unreadable file).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

LAST_RESULTS = Path(".derivcheck") / "results.json"


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

    claims = _select(args.only)
    progress = Progress(count_checks(claims, REGISTRY), quiet=getattr(args, "quiet", False))
    outcomes = verify(claims, registry=REGISTRY, full=args.full, progress=progress,
                      seed=getattr(args, "seed", None), jobs=getattr(args, "jobs", 1) or (os.cpu_count() or 1))
    progress.close()
    doc = document(outcomes, full=args.full)
    _save(doc, Path(args.save) if getattr(args, "save", None) else LAST_RESULTS)
    return doc


def _save(doc: dict, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    except OSError as exc:  # a read-only directory must not fail the run
        sys.stderr.write(f"derivcheck: could not save results to {path}: {exc}\n")


def _load(path: str) -> dict:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read results file {path}: {exc}") from None
    if not isinstance(doc, dict) or "claims" not in doc:
        raise UsageError(f"{path} is not a derivcheck results file (no 'claims' list)")
    return doc


def _exit_code(doc: dict) -> int:
    return 0 if doc["summary"]["ok"] else 1


def cmd_list(args) -> int:
    reg = _registry()
    claims = _select(args.only)
    last = {}
    results_path = args.results or (str(LAST_RESULTS) if LAST_RESULTS.exists() else None)
    if results_path:
        last = {c["id"]: c["status"] for c in _load(results_path)["claims"]}
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
    if args.json:
        print(json.dumps({"claims": rows}, indent=1))
        return 0
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

    doc = _load(args.results) if args.results else _run(args)
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
    q.add_argument("--results", metavar="FILE", help=f"status from this results file (default {LAST_RESULTS})")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_list)

    v = sub.add_parser("verify", help="run every symbolic check and numeric confirmation")
    v.add_argument("--only", **only)
    v.add_argument("--full", action="store_true", help="also run long trainings (slow confirmations)")
    v.add_argument("--json", action="store_true", help="print the results as one JSON object")
    v.add_argument("--save", metavar="FILE", help=f"where to save the results JSON (default {LAST_RESULTS})")
    v.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    v.add_argument("--seed", type=int, default=None,
                   help="run base seed: every numeric confirmation gets a seed derived from it and its name")
    v.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="run the checks on N processes (0: all cores); same results as the serial run")
    v.set_defaults(func=cmd_verify)

    from .selftest import add_command as add_selftest_command

    add_selftest_command(sub)

    r = sub.add_parser("report", help="write the self-contained HTML verification report")
    r.add_argument("-o", "--output", default="report.html", metavar="FILE")
    r.add_argument("--only", **only)
    r.add_argument("--full", action="store_true", help="also run long trainings (slow confirmations)")
    r.add_argument("--results", metavar="FILE", help="render a saved results JSON instead of running the checks")
    r.add_argument("--save", metavar="FILE", help=f"where to save the results JSON (default {LAST_RESULTS})")
    r.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    r.set_defaults(func=cmd_report)

    from .grading.cli import add_commands as add_grading_commands

    add_grading_commands(sub)
    return p


def main(argv: Optional[list] = None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        sys.stderr.write(f"derivcheck: {exc}\n")
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
