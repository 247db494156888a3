"""Several server processes on one port, each with its own listening socket (`SO_REUSEPORT`).

uvicorn's own `workers` share one socket, and whichever process wakes first accepts every connection waiting: 32
clients that connect at once all landed on one of two workers in 3 of 3 tries (`ss -tnp` during bench/load.py), so
one core answered while the other idled. With a socket each, the kernel spreads new connections over the workers by a
hash of the address (17/15, 19/13, 18/14 in three tries). Everything else is uvicorn's supervisor: it pings the
workers, replaces one that dies or hangs, and stops them all on SIGTERM or Ctrl-C; each replacement gets a new socket,
and a dead worker's socket closes with it, so no connection waits on a socket that nobody accepts from.
"""

from __future__ import annotations

import os
import socket
import sys

from uvicorn import Config
from uvicorn.supervisors import Multiprocess

from qa.balance import ENV as BALANCE_ENV
from qa.balance import create_table


class ReusePortWorkers(Multiprocess):
    """uvicorn's `Multiprocess`, handing each worker it starts (first or replacement) a socket of its own."""

    def __init__(self, config: Config) -> None:
        port_is_free(config.host, config.port)
        super().__init__(config, sockets=[])
        # Each worker counts its keep-alive connections in this table; one holding more than its share closes one
        # (qa.balance). The workers inherit its path from the environment.
        self.table = create_table()
        os.environ[BALANCE_ENV] = str(self.table)

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.table.unlink(missing_ok=True)

    @property  # type: ignore[override]
    def sockets(self) -> list[socket.socket]:
        """Read once for each worker the supervisor starts: a new socket in the port's group. The parent's copy closes
        as soon as the worker has started (the worker holds its own)."""
        return [reuse_port_socket(self.config.host, self.config.port)]

    @sockets.setter
    def sockets(self, _: list[socket.socket]) -> None:
        pass


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def port_is_free(host: str, port: int) -> None:
    """Exit with a clear message when something already listens there: sockets with `SO_REUSEPORT` would otherwise
    join another server of the same user on that port and share its connections."""
    probe = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as e:
        sys.exit(f"roadmap-qa: cannot listen on {host}:{port} ({e.strerror})")
    finally:
        probe.close()


def reuse_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
