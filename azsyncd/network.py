"""The one place where httpx's and httpcore's errors become azsync's.

Every HTTP client azsync makes is a ``network.Client``: the identity and Graph clients, the
help desks', the webhook's (all through ``outbound.client``) and the control socket's. A call
that gets no usable answer raises ``errors.NetworkError`` from the library's error, worded
for the admin (which host, what happened, what to do); nothing above this module catches an
httpx or httpcore error. An HTTP status is an answer, not a failure: each caller reads it.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpcore
import httpx

from azsyncd.errors import NetworkError

T = TypeVar("T")

# How ``outbound.py`` words the failures an admin must act on (no retry helps).
UNTRUSTED = "was not trusted"
UNRESOLVED = "cannot resolve the host"


class TooLarge(httpx.TransportError):
    """An answer over the client's size cap (``outbound.client(max_answer=...)``)."""


# No usable answer: httpx's errors, and httpcore's from a transport of our own
# (``outbound.Transport`` is httpcore's pool; httpx maps those only in its own transport).
FAILURES: tuple[type[Exception], ...] = (
    httpx.TransportError,
    httpx.DecodingError,
    httpx.TooManyRedirects,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
)
_TIMEOUTS = (httpx.TimeoutException, httpcore.TimeoutException)


def failure(exc: Exception, url: str) -> NetworkError:
    """The failure of a call to ``url``, worded for the admin."""
    host = urlsplit(url).hostname or url
    text = str(exc) or type(exc).__name__
    lasting = False
    if UNTRUSTED in text:
        code, fix = (
            "tls_untrusted",
            "if a proxy inspects TLS, set the tenant's ca_bundle to a PEM file with its CA; "
            "otherwise check the host name and the system's CA certificates",
        )
        lasting = True
    elif UNRESOLVED in text:
        code, fix = (
            "dns",
            "check the host name (login_url and graph_url for a custom cloud) and the "
            "machine's DNS",
        )
        lasting = "temporary" not in text.lower()
    elif isinstance(exc, TooLarge):
        code, fix = (
            "too_large",
            "check the URL (an answer that large is not what the API sends); the next sync "
            "tries again",
        )
        lasting = True  # the same call brings the same answer
    elif isinstance(exc, _TIMEOUTS):
        code, fix = "timeout", "the network or the service is slow; the next sync retries"
    elif isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects):
        code, fix = "bad_answer", "the host's answer could not be read; try again later"
    else:
        code, fix = "unreachable", "check the network, the firewall and the proxy (https_proxy)"
    message = text if host in text else f"{host}: {text}"
    return NetworkError(code, message, fix, host=host, kind=type(exc).__name__, lasting=lasting)


class Client(httpx.Client):
    """httpx's client, whose failed calls raise NetworkError."""

    def send(self, request: httpx.Request, *args: Any, **kwargs: Any) -> httpx.Response:
        try:
            return super().send(request, *args, **kwargs)
        except FAILURES as exc:
            raise failure(exc, str(request.url)) from exc


def waiting_for_backlog(connect: Callable[[], T], seconds: float) -> T:
    """``connect()``, tried again for ``seconds`` while a Unix socket's listener has a full
    backlog (a flood of other clients: the kernel says EAGAIN at once), as a TCP connect waits."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return connect()
        except httpcore.ConnectError as exc:
            full = getattr(exc.__cause__, "errno", None) == errno.EAGAIN
            if not full or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
