"""The built-in contact store, the default target: contacts in the state database.

Its settings declare the custom fields ([[target.local.fields]]); its table lives in the
state database next to the run state, created by the store when missing.
"""

from __future__ import annotations

from peewee import Database

from azsyncd.config.model import Config
from azsyncd.targets.local.settings import LocalSettings, rules
from azsyncd.targets.local.store import LocalStore
from azsyncd.targets.spec import Resources, TargetSpec


def _build(settings: LocalSettings, resources: Resources) -> LocalStore:
    return LocalStore(settings.fields, resources.db)


TARGET = TargetSpec(name="local", settings=LocalSettings, rules=rules, build=_build)


def built_in_store(config: Config, db: Database) -> LocalStore:
    """The built-in store as configured, whichever target the sync writes to."""
    settings = config.target.tables().get(TARGET.name)
    fields = settings.fields if isinstance(settings, LocalSettings) else []
    return LocalStore(fields, db)
