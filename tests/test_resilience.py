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
    """`workers=2`: two server processes listen on the port, both answer, connections opened all at once are spread
    over both (with one shared socket, the first process to wake accepted all of them), and SIGTERM ends them all."""
    import socket

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
        # Gradio keeps a conversation's queue in one process, so with several workers the chat is not served (its
        # join and event stream reached two workers and hung); the API, widget and MCP are, and / says where to go.
        home = httpx.get(url + "/", timeout=10)
        assert home.status_code == 307 and home.headers["location"] == "/api/docs"
        assert httpx.get(url + "/gradio_api/info", timeout=10).status_code == 404
        assert httpx.get(url + "/widget.js", timeout=10).status_code == 200
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert answered_by <= {p.pid for p in workers}, "the answers came from the server's own worker processes"

        # 16 connections opened before any request, as a load balancer or a burst of browsers does; then each asks
        # which process holds it. All 16 on one process has odds of 1 in 32,768 when the kernel spreads them.
        conns = [socket.socket() for _ in range(16)]
        for c in conns:  # all connecting at once, as wrk's do: none waits for the one before to be accepted
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
        holders = []
        for c in conns:
            c.settimeout(10)
            c.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            body = b""
            while chunk := c.recv(65536):
                body += chunk
            c.close()
            holders.append(json.loads(body.split(b"\r\n\r\n", 1)[1])["process"])
        assert set(holders) == answered_by, f"a burst of connections all went to one process: {holders}"

        # 24 keep-alive clients asking again and again end up 12 on each process (qa.balance): a process holding
        # more than its share closes one of them now and then, and the client's new connection lands afresh.
        clients = [httpx.Client(base_url=url, timeout=10, limits=httpx.Limits(max_connections=1)) for _ in range(24)]
        try:
            splits = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                held = [c.get("/api/health").json()["process"] for c in clients]
                splits.append(sorted(held.count(pid) for pid in answered_by))
                if splits[-1] == [12, 12]:
                    break
                time.sleep(0.05)
            assert splits[-1] == [12, 12], f"the connections stayed uneven: {splits[0]} ... {splits[-1]}"
        finally:
            for c in clients:
                c.close()

        stopped = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        assert time.perf_counter() - stopped < 10
        gone, alive = psutil.wait_procs(workers, timeout=5)
        assert not alive, "worker processes end with the server"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_workers_refuse_a_port_already_in_use(index_dir: Path, bot) -> None:  # type: ignore[no-untyped-def]
    """Each worker's socket may share the port with its siblings (SO_REUSEPORT); that must never let it join another
    server listening there: the start stops with one line naming the address."""
    import socket

    port = free_port()
    other = socket.socket()
    other.bind(("127.0.0.1", port))
    other.listen()
    try:
        env = dict(os.environ, ROADMAP_QA_PORT=str(port), ROADMAP_QA_INDEX_DIR=str(index_dir), ROADMAP_QA_WORKERS="2")
        done = subprocess.run([sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    finally:
        other.close()
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
