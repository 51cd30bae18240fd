"""Rules that tie configuration fields together, each reported at the key to change."""

from __future__ import annotations

import re
from collections.abc import Iterator

from azsyncd.config import target_kinds
from azsyncd.config.endpoints import is_loopback_host, secure_url
from azsyncd.config.model import Config, Tenant


def _target_problems(config: Config) -> Iterator[tuple[str, str]]:
    target = config.target
    if target.settings is None:
        kind = target_kinds.get(target.kind)
        fields = kind.settings.model_fields if kind else {}
        required = [name for name, field in fields.items() if field.is_required()]
        yield (
            f"target.{target.kind}",
            f'kind = "{target.kind}" needs a [target.{target.kind}] section with '
            + _listed(required),
        )
    for name, table in target.tables().items():
        kind = target_kinds.get(name)
        if kind is not None and kind.rules is not None:
            yield from kind.rules(table, config)


def _listed(names: list[str]) -> str:
    """ "a, b and c" """
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else "".join(names)


def _group_rule_problems(config: Config) -> Iterator[tuple[str, str]]:
    tickets: dict[str, bool] = {}
    # The leavers' group belongs to [lifecycle]: a rule emptying it would undo leaver actions.
    leavers = re.escape(config.lifecycle.group_name).replace(re.escape("{tenant}"), ".*")
    for i, rule in enumerate(config.contact_groups):
        key = f"contact_groups[{i}]"
        if re.fullmatch(leavers, rule.group):
            yield (
                f"{key}.group",
                f'"{rule.group}" is the leavers\' group of [lifecycle] group_name; give the rule'
                " a group of its own",
            )
        if tickets.setdefault(rule.group, rule.access_tickets) != rule.access_tickets:
            yield (
                f"{key}.access_tickets",
                f'rules for group "{rule.group}" disagree on access_tickets; give them one value',
            )


def cross_field_problems(config: Config) -> Iterator[tuple[str, str]]:
    """Yield (key, message) for each rule the configuration breaks."""
    yield from _target_problems(config)
    yield from _group_rule_problems(config)
    yield from _tenant_problems(config)
    yield from _mail_problems(config)
    yield from _alert_problems(config)


def _tenant_problems(config: Config) -> Iterator[tuple[str, str]]:
    names: set[str] = set()
    for i, tenant in enumerate(config.tenants):
        key = f"tenants[{i}]"
        if tenant.name in names:
            yield (
                f"{key}.name",
                f'tenant name "{tenant.name}" is used twice; each tenant needs its own name',
            )
        names.add(tenant.name)
        yield from _cloud_problems(key, tenant)
        if tenant.auth == "secret" and not tenant.client_secret_file:
            yield (
                f"{key}.client_secret_file",
                'auth = "secret" needs client_secret_file, a file holding the client secret'
                " (chmod 600)",
            )
        if (
            tenant.auth == "certificate"
            and not tenant.pfx_file
            and not (tenant.certificate_file and tenant.private_key_file)
        ):
            yield (
                f"{key}.certificate_file",
                'auth = "certificate" needs certificate_file and private_key_file (PEM), or'
                " pfx_file",
            )
        if tenant.users == "groups" and not tenant.groups:
            yield f"{key}.groups", 'users = "groups" needs at least one group id in groups'


def _cloud_problems(key: str, tenant: Tenant) -> Iterator[tuple[str, str]]:
    """A custom cloud needs both URLs, over https; another cloud takes neither."""
    for url_key in ("login_url", "graph_url"):
        url = getattr(tenant, url_key)
        if tenant.cloud != "custom":
            if url:
                yield (
                    f"{key}.{url_key}",
                    f'{url_key} only applies with cloud = "custom"; remove it or set cloud ='
                    ' "custom"',
                )
            continue
        if not url:
            yield f"{key}.{url_key}", f'cloud = "custom" needs {url_key}'
            continue
        try:
            secure_url(url, url_key)
        except ValueError as exc:
            yield f"{key}.{url_key}", str(exc)


def _mail_problems(config: Config) -> Iterator[tuple[str, str]]:
    mail = config.welcome_email
    if mail.enabled:
        for mail_key in ("smtp_host", "from_address"):
            if not getattr(mail, mail_key):
                yield (
                    f"welcome_email.{mail_key}",
                    f"the welcome email is enabled but {mail_key} is empty",
                )
        if mail.username and not mail.password_file:
            yield (
                "welcome_email.password_file",
                "an SMTP username needs password_file, a file holding the password",
            )
    # Whatever uses the server (welcome emails, alert emails, a test message): the SMTP login
    # and every email go in the clear with tls = "none", so only to this host.
    if mail.tls == "none" and mail.smtp_host and not is_loopback_host(mail.smtp_host):
        yield (
            "welcome_email.tls",
            'tls = "none" sends the SMTP login and every email in the clear; use "starttls"'
            ' or "tls" (plain SMTP is accepted only on loopback addresses such as 127.0.0.1)',
        )


def _alert_problems(config: Config) -> Iterator[tuple[str, str]]:
    mail, alerts = config.welcome_email, config.alerts
    smtp = bool(mail.smtp_host and mail.from_address)
    if alerts.email_to and not smtp:
        yield (
            "alerts.email_to",
            "alert emails go through the welcome email's SMTP server: set [welcome_email]"
            " smtp_host and from_address (enabled may stay false)",
        )
    if alerts.secret_file and not alerts.webhook_url:
        yield "alerts.secret_file", "a webhook secret needs webhook_url, the webhook it is sent to"
    if alerts.digest.emails and not smtp:
        yield (
            "alerts.digest.to",
            "the digest's emails go through the welcome email's SMTP server: set [welcome_email]"
            " smtp_host and from_address (enabled may stay false)",
        )
    if alerts.digest.secret_file and not alerts.digest.webhooks:
        yield (
            "alerts.digest.secret_file",
            "a digest secret needs a webhook URL in alerts.digest.to, where it is sent",
        )


def secret_file_keys(config: Config) -> Iterator[tuple[str, str]]:
    """Yield (key, path) of every secret (and template) file the configuration refers to."""
    for i, tenant in enumerate(config.tenants):
        for name in (
            "client_secret_file",
            "certificate_file",
            "private_key_file",
            "pfx_file",
            "pfx_passphrase_file",
        ):
            value = getattr(tenant, name)
            if value:
                yield f"tenants[{i}].{name}", value
    for name, table in config.target.tables().items():
        kind = target_kinds.get(name)
        for key in kind.secret_keys if kind else ():
            if value := getattr(table, key):
                yield f"target.{name}.{key}", value
    if config.welcome_email.password_file:
        yield "welcome_email.password_file", config.welcome_email.password_file
    if config.welcome_email.template_file:
        yield "welcome_email.template_file", config.welcome_email.template_file
    if config.alerts.secret_file:
        yield "alerts.secret_file", config.alerts.secret_file
    if config.alerts.digest.secret_file:
        yield "alerts.digest.secret_file", config.alerts.digest.secret_file
