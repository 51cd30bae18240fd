"""Adding a tenant, or giving one a new credential: the fields of the chosen sign-in only.

The credential goes to the daemon's write-only endpoint once the tenant exists; nothing
reads it back. File paths and custom endpoints are changed in the configuration file only,
so the form says so instead of offering an input the daemon would refuse.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Select, Static, TextArea

from azsyncd.control.client import (
    Client,
    ClientSecret,
    Credential,
    FieldProblem,
    PemCertificate,
    Pfx,
    Tenant,
)
from tui.api import Failure, attempt, on_ui
from tui.screens.form_dialog import FormDialog
from tui.text import esc
from tui.widgets.fields import Row

CLOUDS = [
    ("Global", "global"),
    ("US Government (GCC High)", "usgov"),
    ("US Government DoD", "usgov-dod"),
    ("China (21Vianet)", "china"),
    ("Custom endpoints (configuration file only)", "custom"),
]
SIGN_INS = [
    ("Client secret", "secret"),
    ("Certificate: PEM certificate and key", "pem"),
    ("Certificate: PFX file and passphrase", "pfx"),
    ("Admin sign-in with a device code", "device_code"),
]
AUTH_OF = {"secret": "secret", "pem": "certificate", "pfx": "certificate"}
CREDENTIAL_ROWS = {
    "secret": ("row-secret",),
    "pem": ("row-certificate_pem", "row-private_key_pem"),
    "pfx": ("row-pfx_path", "row-passphrase"),
    "device_code": ("device-note",),
}
MAX_CREDENTIAL_BYTES = 64 * 1024


class LocalProblem(ValueError):
    """A value the form can refuse before sending anything."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _pem(text: str, key: str, what: str) -> str:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return text + "\n"
    path = Path(text).expanduser()
    if text and path.is_file() and path.stat().st_size <= MAX_CREDENTIAL_BYTES:
        content = path.read_text(errors="replace")
        if "-----BEGIN" in content:
            return content
    raise LocalProblem(
        key, f"paste the {what} (it starts with -----BEGIN), or give a PEM file on this machine"
    )


def _pfx(text: str) -> bytes:
    path = Path(text.strip()).expanduser()
    if not text.strip() or not path.is_file():
        raise LocalProblem("pfx_path", "give the path of the PFX (.pfx, .p12) file on this machine")
    if path.stat().st_size > MAX_CREDENTIAL_BYTES:
        raise LocalProblem("pfx_path", f"{path} is larger than 64 KiB; is it the PFX file?")
    return path.read_bytes()


class TenantForm(FormDialog[Tenant | None]):
    """Add a tenant (``tenant`` None), or store a new credential for ``tenant``."""

    DEFAULT_CSS = """
    TenantForm .note { color: $text-muted; height: auto; }
    """
    BINDINGS = [Binding("ctrl+s", "save", "Save")]

    def __init__(self, tenant: Tenant | None = None) -> None:
        super().__init__()
        self.tenant = tenant

    def compose(self) -> ComposeResult:
        adding = self.tenant is None
        with Vertical(id="dialog"):
            yield Static(
                "[b]Add a tenant[/b]"
                if adding
                else f"[b]New credential for {esc(self.tenant.name if self.tenant else '')}[/b]",
                id="dialog-title",
            )
            with VerticalScroll(id="form", can_focus=False):
                if adding:
                    yield from self.tenant_rows()
                yield Row(
                    "Sign-in",
                    Select(
                        SIGN_INS if adding else SIGN_INS[:3],
                        value=self.kind_of(self.tenant),
                        allow_blank=False,
                        compact=True,
                        id="kind",
                    ),
                    keys=["auth"],
                )
                yield from self.credential_rows()
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (Esc)", id="cancel", compact=True)
                yield Button("Add (Ctrl+S)" if adding else "Save (Ctrl+S)", id="save", compact=True)

    @staticmethod
    def kind_of(tenant: Tenant | None) -> str:
        if tenant is None or tenant.auth == "secret":
            return "secret"
        return "pfx" if tenant.pfx_file else "pem"

    def tenant_rows(self) -> list[Widget]:
        def text(key: str, placeholder: str) -> Input:
            return Input(placeholder=placeholder, id=key, compact=True)

        return [
            Row(
                "Name",
                text("name", "e.g. contoso"),
                keys=["name"],
                note="lowercase letters, digits and dashes; azsyncctl and the API use it",
            ),
            Row("Display name", text("display_name", "e.g. Contoso Ltd"), keys=["display_name"]),
            Row(
                "Tenant ID or domain",
                text("tenant_id", "e.g. contoso.onmicrosoft.com, or the directory GUID"),
                keys=["tenant_id"],
            ),
            Row(
                "Application (client) ID",
                text("client_id", "(the app registration's GUID)"),
                keys=["client_id"],
            ),
            Row(
                "Cloud",
                Select(CLOUDS, value="global", allow_blank=False, compact=True, id="cloud"),
                keys=["cloud", "login_url", "graph_url"],
            ),
            Static(
                "Custom login and Graph endpoints are set in the configuration file only: add "
                "this tenant there (login_url, graph_url), then reload with azsyncctl reload.",
                id="custom-note",
                classes="note",
            ),
        ]

    def credential_rows(self) -> list[Widget]:
        stored = "it is stored by the daemon, readable by it only, and never shown again"
        return [
            Row(
                "Client secret",
                Input(password=True, id="secret", compact=True, placeholder="(paste it here)"),
                keys=["secret", "client_secret_file", "credential.client_secret", "credential"],
                note=stored,
            ),
            Row(
                "Certificate (PEM)",
                TextArea(id="certificate_pem", soft_wrap=False),
                keys=["certificate_pem", "certificate_file", "credential.certificate"],
                note="paste it, or type the path of a PEM file on this machine",
            ),
            Row(
                "Private key (PEM)",
                TextArea(id="private_key_pem", soft_wrap=False),
                keys=["private_key_pem", "private_key_file", "credential.private_key"],
                note=stored,
            ),
            Row(
                "PFX file",
                Input(id="pfx_path", compact=True, placeholder="e.g. /home/me/contoso.pfx"),
                keys=["pfx_path", "pfx_file", "credential.pfx"],
                note="a file on this machine; its content is sent, " + stored,
            ),
            Row(
                "PFX passphrase",
                Input(password=True, id="passphrase", compact=True, placeholder="(empty if none)"),
                keys=["passphrase", "pfx_passphrase_file", "credential.passphrase"],
            ),
            Static(
                "No credential: once added, press z on the tenant and sign in as an admin of "
                "the tenant.",
                id="device-note",
                classes="note",
            ),
        ]

    def on_mount(self) -> None:
        self.show_kind(self.kind_of(self.tenant))
        self.show_cloud("global")
        super().on_mount()

    @on(Select.Changed, "#kind")
    def kind_changed(self, event: Select.Changed) -> None:
        self.show_kind(str(event.value))

    @on(Select.Changed, "#cloud")
    def cloud_changed(self, event: Select.Changed) -> None:
        self.show_cloud(str(event.value))

    def show_kind(self, kind: str) -> None:
        for rows in CREDENTIAL_ROWS.values():
            for row_id in rows:
                self.query_one(f"#{row_id}").display = row_id in CREDENTIAL_ROWS[kind]

    def show_cloud(self, cloud: str) -> None:
        if self.query("#custom-note"):
            self.query_one("#custom-note").display = cloud == "custom"

    # Reading the form.

    def value(self, key: str) -> str:
        return self.query_one(f"#{key}", Input).value.strip()

    @property
    def kind(self) -> str:
        return str(self.query_one("#kind", Select).value)

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            key: self.value(key) for key in ("name", "display_name", "tenant_id", "client_id")
        }
        settings["cloud"] = str(self.query_one("#cloud", Select).value)
        settings["auth"] = AUTH_OF.get(self.kind, "device_code")
        if settings["cloud"] == "custom":
            raise LocalProblem(
                "cloud", "custom endpoints are set in the configuration file only (see the note)"
            )
        return settings

    def credential(self) -> Credential | None:
        kind = self.kind
        if kind == "secret":
            secret = self.query_one("#secret", Input).value.strip()
            if not secret:
                raise LocalProblem("secret", "paste the client secret (its value, not its id)")
            return ClientSecret(secret)
        if kind == "pem":
            area = self.query_one("#certificate_pem", TextArea).text
            key = self.query_one("#private_key_pem", TextArea).text
            return PemCertificate(
                _pem(area, "certificate_pem", "certificate"),
                _pem(key, "private_key_pem", "private key"),
            )
        if kind == "pfx":
            passphrase = self.query_one("#passphrase", Input).value
            return Pfx(_pfx(self.query_one("#pfx_path", Input).value), passphrase)
        return None

    # Saving.

    def problem_key(self, key: str) -> str:
        """ "body.tenant_id" or "tenants[2].client_secret_file" as the form's rows name it."""
        return re.sub(r"^(body\.|tenants\[\d+\]\.)", "", key)

    def action_save(self) -> None:
        self.show_problems([], "")
        try:
            settings = None if self.tenant else self.settings()
            credential = self.credential()
        except LocalProblem as problem:
            self.show_problems([FieldProblem(problem.key, str(problem))], "Not sent:")
            return
        self.query_one("#form-error", Static).update("Sending…")
        self.send(settings, credential)

    @work(thread=True, exclusive=True, group="tenant-form")
    def send(self, settings: dict[str, Any] | None, credential: Credential | None) -> None:
        client = self.azsync.client
        done: Tenant | Failure
        if settings is not None:  # the tenant and its credential, both or neither
            done = attempt(client, lambda c: c.add_tenant(credential=credential, **settings))
        else:
            done = attempt(client, lambda c: self.store(c, credential))
        if isinstance(done, Failure):
            on_ui(self, self.refused, done, "Not added." if settings is not None else "Not stored.")
        else:
            on_ui(self, self.dismiss, done)

    def store(self, client: Client, credential: Credential | None) -> Tenant:
        """A new credential for the tenant the form was opened for; the tenant as it is then."""
        assert self.tenant is not None and credential is not None
        client.set_credential(self.tenant.name, credential)
        return client.tenant(self.tenant.name)

    def refused(self, failure: Failure, head: str) -> None:
        if failure.unreachable:
            self.azsync.show_unreachable(failure)
            head = "Not sent: the daemon cannot be reached; what you typed is kept."
        elif not failure.problems:
            head = f"{head} {failure.message}".strip()
        self.show_problems(failure.problems, head, failure.fix if not failure.problems else "")
