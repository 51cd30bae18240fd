"""Request bodies of the control API. Unknown keys are refused, so typos are seen."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from azsyncd.config.model import Tenant


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SyncRequest(Body):
    dry_run: bool = Field(False, description="Plan only: write nothing to the target")
    user: str | None = Field(
        None, max_length=512, description="Sync one user (UPN, email or object id), step by step"
    )
    tenant: str | None = Field(None, max_length=64, description="Sync only this tenant")
    wait: bool = Field(
        False, description="Answer when the run has ended, with its outcome (a dry run's plan)"
    )
    timeout: float = Field(
        600, gt=0, le=3600, description="With wait: give up waiting after this many seconds"
    )


class SettingsPatch(Body):
    """Sections to change, each merged into the current one. Tenants have their own endpoints."""

    account: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    mapping: dict[str, Any] | None = None
    welcome_email: dict[str, Any] | None = None
    sync: dict[str, Any] | None = None
    state: dict[str, Any] | None = Field(
        None, description="history_runs only; database_url needs a restart"
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
)

RecordStatus = Literal["success", "failed", "skipped", "unchanged"]
