"""A Microsoft Graph client that pages, and survives throttling, outages and garbage.

- 429, 503, 504: wait ``Retry-After`` when given (and keep honouring it), else back off
  exponentially with jitter; bounded both in tries and in total wait.
- Timeouts and dropped connections: the same backoff. One call, its tries and that backoff
  included, has one budget of time; every wait ends at once when the daemon stops. An answer
  over ``transport.MAX_ANSWER`` fails the call without being held in memory.
- Anything else: a GraphError with Graph's code, message and request-id. An answer that is
  not a JSON object (an HTML page, JSON cut short, a list) is a GraphError that says what
  came. A page that finally fails fails the caller; no page is ever skipped.
- The bearer token goes only to the tenant's Graph host over https: a next link pointing
  anywhere else is an error naming that host. A next link or skip token that comes back a
  second time in one read stops it (a server loop would otherwise never end).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from azsyncd import outbound, stop
from azsyncd.errors import GraphError, NetworkError

log = logging.getLogger(__name__)
RETRYABLE = {429, 503, 504}
CALL_BUDGET = 120.0  # seconds
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass(frozen=True)
class Page:
    """One answer of Graph: its JSON object and the request-id support asks for."""

    body: dict[str, Any]
    request_id: str = ""

    @property
    def items(self) -> list[Any]:
        value = self.body.get("value", [])
        if not isinstance(value, list):
            raise self.bad(f'"value" is {type(value).__name__}, not a list')
        return value

    def link(self, key: str) -> str | None:
        value = self.body.get(key)
        if value is not None and not isinstance(value, str):
            raise self.bad(f'"{key}" is {type(value).__name__}, not a URL')
        return value or None

    def bad(self, reason: str) -> GraphError:
        return GraphError(200, "unexpected_answer", reason, self.request_id)


class LinkGuard:
    """Remembers the links of one read; a link or skip token seen twice is a loop."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def check(self, link: str, page: Page) -> None:
        query = {k.lower(): v for k, v in parse_qsl(urlsplit(link).query)}
        token = query.get("$skiptoken") or query.get("$skip_token")
        keys = [link] + ([f"skiptoken:{token}"] if token else [])
        if any(key in self._seen for key in keys):
            raise GraphError(
                200,
                "repeated_link",
                "Graph sent a next link it had already sent in this read"
                + (" (the same skip token)" if token else "")
                + "; the read stops here rather than loop",
                page.request_id,
            )
        self._seen.update(keys)


class GraphClient:
    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        token: Callable[[], str],
        *,
        sleep: Callable[[float], None] = stop.sleep,
        max_tries: int = 10,
        max_wait: float = 900.0,
        jitter: Callable[[], float] = random.random,
        on_wait: Callable[[str], None] | None = None,
        budget: float = CALL_BUDGET,
    ) -> None:
        """``budget``: the time one call may take in tries and in backoff between them (a
        wait Graph asks for with Retry-After is bounded by ``max_wait`` instead)."""
        self.budget = budget
        self._http = http
        self.base = base_url.rstrip("/") + "/v1.0"
        self._origin = _origin(self.base)
        self._token = token
        self._sleep = sleep
        self.max_tries = max_tries
        self.max_wait = max_wait
        self._jitter = jitter
        self.on_wait = on_wait or (
            lambda message: log.info("%s", message)
        )  # the run log, during a sync
        self.calls = 0

    def _url(self, path_or_url: str) -> str:
        if "://" not in path_or_url:
            return self.base + path_or_url
        origin = _origin(path_or_url)
        scheme, host, _ = origin
        if origin != self._origin or (scheme != "https" and host not in LOOPBACK):
            raise GraphError(
                0,
                "foreign_link",
                f"Graph sent a link to {scheme}://{host or '?'}, not to the tenant's Graph "
                f"host {self._origin[0]}://{self._origin[1]}; the token is sent only there, "
                "so the read stops",
            )
        return path_or_url

    def get(
        self,
        path_or_url: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return self.fetch(path_or_url, params, headers).body

    def fetch(
        self,
        path_or_url: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Page:
        url = self._url(path_or_url)
        waited = 0.0  # Retry-After and backoff waits, bounded by max_wait
        budget = outbound.Budget(self.budget)  # the tries themselves and backoff after timeouts
        for attempt in range(1, self.max_tries + 1):
            stop.check()
            self.calls += 1
            request_headers = {"Authorization": f"Bearer {self._token()}", **(headers or {})}
            try:
                with budget.trying() as extensions:
                    response = self._http.get(
                        url, params=params, headers=request_headers, extensions=extensions
                    )
            except NetworkError as exc:
                if exc.lasting:  # no retry cures an unknown host, a certificate, a huge answer
                    raise GraphError(0, exc.code, exc.message, fix=exc.fix) from exc
                reason, retry_after = f"{exc.kind}: {exc.message}", None
            else:
                if response.status_code < 400:
                    return _page(response)
                if response.status_code not in RETRYABLE:
                    raise _error(response)
                reason, retry_after = (
                    f"HTTP {response.status_code}",
                    response.headers.get("Retry-After"),
                )
                if attempt == self.max_tries:
                    raise _error(response)
            pause = self._pause(attempt, retry_after)
            spent = budget.left() <= (0 if retry_after else pause)
            if attempt == self.max_tries or waited + pause > self.max_wait or spent:
                raise GraphError(
                    0,
                    "gave_up",
                    f"Graph kept failing ({reason}) after {attempt} tries and "
                    f"{waited:.0f} s of waiting",
                )
            self.on_wait(f"Graph answered {reason}; waiting {pause:.1f} s before try {attempt + 1}")
            if retry_after:
                self._sleep(pause)  # the server asked for it: not this call's own time
            else:
                budget.pause(pause, self._sleep)
            waited += pause
        raise AssertionError("unreachable")  # pragma: no cover

    def _pause(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass  # an HTTP date: rare from Graph; fall back to backoff
        return min(60.0, 2.0 ** (attempt - 1)) * (0.5 + self._jitter())

    def pages(
        self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Iterator[Page]:
        """Each page of a collection, following @odata.nextLink until it is absent."""
        page = self.fetch(path, params, headers)
        guard = LinkGuard()
        while True:
            yield page
            next_link = page.link("@odata.nextLink")
            if not next_link:
                return
            guard.check(next_link, page)
            page = self.fetch(next_link, None, headers)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1  # a port that is no number: never the tenant's
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port or default


def _request_id(response: httpx.Response) -> str:
    return response.headers.get("request-id", "") or response.headers.get("client-request-id", "")


def _page(response: httpx.Response) -> Page:
    request_id = _request_id(response)
    try:
        body = outbound.json_of(response)
    except outbound.BadAnswer as exc:
        raise GraphError(response.status_code, "unexpected_answer", str(exc), request_id) from None
    if not isinstance(body, dict):
        raise GraphError(
            response.status_code,
            "unexpected_answer",
            f"a JSON {type(body).__name__} instead of an object",
            request_id,
        )
    if "error" in body and "value" not in body and "id" not in body:
        code, message = _error_text(body["error"])
        raise GraphError(response.status_code, code or "error_in_answer", message, request_id)
    return Page(body, request_id)


def _error_text(error: Any) -> tuple[str, str]:
    """Graph's error code and message, whatever shape the error came in."""
    if isinstance(error, dict):
        return str(error.get("code") or ""), str(error.get("message") or error)[:300]
    return "", str(error)[:300]


def _error(response: httpx.Response) -> GraphError:
    try:
        body = outbound.json_of(response)
    except outbound.BadAnswer as exc:
        code, message = "", str(exc)
    else:
        code, message = _error_text(body.get("error", body) if isinstance(body, dict) else body)
    return GraphError(
        response.status_code,
        code or f"HTTP{response.status_code}",
        message,
        _request_id(response),
    )
