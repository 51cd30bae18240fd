"""The data-quality digest: once a period, the failing contacts grouped by what fixes them,
to the directory's owners (``[alerts.digest]``), by email and/or webhook.

The alert thread checks it with the alerts (only the active daemon does), so it goes out at
the first check of each period (a week from Monday, or a day, in the account's time zone)
after a sync has finished, and only when at least ``min_count`` users fail. The period it
went out in is kept in the state database: a restart, or the standby taking over, sends
nothing twice. A digest no channel delivered is tried again at the next check. Its text is
``sync/quality.py``'s, the same ``azsyncctl report quality`` prints.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from azsyncd.config.model import Config
from azsyncd.service.watch.notify import Notifier
from azsyncd.state import State
from azsyncd.sync import quality

log = logging.getLogger(__name__)
SENT = "digest_sent"  # the state's fact: "<every>:<period>" of the last digest delivered


def report(state: State, config: Config) -> quality.Report:
    """The data-quality report as the state holds it now."""
    return quality.build(config.account.name, state.all_failing())


def period(every: str, now: datetime, zone: str) -> str:
    """The period ``now`` is in: "2026-W02" (ISO week) or "2026-01-05", in the account's zone."""
    day = now.astimezone(ZoneInfo(zone)).date()
    if every == "daily":
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


class DigestBook:
    def __init__(
        self,
        state: State,
        config: Callable[[], Config],
        notifier: Callable[[Config], Notifier],
        clock: Callable[[], datetime],
    ) -> None:
        self._state, self._config, self._notifier, self._clock = state, config, notifier, clock
        self._lock = threading.Lock()

    def check(self) -> str:
        """Send this period's digest if it is due; what was sent ("" if nothing)."""
        config = self._config()
        settings = config.alerts.digest
        if not settings.to or not self._state.finished_runs(1):
            return ""
        with self._lock:
            now = self._clock()
            due = f"{settings.every}:{period(settings.every, now, config.account.timezone)}"
            if self._state.fact(SENT) == due:
                return ""
            found = report(self._state, config)
            if found.failing < settings.min_count:
                return ""
            delivered = self._send(config, found, due.split(":", 1)[1], now)
            if not delivered:
                return ""
            self._state.set_fact(SENT, due)
            return f"digest {due}: {found.failing} user(s), {len(found.groups)} group(s)"

    def _send(self, config: Config, found: quality.Report, when: str, now: datetime) -> bool:
        """True if at least one recipient got it; each failure is logged."""
        settings = config.alerts.digest
        notifier = self._notifier(config)
        title = f"data quality, {when}: {found.failing} user(s) fail to sync"
        text = found.text(settings.addresses)
        delivered = False
        if settings.emails:
            try:
                notifier.email(
                    settings.emails,
                    f"[azsync digest] {config.account.name}: {title}",
                    f"{text}\n\n-- azsyncd for {config.account.name}",
                )
                delivered = True
            except (OSError, smtplib.SMTPException) as exc:
                log.error("data-quality digest not sent by email: %s: %s", type(exc).__name__, exc)
        body = {
            "event": "digest",
            "period": when,
            "title": title,
            "account": config.account.name,
            "at": now.isoformat(),
            **found.as_json(settings.addresses),
        }
        for url in settings.webhooks:
            try:
                notifier.post(url, body, settings.secret_file, "alerts.digest.secret_file")
                delivered = True
            except Exception as exc:  # reported, never raised into the alert thread
                log.error("data-quality digest not delivered to a webhook: %s", exc)
        return delivered
