"""Batch grading throughput: 1,000 generated submissions serially, on 2 worker processes and on a
2-worker Dask LocalCluster; prints submissions per second and peak memory for each.

    .venv/bin/python benchmarks/batch_bench.py [--n 1000] [--modes serial,pool,dask]

The class is generated from the worked examples (examples/<assignment>/submission.yaml): each
submission takes one assignment, answers each question with the example's answer (70 %), a typical
wrong answer (20 %) or not at all (10 %), seeded.  Each mode runs in a fresh Python process, so its
figures include start-up and loading the key (once per worker).  Peak memory is the largest resident
set of any one process of the mode (the parent, or a worker) and their sum.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WRONG = {
    "ift6135-h22/4.1": r"\begin{bmatrix}1 & -\alpha\\ \alpha & 1\end{bmatrix}",
    "ift6135-h22/4.2": "(1, 0)",
    "ift6135-h22/4.3": [r"1 + \alpha", r"1 - \alpha"],
    "ift6135-h22/4.3.behaviour": "cycle",
    "ift6135-h22/5.2": r"F_{12} - F_1 W_p",
    "ift6135-h22/5.4": r"2 X \otimes I",
    "ift6135-a23/4.6.dstar": r"\frac{f_0(x)}{f_0(x) + f_1(x)}",
    "ift6135-a23/3.3": ["a", "b"],
    "ift6135-a23/1.1": [11, 12, 13, 21, 22],
    "mit-hw4/1": "N = K + 1",
    "mit-hw4/3.general": r"\sqrt{2 - 2u^\top v}",
    "vae-simclr/1b": r"\mu + \sigma^2 \epsilon",
}


def generate(folder: Path, n: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    examples = {p.parent.name: yaml.safe_load(p.read_text()) for p in sorted((ROOT / "examples").glob("*/submission.yaml"))}
    paths = []
    for k in range(n):
        assignment = rng.choice(sorted(examples))
        answers = {}
        for qid, ans in examples[assignment]["answers"].items():
            u = rng.random()
            if u < 0.7:
                answers[qid] = ans
            elif u < 0.9 and qid in WRONG:
                answers[qid] = WRONG[qid]
        p = folder / f"s{k:04d}.yaml"
        p.write_text(yaml.safe_dump({"student": f"s{k:04d}", "assignment": assignment, "answers": answers},
                                    allow_unicode=True), encoding="utf-8")
        paths.append(str(p))
    return paths


def _rss_mib(ru) -> float:
    return ru.ru_maxrss / 1024  # Linux: KiB


def run_mode(mode: str, folder: str) -> dict:
    from derivcheck.grading.batch import collect, grade_many

    paths = collect([folder])
    start = time.perf_counter()
    worker_peaks = []
    if mode == "serial":
        reports = [r for _, r in grade_many(paths, jobs=1)]
    elif mode == "pool":
        reports = [r for _, r in grade_many(paths, jobs=2)]
    else:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            reports = [r for _, r in grade_many(paths, dask=client)]
            peaks = client.run(lambda: __import__("resource").getrusage(
                __import__("resource").RUSAGE_SELF).ru_maxrss / 1024)
            worker_peaks = list(peaks.values())
    elapsed = time.perf_counter() - start
    me = _rss_mib(resource.getrusage(resource.RUSAGE_SELF))
    kids = _rss_mib(resource.getrusage(resource.RUSAGE_CHILDREN))
    if mode == "pool":
        worker_peaks = [kids, kids]  # RUSAGE_CHILDREN: the largest child; both workers do the same work
    return {"mode": mode, "submissions": len(reports), "seconds": round(elapsed, 2),
            "per_second": round(len(reports) / elapsed, 1),
            "unreadable": sum(1 for r in reports if r.error), "parent_peak_mib": round(me),
            "worker_peak_mib": round(max(worker_peaks)) if worker_peaks else None,
            "total_peak_mib": round(me + sum(worker_peaks))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--modes", default="serial,pool,dask")
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        print(json.dumps(run_mode(args.run, args.folder)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), args.n)
        rows = []
        for mode in args.modes.split(","):
            if mode == "dask":
                try:
                    import distributed  # noqa: F401
                except ImportError:
                    print("dask: skipped (pip install 'derivcheck[dask]')")
                    continue
            out = subprocess.run([sys.executable, __file__, "--run", mode, "--folder", tmp], capture_output=True,
                                 text=True, cwd=ROOT)
            if out.returncode:
                print(out.stderr[-2000:])
                return 1
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'mode':8s} {'subs':>5s} {'seconds':>8s} {'subs/s':>7s} {'parent MiB':>10s} {'worker MiB':>10s} "
          f"{'total MiB':>9s}")
    for r in rows:
        print(f"{r['mode']:8s} {r['submissions']:5d} {r['seconds']:8.1f} {r['per_second']:7.1f} "
              f"{r['parent_peak_mib']:10d} {str(r['worker_peak_mib'] or '-'):>10s} {r['total_peak_mib']:9d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
