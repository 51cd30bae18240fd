"""A small client of the control socket, for azsyncctl, the TUI and scripts.

It needs only httpx: no daemon internals, no database, no identity library.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from azsyncd.errors import DaemonUnreachable
from azsyncd.paths import client_socket_path


class ApiFailure(Exception):
    """The daemon answered with an error: its status, code, message and fix."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.status = status
        self.code = str(error.get("code", "error"))
        self.message = str(error.get("message", f"HTTP {status}"))
        self.fix = str(error.get("fix", ""))
        self.body = body
        super().__init__(self.message)


def unreachable(path: Path, exc: Exception) -> DaemonUnreachable:
    if (
        isinstance(exc, httpx.ConnectError) and isinstance(exc.__cause__, PermissionError)
    ) or "Permission denied" in str(exc):
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
        f"azsyncd does not answer on {path} ({exc})",
        "check it with systemctl status azsyncd; restart it if it hangs",
    )


class Client:
    def __init__(self, socket: str | os.PathLike[str] | None = None, timeout: float = 30.0) -> None:
        self.path = client_socket_path(socket)
        self._http = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(self.path)),
            base_url="http://azsyncd",
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise unreachable(self.path, exc) from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"error": {"message": response.text[:200]}}
            raise ApiFailure(response.status_code, body)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request(
            "GET", path, params={k: v for k, v in params.items() if v is not None}
        ).json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, json=body or {}).json()

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body).json()

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path).json()

    def download(self, path: str) -> bytes:
        return self.request("GET", path).content

    def resend_welcome(self, email: str) -> dict[str, Any]:
        """Send a contact's welcome email that failed or may not have arrived."""
        return dict(self.post("/v1/welcome/resend", {"email": email}))
