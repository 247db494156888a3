"""The HTTP ways in, against a real server on loopback: REST, OpenAPI, the widget file, gradio_client and MCP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest


def get(server: str, path: str, **params: object) -> httpx.Response:
    return httpx.get(server + path, params=params, timeout=30)


def test_ask_get_returns_the_contract_shape(server: str) -> None:
    r = get(server, "/api/ask", q="What is a CNN?")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "question", "intent", "confident", "answer", "topic", "passages", "prerequisites", "next_topics", "compared",
        "assumed_known",
    }  # fmt: skip
    assert body["confident"] is True
    assert body["topic"]["id"] == "cnn"
    assert set(body["passages"][0]) == {"id", "kind", "title", "text", "score"}
    assert body["next_topics"]


def test_ask_post_uses_history_for_follow_ups(server: str) -> None:
    r = httpx.post(
        server + "/api/ask", json={"q": "what do I need to know first?", "history": ["What is a CNN?"]}, timeout=30
    )
    assert r.status_code == 200
    body = r.json()
    assert body["intent"] == "prerequisites"
    assert body["topic"]["id"] == "cnn"
    assert body["prerequisites"]


def test_graph_endpoints(server: str) -> None:
    direct = get(server, "/api/topics/random forests/prerequisites").json()
    assert [t["id"] for t in direct] == ["decision-trees", "ensemble-learning"]
    full = get(server, "/api/topics/cnn/prerequisites", all="true").json()
    ids = [t["id"] for t in full]
    assert ids.index("neural-networks") < ids.index("deep-learning")
    nxt = get(server, "/api/topics/decision-trees/next").json()
    assert {"random-forests", "ensemble-learning"} & {t["id"] for t in nxt}
    path = get(server, "/api/path", target="deep learning", known="python").json()
    assert path[-1]["id"] == "deep-learning"
    assert "python" not in [t["id"] for t in path]
    assert get(server, "/api/topics/SKLEARN").json()["id"] == "scikit-learn"
    topics = get(server, "/api/topics", kind="faq").json()
    assert topics and all(t["kind"] == "faq" for t in topics)


@pytest.mark.parametrize(
    "path, params, status, detail",
    [
        ("/api/topics/quantum knitting", {}, 404, "unknown topic"),
        ("/api/topics/logistc regresion/next", {}, 200, None),
        ("/api/topics/nope-nope/prerequisites", {}, 404, "unknown topic"),
        ("/api/path", {"target": "deep learning", "known": "astrology"}, 404, "unknown topic 'astrology'"),
        ("/api/path", {}, 422, "target"),
        ("/api/ask", {}, 422, "q"),
        ("/api/ask", {"q": "   "}, 422, "empty"),  # the schema requires a non-space character
        ("/api/ask", {"q": "x" * 2001}, 422, "q"),
        ("/api/topics", {"kind": "poem"}, 422, "kind"),
    ],
)
def test_bad_input_is_a_clear_4xx(server: str, path: str, params: dict, status: int, detail: str | None) -> None:
    r = get(server, path, **params)
    assert r.status_code == status, r.text
    if detail:
        body = r.json()
        assert detail in body["detail"]
        assert isinstance(body["detail"], str)
        if status == 404:
            assert body["suggestions"], "an unknown topic suggests the nearest ones"


def test_post_ask_with_bad_history_is_a_4xx(server: str) -> None:
    r = httpx.post(server + "/api/ask", json={"q": "What is NumPy?", "history": "not a list"}, timeout=30)
    assert r.status_code == 422
    assert "history" in r.json()["detail"]


def test_openapi_document_describes_the_api(server: str) -> None:
    doc = get(server, "/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for p in ("/ask", "/topics", "/topics/{ref}", "/topics/{ref}/prerequisites", "/topics/{ref}/next", "/path"):
        assert p in doc["paths"], p
    assert "404" in doc["paths"]["/topics/{ref}"]["get"]["responses"]


def test_widget_is_served_and_loads_nothing_from_elsewhere(server: str) -> None:
    r = get(server, "/widget.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert "http://" not in r.text and "https://" not in r.text.replace("https://YOUR-SERVER", "")


def test_cors_and_frame_ancestors_allow_embedding_by_default(server: str) -> None:
    pre = httpx.options(
        server + "/api/ask",
        headers={"Origin": "http://host.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )  # fmt: skip
    assert pre.headers["access-control-allow-origin"] in ("*", "http://host.example")
    assert "frame-ancestors *" in get(server, "/").headers["content-security-policy"]


def test_embedding_origins_are_a_setting(bot) -> None:
    from app import create_app
    from qa import Settings
    from tests.conftest import LiveServer

    settings = Settings.from_env(env={"ROADMAP_QA_EMBED_ORIGINS": "http://allowed.example"})
    with LiveServer(create_app(bot, settings)) as live:

        def preflight(origin: str) -> httpx.Response:
            return httpx.options(
                live.url + "/api/ask", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
            )

        assert (
            preflight("http://allowed.example").headers.get("access-control-allow-origin") == "http://allowed.example"
        )
        assert "access-control-allow-origin" not in preflight("http://evil.example").headers
        csp = httpx.get(live.url + "/").headers["content-security-policy"]
        assert csp == "frame-ancestors 'self' http://allowed.example"


def test_gradio_client_calls_the_named_endpoints(server: str) -> None:
    from gradio_client import Client

    client = Client(server + "/", verbose=False)
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/ask", "/prerequisites", "/learning_path"} <= set(named)
    assert client.predict("What is PyTorch?", [], api_name="/ask")["topic"]["id"] == "pytorch"
    assert [t["id"] for t in client.predict("random forests", False, api_name="/prerequisites")] == [
        "decision-trees", "ensemble-learning"
    ]  # fmt: skip
    path = client.predict("deep learning", ["python"], api_name="/learning_path")
    assert path[-1]["id"] == "deep-learning"
    with pytest.raises(Exception, match="unknown topic"):
        client.predict("quantum knitting", False, api_name="/prerequisites")


def test_gradio_endpoints_declare_their_return_types(server: str) -> None:
    from gradio_client import Client

    named = Client(server + "/", verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
    ask = named["/ask"]["returns"][0]["python_type"]["type"]
    assert ask.startswith("dict(question: str, intent: str, confident: bool, answer: str, topic: None | dict(id: str")
    assert "next_topics: list[dict(id: str, title: str)]" in ask
    for name in ("/prerequisites", "/learning_path"):
        assert named[name]["returns"][0]["python_type"]["type"] == "list[dict(id: str, title: str)]"
    assert "Any" not in str(named)


def test_starter_questions_come_from_the_server(server: str) -> None:
    r = get(server, "/api/starters")
    assert r.status_code == 200
    assert "What is a CNN?" in r.json()


def test_chat_answers_many_learners_at_once(live_app) -> None:  # type: ignore[no-untyped-def]
    """Every chat and API event runs up to Settings.concurrency (8) at once, not Gradio's default of one, and
    answers stay right when learners ask together."""
    from gradio_client import Client

    server, app = live_app
    questions = ["What is a CNN?", "What is PyTorch?", "What is Docker used for?", "What is SQL?"] * 2

    def ask(q: str) -> str:
        return Client(server + "/", verbose=False).predict(q, [], api_name="/ask")["topic"]["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(ask, questions))
    assert got[:4] == ["cnn", "pytorch", "docker", "sql"]
    assert got[4:] == got[:4]
    # Every event of the running app admits 8 at once, and so does the queue that served the questions above.
    chat = app.state.chat
    assert len(chat.fns) >= 8
    default = chat._queue.default_concurrency_limit  # what "default" (e.g. gr.Examples' own event) resolves to
    assert {default if fn.concurrency_limit == "default" else fn.concurrency_limit for fn in chat.fns.values()} == {8}
    assert {q.concurrency_limit for q in chat._queue.event_queue_per_concurrency_id.values()} == {8}
