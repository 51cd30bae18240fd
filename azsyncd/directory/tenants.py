"""Tenants at run time: connections to Graph, authorization and device-code sign-ins."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from azsyncd.config.model import Tenant
from azsyncd.config.secrets import resolve
from azsyncd.directory.auth import TenantAuth
from azsyncd.directory.authorize import Verdict, authorize
from azsyncd.directory.client import GraphClient
from azsyncd.directory.transport import make_http
from azsyncd.errors import AuthError, NetworkError
from azsyncd.state import State
from azsyncd.state.fields import utcnow

log = logging.getLogger(__name__)


@dataclass
class Connection:
    auth: TenantAuth
    graph: GraphClient
    http: httpx.Client


@dataclass
class DeviceSignIn:
    """A device-code sign-in in progress; what the TUI shows the admin."""

    tenant: str
    user_code: str
    verification_uri: str
    message: str
    expires_at: float
    status: str = "pending"  # pending | succeeded | failed | expired
    reason: str = ""
    fix: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "status": self.status,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
            "message": self.message,
            "expires_in": max(0, int(self.expires_at - time.time())),
            "reason": self.reason,
            "fix": self.fix,
        }


class TenantService:
    def __init__(
        self,
        state: State,
        state_dir: Path,
        config_dir: Path,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._state = state
        self._cache_dir = state_dir / "tokens"
        self._config_dir = config_dir
        self._transport = transport
        self._connections: dict[str, tuple[str, Connection]] = {}
        self._sign_ins: dict[str, DeviceSignIn] = {}
        self._lock = threading.Lock()

    def _credential_stamp(self, tenant: Tenant) -> str:
        """When and how big each credential file is: a rotated secret needs a new msal app."""
        stamps = []
        for reference in (
            tenant.client_secret_file,
            tenant.certificate_file,
            tenant.private_key_file,
            tenant.pfx_file,
            tenant.pfx_passphrase_file,
        ):
            if reference:
                try:
                    st = resolve(reference, self._config_dir).stat()
                    stamps.append(f"{st.st_mtime_ns}:{st.st_size}")
                except OSError:
                    stamps.append("missing")
        return ",".join(stamps)

    def connect(self, tenant: Tenant) -> Connection:
        """The tenant's connection; rebuilt when its settings or credential files change."""
        fingerprint = tenant.model_dump_json() + self._credential_stamp(tenant)
        with self._lock:
            cached = self._connections.get(tenant.name)
            if cached and cached[0] == fingerprint:
                return cached[1]
            http = make_http(tenant.ca_bundle, self._transport)
            auth = TenantAuth(tenant, self._config_dir, self._cache_dir, http)
            connection = Connection(auth, GraphClient(http, auth.cloud.graph, auth.token), http)
            self._connections[tenant.name] = (fingerprint, connection)
            return connection

    def forget(self, name: str) -> None:
        with self._lock:
            cached = self._connections.pop(name, None)
            sign_in = self._sign_ins.pop(name, None)
        if sign_in:
            sign_in.cancel.set()
        if cached:
            cached[1].auth.forget()
        (self._cache_dir / f"{name}.json").unlink(missing_ok=True)

    def record(self, tenant: Tenant, verdict: Verdict) -> None:
        values: dict[str, Any] = {
            "status": verdict.status,
            "reason": verdict.reason,
            "fix": verdict.fix,
        }
        if verdict.display_name:
            values["display_name"] = verdict.display_name
        if verdict.status == "active":
            values["authorized_at"] = utcnow()
        self._state.set_tenant(tenant.name, **values)
        if verdict.status == "active" and self._state.health(tenant.name).failures:
            # It works now: a quarantined tenant is tried at the next sync again.
            self._state.set_health(tenant.name, 0, "", None)

    def authorize_app(self, tenant: Tenant) -> Verdict:
        try:
            connection = self.connect(tenant)
            verdict = authorize(connection.auth, connection.graph)
        except Exception as exc:  # a secret file missing, msal refusing a certificate...
            verdict = Verdict(
                "disabled", str(getattr(exc, "message", exc)), getattr(exc, "fix", "")
            )
        self.record(tenant, verdict)
        return verdict

    def start_device_sign_in(self, tenant: Tenant, poll_sleep: float | None = None) -> DeviceSignIn:
        connection = self.connect(tenant)
        previous = self._sign_ins.get(tenant.name)
        if previous and previous.status == "pending":
            previous.cancel.set()
        flow = connection.auth.start_device_flow()
        sign_in = DeviceSignIn(
            tenant.name,
            flow["user_code"],
            flow["verification_uri"],
            flow.get("message", ""),
            float(flow.get("expires_at", time.time() + 900)),
        )
        self._sign_ins[tenant.name] = sign_in
        interval = float(flow.get("interval", 5)) if poll_sleep is None else poll_sleep
        threading.Thread(
            target=self._wait_for_sign_in,
            args=(tenant, connection, flow, sign_in, interval),
            name=f"sign-in-{tenant.name}",
            daemon=True,
        ).start()
        return sign_in

    def _wait_for_sign_in(
        self,
        tenant: Tenant,
        connection: Connection,
        flow: dict[str, Any],
        sign_in: DeviceSignIn,
        interval: float,
    ) -> None:
        while not sign_in.cancel.wait(interval):
            if time.time() > sign_in.expires_at:
                sign_in.status, sign_in.reason = (
                    "expired",
                    "the code expired before anyone signed in",
                )
                sign_in.fix = "authorize again and sign in within the time shown"
                return
            try:
                flow["latest_attempt_at"] = 0  # we pace the polls ourselves
                token = connection.auth.poll_device_flow(flow)
            except AuthError as exc:
                sign_in.status, sign_in.reason, sign_in.fix = "failed", str(exc), exc.fix
                self.record(tenant, Verdict("disabled", str(exc), exc.fix))
                return
            except NetworkError as exc:
                log.warning("device sign-in for %s: %s; still waiting", tenant.name, exc.kind)
                continue
            if token:
                verdict = authorize(connection.auth, connection.graph)
                self.record(tenant, verdict)
                sign_in.status = "succeeded" if verdict.status == "active" else "failed"
                sign_in.reason, sign_in.fix = verdict.reason, verdict.fix
                return

    def sign_in(self, name: str) -> DeviceSignIn | None:
        return self._sign_ins.get(name)
