"""Tenants: each one's settings (the configuration's own model) and state; sign-ins; groups."""

from __future__ import annotations

from pydantic import ConfigDict

from azsyncd.answers.base import Answer
from azsyncd.answers.status import TenantState
from azsyncd.config import model


class Tenant(model.Tenant):
    """A tenant's settings as the file has them (a secret pasted into a *_file key hidden),
    and its state."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)
    state: TenantState = TenantState()

    @property
    def label(self) -> str:
        return self.display_name or self.name


class TenantList(Answer):
    tenants: list[Tenant] = []


class DeviceCode(Answer):
    """A device-code sign-in in progress: the code to enter, or how it ended."""

    tenant: str = ""
    status: str = "pending"  # pending | succeeded | failed | expired ...
    user_code: str = ""
    verification_uri: str = ""
    message: str = ""
    expires_in: int = 0
    reason: str = ""
    fix: str = ""


class TenantAuthorization(Tenant):
    """A tenant after authorize; for a device-code tenant, its sign-in (None: none going)."""

    device_code: DeviceCode | None = None


class Group(Answer):
    id: str = ""
    name: str = ""
    description: str = ""


class Groups(Answer):
    groups: list[Group] = []


class Deleted(Answer):
    deleted: str  # the tenant's name
