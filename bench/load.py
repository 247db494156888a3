"""Load on loopback: 32 clients, 2,000 requests, against 1 worker, N workers and 1 worker held to one core (one
encoder thread) in the same run (each twice, alternated; the summary line has the medians and the worst p99).

Prints p50/p99 latency, throughput, errors, how the connections were spread over the workers, health latency while
the longest allowed ask is in flight, and the RSS of the server and its workers before and after.
`python bench/load.py [--workers N] [--clients 32] [--requests 2000] [--repeats 2]`

The load comes from `wrk` (Debian's package: `apt-get install wrk`) when it is installed: a C client whose own CPU use
is small beside the server's on the same two cores. Without it, from Python threads, which take a large share of the
cores themselves (so the figures are lower and say "python client").
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote_plus

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

QUESTIONS = [
    "What is a CNN?", "What should I learn before deep learning?", "What comes after Docker?",
    "I know Python and statistics, how do I get to random forests?", "Is ML engineering fully automated?",
    "How tall is Mount Everest?", "wht is crossvalidation", "Which metrics can I use to evaluate a model?",
]  # fmt: skip


def rss_mb(pid: int) -> float:
    import psutil

    p = psutil.Process(pid)
    return sum(c.memory_info().rss for c in [p, *p.children(recursive=True)]) / 2**20


def start(workers: int, port: int, threads: int = 0) -> subprocess.Popen:
    # All without the chat, which only one worker may serve: the same app on each side of the comparison.
    # `threads`: the encoder's threads per worker (0: the default, the cores shared out among the workers).
    env = dict(os.environ, ROADMAP_QA_WORKERS=str(workers), ROADMAP_QA_PORT=str(port), ROADMAP_QA_CHAT="false",
               ROADMAP_QA_ENCODER_THREADS=str(threads))  # fmt: skip
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/ask", params={"q": "What is a CNN?"}, timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not start")


WRK_SCRIPT = """
local paths = {%s}
local sent = 0
request = function()
  sent = sent + 1
  return wrk.format("GET", paths[(sent %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%.1f %%.1f\\n", summary.requests, summary.duration,
    e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def load(url: str, clients: int, requests: int) -> dict[str, float]:
    """`requests` asks from `clients` connections: with wrk when installed, else from Python threads."""
    if shutil.which("wrk"):
        return load_wrk(url, clients, requests)
    return load_python(url, clients, requests)


def load_wrk(url: str, clients: int, requests: int) -> dict[str, float]:
    """wrk runs for a time, not a count: long enough for `requests` at the rate a short warm-up run measured."""
    paths = ", ".join('"/api/ask?q=' + quote_plus(q) + '"' for q in QUESTIONS)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT % paths)

    def run(seconds: float) -> dict[str, float]:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", f.name, url],
            capture_output=True, text=True, check=True,
        ).stdout
        line = next(x for x in out.splitlines() if x.startswith("RESULT "))
        n, micros, errors, p50, p99 = (float(x) for x in line.split()[1:])
        return {"rps": n / (micros / 1e6), "p50": p50, "p99": p99, "errors": errors, "requests": n, "client": "wrk"}

    try:
        rate = run(3)["rps"]
        return run(requests / max(rate, 1.0) * 1.1)
    finally:
        os.unlink(f.name)


def load_python(url: str, clients: int, requests: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal errors
        with httpx.Client(timeout=30) as c:
            for j in range(i, requests, clients):
                started = time.perf_counter()
                r = c.get(url + "/api/ask", params={"q": QUESTIONS[j % len(QUESTIONS)]})
                took = time.perf_counter() - started
                with lock:
                    latencies.append(took)
                    errors += r.status_code != 200

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(clients)))
    wall = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {"rps": requests / wall, "p50": q[49] * 1000, "p99": q[98] * 1000, "errors": errors, "client": "python client"}


def connections_per_worker(pid: int, port: int) -> list[str]:
    """How many open client connections each server process holds, largest first (read 3 s into the load)."""
    import psutil

    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    counts = []
    for p in procs:
        try:
            n = sum(1 for c in p.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == "ESTABLISHED")
        except psutil.Error:
            continue
        if n:
            counts.append(n)
    return [str(n) for n in sorted(counts, reverse=True)]


def health_during_slow(url: str) -> float:
    """The worst health latency while eight of the longest conversations the limits allow are answered."""
    from qa.limits import MAX_HISTORY, MAX_HISTORY_ITEM_CHARS, MAX_KNOWN

    body = {"q": "and before that?", "history": [("What comes after " + "deep learning " * 200)[:MAX_HISTORY_ITEM_CHARS]] * MAX_HISTORY,
            "known": ["python"] * MAX_KNOWN}  # fmt: skip
    threads = [threading.Thread(target=lambda: httpx.post(url + "/api/ask", json=body, timeout=60)) for _ in range(8)]
    for t in threads:
        t.start()
    worst = 0.0
    while any(t.is_alive() for t in threads):
        s = time.perf_counter()
        httpx.get(url + "/api/health", timeout=10)
        worst = max(worst, time.perf_counter() - s)
        time.sleep(0.02)
    return worst * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=2, help="runs of each server, alternated; medians reported")
    args = ap.parse_args()
    # The default single worker (its encoder on every core), N workers, and one worker held to one core (one
    # encoder thread): the last shows how throughput grows per core, the first what one process already gets.
    servers = {"1 worker": (1, 0, 7891), f"{args.workers} workers": (args.workers, 0, 7892), "1 worker on 1 core": (1, 1, 7893)}
    results: dict[str, list[dict]] = {label: [] for label in servers}
    for _ in range(args.repeats):  # alternated, so a machine that slows down weighs on all alike
        for label, (n, threads, port) in servers.items():
            r = measure(n, port, args.clients, args.requests, threads)
            results[label].append(r)
            print(
                f"{label} ({r['client']}, {r.get('requests', args.requests):.0f} asks, connections {r['split']}): "
                f"{r['rps']:.0f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, errors {r['errors']:.0f}, "
                f"health during slow asks {r['health_ms']:.0f} ms, RSS {r['rss_before']:.0f} -> {r['rss_after']:.0f} MB, "
                f"SIGTERM to exit {r['sigterm_s']:.1f} s"
            )
    one, many, core = (statistics.median(r["rps"] for r in results[label]) for label in servers)
    worst = max(r["p99"] for r in results[f"{args.workers} workers"])
    errors = sum(r["errors"] for rs in results.values() for r in rs)
    print(
        f"median of {args.repeats}: 1 worker {one:.0f} req/s, {args.workers} workers {many:.0f} req/s "
        f"({many / one:.2f}x), 1 worker on 1 core {core:.0f} req/s ({args.workers} workers {many / core:.2f}x); "
        f"worst p99 with {args.workers} workers {worst:.0f} ms; errors {errors:.0f}"
    )


def measure(n: int, port: int, clients: int, requests: int, threads: int = 0) -> dict:
    """One server with `n` workers under the load, then the slow asks, then SIGTERM."""
    proc = start(n, port, threads)
    url = f"http://127.0.0.1:{port}"
    try:
        load(url, 8, 200)  # warm up
        before = rss_mb(proc.pid)
        split: list[str] = []
        # read once the measured run is under way (wrk first runs 3 s to learn the rate)
        sampler = threading.Timer(5.0, lambda: split.extend(connections_per_worker(proc.pid, port)))
        sampler.start()
        r = load(url, clients, requests)
        sampler.cancel()
        r["split"] = "/".join(split) or "-"
        r["health_ms"] = health_during_slow(url)
        r["rss_before"], r["rss_after"] = before, rss_mb(proc.pid)
        stopped = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        r["sigterm_s"] = time.perf_counter() - stopped
        return r
    finally:
        if proc.poll() is None:
            proc.kill()


if __name__ == "__main__":
    main()
