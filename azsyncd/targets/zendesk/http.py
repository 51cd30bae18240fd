"""Calls to the Zendesk API: auth, the account's rate limit, retries, errors, cursor pages.

Every call (job polls included) waits for the account's shared limiter. A 429 holds every
process on the account for its ``Retry-After``; ``X-Rate-Limit`` minus
``X-Rate-Limit-Remaining`` is what the whole account used this minute, so calls other
integrations made count in the limiter too, and a minute Zendesk says is spent holds calls
until it ends, without a 429; an ``X-Rate-Limit`` below the configured one lowers it for this
run, said once. 5xx answers and network errors are tried again with backoff.
"""

from __future__ import annotations

import math
import reprlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from azsyncd import outbound, stop
from azsyncd.errors import TargetError
from azsyncd.targets import http_calls
from azsyncd.targets.http_calls import DeskCalls
from azsyncd.targets.ratelimit import RateLimiter

KIND = "call"  # Zendesk counts every call alike
CALL_BUDGET = 120.0  # seconds one call may take, its tries and pauses included
MAX_ANSWER = 20 * outbound.MB  # a page of 100 users with their user fields is far less
PAGE = 100  # the most records a cursor page holds


class Refused(TargetError):
    """Zendesk refused the call (4xx): ``status`` says how; the message says why."""

    def __init__(self, status: int, message: str, fix: str = "", body: Any = None) -> None:
        super().__init__(message, fix)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: httpx.Headers


def readable(body: Any) -> str:
    """Zendesk's error body as one sentence: field problems first, then its description."""
    if not isinstance(body, dict):
        return reprlib.repr(body)
    details = body.get("details")
    parts: list[str] = []
    if isinstance(details, dict):
        for field, problems in details.items():
            for problem in problems if isinstance(problems, list) else [problems]:
                text = problem.get("description") if isinstance(problem, dict) else problem
                text = str(text or "").strip()
                if text:
                    parts.append(
                        text if field in ("base", "") or ":" in text else f"{field}: {text}"
                    )
    elif isinstance(details, str) and details:
        parts.append(details)
    if not parts:
        for key in ("description", "message", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                parts.append(value)
                break
            if isinstance(value, dict) and value.get("message"):
                parts.append(str(value["message"]))
                break
    return "; ".join(parts) or reprlib.repr(body)


class ZendeskHttp(DeskCalls):
    desk = "Zendesk"
    down_fix = (
        "check Zendesk's status page (status.zendesk.com) and the network; the next sync retries"
    )
    answer_fix = (
        "check [target.zendesk] subdomain or base_url and Zendesk's status page; the next sync"
        " retries"
    )
    throttled_fix = (
        "another integration may be using the account's rate limit; lower"
        " [target.zendesk] rate_headroom, or try again later"
    )
    key_refused = (
        "Zendesk refused the email and API token (401)",
        "check [target.zendesk] email and api_token_file (Admin Center > Apps and"
        " integrations > Zendesk API), and that token access is on",
    )
    max_429 = 10

    def __init__(
        self,
        base_url: str,
        email: str,
        token: str,
        *,
        limiter: RateLimiter,
        headroom: float = 0.9,
        on_wait: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        timeout: float = 30.0,
        deadline: float = CALL_BUDGET,
    ) -> None:
        self.base = base_url.rstrip("/")
        http = http_calls.json_client(
            self.base + "/api/v2/",
            auth=(f"{email}/token", token),
            transport=transport,
            deadline=deadline,
            timeout=timeout,
            max_answer=MAX_ANSWER,
        )
        super().__init__(http, limiter=limiter, budget=deadline, sleep=sleep, on_wait=on_wait)
        self.headroom = headroom
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def say_once(self, key: str, message: str) -> None:
        """Put ``message`` in the run's log the first time ``key`` comes up."""
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        self.on_wait(message)

    # --- one call ----------------------------------------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> Answer:
        """One call (``DeskCalls.request``: a write that timed out is tried once more at
        most; 429s wait for their Retry-After). A 4xx answer raises ``Refused``."""
        response = self.request(method, path, kinds=(KIND,), **kwargs)
        status = response.status_code
        body = self.decoded(method, path, response)
        if status >= 400:
            raise Refused(
                status,
                f"Zendesk refused {method} {path} (HTTP {status}): {readable(body)}",
                body=body,
            )
        return Answer(status, body, response.headers)

    def throttle(self, response: httpx.Response) -> tuple[float, str]:
        seconds = _seconds(response.headers.get("Retry-After"), 60.0)
        return seconds, (
            f"Zendesk answered 429 (rate limit): pausing all calls for {seconds:g} s as its"
            " Retry-After says, then resuming"
        )

    def noted(self, response: httpx.Response) -> None:
        self._budget(response.headers)

    def _budget(self, headers: httpx.Headers) -> None:
        """What Zendesk says of the account's budget: its limit, and what is left of it."""
        limit = _int(headers.get("X-Rate-Limit"))
        kind_limit = self.limiter.limits.get(KIND, 0)
        if limit and int(limit * self.headroom) < kind_limit:
            allowed = max(1, int(limit * self.headroom))
            self.limiter.limits[KIND] = allowed
            self.say_once(
                "limit",
                f"Zendesk says this account allows {limit} calls a minute, fewer than"
                f" [target.zendesk] gives ({math.ceil(kind_limit / self.headroom)}): using"
                f" {allowed} a minute; fix: set plan or calls_per_minute to the account's",
            )
        left = _int(headers.get("X-Rate-Limit-Remaining"))
        if limit and left is not None and 0 <= left <= limit:
            # The account's calls this minute, all apps': what others made counts here too.
            self.limiter.note_used(KIND, limit - left)
        if left is not None and left <= 0:
            reset = _seconds(headers.get("ratelimit-reset"), 60.0)
            self.limiter.pause(reset)
            self.say_once(
                "spent",
                "Zendesk says the account's calls for this minute are spent (another"
                f" integration shares them): pausing {reset:g} s until the minute ends",
            )

    # --- reading ---------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.call("GET", path, params=params).body

    def pages(
        self, path: str, key: str, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every record of a list, a cursor page (100) at a time: offset paging fails past
        10,000 records."""
        query = {**(params or {}), "page[size]": PAGE}
        seen: set[str] = set()
        while True:
            stop.check()
            body = self.get(path, query)
            records = shaped_list(body, key, f"GET {path}")
            yield from records
            meta = body.get("meta") if isinstance(body, dict) else None
            if not isinstance(meta, dict) or not meta.get("has_more"):
                return
            cursor = meta.get("after_cursor")
            if not isinstance(cursor, str) or not cursor or cursor in seen:
                raise TargetError(
                    f"Zendesk's pages of GET {path} do not move on (cursor {cursor!r})",
                    "check Zendesk's status page; the next sync retries",
                )
            seen.add(cursor)
            query = {**(params or {}), "page[size]": PAGE, "page[after]": cursor}


def shaped_list(body: Any, key: str, call: str) -> list[dict[str, Any]]:
    """``body[key]`` as a list of objects, or a TargetError saying what came."""
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TargetError(
            f"Zendesk answered {call} with something azsync cannot read: {key} is"
            f" {reprlib.repr(value)}",
            "check Zendesk's status page; the next sync retries",
        )
    return value


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _seconds(value: str | None, default: float) -> float:
    """A header's seconds (Retry-After, ratelimit-reset; Retry-After may be an HTTP date),
    within reason; ``default`` for none, nothing or garbage."""
    return http_calls.retry_after(value) or default
