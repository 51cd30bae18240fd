"""``POST /v1/welcome/resend``: the address a welcome email went to again."""

from __future__ import annotations

from typing import Literal

from azsyncd.answers.base import Answer


class WelcomeResent(Answer):
    email: str
    welcome: Literal["sent"] = "sent"
