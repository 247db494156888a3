"""Keep-alive connections spread evenly over the worker processes.

With a socket each (`qa.workers`), the kernel hands a new connection to a worker by a hash of its address, and a
keep-alive connection stays with the worker that took it. Many short connections even out; a few long ones need not:
32 clients that connect at once split 17/15 one time and 19/13 another, and the worker with 19 answers each of them
later than the other (bench/load.py: p99 158-284 ms over seven runs before this, 162-224 ms with it).

So each worker publishes how many connections it serves (clients heard from within the last second) in a small
shared file, and a worker holding more than an even share (rounded up) answers one of them with `Connection: close`: the
client reconnects, and the kernel's hash places the new connection afresh. What a load balancer does with a maximum
connection age, done only where it helps. One worker alone never closes anything.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

ENV = "ROADMAP_QA_BALANCE"  # "<file>" of the shared table; set by the supervisor for its workers
WINDOW = 1.0  # a connection counts while it sent a request within this many seconds
PUBLISH_EVERY = 0.05  # seconds between updates of this worker's row
STALE = 2.0  # a row not updated for this long is a worker that is gone
CLOSE_EVERY = 0.05  # at most one connection closed per this many seconds, so the others can report first
SLACK = 0  # connections over an even share (rounded up) a worker may keep
_ROW = struct.Struct("<qqd")  # pid, connections, time of the update (time.time())
ROWS = 32  # more than any machine's worker count

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def create_table() -> Path:
    """A zeroed table for the workers of one server, in the temporary folder; the supervisor removes it."""
    fd, name = tempfile.mkstemp(prefix="roadmap-qa-balance-", suffix=".bin")
    try:
        os.write(fd, bytes(_ROW.size * ROWS))
    finally:
        os.close(fd)
    return Path(name)


class Balance:
    """This worker's row in the shared table, and the decision to close a connection."""

    def __init__(self, table: Path, clock: Callable[[], float] = time.time, pid: int | None = None) -> None:
        self._clock = clock
        with open(table, "r+b") as f:
            self._map = mmap.mmap(f.fileno(), _ROW.size * ROWS)
        self._pid = pid or os.getpid()
        self._row = self._claim()
        self._seen: dict[tuple[str, int], float] = {}
        # The heartbeat thread prunes `_seen` while the event loop records into it: without the lock a connection
        # recorded between its copy and its swap would be lost, and closing it would fail.
        self._lock = threading.Lock()
        self._published = -math.inf
        self._closed = -math.inf

    def _claim(self) -> int:
        """A free row: never used, or last updated by a worker that has stopped."""
        now = self._clock()
        for i in range(ROWS):
            pid, _, at = _ROW.unpack_from(self._map, i * _ROW.size)
            if pid == 0 or pid == self._pid or now - at > STALE:
                _ROW.pack_into(self._map, i * _ROW.size, self._pid, 0, now)
                return i
        raise RuntimeError("no free row in the connection table")

    def heartbeat(self, every: float = STALE / 4) -> threading.Thread:
        """Keep this worker's row fresh while it gets no requests (a thread): an idle worker is still a place for
        connections to go, not a stopped one."""

        def beat() -> None:
            while True:
                time.sleep(every)
                self.publish()

        thread = threading.Thread(target=beat, name="balance-heartbeat", daemon=True)
        thread.start()
        return thread

    def publish(self) -> None:
        """Write how many connections this worker served within the last `WINDOW` seconds."""
        with self._lock:
            now = self._clock()
            self._seen = {c: t for c, t in self._seen.items() if now - t <= WINDOW}
            _ROW.pack_into(self._map, self._row * _ROW.size, self._pid, len(self._seen), now)
            self._published = now

    def rows(self) -> list[tuple[int, int]]:
        """(pid, connections) of every live worker."""
        now = self._clock()
        out = []
        for i in range(ROWS):
            pid, n, at = _ROW.unpack_from(self._map, i * _ROW.size)
            if pid and now - at <= STALE:
                out.append((pid, n))
        return out

    def record(self, client: tuple[str, int] | None) -> tuple[str, int] | None:
        """Note a request on `client`'s connection (None: no client address, a unix socket); returns its key."""
        if not client:
            return None
        key = (str(client[0]), int(client[1]))
        with self._lock:
            self._seen[key] = self._clock()
        return key

    def should_close(self, client: tuple[str, int] | None) -> bool:
        """Record a request on `client`'s connection; True when that connection should close after the response."""
        key = self.record(client)
        if key is None:
            return False
        now = self._clock()
        if now - self._published >= PUBLISH_EVERY:
            self.publish()
        if now - self._closed < CLOSE_EVERY:
            return False
        others = [n for pid, n in self.rows() if pid != self._pid]
        if not others:
            return False
        share = math.ceil((sum(others) + len(self._seen)) / (len(others) + 1))
        if len(self._seen) <= share + SLACK:
            return False
        with self._lock:
            self._seen.pop(key, None)
        self._closed = now
        self.publish()
        return True


class BalanceMiddleware:
    """ASGI middleware: each HTTP response of an over-full worker's chosen connection carries `Connection: close`."""

    def __init__(self, app: ASGIApp, balance: Balance) -> None:
        self.app = app
        self.balance = balance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.balance.should_close(scope.get("client")):
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing)
