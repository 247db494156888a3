"""Question answering over the ML-engineer roadmap: `Assistant.load().ask("What is a CNN?")`."""

from __future__ import annotations

from kb import KbError, RoadmapError, Topic, UnknownTopicError
from qa.answer import Answer
from qa.assistant import Assistant
from qa.errors import BadQuestionError, IndexStoreError
from qa.retrieve import Passage
from qa.settings import RETRIEVERS, Settings

__all__ = [
    "RETRIEVERS",
    "Answer",
    "Assistant",
    "BadQuestionError",
    "IndexStoreError",
    "KbError",
    "Passage",
    "RoadmapError",
    "Settings",
    "Topic",
    "UnknownTopicError",
]
