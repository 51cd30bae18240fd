"""A Microsoft Graph client that pages, and survives throttling and brief outages.

- 429, 503, 504: wait ``Retry-After`` when given (and keep honouring it), else back off
  exponentially with jitter; bounded both in tries and in total wait.
- Timeouts and dropped connections: the same backoff.
- Anything else: a GraphError with Graph's code, message and request-id. A page that
  finally fails fails the caller; no page is ever skipped.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from azsyncd.errors import GraphError

log = logging.getLogger(__name__)
RETRYABLE = {429, 503, 504}


class GraphClient:
    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        token: Callable[[], str],
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_tries: int = 10,
        max_wait: float = 900.0,
        jitter: Callable[[], float] = random.random,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self._http = http
        self.base = base_url.rstrip("/") + "/v1.0"
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
        return (
            path_or_url
            if path_or_url.startswith("https://") or path_or_url.startswith("http://")
            else self.base + path_or_url
        )

    def get(
        self,
        path_or_url: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        url = self._url(path_or_url)
        waited = 0.0
        for attempt in range(1, self.max_tries + 1):
            self.calls += 1
            request_headers = {"Authorization": f"Bearer {self._token()}", **(headers or {})}
            try:
                response = self._http.get(url, params=params, headers=request_headers)
            except (httpx.TimeoutException, httpx.NetworkError) as exc:
                reason, retry_after = type(exc).__name__, None
            else:
                if response.status_code < 400:
                    return dict(response.json())
                if response.status_code not in RETRYABLE:
                    raise _error(response)
                reason, retry_after = (
                    f"HTTP {response.status_code}",
                    response.headers.get("Retry-After"),
                )
                if attempt == self.max_tries:
                    raise _error(response)
            pause = self._pause(attempt, retry_after)
            if attempt == self.max_tries or waited + pause > self.max_wait:
                raise GraphError(
                    0,
                    "gave_up",
                    f"Graph kept failing ({reason}) after {attempt} tries and "
                    f"{waited:.0f} s of waiting",
                )
            self.on_wait(f"Graph answered {reason}; waiting {pause:.1f} s before try {attempt + 1}")
            self._sleep(pause)
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
    ) -> Iterator[dict[str, Any]]:
        """Each page of a collection, following @odata.nextLink until it is absent."""
        page = self.get(path, params, headers)
        while True:
            yield page
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return
            page = self.get(next_link, None, headers)


def _error(response: httpx.Response) -> GraphError:
    request_id = response.headers.get("request-id", "") or response.headers.get(
        "client-request-id", ""
    )
    try:
        error = response.json().get("error", {})
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "", response.text[:200]
    return GraphError(
        response.status_code, code or f"HTTP{response.status_code}", message, request_id
    )
