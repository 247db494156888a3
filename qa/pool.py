"""Answering off the event loop: a bounded pool of threads with a per-request deadline.

A request that cannot start and finish within the deadline is refused with 503 rather than queued for ever, and the
event loop (health, the chat's page) never waits for an answer. Answering holds the GIL most of the time, so one
process never passes one core: to use more, the server runs several worker processes (`workers`), each with its own
pool (see `app.serve`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
from typing import Any

from kb import KbError, RoadmapError, UnknownTopicError
from qa.assistant import Assistant


class Refusal(Exception):
    """What a request gets instead of an answer: an HTTP status, a one-sentence `detail`, and for an unknown topic the
    closest ones. The same words reach REST, the Gradio endpoints and MCP."""

    def __init__(self, status: int, detail: str, suggestions: list[str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.suggestions = list(suggestions or [])

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail}
        if self.status == 404:
            body["suggestions"] = self.suggestions
        return body


def refusal(e: RoadmapError) -> Refusal:
    """The HTTP meaning of one of our errors: unknown topic 404, broken kb 503, any other bad input 400."""
    if isinstance(e, UnknownTopicError):
        return Refusal(404, str(e), e.suggestions)
    if isinstance(e, KbError):
        return Refusal(503, f"the knowledge base is broken: {e}")
    return Refusal(400, str(e))


def split_known(bot: Assistant, known: list[str]) -> tuple[list[str], list[str]]:
    """`known` as (the concepts the kb knows, the refs it does not), so an ask still answers when a learner lists a
    topic the roadmap lacks."""
    kept: list[str] = []
    dropped: list[str] = []
    for ref in known:
        try:
            kept.append(bot.concept(ref).id)
        except RoadmapError:  # unknown, or too long to be any topic's name
            dropped.append(ref)
    return kept, dropped


def run_op(bot: Assistant, op: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    """One call of the public API by name, as plain data: ("ok", result) or ("refused", (status, detail, hints))."""
    try:
        if op == "ask":
            q, history, known = args
            kept, dropped = split_known(bot, known)
            return "ok", (bot.ask(q, history=history, known=kept).to_dict(), dropped)
        if op == "topic":
            return "ok", bot.topic(*args).to_dict()
        if op == "prerequisites":
            return "ok", [t.ref() for t in bot.prerequisites(args[0], transitive=args[1])]
        if op == "next":
            return "ok", [t.ref() for t in bot.next_topics(args[0], known=args[1])]
        if op == "path":
            return "ok", [t.ref() for t in bot.learning_path(args[0], known=args[1])]
    except RoadmapError as e:
        r = refusal(e)
        return "refused", (r.status, r.detail, r.suggestions)
    raise ValueError(f"unknown operation {op!r}")


class Pool:
    """Runs our public API calls with at most `slots` at once and a `deadline` in seconds for each, queueing included."""

    def __init__(self, bot: Assistant, slots: int = 8, deadline: float = 10.0, threads: int = 2) -> None:
        self.bot = bot
        self.deadline = deadline
        self.slots = max(1, slots)
        self._sem: asyncio.Semaphore | None = None
        # One answering thread per core this process owns: answers hold the GIL but for the embedding, so more
        # threads only interleave them, and the ones that lose the GIL make the tail (two workers on two cores, 32
        # clients: p99 444 ms with four threads each, 284 ms with one; bench/load.py).
        self._threads = cf.ThreadPoolExecutor(max_workers=max(1, min(self.slots, threads)), thread_name_prefix="answer")
        self.busy = 0
        self.refused = 0

    def close(self) -> None:
        """Stop at once: queued calls are cancelled."""
        self._threads.shutdown(wait=False, cancel_futures=True)

    # --- calls ---
    async def call(self, op: str, *args: Any) -> Any:
        """The result of `op`, or a `Refusal`: the call's own 4xx, or 503 past the deadline."""
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.slots)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await asyncio.wait_for(self._sem.acquire(), self.deadline)
        except TimeoutError:
            self.refused += 1
            raise Refusal(503, "the server is busy: try again in a moment") from None
        self.busy += 1
        try:
            future = self._threads.submit(run_op, self.bot, op, args)
            left = max(0.05, self.deadline - (loop.time() - started))
            try:
                kind, value = await asyncio.wait_for(asyncio.wrap_future(future), left)
            except TimeoutError:
                self.refused += 1
                future.cancel()
                raise Refusal(503, f"no answer within {self.deadline:g} s: try again in a moment") from None
        finally:
            self.busy -= 1
            self._sem.release()
        if kind == "refused":
            raise Refusal(*value)
        return value

    def call_sync(self, op: str, *args: Any) -> Any:
        """`call` for code running in a thread (the Gradio endpoints): the same pool, deadline and refusals."""
        future = self._threads.submit(run_op, self.bot, op, args)
        try:
            kind, value = future.result(timeout=self.deadline)
        except cf.TimeoutError:
            future.cancel()
            raise Refusal(503, f"no answer within {self.deadline:g} s: try again in a moment") from None
        if kind == "refused":
            raise Refusal(*value)
        return value
