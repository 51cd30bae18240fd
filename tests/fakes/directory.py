"""The fake Microsoft identity + Graph of the tests: the demo's simulated tenant, plus what
tests need of it. One fake, whichever way a test reaches it: an httpx transport, pytest-httpx
routes (``install``), or real HTTPS on loopback (``servers.wsgi_from_handler``).

Added here: changing the directory (update, remove, group membership), faults (throttling,
expired delta tokens, a refused token request), a record of every request, and the check a
real identity platform makes of a certificate's signed assertion. ``GeneratedTenant``
computes its users instead of storing them, for benchmarks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import httpx

from azsyncd.demo.directory import SimulatedTenant, graph_error, identity_error, populate


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeTenant(SimulatedTenant):
    def __init__(
        self,
        *args: Any,
        certificate_pem: bytes | None = None,
        token_error: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.certificate_pem = certificate_pem  # the certificate registered for the app
        self.token_error = token_error  # answered (400) to every token request when set
        self.delay = 0.0  # seconds each Graph answer takes, to watch a sync in progress
        self.throttle: list[tuple[int, float]] = []  # (status, retry-after) before Graph answers
        self.expired_tokens: set[str] = set()  # delta tokens Graph no longer knows
        self.requests: list[str] = []  # "METHOD url" of every request
        self.token_requests: list[dict[str, list[str]]] = []  # the forms sent for tokens

    # --- changing the directory -----------------------------------------------------------

    def update_user(self, user_id: str, **values: Any) -> None:
        self.version += 1
        self.users[user_id].update(values)
        self.changed_at[user_id] = self.version

    def remove_user(self, user_id: str) -> None:
        self.version += 1
        self.users.pop(user_id)
        self.removed_at[user_id] = self.version
        for group in self.groups.values():
            if user_id in group.members:
                group.members.remove(user_id)

    def add_to_group(self, group_id: str, user_id: str) -> None:
        self.groups[group_id].members.append(user_id)

    # --- reaching it ----------------------------------------------------------------------

    def install(self, routes: Any) -> None:
        """Answer identity requests through pytest-httpx (or anything with its add_callback)."""
        routes.add_callback(
            self.handle,
            url=re.compile(re.escape(self.login) + r"/.*"),
            is_reusable=True,
            is_optional=True,
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url}")
        if self.delay and str(request.url).startswith(self.graph):
            time.sleep(self.delay)
        return super().handle(request)

    # --- faults and checks ----------------------------------------------------------------

    def _graph(self, request: httpx.Request) -> httpx.Response:
        if self.throttle:
            status, retry_after = self.throttle.pop(0)
            return httpx.Response(
                status,
                headers={"Retry-After": str(retry_after)},
                json={"error": {"code": "TooManyRequests", "message": "Throttled"}},
            )
        delta = request.url.path.endswith("/users/delta")
        if delta and request.url.params.get("$deltatoken") in self.expired_tokens:
            return graph_error(
                400, "syncStateNotFound", "The delta token has expired; start a new sync."
            )
        return super()._graph(request)

    def _token_endpoint(self, form: dict[str, list[str]]) -> httpx.Response:
        self.token_requests.append(form)
        if self.token_error:
            return httpx.Response(400, json=self.token_error)
        return super()._token_endpoint(form)

    def _client_refused(self, form: dict[str, list[str]]) -> httpx.Response | None:
        if "client_assertion" not in form:
            return super()._client_refused(form)
        problem = self._assertion_problem(
            form["client_assertion"][0], form.get("client_id", [""])[0]
        )
        return identity_error(401, "invalid_client", 700027, problem) if problem else None

    def _assertion_problem(self, assertion: str, client_id: str) -> str:
        """Verify the JWT the way the service does; a problem, or '' when valid."""
        # Imported here: a benchmark's peak memory is azsync's, and azsync loads none of it.
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        if assertion.startswith("b'"):
            return "the client assertion is a bytes repr, not a JWT"
        try:
            header_b64, payload_b64, signature_b64 = assertion.split(".")
            header = json.loads(_unb64url(header_b64))
        except ValueError:
            return "the client assertion is not a JWT"
        if self.certificate_pem is None:
            return "no certificate is registered for this app"
        certificate = x509.load_pem_x509_certificate(self.certificate_pem)
        # x5t#S256 is the base64url SHA-256 thumbprint, padded as msal sends it.
        thumbprint = base64.urlsafe_b64encode(certificate.fingerprint(hashes.SHA256())).decode()
        if header.get("x5t#S256") != thumbprint:
            return "the assertion's x5t#S256 is not the registered certificate's thumbprint"
        signed = f"{header_b64}.{payload_b64}".encode()
        try:
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
            certificate.public_key().verify(_unb64url(signature_b64), signed, pss, hashes.SHA256())  # type: ignore[call-arg, union-attr]
        except Exception as exc:
            return f"bad signature: {type(exc).__name__}"
        claims = json.loads(_unb64url(payload_b64))
        if claims.get("iss") != client_id or not str(claims.get("aud", "")).endswith(
            "/oauth2/v2.0/token"
        ):
            return "wrong issuer or audience"
        return ""


def contoso(users: int = 250, seed: int = 7, **kwargs: Any) -> FakeTenant:
    """The demo's Contoso, in a tenant tests can change and break."""
    return populate(FakeTenant(**kwargs), users, seed)


def numbered_user(i: int) -> dict[str, Any]:
    """User ``i`` of a generated tenant: the same every time it is asked for."""
    return {
        "id": f"00000000-0000-4000-a000-{i:012d}",
        "userPrincipalName": f"user{i}@bench.example",
        "mail": f"user{i}@bench.example",
        "displayName": f"User {i}",
        "givenName": "User",
        "surname": str(i),
        "accountEnabled": True,
        "userType": "Member",
        "department": ("Sales", "Support", "IT")[i % 3],
        "employeeId": str(100000 + i),
        "officeLocation": ("Berlin", "London")[i % 2],
        "businessPhones": [f"+49 30 {i:07d}"],
        "mobilePhone": f"+49 170 {i:07d}",
        "jobTitle": "Engineer",
    }


class _Numbered(Sequence[dict[str, Any]]):
    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [numbered_user(i) for i in range(*index.indices(self.count))]
        if not 0 <= index < self.count:
            raise IndexError(index)
        return numbered_user(index)


class GeneratedTenant(SimulatedTenant):
    """Users computed from their index when read, never stored: a benchmark's memory figures
    are then azsync's, not the simulator's. A resync's delta has no changes.

    ``keep_pages``: each page of ``/users`` is encoded once and kept in a file, so a second
    full read costs this process what reading the real Graph costs it (receiving and decoding
    the JSON), not what building and encoding it costs Microsoft's servers."""

    def __init__(self, users: int, keep_pages: bool = False) -> None:
        super().__init__(page_size=999)
        self.count = users
        self._pages = tempfile.TemporaryDirectory(prefix="azgraph") if keep_pages else None

    def _listing(self) -> Sequence[dict[str, Any]]:
        return _Numbered(self.count)

    def _page(
        self, items: Sequence[dict[str, Any]], params: dict[str, str], select: list[str], path: str
    ) -> httpx.Response:
        if self._pages is None or not isinstance(items, _Numbered):
            return super()._page(items, params, select, path)
        key = hashlib.sha256(json.dumps([path, sorted(params.items())]).encode()).hexdigest()
        kept = Path(self._pages.name) / key
        if not kept.exists():
            kept.write_bytes(super()._page(items, params, select, path).read())
        return httpx.Response(
            200, content=kept.read_bytes(), headers={"Content-Type": "application/json"}
        )
