"""Secrets set through the control API: checked, then stored as owner-only files.

The caller hands over a client secret, a PEM certificate with its key, or a PFX with its
passphrase; the daemon writes them into its credentials directory and points the tenant at
them. Nothing ever reads them back out: answers name the file, never the content.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from azsyncd import paths
from azsyncd.config import pfx_child, pfx_limits
from azsyncd.config.secrets import MAX_SECRET_BYTES
from azsyncd.config.text import control_character
from azsyncd.errors import UserError

# Every key that names one of a tenant's credential files.
CREDENTIAL_KEYS = (
    "client_secret_file",
    "certificate_file",
    "private_key_file",
    "pfx_file",
    "pfx_passphrase_file",
)
SUFFIXES = {
    "client_secret_file": "client-secret",
    "certificate_file": "certificate.pem",
    "private_key_file": "private-key.pem",
    "pfx_file": "pfx",
    "pfx_passphrase_file": "pfx-passphrase",
}


EXPORT_AGAIN = (
    "export the certificate again with its tool's default settings (Windows: AES256-SHA256;"
    " openssl pkcs12 -export), or send the certificate and key as PEM"
)


class CredentialError(UserError):
    """A credential sent to the API cannot be used; the message never holds its content."""


def credentials_dir(setting: str, config_dir: Path) -> Path:
    """``[control] credentials_dir``; empty means credentials/ beside the config file."""
    if not setting:
        return config_dir / "credentials"
    path = Path(setting).expanduser()
    return path if path.is_absolute() else config_dir / path


@dataclass
class Staged:
    """Credential files written under temporary names, to be put in place or thrown away."""

    auth: str
    label: str
    files: dict[str, Path]  # tenant key -> final path
    _pending: list[tuple[Path, Path]] = field(default_factory=list)

    def settings(self) -> dict[str, str | None]:
        """The tenant's keys: the new files, and None for credential keys no longer used."""
        values: dict[str, str | None] = {key: None for key in CREDENTIAL_KEYS}
        values.update({key: str(path) for key, path in self.files.items()})
        return {**values, "auth": self.auth}

    def commit(self) -> None:
        for tmp, final in self._pending:
            os.replace(tmp, final)
        self._pending.clear()

    def discard(self) -> None:
        for tmp, _ in self._pending:
            tmp.unlink(missing_ok=True)
        self._pending.clear()


def client_secret(secret: str) -> dict[str, bytes]:
    secret = secret.strip()
    if not secret or len(secret) > 1024 or control_character(secret):
        raise CredentialError(
            "the client secret must be 1 to 1,024 printable characters",
            "copy the secret's Value (not its ID) from the app registration",
        )
    return {"client_secret_file": secret.encode("utf-8")}


def certificate(certificate_pem: str, private_key_pem: str) -> dict[str, bytes]:
    cert_bytes, key_bytes = certificate_pem.encode(), private_key_pem.encode()
    _bounded(cert_bytes, key_bytes)
    try:
        cert = x509.load_pem_x509_certificate(cert_bytes)
    except ValueError:
        raise CredentialError(
            "certificate is not a PEM certificate",
            'send the public certificate as text starting "-----BEGIN CERTIFICATE-----"',
        ) from None
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except (ValueError, TypeError):
        raise CredentialError(
            "private_key is not an unencrypted PEM private key",
            'send the key starting "-----BEGIN PRIVATE KEY-----", or a PFX with its passphrase',
        ) from None
    if _public(key.public_key()) != _public(cert.public_key()):
        raise CredentialError(
            "the private key does not belong to the certificate",
            "send the key that was created with this certificate",
        )
    return {"certificate_file": cert_bytes, "private_key_file": key_bytes}


def pfx(pfx_base64: str, passphrase: str | None) -> dict[str, bytes]:
    try:
        data = base64.b64decode(pfx_base64, validate=True)
    except (binascii.Error, ValueError):
        raise CredentialError(
            "pfx is not base64", "send the PFX file's bytes base64-encoded"
        ) from None
    secret = (passphrase or "").encode("utf-8")
    _bounded(data, secret)
    # Its work is read before any is done, then the file is opened in a child process: a PFX
    # may ask for billions of key-derivation rounds, which would hold the daemon's threads.
    try:
        pfx_limits.check(data)
        verdict = pfx_child.open_pfx(data, secret)
    except pfx_limits.NotPkcs12 as exc:
        raise CredentialError(
            f"the PFX cannot be opened: it is no PKCS#12 file ({exc})",
            "send the .pfx or .p12 file's bytes, base64-encoded",
        ) from None
    except pfx_limits.PfxRefused as exc:
        raise CredentialError(f"the PFX is refused: {exc}", EXPORT_AGAIN) from None
    except pfx_child.TooSlow as exc:
        raise CredentialError(
            f"the PFX is refused: opening it takes too long ({exc}); its key derivation is set"
            " to work far harder than any real one",
            EXPORT_AGAIN,
        ) from None
    if verdict == "passphrase":
        raise CredentialError(
            "the PFX cannot be opened with this passphrase",
            "send the PFX with the passphrase it was exported with",
        )
    if verdict != "ok":
        raise CredentialError(
            "the PFX holds no private key and certificate", "export the certificate with its key"
        )
    files = {"pfx_file": data}
    if secret:
        files["pfx_passphrase_file"] = secret
    return files


def _bounded(*parts: bytes) -> None:
    if any(len(part) > MAX_SECRET_BYTES for part in parts):
        raise CredentialError("a credential is larger than 64 KiB", "send the right file")


def _public(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def stage(directory: Path, prefix: str, contents: dict[str, bytes], label: str) -> Staged:
    """Write the files under temporary names in ``directory`` (created 0700 if missing)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    problem = paths.directory_problem(directory) or paths.ancestor_problem(directory)
    if problem:
        raise CredentialError(
            f"cannot store credentials: {problem}", "fix [control] credentials_dir, then reload"
        )
    auth = "secret" if "client_secret_file" in contents else "certificate"
    staged = Staged(auth, label, {})
    try:
        for key, data in contents.items():
            final = directory / f"{prefix}.{SUFFIXES[key]}"
            # Unique per call: two requests for one tenant never share a temporary file.
            tmp = final.with_name(f".{final.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(tmp, flags, 0o600)
            staged._pending.append((tmp, final))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            staged.files[key] = final
    except BaseException:
        staged.discard()
        raise
    return staged


def remove_unused(directory: Path, prefix: str, keep: set[Path]) -> None:
    """Delete this tenant's credential files that the configuration no longer names."""
    for suffix in SUFFIXES.values():
        path = directory / f"{prefix}.{suffix}"
        if path not in keep:
            path.unlink(missing_ok=True)
