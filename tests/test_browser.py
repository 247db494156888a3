"""The web page and the widget as a learner meets them: headless Chromium (Debian's) driven by Playwright.

Screenshots of each scene are saved to artifacts/ as test artifacts.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's network is closed: don't let Chromium try
    "--disable-component-update",
    "--disable-sync",
]
XSS = '<img src=x onerror="window.__pwned = 1">'
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make test` installs Debian's chromium")
        pytest.skip("chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    context.close()


def ask_in_chat(page, question: str, count: int) -> str:  # type: ignore[no-untyped-def]
    """Type `question` in the chat, send it, and wait for the `count`-th answer; returns its text."""
    page.fill("#question textarea", question)
    page.click("#ask")
    answer = page.locator("#chat [data-testid=bot]").nth(count - 1)
    answer.wait_for(timeout=30_000)
    return answer.inner_text()


def open_chat(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/")
    page.wait_for_selector("#question textarea", timeout=30_000)


def test_chat_answers_with_sources_and_path(page, server: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    open_chat(page, server)
    text = ask_in_chat(page, "What is a CNN?", 1)
    assert "Convolutional neural networks" in text
    assert "Sources:" in text and "(concept)" in text
    page.wait_for_selector("#path svg .node.target", timeout=10_000)
    target = page.locator("#path svg .node.target title").text_content() or ""
    assert target.startswith("Convolutional neural networks")
    assert page.locator(".before-btn:visible").count() > 0
    assert page.locator(".next-btn:visible").count() > 0
    page.screenshot(path=str(artifacts / "chat-answer.png"), full_page=True)
    assert not page.errors


def test_clicking_a_next_topic_asks_about_it(page, server: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    open_chat(page, server)
    ask_in_chat(page, "What should I learn after decision trees?", 1)
    button = page.locator(".next-btn:visible").first
    title = button.inner_text().strip()
    button.click()
    second = page.locator("#chat [data-testid=bot]").nth(1)
    second.wait_for(timeout=30_000)
    assert title in second.inner_text()
    assert f"What is {title}?" in page.locator("#chat [data-testid=user]").nth(1).inner_text()
    page.screenshot(path=str(artifacts / "chat-next-topic.png"), full_page=True)


def test_markup_in_a_question_is_shown_as_text_and_runs_nothing(page, server: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    open_chat(page, server)
    ask_in_chat(page, XSS, 1)
    shown = page.locator("#chat [data-testid=user]").first.inner_text()
    assert XSS in shown
    assert page.locator("#chat img[src=x]").count() == 0
    assert page.evaluate("window.__pwned") is None
    # Out of scope: no learning path, but places to start as buttons.
    assert page.locator("#next-row .topic-label:visible").first.inner_text().strip() == "Start with:"
    assert page.locator(".next-btn:visible").count() > 0
    assert page.locator(".before-btn:visible").count() == 0
    page.screenshot(path=str(artifacts / "chat-markup-as-text.png"), full_page=True)


def test_known_topics_stay_in_this_browser(page, server: str) -> None:  # type: ignore[no-untyped-def]
    open_chat(page, server)
    ask_in_chat(page, "What is NumPy?", 1)
    page.click("#mark-known")
    page.wait_for_selector("#path svg .node.known", timeout=10_000)
    page.wait_for_timeout(500)  # BrowserState writes to localStorage after the change event
    page.reload()
    page.wait_for_selector("#question textarea", timeout=30_000)
    page.wait_for_function("document.querySelector('#known').innerText.includes('NumPy')", timeout=10_000)


def test_chat_fits_a_phone_screen(browser, server: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    open_chat(page, server)
    ask_in_chat(page, "What is gradient boosting?", 1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    page.screenshot(path=str(artifacts / "chat-phone.png"), full_page=True)
    context.close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def host_site(tmp_path: Path, server: str) -> Iterator[str]:
    """examples/host.html, pointed at the test server, served from another port (another origin)."""
    html = (EXAMPLES / "host.html").read_text().replace("http://127.0.0.1:7860", server)
    (tmp_path / "index.html").write_text(html)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    httpd.shutdown()


def test_widget_on_another_site_opens_asks_answers_and_survives_reload(page, host_site: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(host_site)
    launcher = page.locator("#roadmap-qa-widget .launcher")
    launcher.click()
    page.locator("#roadmap-qa-widget .panel.open").wait_for()
    assert page.locator("#roadmap-qa-widget .title").inner_text() == "Ask the ML roadmap"
    page.fill("#roadmap-qa-widget input", "What should I learn before random forests?")
    page.press("#roadmap-qa-widget input", "Enter")
    answer = page.locator("#roadmap-qa-widget .msg.bot").first
    answer.wait_for(timeout=30_000)
    assert "Decision trees" in answer.inner_text()
    page.screenshot(path=str(artifacts / "widget-answer.png"))
    host = host_site.rsplit("/", 1)[0]
    server = page.evaluate("document.querySelector('script[src*=widget]').src").rsplit("/", 1)[0]
    assert all(u.startswith((host, server)) for u in requests), "the widget loads nothing from elsewhere"

    page.reload()
    page.locator("#roadmap-qa-widget .panel.open").wait_for()
    assert (
        page.locator("#roadmap-qa-widget .msg.user").first.inner_text() == "What should I learn before random forests?"
    )
    assert "Decision trees" in page.locator("#roadmap-qa-widget .msg.bot").first.inner_text()

    chip = page.locator("#roadmap-qa-widget .chips button").first
    chip_title = chip.inner_text()
    chip.click()
    page.locator("#roadmap-qa-widget .msg.bot").nth(1).wait_for(timeout=30_000)
    assert chip_title in page.locator("#roadmap-qa-widget .msg.bot").nth(1).inner_text()


def test_widget_shows_markup_as_text(page, host_site: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(host_site)
    page.locator("#roadmap-qa-widget .launcher").click()
    page.fill("#roadmap-qa-widget input", XSS)
    page.press("#roadmap-qa-widget input", "Enter")
    page.locator("#roadmap-qa-widget .msg.bot").first.wait_for(timeout=30_000)
    assert page.locator("#roadmap-qa-widget .msg.user").first.inner_text() == XSS
    assert page.locator("#roadmap-qa-widget img").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.screenshot(path=str(artifacts / "widget-markup-as-text.png"))


def test_widget_options_title_side_and_open_at_start(page, host_site: str, tmp_path: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    """data-title, data-position="left" and data-open="true" change what the one tag shows; follow-ups carry history."""
    html = (tmp_path / "index.html").read_text()  # the host page the fixture serves, with this server's tag
    tag = 'data-title="Ask the ML roadmap" data-position="right" data-open="false"'
    assert tag in html
    (tmp_path / "left.html").write_text(
        html.replace(tag, 'data-title="Study buddy" data-position="left" data-open="true"')
    )
    page.goto(host_site.replace("index.html", "left.html"))
    page.locator("#roadmap-qa-widget .panel.open").wait_for()  # open without a click
    assert page.locator("#roadmap-qa-widget .title").inner_text() == "Study buddy"
    box = page.locator("#roadmap-qa-widget .launcher").bounding_box()
    assert box is not None and box["x"] < page.viewport_size["width"] / 2  # type: ignore[index]
    for n, question in enumerate(("What is Docker?", "and what comes after that?")):
        page.fill("#roadmap-qa-widget input", question)
        page.press("#roadmap-qa-widget input", "Enter")
        page.locator("#roadmap-qa-widget .msg.bot").nth(n).wait_for(timeout=30_000)
    assert "Kubernetes" in page.locator("#roadmap-qa-widget .msg.bot").nth(1).inner_text()  # it was about Docker
    page.screenshot(path=str(artifacts / "widget-left-open.png"))


# --- accessibility (axe-core), keyboard paths, and the chat's and widget's behaviour from issues 9 and 10 ---


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every axe-core violation on the page (any impact), as 'rule: target' lines."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {n['target']}" for v in found for n in v["nodes"]]


def _chat_without_axe_violations(context, server: str) -> object:  # type: ignore[no-untyped-def]
    """Open the chat in `context`, check axe empty and after an answer; returns the page."""
    page = context.new_page()
    open_chat(page, server)
    page.wait_for_timeout(500)
    assert axe_violations(page) == []
    ask_in_chat(page, "What is a CNN?", 1)
    page.wait_for_selector("#path svg .node", timeout=10_000)
    page.wait_for_timeout(800)  # the event's last outputs settle (Gradio fades outputs while an event runs)
    assert axe_violations(page) == []
    return page


def test_chat_has_no_axe_violations_empty_answered_and_on_a_phone(browser, server: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    _chat_without_axe_violations(desk, server).screenshot(path=str(artifacts / "chat-desktop.png"), full_page=True)
    desk.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = _chat_without_axe_violations(phone, server)
    # The picture comes right after the answer (before the examples), and every button is a 44 px target.
    chat_box = page.locator("#chat").bounding_box()
    path_box = page.locator("#path").bounding_box()
    examples_box = page.locator("#examples").bounding_box()
    assert chat_box and path_box and examples_box
    assert chat_box["y"] < path_box["y"] < examples_box["y"]
    heights = page.eval_on_selector_all(
        ".topic-btn, .example-btn, #ask, #mark-known",
        "bs => bs.filter(b => b.offsetParent).map(b => b.getBoundingClientRect().height)",
    )
    assert heights and min(heights) >= 44
    page.screenshot(path=str(artifacts / "chat-phone-a11y.png"), full_page=True)
    phone.close()


def test_an_empty_question_gets_a_gentle_hint_not_an_error(page, server: str) -> None:  # type: ignore[no-untyped-def]
    open_chat(page, server)
    page.click("#ask")
    page.locator("#hint").wait_for(state="visible", timeout=10_000)
    assert "Type a question first" in page.locator("#hint").inner_text()
    assert page.locator(".toast-wrap .toast-body, [data-testid=toast-body]").count() == 0
    assert page.locator("#chat [data-testid=bot]").count() == 0


def test_text_and_buttons_list_the_same_topics(page, server: str) -> None:  # type: ignore[no-untyped-def]
    open_chat(page, server)
    text = ask_in_chat(page, "What comes after Python?", 1)
    page.locator(".next-btn:visible").first.wait_for(timeout=10_000)
    shown = [b.strip() for b in page.locator(".next-btn:visible").all_inner_texts()]
    listed = page.locator("#chat [data-testid=bot]").first.locator("ol > li").all_inner_texts()
    assert len(shown) == len(listed) == 8
    assert all(title in text for title in shown)
    more = page.locator("#next-row .more:visible").first
    assert "more after these" not in text or "more" in more.inner_text()


def test_examples_ask_themselves_and_the_picture_asks_about_a_topic(page, server: str) -> None:  # type: ignore[no-untyped-def]
    open_chat(page, server)
    page.locator(".example-btn", has_text="What is a CNN?").click()
    page.locator("#chat [data-testid=bot]").first.wait_for(timeout=30_000)
    assert "Convolutional" in page.locator("#chat [data-testid=bot]").first.inner_text()
    caption = page.locator("#path figcaption").inner_text()
    assert caption.startswith("Learning path to Convolutional neural networks") and "Linear algebra" in caption
    node = page.locator("#path svg .node.learn").first
    title = (node.locator("title").text_content() or "").rsplit(" (", 1)[0]
    node.focus()
    page.keyboard.press("Enter")
    page.locator("#chat [data-testid=bot]").nth(1).wait_for(timeout=30_000)
    assert f"What is {title}?" in page.locator("#chat [data-testid=user]").nth(1).inner_text()


def test_a_known_topic_is_drawn_as_known_even_when_asked_about(page, server: str) -> None:  # type: ignore[no-untyped-def]
    open_chat(page, server)
    ask_in_chat(page, "What is NumPy?", 1)
    page.click("#mark-known")
    page.wait_for_selector("#path svg .node.known[data-id=numpy]", timeout=10_000)
    assert page.locator("#path svg .node.target").count() == 0


def test_the_conversation_survives_a_reload_and_the_bin_clears_everything(page, server: str) -> None:  # type: ignore[no-untyped-def]
    open_chat(page, server)
    ask_in_chat(page, "What is Docker?", 1)
    page.wait_for_selector("#path svg .node", timeout=10_000)
    page.wait_for_timeout(500)
    page.reload()
    page.wait_for_selector("#chat [data-testid=bot]", timeout=30_000)
    assert "What is Docker?" in page.locator("#chat [data-testid=user]").first.inner_text()
    page.wait_for_selector("#path svg .node", timeout=10_000)
    ask_in_chat(page, "and what comes after that?", 2)
    assert "Kubernetes" in page.locator("#chat [data-testid=bot]").nth(1).inner_text()  # history came back too
    page.locator("#chat button[aria-label=Clear]").click()
    page.wait_for_function("document.querySelectorAll('#chat [data-testid=bot]').length === 0", timeout=10_000)
    page.wait_for_selector("#path .hint", timeout=10_000)
    assert page.locator(".topic-btn:visible").count() == 0
    page.wait_for_timeout(500)
    page.reload()
    page.wait_for_selector("#question textarea", timeout=30_000)
    page.wait_for_timeout(1500)
    assert page.locator("#chat [data-testid=bot]").count() == 0


def test_a_long_answer_opens_scrolled_to_its_start(page, server: str) -> None:  # type: ignore[no-untyped-def]
    open_chat(page, server)
    ask_in_chat(page, "What is Docker?", 1)
    ask_in_chat(page, "I know Python and statistics. How do I get to random forests?", 2)
    page.wait_for_timeout(800)
    top = page.evaluate(
        """() => { const a = [...document.querySelectorAll('#chat [data-testid=bot]')].pop();
        let box = a.parentElement;
        while (box && !(box.scrollHeight > box.clientHeight && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) box = box.parentElement;
        return a.getBoundingClientRect().top - box.getBoundingClientRect().top; }"""
    )
    assert 0 <= top <= 80


def open_widget_host(page, host_site: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(host_site)
    page.locator("#roadmap-qa-widget .launcher").wait_for()


def test_widget_has_no_axe_violations_closed_open_and_answered(page, host_site: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    open_widget_host(page, host_site)
    assert axe_violations(page) == []
    page.locator("#roadmap-qa-widget .launcher").click()
    page.locator("#roadmap-qa-widget .starters button").first.wait_for(timeout=10_000)
    assert axe_violations(page) == []
    page.screenshot(path=str(artifacts / "widget-open.png"))
    page.fill("#roadmap-qa-widget input", "What is a CNN?")
    page.press("#roadmap-qa-widget input", "Enter")
    page.locator("#roadmap-qa-widget .msg.bot").first.wait_for(timeout=30_000)
    assert axe_violations(page) == []
    chips = page.locator("#roadmap-qa-widget .chips").first.inner_text()
    assert "Learn first" in chips  # a definition's prerequisites come as buttons too


def test_widget_keyboard_path_and_no_focus_stealing(page, host_site: str) -> None:  # type: ignore[no-untyped-def]
    open_widget_host(page, host_site)
    assert page.evaluate("document.activeElement === document.body")
    launcher = page.locator("#roadmap-qa-widget .launcher")
    assert launcher.get_attribute("aria-expanded") == "false"
    for _ in range(10):  # Tab until the launcher has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id === 'roadmap-qa-widget' && "
                         "document.activeElement.shadowRoot.activeElement.classList.contains('launcher')"):
            break
    else:
        pytest.fail("Tab never reached the launcher")
    page.keyboard.press("Enter")
    page.locator("#roadmap-qa-widget .panel.open").wait_for()
    assert launcher.get_attribute("aria-expanded") == "true"
    assert page.evaluate("document.activeElement.shadowRoot.activeElement.id") == "rqa-q"
    dialog = page.locator("#roadmap-qa-widget [role=dialog]")
    assert dialog.get_attribute("aria-labelledby") == "rqa-title"
    assert page.locator("#roadmap-qa-widget label[for=rqa-q]").count() == 1
    assert page.evaluate(
        "getComputedStyle(document.querySelector('#roadmap-qa-widget').shadowRoot.querySelector('input')).fontSize"
    ) == "16px"
    page.keyboard.press("Escape")
    page.locator("#roadmap-qa-widget .panel.open").wait_for(state="detached")
    assert launcher.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.shadowRoot.activeElement.classList.contains('launcher')")
    # Reloaded with the panel open: it shows open, and the focus stays with the host page.
    launcher.click()
    page.reload()
    page.locator("#roadmap-qa-widget .panel.open").wait_for()
    page.wait_for_timeout(300)
    assert page.evaluate("document.activeElement === document.body")


def test_widget_keeps_typed_text_while_an_answer_is_in_flight_and_starts_afresh(page, host_site: str) -> None:  # type: ignore[no-untyped-def]
    open_widget_host(page, host_site)
    page.route("**/api/ask", lambda route: (page.wait_for_timeout(1500), route.continue_()))
    page.locator("#roadmap-qa-widget .launcher").click()
    starter = page.locator("#roadmap-qa-widget .starters button").first
    starter.wait_for(timeout=10_000)
    starter.click()  # a starter question from the server asks itself
    page.fill("#roadmap-qa-widget input", "What is Docker?")
    page.press("#roadmap-qa-widget input", "Enter")  # while the first is in flight
    assert page.locator("#roadmap-qa-widget form button").is_disabled()
    assert page.input_value("#roadmap-qa-widget input") == "What is Docker?"
    page.locator("#roadmap-qa-widget .msg.bot").first.wait_for(timeout=30_000)
    page.wait_for_function(
        "!document.querySelector('#roadmap-qa-widget').shadowRoot.querySelector('form button').disabled"
    )
    page.press("#roadmap-qa-widget input", "Enter")
    page.locator("#roadmap-qa-widget .msg.bot").nth(1).wait_for(timeout=30_000)
    assert page.locator("#roadmap-qa-widget .msg.user").count() == 2
    page.locator("#roadmap-qa-widget .new").click()
    assert page.locator("#roadmap-qa-widget .msg").count() == 0
    page.locator("#roadmap-qa-widget .starters button").first.wait_for(timeout=10_000)
    page.reload()
    page.locator("#roadmap-qa-widget .panel.open").wait_for()
    assert page.locator("#roadmap-qa-widget .msg").count() == 0


def test_widget_on_a_phone(browser, host_site: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    open_widget_host(page, host_site)
    page.locator("#roadmap-qa-widget .launcher").click()
    page.fill("#roadmap-qa-widget input", "What should I learn before deep learning?")
    page.press("#roadmap-qa-widget input", "Enter")
    page.locator("#roadmap-qa-widget .msg.bot").first.wait_for(timeout=30_000)
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    page.screenshot(path=str(artifacts / "widget-phone.png"))
    context.close()


def test_api_docs_work_offline_and_list_the_operations(page, server: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + "/api/docs")
    page.locator(".opblock-summary-path").first.wait_for(timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/ask", "/topics/{ref}", "/path", "/starters"} <= {p.strip().replace("\u200b", "") for p in paths}
    assert all(u.startswith(server) for u in requests), "Swagger UI comes from this server, not a CDN"
    page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)


FOLLOW_UP = ["What should I learn before deep learning?", "and before that?", "precision vs recall"]


def _listed(bot, question: str, history: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """The topic titles the Python API's answer lists for this turn (before, compared, or next)."""
    ans = bot.ask(question, history=history)
    refs = ans.prerequisites if ans.intent == "prerequisites" else ans.compared or ans.next_topics
    return [r["title"] for r in refs]


def test_the_same_conversation_gets_the_same_answers_in_the_chat_and_the_widget(  # type: ignore[no-untyped-def]
    page, bot, server: str, host_site: str
) -> None:
    from playwright.sync_api import expect

    expected = [_listed(bot, q, FOLLOW_UP[:i]) for i, q in enumerate(FOLLOW_UP)]
    assert expected[0] and expected[1] and not set(expected[0]) & set(expected[1])  # it walked one level back
    open_chat(page, server)
    for i, q in enumerate(FOLLOW_UP):
        text = ask_in_chat(page, q, i + 1)
        assert all(title in text for title in expected[i]), (q, expected[i], text[:300])
    page.goto(host_site)
    page.locator("#roadmap-qa-widget .launcher").click()
    page.locator("#roadmap-qa-widget .panel.open").wait_for()
    for i, q in enumerate(FOLLOW_UP):
        page.fill("#roadmap-qa-widget input", q)
        page.press("#roadmap-qa-widget input", "Enter")
        answer = page.locator("#roadmap-qa-widget .msg.bot").nth(i)
        for title in expected[i]:
            expect(answer).to_contain_text(title, timeout=30_000)  # waits past a "thinking" placeholder
