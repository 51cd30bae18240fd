"""Alerts sent and not yet resolved; a test message's fate on each channel."""

from __future__ import annotations

from azsyncd.answers.base import Answer


class RaisedAlert(Answer):
    key: str = ""
    title: str = ""


class Alerts(Answer):
    enabled: bool = False
    alerts: list[RaisedAlert] = []


class AlertTest(Answer):
    channels: dict[str, str] = {}  # email/webhook -> "sent" or why not
