"""What the chat's events do: answer a question, show its topics as buttons and its learning path as a picture, keep
the conversation in the browser, clear it. The layout that wires these to components is `qa/chat.py`.

Every handler returns a `ChatView` turned into the list of component updates the layout declares (`Outputs.of`), so
the order of outputs lives in one place.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from kb import RoadmapError
from qa.answer import MAX_LISTED
from qa.assistant import Assistant
from qa.pathview import path_svg
from qa.pool import Pool, Refusal, run_op
from qa.wire import AnswerDict, TopicRef

SLOTS = MAX_LISTED  # topic buttons per row: the answer text lists the same number, then "N more after these"
PATH_HINT = "<p class='hint'>Ask about a topic to see its learning path here.</p>"
EMPTY_HINT = "Type a question first, for example *What is a CNN?*"
NO_STORE: dict[str, Any] = {"chat": [], "asked": [], "topic": None, "before": [], "after": [], "after_label": ""}


@dataclass
class ChatView:
    """Everything an event may change; `None` leaves a part as it is."""

    chat: list[dict[str, Any]] | None = None
    box: str | None = None
    hint: str | None = None  # "" hides the hint
    asked: list[str] | None = None
    topic: str | None = None
    set_topic: bool = False
    known: list[str] = field(default_factory=list)
    before: list[TopicRef] | None = None  # None: leave the buttons and picture as they are
    after: list[TopicRef] = field(default_factory=list)
    after_label: str = "Learn next:"

    def store(self) -> dict[str, Any]:
        """The part kept in the browser (localStorage), so a reload shows the same conversation."""
        return {
            "chat": self.chat or [],
            "asked": self.asked or [],
            "topic": self.topic,
            "before": self.before or [],
            "after": self.after,
            "after_label": self.after_label,
        }


def _buttons(topics: list[TopicRef]) -> list[Any]:
    return [
        gr.update(value=topics[i]["title"], visible=True) if i < len(topics) else gr.update(visible=False)
        for i in range(SLOTS)
    ]


def _more(topics: list[TopicRef]) -> Any:
    extra = len(topics) - SLOTS
    return gr.update(value=f"and {extra} more", visible=True) if extra > 0 else gr.update(visible=False)


class Handlers:
    """The chat's event handlers over one assistant (and the server's answering pool, when there is one)."""

    def __init__(self, bot: Assistant, pool: Pool | None = None) -> None:
        self.bot = bot
        self.pool = pool
        self.concept_titles = sorted(t.title for t in bot.entries("concept"))

    # --- helpers ---
    def call(self, op: str, *args: Any) -> Any:
        """A public API call through the server's pool; any refusal becomes a `gr.Error` in the words REST uses."""
        try:
            if self.pool is not None:
                return self.pool.call_sync(op, *args)
            kind, value = run_op(self.bot, op, args)
            if kind == "refused":
                raise Refusal(*value)
            return value
        except Refusal as e:
            raise gr.Error(e.detail) from None

    def known_ids(self, titles: list[str] | None) -> list[str]:
        out = []
        for title in titles or []:
            try:
                out.append(self.bot.concept(title).id)
            except RoadmapError:
                continue  # a topic renamed since the browser stored it: drop it quietly
        return out

    def picture(self, topic_id: str | None, known: list[str]) -> str:
        return path_svg(self.bot.kb, topic_id, known) if topic_id else PATH_HINT

    def outputs(self, v: ChatView) -> list[Any]:
        """`v` as updates, in the order of `qa.chat.Outputs`."""
        keep = gr.skip()
        head = [
            keep if v.chat is None else v.chat,
            keep if v.box is None else v.box,
            keep if v.hint is None else gr.update(value=v.hint, visible=bool(v.hint)),
            keep if v.asked is None else v.asked,
            v.topic if v.set_topic else keep,
            keep if v.chat is None else v.store(),
        ]
        if v.before is None:
            return [*head, *[keep] * (5 + 2 * SLOTS)]
        return [
            *head,
            self.picture(v.topic, v.known),
            gr.update(visible=bool(v.before)),
            gr.update(value=f"**{v.after_label}**", visible=bool(v.after)),
            *_buttons(v.before),
            _more(v.before),
            *_buttons(v.after),
            _more(v.after),
        ]

    # --- events ---
    def respond(self, message: str, chat: list[dict[str, Any]], asked: list[str], known_titles: list[str] | None):
        message = message.strip() if isinstance(message, str) else ""
        if not message:  # a gentle hint by the box, nothing red
            return self.outputs(ChatView(hint=EMPTY_HINT))
        known = self.known_ids(known_titles)
        ans: AnswerDict = self.call("ask", message, list(asked or []), known)[0]
        chat = [
            *(chat or []),
            {"role": "user", "content": html.escape(message)},  # shown as typed: as text, never as markup
            {"role": "assistant", "content": ans["answer"]},
        ]
        asked = [*(asked or []), message]
        topic_id = ans["topic"]["id"] if ans["topic"] else None
        if not ans["confident"]:  # nothing to build on: offer places to start, as buttons
            starts = [t.ref() for t in self.bot.starting_points() if t.id not in known]
            return self.outputs(
                ChatView(chat, "", "", asked, None, True, known, [], starts, "Start with:")  # type: ignore[arg-type]
            )
        return self.outputs(
            ChatView(chat, "", "", asked, topic_id, True, known, ans["prerequisites"], ans["next_topics"])
        )

    def ask_about(self, title: str, chat: list[dict[str, Any]], asked: list[str], known_titles: list[str] | None):
        return self.respond(f"What is {title}?", chat, asked, known_titles)

    def ask_about_id(self, evt: gr.EventData, chat: list[dict[str, Any]], asked: list[str], known_titles: list[str]):
        """A click on a box of the learning-path picture: ask about that topic."""
        topic_id = (getattr(evt, "_data", None) or {}).get("topic")
        if not isinstance(topic_id, str) or topic_id not in self.bot.kb:
            return self.outputs(ChatView())
        return self.ask_about(self.bot.kb[topic_id].title, chat, asked, known_titles)

    def restore(self, stored: dict[str, Any] | None, known_titles: list[str] | None, chat: list[dict[str, Any]]):
        """On page load: the conversation kept in this browser, as it was left (unless the learner already asked)."""
        if chat:
            return self.outputs(ChatView())
        s = {**NO_STORE, **(stored if isinstance(stored, dict) else {})}
        topic_id = s["topic"] if s["topic"] in self.bot.kb else None
        known = self.known_ids(known_titles)
        return self.outputs(
            ChatView(
                s["chat"],
                None,
                "",
                s["asked"],
                topic_id,
                True,
                known,
                s["before"],
                s["after"],
                s["after_label"] or "Learn next:",
            )
        )

    def clear(self):
        """The bin: a fresh conversation (messages, what was asked, the topic, the picture and the buttons)."""
        return self.outputs(ChatView([], "", "", [], None, True, [], [], []))

    def known_changed(self, known_titles: list[str] | None, topic_id: str | None):
        return list(known_titles or []), self.picture(topic_id, self.known_ids(known_titles))

    def mark_known(self, topic_id: str | None, known_titles: list[str] | None):
        titles = list(known_titles or [])
        if topic_id and self.bot.kb[topic_id].title not in titles:
            titles.append(self.bot.kb[topic_id].title)
        return titles

    def load_known(self, stored: list[str] | None):
        return gr.update(value=[t for t in stored or [] if t in self.concept_titles])

    # --- the named API (gradio_client) ---
    def api(self) -> list[tuple[str, Callable[..., Any]]]:
        """The public Gradio endpoints, by name, with real (evaluated) type hints so `view_api()` shows each field."""
        call = self.call

        def ask(question: str, history: list[str] | None = None) -> AnswerDict:
            """Answer a question about the machine-learning-engineer roadmap.

            Args:
                question: The learner's question, e.g. "What should I learn before CNNs?".
                history: Earlier user messages of the conversation, oldest first (for follow-ups like "and after that?").

            Returns:
                The answer: intent, confident, answer (Markdown), topic, passages, prerequisites, next_topics, compared,
                assumed_known.
            """
            return call("ask", question, [] if history is None else history, [])[0]

        def prerequisites(topic: str, transitive: bool = False) -> list[TopicRef]:
            """What to learn before a roadmap topic, earliest first.

            Args:
                topic: The topic: id, title or alias (small typos are forgiven), e.g. "cnn" or "Random forests".
                transitive: If true, every prerequisite down to the basics, in learning order; else only direct ones.

            Returns:
                The prerequisite topics as {"id", "title"} objects, in learning order.
            """
            if not isinstance(transitive, bool):
                raise gr.Error("transitive must be true or false")
            return call("prerequisites", topic, transitive)

        def learning_path(target: str, known: list[str] | None = None) -> list[TopicRef]:
            """Everything still to learn to reach a roadmap topic, each step after what it needs, ending with it.

            Args:
                target: The topic to reach: id, title or alias, e.g. "deep learning".
                known: Topics the learner already knows (their own prerequisites count as known too).

            Returns:
                The topics to learn as {"id", "title"} objects, in order, ending with the target.
            """
            return call("path", target, [] if known is None else known)

        out = []
        for fn in (ask, prerequisites, learning_path):
            # Gradio reads the return type from the signature: with postponed annotations that is a string, so
            # hand it the evaluated one.
            fn.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
            out.append((fn.__name__, fn))
        return out
