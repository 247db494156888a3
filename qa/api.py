"""The REST API under `/api`: the Python API's calls over HTTP, same JSON shapes as `to_dict()`.

Unknown topics are 404 with `suggestions`; bad input is a 4xx with a one-sentence `detail`; never a 500 for input.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from kb import KbError, RoadmapError, UnknownTopicError
from qa.assistant import Assistant
from qa.errors import BadQuestionError
from qa.limits import MAX_HISTORY, MAX_QUESTION_CHARS


class AskBody(BaseModel):
    q: str = Field(description="The question.", examples=["What should I learn before CNNs?"])
    history: list[str] = Field(default_factory=list, description="Earlier user messages, oldest first.")
    known: list[str] = Field(default_factory=list, description="Topics the learner already knows (ids or titles).")


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


class TopicOut(BaseModel, extra="allow"):
    id: str
    kind: str
    title: str
    summary: str


class ErrorOut(BaseModel):
    detail: str
    suggestions: list[str] = []


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "Unknown topic; `suggestions` lists the closest ones."},
    400: {"model": ErrorOut, "description": "Bad input."},
}


def _list(known: str | None) -> list[str]:
    return [k.strip() for k in (known or "").split(",") if k.strip()]


def create_api(bot: Assistant) -> FastAPI:
    """The `/api` application (mount it at `/api`); its OpenAPI document is served at `/api/openapi.json`."""
    api = FastAPI(
        title="roadmap-qa API",
        version="1",
        description="Questions and learning paths for the machine-learning-engineer roadmap.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )

    @api.exception_handler(UnknownTopicError)
    async def unknown_topic(_: Request, e: UnknownTopicError) -> JSONResponse:
        return JSONResponse({"detail": str(e), "suggestions": e.suggestions}, status_code=404)

    @api.exception_handler(BadQuestionError)
    async def bad_question(_: Request, e: BadQuestionError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=400)

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x not in ("query", "body"))
        detail = f"{where}: {first.get('msg', 'invalid input')}" if where else first.get("msg", "invalid input")
        return JSONResponse({"detail": detail}, status_code=422)

    @api.exception_handler(KbError)
    async def broken_kb(_: Request, e: KbError) -> JSONResponse:
        return JSONResponse({"detail": f"the knowledge base is broken: {e}"}, status_code=503)

    @api.exception_handler(RoadmapError)
    async def other(_: Request, e: RoadmapError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=400)

    def _ask(q: str, history: list[str], known: list[str]) -> dict[str, Any]:
        return bot.ask(q, history=history, known=known).to_dict()

    @api.get("/ask", response_model=AnswerOut, responses=_ERRORS, summary="Answer a question")
    def ask_get(
        q: str = Query(description="The question.", max_length=MAX_QUESTION_CHARS),
        known: str | None = Query(None, description="Comma-separated topics already known."),
    ) -> dict[str, Any]:
        return _ask(q, [], _list(known))

    @api.post("/ask", response_model=AnswerOut, responses=_ERRORS, summary="Answer a question in a conversation")
    def ask_post(body: AskBody) -> dict[str, Any]:
        return _ask(body.q, body.history[-MAX_HISTORY:], body.known)

    @api.get("/topics", response_model=list[TopicOut], summary="Every kb entry")
    def topics(kind: str | None = Query(None, pattern="^(concept|faq|misconception)$")) -> list[dict[str, Any]]:
        return [t.to_dict() for t in bot.entries(kind)]

    @api.get("/topics/{ref}", response_model=TopicOut, responses=_ERRORS, summary="One entry by id, title or alias")
    def topic(ref: str) -> dict[str, Any]:
        return bot.topic(ref).to_dict()

    @api.get("/topics/{ref}/prerequisites", response_model=list[TopicRef], responses=_ERRORS)
    def prerequisites(ref: str, all: bool = Query(False, description="All of them, in learning order.")) -> Any:  # noqa: A002
        return [t.ref() for t in bot.prerequisites(ref, transitive=all)]

    @api.get("/topics/{ref}/next", response_model=list[TopicRef], responses=_ERRORS)
    def next_topics(ref: str, known: str | None = Query(None)) -> Any:
        return [t.ref() for t in bot.next_topics(ref, known=_list(known))]

    @api.get("/path", response_model=list[TopicRef], responses=_ERRORS, summary="A learning path to a target")
    def path(target: str = Query(min_length=1), known: str | None = Query(None)) -> Any:
        return [t.ref() for t in bot.learning_path(target, known=_list(known))]

    @api.get("/health", summary="Readiness: the kb size and the index status")
    def health() -> dict[str, Any]:
        return {"status": "ok", "kb": bot.kb.stats(), "index": bot.index_status, "retriever": bot.mode}

    return api
