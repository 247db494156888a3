"""The web app, one process: the Gradio chat at `/`, the REST API at `/api`, the widget at `/widget.js`, and (with
`ROADMAP_QA_MCP=true` or `roadmap-qa serve --mcp`) MCP tools at `/mcp/` (streamable HTTP).

Importing this module builds the app without starting it (tests use `create_app`); `python app.py` serves it.
Answering logic lives in `qa/`; this file only wires the pieces together.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse

import qa
from qa import Assistant, Settings
from qa.api import create_api
from qa.chat import API_NAMES, CSS, build_chat
from qa.guard import Guard
from qa.limits import MAX_URL_CHARS
from qa.mcp_tools import create_mcp
from qa.pool import Pool

WIDGET = Path(qa.__file__).resolve().parent / "static" / "widget.js"


# uvicorn options for every server of this app (tests and bench too). SIGTERM or Ctrl-C: open connections (the
# chat's event streams) get two seconds, then the server stops. h11 must read any URL the guard would judge.
SERVER_OPTIONS: dict[str, object] = {"timeout_graceful_shutdown": 2, "h11_max_incomplete_event_size": MAX_URL_CHARS + 16384}


def create_app(bot: Assistant, settings: Settings) -> FastAPI:
    # Answers come from a bounded pool with a deadline (processes when `workers` > 1), never the event loop.
    pool = Pool(bot, workers=settings.answer_workers, slots=settings.concurrency, deadline=settings.deadline)
    mcp = create_mcp(bot, pool, host=settings.host) if settings.mcp else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.start()
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
    app.add_middleware(Guard, public=API_NAMES)
    app.mount("/api", create_api(bot, pool))
    if mcp is not None:
        app.mount("/mcp", mcp.streamable_http_app())

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> FileResponse:
        return FileResponse(WIDGET, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    demo = build_chat(bot, settings.concurrency, pool=pool)
    demo.queue(default_concurrency_limit=settings.concurrency)
    app.state.chat = demo
    app.state.pool = pool
    return gr.mount_gradio_app(app, demo, path="/", mcp_server=False, css=CSS, footer_links=["api"])


def serve(
    host: str | None = None, port: int | None = None, mcp: bool | None = None, serve_only: bool | None = None
) -> None:
    """Load everything (building the index if needed, unless `serve_only`), then serve until interrupted."""
    import uvicorn

    settings = Settings.from_env(host=host, port=port, mcp=mcp, serve_only=serve_only)
    started = time.perf_counter()
    bot = Assistant.load(settings=settings)
    print(
        f"roadmap-qa: {len(bot.kb)} kb entries, index {bot.index_status}, ready in {time.perf_counter() - started:.1f}s"
    )
    print(
        f"roadmap-qa: chat http://{settings.host}:{settings.port}/  API /api/docs  widget /widget.js"
        + ("  MCP /mcp/" if settings.mcp else "")
    )
    uvicorn.run(
        create_app(bot, settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        **SERVER_OPTIONS,
    )


if __name__ == "__main__":
    serve()
