"""The account-information email each newly created contact gets, over SMTP."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from azsyncd.config.model import WelcomeEmail
from azsyncd.config.secrets import read_private, read_secret
from azsyncd.logs import register_secret

DEFAULT_TEMPLATE = """Hello {name},

An account has been created for you at the {account} help desk.

    Portal:   {portal_url}
    Sign in:  {email}

Use the portal to open requests and follow them. If you did not expect this email,
you can ignore it.

-- {account}
"""


class WelcomeMailer:
    def __init__(self, settings: WelcomeEmail, account: str, config_dir: Path) -> None:
        self.settings = settings
        self.account = account
        self._config_dir = config_dir
        self._password: str | None = None
        if settings.template_file:
            raw = read_private(settings.template_file, config_dir, "welcome_email.template_file")
            self.template = raw.decode("utf-8", errors="replace")
        else:
            self.template = DEFAULT_TEMPLATE

    def message(self, name: str, email: str) -> EmailMessage:
        values = {
            "name": name,
            "email": email,
            "portal_url": self.settings.portal_url,
            "account": self.account,
        }
        message = EmailMessage()
        message["From"] = self.settings.from_address
        message["To"] = email
        message["Subject"] = self.settings.subject.format(**values)
        message["Message-ID"] = make_msgid(domain=self.settings.from_address.split("@")[-1] or None)
        message.set_content(self.template.format(**values))
        return message

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.tls == "tls":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=30, context=context)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30)
            if s.tls == "starttls":
                smtp.starttls(context=context)
        if s.username:
            if self._password is None:
                self._password = read_secret(
                    s.password_file or "", self._config_dir, "welcome_email.password_file"
                )
                register_secret(self._password)
            smtp.login(s.username, self._password)
        return smtp

    def send_all(self, recipients: list[tuple[str, str]]) -> dict[str, str]:
        """Send to (name, email) pairs over one connection; returns email -> error for failures."""
        errors: dict[str, str] = {}
        if not recipients:
            return errors
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            reason = (
                "welcome email not sent: cannot use "
                f"{self.settings.smtp_host}:{self.settings.smtp_port} ({type(exc).__name__}: {exc})"
            )
            return {email: reason for _, email in recipients}
        with smtp:
            for name, email in recipients:
                try:
                    smtp.send_message(self.message(name, email))
                except (OSError, smtplib.SMTPException) as exc:
                    errors[email] = f"welcome email not sent: {type(exc).__name__}: {exc}"
        return errors
