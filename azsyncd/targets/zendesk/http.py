"""Calls to the Zendesk API: auth, the account's rate limit, retries, errors, cursor pages.

Every call (job polls included) waits for the account's shared limiter. A 429 holds every
process on the account for its ``Retry-After``; ``X-Rate-Limit`` minus
``X-Rate-Limit-Remaining`` is what the whole account used this minute, so calls other
integrations made count in the limiter too, and a minute Zendesk says is spent holds calls
until it ends, without a 429; an ``X-Rate-Limit`` below the configured one lowers it for this
run, said once. 5xx answers and network errors are tried again with backoff.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import reprlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from azsyncd import outbound, stop
from azsyncd.errors import NetworkError, TargetError
from azsyncd.targets.ratelimit import RateLimiter

log = logging.getLogger(__name__)

KIND = "call"  # Zendesk counts every call alike
MAX_429 = 10  # 429s in a row for one call before it fails
MAX_TRIES = 5
CALL_BUDGET = 120.0  # seconds one call may take, its tries and pauses included
MAX_ANSWER = 20 * outbound.MB  # a page of 100 users with their user fields is far less
RETRY_AFTER_CAP = 3600.0
PAGE = 100  # the most records a cursor page holds


class Refused(TargetError):
    """Zendesk refused the call (4xx): ``status`` says how; the message says why."""

    def __init__(self, status: int, message: str, fix: str = "", body: Any = None) -> None:
        super().__init__(message, fix)
        self.status = status
        self.body = body


class _Transient(Exception):
    """A 5xx or a network failure: worth another try after a pause."""

    def __init__(self, reason: str, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.timed_out = timed_out


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


class ZendeskHttp:
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
        self.budget = deadline  # one call's time, its tries and pauses included
        self._http = outbound.client(
            base_url=self.base + "/api/v2/",
            auth=(f"{email}/token", token),
            transport=transport,
            deadline=deadline,
            max_answer=MAX_ANSWER,
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"Accept": "application/json", "User-Agent": "azsync"},
        )
        self.limiter = limiter
        self.headroom = headroom
        self.sleep = sleep or limiter.sleep
        self.on_wait = on_wait or (lambda message: log.warning("%s", message))
        self.calls = 0  # made by this client, for tests and the benchmark
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
        """One call under the limiter, tried again on 5xx and network errors within one
        budget of time for all its tries and pauses (waits for the rate limit aside); a write
        that timed out (it may have been done) is tried once more at most. 429s wait for
        their Retry-After. A 4xx answer raises ``Refused``."""
        budget = outbound.Budget(self.budget)
        for tries in itertools.count(1):
            try:
                return self._once(method, path, budget, **kwargs)
            except _Transient as exc:
                pause = min(60.0, 2.0 ** (tries - 1)) + random.random()
                once = exc.timed_out and method != "GET" and tries >= 2
                if tries >= MAX_TRIES or once or budget.left() <= pause:
                    raise TargetError(
                        f"Zendesk did not answer {method} {path} after {tries} "
                        f"{'try' if tries == 1 else 'tries'} ({budget.spent:.0f} s of a "
                        f"{budget.seconds:.0f} s budget): {exc}",
                        "check Zendesk's status page (status.zendesk.com) and the network; the"
                        " next sync retries",
                    ) from None
                budget.pause(pause, self.sleep)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, path: str, budget: outbound.Budget, **kwargs: Any) -> Answer:
        for _ in range(MAX_429 + 1):
            self.limiter.acquire(KIND)
            try:
                with budget.trying() as extensions:
                    response = self._http.request(method, path, extensions=extensions, **kwargs)
            except NetworkError as exc:
                if exc.lasting:  # no retry cures an unknown host, a certificate, a huge answer
                    raise TargetError(f"Zendesk: {exc.message}", exc.fix) from exc
                raise _Transient(f"{exc.kind}: {exc.message}", exc.timeout) from exc
            self.calls += 1
            self._budget(response.headers)
            if response.status_code != 429:
                return self._answer(method, path, response)
            seconds = _seconds(response.headers.get("Retry-After"), 60.0)
            self.limiter.lock_for(seconds)
            self.on_wait(
                f"Zendesk answered 429 (rate limit): pausing all calls for {seconds:g} s as its"
                " Retry-After says, then resuming"
            )
        raise TargetError(
            f"Zendesk kept answering 429 to {method} {path}",
            "another integration may be using the account's rate limit; lower"
            " [target.zendesk] rate_headroom, or try again later",
        )

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

    def _answer(self, method: str, path: str, response: httpx.Response) -> Answer:
        status = response.status_code
        if status >= 500:
            raise _Transient(f"HTTP {status}")
        if status == 401:
            raise TargetError(
                "Zendesk refused the email and API token (401)",
                "check [target.zendesk] email and api_token_file (Admin Center > Apps and"
                " integrations > Zendesk API), and that token access is on",
            )
        if status == 204 or not response.content:
            body: Any = None
        else:
            try:
                body = outbound.json_of(response)
            except outbound.BadAnswer as exc:
                raise TargetError(
                    f"Zendesk answered {method} {path} with HTTP {status} and {exc}",
                    "check [target.zendesk] subdomain or base_url and Zendesk's status page;"
                    " the next sync retries",
                ) from None
        if status >= 400:
            raise Refused(
                status,
                f"Zendesk refused {method} {path} (HTTP {status}): {readable(body)}",
                body=body,
            )
        return Answer(status, body, response.headers)

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
    within reason."""
    try:
        seconds = float(str(value).strip())
    except (TypeError, ValueError):
        try:
            when = parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            return default
        if when.tzinfo is None:
            return default
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds) or seconds <= 0:
        return default
    return min(seconds, RETRY_AFTER_CAP)
