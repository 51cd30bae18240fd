"""Freshservice's REST API v2 as calls that keep to the account's limits and end in an answer
or in one of azsync's errors.

- HTTP Basic, the API key as user name and "X" as password; JSON in and out.
- Every call waits for the account's shared limiter (``targets/shared_limits.py``): the
  total budget, and for a listing of requesters its own sub-limit too. Each answer's
  ``X-RateLimit-Remaining`` tells the limiter of calls others made on the account, and an
  ``X-RateLimit-Total`` below the configured plan's lowers the budget. A 429 is a bug here
  (or someone else on the account): every call pauses for its ``Retry-After``, then resumes.
- 5xx and network failures are tried again with backoff, within one budget per call
  (``targets/http_calls.py``); 401, 403 and answers of another shape are errors that say
  what came and what to do; an answer over 20 MB fails the call.
- Pages follow the ``Link`` header.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from azsyncd import outbound, stop
from azsyncd.errors import TargetError
from azsyncd.targets import http_calls
from azsyncd.targets.freshservice.plans import LIST, TOTAL
from azsyncd.targets.http_calls import DeskCalls
from azsyncd.targets.ratelimit import RateLimiter

log = logging.getLogger(__name__)

MAX_ANSWER = 20 * outbound.MB  # a page of 100 requesters is far less
DEFAULT_RETRY_AFTER = 60.0
RESERVE_PAUSE = 60.0  # when an account's other (hourly) budget is nearly spent
NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
CHECK_STATUS = "check Freshservice's status page and the network; the next sync retries"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the JSON, or None for an empty answer
    next: str | None  # the next page's URL, from the Link header


class Refusal(Exception):
    """Freshservice answered 4xx (other than 401, 403, 429): the call's payload or target is
    wrong. ``errors`` are its per-field errors."""

    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        self.errors: list[dict[str, Any]] = []
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            self.errors = [e for e in body["errors"] if isinstance(e, dict)]
        super().__init__(self.reason())

    @property
    def codes(self) -> dict[str, str]:
        """field -> error code (duplicate_value, invalid_value, ...)."""
        return {str(e.get("field", "")): str(e.get("code", "")) for e in self.errors}

    def reason(self, labels: dict[str, str] | None = None) -> str:
        """The errors as one sentence a person can act on; fields named by their labels."""
        names = labels or {}
        parts = []
        for error in self.errors:
            field = str(error.get("field") or "")
            label = names.get(field, field)
            label = f"{label} ({field})" if label != field else label
            text = str(error.get("message") or error.get("code") or "refused")
            parts.append(f"{label}: {text}" if label else text)
        if parts:
            return "; ".join(parts)
        if isinstance(self.body, dict):
            for key in ("message", "description", "code"):
                if self.body.get(key):
                    return f"HTTP {self.status}: {self.body[key]}"
        return f"HTTP {self.status}"


def retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds to wait from a ``Retry-After`` header: seconds, or an HTTP date; at most an
    hour; a minute when it says nothing readable."""
    wait = http_calls.retry_after(value, now)
    return DEFAULT_RETRY_AFTER if wait is None else wait


class FreshserviceAPI(DeskCalls):
    desk = "Freshservice"
    down_fix = CHECK_STATUS
    answer_fix = "check base_url or domain (https://<domain>.freshservice.com); " + CHECK_STATUS
    throttled_fix = (
        "another integration may be using the same account's API limit; lower "
        "rate_headroom or try again later"
    )
    key_refused = (
        "Freshservice refused the API key (401)",
        "check api_key_file: the key of an agent, from Profile settings > API key in "
        "Freshservice, and base_url or domain",
    )
    max_429 = 6

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        limiter: RateLimiter,
        headroom: float = 0.9,
        account_total: int | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        timeout: float = 30.0,
        deadline: float = 120.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.base = base_url.rstrip("/") + "/api/v2/"
        http = http_calls.json_client(
            self.base,
            auth=(api_key, "X"),
            transport=transport,
            deadline=deadline,
            timeout=timeout,
            max_answer=MAX_ANSWER,
        )
        super().__init__(http, limiter=limiter, budget=deadline, sleep=sleep, on_wait=on_wait)
        self.headroom = headroom
        # The configured calls a minute (in all): headers naming a larger total speak of
        # another budget.
        self.account_total = account_total
        self._warned_total = False
        self._lock = threading.Lock()
        self.throttled = 0  # 429s this client was answered

    def close(self) -> None:
        self._http.close()

    # --- one call -------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        listing: bool = False,
    ) -> Answer:
        """One call (``DeskCalls.request``: a write that timed out is tried once more at
        most; a listing counts toward its own sub-limit too); raises Refusal on a 4xx and
        TargetError when it cannot be done."""
        kinds = (LIST, TOTAL) if listing else (TOTAL,)
        response = self.request(method, path, kinds=kinds, params=params, json=json)
        return self._answer(method, path, response)

    def shown(self, path: str) -> str:
        return _shown(path)

    def noted(self, response: httpx.Response) -> None:
        self._note_limits(response)

    def _note_limits(self, response: httpx.Response) -> None:
        """Learn from the headers what others spent of the account's budget this minute."""
        total = _header_int(response, "X-RateLimit-Total")
        remaining = _header_int(response, "X-RateLimit-Remaining")
        if total is None or remaining is None:
            return
        if self.account_total is not None and total > self.account_total:
            # Another budget than the plan's minute (an account still on hourly limits):
            # its count is not comparable with the minute's; keep a reserve of it.
            if remaining < total * (1 - self.headroom):
                self.limiter.lock_for(RESERVE_PAUSE)
                self.on_wait(
                    f"Freshservice says {remaining} of this account's {total} calls are left: "
                    f"pausing all calls for {RESERVE_PAUSE:.0f} s to leave the rest to others"
                )
            return
        ours = self.limiter.limits.get(TOTAL, 0)
        allowed = max(1, int(total * self.headroom))
        if allowed < ours:
            with self._lock:
                self.limiter.limits[TOTAL] = allowed
                if LIST in self.limiter.limits:
                    self.limiter.limits[LIST] = min(self.limiter.limits[LIST], allowed)
                if not self._warned_total:
                    self._warned_total = True
                    self.on_wait(
                        f"Freshservice says this account allows {total} calls a minute, fewer "
                        f"than the configured plan: using {allowed}; fix: set plan (or "
                        "per_minute) in [target.freshservice] to the account's plan"
                    )
        added = self.limiter.note_used(TOTAL, total - remaining)
        if added:
            log.info("Freshservice counted %d call(s) this minute beyond azsync's own", added)

    def throttle(self, response: httpx.Response) -> tuple[float, str]:
        wait = retry_after(response.headers.get("Retry-After"))
        self.throttled += 1
        return wait, (
            f"Freshservice answered 429 (rate limit) although azsync kept under it: another "
            f"client is using this account's API limit; pausing all calls for {wait:.0f} s "
            "(Retry-After), then resuming"
        )

    def _answer(self, method: str, path: str, response: httpx.Response) -> Answer:
        status = response.status_code
        if status < 400:
            body = self.decoded(method, path, response)
        else:  # a refusal whose body is not JSON still says its status
            try:
                body = outbound.json_of(response) if response.content.strip() else None
            except outbound.BadAnswer:
                body = None
        if status == 403:
            detail = Refusal(status, body).reason()
            raise TargetError(
                f"Freshservice did not allow {method} {_shown(path)} ({detail})",
                "give the API key's agent a role that may view, create and edit requesters, "
                "departments and requester groups",
            )
        if status >= 400:
            raise Refusal(status, body)
        match = NEXT.search(response.headers.get("Link", ""))
        return Answer(status, body, match.group(1) if match else None)

    # --- pages ----------------------------------------------------------------------------

    def pages(
        self, path: str, key: str, params: dict[str, Any] | None = None, *, listing: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list, as the list under ``key`` of each answer."""
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        page = 1
        while url is not None:
            stop.check()
            answer = self.call("GET", url, params=query, listing=listing)
            body = answer.body
            items = body.get(key) if isinstance(body, dict) else None
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise TargetError(
                    f"Freshservice answered page {page} of GET {_shown(path)} with something "
                    f"azsync cannot read: no list of objects under {key!r}",
                    CHECK_STATUS,
                )
            yield items
            if not items or answer.next is None:
                return
            url, query, page = self._same_host(answer.next), None, page + 1

    def _same_host(self, url: str) -> str:
        """The next page's URL, if it stays on the account's host (the key goes with it)."""
        if not url.startswith(self.base):
            raise TargetError(
                f"Freshservice pointed to a next page on another host ({_shown(url)})",
                "check base_url; azsync sends the API key only to the configured host",
            )
        return url.removeprefix(self.base)


def _header_int(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _shown(path: str) -> str:
    """A path as messages show it: without a query string (it may hold an address)."""
    return path.split("?", 1)[0]
