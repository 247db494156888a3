"""Composing the answer a learner reads: the direct answer from the best passage first, then what to learn before
and after it from the graph, then the sources it rests on. Markdown, as the chat shows it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kb import Background, Topic
from qa.retrieve import Passage

KIND_LABEL = {"concept": "concept", "faq": "FAQ", "misconception": "misconception"}
MAX_LISTED = 8  # longer lists are cut, with a count of what was left out


@dataclass(frozen=True)
class Answer:
    """What `Assistant.ask` returns; `to_dict()` is the wire shape of the contract."""

    question: str
    intent: str
    confident: bool
    answer: str
    topic: dict[str, str] | None
    passages: list[Passage] = field(default_factory=list)
    prerequisites: list[dict[str, str]] = field(default_factory=list)
    next_topics: list[dict[str, str]] = field(default_factory=list)
    compared: list[dict[str, str]] = field(default_factory=list)
    assumed_known: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "intent": self.intent,
            "confident": self.confident,
            "answer": self.answer,
            "topic": self.topic,
            "passages": [p.to_dict() for p in self.passages],
            "prerequisites": list(self.prerequisites),
            "next_topics": list(self.next_topics),
            "compared": list(self.compared),
            "assumed_known": list(self.assumed_known),
        }


def first_sentence(text: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", " ".join(text.split()))
    return m.group(1) if m else text


def _numbered(topics: Sequence[Topic], with_gist: bool = False) -> str:
    lines = []
    for i, t in enumerate(topics[:MAX_LISTED], 1):
        lines.append(f"{i}. **{t.title}**" + (f": {first_sentence(t.summary)}" if with_gist else ""))
    if len(topics) > MAX_LISTED:
        lines.append(f"{len(topics) - MAX_LISTED} more after these.")
    return "\n".join(lines)


def _inline(topics: Sequence[Topic]) -> str:
    shown = ", ".join(t.title for t in topics[:MAX_LISTED])
    return shown + (f" (+{len(topics) - MAX_LISTED} more)" if len(topics) > MAX_LISTED else "")


def _sources(passages: Sequence[Passage]) -> str:
    return "*Sources:* " + "; ".join(f"{p.title} ({KIND_LABEL[p.kind]})" for p in passages)


def _body(entry: Topic, style: str | None = None) -> str:
    if style == "short" and entry.in_short:
        return f"**{entry.title}, in one line:** {entry.in_short}"
    if style == "example" and entry.example:
        return f"**{entry.title}, an example:** {entry.example}"
    if style == "short":
        return f"**{entry.title}, in one line:** {first_sentence(entry.summary)}"
    if entry.kind == "faq":
        return f"**{entry.title}**\n\n{entry.summary}"
    if entry.kind == "misconception":
        return f'**Not quite: "{entry.title}" is a common misconception.**\n\n{entry.summary}'
    return f"**{entry.title}**: {entry.summary}"


def compose(
    intent: str,
    lead: Topic | None,
    topic: Topic | None,
    prerequisites: Sequence[Topic],
    next_topics: Sequence[Topic],
    sources: Sequence[Passage],
    known: Sequence[Topic] = (),
    transitive_count: int = 0,
    style: str | None = None,
    further: bool = False,
) -> str:
    """The Markdown answer for a confident question. `style` ("short", "example") reshapes a definition;
    `further` marks a follow-up that walks one more step along the graph."""
    parts: list[str] = []
    if further and topic is not None:
        listed = prerequisites if intent == "prerequisites" else next_topics
        way = "Further back" if intent == "prerequisites" else "Further on"
        if listed:
            return f"**{way} on the way to {topic.title}:**\n\n{_numbered(listed, with_gist=True)}"
        end = "the start of the roadmap" if intent == "prerequisites" else "as far as this roadmap goes"
        return f"That is {end} on this branch: nothing more to add for **{topic.title}**."
    if intent == "prerequisites" and topic is not None:
        if prerequisites:
            parts.append(f"**Before {topic.title}, learn:**\n\n{_numbered(prerequisites, with_gist=True)}")
            if transitive_count > len(prerequisites):
                parts.append(
                    f"Counting what those stand on, the full path to {topic.title} has {transitive_count} topics: "
                    f"ask for the learning path to {topic.title} to see them in order."
                )
        else:
            parts.append(f"**{topic.title}** is a starting point: it needs nothing else from the roadmap first.")
        parts.append(f"*{topic.title}:* {first_sentence(topic.summary)}")
    elif intent == "next_topics" and topic is not None:
        if next_topics:
            parts.append(f"**After {topic.title}, learn next:**\n\n{_numbered(next_topics, with_gist=True)}")
        else:
            parts.append(f"**{topic.title}** is as far as this roadmap goes on that branch.")
    elif intent == "learning_path" and topic is not None:
        skip = f" (skipping what you know: {_inline(known)})" if known else ""
        path = [*prerequisites, topic]
        if prerequisites or topic not in known:
            parts.append(f"**Your path to {topic.title}**{skip}, each step after what it needs:\n\n{_numbered(path)}")
        else:
            parts.append(f"You already know **{topic.title}**.")
    elif lead is not None:
        parts.append(_body(lead, style))
    if intent not in ("prerequisites", "learning_path") and prerequisites:
        parts.append(f"**Learn first:** {_inline(prerequisites)}")
    if intent != "next_topics" and next_topics:
        parts.append(f"**Learn next:** {_inline(next_topics)}")
    if sources:
        parts.append(_sources(sources))
    return "\n\n".join(parts)


def _bold_titles(topics: Sequence[Topic]) -> str:
    return ", ".join(f"**{t.title}**" for t in topics)


def out_of_scope(suggestions: Sequence[Topic]) -> str:
    """The honest reply when the kb holds nothing that answers the question."""
    return (
        "I couldn't find that in the ML-engineer roadmap, so I won't guess. I can explain roadmap topics, say what "
        f"to learn before or after one, and plan a learning path. For example, ask about {_bold_titles(suggestions)}."
    )


def greeting(kind: str, suggestions: Sequence[Topic]) -> str:
    """The reply to small talk ("hello", "thanks", "bye"): no search, just what the assistant is for."""
    opening = {
        "hello": "Hi! I answer questions about the road to machine-learning engineering",
        "thanks": "Glad it helped. Ask me more about the road to machine-learning engineering",
        "bye": "Good luck with your learning! Come back any time with questions about the road to ML engineering",
    }[kind]
    return (
        f"{opening}: what a topic is, what to learn before it, what comes after it, and a learning path to it from "
        f"what you know. Try one of {_bold_titles(suggestions)}."
    )


def needs_topic(intent: str, suggestions: Sequence[Topic]) -> str:
    """The reply to "what next?" with nothing said before it: which topic is meant?"""
    ask = {
        "prerequisites": 'what to learn before a topic, name it: "What should I learn before CNNs?"',
        "next_topics": 'what comes next, tell me what you have learned: "What comes after Python?"',
        "learning_path": 'a learning path, name where you want to get: "How do I get to deep learning?"',
    }[intent]
    return f"To say {ask}. If you are just starting, begin with {_bold_titles(suggestions)}."


def compare_text(
    a: Topic, b: Topic, shared: Sequence[Topic], sources: Sequence[Passage], lead: Topic | None = None
) -> str:
    """Two concepts side by side: each in a line, what they share, and how they differ; `lead`, an entry that
    answers the comparison itself, comes first."""

    def line(t: Topic) -> str:
        return t.in_short or first_sentence(t.summary)

    head = _body(lead) if lead is not None else f"**{a.title} vs {b.title}**"
    parts = [head, f"- **{a.title}:** {line(a)}", f"- **{b.title}:** {line(b)}"]
    if shared:
        parts.append(f"**In common:** both build on {_inline(shared)}.")
    if a.category == b.category:
        parts.append(f"Both belong to {a.category}.")
    parts.append(f"**How they differ:** {first_sentence(a.summary)} {first_sentence(b.summary)}")
    if sources:
        parts.append(_sources(sources))
    return "\n\n".join(parts[:1] + ["\n".join(parts[1:3])] + parts[3:])


def path_text(
    target: Topic,
    steps: Sequence[Topic],
    assumed: Sequence[Topic],
    background: Background | None,
    known: Sequence[str],
    note: str = "",
    known_topics: Sequence[Topic] = (),
) -> str:
    """A learning path: from a stated background (what it assumes, said plainly) or from the start."""
    parts: list[str] = []
    if background is not None:
        taken = f", so I'll take {_inline(assumed)} as known" if assumed else ""
        parts.append(
            f"As a **{background.title.lower()}** you likely know some of this already{taken}. "
            "Change that under \"Topics I already know\" if it's not right."
        )
    if steps:
        if background is not None or note:
            head = f"**Your next steps towards {target.title}:**" if known else (
                f"**Start here, in this order, on the way to {target.title}:**"
            )
        else:
            skip = f" (skipping what you know: {_inline(known_topics)})" if known_topics else ""
            head = f"**Your path to {target.title}**{skip}, each step after what it needs:"
        parts.append(f"{head}\n\n{_numbered([*steps, target] if not note else steps, with_gist=True)}")
    elif note or not known:
        parts.append(f"That was the last step: next comes **{target.title}** itself.")
    else:
        parts.append(f"You already know everything on the way to **{target.title}**.")
    if note:
        parts.append(note)
    return "\n\n".join(parts)
