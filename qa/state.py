"""A conversation's state, rebuilt from its earlier user messages: the topic it is about, what the last answer listed,
what the learner said they know. No server keeps conversations: every replica replays the same history to the same
state, so a follow-up is answered the same way wherever it lands.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.answer import Answer

# Which direction a walk along the graph goes, by the intent that listed the topics.
_DIRECTION = {"prerequisites": "back", "learning_path": "back", "next_topics": "forward"}


@dataclass(frozen=True)
class State:
    """What a conversation has established so far. Empty for a first question."""

    topic: str | None = None  # the concept the conversation is about
    intent: str | None = None  # the last answered intent
    listed: tuple[str, ...] = ()  # the topics the last answer listed, in its order (before, next or path)
    shown: tuple[str, ...] = ()  # every topic listed so far while walking one way along the graph
    known: tuple[str, ...] = ()  # topics the learner knows: given, said ("I know Python") or from a background

    @property
    def direction(self) -> str | None:
        return _DIRECTION.get(self.intent or "")

    def after(self, answer: Answer, known: tuple[str, ...] = (), picked: bool = False) -> State:
        """The state once `answer` has been given; an unanswered turn (small talk, off topic) changes nothing but
        what the learner said they know. After `picked` (a topic chosen from the list: "the second one"), the list
        stays, so "and the third one?" still counts along it."""
        known = tuple(dict.fromkeys([*self.known, *known, *(t["id"] for t in answer.assumed_known)]))
        if not answer.confident or answer.topic is None:
            return replace(self, known=known)
        if picked:
            return replace(self, topic=answer.topic["id"], intent=answer.intent, known=known)
        if answer.intent in ("prerequisites", "learning_path"):
            listed = tuple(t["id"] for t in answer.prerequisites)
        elif answer.intent == "comparison":
            listed = tuple(t["id"] for t in answer.compared)
        else:
            listed = tuple(t["id"] for t in answer.next_topics)
        walking = (
            _DIRECTION.get(answer.intent) is not None
            and _DIRECTION.get(answer.intent) == self.direction
            and answer.topic["id"] == self.topic
        )
        shown = tuple(dict.fromkeys([*(self.shown if walking else (answer.topic["id"],)), *listed]))
        return State(answer.topic["id"], answer.intent, listed, shown, known)
