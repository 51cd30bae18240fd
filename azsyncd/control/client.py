"""The typed client of the control socket, for azsyncctl, the TUI and scripts.

One method per endpoint, each returning the answer types of ``azsyncd.answers``, the same the
API declares: an answer with a key missing or unknown is ``ApiFailure`` "unreadable_answer".
It needs httpx and pydantic only: no daemon internals, no database, no identity library.
Failures are ``ApiFailure`` (the daemon refused) or ``DaemonUnreachable`` (nobody answered).
The TUI gets every answer type from here.
"""

from __future__ import annotations

import base64
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from azsyncd import network
from azsyncd.answers import (
    AccountSettings,
    Alerts,
    AlertSettings,
    AlertTest,
    Attributes,
    AuditEntry,
    AuditLog,
    Contact,
    Contacts,
    Deleted,
    DemoUserAdded,
    DeviceCode,
    ErrorBody,
    FieldProblem,
    Fields,
    Group,
    Groups,
    HeldRun,
    Joiners,
    LastTick,
    Lifecycle,
    LogLine,
    MappingSettings,
    Phone,
    Preview,
    PreviewAnswer,
    Quality,
    Record,
    Records,
    Reloaded,
    RuleCheck,
    Run,
    RunDetail,
    RunList,
    RunningSync,
    RunSummary,
    ScheduleSettings,
    ScopeSettings,
    Settings,
    SetupProblem,
    StateSettings,
    Status,
    SyncOutcome,
    SyncSettings,
    TargetField,
    TargetInfo,
    TargetKey,
    TargetSettings,
    Tenant,
    TenantAuthorization,
    TenantList,
    TenantState,
    UnreadableAnswer,
    WelcomeEmailSettings,
    WelcomeResent,
    counts_text,
    read,
)
from azsyncd.control.audit_words import audit_changed, audit_what
from azsyncd.control.peer import PeerCheckedTransport, UntrustedDaemon
from azsyncd.errors import DaemonUnreachable, NetworkError
from azsyncd.inert import inert
from azsyncd.paths import client_socket_path

__all__ = [
    "AccountSettings",
    "AlertSettings",
    "AlertTest",
    "Alerts",
    "ApiFailure",
    "AuditEntry",
    "Authorization",
    "ClientSecret",
    "Contact",
    "Contacts",
    "Credential",
    "DaemonUnreachable",
    "DemoUserAdded",
    "DeviceCode",
    "FieldProblem",
    "Group",
    "HeldRun",
    "Joiners",
    "LastTick",
    "Lifecycle",
    "LogLine",
    "MappingSettings",
    "PemCertificate",
    "Pfx",
    "Phone",
    "PreviewAnswer",
    "Quality",
    "Record",
    "RecordStatus",
    "Records",
    "Reloaded",
    "RuleCheck",
    "Run",
    "RunDetail",
    "RunSummary",
    "RunningSync",
    "ScheduleSettings",
    "ScopeSettings",
    "Settings",
    "SetupProblem",
    "StateSettings",
    "Status",
    "SyncOutcome",
    "SyncSettings",
    "TargetField",
    "TargetInfo",
    "TargetKey",
    "TargetSettings",
    "Tenant",
    "TenantState",
    "UntrustedDaemon",
    "WelcomeEmailSettings",
    "audit_changed",
    "audit_what",
    "counts_text",
    "inert",  # directory text made safe to show: what the TUI and azsyncctl print goes through it
]

T = TypeVar("T", bound=BaseModel)
RecordStatus = Literal["success", "failed", "skipped", "unchanged"]
RunId = int | Literal["latest"]
API = "/v1"
RECORDS_PAGE = 10000  # the API's largest page
SAVE_TIMEOUT = 900  # a change that can make contacts fail is previewed (the directory read) first


class ApiFailure(Exception):
    """The daemon answered with an error: its status, code, message and fix.

    ``problems`` lists each refused key with its message (validation errors);
    ``run_id`` names the running sync when a second one was refused.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fix: str = "",
        problems: list[FieldProblem] | None = None,
        run_id: int | None = None,
        preview: Preview | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fix = fix
        self.problems = problems or []
        self.run_id = run_id
        self.preview = preview  # a save refused for its preview (code "preview_fails")
        self.detail = detail  # what the message sums up (a refused file's problems)

    @classmethod
    def from_answer(cls, status: int, body: Any) -> ApiFailure:
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        try:  # a refusal is shown whatever its shape: never an error about the error
            parsed = ErrorBody.model_validate({k: v for k, v in error.items() if k != "preview"})
        except ValidationError:
            parsed = ErrorBody()
        preview = None
        if isinstance(error.get("preview"), dict):
            try:
                preview = read(Preview, error["preview"])
            except UnreadableAnswer:
                preview = None
        return cls(
            status,
            parsed.code,
            parsed.message or f"the daemon answered HTTP {status}",
            parsed.fix,
            parsed.problems or [],
            parsed.run_id,
            preview,
            parsed.detail or "",
        )

    def __str__(self) -> str:
        detail = f"\n{self.detail}" if self.detail and self.detail != self.message else ""
        return self.message + detail + (f"\n  fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Authorization:
    """A tenant after authorize; for a device-code tenant, the sign-in in progress."""

    tenant: Tenant
    device_code: DeviceCode | None = None


@dataclass(frozen=True)
class ClientSecret:
    secret: str = field(repr=False)


@dataclass(frozen=True)
class PemCertificate:
    certificate_pem: str
    private_key_pem: str = field(repr=False)


@dataclass(frozen=True)
class Pfx:
    data: bytes = field(repr=False)
    passphrase: str = field(default="", repr=False)


Credential = ClientSecret | PemCertificate | Pfx


def credential_body(credential: Credential) -> dict[str, str]:
    """The JSON the credential endpoint takes; the values are never logged or echoed."""
    if isinstance(credential, ClientSecret):
        return {"kind": "client_secret", "client_secret": credential.secret}
    if isinstance(credential, PemCertificate):
        return {
            "kind": "certificate",
            "certificate": credential.certificate_pem,
            "private_key": credential.private_key_pem,
        }
    body = {"kind": "pfx", "pfx": base64.b64encode(credential.data).decode("ascii")}
    if credential.passphrase:
        body["passphrase"] = credential.passphrase
    return body


def unreachable(path: Path, exc: NetworkError) -> DaemonUnreachable:
    if "Permission denied" in exc.message or _caused_by(exc, PermissionError):
        return DaemonUnreachable(
            f"permission denied on {path}",
            "join the azsyncd group (sudo usermod -aG azsyncd $USER, then log in again)",
        )
    if not path.exists():
        return DaemonUnreachable(
            f"azsyncd is not running: no socket at {path}",
            "start it (sudo systemctl start azsyncd, or azsyncd run), or pass --socket PATH",
        )
    return DaemonUnreachable(
        f"azsyncd does not answer on {path} ({exc.message})",
        "check it with systemctl status azsyncd; restart it if it hangs",
    )


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _plain(cell: str) -> str:
    """A report cell without the quote that keeps spreadsheets from reading it as a formula."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


def filter_report(report: bytes, kept: set[tuple[str, str]]) -> bytes:
    """The CSV report with the header and the rows whose (Tenant, User ID) is in ``kept``."""
    rows = csv.reader(io.StringIO(report.decode("utf-8-sig"), newline=""))
    header = next(rows, [])
    if "Tenant" not in header or "User ID" not in header:
        raise ValueError("the report has no Tenant and User ID columns")
    tenant, user = header.index("Tenant"), header.index("User ID")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(
        row
        for row in rows
        if len(row) > max(tenant, user) and (_plain(row[tenant]), _plain(row[user])) in kept
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _segment(value: str) -> str:
    """A name as one path segment: "a/../b" must not reach another endpoint.

    The daemon decodes %2F before routing, so a slash is refused here rather than quoted.
    """
    if "/" in value or "\\" in value or value in ("", ".", ".."):
        raise ApiFailure(
            400,
            "invalid_name",
            f'"{value}" cannot name a tenant or run',
            "tenant names are lowercase letters, digits and dashes; run ids are numbers",
        )
    return quote(value, safe="")


def _params(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != ""}


class Client:
    """The control API over its Unix socket. Thread-safe: the TUI calls it from workers.

    Before anything is sent on a connection, the process listening on the socket must be
    root's, this user's or azsyncd's (``daemon_user``, default ``$AZSYNCD_DAEMON_USER`` or
    ``azsyncd``); else ``UntrustedDaemon`` (see ``peer.py``).
    """

    def __init__(
        self,
        socket: str | os.PathLike[str] | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        daemon_user: str | None = None,
    ) -> None:
        self.path = client_socket_path(socket)
        self._http = network.Client(
            transport=transport or PeerCheckedTransport(self.path, daemon_user),
            base_url="http://azsyncd",
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # The transport: one place turns HTTP into answers or the two failures.

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, API + path, **kwargs)
        except NetworkError as exc:
            raise unreachable(self.path, exc) from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"error": {"message": response.text[:200]}}
            raise ApiFailure.from_answer(response.status_code, body)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise self._unreadable(method, path, "not JSON") from None

    def _read(self, kind: type[T], method: str, path: str, **kwargs: Any) -> T:
        data = self._json(method, path, **kwargs)
        try:
            return read(kind, data)
        except UnreadableAnswer as exc:
            raise self._unreadable(method, path, str(exc)) from None

    @staticmethod
    def _unreadable(method: str, path: str, why: str) -> ApiFailure:
        return ApiFailure(
            200,
            "unreadable_answer",
            f"the daemon's answer to {method} {API}{path} could not be read ({why})",
            "use azsyncctl and azsync-tui of the same version as azsyncd",
        )

    # Status, settings, directory attributes, the target's fields.

    def status(self) -> Status:
        return self._read(Status, "GET", "/status")

    def settings(self) -> Settings:
        return self._read(Settings, "GET", "/settings")

    def update_settings(self, force: bool = False, **sections: dict[str, Any]) -> Settings:
        """Merge changes into sections, e.g. ``update_settings(schedule={"enabled": True})``.

        A key set to None is removed (JSON merge patch). Validated, then written atomically.
        A change that can make contacts fail (mapping, scope, target...) whose preview fails
        more than [sync] max_fail_share of a tenant's contacts is refused (ApiFailure, code
        "preview_fails", with ``.preview``) unless ``force``.
        """
        body: dict[str, Any] = {**sections, **({"force": True} if force else {})}
        return self._read(Settings, "PATCH", "/settings", json=body, timeout=SAVE_TIMEOUT)

    def preview(
        self,
        settings: dict[str, Any] | None = None,
        lifecycle: dict[str, Any] | None = None,
        tenant_change: tuple[str, dict[str, Any]] | None = None,
        *,
        tenant: str | None = None,
        sample: int = 10,
        timeout: float = 900,
    ) -> PreviewAnswer:
        """What the next full run would do with a change, saving and writing nothing.

        ``settings``, ``lifecycle`` and ``tenant_change`` (name, changes) are the bodies of
        ``update_settings``, ``update_lifecycle`` and ``update_tenant``; give any of them.
        It reads every enabled tenant (or ``tenant``) in full, so it takes about as long as
        a dry run.
        """
        body: dict[str, Any] = {"sample": sample}
        if settings is not None:
            body["settings"] = settings
        if lifecycle is not None:
            body["lifecycle"] = lifecycle
        if tenant_change is not None:
            body["tenant_change"] = {"name": tenant_change[0], "changes": tenant_change[1]}
        if tenant is not None:
            body["tenant"] = tenant
        return self._read(PreviewAnswer, "POST", "/preview", json=body, timeout=timeout)

    def lifecycle(self) -> Lifecycle:
        return self._read(Lifecycle, "GET", "/lifecycle")

    def update_lifecycle(
        self,
        lifecycle: dict[str, Any] | None = None,
        contact_groups: list[dict[str, Any]] | None = None,
        force: bool = False,
    ) -> Lifecycle:
        """Merge leaver settings and/or replace the contact-group rules; validated, then saved
        (a change whose preview fails too many contacts only with ``force``)."""
        body: dict[str, Any] = {"force": True} if force else {}
        if lifecycle is not None:
            body["lifecycle"] = lifecycle
        if contact_groups is not None:
            body["contact_groups"] = contact_groups
        return self._read(Lifecycle, "PATCH", "/lifecycle", json=body, timeout=SAVE_TIMEOUT)

    def joiners(self) -> Joiners:
        """Upcoming starts: joiners whose contact exists with the login off."""
        return self._read(Joiners, "GET", "/lifecycle/joiners")

    def quality(self, addresses: int | None = None) -> Quality:
        """The data-quality report (what the digest sends), ``addresses`` named per group."""
        params = {"addresses": addresses} if addresses else {}
        return self._read(Quality, "GET", "/report/quality", params=params)

    def quality_csv(self) -> bytes:
        """Every failing user with its fix, as CSV."""
        return self._send("GET", "/report/quality.csv").content

    def check_lifecycle(self) -> RuleCheck:
        """Ask the tenants and the help desk whether the rules' groups exist."""
        return self._read(RuleCheck, "GET", "/lifecycle/check")

    def attributes(self) -> list[str]:
        return self._read(Attributes, "GET", "/attributes").attributes

    def target(self) -> TargetInfo:
        """The help desk in use and each key of its [target.<kind>] table."""
        return self._read(TargetInfo, "GET", "/target")

    def fields(self) -> list[TargetField]:
        return self._read(Fields, "GET", "/fields").fields

    def fields_checked(self) -> tuple[list[TargetField], list[SetupProblem]]:
        """The help desk's fields, and what it lacks for the target's settings (one call)."""
        answer = self._read(Fields, "GET", "/fields")
        return answer.fields, answer.problems

    def reload(self) -> Reloaded:
        """Re-read the configuration file: where from, and what changed."""
        return self._read(Reloaded, "POST", "/reload", json={})

    def openapi(self) -> dict[str, Any]:
        data = self._json("GET", "/openapi.json")
        return data if isinstance(data, dict) else {}

    # Syncs and their history.

    def start_sync(
        self,
        *,
        dry_run: bool = False,
        tenant: str | None = None,
        user: str | None = None,
        full: bool = False,
    ) -> int:
        """Start a sync; its run id. A running sync makes it ApiFailure 409 with run_id.

        ``full``: a full reconciliation, every contact compared with the help desk's own.
        """
        body = _params(dry_run=dry_run or None, tenant=tenant, user=user, full=full or None)
        return self._read(SyncOutcome, "POST", "/sync", json=body).run_id

    def sync_and_wait(
        self,
        *,
        dry_run: bool = False,
        tenant: str | None = None,
        user: str | None = None,
        timeout: float = 600,
        full: bool = False,
    ) -> SyncOutcome:
        """Run a sync and answer when it has ended (a dry run: with its plan)."""
        body = {**_params(dry_run=dry_run or None, tenant=tenant, user=user, full=full or None)}
        body.update(wait=True, timeout=timeout)
        return self._read(SyncOutcome, "POST", "/sync", json=body, timeout=timeout + 15)

    def runs(self, limit: int = 30, offset: int = 0) -> list[Run]:
        params = _params(limit=limit, offset=offset or None)
        return self._read(RunList, "GET", "/runs", params=params).runs

    def run(self, run_id: RunId = "latest") -> RunDetail:
        """One run with its log; "latest" is the last sync that was not a dry run."""
        return self._read(RunDetail, "GET", f"/runs/{_segment(str(run_id))}")

    def alerts(self) -> Alerts:
        return self._read(Alerts, "GET", "/alerts")

    def test_alerts(self) -> AlertTest:
        """Send a test message on every alert channel; ApiFailure 409 if none is set."""
        return self._read(AlertTest, "POST", "/alerts/test", timeout=180)

    def approve_run(self, run_id: int, timeout: float = 600) -> SyncOutcome:
        """Apply a held run's plan; ApiFailure 409 "plan_moved" (run_id: the new plan) if stale."""
        body = {"timeout": timeout}
        return self._read(
            SyncOutcome, "POST", f"/runs/{run_id}/approve", json=body, timeout=timeout + 15
        )

    def discard_run(self, run_id: int) -> Run:
        return self._read(Run, "POST", f"/runs/{run_id}/discard")

    def records(
        self,
        run_id: RunId,
        *,
        status: RecordStatus | None = None,
        search: str = "",
        limit: int = 100,
        offset: int = 0,
    ) -> Records:
        params = _params(status=status, search=search, limit=limit, offset=offset or None)
        return self._read(Records, "GET", f"/runs/{_segment(str(run_id))}/records", params=params)

    def all_records(
        self, run_id: RunId, *, status: RecordStatus | None = None, search: str = ""
    ) -> Iterator[Record]:
        """Every record of a run that the filter keeps, page by page."""
        offset = 0
        while True:
            page = self.records(
                run_id, status=status, search=search, limit=RECORDS_PAGE, offset=offset
            )
            yield from page.records
            offset += len(page.records)
            if not page.records or offset >= page.total:
                return

    def report_csv(
        self, run_id: RunId, *, status: RecordStatus | None = None, search: str = ""
    ) -> bytes:
        """A run's CSV report as the daemon writes it, with only the rows the filter keeps."""
        report = self._send("GET", f"/runs/{_segment(str(run_id))}/report.csv").content
        if status is None and not search:
            return report
        # The report endpoint takes no filter: keep the rows of the records the filter keeps.
        kept = {
            (r.tenant, r.user_id) for r in self.all_records(run_id, status=status, search=search)
        }
        try:
            return filter_report(report, kept)
        except ValueError as exc:
            raise self._unreadable("GET", f"/runs/{run_id}/report.csv", str(exc)) from None

    # Tenants.

    def tenants(self) -> list[Tenant]:
        return self._read(TenantList, "GET", "/tenants").tenants

    def tenant(self, name: str) -> Tenant:
        return self._read(Tenant, "GET", f"/tenants/{_segment(name)}")

    def add_tenant(self, *, credential: Credential | None = None, **settings: Any) -> Tenant:
        """Add a tenant (name, tenant_id, client_id, auth, cloud, display_name...), with its
        credential if given: the daemon stores both or neither."""
        body = {**settings, **({"credential": credential_body(credential)} if credential else {})}
        return self._read(Tenant, "POST", "/tenants", json=body)

    def update_tenant(self, name: str, **changes: Any) -> Tenant:
        """Change a tenant's settings (``force=True``: even if the change's preview fails too
        many contacts)."""
        path = f"/tenants/{_segment(name)}"
        return self._read(Tenant, "PATCH", path, json=changes, timeout=SAVE_TIMEOUT)

    def delete_tenant(self, name: str) -> None:
        self._read(Deleted, "DELETE", f"/tenants/{_segment(name)}")

    def set_tenant_enabled(self, name: str, enabled: bool, force: bool = False) -> Tenant:
        """Enabling is previewed: refused (``preview_fails``) if it fails too many contacts,
        unless ``force``."""
        action = "enable" if enabled else "disable"
        body = {"force": True} if force and enabled else {}
        path = f"/tenants/{_segment(name)}/{action}"
        return self._read(Tenant, "POST", path, json=body, timeout=SAVE_TIMEOUT)

    def set_credential(self, name: str, credential: Credential) -> None:
        """Store a tenant's secret, certificate or PFX on the daemon's side (write-only)."""
        self._send("PUT", f"/tenants/{_segment(name)}/credential", json=credential_body(credential))

    def authorize(self, name: str) -> Authorization:
        """Get a fresh token and prove it works; a device-code tenant starts its sign-in."""
        return self._authorization("POST", name)

    def sign_in_status(self, name: str) -> Authorization:
        """The device-code sign-in in progress, if any, and the tenant's state."""
        return self._authorization("GET", name)

    def _authorization(self, method: str, name: str) -> Authorization:
        path = f"/tenants/{_segment(name)}/authorize"
        answer = self._read(
            TenantAuthorization, method, path, **({"json": {}} if method == "POST" else {})
        )
        return Authorization(answer, answer.device_code)

    def groups(self, name: str, search: str = "") -> list[Group]:
        """The tenant's groups whose name starts with ``search``."""
        path = f"/tenants/{_segment(name)}/groups"
        return self._read(Groups, "GET", path, params=_params(search=search)).groups

    # The built-in contact store.

    def contacts(self, search: str = "", limit: int = 50, offset: int = 0) -> Contacts:
        params = _params(search=search, limit=limit, offset=offset or None)
        return self._read(Contacts, "GET", "/contacts", params=params)

    def contacts_csv(self) -> bytes:
        return self._send("GET", "/contacts.csv").content

    # Welcome emails.

    def resend_welcome(self, email: str) -> str:
        """Send a welcome email that failed or may not have arrived; the address it went to."""
        return self._read(WelcomeResent, "POST", "/welcome/resend", json={"email": email}).email

    # The audit log.

    def audit(self, limit: int = 50, user: str | None = None) -> list[AuditEntry]:
        """Changes made through the socket, newest first."""
        params = _params(limit=limit, user=user)
        return self._read(AuditLog, "GET", "/audit", params=params).entries

    # The demo daemon's simulated directory (404 from any other daemon).

    def demo_add_user(self, name: str, department: str = "Support") -> DemoUserAdded:
        """Add a person to the demo's simulated directory; the next tick syncs them."""
        body = {"name": name, "department": department}
        return self._read(DemoUserAdded, "POST", "/demo/users", json=body)

    # Prometheus metrics.

    def metrics(self) -> str:
        return self._send("GET", "/metrics").text
