"""The REST API under `/api`: the Python API's calls over HTTP, same JSON shapes as `to_dict()`.

Unknown topics are 404 with `suggestions`; bad input is a 4xx with a one-sentence `detail`; never a 500 for input.
"""

from __future__ import annotations

import os
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field, StringConstraints
from starlette.exceptions import HTTPException
from starlette.routing import Match

from kb import RoadmapError, UnknownTopicError
from qa.assistant import Assistant
from qa.errors import BadQuestionError
from qa.limits import (
    MAX_BODY_BYTES,
    MAX_HISTORY,
    MAX_HISTORY_ITEM_CHARS,
    MAX_KNOWN,
    MAX_KNOWN_CHARS,
    MAX_QUESTION_CHARS,
    MAX_REF_CHARS,
    MAX_URL_CHARS,
)
from qa.pool import Pool, Refusal, refusal
from qa.starters import STARTERS

# The question must hold something besides white space (an empty one is refused before any work).
QUESTION = r"\S"
Question = Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=QUESTION)]
HistoryItem = Annotated[str, StringConstraints(max_length=MAX_HISTORY_ITEM_CHARS)]
Ref = Annotated[str, StringConstraints(max_length=MAX_REF_CHARS)]
UNKNOWN_HEADER = "X-Unknown-Known"  # the `known` refs an ask left out because the kb has no such topic


class AskBody(BaseModel):
    q: Question = Field(description="The question.", examples=["What should I learn before CNNs?"])
    history: list[HistoryItem] = Field(
        default_factory=list,
        description=f"Earlier user messages, oldest first; only the newest {MAX_HISTORY} are read.",
    )
    known: list[Ref] = Field(
        default_factory=list,
        max_length=MAX_KNOWN,
        description="Topics the learner already knows (ids or titles); unknown ones are left out and named in the "
        f"`{UNKNOWN_HEADER}` header.",
    )


class TopicRef(BaseModel):
    id: str
    title: str


class PassageOut(BaseModel):
    id: str
    kind: str
    title: str
    text: str
    score: float


class AnswerOut(BaseModel):
    question: str
    intent: str
    confident: bool
    answer: str
    topic: TopicRef | None
    passages: list[PassageOut]
    prerequisites: list[TopicRef]
    next_topics: list[TopicRef]
    compared: list[TopicRef] = Field(description="The topics a comparison answer sets side by side, else [].")
    assumed_known: list[TopicRef] = Field(description="Topics taken as known from a background the learner stated.")


class TopicOut(BaseModel, extra="allow"):
    id: str
    kind: str
    title: str
    summary: str


class ErrorOut(BaseModel):
    detail: str = Field(description="One sentence saying what was wrong.")
    suggestions: list[str] = Field(default=[], description="For an unknown topic: the closest ones.")


_BASE: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad input (e.g. a question of white space only)."},
    422: {"model": ErrorOut, "description": "A parameter is missing, of the wrong type, or over its limit."},
    503: {"model": ErrorOut, "description": "No answer within the deadline (the server is busy); try again."},
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    **_BASE,
    404: {"model": ErrorOut, "description": "Unknown topic; `suggestions` lists the closest ones."},
}
_ASK: dict[int | str, dict[str, Any]] = {
    **_BASE,
    200: {
        "description": "The answer.",
        "headers": {
            UNKNOWN_HEADER: {
                "description": "The `known` topics left out as unknown, URL-encoded, comma-separated.",
                "schema": {"type": "string"},
            }
        },
    },
}


def _list(known: str | None) -> list[str]:
    """A comma-separated `known` query parameter as refs, in order, without repeats. A ref over MAX_REF_CHARS names no
    topic: for a path it is an unknown topic (404); an ask leaves it out, as it does any unknown topic."""
    refs = list(dict.fromkeys(k.strip() for k in (known or "").split(",") if k.strip()))
    if len(refs) > MAX_KNOWN:
        raise BadQuestionError(f"too many known topics ({len(refs)}; at most {MAX_KNOWN})")
    return refs


def _named(refs: list[str]) -> list[str]:
    """`refs` for a graph call, where a ref no topic could have is an unknown topic."""
    for ref in refs:
        if len(ref) > MAX_REF_CHARS:
            raise UnknownTopicError(ref[:40], reason=f"unknown topic '{ref[:40]}...' (longer than any topic name)")
    return refs


def _answered(result: tuple[dict[str, Any], list[str]], response: Response) -> dict[str, Any]:
    answer, dropped = result
    if dropped:
        response.headers[UNKNOWN_HEADER] = ",".join(quote(r, safe="") for r in dropped)
    return answer


def create_api(bot: Assistant, pool: Pool | None = None) -> FastAPI:
    """The `/api` application (mount it at `/api`); its OpenAPI document is served at `/api/openapi.json`.

    Answering runs in `pool` (by default a few threads in this process) with its deadline."""
    pool = pool or Pool(bot)
    # Swagger UI's script and styles are served from this app (fastapi-offline ships them): /api/docs works offline.
    api = FastAPIOffline(
        title="roadmap-qa API",
        version="1",
        description="Questions and learning paths for the machine-learning-engineer roadmap. "
        f"Every input has a limit: a URL of at most {MAX_URL_CHARS} characters, a body of at most {MAX_BODY_BYTES} "
        "bytes (413 above), and the lengths declared on each parameter.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        static_url="/docs-assets",
    )

    @api.exception_handler(Refusal)
    async def refused(_: Request, e: Refusal) -> JSONResponse:
        return JSONResponse(e.to_dict(), status_code=e.status)

    @api.exception_handler(RoadmapError)
    async def ours(_: Request, e: RoadmapError) -> JSONResponse:
        r = refusal(e)
        return JSONResponse(r.to_dict(), status_code=r.status)

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x not in ("query", "body", "path"))
        msg = first.get("msg", "invalid input")
        if first.get("type") == "string_pattern_mismatch" and where in ("q", "body.q"):
            msg = "the question is empty: ask something about the ML-engineer roadmap"
        return JSONResponse({"detail": f"{where}: {msg}" if where else msg}, status_code=422)

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException) -> JSONResponse:
        headers = dict(e.headers or {})
        if e.status_code == 405:  # name every method the path takes, not just the first route's
            methods = {m for r in api.routes if r.matches(request.scope)[0] != Match.NONE for m in getattr(r, "methods", None) or ()}
            headers["Allow"] = ", ".join(sorted(methods | {"OPTIONS"}))
        return JSONResponse({"detail": str(e.detail)}, status_code=e.status_code, headers=headers)

    @api.get("/ask", response_model=AnswerOut, responses=_ASK, summary="Answer a question")
    async def ask_get(
        response: Response,
        q: str = Query(description="The question.", min_length=1, max_length=MAX_QUESTION_CHARS, pattern=QUESTION),
        known: str | None = Query(None, max_length=MAX_KNOWN_CHARS, description="Comma-separated topics already known."),
    ) -> dict[str, Any]:
        return _answered(await pool.call("ask", q, [], _list(known)), response)

    @api.post("/ask", response_model=AnswerOut, responses=_ASK, summary="Answer a question in a conversation")
    async def ask_post(body: AskBody, response: Response) -> dict[str, Any]:
        return _answered(await pool.call("ask", body.q, body.history[-MAX_HISTORY:], body.known), response)

    @api.get("/topics", response_model=list[TopicOut], responses=_BASE, summary="Every kb entry")
    def topics(kind: str | None = Query(None, pattern="^(concept|faq|misconception)$")) -> list[dict[str, Any]]:
        return [t.to_dict() for t in bot.entries(kind)]

    RefPath = Path(description="An id, title or alias.", max_length=MAX_REF_CHARS)

    @api.get("/topics/{ref}", response_model=TopicOut, responses=_ERRORS, summary="One entry by id, title or alias")
    async def topic(ref: str = RefPath) -> dict[str, Any]:
        return await pool.call("topic", ref)

    @api.get("/topics/{ref}/prerequisites", response_model=list[TopicRef], responses=_ERRORS)
    async def prerequisites(
        ref: str = RefPath,
        all: bool = Query(False, description="All of them, in learning order."),  # noqa: A002
    ) -> Any:
        return await pool.call("prerequisites", ref, all)

    @api.get("/topics/{ref}/next", response_model=list[TopicRef], responses=_ERRORS)
    async def next_topics(ref: str = RefPath, known: str | None = Query(None, max_length=MAX_KNOWN_CHARS)) -> Any:
        return await pool.call("next", ref, _named(_list(known)))

    @api.get("/path", response_model=list[TopicRef], responses=_ERRORS, summary="A learning path to a target")
    async def path(
        target: str = Query(min_length=1, max_length=MAX_REF_CHARS),
        known: str | None = Query(None, max_length=MAX_KNOWN_CHARS),
    ) -> Any:
        return await pool.call("path", target, _named(_list(known)))

    @api.get("/starters", response_model=list[str], summary="Questions to start a conversation with")
    def starters() -> list[str]:
        return list(STARTERS)

    @api.get("/health", summary="Readiness: the kb size, the index state and the answering pool")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            # The server listens only once the index is loaded, so this is true whenever it answers; a probe (or a
            # test app over a lazy assistant) can still tell.
            "ready": bot.index_status.startswith(("loaded", "built")),
            "kb": bot.kb.stats(),
            "index": bot.index_status.split(" ", 1)[0],  # "loaded" or "built": never a path or an error's text
            "retriever": bot.mode,
            "workers": bot.settings.answer_workers,  # server processes; this answer came from one of them
            "process": os.getpid(),
            "busy": pool.busy,
        }

    return api
