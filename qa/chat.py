"""The Gradio chat at `/`: its layout only. Answers with their sources, what to learn before and after as buttons,
example questions that ask themselves, a clickable picture of the learning path, the learner's known topics, and the
conversation kept in their own browser. What each event does is `qa/chat_handlers.py`.

`build_chat(bot)` returns the Blocks; the named API endpoints `ask`, `prerequisites` and `learning_path` (for
`gradio_client`) are declared here; the UI's own events are private so clients see only those three.
"""

from __future__ import annotations

import gradio as gr

from qa.assistant import Assistant
from qa.chat_handlers import EMPTY_HINT, PATH_HINT, SLOTS, Handlers
from qa.guard import CHAT_ENDPOINTS
from qa.pool import Pool
from qa.starters import STARTERS

EXAMPLES = STARTERS
# Colours are chosen for at least 4.5:1 contrast (axe checks them in tests/test_browser.py); touch targets are 44 px.
CSS = """
#chat { min-height: 420px; }
.topic-row { flex-wrap: wrap !important; gap: 6px !important; align-items: center; }
.topic-row > * { flex: 0 1 auto !important; min-width: 0 !important; width: auto !important; }
.topic-label p, .more p { margin: 0 !important; }
/* Gradio fades an output while its event runs; labels stay fully legible (axe measured 2 of them mid-fade). */
.topic-label, .topic-label *, .more, .more * { opacity: 1 !important; color: #1f2937 !important; }
.topic-btn, .example-btn, #ask, #mark-known { min-height: 44px !important; }
.example-row { flex-wrap: wrap !important; gap: 6px !important; }
.example-row > * { flex: 0 1 auto !important; min-width: 0 !important; width: auto !important; }
#ask { background: #5b21b6 !important; border-color: #5b21b6 !important; color: #fff !important; }
#ask:hover { background: #4c1d95 !important; }
#hint p { margin: 0; color: #4b5563; }
#known input { color: #1f2937 !important; }
#examples-title h2, #path-title h2 { font-size: 1.1rem; margin: 8px 0 4px; }
footer, footer a, footer button, footer .show-api, footer .built-with { color: #374151 !important; opacity: 1 !important; }
#path svg { max-width: 100%; height: auto; }
#path .node { cursor: pointer; }
#path .node:focus { outline: none; }
#path .node:focus rect, #path .node:hover rect { stroke-width: 3; }
#path figcaption { font-size: 14px; color: #374151; margin-top: 6px; }
.hint { color: #4b5563; }
@media (max-width: 640px) {
  /* One column on a phone; the learning-path picture follows the answer, before the examples. */
  #layout { flex-direction: column; }
  #left, #right { display: contents !important; }
  #chat { min-height: 320px; order: 1; }
  #question-row { order: 2; }
  #hint { order: 3; }
  #before-row { order: 4; }
  #next-row { order: 5; }
  #path-title { order: 6; }
  #path { order: 7; }
  #examples-title { order: 8; }
  #examples { order: 9; }
  #known, #right > .form { order: 10; }  /* Gradio wraps the dropdown in a .form box */
  #mark-known { order: 11; }
}
"""
# After an answer: show it from its start, not its end (the chat's own autoscroll is off).
# The conversation's scrolling box is made focusable, so keyboard users can scroll it too.
SCROLL_TO_ANSWER = """() => {
  const answers = document.querySelectorAll('#chat [data-testid=bot]');
  const last = answers[answers.length - 1];
  document.querySelectorAll('#chat .bubble-wrap').forEach(b => b.setAttribute('tabindex', '0'));
  if (!last) return;
  let box = last.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) box = box.parentElement;
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 44;  // below the 'Conversation' label
}"""
# The picture's boxes ask about their topic, by mouse or keyboard (Enter or Space on a focused box).
PATH_JS = """
function pick(e) {
  const node = e.target.closest && e.target.closest('.node[data-id]');
  if (!node) return;
  if (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ') return;
  e.preventDefault();
  trigger('click', {topic: node.getAttribute('data-id')});
}
element.addEventListener('click', pick);
element.addEventListener('keydown', pick);
"""


def build_chat(bot: Assistant, concurrency: int = 8, pool: Pool | None = None) -> gr.Blocks:
    h = Handlers(bot, pool)
    with gr.Blocks(title="ML engineer roadmap assistant") as demo:
        stored_known = gr.BrowserState([], storage_key="roadmap-qa-known")
        stored_chat = gr.BrowserState({}, storage_key="roadmap-qa-chat")
        asked = gr.State([])
        topic = gr.State(None)
        gr.Markdown(
            "# ML engineer roadmap assistant\n"
            "Ask about any topic on the way to machine-learning engineering: what it is, what to learn before it, "
            "what comes next. Answers come from a curated knowledge base and name their sources."
        )
        with gr.Row(elem_id="layout", equal_height=False):
            with gr.Column(scale=3, min_width=300, elem_id="left"):
                chat = gr.Chatbot(
                    elem_id="chat",
                    label="Conversation",
                    height=460,
                    feedback_options=None,
                    autoscroll=False,
                    buttons=["copy_all"],  # Gradio's share button has no accessible name
                )
                with gr.Row(elem_id="question-row"):
                    box = gr.Textbox(
                        label="Your question",
                        placeholder="Ask about the ML-engineer roadmap...",
                        show_label=False,
                        scale=5,
                        elem_id="question",
                        max_length=2000,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="ask")
                hint = gr.Markdown(EMPTY_HINT, visible=False, elem_id="hint")
                with gr.Row(elem_classes=["topic-row"], elem_id="before-row"):
                    before_label = gr.Markdown("**Learn first:**", elem_classes=["topic-label"], visible=False)
                    before_btns = [
                        gr.Button(visible=False, size="sm", elem_classes=["topic-btn", "before-btn"])
                        for _ in range(SLOTS)
                    ]
                    before_more = gr.Markdown(visible=False, elem_classes=["more"])
                with gr.Row(elem_classes=["topic-row"], elem_id="next-row"):
                    next_label = gr.Markdown("**Learn next:**", elem_classes=["topic-label"], visible=False)
                    next_btns = [
                        gr.Button(visible=False, size="sm", elem_classes=["topic-btn", "next-btn"])
                        for _ in range(SLOTS)
                    ]
                    next_more = gr.Markdown(visible=False, elem_classes=["more"])
                gr.Markdown("## Try asking", elem_id="examples-title")
                with gr.Row(elem_classes=["example-row"], elem_id="examples"):
                    examples = [gr.Button(q, size="sm", elem_classes=["example-btn"]) for q in EXAMPLES]
            with gr.Column(scale=2, min_width=280, elem_id="right"):
                gr.Markdown("## Learning path", elem_id="path-title")
                picture = gr.HTML(PATH_HINT, elem_id="path", js_on_load=PATH_JS)
                known_box = gr.Dropdown(
                    choices=h.concept_titles,
                    value=[],
                    multiselect=True,
                    label="Topics I already know (kept in this browser only)",
                    elem_id="known",
                )
                mark = gr.Button("I know the current topic", size="sm", elem_id="mark-known")

        # The order of Handlers.outputs.
        outputs = [
            chat, box, hint, asked, topic, stored_chat,
            picture, before_label, next_label, *before_btns, before_more, *next_btns, next_more,
        ]  # fmt: skip
        # Each event answers up to `concurrency` learners at once (Gradio's default is one at a time per event).
        common = {"api_visibility": "private", "concurrency_limit": concurrency}
        asks = [box, chat, asked, known_box]
        scroll = {"fn": None, "js": SCROLL_TO_ANSWER, "api_visibility": "private"}
        for trigger in (send.click, box.submit):
            trigger(h.respond, asks, outputs, **common).then(**scroll)
        for b in (*before_btns, *next_btns):
            b.click(h.ask_about, [b, chat, asked, known_box], outputs, **common).then(**scroll)
        for b in examples:
            b.click(h.respond, [b, chat, asked, known_box], outputs, **common).then(**scroll)
        picture.click(h.ask_about_id, [chat, asked, known_box], outputs, **common).then(**scroll)
        chat.clear(h.clear, None, outputs, **common)
        known_box.change(h.known_changed, [known_box, topic], [stored_known, picture], **common)
        mark.click(h.mark_known, [topic, known_box], [known_box], **common)
        demo.load(h.load_known, [stored_known], [known_box], **common)
        demo.load(h.restore, [stored_chat, stored_known, chat], outputs, **common).then(**scroll)

        endpoints = h.api()
        # The guard lets only these be called by name: the two lists must not drift apart.
        assert [name for name, _ in endpoints] == list(CHAT_ENDPOINTS), "qa.guard.CHAT_ENDPOINTS is out of date"
        for name, fn in endpoints:
            gr.api(fn, api_name=name, concurrency_limit=concurrency)
    return demo
