"""The Gradio chat at `/`: answers with their sources, what to learn before and after as buttons, example questions,
a picture of the learning path, and the learner's known topics kept in their own browser.

`build_chat(bot)` returns the Blocks; named API endpoints `ask`, `prerequisites` and `learning_path` (also the MCP
tools) are declared here; the UI's own events are private so clients and MCP see only those three.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from kb import RoadmapError
from qa.assistant import Assistant
from qa.pathview import path_svg
from qa.pool import Pool, Refusal, run_op

SLOTS = 6  # topic buttons per row (before / next)
EXAMPLES = [
    "What is a CNN?",
    "What should I learn before deep learning?",
    "I know Python and statistics. How do I get to random forests?",
    "Is ML engineering fully automated these days?",
    "Which metrics can I use to evaluate a model?",
    "What comes after Docker?",
]
CSS = """
#chat { min-height: 420px; }
.topic-row { flex-wrap: wrap !important; gap: 6px !important; align-items: center; }
.topic-row > * { flex: 0 1 auto !important; min-width: 0 !important; width: auto !important; }
.topic-label p { margin: 0 !important; }
#path svg { max-width: 100%; height: auto; }
@media (max-width: 640px) {
  #layout { flex-direction: column; }
  #layout > div { min-width: 100% !important; }
  #chat { min-height: 320px; }
}
"""
API_NAMES = ("ask", "prerequisites", "learning_path")  # the Gradio endpoints callable by name (and MCP tools)
PATH_HINT = "<p class='hint'>Ask about a topic to see its learning path here.</p>"


def build_chat(bot: Assistant, concurrency: int = 8, pool: Pool | None = None) -> gr.Blocks:
    concept_titles = sorted(t.title for t in bot.entries("concept"))

    def call(op: str, *args: Any) -> Any:
        """A public API call through the server's pool; any refusal becomes a `gr.Error` in the words REST uses."""
        try:
            if pool is not None:
                return pool.call_sync(op, *args)
            kind, value = run_op(bot, op, args)
            if kind == "refused":
                raise Refusal(*value)
            return value
        except Refusal as e:
            raise gr.Error(e.detail) from None

    def known_ids(titles: list[str] | None) -> list[str]:
        out = []
        for title in titles or []:
            try:
                out.append(bot.concept(title).id)
            except RoadmapError:
                continue  # a topic renamed since the browser stored it: drop it quietly
        return out

    def view(
        topic_id: str | None,
        known: list[str],
        before: list[dict[str, str]],
        after: list[dict[str, str]],
        after_label: str = "**Learn next:**",
    ):
        picture = path_svg(bot.kb, topic_id, known) if topic_id else PATH_HINT
        before_updates = [
            gr.update(value=before[i]["title"], visible=True) if i < len(before) else gr.update(visible=False)
            for i in range(SLOTS)
        ]
        next_updates = [
            gr.update(value=after[i]["title"], visible=True) if i < len(after) else gr.update(visible=False)
            for i in range(SLOTS)
        ]
        labels = [gr.update(visible=bool(before)), gr.update(value=after_label, visible=bool(after))]
        return [picture, *labels, *before_updates, *next_updates]

    def respond(message: str, chat: list[dict[str, Any]], asked: list[str], known_titles: list[str] | None):
        message = message.strip() if isinstance(message, str) else ""
        if not message:
            raise gr.Error("Type a question about the ML-engineer roadmap first.")
        known = known_ids(known_titles)
        try:
            ans = bot.ask(message, history=asked, known=known)
        except RoadmapError as e:
            raise gr.Error(str(e)) from None
        topic_id = ans.topic["id"] if ans.topic else None
        before = ans.prerequisites
        if not before and topic_id and ans.confident:
            before = [t.ref() for t in bot.prerequisites(topic_id) if t.id not in known]
        chat = [
            *chat,
            {"role": "user", "content": html.escape(message)},  # shown as typed: as text, never as markup
            {"role": "assistant", "content": ans.answer},
        ]
        if not ans.confident:  # nothing to build on: offer places to start, as buttons
            starts = [t.ref() for t in bot.starting_points() if t.id not in known]
            return [chat, "", [*asked, message], None, *view(None, known, [], starts, "**Start with:**")]
        return [chat, "", [*asked, message], topic_id, *view(topic_id, known, before, ans.next_topics)]

    def ask_about(title: str, chat: list[dict[str, Any]], asked: list[str], known_titles: list[str] | None):
        return respond(f"What is {title}?", chat, asked, known_titles)

    def known_changed(known_titles: list[str] | None, topic_id: str | None):
        known = known_ids(known_titles)
        picture = path_svg(bot.kb, topic_id, known) if topic_id else PATH_HINT
        return list(known_titles or []), picture

    def mark_known(topic_id: str | None, known_titles: list[str] | None):
        titles = list(known_titles or [])
        if topic_id and bot.kb[topic_id].title not in titles:
            titles.append(bot.kb[topic_id].title)
        return titles

    with gr.Blocks(title="ML engineer roadmap assistant") as demo:
        stored_known = gr.BrowserState([], storage_key="roadmap-qa-known")
        asked = gr.State([])
        topic = gr.State(None)
        gr.Markdown(
            "## ML engineer roadmap assistant\n"
            "Ask about any topic on the way to machine-learning engineering: what it is, what to learn before it, "
            "what comes next. Answers come from a curated knowledge base and name their sources."
        )
        with gr.Row(elem_id="layout", equal_height=False):
            with gr.Column(scale=3, min_width=300):
                chat = gr.Chatbot(elem_id="chat", label="Conversation", height=460, feedback_options=None)
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask about the ML-engineer roadmap...",
                        show_label=False,
                        scale=5,
                        elem_id="question",
                        max_length=2000,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="ask")
                with gr.Row(elem_classes=["topic-row"], elem_id="before-row"):
                    before_label = gr.Markdown("**Learn first:**", elem_classes=["topic-label"], visible=False)
                    before_btns = [
                        gr.Button(visible=False, size="sm", elem_classes=["topic-btn", "before-btn"])
                        for _ in range(SLOTS)
                    ]
                with gr.Row(elem_classes=["topic-row"], elem_id="next-row"):
                    next_label = gr.Markdown("**Learn next:**", elem_classes=["topic-label"], visible=False)
                    next_btns = [
                        gr.Button(visible=False, size="sm", elem_classes=["topic-btn", "next-btn"])
                        for _ in range(SLOTS)
                    ]
                gr.Examples(EXAMPLES, inputs=box, label="Try asking")
            with gr.Column(scale=2, min_width=280):
                gr.Markdown("### Learning path")
                picture = gr.HTML(PATH_HINT, elem_id="path")
                known_box = gr.Dropdown(
                    choices=concept_titles,
                    value=[],
                    multiselect=True,
                    label="Topics I already know (kept in this browser only)",
                    elem_id="known",
                )
                mark = gr.Button("I know the current topic", size="sm", elem_id="mark-known")

        outputs = [chat, box, asked, topic, picture, before_label, next_label, *before_btns, *next_btns]
        # Each event answers up to `concurrency` learners at once (Gradio's default is one at a time per event).
        common = {"api_visibility": "private", "concurrency_limit": concurrency}
        send.click(respond, [box, chat, asked, known_box], outputs, **common)
        box.submit(respond, [box, chat, asked, known_box], outputs, **common)
        for b in (*before_btns, *next_btns):
            b.click(ask_about, [b, chat, asked, known_box], outputs, **common)
        known_box.change(known_changed, [known_box, topic], [stored_known, picture], **common)
        mark.click(mark_known, [topic, known_box], [known_box], **common)
        demo.load(
            lambda stored: gr.update(value=[t for t in stored or [] if t in concept_titles]),
            [stored_known],
            [known_box],
            **common,
        )

        # --- the named API (gradio_client) and MCP tools ---
        def ask(question: str, history: list[str] | None = None) -> dict[str, Any]:
            """Answer a question about the machine-learning-engineer roadmap.

            Args:
                question: The learner's question, e.g. "What should I learn before CNNs?".
                history: Earlier user messages of the conversation, oldest first (for follow-ups like "and after that?").

            Returns:
                The answer as JSON: intent, confident, answer (Markdown), topic, passages, prerequisites, next_topics.
            """
            return call("ask", question, [] if history is None else history, [])[0]

        def prerequisites(topic: str, transitive: bool = False) -> list[dict[str, str]]:
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

        def learning_path(target: str, known: list[str] | None = None) -> list[dict[str, str]]:
            """Everything still to learn to reach a roadmap topic, each step after what it needs, ending with it.

            Args:
                target: The topic to reach: id, title or alias, e.g. "deep learning".
                known: Topics the learner already knows (their own prerequisites count as known too).

            Returns:
                The topics to learn as {"id", "title"} objects, in order, ending with the target.
            """
            return call("path", target, [] if known is None else known)

        gr.api(ask, api_name="ask", concurrency_limit=concurrency)
        gr.api(prerequisites, api_name="prerequisites", concurrency_limit=concurrency)
        gr.api(learning_path, api_name="learning_path", concurrency_limit=concurrency)
    return demo
