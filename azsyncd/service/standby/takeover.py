"""This daemon's part in an active/standby pair: refusing changes on standby, taking over
what the previous active daemon left (its running run, its settings), and handing a run
over when the lead is lost.

On SQLite a daemon is alone on its state and is active at once.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from azsyncd.config.changes import file_only_changes
from azsyncd.config.model import Config
from azsyncd.errors import UserError
from azsyncd.service.standby import shared_settings
from azsyncd.service.standby.leadership import Leadership

if TYPE_CHECKING:
    from azsyncd.service.daemon import Daemon

log = logging.getLogger(__name__)


class OnStandby(UserError):
    """This daemon shares its state with an active one: only that one syncs and changes."""


class Takeover:
    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon
        self._to_resume: list[int] = []
        self.leadership = Leadership(daemon.state.db, self._promoted, self._demoted)

    @property
    def active(self) -> bool:
        return self.leadership.role == "active"

    def refusal(self) -> OnStandby:
        """The error a change sent to this standby daemon gets."""
        lead = self.leadership
        where = lead.active_host
        active = (
            f"the active daemon is on {where} (pid {lead.active_pid})"
            if where
            else "no daemon is active at the moment"
        )
        return OnStandby(
            f"this azsyncd (on {lead.host}) is on standby: {active}; only the"
            " active daemon syncs and takes changes",
            f"send the change to azsyncd on {where}" if where else "try again in a few seconds",
        )

    def publish(self, config: Config) -> None:
        """Store the active daemon's settings for a standby that takes over."""
        if self.leadership.shared and self.active:
            shared_settings.publish(
                self._daemon.state.db, config.model_dump(mode="json"), self.leadership.host
            )

    def _promoted(self) -> None:
        """This daemon just became the active one: take over what the previous one left."""
        daemon = self._daemon
        interrupted = daemon.state.mark_interrupted(
            "the daemon stopped during this run (killed or crashed, or cut off from the database)"
        )
        if interrupted:
            log.warning(
                "runs %s were left running by a previous daemon; recorded as interrupted",
                interrupted,
            )
        if self.leadership.shared:
            # Taking over from another host: finish what it was doing, with its settings.
            self._to_resume = interrupted
            self._adopt_shared_settings()
        if daemon.started:
            self.take_over()

    def take_over(self) -> None:
        """Schedule as the active daemon, and resume the runs a previous one left."""
        daemon = self._daemon
        daemon.apply_schedule(previous=None)
        for run_id in self._to_resume:
            run = daemon.state.run(run_id)
            if run is not None and not run.dry_run:
                # The mirror and the look-up by email make a resumed run write no contact twice.
                log.info("resuming run %d, interrupted when its daemon stopped", run_id)
                daemon.start_sync("resume", options=dict(run.options or {}))
        self._to_resume = []

    def _demoted(self) -> None:
        """The lead is lost: stop syncing at the next safe point; another daemon takes over."""
        stopping = self._daemon.runner
        self._daemon.wire_runs()
        threading.Thread(target=stopping.hand_over, args=(20.0,), daemon=True).start()

    def _adopt_shared_settings(self) -> None:
        daemon = self._daemon
        store = daemon.config_store
        found = shared_settings.stored(daemon.state.db)
        if found is None or store.changed_since(found.at):
            self.publish(store.config)  # this host's file is the newest word
            return
        before = store.config.model_dump(mode="json")
        wanted = shared_settings.for_this_host(before, found.document)
        if wanted == before:
            return

        def replace(document: dict[str, Any]) -> None:
            document.clear()
            document.update(wanted)

        try:
            changes = store.update(replace, allowed=frozenset(file_only_changes(before, wanted)))
        except UserError as exc:
            log.error(
                "could not take over the settings the daemon on %s stored (%s); running on"
                " this host's file",
                found.host,
                exc,
            )
            return
        log.info(
            "took over the settings stored by the daemon on %s: %s", found.host, "; ".join(changes)
        )
