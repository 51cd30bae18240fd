"""Freshservice's REST API v2 as calls that keep to the account's limits and end in an answer
or in one of azsync's errors.

- HTTP Basic, the API key as user name and "X" as password; JSON in and out.
- Every call waits for the account's shared limiter (``targets/shared_limits.py``): the
  total budget, and for a listing of requesters its own sub-limit too. Each answer's
  ``X-RateLimit-Remaining`` tells the limiter of calls others made on the account, and an
  ``X-RateLimit-Total`` below the configured plan's lowers the budget. A 429 is a bug here
  (or someone else on the account): every call pauses for its ``Retry-After``, then resumes.
- 5xx and timeouts are tried again with backoff, within one budget per call; 401, 403 and
  answers of another shape are errors that say what came and what to do.
- Pages follow the ``Link`` header.
"""

from __future__ import annotations

import email.utils
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from azsyncd import outbound, stop
from azsyncd.errors import NetworkError, TargetError
from azsyncd.targets.freshservice.plans import LIST, TOTAL
from azsyncd.targets.ratelimit import RateLimiter

log = logging.getLogger(__name__)

TRIES = 5
MAX_THROTTLES = 6  # 429s in a row before a call gives up
DEFAULT_RETRY_AFTER = 60.0
RESERVE_PAUSE = 60.0  # when an account's other (hourly) budget is nearly spent
LONGEST_RETRY_AFTER = 3600.0  # a longer Retry-After is garbage or an hourly limit: an hour
NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
CHECK_STATUS = "check Freshservice's status page and the network; the next sync retries"


class _Transient(Exception):
    """A 5xx or a timeout: worth another try after a pause."""


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
    hour."""
    if not value:
        return DEFAULT_RETRY_AFTER
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return min(float(text), LONGEST_RETRY_AFTER)
    try:
        wait = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return DEFAULT_RETRY_AFTER
    wait -= time.time() if now is None else now
    return min(max(0.0, wait), LONGEST_RETRY_AFTER)


class FreshserviceAPI:
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
        self._http = outbound.client(
            base_url=self.base,
            auth=(api_key, "X"),
            transport=transport,
            deadline=deadline,
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"Accept": "application/json", "User-Agent": "azsync"},
        )
        self.limiter = limiter
        self.headroom = headroom
        # The configured calls a minute (in all): headers naming a larger total speak of
        # another budget.
        self.account_total = account_total
        self.budget = deadline  # for a call and its tries again
        self._sleep = sleep or limiter.sleep
        self.on_wait = on_wait or (lambda message: log.warning("%s", message))
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
        """One call, tried again on 5xx and timeouts within one time budget (a POST, which may
        have been done, at most once more); raises Refusal on a 4xx and TargetError when it
        cannot be done."""
        retrying = Retrying(
            stop=stop_after_attempt(2 if method == "POST" else TRIES)
            | stop_after_delay(self.budget),
            wait=wait_exponential_jitter(initial=1, max=30),
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, path, params, json, listing)
        except _Transient as exc:
            raise TargetError(
                f"Freshservice did not answer {method} {_shown(path)}: {exc}",
                CHECK_STATUS,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self, method: str, path: str, params: dict[str, Any] | None, body: Any, listing: bool
    ) -> Answer:
        kinds = (LIST, TOTAL) if listing else (TOTAL,)
        for _ in range(MAX_THROTTLES + 1):
            self.limiter.acquire(*kinds)
            try:
                response = self._http.request(method, path, params=params, json=body)
            except NetworkError as exc:
                if exc.lasting:  # no retry cures an unknown host or certificate
                    raise TargetError(f"Freshservice: {exc.message}", exc.fix) from exc
                raise _Transient(f"{exc.kind}: {exc.message}") from exc
            self._note_limits(response)
            if response.status_code != 429:
                return self._answer(method, path, response)
            self._throttled(response)
        raise TargetError(
            f"Freshservice kept answering 429 (rate limit) to {method} {_shown(path)}",
            "another integration may be using the same account's API limit; lower "
            "rate_headroom or try again later",
        )

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

    def _throttled(self, response: httpx.Response) -> None:
        wait = retry_after(response.headers.get("Retry-After"))
        self.throttled += 1
        self.limiter.lock_for(wait)
        self.on_wait(
            f"Freshservice answered 429 (rate limit) although azsync kept under it: another "
            f"client is using this account's API limit; pausing all calls for {wait:.0f} s "
            "(Retry-After), then resuming"
        )

    def _answer(self, method: str, path: str, response: httpx.Response) -> Answer:
        status = response.status_code
        if status >= 500:
            raise _Transient(f"HTTP {status}")
        if status == 401:
            raise TargetError(
                "Freshservice refused the API key (401)",
                "check api_key_file: the key of an agent, from Profile settings > API key in "
                "Freshservice, and base_url or domain",
            )
        body: Any = None
        if response.content.strip():
            try:
                body = outbound.json_of(response)
            except outbound.BadAnswer as exc:
                if status < 400:
                    raise TargetError(
                        f"Freshservice answered {method} {_shown(path)} with HTTP {status} and "
                        f"{exc}",
                        "check base_url or domain (https://<domain>.freshservice.com); "
                        + CHECK_STATUS,
                    ) from None
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
