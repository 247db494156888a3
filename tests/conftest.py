"""Shared fixtures. The real kb, the real model and a real FAISS index; built once per session in a temp folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import kb as kbase
from qa import Assistant

FIXTURES = Path(__file__).parent / "fixtures"
MINI_KB = FIXTURES / "mini_kb"


@pytest.fixture(scope="session")
def real_kb() -> kbase.KnowledgeBase:
    return kbase.load_kb()


@pytest.fixture(scope="session")
def graph_bot() -> Assistant:
    """The real kb without the retriever: graph queries only."""
    return Assistant.load(lazy=True)


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def bot(index_dir: Path) -> Assistant:
    """The real kb, the real model and a real index built in a session temp folder, with the ONNX query encoder
    exported as `make run` leaves it (so every test, and every CLI run on this folder, meets the same set-up)."""
    bot = Assistant.load(index_dir=index_dir, lazy=True)
    bot.warm()
    return bot


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the real kb's data folder."""
    dst = tmp_path / "kb"
    shutil.copytree(kbase.DEFAULT_KB_DIR, dst)
    return dst


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A real uvicorn server on a loopback port, in a background thread."""

    def __init__(self, app: object) -> None:
        import threading

        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        from app import SERVER_OPTIONS

        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", **SERVER_OPTIONS)  # type: ignore[arg-type]
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


@pytest.fixture(scope="session")
def live_app(bot: Assistant):  # type: ignore[no-untyped-def]
    """The whole app (chat, API, widget, MCP) served from the session's bot on a free loopback port: (url, app)."""
    from app import create_app
    from qa import Settings

    app = create_app(bot, Settings.from_env(env={}, mcp=True))
    with LiveServer(app) as live:
        yield live.url, app


@pytest.fixture(scope="session")
def server(live_app) -> str:  # type: ignore[no-untyped-def]
    return live_app[0]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    out = Path(__file__).resolve().parent.parent / "artifacts"
    out.mkdir(exist_ok=True)
    return out
