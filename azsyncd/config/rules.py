"""Rules that tie configuration fields together, each reported at the key to change."""

from __future__ import annotations

from collections.abc import Iterator

from azsyncd.config.endpoints import is_loopback_host, secure_url
from azsyncd.config.model import Config, suggest


def cross_field_problems(config: Config) -> Iterator[tuple[str, str]]:
    """Yield (key, message) for each rule the configuration breaks."""
    target = config.target
    if target.kind == "happyfox" and target.happyfox is None:
        yield (
            "target.happyfox",
            (
                'kind = "happyfox" needs a [target.happyfox] section with base_url, api_key_file '
                "and "
                "auth_code_file"
            ),
        )

    seen_fields: set[str] = set()
    for i, field in enumerate(target.local.fields):
        key = f"target.local.fields[{i}]"
        if field.name.lower() in seen_fields:
            yield (
                f"{key}.name",
                f'field "{field.name}" is declared twice; field names must be unique',
            )
        seen_fields.add(field.name.lower())
        if field.type in ("dropdown", "multi_select") and not field.choices:
            yield (
                f"{key}.choices",
                f'a {field.type} field needs choices, e.g. choices = ["Sales", "Support"]',
            )
        if field.type not in ("dropdown", "multi_select") and field.choices:
            yield (
                f"{key}.choices",
                f"a {field.type} field takes no choices; remove them or make it a dropdown",
            )

    if target.kind == "local":
        declared = {f.name for f in target.local.fields}
        for name in config.mapping.custom_fields:
            if name not in declared:
                yield (
                    f"mapping.custom_fields.{name}",
                    (
                        f'no custom field "{name}" in [target.local]{suggest(name, declared)}; '
                        "declare "
                        "it under [[target.local.fields]]"
                    ),
                )

    names: set[str] = set()
    for i, tenant in enumerate(config.tenants):
        key = f"tenants[{i}]"
        if tenant.name in names:
            yield (
                f"{key}.name",
                f'tenant name "{tenant.name}" is used twice; each tenant needs its own name',
            )
        names.add(tenant.name)
        if tenant.cloud == "custom":
            for url_key in ("login_url", "graph_url"):
                url = getattr(tenant, url_key)
                if not url:
                    yield f"{key}.{url_key}", f'cloud = "custom" needs {url_key}'
                    continue
                try:
                    secure_url(url, url_key)
                except ValueError as exc:
                    yield f"{key}.{url_key}", str(exc)
        else:
            for url_key in ("login_url", "graph_url"):
                if getattr(tenant, url_key):
                    yield (
                        f"{key}.{url_key}",
                        (
                            f'{url_key} only applies with cloud = "custom"; remove it or set '
                            "cloud "
                            "= "
                            '"custom"'
                        ),
                    )
        if tenant.auth == "secret" and not tenant.client_secret_file:
            yield (
                f"{key}.client_secret_file",
                (
                    'auth = "secret" needs client_secret_file, a file holding the client secret '
                    "(chmod "
                    "600)"
                ),
            )
        if (
            tenant.auth == "certificate"
            and not tenant.pfx_file
            and not (tenant.certificate_file and tenant.private_key_file)
        ):
            yield (
                f"{key}.certificate_file",
                (
                    'auth = "certificate" needs certificate_file and private_key_file (PEM), or '
                    "pfx_file"
                ),
            )
        if tenant.users == "groups" and not tenant.groups:
            yield f"{key}.groups", 'users = "groups" needs at least one group id in groups'

    mail = config.welcome_email
    if mail.enabled:
        for mail_key in ("smtp_host", "from_address"):
            if not getattr(mail, mail_key):
                yield (
                    f"welcome_email.{mail_key}",
                    f"the welcome email is enabled but {mail_key} is empty",
                )
        if mail.tls == "none" and mail.smtp_host and not is_loopback_host(mail.smtp_host):
            yield (
                "welcome_email.tls",
                'tls = "none" sends the SMTP login and every email in the clear; use "starttls"'
                ' or "tls" (plain SMTP is accepted only on loopback addresses such as 127.0.0.1)',
            )
        if mail.username and not mail.password_file:
            yield (
                "welcome_email.password_file",
                "an SMTP username needs password_file, a file holding the password",
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
    if config.target.happyfox:
        yield "target.happyfox.api_key_file", config.target.happyfox.api_key_file
        yield "target.happyfox.auth_code_file", config.target.happyfox.auth_code_file
    if config.welcome_email.password_file:
        yield "welcome_email.password_file", config.welcome_email.password_file
    if config.welcome_email.template_file:
        yield "welcome_email.template_file", config.welcome_email.template_file
