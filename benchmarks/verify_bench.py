"""Speed and memory of verification, per topic (prints figures; asserts nothing).

    python benchmarks/verify_bench.py [--full] [--only PATTERN]

Prints, for each topic: number of claims, time spent in symbolic checks and
in numeric confirmations, the slowest check, and the process's peak resident
memory; plus the cost of importing derivcheck without Torch.
"""
from __future__ import annotations

import argparse
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
    args = p.parse_args()

    seconds, torch_loaded = import_cost()
    print(f"import derivcheck + load all claims: {seconds:.2f} s (torch imported: {torch_loaded})")

    from derivcheck import REGISTRY, load_all
    from derivcheck.runner import verify

    load_all()
    claims = REGISTRY.select(args.only)
    per_topic = defaultdict(lambda: {"claims": 0, "symbolic": 0.0, "numeric": 0.0, "slowest": ("", 0.0)})
    start = time.perf_counter()
    for outcome in verify(claims, full=args.full):
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
    print(f"\ntotal {total:.1f} s for {len(claims)} claims ({'full' if args.full else 'quick'} profile); "
          f"peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
