"""A fake Microsoft identity platform for pytest-httpx: discovery, token and device code.

It checks what a real one checks: the client secret, or the certificate assertion's
signature against the registered certificate (which catches a mangled bytes assertion).
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fake_jwt(claims: dict[str, Any]) -> str:
    return ".".join(
        [b64url(json.dumps({"alg": "none"}).encode()), b64url(json.dumps(claims).encode()), "sig"]
    )


@dataclass
class FakeIdentity:
    login: str
    tenant: str
    client_id: str
    secret: str | None = None
    certificate_pem: bytes | None = None
    roles: list[str] = field(default_factory=lambda: ["User.Read.All", "GroupMember.Read.All"])
    token_error: dict[str, Any] | None = None
    pending_polls: int = 1
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)

    def install(self, httpx_mock: Any) -> None:
        base = re.escape(f"{self.login}/{self.tenant}")
        httpx_mock.add_callback(
            self._discovery,
            url=re.compile(base + r"/v2\.0/\.well-known/openid-configuration"),
            is_reusable=True,
            is_optional=True,
        )
        httpx_mock.add_callback(
            self._token,
            url=re.compile(base + r"/oauth2/v2\.0/token"),
            method="POST",
            is_reusable=True,
            is_optional=True,
        )
        httpx_mock.add_callback(
            self._devicecode,
            url=re.compile(base + r"/oauth2/v2\.0/devicecode"),
            method="POST",
            is_reusable=True,
            is_optional=True,
        )

    def _discovery(self, request: httpx.Request) -> httpx.Response:
        root = f"{self.login}/{self.tenant}"
        return httpx.Response(
            200,
            json={
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
                "issuer": f"{root}/v2.0",
            },
        )

    def _devicecode(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "device_code": "dev-code-1",
                "user_code": "ABCD-EFGH",
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900,
                "interval": 1,
                "message": "To sign in, use a web browser to open "
                "https://microsoft.com/devicelogin and enter the code ABCD-EFGH.",
            },
        )

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        self.token_requests.append(form)
        if self.token_error:
            return httpx.Response(400, json=self.token_error)
        grant = form["grant_type"][0]
        if grant == "client_credentials":
            if "client_secret" in form:
                if form["client_secret"][0] != self.secret:
                    return httpx.Response(
                        401,
                        json={
                            "error": "invalid_client",
                            "error_codes": [7000215],
                            "error_description": "AADSTS7000215: Invalid client secret provided.",
                        },
                    )
            else:
                problem = self._check_assertion(form.get("client_assertion", [""])[0])
                if problem:
                    return httpx.Response(
                        401,
                        json={
                            "error": "invalid_client",
                            "error_codes": [700027],
                            "error_description": f"AADSTS700027: {problem}",
                        },
                    )
            return self._issue({"roles": self.roles, "tid": self.tenant})
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            if self.pending_polls > 0:
                self.pending_polls -= 1
                return httpx.Response(
                    400,
                    json={
                        "error": "authorization_pending",
                        "error_description": "AADSTS70016: pending",
                    },
                )
            return self._issue(
                {"scp": "User.Read.All GroupMember.Read.All", "tid": self.tenant}, refresh=True
            )
        if grant == "refresh_token":
            return self._issue(
                {"scp": "User.Read.All GroupMember.Read.All", "tid": self.tenant}, refresh=True
            )
        return httpx.Response(400, json={"error": "unsupported_grant_type"})

    def _issue(self, claims: dict[str, Any], refresh: bool = False) -> httpx.Response:
        token = fake_jwt({**claims, "n": len(self.issued), "exp": int(time.time()) + 3600})
        self.issued.append(token)
        body: dict[str, Any] = {"token_type": "Bearer", "expires_in": 3600, "access_token": token}
        if refresh:
            home = b64url(json.dumps({"uid": "admin-oid", "utid": self.tenant}).encode())
            body.update(
                refresh_token="refresh-1",
                scope="https://graph.microsoft.com/.default",
                client_info=home,
                id_token=fake_jwt(
                    {
                        "oid": "admin-oid",
                        "tid": self.tenant,
                        "preferred_username": "admin@contoso.test",
                        "iss": f"{self.login}/{self.tenant}/v2.0",
                        "aud": self.client_id,
                        "sub": "s",
                    }
                ),
            )
        return httpx.Response(200, json=body)

    def _check_assertion(self, assertion: str) -> str:
        """Verify the JWT the way the service does; return a problem, or '' when valid."""
        if assertion.startswith("b'"):
            return "the client assertion is a bytes repr, not a JWT"
        try:
            header_b64, payload_b64, signature_b64 = assertion.split(".")
            header = json.loads(unb64url(header_b64))
        except ValueError:
            return "the client assertion is not a JWT"
        assert self.certificate_pem is not None
        certificate = x509.load_pem_x509_certificate(self.certificate_pem)
        # x5t#S256 is the base64url SHA-256 thumbprint, padded as msal sends it.
        if (
            header.get("x5t#S256")
            != base64.urlsafe_b64encode(certificate.fingerprint(hashes.SHA256())).decode()
        ):
            return "the assertion's x5t#S256 is not the registered certificate's thumbprint"
        signed = f"{header_b64}.{payload_b64}".encode()
        try:
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
            certificate.public_key().verify(unb64url(signature_b64), signed, pss, hashes.SHA256())  # type: ignore[call-arg, union-attr]
        except Exception as exc:
            return f"bad signature: {type(exc).__name__}"
        claims = json.loads(unb64url(payload_b64))
        if claims.get("iss") != self.client_id or not str(claims.get("aud", "")).endswith(
            "/oauth2/v2.0/token"
        ):
            return "wrong issuer or audience"
        return ""
