"""What a target declares in one place: its registry entry (``TargetSpec``).

A target module defines one ``TargetSpec``: the ``[target.<kind>]`` table and its checks
(the part the config layer sees, ``TargetKind``), the keys of that table naming secret
files, how many write batches may be in flight, the rate limits of the account, how the
target is built from its settings, and (optionally) a simulated account for ``azsyncd demo
--target <kind>``. ``registry.py`` lists the specs; the factory, the config rules, the job
wiring and the demo only ever ask a spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peewee import Database

from azsyncd.config.model import Config
from azsyncd.config.target_kinds import TargetKind
from azsyncd.targets.base import Target
from azsyncd.targets.ratelimit import RateLimiter


@dataclass(frozen=True)
class RateLimits:
    """The calls a minute an account allows, by kind of call; one limiter per account."""

    account: str
    per_minute: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class Resources:
    """What the factory hands a target's ``build``."""

    secrets: Mapping[str, str]  # secret key of the table -> the secret, read and redacted
    limiter: RateLimiter | None  # shared by every client of the account
    db: Database  # the state database, for a target that keeps tables there
    on_wait: Callable[[str], None] | None = None  # says why writes pause, in the run's log
    # The whole configuration, for a target whose writes depend on more than its own table
    # (which phones the mapping sets, the order of the contact-group rules).
    config: Config | None = None
    # The phone types the mapping writes, in its order: for a help desk with one phone field.
    phone_types: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DemoDesk:
    """A simulated account of the help desk, running, for ``azsyncd demo --target <kind>``."""

    table: dict[str, Any]  # its [target.<kind>] table
    secrets: Mapping[str, bytes] = field(default_factory=dict)  # file name -> content
    mapping: dict[str, Any] | None = None  # a [mapping] to its fields (None: the demo's own)
    where: str = ""  # a line for the admin: where it runs, how to look at it
    stop: Callable[[], None] = lambda: None


@dataclass(frozen=True, kw_only=True)
class TargetSpec(TargetKind):
    build: Callable[[Any, Resources], Target]
    parallel: int = 1  # write batches in flight at once; the limiter holds them back
    limits: Callable[[Any], RateLimits] | None = None
    # The settings that change what the target writes to every contact beyond the mapping
    # (HappyFox's custom-field mark), as a short text; "" when there are none. It is part of
    # every contact's fingerprint (``sync.services.settings_key``): a change rewrites every
    # contact once. Non-empty also means the help desk must be set up for it, which
    # ``check-config`` checks (``Target.setup_problems``).
    written: Callable[[Any], str] | None = None
    demo: Callable[[Path], DemoDesk] | None = None  # starts a simulated account in a directory
    # What check-config says of the table once it is valid: a line each (the account, its
    # budget, how it writes).
    describe: Callable[[Any], list[str]] | None = None

    def make(self, settings: Any, resources: Resources) -> Target:
        if not isinstance(settings, self.settings):
            raise TypeError(f"{self.name} target settings expected, got {type(settings).__name__}")
        return self.build(settings, resources)
