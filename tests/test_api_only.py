"""`ROADMAP_QA_CHAT=false`: the API, the widget and MCP without the Gradio chat, for pods that only serve embedded
widgets and API calls (a faster start and less memory: Gradio is never imported)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

REPO = Path(__file__).resolve().parent.parent


def test_without_the_chat_gradio_is_never_imported(index_dir: Path, bot) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys, app\n"
        "from qa import Assistant, Settings\n"
        "s = Settings.from_env(chat=False, serve_only=True)\n"
        "app.create_app(Assistant.load(settings=s), s)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'gradio', 'torch', 'sentence_transformers'}))\n"
    )
    env = dict(os.environ, ROADMAP_QA_INDEX_DIR=str(index_dir))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_without_the_chat_the_api_widget_and_mcp_still_serve(index_dir: Path, bot) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = dict(
        os.environ, ROADMAP_QA_PORT=str(port), ROADMAP_QA_INDEX_DIR=str(index_dir), ROADMAP_QA_CHAT="false",
        ROADMAP_QA_MCP="true",
    )  # fmt: skip
    cmd = [sys.executable, "-m", "qa", "serve", "--serve-only"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                r = httpx.get(url + "/api/ask", params={"q": "What is a CNN?"}, timeout=5)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, "the API-only server did not start"
                time.sleep(0.3)
        assert r.status_code == 200 and r.json()["passages"][0]["id"] == "cnn"
        home = httpx.get(url + "/", timeout=5)
        assert home.status_code in (302, 307) and home.headers["location"] == "/api/docs"
        assert httpx.get(url + "/widget.js", timeout=5).status_code == 200
        assert httpx.get(url + "/api/docs", timeout=5).status_code == 200
        assert httpx.get(url + "/gradio_api/info", timeout=5).status_code == 404
        mcp = httpx.post(
            url + "/mcp/",
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
            headers={"Accept": "application/json, text/event-stream"},
            timeout=10,
        )  # fmt: skip
        assert mcp.status_code == 200 and "roadmap" in mcp.text.lower()
    finally:
        proc.terminate()
        proc.wait(15)
