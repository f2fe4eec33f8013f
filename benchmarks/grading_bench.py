"""Grading benchmark: answer-check latency, grading throughput, and math-verify side by side.

    .venv/bin/python benchmarks/grading_bench.py [--repeat 3] [--seconds 10] [--json FILE]

1. **Answer checks.** Every item of the self-test corpus (:mod:`derivcheck.grading.corpus`):
   equivalent rewrites that must be accepted and wrong variants that must be
   rejected, for every expression, matrix, point and set question.  Each item
   is checked ``--repeat`` times after one warm-up check per question (the
   warm-up pays the one-off costs: verifying the key claim, drawing the
   context's random instances).  Reported: median / p99 / max latency,
   accuracy, false accepts (a wrong variant accepted) and false rejects.
2. **The same items through HuggingFace math-verify** (``parse`` + ``verify``,
   the gold answer being the corpus reference), when it is installed
   (``.venv/bin/pip install math-verify``; optional, not a dependency).
3. **Throughput.** One full submission per assignment (every catalogue
   question answered: correct expressions, keyed labels, derivation steps,
   text) graded repeatedly for ``--seconds``; submissions per second.
4. **Step checking.** Every derivation question graded with the worked
   derivation of ``tests/test_steps.py`` (and the derivations of the seeds'
   answer sets, ``tests/fixtures/answer_sets/``): steps, relations checked,
   verdict, median latency over ``--repeat`` gradings after one warm-up.

Targets (issue 8): median check <= 20 ms, p99 <= 500 ms, zero false accepts.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")


def _items():
    from derivcheck.grading.corpus import SETS, TABLE

    out = []
    for qid, (ref, good, bad) in TABLE.items():
        out += [(qid, a, True, ref) for a in good] + [(qid, a, False, ref) for a in bad]
    for qid, (ref_items, good, bad) in SETS.items():
        ref = r"\{" + ", ".join(ref_items) + r"\}"
        out += [(qid, a, True, ref) for a in good] + [(qid, a, False, ref) for a in bad]
    return out


def _pct(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


def _summary(name, lat_ms, decisions):
    """decisions: list of (expected_accept, decision) with decision in accept/reject/abstain."""
    fa = sum(1 for exp, d in decisions if not exp and d == "accept")
    fr = sum(1 for exp, d in decisions if exp and d == "reject")
    ab = sum(1 for _, d in decisions if d == "abstain")
    right = sum(1 for exp, d in decisions if (d == "accept") == exp and d != "abstain")
    return {
        "tool": name, "items": len(decisions), "accuracy": right / len(decisions) if decisions else 0.0,
        "false_accepts": fa, "false_rejects": fr, "abstentions": ab,
        "median_ms": statistics.median(lat_ms) if lat_ms else float("nan"),
        "p99_ms": _pct(lat_ms, 99), "max_ms": max(lat_ms) if lat_ms else float("nan"),
    }


def bench_derivcheck(items, repeat):
    from derivcheck import grading

    for qid in sorted({i[0] for i in items}):  # warm-up: key verification, instances
        first = next(i for i in items if i[0] == qid)
        grading.check(qid, first[1])
    lat, decisions, failures = [], [], []
    for qid, ans, expected, _ in items:
        verdicts = set()
        for _ in range(repeat):
            t = time.perf_counter()
            r = grading.check(qid, ans)
            lat.append((time.perf_counter() - t) * 1e3)
            verdicts.add(r.verdict)
        v = verdicts.pop() if len(verdicts) == 1 else "unstable"
        d = "accept" if v == "correct" else "reject" if v in ("incorrect", "unparseable") else "abstain"
        decisions.append((expected, d))
        if (d == "accept") != expected or d == "abstain":
            failures.append((qid, str(ans), expected, v))
    return _summary("derivcheck", lat, decisions), failures


def bench_math_verify(items, repeat):
    try:
        from math_verify import parse, verify
    except ImportError:
        return None, []
    lat, decisions, failures = [], [], []

    def as_text(ans):
        if isinstance(ans, (list, tuple)):
            return r"\{" + ", ".join(str(a) for a in ans) + r"\}"
        return str(ans)

    for qid, ans, expected, ref in items:
        outcome = None
        for _ in range(repeat):
            t = time.perf_counter()
            try:
                gold = parse(f"${ref}$")
                pred = parse(f"${as_text(ans)}$")
                ok = bool(verify(gold, pred))
                outcome = "accept" if ok else "reject"
            except Exception:  # math-verify's own failures count as rejections
                outcome = "reject"
            lat.append((time.perf_counter() - t) * 1e3)
        decisions.append((expected, outcome))
        if (outcome == "accept") != expected:
            failures.append((qid, str(ans), expected, outcome))
    return _summary("math-verify", lat, decisions), failures


def full_submission(assignment):
    """Every question of ``assignment`` answered (correct where the key or corpus says what that is)."""
    from derivcheck.grading.corpus import SETS, TABLE
    from derivcheck.grading.keys import key_entry
    from derivcheck.grading.questions import questions

    answers = {}
    for qid, q in questions().items():
        if not qid.startswith(assignment + "/"):
            continue
        if qid in TABLE:
            answers[qid] = TABLE[qid][1][0]
        elif qid in SETS:
            answers[qid] = SETS[qid][1][0]
        elif q.kind in ("choice", "choices", "mapping", "set"):
            e = key_entry(qid)
            if e.ok:
                answers[qid] = e.labels if e.labels is not None else [int(x) if x.isdigit() else x for x in e.items]
            else:
                answers[qid] = q.options[0] if q.options else "a"
        elif q.kind == "derivation":
            answers[qid] = worked_derivations().get(qid, [r"\log p(x) = \log \int p(x,z)\,dz"])
        elif q.kind == "code":
            answers[qid] = "def f(x):\n    return x"
        else:
            answers[qid] = "A short free-text answer."
    return {"student": f"bench-{assignment}", "answers": answers}


def worked_derivations() -> dict:
    """One correct derivation per derivation question, as written in tests/test_steps.py."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tests" / "test_steps.py"
    spec = importlib.util.spec_from_file_location("_worked_steps", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return {"vae-simclr/1a": mod.ELBO_DECOMP, "vae-simclr/2a": mod.NTX, "ift6135-a23/2.1": mod.FLOW,
            "ift6135-a23/3.2a": mod.ELBO_FROM_EVIDENCE, "ift6135-a23/3.2b": mod.JENSEN, "ift6135-a23/3.4a": mod.IW_A,
            "ift6135-a23/3.4b": mod.IW_B, "ift6135-h22/1.1": mod.ECLL, "ift6135-h22/3.1": mod.FLOW,
            "ift6135-h22/5.1": mod.SIMSIAM}


def bench_steps(repeat):
    """Step-checking latency per derivation: the worked derivations and the answer sets' derivations."""
    from pathlib import Path

    import yaml

    from derivcheck import grading
    from derivcheck.grading.questions import question

    cases = [(qid, "worked", steps) for qid, steps in worked_derivations().items()]
    folder = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "answer_sets"
    for f in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        sub = yaml.safe_load(f.read_text(encoding="utf-8"))
        for qid, ans in (sub.get("answers") or {}).items():
            try:
                if question(qid).kind == "derivation":
                    cases.append((qid, f.stem, ans))
            except KeyError:
                continue
    out = []
    for qid, source, steps in cases:
        grading.check(qid, steps, time_limit_s=30)  # warm-up: the context's instances, SymPy
        times, r = [], None
        for _ in range(max(1, repeat)):
            t = time.perf_counter()
            r = grading.check(qid, steps, time_limit_s=30)
            times.append((time.perf_counter() - t) * 1000)
        rels = sum(len(s.get("relations", [])) for s in r.details.get("steps", []))
        out.append({"question": qid, "source": source, "steps": len(steps), "relations": rels,
                    "verdict": r.verdict, "first_wrong_step": r.first_wrong_step,
                    "median_ms": statistics.median(times), "max_ms": max(times)})
    return out


def bench_throughput(seconds):
    from derivcheck import grading

    out = []
    for assignment in ("ift6135-h22", "ift6135-a23", "mit-hw4", "vae-simclr"):
        sub = full_submission(assignment)
        grading.grade(sub)  # warm-up
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 4 or n < 3:
            rep = grading.grade(sub)
            n += 1
        elapsed = time.perf_counter() - start
        out.append({"assignment": assignment, "questions": len(sub["answers"]), "submissions": n,
                    "seconds": elapsed, "submissions_per_s": n / elapsed,
                    "score": f"{rep.score:g}/{rep.max_score:g}", "verdicts": {k: v for k, v in rep.counts().items() if v}})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed checks per item (default 3)")
    ap.add_argument("--seconds", type=float, default=8.0, help="throughput measuring time in total (default 8)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--no-math-verify", action="store_true")
    ap.add_argument("--steps-only", action="store_true", help="only the step-checking figures (part 4)")
    args = ap.parse_args(argv)
    if args.steps_only:
        for r in bench_steps(args.repeat):
            wrong = "" if r["first_wrong_step"] is None else str(r["first_wrong_step"])
            print(f"{r['question']:<18} {r['source']:<18} {r['steps']:>3} steps {r['relations']:>3} relations "
                  f"{r['verdict']:<12} {wrong:>3} {r['median_ms']:>8.1f} ms (max {r['max_ms']:.1f})")
        return 0

    items = _items()
    print(f"grading benchmark: {len(items)} items ({sum(1 for i in items if i[2])} equivalent rewrites, "
          f"{sum(1 for i in items if not i[2])} wrong variants) over {len({i[0] for i in items})} questions; "
          f"{args.repeat} timed checks each; Python {platform.python_version()} on {platform.machine()}")
    t0 = time.perf_counter()
    ours, our_fail = bench_derivcheck(items, args.repeat)
    warm = time.perf_counter() - t0
    rows = [ours]
    theirs, their_fail = (None, []) if args.no_math_verify else bench_math_verify(items, args.repeat)
    if theirs is not None:
        rows.append(theirs)
    print(f"\n{'tool':<12} {'items':>5} {'accuracy':>8} {'false acc.':>10} {'false rej.':>10} {'abstain':>7} "
          f"{'median ms':>9} {'p99 ms':>8} {'max ms':>8}")
    for r in rows:
        print(f"{r['tool']:<12} {r['items']:>5} {r['accuracy']:>8.1%} {r['false_accepts']:>10} "
              f"{r['false_rejects']:>10} {r['abstentions']:>7} {r['median_ms']:>9.2f} {r['p99_ms']:>8.1f} "
              f"{r['max_ms']:>8.1f}")
    if theirs is None and not args.no_math_verify:
        print("(math-verify is not installed: .venv/bin/pip install math-verify to compare)")
    if our_fail:
        print("\nderivcheck items not decided as expected:")
        for qid, ans, exp, v in our_fail:
            print(f"  {qid}: {ans[:70]!r} expected {'accept' if exp else 'reject'}, got {v}")
    if their_fail:
        fa = [f for f in their_fail if not f[2]]
        print(f"\nmath-verify false accepts ({len(fa)}), e.g.:")
        for qid, ans, exp, v in fa[:12]:
            print(f"  {qid}: {ans[:70]!r}")
    thr = bench_throughput(args.seconds)
    print(f"\n{'assignment':<13} {'questions':>9} {'submissions/s':>13}  verdicts of one submission")
    for r in thr:
        print(f"{r['assignment']:<13} {r['questions']:>9} {r['submissions_per_s']:>13.1f}  {r['verdicts']}")
    stp = bench_steps(args.repeat)
    print(f"\n{'derivation':<18} {'source':<18} {'steps':>5} {'relations':>9} {'verdict':<12} {'wrong':>5} "
          f"{'median ms':>9} {'max ms':>7}")
    for r in stp:
        wrong = "" if r["first_wrong_step"] is None else str(r["first_wrong_step"])
        print(f"{r['question']:<18} {r['source']:<18} {r['steps']:>5} {r['relations']:>9} {r['verdict']:<12} "
              f"{wrong:>5} {r['median_ms']:>9.1f} {r['max_ms']:>7.1f}")
    per_rel = [r["median_ms"] / max(1, r["relations"]) for r in stp]
    print(f"step checking: median {statistics.median([r['median_ms'] for r in stp]):.0f} ms per derivation, "
          f"{statistics.median(per_rel):.1f} ms per relation (max {max(r['max_ms'] for r in stp):.0f} ms)")
    print(f"\n(total benchmark time {time.perf_counter() - t0:.1f} s; derivcheck part incl. warm-up {warm:.1f} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"checks": rows, "throughput": thr, "steps": stp,
                       "derivcheck_misses": our_fail, "math_verify_misses": their_fail}, fh, indent=1)
    ok = ours["false_accepts"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
