"""The job the daemon's runner calls for each sync run: builds the engine from a config snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from azsyncd import paths
from azsyncd.config.model import Config
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import Interrupted, SecretError
from azsyncd.service.runs.schedule import Clock
from azsyncd.state import State
from azsyncd.sync.engine import Engine
from azsyncd.sync.executor import Executor
from azsyncd.sync.runner import Outcome, RunContext, SyncJob
from azsyncd.sync.welcome import WelcomeMailer
from azsyncd.targets.factory import build_target
from azsyncd.targets.registry import spec


class JobHost(Protocol):
    """What a sync job needs of the daemon: read at the start of each run."""

    @property
    def config(self) -> Config: ...

    @property
    def config_dir(self) -> Path: ...

    @property
    def clock(self) -> Clock: ...

    state: State
    tenants: TenantService
    state_dir: Path


def make_job(daemon: JobHost) -> SyncJob:
    def job(ctx: RunContext) -> Outcome:
        config = daemon.config  # a snapshot: settings changed during the run apply next time
        directory = daemon.config_dir
        try:
            mailer = (
                WelcomeMailer(config.welcome_email, config.account.name, directory)
                if config.welcome_email.enabled
                else None
            )
            target = build_target(
                config,
                directory,
                daemon.state.db,
                on_wait=lambda message: ctx.log(message, "warning"),
                shared_dir=paths.shared_state_dir(config.state.shared_dir, daemon.state_dir),
            )
        except SecretError as exc:
            return Outcome("failed", f"{exc.message} ({exc.fix})")
        executor = Executor(
            daemon.state,
            target,
            ctx.run_id,
            dry_run=ctx.progress.dry_run,
            mailer=mailer,
            parallel=spec(config.target.kind).parallel,
            log=lambda message: ctx.log(message, "warning"),
        )
        # A held run's plan is recorded the way a dry run records its plan.
        plan_records = Executor(daemon.state, target, ctx.run_id, dry_run=True)
        try:
            executor.send_owed_welcomes()  # of contacts a run that stopped had just created
            return Engine(
                ctx,
                config,
                daemon.state,
                daemon.tenants,
                target,
                executor,
                plan_records=plan_records,
                clock=daemon.clock,
            ).run()
        except Interrupted:
            executor.record_finished()  # an interrupted run records what it finished
            ctx.report(counts=dict(executor.tally().counts))
            raise
        finally:
            executor.close()
            plan_records.close()
            target.close()

    return job
