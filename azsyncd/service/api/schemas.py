"""Request bodies of the control API. Unknown keys are refused, so typos are seen."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model

from azsyncd.config.model import Tenant
from azsyncd.config.secrets import MAX_SECRET_BYTES

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters: they would reach logs and files
Search = Annotated[str, Query(max_length=256, pattern=PRINTABLE)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SyncRequest(Body):
    dry_run: bool = Field(False, description="Plan only: write nothing to the target")
    full: bool = Field(
        False,
        description="A full reconciliation: read every user and compare each contact with the"
        " help desk's own (with dry_run: preview the whole plan)",
    )
    user: str | None = Field(
        None,
        max_length=512,
        pattern=PRINTABLE,
        description="Sync one user (UPN, email or object id), step by step",
    )
    tenant: str | None = Field(
        None, max_length=64, pattern=PRINTABLE, description="Sync only this tenant"
    )
    wait: bool = Field(
        False, description="Answer when the run has ended, with its outcome (a dry run's plan)"
    )
    timeout: float = Field(
        600, gt=0, le=3600, description="With wait: give up waiting after this many seconds"
    )


class ApproveRequest(Body):
    timeout: float = Field(
        600, gt=0, le=3600, description="Give up waiting for the approving run after this long"
    )


class SettingsPatch(Body):
    """Sections to change, each merged into the current one. Tenants have their own endpoints."""

    account: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    mapping: dict[str, Any] | None = None
    welcome_email: dict[str, Any] | None = None
    sync: dict[str, Any] | None = None
    scope: dict[str, Any] | None = Field(
        None, description="include / exclude conditions for every tenant"
    )
    state: dict[str, Any] | None = Field(
        None, description="history_runs only; database_url needs a restart"
    )
    force: bool = Field(
        False,
        description="Save even if the change's preview fails more than [sync] max_fail_share"
        " of a tenant's contacts",
    )


# Every Tenant field, optional: a PATCH names only what changes.
TenantPatch: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "TenantPatch",
    __base__=Body,
    **{
        name: (Optional[field.annotation], None)  # noqa: UP045 (a runtime type)
        for name, field in Tenant.model_fields.items()
        if name != "name"
    },
    force=(bool, False),  # save even if the change's preview fails too many contacts
)

RecordStatus = Literal["success", "failed", "skipped", "unchanged"]

# Secrets arrive as SecretStr: pydantic never shows them in a repr or an error.
PEM = Annotated[SecretStr, Field(min_length=1, max_length=MAX_SECRET_BYTES)]


class ClientSecret(Body):
    kind: Literal["client_secret"]
    client_secret: Annotated[SecretStr, Field(min_length=1, max_length=1024)]


class Certificate(Body):
    kind: Literal["certificate"]
    certificate: PEM = Field(description="The public certificate, PEM")
    private_key: PEM = Field(description="Its private key, unencrypted PEM")


class Pfx(Body):
    kind: Literal["pfx"]
    pfx: Annotated[SecretStr, Field(min_length=1, max_length=MAX_SECRET_BYTES * 4 // 3 + 4)] = (
        Field(description="The PFX (PKCS#12) file, base64")
    )
    passphrase: Annotated[SecretStr, Field(max_length=1024)] | None = None


Credential = Annotated[ClientSecret | Certificate | Pfx, Field(discriminator="kind")]


class NewTenant(Tenant):
    """A tenant to add, optionally with its secret (stored as by PUT .../credential)."""

    credential: Credential | None = None
