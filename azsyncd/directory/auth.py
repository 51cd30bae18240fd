"""Tokens for one tenant from msal: client secret, certificate, or a device-code sign-in.

Every identity call goes through the tenant's httpx client (``MsalHttp``), so proxies, CA
bundles and test transports apply to login and Graph alike. Token caches are kept per
tenant in owner-only files and never logged.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

import httpx
import msal
from msal.exceptions import MsalServiceError

from azsyncd import outbound
from azsyncd.config import pfx_limits
from azsyncd.config.model import Tenant
from azsyncd.config.secrets import check_private, read_secret, write_private
from azsyncd.directory.clouds import cloud_for
from azsyncd.directory.transport import MsalHttp
from azsyncd.errors import AuthError, NetworkError
from azsyncd.logs import register_secret

log = logging.getLogger(__name__)

# AADSTS codes an admin meets, and what to do about each.
FIXES = {
    7000215: (
        "the client secret is wrong: create a new secret in the app registration and write it "
        "to {secret_file}"
    ),
    7000222: (
        "the client secret has expired: create a new one in the app registration and write it "
        "to {secret_file}"
    ),
    700016: (
        "the app is not known in this tenant: an admin of the tenant must consent to it: "
        "{consent_url}"
    ),
    65001: "the app lacks admin consent in this tenant: {consent_url}",
    90002: "no such tenant: check tenant_id (the GUID or a verified domain of the organization)",
    90023: "no such tenant: check tenant_id",
    700027: (
        "the certificate is not registered for this app: upload its public certificate to the "
        "app registration"
    ),
    700024: (
        "the certificate's assertion is outside its validity: check the server's clock and the "
        "certificate's dates"
    ),
    7000112: "the app is disabled in this tenant: enable it under Enterprise applications",
    50126: "the sign-in was refused: re-authorize the tenant",
    700082: "the sign-in has expired: re-authorize the tenant (device code)",
    50173: "the sign-in was revoked: re-authorize the tenant (device code)",
}


def _aadsts(result: dict[str, Any]) -> int | None:
    codes = result.get("error_codes") or []
    if codes:
        return int(codes[0])
    match = re.search(r"AADSTS(\d+)", str(result.get("error_description", "")))
    return int(match.group(1)) if match else None


def jwt_claims(token: str) -> dict[str, Any]:
    """The (unverified) claims of an access token: which permissions were granted."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}


def _bounded_pfx(path: Path) -> None:
    """A PFX in the file is read by msal on this thread: refuse one that asks for more key
    derivation than any real one (``pfx_limits``), as the credential endpoint does."""
    try:
        pfx_limits.check(path.read_bytes()[: 1024 * 1024])
    except pfx_limits.PfxRefused as exc:
        raise AuthError(
            "bad_certificate",
            f"pfx_file {path} is refused: {exc}",
            "export the certificate again with its tool's default settings",
        ) from None
    except OSError:
        return  # msal says what is wrong with a file it cannot read


class TenantAuth:
    def __init__(
        self, tenant: Tenant, config_dir: Path, cache_dir: Path, http: httpx.Client
    ) -> None:
        self.tenant = tenant
        self.cloud = cloud_for(tenant)
        self.authority = f"{self.cloud.login}/{tenant.tenant_id}"
        self.scopes = [f"{self.cloud.graph}/.default"]  # the app's permissions on this Graph
        self._config_dir = config_dir
        self._cache_path = cache_dir / f"{tenant.name}.json"
        self._http = MsalHttp(http)
        self._cache = msal.SerializableTokenCache()
        self._lock = threading.Lock()
        if self._cache_path.exists():
            self._cache.deserialize(self._cache_path.read_text(encoding="utf-8"))
        self._app: msal.ClientApplication | None = None

    @property
    def consent_url(self) -> str:
        tenant = self.tenant
        return f"{self.cloud.login}/{tenant.tenant_id}/adminconsent?client_id={tenant.client_id}"

    @property
    def app_only(self) -> bool:
        return self.tenant.auth != "device_code"

    def _credential(self) -> Any:
        t = self.tenant
        if t.auth == "secret":
            secret = read_secret(t.client_secret_file or "", self._config_dir, "client_secret_file")
            register_secret(secret)
            return secret
        passphrase = None
        if t.pfx_passphrase_file:
            passphrase = read_secret(t.pfx_passphrase_file, self._config_dir, "pfx_passphrase_file")
            register_secret(passphrase)
        if t.pfx_file:
            path = check_private(t.pfx_file, self._config_dir, "pfx_file")
            _bounded_pfx(path)
            credential: dict[str, Any] = {
                "private_key_pfx_path": str(path),
                "public_certificate": True,
            }
        else:
            credential = {
                "private_key": read_secret(
                    t.private_key_file or "", self._config_dir, "private_key_file"
                ),
                "public_certificate": read_secret(
                    t.certificate_file or "", self._config_dir, "certificate_file"
                ),
            }
        if passphrase:
            credential["passphrase"] = passphrase
        return credential

    def app(self) -> msal.ClientApplication:
        if self._app is None:
            common: dict[str, Any] = dict(
                authority=self.authority,
                http_client=self._http,
                token_cache=self._cache,
                instance_discovery=False,
            )  # hosts are known per cloud; no extra call
            try:
                if self.app_only:
                    self._app = msal.ConfidentialClientApplication(
                        self.tenant.client_id, client_credential=self._credential(), **common
                    )
                else:
                    self._app = msal.PublicClientApplication(self.tenant.client_id, **common)
            except NetworkError as exc:
                raise AuthError(exc.code, exc.message, exc.fix) from exc
            except ValueError as exc:
                raise self._refused(exc) from None
        return self._app

    def _refused(self, exc: ValueError) -> AuthError:
        """msal's ValueError, told apart: no configuration for the tenant, an unusable
        certificate, or other settings msal will not take."""
        custom = " and login_url" if self.tenant.cloud == "custom" else ""
        if "authority configuration" in str(exc):
            cause = exc.__context__
            answer = (
                f" ({outbound.what_came(cause.doc, cause)})"
                if isinstance(cause, json.JSONDecodeError)
                else ""
            )
            return AuthError(
                "tenant_not_found",
                f"{self.cloud.login} gave no sign-in configuration for tenant "
                f"{self.tenant.tenant_id}{answer}",
                f"check tenant_id (the directory's GUID or a verified domain){custom}",
            )
        if self.tenant.auth == "certificate":
            return AuthError(
                "bad_certificate",
                f"the certificate could not be used: {exc}",
                "check certificate_file and private_key_file (PEM), or pfx_file and "
                "pfx_passphrase_file",
            )
        return AuthError(
            "invalid_configuration",
            f"msal refused the tenant's settings: {exc}",
            f"check tenant_id and client_id{custom}",
        )

    def _persist(self) -> None:
        if self._cache.has_state_changed:
            write_private(self._cache_path, self._cache.serialize().encode("utf-8"))
            self._cache.has_state_changed = False

    def _error(self, result: dict[str, Any]) -> AuthError:
        code = _aadsts(result)
        error = str(result.get("error", "error"))
        description = (
            str(result.get("error_description", "")).split("\r\n")[0].split(" Trace ID:")[0]
        )
        description = re.sub(r"^AADSTS\d+:\s*", "", description)
        fix = FIXES.get(code or 0, "")
        if not fix and error == "invalid_grant":
            fix = "re-authorize the tenant"
        if not fix and error in ("invalid_client", "unauthorized_client"):
            fix = "check client_id and the credential in the app registration"
        fix = fix.format(
            secret_file=self.tenant.client_secret_file or "client_secret_file",
            consent_url=self.consent_url,
        )
        return AuthError(f"AADSTS{code}" if code else error, description or error, fix)

    def token(self, fresh: bool = False) -> str:
        """A valid access token, from the cache when possible. ``fresh`` asks the token
        endpoint, which proves the credential as it is now. AuthError otherwise."""
        with self._lock:
            app = self.app()
            try:
                if isinstance(app, msal.ConfidentialClientApplication):
                    if fresh:
                        app.remove_tokens_for_client()
                    result = app.acquire_token_for_client(self.scopes)
                else:
                    accounts = app.get_accounts()
                    result = (
                        app.acquire_token_silent(
                            self.scopes, account=accounts[0], force_refresh=fresh
                        )
                        if accounts
                        else None
                    )
                    if not result:
                        raise AuthError(
                            "no_sign_in",
                            "no admin has signed in for this tenant yet, or the sign-in expired",
                            (
                                "authorize the tenant: azsyncctl tenants authorize NAME, or from "
                                "the "
                                "TUI"
                            ),
                        )
            except NetworkError as exc:
                raise AuthError(exc.code, exc.message, exc.fix) from exc
            except (ValueError, MsalServiceError) as exc:  # an answer that is no token answer
                came = (
                    outbound.what_came(exc.doc, exc)
                    if isinstance(exc, json.JSONDecodeError)
                    else str(exc)
                )
                raise AuthError(
                    "unexpected_answer",
                    f"{self.cloud.login} answered the token request with {came}",
                    "check login_url and any proxy on the way; the next sync retries",
                ) from None
            finally:
                self._persist()
            if "access_token" not in result:
                raise self._error(result)
            register_secret(result["access_token"])
            return str(result["access_token"])

    def start_device_flow(self) -> dict[str, Any]:
        app = self.app()
        assert isinstance(app, msal.PublicClientApplication)
        flow = app.initiate_device_flow(scopes=self.scopes)
        if "user_code" not in flow:
            raise self._error(flow)
        return flow

    def poll_device_flow(self, flow: dict[str, Any]) -> str | None:
        """One poll: the token once the admin has signed in, None while pending."""
        app = self.app()
        assert isinstance(app, msal.PublicClientApplication)
        with self._lock:
            try:
                result = app.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
            finally:
                self._persist()
        if "access_token" in result:
            register_secret(result["access_token"])
            return str(result["access_token"])
        if result.get("error") in ("authorization_pending", "slow_down"):
            return None
        raise self._error(result)

    def forget(self) -> None:
        self._cache_path.unlink(missing_ok=True)
