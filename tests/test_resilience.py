"""Faults heal and load is held: a partial manifest means rebuild, the export child leaves no temporary files, a
short bounded load on loopback has no errors, and SIGTERM stops the real server within seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("damage", ["without ids", "not an object", "truncated", "ids of the wrong type"])
def test_a_partial_manifest_is_rebuilt(bot, index_dir: Path, tmp_path: Path, damage: str) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from qa.index import MANIFEST, open_index

    folder = tmp_path / "index"
    shutil.copytree(index_dir, folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    broken = {
        "without ids": json.dumps({k: v for k, v in manifest.items() if k != "ids"}),
        "not an object": "[1, 2, 3]",
        "truncated": json.dumps(manifest)[:200],
        "ids of the wrong type": json.dumps(dict(manifest, ids=5)),
    }[damage]
    (folder / MANIFEST).write_text(broken)
    index, status = open_index(folder, bot.kb, bot.retriever._embedder)
    assert status.startswith("built (") and len(index) == len(bot.kb)
    assert str(folder) not in status and str(tmp_path) not in status


def test_old_temporary_export_files_are_swept(tmp_path: Path) -> None:
    from qa.embed import sweep_temporary

    old, fresh = tmp_path / "tmpabc.onnx.tmp", tmp_path / "tmpdef.onnx.tmp"
    old.write_bytes(b"")
    fresh.write_bytes(b"")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    sweep_temporary(tmp_path)
    assert not old.exists() and fresh.exists(), "a live export's own file stays"


def test_a_short_load_has_no_errors(server: str) -> None:
    """8 clients, 200 requests, loopback only; bench/load.py runs the full one (32 clients, 2,000 requests)."""
    questions = ["What is a CNN?", "What comes after Docker?", "How tall is Mount Everest?", "wht is crossvalidation"]

    def client(i: int) -> list[int]:
        with httpx.Client(timeout=30) as c:
            return [c.get(server + "/api/ask", params={"q": questions[j % 4]}).status_code for j in range(i, 200, 8)]

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        codes = [code for codes in pool.map(client, range(8)) for code in codes]
    assert codes.count(200) == 200, {c: codes.count(c) for c in set(codes)}
    assert time.perf_counter() - started < 120


def test_two_workers_both_answer_and_sigterm_stops_them(index_dir: Path, bot) -> None:  # type: ignore[no-untyped-def]
    """`workers=2`: two server processes share the socket, both answer, and SIGTERM ends them all within seconds."""
    import psutil

    port = free_port()
    env = dict(os.environ, ROADMAP_QA_PORT=str(port), ROADMAP_QA_INDEX_DIR=str(index_dir), ROADMAP_QA_WORKERS="2")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        answered_by: set[int] = set()
        deadline = time.monotonic() + 180
        while len(answered_by) < 2 and time.monotonic() < deadline:
            try:  # a new connection each time: the kernel hands them to either process
                r = httpx.get(url + "/api/ask", params={"q": "What is a CNN?"}, timeout=5)
                health = httpx.get(url + "/api/health", timeout=5).json()
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            assert r.status_code == 200 and r.json()["passages"][0]["id"] == "cnn"
            assert health["workers"] == 2
            answered_by.add(health["process"])
        assert len(answered_by) == 2, f"only {answered_by} answered"
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert answered_by <= {p.pid for p in workers}, "the answers came from the server's own worker processes"
        stopped = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        assert time.perf_counter() - stopped < 10
        gone, alive = psutil.wait_procs(workers, timeout=5)
        assert not alive, "worker processes end with the server"
    finally:
        if proc.poll() is None:
            proc.kill()
