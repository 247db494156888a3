"""The app's front door, an ASGI middleware that runs before any routing or parsing.

It refuses a URL over `MAX_URL_CHARS` (414) and a body over `MAX_BODY_BYTES` (413, also when sent in chunks without a
length), and closes what a chatbot does not need: Gradio's upload and other file-writing routes, and calls by name to
anything but the public Gradio endpoints (the chat's own events stay private; an unknown name is a 404, not a 500).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from qa.limits import MAX_BODY_BYTES, MAX_URL_CHARS

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Gradio routes that write files or run code a chat never needs; refused for everyone, whatever the origin.
CLOSED = re.compile(
    r"^/gradio_api/(upload|upload_progress|process_recording|stream/|vibe-|undo-vibe-|run-history/|dev/|proxy=)"
)
# Gradio's calls by endpoint name; the name is checked against the public ones.
CHAT_ENDPOINTS = ("ask", "prerequisites", "learning_path")  # the chat's Gradio endpoints callable by name
BY_NAME = re.compile(r"^/gradio_api/(?:call/v2|call|run|api)/([^/]+)/?(?:[^/]+/?)?$")


class Guard:
    """Wraps an ASGI app; `public` names the Gradio endpoints that may be called by name."""

    def __init__(self, app: ASGIApp, public: Iterable[str] = ()) -> None:
        self.app = app
        self.public = set(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        url_chars = len(scope.get("raw_path") or path.encode()) + len(scope.get("query_string") or b"") + 1
        if url_chars > MAX_URL_CHARS:
            await _refuse(send, 414, f"the URL is too long ({url_chars} characters; at most {MAX_URL_CHARS})")
            return
        if CLOSED.match(path):
            await _refuse(send, 404, "not found: this server accepts no uploads")
            return
        named = BY_NAME.match(path)
        if named and named.group(1) not in self.public:
            await _refuse(send, 404, f"no endpoint named '{named.group(1)[:80]}'")
            return
        length = _content_length(scope)
        if length is not None and length > MAX_BODY_BYTES:
            await _refuse(send, 413, f"the request body is too large ({length} bytes; at most {MAX_BODY_BYTES})")
            return
        if scope.get("method") in ("POST", "PUT", "PATCH") and length is None:
            # No declared length (chunked): read the body here, up to the limit, and hand it on whole.
            body = bytearray()
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_BODY_BYTES:
                    await _refuse(send, 413, f"the request body is too large (over {MAX_BODY_BYTES} bytes)")
                    return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": bytes(body), "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
            return
        await self.app(scope, _counting(receive, send) if length else receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return MAX_BODY_BYTES + 1  # a length that is not a number is refused like one too large
    return None


def _counting(receive: Receive, send: Send) -> Receive:
    """A receive that stops a body longer than its declared length (the server also checks; this keeps the bound)."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > MAX_BODY_BYTES:
            return {"type": "http.disconnect"}
        return message

    return wrapped


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})
