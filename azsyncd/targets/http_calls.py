"""One call to a help desk's REST API: the loop every help-desk client shares.

A call waits for the account's shared limiter, and has one budget of time for all its tries
and the pauses between them (``outbound.Budget``; the limiter's waits aside). It ends in an
answer or in one of azsync's errors:
- a 5xx or a network failure that may pass is tried again after a growing, jittered pause
  (a 503's ``Retry-After`` when it gives one), ``tries`` times at most; a write that timed out
  may have been done, so it is tried once more at most;
- a failure no retry cures (an unknown host, an untrusted certificate, an answer over the
  client's size cap) is a ``TargetError`` at once;
- a 429 pauses every caller of the account (``RateLimiter.lock_for``) for as long as
  ``throttle`` says, and says so; the call is then made again, ``max_429`` times at most;
- a 401 is a ``TargetError`` naming the settings to check (``key_refused``);
- an answer that is not JSON is a ``TargetError`` saying what came (``decoded``).

A client subclasses ``DeskCalls``, sets what its messages say (``desk`` and the fixes) and
keeps only what is its own: rate headers (``noted``), how long a 429 pauses (``throttle``),
its error bodies and its pages.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx

from azsyncd import outbound, stop
from azsyncd.errors import NetworkError, TargetError
from azsyncd.targets.ratelimit import RateLimiter

LONGEST_WAIT = 3600.0  # a longer Retry-After is garbage or an hourly limit: an hour


class Transient(Exception):
    """A 5xx or a network failure: worth another try after a pause (``pause``: the one the
    answer asked for; None, a growing one)."""

    def __init__(self, reason: str, *, timed_out: bool = False, pause: float | None = None):
        super().__init__(reason)
        self.timed_out = timed_out
        self.pause = pause


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """The seconds a ``Retry-After`` (or a reset) header asks to wait: seconds, or an HTTP
    date; from 0 to an hour. None when it is missing or unreadable."""
    text = (value or "").strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000": UTC, the sender's zone unknown
            when = when.replace(tzinfo=UTC)
        try:
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (OverflowError, OSError, ValueError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), LONGEST_WAIT)


def json_client(
    base_url: str,
    *,
    transport: httpx.BaseTransport | None,
    deadline: float,
    timeout: float,
    max_answer: int,
    auth: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """An ``outbound.client`` for a desk's JSON API: ``timeout`` for each network wait (10 s
    to connect), ``deadline`` for a try, answers up to ``max_answer`` bytes."""
    return outbound.client(
        base_url=base_url,
        auth=auth,
        transport=transport,
        deadline=deadline,
        max_answer=max_answer,
        timeout=httpx.Timeout(timeout, connect=10.0),
        headers={"Accept": "application/json", "User-Agent": "azsync", **(headers or {})},
    )


def backoff(tries: int) -> float:
    """The pause after ``tries`` failed tries: doubling up to a minute, with up to a second
    of jitter so parallel writers spread out."""
    return min(60.0, 2.0 ** (tries - 1)) + random.random()


class DeskCalls:
    """The call loop of a help desk's client (see the module)."""

    desk: ClassVar[str]  # its name, in every message: "HappyFox"
    down_fix: ClassVar[str]  # what to do when it does not answer
    answer_fix: ClassVar[str]  # what to do when it answers with something other than JSON
    throttled_fix: ClassVar[str]  # what to do when its 429s go on
    # The message and fix of a 401 (None: the client reads a 401 itself).
    key_refused: ClassVar[tuple[str, str] | None] = None
    tries: int = 5  # tries of a call that fails for a passing reason
    max_429: int = 6  # 429s in a row before a call gives up
    calls: int = 0  # requests sent by this client, tries included

    def __init__(
        self,
        http: httpx.Client,
        *,
        limiter: RateLimiter,
        budget: float,
        sleep: Callable[[float], None] | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """``http`` from ``json_client``; ``budget``: the seconds a call may take, its tries
        and pauses included; ``on_wait``: where a pause is said (the run's log; else the
        client's module logs it)."""
        self._http = http
        self.limiter = limiter
        self.budget = budget
        self.sleep = sleep or limiter.sleep
        log = logging.getLogger(type(self).__module__)
        self.on_wait = on_wait or (lambda message: log.warning("%s", message))

    # --- what a client may change ---------------------------------------------------------

    def shown(self, path: str) -> str:
        """A path as messages show it."""
        return path

    def noted(self, response: httpx.Response) -> None:
        """Learn from any answer's headers (its rate-limit headers)."""

    def throttle(self, response: httpx.Response) -> tuple[float, str]:
        """For a 429: the seconds every call of the account pauses, and what to say."""
        raise NotImplementedError

    # --- the loop -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        kinds: tuple[str, ...] = ("call",),
        **kwargs: Any,
    ) -> httpx.Response:
        """One call (see the module), taking one of each of ``kinds`` from the limiter for
        every try; its answer, neither a 429 nor a 5xx nor (with ``key_refused``) a 401."""
        budget = outbound.Budget(self.budget)
        for tries in itertools.count(1):
            try:
                return self._try(method, path, kinds, budget, kwargs)
            except Transient as exc:
                pause = exc.pause if exc.pause is not None else backoff(tries)
                once = exc.timed_out and method != "GET" and tries >= 2
                if tries >= self.tries or once or budget.left() <= pause:
                    raise TargetError(
                        f"{self.desk} did not answer {method} {self.shown(path)} after {tries} "
                        f"{'try' if tries == 1 else 'tries'} ({budget.spent:.0f} s of a "
                        f"{budget.seconds:.0f} s budget): {exc}",
                        self.down_fix,
                    ) from None
                budget.pause(pause, self.sleep)
        raise AssertionError("unreachable")  # pragma: no cover

    def _try(
        self,
        method: str,
        path: str,
        kinds: tuple[str, ...],
        budget: outbound.Budget,
        kwargs: dict[str, Any],
    ) -> httpx.Response:
        """One try, made again after each 429."""
        for _ in range(self.max_429 + 1):
            stop.check()
            self.limiter.acquire(*kinds)
            self.calls += 1
            try:
                with budget.trying() as extensions:
                    response = self._http.request(method, path, extensions=extensions, **kwargs)
            except NetworkError as exc:
                if exc.lasting:  # no retry cures an unknown host, a certificate, a huge answer
                    raise TargetError(f"{self.desk}: {exc.message}", exc.fix) from exc
                raise Transient(f"{exc.kind}: {exc.message}", timed_out=exc.timeout) from exc
            self.noted(response)
            status = response.status_code
            if status == 429:
                seconds, message = self.throttle(response)
                self.limiter.lock_for(seconds)  # every caller of the account, not just this one
                self.on_wait(message)
                continue
            if status >= 500:
                asked = retry_after(response.headers.get("Retry-After")) if status == 503 else None
                raise Transient(f"HTTP {status}", pause=asked)
            if status == 401 and self.key_refused is not None:
                raise TargetError(*self.key_refused)
            return response
        raise TargetError(
            f"{self.desk} kept answering 429 (rate limit) to {method} {self.shown(path)}",
            self.throttled_fix,
        )

    def decoded(
        self, method: str, path: str, response: httpx.Response, *, empty: bool = True
    ) -> Any:
        """The JSON of an answer (None for an empty one, if ``empty``), or a TargetError
        saying what came instead (an HTML page, JSON cut short...)."""
        if empty and not response.content.strip():
            return None
        try:
            return outbound.json_of(response)
        except outbound.BadAnswer as exc:
            raise TargetError(
                f"{self.desk} answered {method} {self.shown(path)} with HTTP "
                f"{response.status_code} and {exc}",
                self.answer_fix,
            ) from None
