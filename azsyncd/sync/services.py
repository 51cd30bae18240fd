"""What every tenant's run of one sync shares: the run's context, the config snapshot, the
state, the target and the writes, and the planner (built when the first user needs it)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from azsyncd.config.model import Config, Tenant
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import SecretError, TargetError
from azsyncd.state import State
from azsyncd.state.lifecycle import LifecycleState
from azsyncd.sync import joiners
from azsyncd.sync.planning import Planning
from azsyncd.sync.runner import RunContext
from azsyncd.sync.writes import Writes
from azsyncd.targets.base import Target, setup_problems
from azsyncd.targets.registry import spec


def settings_key(config: Config) -> str:
    """Part of each mirror fingerprint: changing the mapping or overwrite rule rewrites contacts."""
    # What the target writes of its own (HappyFox's custom-field mark) counts too; "" for
    # none, which keeps the fingerprints stored by earlier versions valid.
    target = spec(config.target.kind)
    written = target.written(config.target.settings) if target.written else ""
    text = json.dumps(
        [config.mapping.model_dump(mode="json"), config.target.kind, written], sort_keys=True
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class FieldsUnreadable(Exception):
    """The help desk's fields could not be read: nothing can be planned in this run."""


@dataclass
class Services:
    ctx: RunContext
    config: Config
    state: State
    tenants: TenantService
    target: Target
    writes: Writes  # the executor: writes, records and mirrors
    # Where a held run's plan is recorded (as a dry run records its plan); None: never held.
    plan_records: Writes | None
    clock: Callable[[], datetime]  # when a removal was first seen, and whether grace passed
    guarded: bool = False  # plan every tenant before writing any (thresholds, approvals)
    lifecycle: LifecycleState = field(init=False)
    settings: str = field(init=False)
    _planning: Planning | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.lifecycle = LifecycleState(self.state.db)
        self.settings = settings_key(self.config)

    @property
    def run_id(self) -> int:
        return self.ctx.run_id

    @property
    def dry_run(self) -> bool:
        return self.ctx.progress.dry_run

    @property
    def writing(self) -> bool:
        """Whether a step writes as soon as it has planned (no hold, no dry run)."""
        return not self.guarded and not self.dry_run

    def log(self, tenant: str, message: str, level: str = "info") -> None:
        self.ctx.log(f"tenant {tenant}: {message}", level)

    def label(self, tenant: Tenant) -> str:
        """The tenant's name on the help desk's marker."""
        return tenant.display_name or self.state.tenant(tenant.name).display_name or tenant.name

    @property
    def planning(self) -> Planning:
        """The planner, reading the help desk's fields the first time there is a user to plan:
        a delta with no change costs no help-desk call."""
        if self._planning is not None:
            return self._planning
        try:
            fields = self.target.fields()
        except (TargetError, SecretError) as exc:
            raise FieldsUnreadable() from exc
        self._planning = Planning(
            self.config, self.state, self.target, fields, self.settings, self.run_id
        )
        self._planning.joining = joiners.window(
            self.config.lifecycle.create_before_hire_days,
            self.clock(),
            self.config.account.timezone,
        )
        for problem in setup_problems(self.target):
            self.ctx.log(f"{problem.key}: {problem.message}; fix: {problem.fix}", "warning")
        missing = self._planning.mapper.missing_fields
        if missing:
            self.ctx.log(
                f"mapped custom fields missing in the help desk, left out: {', '.join(missing)}",
                "warning",
            )
        return self._planning
