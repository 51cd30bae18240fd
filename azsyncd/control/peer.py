"""Who listens on the control socket, checked before a client sends it anything.

A socket is found by its path, and whoever may rename a directory on that path may put a
socket of their own there: it would receive the secrets ``azsyncctl tenants credential``
sends. So every connection is checked as soon as it is made, before a byte goes out: the
listening process's user (SO_PEERCRED, from the kernel) must be root, this user (a daemon of
one's own), or azsyncd's user: ``$AZSYNCD_DAEMON_USER`` if set, else ``azsyncd`` (the systemd
units' ``User=``). The socket file's owner proves nothing: a swapped socket is its swapper's.
"""

from __future__ import annotations

import os
import pwd
import socket
import struct
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpcore
import httpx

from azsyncd.errors import DaemonUnreachable
from azsyncd.network import waiting_for_backlog
from azsyncd.outbound import exchange

SERVICE_USER = "azsyncd"  # User= in systemd/azsyncd.service and azsyncd@.service
USER_VARIABLE = "AZSYNCD_DAEMON_USER"
BACKLOG_WAIT = 30.0  # seconds a connection waits for room in a full backlog, with no timeout


class UntrustedDaemon(DaemonUnreachable):
    """The process listening on the socket is not azsyncd's: nothing was sent to it."""


def daemon_user() -> str:
    return os.environ.get(USER_VARIABLE, "").strip() or SERVICE_USER


def trusted_uids(user: str | None = None) -> set[int]:
    """Root, this process's user, and azsyncd's user if it exists here."""
    found = {0, os.geteuid()}
    try:
        found.add(pwd.getpwnam(user or daemon_user()).pw_uid)
    except KeyError:
        pass
    return found


def peer_uid(sock: socket.socket) -> int:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", raw)
    return int(uid)


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class _CheckedBackend(httpcore.NetworkBackend):
    def __init__(self, trusted: set[int], user: str) -> None:
        self._inner = httpcore.SyncBackend()
        self._trusted, self._user = trusted, user

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        # A full backlog (a flood of other clients) is waited out until the connect timeout.
        stream = waiting_for_backlog(
            lambda: self._inner.connect_unix_socket(path, timeout, socket_options),
            BACKLOG_WAIT if timeout is None else timeout,
        )
        uid = peer_uid(stream.get_extra_info("socket"))
        if uid not in self._trusted:
            stream.close()
            raise UntrustedDaemon(
                f"refusing to talk to {path}: the process listening there runs as {_name(uid)},"
                f" not as root or azsyncd's user ({self._user}); someone may have put their own"
                " socket in its place, and it would receive what you send. Nothing was sent",
                f"check every directory above {Path(path).parent}: each must belong to root or"
                f" {self._user} and be writable by nobody else. If azsyncd runs as another user,"
                f" name it: {USER_VARIABLE}=thatuser",
            )
        return stream

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("the control socket is a Unix socket")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# httpcore's failures as httpx's, which the client turns into DaemonUnreachable.
_MAPPED: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


def _whole(answer: httpcore.Response) -> bytes:
    return b"".join(answer.stream)  # type: ignore[arg-type]


class PeerCheckedTransport(httpx.BaseTransport):
    """httpx over the Unix socket at ``path``, each new connection's listener checked first."""

    def __init__(self, path: str | os.PathLike[str], user: str | None = None) -> None:
        name = user or daemon_user()
        self._pool = httpcore.ConnectionPool(
            uds=str(path), network_backend=_CheckedBackend(trusted_uids(name), name)
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return exchange(self._pool, request, _whole)
        except tuple(core_type for core_type, _ in _MAPPED) as exc:
            mapped = next(ours for theirs, ours in _MAPPED if isinstance(exc, theirs))
            raise mapped(str(exc), request=request) from exc

    def close(self) -> None:
        self._pool.close()
