"""Connections to the control socket: who is calling, and how long they may take.

uvicorn's h11 protocol, plus:
- the caller's pid, uid and gid from the socket (SO_PEERCRED), in each request's scope;
- a deadline for each request to arrive in full: a client that connects and then trickles
  bytes is closed, so slow clients cannot hold the daemon's descriptors;
- a cap on open connections below the descriptor limit: at the cap, the connection that has
  waited longest for its request (or whose client stopped reading) is closed to make room,
  so a flood of slow clients still leaves room for a real request (and accept() never runs
  out of descriptors).
Repeated events (closed slow clients, failed accepts) are logged once a minute, not each time.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)
PEER_KEY = "azsyncd.peer"
REQUEST_TIMEOUT = 15.0  # seconds for a request's head and body to arrive
MAX_CONNECTIONS = 1024


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int


def peer_of(transport: asyncio.BaseTransport) -> Peer | None:
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family != socket.AF_UNIX:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return Peer(pid, uid, gid)


def connection_cap() -> int:
    """Half the descriptor limit (the rest is for the database, clients, logs), at most 1,024."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, min(MAX_CONNECTIONS, soft // 2))


class Throttle:
    """Log a repeated event at most once a minute, with how often it happened since."""

    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self.hits = 0  # ever, for whoever watches
        self._last = -interval
        self._count = 0

    def hit(self, message: str) -> None:
        self.hits += 1
        self._count += 1
        now = time.monotonic()
        if now - self._last >= self.interval:
            times = f" ({self._count} times in the last minute)" if self._count > 1 else ""
            log.warning("%s%s", message, times)
            self._last, self._count = now, 0


class _QuietLogger:
    """uvicorn's per-connection logger, with its warnings (a malformed request, an unsupported
    upgrade) logged once a minute each: a client sending garbage in a loop cannot flood the
    journal."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._throttles: dict[str, Throttle] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)

    def warning(self, message: str, *args: Any, **kwargs: Any) -> None:
        text = message % args if args else message
        throttle = self._throttles.setdefault(text, Throttle())
        throttle.hit(f"control socket: {text}")


_quiet_uvicorn = _QuietLogger(logging.getLogger("uvicorn.error"))


class _WithPeer:
    """The app, with the connection's peer credentials put in each request's scope."""

    def __init__(self, app: Any, peer: Peer) -> None:
        self.app, self.peer = app, peer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope[PEER_KEY] = self.peer
        await self.app(scope, receive, send)


class GuardedH11(H11Protocol):
    cap = MAX_CONNECTIONS
    closed = Throttle()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = _quiet_uvicorn  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._waiting_since = time.monotonic()
        self._deadline: asyncio.TimerHandle | None = None
        room = self._make_room()
        super().connection_made(transport)
        if not room:
            GuardedH11.closed.hit(
                f"refused a control connection: all {self.cap} connections are busy with requests"
            )
            self._drop()
            return
        peer = peer_of(transport)
        if peer is not None:
            self.app = _WithPeer(self.app, peer)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._waiting_since = time.monotonic()
        self._arm()

    def waiting(self) -> bool:
        """True while the request's head or body has not fully arrived."""
        return (
            self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing()
        )

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(REQUEST_TIMEOUT, self._expire)

    def _expire(self) -> None:
        if self.waiting():
            GuardedH11.closed.hit(
                "closed control connections that sent no full request within"
                f" {REQUEST_TIMEOUT:.0f} s (slow or idle clients)"
            )
            self._drop()

    def _drop(self) -> None:
        self.connections.discard(self)
        self.transport.abort()

    def _make_room(self) -> bool:
        """At the cap, close the connection that has waited longest for its request, else the
        oldest whose client stopped reading its answer; False if every one is busy."""
        if len(self.connections) < self.cap:
            return True
        guarded = [c for c in self.connections if isinstance(c, GuardedH11)]
        stalled = [c for c in guarded if c.waiting()] or [c for c in guarded if c.flow.write_paused]
        if not stalled:
            return False
        oldest = min(stalled, key=lambda c: c._waiting_since)
        GuardedH11.closed.hit(
            f"closed control connections that sent no request or read no answer, to make room"
            f" (limit {self.cap})"
        )
        oldest._drop()
        return True


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> Throttle:
    """Failed accepts (out of descriptors) are logged once a minute, not on every retry."""
    throttle = Throttle()
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith("socket.accept() out of system resource"):
            throttle.hit(
                f"cannot accept control connections: {context.get('exception')}; raise"
                " LimitNOFILE= in the unit or find what holds the descriptors"
            )
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return throttle
