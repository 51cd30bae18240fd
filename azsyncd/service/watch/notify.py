"""Sending one alert by email and by webhook; each channel says how it went."""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from azsyncd import outbound
from azsyncd.config.model import Config
from azsyncd.config.secrets import read_secret
from azsyncd.errors import NetworkError
from azsyncd.logs import register_secret
from azsyncd.sync.welcome import WelcomeMailer

WEBHOOK_TRIES = 4
WEBHOOK_DEADLINE = 30.0  # seconds for one try, answer included


@dataclass(frozen=True)
class Alert:
    key: str  # what the condition is, e.g. "held-42"; one alert per key until it clears
    title: str
    detail: str = ""


class Undelivered(Exception):
    """A webhook answer worth retrying (5xx, 429) or no answer."""


class Notifier:
    def __init__(
        self,
        config: Config,
        config_dir: Path,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        backoff: float = 1.0,
    ) -> None:
        self.config, self.config_dir = config, config_dir
        self._transport, self._sleep, self._backoff = transport, sleep, backoff

    def send(self, event: str, alert: Alert, at: datetime) -> dict[str, str]:
        """``event`` (alert, resolved, test) on every channel; channel -> error for failures."""
        errors: dict[str, str] = {}
        settings = self.config.alerts
        if settings.email_to:
            try:
                self._email(event, alert)
            except (OSError, smtplib.SMTPException) as exc:
                errors["email"] = f"{type(exc).__name__}: {exc}"
        if settings.webhook_url:
            try:
                self._webhook(event, alert, at)
            except Exception as exc:  # every failure is reported, never raised into the daemon
                errors["webhook"] = str(getattr(exc, "message", exc))
        return errors

    def _email(self, event: str, alert: Alert) -> None:
        mail = self.config.welcome_email
        account = self.config.account.name
        message = EmailMessage()
        message["From"] = mail.from_address
        message["To"] = ", ".join(self.config.alerts.email_to)
        prefix = {"alert": "[azsync]", "resolved": "[azsync resolved]", "test": "[azsync test]"}
        message["Subject"] = f"{prefix.get(event, '[azsync]')} {account}: {alert.title}"
        text = "\n\n".join(part for part in (alert.title, alert.detail) if part)
        message.set_content(f"{text}\n\n-- azsyncd for {account}")
        with WelcomeMailer(mail, account, self.config_dir).connect() as smtp:
            smtp.send_message(message)

    def _webhook(self, event: str, alert: Alert, at: datetime) -> None:
        settings = self.config.alerts
        body: dict[str, Any] = {
            "event": event,
            "key": alert.key,
            "title": alert.title,
            "detail": alert.detail,
            "account": self.config.account.name,
            "at": at.isoformat(),
        }
        self.post(settings.webhook_url, body, settings.secret_file, "alerts.secret_file")

    def email(self, to: list[str], subject: str, text: str) -> None:
        """One email over the welcome email's SMTP server."""
        mail = self.config.welcome_email
        message = EmailMessage()
        message["From"] = mail.from_address
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message.set_content(text)
        with WelcomeMailer(mail, self.config.account.name, self.config_dir).connect() as smtp:
            smtp.send_message(message)

    def post(self, url: str, body: dict[str, Any], secret_file: str | None, key: str) -> None:
        """A JSON POST, tried again on 5xx, 429 and no answer; ``secret_file``'s secret goes
        in the alerts' secret header. Raises what went wrong."""
        settings = self.config.alerts
        headers = {"Content-Type": "application/json"}
        if secret_file:
            secret = read_secret(secret_file, self.config_dir, key)
            register_secret(secret)
            headers[settings.secret_header] = secret
        payload = json.dumps(body).encode()
        retrying = Retrying(
            stop=stop_after_attempt(WEBHOOK_TRIES),
            wait=wait_exponential(multiplier=self._backoff, max=30 * self._backoff),
            retry=retry_if_exception_type(Undelivered),
            sleep=self._sleep or time.sleep,
        )
        with outbound.client(
            deadline=WEBHOOK_DEADLINE,
            timeout=httpx.Timeout(15),
            transport=self._transport,
            follow_redirects=False,
        ) as http:
            try:
                for attempt in retrying:
                    with attempt:
                        self._post(http, url, payload, headers)
            except RetryError as exc:
                cause = exc.last_attempt.exception()
                raise Undelivered(
                    f"webhook not delivered after {WEBHOOK_TRIES} tries: {cause}"
                ) from None

    @staticmethod
    def _post(http: httpx.Client, url: str, payload: bytes, headers: dict[str, str]) -> None:
        try:
            answer = http.post(url, content=payload, headers=headers)
        except NetworkError as exc:
            raise Undelivered(f"{exc.kind}: {exc.message}") from exc
        if answer.status_code == 429 or answer.status_code >= 500:
            raise Undelivered(f"HTTP {answer.status_code}")
        if answer.status_code >= 300:
            raise ValueError(
                f"the webhook refused the alert (HTTP {answer.status_code}); check webhook_url"
                " and the shared secret"
            )
