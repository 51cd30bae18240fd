"""HTTP calls to the outside world (identity, Graph, HappyFox) that always end.

httpx's timeouts bound each network operation, not a call: an answer dripping a byte every
ten seconds never trips them. This transport gives every call an overall deadline (a caller
that retries gives each try what is left of its own budget: the ``DEADLINE`` extension),
and waits on the network in short slices, so a call also ends within a slice of the daemon
stopping (``azsyncd.stop``). An answer larger than the client's cap fails the call
(``network.TooLarge``) before it is held in memory. It is httpcore's connection pool with a network
backend of our own; proxies come from the environment (``https_proxy``, ``no_proxy``) as in
httpx.
"""

from __future__ import annotations

import errno
import json
import os
import re
import select
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from azsyncd import network, stop
from azsyncd.network import UNRESOLVED, UNTRUSTED

SLICE = 0.2  # how often a wait looks at the stop flag and the call's deadline
_call = threading.local()  # when the call running on this thread must end
DEADLINE = "azsync_deadline"  # a request extension: this call's deadline, in seconds
MB = 1024 * 1024


class Budget:
    """The time one call may take, every try and every pause between tries included."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.spent = 0.0

    def left(self) -> float:
        return self.seconds - self.spent

    @contextmanager
    def trying(self) -> Iterator[dict[str, float]]:
        """One try: the request extensions that give it what is left, and its time counted."""
        started = time.monotonic()
        try:
            yield {DEADLINE: max(0.001, self.left())}
        finally:
            self.spent += time.monotonic() - started

    def pause(self, seconds: float, sleep: Any) -> None:
        sleep(seconds)
        self.spent += seconds


def _budget(op_ends: float, timeout_type: type[Exception], what: str) -> float:
    """The next slice to wait; raises when the operation or the whole call is out of time."""
    stop.check()
    now = time.monotonic()
    call_ends = getattr(_call, "ends", None)
    if call_ends is not None and now >= call_ends:
        raise timeout_type(f"no complete answer within {_call.limit:g} s")
    if now >= op_ends:
        raise timeout_type(what)
    return max(0.001, min(SLICE, op_ends - now, (call_ends or op_ends) - now))


def _ends(timeout: float | None) -> float:
    return time.monotonic() + (timeout if timeout is not None else float("inf"))


class _Stream(httpcore.NetworkStream):
    def __init__(self, sock: socket.socket, host: str) -> None:
        self._sock = sock
        self._host = host

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        ends = _ends(timeout)
        while True:
            self._sock.settimeout(_budget(ends, httpcore.ReadTimeout, f"no data for {timeout} s"))
            try:
                return self._sock.recv(max_bytes)
            except TimeoutError:
                continue
            except OSError as exc:
                raise httpcore.ReadError(f"reading from {self._host}: {exc}") from None

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        ends = _ends(timeout)
        while buffer:
            self._sock.settimeout(
                _budget(ends, httpcore.WriteTimeout, f"could not send for {timeout} s")
            )
            try:
                buffer = buffer[self._sock.send(buffer) :]
            except TimeoutError:
                continue
            except OSError as exc:
                raise httpcore.WriteError(f"sending to {self._host}: {exc}") from None

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        if isinstance(self._sock, ssl.SSLSocket):
            raise httpcore.ProxyError("an https:// proxy is not supported; use an http:// proxy")
        host = server_hostname or self._host
        sock = ssl_context.wrap_socket(
            self._sock, server_hostname=host, do_handshake_on_connect=False
        )
        ends = _ends(timeout)
        try:
            while True:
                sock.settimeout(
                    _budget(ends, httpcore.ConnectTimeout, f"no TLS within {timeout} s")
                )
                try:
                    sock.do_handshake()
                    return _Stream(sock, host)
                except TimeoutError:
                    continue
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise httpcore.ConnectError(
                f"the TLS certificate of {host} {UNTRUSTED} ({exc.verify_message})"
            ) from None
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise httpcore.ConnectError(f"TLS with {host} failed: {exc}") from None
        except BaseException:
            sock.close()
            raise

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._sock if isinstance(self._sock, ssl.SSLSocket) else None
        if info == "socket":
            return self._sock
        if info == "is_readable":  # an idle pooled connection the server closed
            poller = select.poll()
            poller.register(self._sock, select.POLLIN)
            return bool(poller.poll(0))
        if info in ("client_addr", "server_addr"):
            try:
                return (
                    self._sock.getsockname() if info == "client_addr" else self._sock.getpeername()
                )
            except OSError:
                return None
        return None


class _Backend(httpcore.NetworkBackend):
    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        ends = _ends(timeout)
        try:
            addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            reason = str(exc.strerror or exc)
            raise httpcore.ConnectError(f"{UNRESOLVED} {host} ({reason})") from None
        problem = ""
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
                if local_address:
                    sock.bind((local_address, 0))
                sock.setblocking(False)
                code = sock.connect_ex(address)
                poller = select.poll()
                poller.register(sock, select.POLLOUT)
                while code in (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK):
                    budget = _budget(
                        ends,
                        httpcore.ConnectTimeout,
                        f"{host}:{port} did not accept within {timeout} s",
                    )
                    if poller.poll(budget * 1000):
                        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            except BaseException:
                sock.close()
                raise
            if code:
                sock.close()
                problem = f"cannot connect to {host}:{port} ({os.strerror(code).lower()})"
                continue
            sock.setblocking(True)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _Stream(sock, host)
        raise httpcore.ConnectError(problem or f"no address for the host {host}")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("outside calls never use a Unix socket")

    def sleep(self, seconds: float) -> None:
        stop.sleep(seconds)


class Transport(httpx.BaseTransport):
    """Every call through it ends: at its deadline, or at once when the daemon stops."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        deadline: float,
        trust_env: bool = True,
        max_answer: int | None = None,
    ) -> None:
        self.deadline = deadline
        self.max_answer = max_answer  # bytes; None: no cap
        self._ssl = ssl_context
        # httpx's own limits; HappyFox writes on 8 workers share one pool
        self._limits: dict[str, Any] = dict(
            network_backend=_Backend(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
        )
        self._direct = httpcore.ConnectionPool(ssl_context=ssl_context, **self._limits)
        self._proxies = urllib.request.getproxies() if trust_env else {}
        self._proxied: dict[str, httpcore.HTTPProxy] = {}

    def _pool(self, url: httpx.URL) -> httpcore.ConnectionPool:
        proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
        if not proxy or urllib.request.proxy_bypass(url.host):
            return self._direct
        if proxy not in self._proxied:
            parts = urllib.parse.urlsplit(proxy)
            auth = (
                (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
                if parts.username
                else None
            )
            host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
            bare = parts._replace(netloc=host)
            self._proxied[proxy] = httpcore.HTTPProxy(
                proxy_url=urllib.parse.urlunsplit(bare),
                proxy_auth=auth,
                ssl_context=self._ssl,
                **self._limits,
            )
        return self._proxied[proxy]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = min(self.deadline, float(request.extensions.get(DEADLINE, self.deadline)))
        # httpcore's errors go up as they are: network.Client maps them with httpx's own.
        with _deadline(deadline):  # the whole body, inside the call's deadline and the size cap
            return exchange(
                self._pool(request.url), request, lambda answer: self._body(answer, request)
            )

    def _body(self, answer: httpcore.Response, request: httpx.Request) -> bytes:
        cap = self.max_answer
        declared = next((v for k, v in answer.headers if k.lower() == b"content-length"), b"")
        chunks, size = [], 0
        if cap is not None and declared.isdigit() and int(declared) > cap:
            size = int(declared)
        else:
            for chunk in answer.stream:  # type: ignore[union-attr]
                size += len(chunk)
                if cap is not None and size > cap:
                    break
                chunks.append(chunk)
        if cap is not None and size > cap:
            limit = f"{cap // MB} MB" if cap >= MB else f"{cap} bytes"
            raise network.TooLarge(
                f"{request.url.host} answered with more than {limit}; the call fails rather "
                "than hold it",
                request=request,
            )
        return b"".join(chunks)

    def close(self) -> None:
        self._direct.close()
        for pool in self._proxied.values():
            pool.close()


def exchange(
    pool: httpcore.ConnectionPool,
    request: httpx.Request,
    body: Callable[[httpcore.Response], bytes],
) -> httpx.Response:
    """One httpx request sent through an httpcore pool, as httpx's own transport sends it:
    the answer's body is read whole by ``body``, then the connection goes back to the pool.
    httpcore's errors are raised as they are; the caller maps them. The control socket's
    transport (``control/peer.py``) sends through it too."""
    core = httpcore.Request(
        method=request.method,
        url=httpcore.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        ),
        headers=request.headers.raw,
        content=request.stream,  # type: ignore[arg-type]
        extensions=request.extensions,
    )
    answer = pool.handle_request(core)
    try:
        content = body(answer)
    finally:
        answer.close()
    return httpx.Response(
        status_code=answer.status,
        headers=answer.headers,
        stream=httpx.ByteStream(content),
        extensions=answer.extensions,
    )


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    _call.ends, _call.limit = time.monotonic() + seconds, seconds
    try:
        yield
    finally:
        _call.ends = None


class BadAnswer(ValueError):
    """An answer that is not the JSON the API documents; the message says what it was."""


def json_of(response: httpx.Response) -> Any:
    """The JSON of an answer, or BadAnswer saying what came instead (an HTML page...)."""
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise BadAnswer(what_came(response.text, exc)) from None


def what_came(text: str, exc: ValueError) -> str:
    """Words for an answer that was meant to be JSON: an HTML page, JSON cut short..."""
    head = text.lstrip()
    if not head:
        return "an empty answer instead of JSON"
    if head.startswith("<"):
        title = re.search(r"<title[^>]*>([^<]{0,80})", head, re.IGNORECASE)
        return "an HTML page instead of JSON" + (f" ({title.group(1).strip()!r})" if title else "")
    if head[0] in "{[" and isinstance(exc, json.JSONDecodeError):
        return f"JSON that is cut short or broken ({exc.msg} at character {exc.pos} of {len(text)})"
    return f"text instead of JSON ({head[:60]!r})"


def client(
    *,
    ssl_context: ssl.SSLContext | None = None,
    deadline: float,
    timeout: httpx.Timeout,
    transport: httpx.BaseTransport | None = None,
    max_answer: int | None = None,
    **kwargs: Any,
) -> httpx.Client:
    """An httpx client whose every call ends, and whose failed calls raise
    ``errors.NetworkError``; ``transport`` replaces the network (tests); ``max_answer``: the
    largest answer, in bytes, a call may bring (over it: ``network.TooLarge``)."""
    context = ssl_context or ssl.create_default_context()
    return network.Client(
        transport=transport or Transport(context, deadline, max_answer=max_answer),
        timeout=timeout,
        **kwargs,
    )
