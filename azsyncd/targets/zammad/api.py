"""Zammad's REST API (``/api/v1``): token auth, pages, the account's limiter, backoff, and
Zammad's errors as azsync's.

- Every call first takes one from the account's shared limiter (``max_per_minute``): Zammad
  documents no rate limit, so azsync keeps a polite one of its own.
- The call loop is ``targets/http_calls.py``'s: a 429 (a reverse proxy's, or a throttle)
  pauses every caller of the account for its Retry-After (else 30 s), then the call is made
  again; a 5xx, a timeout or a dropped connection is retried with a growing, jittered pause
  (a write that timed out once more at most). Both give up after a few tries with an error
  saying so; an answer over 20 MB fails the call.
- 401, 403, 404 and 422 are ``TargetError``s carrying Zammad's own message; a 422 is
  ``Refused`` (the write as sent is wrong: a duplicate email, a value out of range) and a
  404 ``NotFound``. An answer that is not JSON is an error saying what came.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx

from azsyncd import outbound, stop
from azsyncd.errors import TargetError
from azsyncd.targets import http_calls
from azsyncd.targets.http_calls import DeskCalls
from azsyncd.targets.ratelimit import RateLimiter

KIND = "call"  # one budget for every kind of call: Zammad counts none of them
PAGE = 1000  # the most a page holds in current Zammad (older releases cap it at 500)
TRIES = 6
BUDGET = 300.0  # seconds one call may take, every try and pause included
MAX_PAUSE = 60.0
MAX_ANSWER = 20 * outbound.MB  # a page of 1,000 users is far less
# What each path needs of the token's user, for the fix of a 403.
PERMISSIONS = (
    ("users", "admin.user"),
    ("organizations", "admin.organization"),
    ("object_manager_attributes", "admin.object"),
)


class Refused(TargetError):
    """Zammad refused the request as sent (422): its message says why."""


class NotFound(TargetError):
    """The object is not (or no longer) in Zammad (404)."""


def retry_after(response: httpx.Response) -> float | None:
    """Seconds a 429 asks to wait (Retry-After as seconds or as an HTTP date), or None."""
    return http_calls.retry_after(response.headers.get("Retry-After"))


class ZammadApi(DeskCalls):
    desk = "Zammad"
    down_fix = (
        "check that Zammad is up (its web interface, the reverse proxy in front of it) and the"
        " network; the next sync retries"
    )
    answer_fix = (
        "check base_url (the address of Zammad's web interface, e.g. "
        "https://helpdesk.example.com) and the reverse proxy in front of Zammad"
    )
    throttled_fix = (
        "something else is calling Zammad through the same proxy or token; lower"
        " [target.zammad] max_per_minute, or try again later"
    )
    max_429 = TRIES

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        limiter: RateLimiter,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        on_wait: Callable[[str], None] | None = None,
        timeout: float = 30.0,
        deadline: float = 120.0,
        tries: int = TRIES,
        budget: float = BUDGET,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        http = http_calls.json_client(
            self.base_url + "/api/v1/",
            transport=transport,
            deadline=deadline,
            timeout=timeout,
            max_answer=MAX_ANSWER,
            headers={"Authorization": f"Token token={token}"},
        )
        super().__init__(http, limiter=limiter, budget=budget, sleep=sleep, on_wait=on_wait)
        self.tries = tries

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request (``DeskCalls.request``: tried again on 5xx and network faults, a
        write that timed out once more at most); its JSON answer."""
        return self._answer(method, path, self.request(method, path, kinds=(KIND,), **kwargs))

    def shown(self, path: str) -> str:
        return f"/api/v1/{path}"

    def throttle(self, response: httpx.Response) -> tuple[float, str]:
        pause = retry_after(response)
        wait = min(pause if pause is not None else 30.0, 15 * MAX_PAUSE)
        return wait, f"Zammad answered 429 (too many requests): pausing all calls for {wait:.0f} s"

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        status = response.status_code
        call = f"{method} {self.shown(path)}"
        body = self.decoded(method, path, response)
        if status < 400:
            return body
        message = _message(body) or f"HTTP {status}"
        if status == 401:
            failure = response.headers.get("X-Failure", "")
            raise TargetError(
                f"Zammad refused the token (401 {message}{f': {failure}' if failure else ''})",
                "check token_file: a token of an admin user, made under Profile > Token "
                "Access, with the permissions admin.user, admin.organization and admin.object",
            )
        if status == 403:
            needed = next((p for prefix, p in PERMISSIONS if path.startswith(prefix)), "")
            raise TargetError(
                f"Zammad refused {call}: {message} (403)",
                f"give the token the permission {needed} (Profile > Token Access)"
                if needed
                else "give the token's user the admin role",
            )
        if status == 404:
            raise NotFound(f"Zammad has no such object ({call}: {message})")
        if status == 422:
            raise Refused(f"Zammad refused {call}: {message}")
        raise TargetError(f"Zammad refused {call} with HTTP {status}: {message}")

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[list[Any]]:
        """Every page of a listing, until an empty one: Zammad gives no total, and an older
        release caps a page at 500 whatever ``per_page`` asks."""
        page = 1
        while True:
            stop.check()
            body = self.call("GET", path, params={**(params or {}), "page": page, "per_page": PAGE})
            if not isinstance(body, list):
                raise TargetError(
                    f"Zammad answered GET /api/v1/{path} (page {page}) with something that is "
                    f"not a list: {str(body)[:80]!r}",
                    "check base_url and Zammad's version (azsync needs API v1)",
                )
            if not body:
                return
            yield body
            page += 1


def _message(body: Any) -> str:
    if isinstance(body, dict):
        text = body.get("error_human") or body.get("error") or ""
        return str(text).removeprefix("Validation failed: ").strip()
    return ""
