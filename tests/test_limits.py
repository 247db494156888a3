"""No request can stall the server: every bad input gets a documented 4xx before any work, against a real server on
loopback; what a chatbot does not need (uploads, private events) is closed; health tells state, not internals."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from qa.limits import (
    MAX_BODY_BYTES,
    MAX_HISTORY_ITEM_CHARS,
    MAX_KNOWN,
    MAX_KNOWN_CHARS,
    MAX_QUESTION_CHARS,
    MAX_REF_CHARS,
    MAX_URL_CHARS,
)

BIG = "a" * 1_000_000

# (method, path, query or JSON body, status, words the `detail` holds)
BAD_INPUTS = [
    ("GET", "/api/ask", {}, 422, "q"),
    ("GET", "/api/ask", {"q": ""}, 422, "q"),
    ("GET", "/api/ask", {"q": "   "}, 422, "the question is empty"),
    ("GET", "/api/ask", {"q": "x" * (MAX_QUESTION_CHARS + 1)}, 422, "q"),
    ("GET", "/api/ask", {"q": "What is a CNN?", "known": ",".join(f"t{i}" for i in range(MAX_KNOWN + 1))}, 400, "too many known topics"),
    ("GET", "/api/ask", {"q": "What is a CNN?", "known": "a" * (MAX_KNOWN_CHARS + 1)}, 422, "known"),
    ("GET", "/api/path", {"target": "cnn", "known": "a" * (MAX_REF_CHARS + 1)}, 404, "longer than any topic name"),
    ("POST", "/api/ask", {"q": "x", "history": "not a list"}, 422, "history"),
    ("POST", "/api/ask", {"q": "x", "history": ["a" * (MAX_HISTORY_ITEM_CHARS + 1)]}, 422, "history.0"),
    ("POST", "/api/ask", {"q": 5}, 422, "q"),
    ("POST", "/api/ask", {"q": "x", "known": ["k"] * (MAX_KNOWN + 1)}, 422, "known"),
    ("POST", "/api/ask", {"q": "x", "known": ["a" * (MAX_REF_CHARS + 1)]}, 422, "known.0"),
    ("POST", "/api/ask", {"q": "and before that?", "history": [BIG]}, 413, "too large"),
    ("POST", "/api/ask", {"q": "x", "known": [BIG]}, 413, "too large"),
    ("GET", "/api/topics/" + "a" * (MAX_REF_CHARS + 1), {}, 422, "ref"),
    ("GET", "/api/topics/" + "a" * MAX_URL_CHARS, {}, 414, "URL is too long"),
    ("GET", "/api/topics/quantum knitting", {}, 404, "unknown topic"),
    ("GET", "/api/topics/cnn/prerequisites", {"all": "maybe"}, 422, "all"),
    ("GET", "/api/path", {}, 422, "target"),
    ("GET", "/api/path", {"target": "   "}, 404, "no topic given"),
    ("GET", "/api/path", {"target": "deep learning", "known": "astrology"}, 404, "unknown topic 'astrology'"),
    ("GET", "/api/topics", {"kind": "poem"}, 422, "kind"),
    ("GET", "/api/nowhere", {}, 404, "Not Found"),
    ("DELETE", "/api/ask", {}, 405, "Method Not Allowed"),
    ("POST", "/gradio_api/upload", {}, 404, "no uploads"),
    ("POST", "/gradio_api/call/nonexistent", {"data": []}, 404, "no endpoint named 'nonexistent'"),
    ("POST", "/gradio_api/call/respond", {"data": ["What is a CNN?", [], [], []]}, 404, "no endpoint named 'respond'"),
    ("POST", "/gradio_api/run/respond", {"data": ["What is a CNN?", [], [], []]}, 404, "no endpoint named 'respond'"),
]


@pytest.mark.parametrize("method, path, data, status, words", BAD_INPUTS, ids=[f"{m} {p[:40]} {s}" for m, p, _, s, _ in BAD_INPUTS])
def test_each_bad_input_gets_its_documented_4xx_quickly(
    server: str, method: str, path: str, data: dict, status: int, words: str
) -> None:
    started = time.perf_counter()
    if method == "GET":
        r = httpx.get(server + path, params=data, timeout=30)
    elif data:
        r = httpx.request(method, server + path, content=json.dumps(data), headers={"content-type": "application/json"}, timeout=30)
    else:
        r = httpx.request(method, server + path, timeout=30)
    assert r.status_code == status, r.text[:300]
    detail = r.json()["detail"]
    assert isinstance(detail, str) and words in detail
    assert time.perf_counter() - started < 5, "a refusal costs no real work"


def test_a_body_sent_in_chunks_without_a_length_is_held_to_the_limit(server: str) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    r = httpx.post(server + "/api/ask", content=chunks(), headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413


def test_a_url_just_under_the_limit_is_answered(server: str) -> None:
    q = "What is a CNN?" + " " * (MAX_QUESTION_CHARS - 20)
    assert len(server) + 20 + len(q) * 3 < MAX_URL_CHARS
    assert httpx.get(server + "/api/ask", params={"q": q}, timeout=30).status_code == 200


def test_an_ask_naming_an_unknown_known_topic_answers_and_says_which(server: str) -> None:
    r = httpx.post(server + "/api/ask", json={"q": "What is a CNN?", "known": ["astrology", "python", "théurgie"]}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["topic"]["id"] == "cnn"
    assert r.headers["x-unknown-known"] == "astrology,th%C3%A9urgie"
    got = httpx.get(server + "/api/ask", params={"q": "What is a CNN?", "known": "python"}, timeout=30)
    assert got.status_code == 200 and "x-unknown-known" not in got.headers


def test_options_and_unsupported_methods_name_every_allowed_method(server: str) -> None:
    r = httpx.options(server + "/api/ask")
    assert set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_uploads_are_refused_for_every_origin(server: str) -> None:
    for origin in ("http://host.example", "http://evil.example", None):
        headers = {"Origin": origin} if origin else {}
        r = httpx.post(server + "/gradio_api/upload", files={"files": ("x.txt", b"x" * 1000)}, headers=headers)
        assert r.status_code in (404, 405)


def test_private_chat_events_are_not_callable_by_name(server: str) -> None:
    from gradio_client import Client

    client = Client(server + "/", verbose=False)
    info = client.view_api(print_info=False, return_format="dict")
    assert set(info["named_endpoints"]) == {"/ask", "/prerequisites", "/learning_path"}
    assert not info["unnamed_endpoints"]


@pytest.mark.parametrize(
    "args, api_name, words",
    [
        ((5, []), "/ask", "the question must be text"),
        (("What is a CNN?", "not a list"), "/ask", "history must be a list"),
        (("   ", []), "/ask", "the question is empty"),
        (("deep learning", "python"), "/learning_path", "known must be a list"),
        (("quantum knitting", False), "/prerequisites", "unknown topic 'quantum knitting'"),
        (("cnn", "yes"), "/prerequisites", "transitive must be true or false"),
    ],
)
def test_gradio_endpoints_check_types_and_answer_in_the_rest_words(
    server: str, args: tuple, api_name: str, words: str
) -> None:
    """The same words as REST (which puts them in `detail`), never Python's own error text."""
    from gradio_client import Client

    with pytest.raises(Exception, match=words) as caught:
        Client(server + "/", verbose=False).predict(*args, api_name=api_name)
    assert "object has no attribute" not in str(caught.value)


def test_gradio_and_rest_refuse_an_unknown_topic_in_the_same_words(server: str) -> None:
    from gradio_client import Client

    rest = httpx.get(server + "/api/topics/quantum knitting/prerequisites").json()["detail"]
    with pytest.raises(Exception) as caught:
        Client(server + "/", verbose=False).predict("quantum knitting", False, api_name="/prerequisites")
    assert rest in str(caught.value)


def test_health_reports_state_without_paths_or_error_text(server: str) -> None:
    body = httpx.get(server + "/api/health").json()
    assert body["status"] == "ok" and body["index"] in ("loaded", "built")
    text = json.dumps(body)
    assert "/" not in text.replace("N/A", ""), text
    assert "Error" not in text


def test_health_answers_within_a_second_while_answers_are_slow(server: str) -> None:
    """Eight of the longest conversations the limits allow keep the pool busy; health does not wait for them."""
    history = [("What comes after " + "deep learning " * 140)[:MAX_HISTORY_ITEM_CHARS]] * 20
    body = {"q": "and before that?", "history": history, "known": ["python"] * MAX_KNOWN}
    done: list[int] = []

    def slow() -> None:
        done.append(httpx.post(server + "/api/ask", json=body, timeout=60).status_code)

    threads = [threading.Thread(target=slow) for _ in range(8)]
    for t in threads:
        t.start()
    worst = 0.0
    while any(t.is_alive() for t in threads):
        started = time.perf_counter()
        assert httpx.get(server + "/api/health", timeout=10).status_code == 200
        worst = max(worst, time.perf_counter() - started)
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert set(done) <= {200, 503}
    assert worst < 1.0, f"health took {worst:.2f}s while answers were slow"
