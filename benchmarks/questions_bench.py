"""Questions as data: how long loading and verifying records takes.

Prints: the time to load and validate the project's catalogue, to build every notation context,
to verify each LaTeX reference of the extra assignment (examples/extra-assignment) and to verify
its data claims on both sides (SymPy and random instances).  Run from the repository root:

    python benchmarks/questions_bench.py
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    os.environ.setdefault("DERIVCHECK_CACHE_DIR", tempfile.mkdtemp(prefix="dc-bench-"))
    t0 = time.perf_counter()
    from derivcheck import catalogue

    catalogue.questions()
    t1 = time.perf_counter()
    from derivcheck.grading.questions import contexts, questions

    questions()
    contexts()
    t2 = time.perf_counter()
    print(f"load + validate derivcheck/questions.yaml ({len(catalogue.questions())} records): {t1 - t0:.3f} s")
    print(f"build Spec/Question and {len(contexts())} notation contexts: {t2 - t1:.3f} s")

    catalogue.use_questions(ROOT / "examples" / "extra-assignment")
    from derivcheck import REGISTRY, load_all
    from derivcheck.grading.keys import key_entry
    from derivcheck.runner import verify

    load_all(REGISTRY)
    claims = [c for c in REGISTRY if c.module == "derivcheck.derivations.records"]
    t3 = time.perf_counter()
    outs = verify(claims, registry=REGISTRY)
    t4 = time.perf_counter()
    ok = sum(o.status == "verified" for o in outs)
    print(f"data claims: {len(claims)} verified on both sides in {t4 - t3:.2f} s ({ok} verified)")
    times = []
    for qid, q in questions().items():
        if qid.startswith("extra-dl/") and q.spec.reference is not None:
            s = time.perf_counter()
            e = key_entry(qid)
            times.append((time.perf_counter() - s, qid, e.status))
    first = times[0][0] if times else 0.0
    rest = sorted(t for t, _, _ in times[1:])
    print(f"LaTeX references: {len(times)} verified ({sum(s == 'ok' for _, _, s in times)} ok); first "
          f"{first:.2f} s (imports, SymPy warm-up), then median {rest[len(rest) // 2]:.2f} s, max {rest[-1]:.2f} s")


if __name__ == "__main__":
    main()
