"""Typed shapes of what the Gradio endpoints and the MCP tools return, so `gradio_client.view_api()` and MCP's
output schemas describe each field instead of `Any`. The same shapes as `Answer.to_dict()` and `Topic.ref()`."""

from __future__ import annotations

# typing_extensions' TypedDict: pydantic (MCP's output schemas) needs it on Python < 3.12
from typing_extensions import NotRequired, TypedDict


class TopicRef(TypedDict):
    id: str
    title: str


class Passage(TypedDict):
    id: str
    kind: str
    title: str
    text: str
    score: float


class AnswerDict(TypedDict):
    """`Answer.to_dict()`: what the Gradio `/ask` endpoint returns."""

    question: str
    intent: str
    confident: bool
    answer: str
    topic: TopicRef | None
    passages: list[Passage]
    prerequisites: list[TopicRef]
    next_topics: list[TopicRef]
    compared: list[TopicRef]
    assumed_known: list[TopicRef]


class Source(TypedDict):
    id: str
    kind: str
    title: str
    text: NotRequired[str]  # only when the caller asks for the passages' full text


class AskResult(TypedDict):
    """What the `roadmap_ask` MCP tool returns: the answer without the passages' full text (unless asked for)."""

    intent: str
    confident: bool
    answer: str
    topic: TopicRef | None
    sources: list[Source]
    prerequisites: list[TopicRef]
    next_topics: list[TopicRef]
    compared: list[TopicRef]
    assumed_known: list[TopicRef]


class TopicInfo(TypedDict):
    id: str
    kind: str
    title: str
    summary: str
    aliases: list[str]
    prerequisites: list[TopicRef]
    next_topics: list[TopicRef]


class TopicList(TypedDict):
    topics: list[TopicRef]
