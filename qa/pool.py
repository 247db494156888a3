"""Answering off the event loop: a bounded pool with a per-request deadline.

With one worker the pool is a few threads in the serving process; with several it is that many processes, each
holding its own `Assistant` over the same read-only index on disk, so answering uses every core (the answering code
holds the GIL most of the time, so threads alone never pass one core). A request that cannot start and finish within
the deadline is refused with 503 rather than queued for ever, and the event loop (health, the chat's page) never
waits for an answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import signal
import threading
from dataclasses import asdict
from typing import Any

from kb import KbError, RoadmapError, UnknownTopicError
from qa.assistant import Assistant
from qa.settings import Settings


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


# --- the worker processes ---
_BOT: Assistant | None = None


def _start_worker(settings: dict[str, Any]) -> None:
    global _BOT
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which shuts the pool down
    parent = os.getppid()

    def watch() -> None:  # end with the server, also when it is killed outright
        import time

        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
    _BOT = Assistant.load(settings=Settings.from_env(env={}, **settings))


def _in_worker(op: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    assert _BOT is not None, "the pool initializer loads the assistant"
    return run_op(_BOT, op, args)


class Pool:
    """Runs our public API calls with at most `slots` at once and a `deadline` in seconds for each, queueing included.

    `workers` > 1 answers in that many processes; they start once the index and the fast encoder are on disk (until
    then, and with one worker, threads in this process answer)."""

    def __init__(self, bot: Assistant, workers: int = 1, slots: int = 8, deadline: float = 10.0) -> None:
        self.bot = bot
        self.workers = max(1, workers)
        self.deadline = deadline
        self.slots = max(1, slots)
        self._sem: asyncio.Semaphore | None = None
        self._threads = cf.ThreadPoolExecutor(max_workers=min(self.slots, 4), thread_name_prefix="answer")
        self._procs: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.busy = 0
        self.refused = 0
        self.restarts = 0

    # --- life cycle ---
    def start(self) -> None:
        """Start the worker processes (in the background, when the encoder is still being exported)."""
        if self.workers > 1:
            threading.Thread(target=self._start_processes, name="pool-start", daemon=True).start()

    def _start_processes(self) -> None:
        import time

        from qa.embed import encoder_ready

        s = self.bot.settings
        # The first start's ONNX export: threads answer meanwhile (serve-only has loaded the encoder, or refused).
        while not self._closed and not s.serve_only and s.retriever != "bm25" and not encoder_ready(s.model, s.index_dir):
            time.sleep(1.0)
        kept = {"kb_dir", "index_dir", "model", "retriever", "top_k", "serve_only"}
        fields = {k: v for k, v in asdict(s).items() if k in kept}
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs threads and an event loop
        procs = cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_start_worker, initargs=(fields,))
        try:
            # Start every worker and wait for each to be loaded before sending them traffic.
            list(procs.map(_ping, range(self.workers * 2)))
        except Exception:  # noqa: BLE001 - a pool that cannot start leaves threads answering
            procs.shutdown(wait=False, cancel_futures=True)
            return
        with self._lock:
            if self._closed:
                procs.shutdown(wait=False, cancel_futures=True)
                return
            self._procs = procs

    def close(self) -> None:
        """Stop at once: queued calls are cancelled and the worker processes ended."""
        self._closed = True
        with self._lock:
            procs, self._procs = self._procs, None
        if procs is not None:
            children = list(getattr(procs, "_processes", {}).values())
            procs.shutdown(wait=False, cancel_futures=True)
            for p in children:
                with contextlib.suppress(Exception):
                    p.terminate()
        self._threads.shutdown(wait=False, cancel_futures=True)

    @property
    def mode(self) -> str:
        return f"{self.workers} processes" if self._procs is not None else "threads"

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
            for attempt in (1, 2):
                try:
                    future = self._submit(op, args)
                    left = max(0.05, self.deadline - (loop.time() - started))
                    kind, value = await asyncio.wait_for(asyncio.wrap_future(future), left)
                    break
                except TimeoutError:
                    self.refused += 1
                    future.cancel()
                    raise Refusal(503, f"no answer within {self.deadline:g} s: try again in a moment") from None
                except cf.process.BrokenProcessPool:
                    self._lost_workers()  # threads answer this one (attempt 2) while a fresh pool starts
                    if attempt == 2:
                        raise Refusal(503, "the server is restarting its workers: try again in a moment") from None
        finally:
            self.busy -= 1
            self._sem.release()
        if kind == "refused":
            raise Refusal(*value)
        return value

    def _lost_workers(self) -> None:
        """A worker process died (killed, out of memory): answer with threads and start fresh ones, a few times."""
        with self._lock:
            procs, self._procs = self._procs, None
        if procs is not None:
            procs.shutdown(wait=False, cancel_futures=True)
            self.restarts += 1
            if self.restarts <= 3:
                self.start()

    def _submit(self, op: str, args: tuple[Any, ...]) -> cf.Future:
        procs = self._procs
        if procs is not None:
            return procs.submit(_in_worker, op, args)
        return self._threads.submit(run_op, self.bot, op, args)

    def call_sync(self, op: str, *args: Any) -> Any:
        """`call` for code running in a thread (the Gradio endpoints): the same pool, deadline and refusals."""
        try:
            future = self._submit(op, args)
            kind, value = future.result(timeout=self.deadline)
        except cf.process.BrokenProcessPool:
            self._lost_workers()
            kind, value = run_op(self.bot, op, args)
        except cf.TimeoutError:
            future.cancel()
            raise Refusal(503, f"no answer within {self.deadline:g} s: try again in a moment") from None
        if kind == "refused":
            raise Refusal(*value)
        return value


def _ping(_: int) -> int:
    import time

    time.sleep(0.05)  # long enough that every worker takes one, so each has loaded before traffic arrives
    return os.getpid()

