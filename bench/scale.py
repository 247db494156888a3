"""What serving costs and how it grows: serve-only cold start (where the time goes), RSS, throughput with 1/2/4
worker processes, and build time, ask latency and memory for the real kb and generated kbs of ~1,000 and ~10,000
entries (copies of the real entries with new ids, names and text, in a temp folder; nothing lands in kb/).

    python bench/scale.py [--sizes 1000,10000] [--workers 1,2,4] [--requests 400] [--skip-workers]

Needs a built index/ (`roadmap-qa build-index`) and the build extra (the generated kbs are embedded here).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import load as loadbench  # noqa: E402 - bench/load.py: start a server, drive it, read RSS

QUESTION = "What is a CNN?"
SILENT = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}

# Run in a fresh serve-only interpreter: each phase of a cold start, timed, then RSS and what got imported.
PHASES = r"""
import json, os, sys, time
t0 = time.perf_counter()
if os.environ.get("ROADMAP_QA_CHAT") != "false":
    import gradio  # the chat's web stack
import fastapi, uvicorn  # app.py's
t1 = time.perf_counter()
import app
from qa import Assistant, Settings
t2 = time.perf_counter()
settings = Settings.from_env()
bot = Assistant.load(settings=settings)
t3 = time.perf_counter()
bot.ask(sys.argv[1])
t4 = time.perf_counter()
app.create_app(bot, settings)
t5 = time.perf_counter()
import psutil
heavy = [m for m in ("torch", "sentence_transformers", "sklearn", "transformers", "onnx", "gradio") if m in sys.modules]
print(json.dumps({"web stack": t1 - t0, "qa + app": t2 - t1, "load kb + index + ranker": t3 - t2,
                  "first ask": t4 - t3, "build the app": t5 - t4,
                  "rss_mb": psutil.Process().memory_info().rss / 2**20, "heavy": heavy}))
"""

# Run in a serve-only interpreter over one kb: load time, ask latency, RSS, and the dense search alone.
SERVE = r"""
import json, statistics, sys, time
import numpy as np, psutil
from qa import Assistant, Settings
questions = json.loads(sys.argv[1])
t0 = time.perf_counter()
bot = Assistant.load(settings=Settings.from_env())
load_s = time.perf_counter() - t0
rss_loaded = psutil.Process().memory_info().rss / 2**20
bot.ask(questions[0])
lat = []
for _ in range(3):
    for q in questions:
        t = time.perf_counter(); bot.ask(q); lat.append(time.perf_counter() - t)
r = bot.retriever
dense = r._dense
q = r._embedder.encode(["what should I learn before convolutional networks"])
def per_call(fn, n=20):
    fn(); t = time.perf_counter()
    for _ in range(n): fn()
    return (time.perf_counter() - t) / n * 1000
flat = per_call(lambda: dense.row_scores(q))
vecs = dense.vectors()
matmul = per_call(lambda: vecs @ q[0])
import faiss
hnsw = faiss.IndexHNSWFlat(vecs.shape[1], 32, faiss.METRIC_INNER_PRODUCT); hnsw.add(vecs)
top = per_call(lambda: hnsw.search(q, 100))
lat.sort()
print(json.dumps({"load_s": load_s, "rss_loaded": rss_loaded, "rss_after": psutil.Process().memory_info().rss / 2**20,
                  "p50_ms": statistics.median(lat) * 1000, "p95_ms": lat[int(len(lat) * 0.95)] * 1000,
                  "rows": int(vecs.shape[0]), "flat_ms": flat, "matmul_ms": matmul, "hnsw_top100_ms": top}))
"""

# Embed a kb into a fresh index folder (the encoder copied from the real index, so no export), build BM25, and stamp
# the real ranker for it (its weights read per-entry features, not the kb's size). With "random" instead of "onnx",
# the vectors are random unit vectors: ~10,000 entries (~117,000 texts) would take most of an hour to embed here.
BUILD = r"""
import json, shutil, sys, time
from pathlib import Path
kb_dir, index_dir, real_index = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
index_dir.mkdir(parents=True, exist_ok=True)
for f in real_index.glob("encoder-*"):
    shutil.copy(f, index_dir / f.name)
t0 = time.perf_counter()
import kb as kbase
from qa.embed import Embedder
from qa.index import open_index
from qa.lexical import Lexical
kb = kbase.load_kb(kb_dir)
t1 = time.perf_counter()
embedder = Embedder("", cache_dir=index_dir, export="never")
if sys.argv[4] == "random":  # serving cost does not depend on the vectors' values; embedding time is extrapolated
    import numpy as np
    rng = np.random.default_rng(0)
    def encode(texts, batch_size=None):
        v = rng.standard_normal((len(texts), embedder.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    embedder.encode = encode
dense, status = open_index(index_dir, kb, embedder, force=True)
t2 = time.perf_counter()
Lexical(list(kb.entries))
t3 = time.perf_counter()
ranker = json.loads((real_index / "ranker.json").read_text())
from qa.fit import training_hash
from qa.training import examples_for
# The real kb's models, marked current for this kb (the manifest fields sit at the top level)
ranker["training_hash"] = training_hash(kb.content_hash, dense.manifest["model"], examples_for(kb))
(index_dir / "ranker.json").write_text(json.dumps(ranker))
import shutil; shutil.copy(real_index / "off_topic.npy", index_dir / "off_topic.npy")
size = sum(f.stat().st_size for f in index_dir.iterdir()) / 2**20
print(json.dumps({"entries": len(kb.entries), "rows": len(dense.manifest["text_hashes"]), "kb_load_s": t1 - t0,
                  "embed_s": t2 - t1, "bm25_s": t3 - t2, "index_mb": size}))
"""


def run_json(code: str, env: dict[str, str], *args: str, timeout: float = 3600) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"bench child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def serve_env(index_dir: Path, kb_dir: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROADMAP_QA_")}
    env.update(ROADMAP_QA_SERVE_ONLY="true", ROADMAP_QA_INDEX_DIR=str(index_dir), **extra)
    if kb_dir is not None:
        env["ROADMAP_QA_KB_DIR"] = str(kb_dir)
    return env


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def cold_start(index_dir: Path, runs: int = 3, chat: bool = True) -> tuple[list[dict], list[dict]]:
    """Phases in a fresh interpreter, and the real thing: process start to the first answer over HTTP."""
    flag = {"ROADMAP_QA_CHAT": "true" if chat else "false"}
    phases = [run_json(PHASES, serve_env(index_dir, **flag), QUESTION) for _ in range(runs)]
    e2e = []
    for _ in range(runs):
        port = loadbench_port()
        env = serve_env(index_dir, ROADMAP_QA_PORT=str(port), ROADMAP_QA_WORKERS="1", **flag)
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--serve-only"], cwd=REPO, env=env, **SILENT)
        url = f"http://127.0.0.1:{port}/api/ask"
        try:
            while True:
                try:
                    if httpx.get(url, params={"q": QUESTION}, timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.perf_counter() - started > 60:
                    raise SystemExit("the serve-only server did not answer")
                time.sleep(0.05)
            e2e.append({"first_answer_s": time.perf_counter() - started, "rss_mb": loadbench.rss_mb(proc.pid)})
        finally:
            stop(proc)
    return phases, e2e


def loadbench_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workers(index_dir: Path, counts: list[int], clients: int, requests: int) -> list[dict]:
    rows = []
    for w in counts:
        port = loadbench_port()
        saved = dict(os.environ)
        os.environ.update(serve_env(index_dir))
        try:
            proc = loadbench.start(w, port)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        try:
            url = f"http://127.0.0.1:{port}"
            loadbench.load(url, clients, min(64, requests))  # warm every worker
            r = loadbench.load(url, clients, requests)
            rows.append({"workers": w, **r, "rss_mb": loadbench.rss_mb(proc.pid)})
        finally:
            stop(proc)
    return rows


def generate_kb(real: Path, target: int, out: Path) -> Path:
    """Whole copies of the real kb (entries, prerequisite edges, FAQ and misconception links) until `target` entries
    are reached; copy k renames every id `<id>-v<k>`, every name `<name> v<k>`, and adds a sentence to each body.
    No training/ folder: the generated kb's ranker is the real one's."""
    docs = {p.relative_to(real): yaml.safe_load(p.read_text()) for p in real.rglob("*.yaml")}
    count = sum(len(d.get(s) or []) for d in docs.values() for s in ("concepts", "faq", "misconceptions"))
    copies = max(1, math.ceil(target / count))
    refs = ("prerequisites", "related", "about")
    names = {"concepts": ("title",), "faq": ("question",), "misconceptions": ("claim",)}
    bodies = {"concepts": "summary", "faq": "answer", "misconceptions": "reality"}
    for rel, doc in docs.items():
        out_doc: dict = {}
        for section, entries in doc.items():
            if section == "backgrounds":
                out_doc[section] = entries
                continue
            made = []
            for k in range(copies):
                for e in entries:
                    e = json.loads(json.dumps(e))
                    if k:
                        e["id"] = f"{e['id']}-v{k}"
                        for f in names[section]:
                            e[f] = f"{e[f]} v{k}"
                        e["aliases"] = [f"{a} v{k}" for a in e.get("aliases", [])]
                        for f in refs:
                            if f in e:
                                e[f] = [f"{x}-v{k}" for x in e[f]]
                        e[bodies[section]] = f"{e[bodies[section]]} This is copy {k} of the entry."
                        e["asks"] = [f"{a[:285]} (copy {k})" for a in e.get("asks", [])]
                        if not e["aliases"]:
                            e.pop("aliases")
                    made.append(e)
            out_doc[section] = made
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(out_doc, sort_keys=False, allow_unicode=True))
    return out


def scale(real_index: Path, sizes: list[int], tmp: Path, embed_up_to: int = 2000) -> list[dict]:
    import kb as kbase

    rows = []
    kbs: list[tuple[str, Path]] = [("real", kbase.DEFAULT_KB_DIR)]
    kbs += [(f"~{n:,}", generate_kb(kbase.DEFAULT_KB_DIR, n, tmp / f"kb{n}")) for n in sizes]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROADMAP_QA_")}
    rate = 0.0  # texts embedded per second, from the last kb embedded for real
    for label, kb_dir in kbs:
        index_dir = tmp / f"index-{label.strip('~').replace(',', '')}"
        mode = "random" if rate and label != "real" and int(label.strip("~").replace(",", "")) > embed_up_to else "onnx"
        print(f"  building {label} ({mode}) ...", file=sys.stderr, flush=True)
        build = run_json(BUILD, env, str(kb_dir), str(index_dir), str(real_index), mode)
        if mode == "onnx":
            rate = build["rows"] / build["embed_s"]
        else:
            build["embed_s"] = build["rows"] / rate  # extrapolated: embedding is per text
        build["embedded"] = mode
        served = run_json(SERVE, serve_env(index_dir, kb_dir), json.dumps(loadbench.QUESTIONS))
        rows.append({"kb": label, **build, **served})
        print(f"  {json.dumps(rows[-1])}", file=sys.stderr, flush=True)  # each row as it comes: a long run may stop
    return rows


def cold(index: Path, out: dict) -> None:
    for chat in (True, False):
        phases, e2e = cold_start(index, chat=chat)
        out["cold_start" if chat else "cold_start_api_only"] = {"phases": phases, "e2e": e2e}
        med = {k: statistics.median(p[k] for p in phases) for k in phases[0] if k != "heavy"}
        what = "with the chat" if chat else "API, widget and MCP only (ROADMAP_QA_CHAT=false)"
        print(f"\nServe-only cold start {what}, median of 3 (the phases in one fresh interpreter; then process start to first HTTP answer)")
        for k, v in med.items():
            print(f"  {k:<26} {v:7.0f} MB" if k == "rss_mb" else f"  {k:<26} {v:7.2f} s")
        print(f"  heavy modules imported     {phases[0]['heavy'] or 'none'}")
        firsts = [r["first_answer_s"] for r in e2e]
        print(f"  process start -> first answer over HTTP: {statistics.median(firsts):.2f} s (runs: {', '.join(f'{x:.2f}' for x in firsts)})")
        print(f"  server RSS after the first answer: {statistics.median(r['rss_mb'] for r in e2e):.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", default=str(REPO / "index"), help="a built index (default: index/)")
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--embed-up-to", type=int, default=2000, help="larger generated kbs get random vectors")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--skip-workers", action="store_true")
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--json", dest="as_json", help="also write every figure to this file")
    a = ap.parse_args()
    index = Path(a.index).resolve()
    out: dict = {}

    if not a.skip_cold:
        cold(index, out)
    if not a.skip_workers:
        counts = [int(x) for x in a.workers.split(",")]
        rows = workers(index, counts, a.clients, a.requests)
        out["workers"] = rows
        print(f"\nThroughput, {a.clients} clients, {a.requests} asks over loopback ({os.cpu_count()} cores)")
        print("| workers | asks/s | p50 ms | p99 ms | errors | RSS, server + workers |")
        print("| --- | --- | --- | --- | --- | --- |")
        for r in rows:
            print(f"| {r['workers']} | {r['rps']:.1f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['errors']} | {r['rss_mb']:.0f} MB |")

    if a.sizes:
        with tempfile.TemporaryDirectory(prefix="roadmap-qa-scale-") as tmp:
            rows = scale(index, [int(x) for x in a.sizes.split(",")], Path(tmp), a.embed_up_to)
        out["scale"] = rows
        print("\nGrowth with the kb (build: kb load + embed every view with the ONNX encoder + BM25, * = embedding")
        print("extrapolated from the previous row's rate; serve-only: load, ask over the bench questions, RSS)")
        print("| kb | entries | vectors | build s | index MB | load s | ask p50 ms | ask p95 ms | RSS MB | flat search ms | matmul ms | HNSW top-100 ms |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            build_s = r["kb_load_s"] + r["embed_s"] + r["bm25_s"]
            print(
                f"| {r['kb']} | {r['entries']:,} | {r['rows']:,} | {build_s:.0f}{'*' if r['embedded'] == 'random' else ''} | {r['index_mb']:.0f} | {r['load_s']:.2f} "
                f"| {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['rss_after']:.0f} | {r['flat_ms']:.2f} | {r['matmul_ms']:.2f} "
                f"| {r['hnsw_top100_ms']:.2f} |"
            )
    if a.as_json:
        Path(a.as_json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
