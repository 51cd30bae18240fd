"""``GET /v1/settings`` (the configuration's own sections), the target's fields, the directory's
attributes, and a reload."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from azsyncd.answers.base import SENT, Answer
from azsyncd.config import model


class AccountSettings(model.Account):
    model_config = SENT


class ScheduleSettings(model.Schedule):
    model_config = SENT


class MappingSettings(model.Mapping):
    """Each mapped value is an attribute or expression, or a table {"value", "apply"}."""

    model_config = SENT

    @staticmethod
    def source(entry: str | model.FieldRule | dict[str, Any] | None) -> str | None:
        """The attribute or expression of a mapped value, whichever form it has."""
        if isinstance(entry, model.FieldRule):
            return entry.value
        return str(entry.get("value", "")) if isinstance(entry, dict) else entry

    @staticmethod
    def apply(entry: str | model.FieldRule | dict[str, Any] | None) -> str | None:
        """The value's own apply rule (always, on_create, when_empty), or None."""
        if isinstance(entry, model.FieldRule):
            return entry.apply
        return entry.get("apply") if isinstance(entry, dict) else None


class WelcomeEmailSettings(model.WelcomeEmail):
    model_config = SENT


class SyncSettings(model.Sync):
    model_config = SENT


class ScopeSettings(model.Scope):
    """Who syncs: every include condition holds and no exclude condition does."""

    model_config = SENT


class AlertSettings(model.Alerts):
    """Where alerts go; the webhook's secret is named by its file, never sent."""

    model_config = SENT


class StateSettings(Answer):
    """Of ``[state]``, the one key the API may change."""

    history_runs: int = 30


class KindSettings(BaseModel):
    """A target kind's own table, as the file has it: its target declares the keys."""

    model_config = ConfigDict(extra="allow", frozen=True)


class TargetSettings(Answer):
    """``[target]``: the kind in use, and a table per kind configured (``target.<kind>``)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, KindSettings]  # type: ignore[assignment]
    kind: str = "local"

    def table(self, kind: str) -> dict[str, Any]:
        found = (self.__pydantic_extra__ or {}).get(kind)
        return dict(found.__pydantic_extra__ or {}) if found is not None else {}


class Settings(Answer):
    account: AccountSettings = AccountSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    target: TargetSettings = TargetSettings()
    mapping: MappingSettings = MappingSettings()
    welcome_email: WelcomeEmailSettings = WelcomeEmailSettings()
    sync: SyncSettings = SyncSettings()
    scope: ScopeSettings = ScopeSettings()
    state: StateSettings = StateSettings()
    alerts: AlertSettings = AlertSettings()


class TargetField(Answer):
    """A custom contact field of the help desk."""

    id: str = ""
    name: str = ""
    type: str = "text"
    required: bool = False
    choices: list[str] = []
    raw_type: str = ""
    fixed: str | int | None = None  # the help desk's mark: set by azsync, never mapped
    pattern: str = ""  # a regular expression the help desk holds the value to ("": none)


class SetupProblem(Answer):
    """Something the help desk lacks for the target's settings, and the fix."""

    key: str = ""
    message: str = ""
    fix: str = ""


class Fields(Answer):
    target: str  # the kind
    fields: list[TargetField] = []
    problems: list[SetupProblem] = []  # what the help desk lacks for the target's settings


class Attributes(Answer):
    attributes: list[str] = []
    lists: list[str] = []  # the attributes that hold a list of values
    functions: dict[str, str] = {}  # each expression function, with an example
    note: str = ""


class Reloaded(Answer):
    reloaded: bool = True
    config_path: str = ""
    changes: list[str] = []
