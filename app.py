"""The web app, one process: the Gradio chat at `/`, the REST API at `/api`, the widget at `/widget.js`, and (with
`ROADMAP_QA_MCP=true` or `roadmap-qa serve --mcp`) MCP tools at `/mcp/` (streamable HTTP). With `ROADMAP_QA_CHAT=false`
there is no chat and Gradio is never imported: `/` leads to the API's docs.

Importing this module builds the app without starting it (tests use `create_app`); `python app.py` serves it.
Answering logic lives in `qa/`; this file only wires the pieces together.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, RedirectResponse

import qa
from qa import Assistant, Settings
from qa.api import create_api
from qa.balance import ENV as BALANCE_ENV
from qa.balance import Balance, BalanceMiddleware
from qa.guard import CHAT_ENDPOINTS, Guard
from qa.limits import MAX_URL_CHARS
from qa.mcp_tools import create_mcp
from qa.pool import Pool

WIDGET = Path(qa.__file__).resolve().parent / "static" / "widget.js"


# uvicorn options for every server of this app (tests and bench too). SIGTERM or Ctrl-C: open connections (the
# chat's event streams) get two seconds, then the server stops. h11 must read any URL the guard would judge.
SERVER_OPTIONS: dict[str, object] = {"timeout_graceful_shutdown": 2, "http": "h11", "h11_max_incomplete_event_size": MAX_URL_CHARS + 16384}


def create_app(bot: Assistant, settings: Settings) -> FastAPI:
    # Answers come from a bounded pool with a deadline, never the event loop.
    pool = Pool(bot, slots=settings.concurrency, deadline=settings.deadline, threads=settings.threads_per_worker)
    mcp = create_mcp(bot, pool, host=settings.host) if settings.mcp else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            if mcp is None:
                yield
            else:
                async with mcp.session_manager.run():
                    yield
        finally:
            pool.close()

    app = FastAPI(title="roadmap-qa", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    origins = settings.origins or ["*"]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type"],
    )
    ancestors = "*" if "*" in origins else " ".join(["'self'", *origins])

    @app.middleware("http")
    async def embedding_policy(request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", f"frame-ancestors {ancestors}")
        return response

    # Outermost: URL and body limits, closed upload routes and private events, before any routing or parsing.
    app.add_middleware(Guard, public=CHAT_ENDPOINTS if settings.chat else ())
    app.mount("/api", create_api(bot, pool))
    if mcp is not None:
        app.mount("/mcp", mcp.streamable_http_app())

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> FileResponse:
        return FileResponse(WIDGET, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    app.state.pool = pool
    if not settings.chat:
        # The API, the widget and MCP only: Gradio is never imported (a faster start and less memory).
        @app.get("/", include_in_schema=False)
        def home() -> RedirectResponse:
            return RedirectResponse("/api/docs")

        return app
    import gradio as gr

    from qa.chat import CSS, build_chat

    demo = build_chat(bot, settings.concurrency, pool=pool)
    demo.queue(default_concurrency_limit=settings.concurrency)
    app.state.chat = demo
    return gr.mount_gradio_app(app, demo, path="/", mcp_server=False, css=CSS, footer_links=["api"])


def serving(settings: Settings, env: dict[str, str] | None = None) -> Settings:
    """The settings a server runs with: the encoder's threads do not spin between questions (they would take cores
    from the other requests: 1 worker 144 -> 199 asks/s without), unless ROADMAP_QA_ENCODER_SPIN says otherwise."""
    env = os.environ if env is None else env
    return settings if env.get("ROADMAP_QA_ENCODER_SPIN") else dataclasses.replace(settings, encoder_spin=False)


def worker_app() -> FastAPI:
    """One worker process's app when `workers` > 1 (uvicorn imports it by name in each process): the index is already
    built, so it only loads."""
    settings = Settings.from_env()
    app = create_app(Assistant.load(settings=settings), settings)
    table = os.environ.get(BALANCE_ENV)
    if table:  # the supervisor's table of connections per worker (qa.balance)
        balance = Balance(Path(table))
        balance.heartbeat()
        app.add_middleware(BalanceMiddleware, balance=balance)
    return app


def serve(
    host: str | None = None, port: int | None = None, mcp: bool | None = None, serve_only: bool | None = None
) -> None:
    """Load everything (building the index if needed, unless `serve_only`), then serve until interrupted.

    With `workers` > 1, that many processes listen on the port, each a whole app with its own copy of the index
    (answering holds the GIL, so one process never passes one core); this process builds, then supervises them
    (`qa.workers`)."""
    import uvicorn

    settings = serving(Settings.from_env(host=host, port=port, mcp=mcp, serve_only=serve_only))
    started = time.perf_counter()
    workers = settings.answer_workers
    if workers > 1:
        if not settings.serve_only:
            subprocess.run([sys.executable, "-m", "qa", "build-index"], check=True)
        if settings.chat:
            # Gradio keeps each conversation's queue in the process that took it, and a browser's requests reach
            # whichever worker the kernel picks: the join and its event stream on two workers hang the chat.
            print(
                f"roadmap-qa: the chat is not served with {workers} workers (Gradio keeps a conversation in one "
                "process); the API, the widget and MCP are. ROADMAP_QA_WORKERS=1 serves the chat."
            )
            settings = dataclasses.replace(settings, chat=False)
        # The workers read their settings from the environment: these, never building, the cores shared out.
        os.environ.update(
            ROADMAP_QA_HOST=settings.host,
            ROADMAP_QA_PORT=str(settings.port),
            ROADMAP_QA_MCP=str(settings.mcp).lower(),
            ROADMAP_QA_CHAT=str(settings.chat).lower(),
            ROADMAP_QA_SERVE_ONLY="true",
            ROADMAP_QA_ENCODER_THREADS=str(settings.threads_per_worker),
            ROADMAP_QA_ENCODER_SPIN=str(settings.encoder_spin).lower(),
            # numpy's OpenBLAS and FAISS's OpenMP would each start a thread per core in every worker, spinning on
            # the cores the other workers own
            OPENBLAS_NUM_THREADS=str(settings.threads_per_worker),
            OMP_NUM_THREADS=str(settings.threads_per_worker),
        )
        print(f"roadmap-qa: {workers} worker processes, {settings.threads_per_worker} encoder thread(s) each")
    else:
        bot = Assistant.load(settings=settings)
        print(
            f"roadmap-qa: {len(bot.kb)} kb entries, index {bot.index_status}, "
            f"ready in {time.perf_counter() - started:.1f}s"
        )
        app = create_app(bot, settings)
    print(
        f"roadmap-qa: http://{settings.host}:{settings.port}/  " + ("chat /  " if settings.chat else "")
        + "API /api/docs  widget /widget.js" + ("  MCP /mcp/" if settings.mcp else "")
    )
    if workers > 1:
        from qa.workers import ReusePortWorkers

        config = uvicorn.Config(
            "app:worker_app", factory=True, workers=workers, host=settings.host, port=settings.port,
            log_level="warning", **SERVER_OPTIONS,  # type: ignore[arg-type]
        )
        ReusePortWorkers(config).run()
    else:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", **SERVER_OPTIONS)  # type: ignore[arg-type]


if __name__ == "__main__":
    serve()
