"""Figures for code answers run in the sandbox (grading/sandbox.py): worker start, per-answer latency,
the cost of answers that loop or allocate, and the worker's size.  Prints one line per figure."""
import statistics
import time

from derivcheck import grading
from derivcheck.grading import sandbox

OK = "def ae_loss(x, x_hat):\n    return ((x_hat - x) ** 2).mean()\n"
NCE = ("import torch\nimport torch.nn.functional as F\n\ndef contrastive_loss(z, z_pos, tau):\n"
       "    return F.cross_entropy(z @ z_pos.T / tau, torch.arange(z.shape[0]))\n")
LOOP = "def ae_loss(x, x_hat):\n    while True:\n        pass\n"
ALLOC = "def ae_loss(x, x_hat):\n    keep = []\n    while True:\n        keep.append(bytes(100_000_000))\n"


def timed(qid, src, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = grading.check(qid, src)
        out.append(time.perf_counter() - t)
    return r, out


def main():
    sandbox.shutdown()
    t = time.perf_counter()
    info = sandbox.warm_up()
    print(f"worker start (imports Torch once): {time.perf_counter() - t:.2f} s; VmSize {info['vmsize_kib'] / 1024:.0f} MiB, "
          f"RSS {info['rss_kib'] / 1024:.0f} MiB; submissions run as uid {info['submissions_uid']} ({info['privileges']})")
    for qid, src, label in (("mit-hw4/7b", OK, "ae_loss, correct"), ("mit-hw4/8a", NCE, "contrastive_loss, correct")):
        r, ts = timed(qid, src, 15)
        print(f"{label}: {r.verdict}; per answer median {statistics.median(ts) * 1000:.0f} ms, "
              f"max {max(ts) * 1000:.0f} ms (3 cases: values and gradients)")
    for src, label in ((LOOP, "endless loop"), (ALLOC, "unbounded allocation")):
        r, ts = timed("mit-hw4/7b", src, 2)
        print(f"{label}: {r.verdict} ('{r.message[:50]}...'); {statistics.median(ts):.2f} s")
    sandbox.shutdown()


if __name__ == "__main__":
    main()
