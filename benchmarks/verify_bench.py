"""Speed and memory of verification, per topic (prints figures; asserts nothing).

    python benchmarks/verify_bench.py [--full] [--only PATTERN] [--jobs N] [--table]

Prints, for each topic: number of claims, time spent in symbolic checks and
in numeric confirmations (trainings charged to the trainings, listed apart),
the slowest check, and the process's peak resident memory; the wall time of
the same run on a process pool of N workers (default: all cores) and whether
its JSON equals the serial one (timings aside); the cost of importing
derivcheck without Torch and of starting the CLI.  ``--table`` prints every
check's time.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict


def import_cost() -> tuple[float, bool]:
    code = ("import time, sys; t = time.perf_counter(); import derivcheck; from derivcheck import load_all; "
            "load_all(); print(time.perf_counter() - t, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), out[1] == "True"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--full", action="store_true")
    p.add_argument("--only")
    p.add_argument("--jobs", type=int, default=0, help="workers of the parallel run (0: all cores; 1: skip it)")
    p.add_argument("--table", action="store_true", help="print the time of every check")
    args = p.parse_args()

    seconds, torch_loaded = import_cost()
    print(f"import derivcheck + load all claims: {seconds:.2f} s (torch imported: {torch_loaded})")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "derivcheck.cli", "list", "--only", "gan_dynamics"], capture_output=True,
                   check=True)
    print(f"CLI start-up (derivcheck list --only gan_dynamics): {time.perf_counter() - t:.2f} s")

    from derivcheck import REGISTRY, load_all
    from derivcheck.runner import verify

    load_all()
    claims = REGISTRY.select(args.only)
    per_topic = defaultdict(lambda: {"claims": 0, "symbolic": 0.0, "numeric": 0.0, "slowest": ("", 0.0)})
    start = time.perf_counter()
    outcomes = verify(claims, full=args.full)
    table = []
    for outcome in outcomes:
        table.append((f"{outcome.claim.id} (symbolic)", outcome.symbolic.elapsed_s))
        table += [(r.check + f" [{outcome.claim.id}]", r.elapsed_s) for r in outcome.numeric if not r.skipped]
    for outcome in outcomes:
        row = per_topic[outcome.claim.topic]
        row["claims"] += 1
        row["symbolic"] += outcome.symbolic.elapsed_s
        checks = [(f"{outcome.claim.id} (symbolic)", outcome.symbolic.elapsed_s)]
        for r in outcome.numeric:
            row["numeric"] += r.elapsed_s
            checks.append((r.check, r.elapsed_s))
        best = max(checks, key=lambda c: c[1])
        if best[1] > row["slowest"][1]:
            row["slowest"] = best
    total = time.perf_counter() - start
    print(f"\n{'topic':<14} {'claims':>6} {'symbolic s':>11} {'numeric s':>10}  slowest check")
    for topic, row in sorted(per_topic.items()):
        print(f"{topic:<14} {row['claims']:>6} {row['symbolic']:>11.2f} {row['numeric']:>10.2f}  "
              f"{row['slowest'][0]} ({row['slowest'][1]:.2f} s)")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\ntotal {total:.1f} s for {len(claims)} claims ({'full' if args.full else 'quick'} profile), serial; "
          f"peak RSS {peak_mib:.0f} MiB")
    from derivcheck.runner import LAST_TRAININGS

    if LAST_TRAININGS:
        print("trainings (charged to the training, not to the check that ran first):")
        for name, secs in sorted(LAST_TRAININGS.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<60} {secs:7.2f} s")
    if args.table:
        print("\nper-check time (s), slowest first:")
        for name, secs in sorted(table, key=lambda kv: -kv[1]):
            print(f"  {secs:7.2f}  {name}")
    jobs = args.jobs or os.cpu_count() or 1
    if jobs > 1:
        start = time.perf_counter()
        par = verify(claims, full=args.full, jobs=jobs)
        wall = time.perf_counter() - start
        same = _strip(par) == _strip(outcomes)
        print(f"parallel run on {jobs} processes: {wall:.1f} s wall (serial {total:.1f} s); "
              f"results identical to the serial run, timings aside: {same}")


def _strip(outcomes) -> list:
    out = []
    for o in outcomes:
        d = o.to_dict()
        d["symbolic"].pop("elapsed_s", None)
        for n in d["numeric"]:
            n.pop("elapsed_s", None)
            n.pop("training_s", None)
        out.append(d)
    return out


if __name__ == "__main__":
    main()
