"""The account-information email each newly created contact gets, over SMTP.

Never two to one contact: each recipient is claimed in the state database just before its
email goes out and confirmed just after, so a crash leaves at most one recipient whose email
may or may not have gone; that one is marked (``State.orphaned_welcomes``) and an admin can
send it with ``azsyncctl welcome resend EMAIL``.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from azsyncd import stop
from azsyncd.config.endpoints import is_loopback_host
from azsyncd.config.model import Config, WelcomeEmail
from azsyncd.config.secrets import read_private, read_secret
from azsyncd.config.templates import MAX_BODY, WELCOME_FIELDS, parse, render
from azsyncd.errors import UserError
from azsyncd.logs import register_secret
from azsyncd.state import State
from azsyncd.state.repository import WELCOME_DUE, WELCOME_SENDING, WELCOME_SENT

DEFAULT_TEMPLATE = """Hello {name},

An account has been created for you at the {account} help desk.

    Portal:   {portal_url}
    Sign in:  {email}

Use the portal to open requests and follow them. If you did not expect this email,
you can ignore it.

-- {account}
"""


def template_file(settings: WelcomeEmail, config_dir: Path) -> str:
    """The email's text from ``template_file``, checked as a template; UserError if it is not."""
    key = "welcome_email.template_file"
    raw = read_private(settings.template_file or "", config_dir, key)
    text = raw.decode("utf-8", errors="replace")
    try:
        parse(text, WELCOME_FIELDS)
    except ValueError as exc:
        raise UserError(
            f"{key}: {settings.template_file} {exc}", "correct the template file, then reload"
        ) from None
    return text


class WelcomeMailer:
    def __init__(self, settings: WelcomeEmail, account: str, config_dir: Path) -> None:
        self.settings = settings
        self.account = account
        self._config_dir = config_dir
        self._password: str | None = None
        if settings.template_file:
            self.template = template_file(settings, config_dir)
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
        message["Subject"] = render(self.settings.subject, values)
        message["Message-ID"] = make_msgid(domain=self.settings.from_address.split("@")[-1] or None)
        message.set_content(render(self.template, values, MAX_BODY))
        return message

    def connect(self) -> smtplib.SMTP:
        """A logged-in SMTP connection (alerts use it too)."""
        s = self.settings
        if s.tls == "none" and not is_loopback_host(s.smtp_host):
            # The config's rules refuse this; a settings object built elsewhere must not either.
            raise UserError(
                f"refusing plain SMTP to {s.smtp_host}: the login would go in the clear",
                'set [welcome_email] tls = "starttls" or "tls" in the configuration file',
            )
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

    def deliver(
        self, recipients: list[tuple[str, str]], state: State, again: bool = False
    ) -> dict[str, str]:
        """Send to (name, email) pairs over one connection, each claimed just before and
        confirmed just after; returns email -> reason for those not sent. A recipient not
        owed one is left alone; ``again`` also takes one that failed or may not have arrived."""
        errors: dict[str, str] = {}
        smtp: smtplib.SMTP | None = None
        unusable = ""  # the server could not be used: the rest fail without trying
        try:
            for name, email in recipients:
                stop.check()  # never between a claim and its confirmation
                if not state.claim_welcome(email, again=again):
                    continue
                error = unusable
                try:
                    if not error:
                        smtp = smtp or self._connect_or_say_why()
                        smtp.send_message(self.message(name, email))
                except _Unusable as exc:
                    error = unusable = str(exc)
                except (OSError, smtplib.SMTPException) as exc:
                    error = f"welcome email not sent: {type(exc).__name__}: {exc}"
                except Exception as exc:  # never leave a claim behind for a crash to explain
                    state.settle_welcome(email, f"welcome email not sent: {exc!r}")
                    raise
                state.settle_welcome(email, error)
                if error:
                    errors[email] = error
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
        return errors

    def _connect_or_say_why(self) -> smtplib.SMTP:
        try:
            return self.connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise _Unusable(
                "welcome email not sent: cannot use "
                f"{self.settings.smtp_host}:{self.settings.smtp_port} ({type(exc).__name__}: {exc})"
            ) from None


class _Unusable(Exception):
    """The SMTP server cannot be used at all."""


def resend(config: Config, config_dir: Path, state: State, email: str) -> None:
    """An admin's resend of one welcome email azsync owes: one that failed or may not have
    arrived (the daemon stopped while sending). Never after a confirmed send."""
    if not config.welcome_email.enabled:
        raise UserError(
            "welcome emails are turned off",
            "turn them on first: azsyncctl settings set welcome_email.enabled=true",
        )
    email = email.strip().lower()
    row = state.mirror_entry(email)
    if row is None or not row.welcome_state:
        raise UserError(
            f"azsync owes {email} no welcome email: "
            + ("it syncs no contact with that address" if row is None else "it did not create it"),
            "check the address; azsyncctl log --search PART finds it in the last sync",
        )
    if row.welcome_state == WELCOME_SENT:
        raise UserError(
            f"{email} got its welcome email on {row.welcome_sent_at:%Y-%m-%d %H:%M} UTC",
            "nothing to do; azsync never sends two",
        )
    if row.welcome_state in (WELCOME_SENDING, WELCOME_DUE):
        raise UserError(
            f"the welcome email to {email} is being sent or is due at the next sync",
            "wait for the sync to finish",
        )
    mailer = WelcomeMailer(config.welcome_email, config.account.name, config_dir)
    errors = mailer.deliver([(row.welcome_name or email, email)], state, again=True)
    if email in errors:
        raise UserError(errors[email], "check the [welcome_email] settings and the SMTP server")
