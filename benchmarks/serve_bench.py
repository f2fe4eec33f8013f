r"""Load benchmark of ``derivcheck serve``: 32 concurrent clients, a bounded number of mixed requests.

    .venv/bin/python benchmarks/serve_bench.py [--clients 32] [--requests 640] [--workers 2]

Starts ``derivcheck serve`` on 127.0.0.1 (a free port; nothing else is contacted), waits until it
answers, then sends ``--requests`` requests from ``--clients`` concurrent clients: checks of right
and wrong answers to matrix, expression, set, choice and derivation questions, live previews and an
unknown question.  Prints p50/p95/max latency (overall and per kind of request) and requests per
second, and checks that every check response is a verdict and every preview has its items (none
lost, no error).  Exit code 1 if any request was lost or answered with an error.  Bounded in count
and time (``--max-seconds``); the server is stopped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERDICTS = {"correct", "incorrect", "partial", "unparseable", "needs-human", "unknown-question", "timeout",
            "unanswered"}

DERIV_OK = [r"\log p(x) = \mathbb{E}_{q_\phi(z|x)}[\log p(x)]",
            r"= \mathbb{E}_{q_\phi(z|x)}[\log \frac{p(x,z)}{p(z|x)}]",
            r"= \mathbb{E}_{q_\phi(z|x)}[\log \frac{p(x,z)}{q_\phi(z|x)}] + "
            r"\mathbb{E}_{q_\phi(z|x)}[\log \frac{q_\phi(z|x)}{p(z|x)}]",
            r"= \mathcal{L}(\phi, x) + D_{KL}(q_\phi(z|x) \| p(z|x))"]
DERIV_BAD = [DERIV_OK[0], r"= \mathbb{E}_{q_\phi(z|x)}[\log \frac{p(x,z)}{p(z)}]", DERIV_OK[3]]

#: (kind of request, endpoint, body): cycled through, so every kind gets its share
MIX = [
    ("matrix", "/api/check", {"question": "ift6135-h22/4.1",
                              "answer": r"\begin{pmatrix} 1 & \alpha \\ -\alpha & 1 \end{pmatrix}"}),
    ("matrix", "/api/check", {"question": "ift6135-h22/4.1",
                              "answer": r"\begin{pmatrix} 1 & \alpha \\ \alpha & 1 \end{pmatrix}"}),
    ("expression", "/api/check", {"question": "ift6135-h22/5.2", "answer": r"F_{12} - W_p F_1"}),
    ("expression", "/api/check", {"question": "ift6135-h22/5.2", "answer": r"F_{12} - F_1 W_p"}),
    ("expression", "/api/check", {"question": "ift6135-a23/4.6.dstar", "answer": r"\frac{f_1(x)}{f_0(x)+f_1(x)}"}),
    ("set", "/api/check", {"question": "ift6135-h22/4.3", "answer": r"[1 + i\alpha, 1 - i\alpha]"}),
    ("choice", "/api/check", {"question": "mit-hw4/4c", "answer": "ii"}),
    ("derivation", "/api/check", {"question": "vae-simclr/1a", "answer": DERIV_OK}),
    ("derivation", "/api/check", {"question": "vae-simclr/1a", "answer": DERIV_BAD}),
    ("preview", "/api/preview", {"question": "ift6135-h22/5.2", "answer": r"\dot{W}_p = F_{12} - W_p F_1"}),
    ("preview", "/api/preview", {"question": "vae-simclr/1a", "answer": DERIV_BAD}),
    ("unknown", "/api/check", {"question": "ift6135-h22/99", "answer": "x"}),
]


def start_server(workers: int, time_limit: float) -> tuple:
    cmd = [sys.executable, "-m", "derivcheck.cli", "serve", "--host", "127.0.0.1", "--port", "0",
           "--workers", str(workers), "--time-limit", str(time_limit)]
    log = tempfile.NamedTemporaryFile("w+", prefix="serve-bench-", suffix=".log", delete=False)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        m = re.search(r"running on http://(127\.0\.0\.1:\d+)", Path(log.name).read_text(), re.I)
        if m:
            return proc, f"http://{m.group(1)}", log.name
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start:\n" + Path(log.name).read_text())


async def run_load(url: str, clients: int, total: int, max_seconds: float) -> dict:
    import httpx

    queue: asyncio.Queue = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(MIX[i % len(MIX)])
    records: list = []
    problems: list = []
    deadline = time.perf_counter() + max_seconds

    async def client(c: httpx.AsyncClient):
        while time.perf_counter() < deadline:
            try:
                kind, path, body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t0 = time.perf_counter()
            try:
                r = await c.post(path, json=body)
                data = r.json()
            except Exception as exc:  # noqa: BLE001 - a lost request is what this measures
                problems.append(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            dt = time.perf_counter() - t0
            ok = r.status_code == 200 and (
                data.get("verdict") in VERDICTS if path == "/api/check" else isinstance(data.get("items"), list))
            if not ok:
                problems.append(f"{kind}: HTTP {r.status_code}: {json.dumps(data)[:200]}")
            records.append((kind, dt, data.get("verdict")))

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as c:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {"records": records, "problems": problems, "wall": wall, "sent": total - queue.qsize()}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=640)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument("--max-seconds", type=float, default=300.0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    proc, url, log = start_server(args.workers, args.time_limit)
    startup = time.perf_counter() - t0
    try:
        import httpx

        httpx.get(url + "/api/health", timeout=30).raise_for_status()
        # one warm-up round (first use of each context in each worker), not counted
        asyncio.run(run_load(url, min(args.clients, len(MIX)), len(MIX) * args.workers, 120))
        solo = asyncio.run(run_load(url, 1, len(MIX) * 3, 120))  # one client: the latency of a single user
        res = asyncio.run(run_load(url, args.clients, args.requests, args.max_seconds))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    solo_lat = [dt * 1000 for _, dt, _ in solo["records"]]
    if solo_lat:
        print(f"one client, {len(solo_lat)} requests in turn: p50 {pct(solo_lat, 50):.1f} ms, "
              f"p95 {pct(solo_lat, 95):.1f} ms, max {max(solo_lat):.1f} ms")
    recs = res["records"]
    lat = [dt * 1000 for _, dt, _ in recs]
    print(f"derivcheck serve load benchmark: {args.clients} concurrent clients, {res['sent']} of {args.requests} "
          f"requests sent, {args.workers} workers, {os.cpu_count()} CPUs; server start {startup:.1f} s")
    if lat:
        print(f"  all        n={len(lat):4d}  p50 {pct(lat, 50):7.1f} ms  p95 {pct(lat, 95):7.1f} ms  "
              f"max {max(lat):7.1f} ms  mean {statistics.mean(lat):7.1f} ms")
        for kind in dict.fromkeys(k for k, _, _ in MIX):
            ks = [dt * 1000 for k, dt, _ in recs if k == kind]
            if ks:
                print(f"  {kind:<10} n={len(ks):4d}  p50 {pct(ks, 50):7.1f} ms  p95 {pct(ks, 95):7.1f} ms  "
                      f"max {max(ks):7.1f} ms")
        print(f"  throughput {len(recs) / res['wall']:.1f} requests/s over {res['wall']:.1f} s")
    verdicts = {}
    for _, _, v in recs:
        if v:
            verdicts[v] = verdicts.get(v, 0) + 1
    print(f"  verdicts   {json.dumps(verdicts, sort_keys=True)}")
    lost = args.requests - len(recs)
    print(f"  lost {lost}, errors {len(res['problems'])}")
    for p in res["problems"][:10]:
        print(f"    {p}")
    server_log = Path(log).read_text()
    if res["problems"] or "Traceback" in server_log or "ERROR" in server_log:
        print("  server log (tail):\n    " + "\n    ".join(server_log.splitlines()[-20:]))
    Path(log).unlink(missing_ok=True)
    return 0 if lost == 0 and not res["problems"] and not solo["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
