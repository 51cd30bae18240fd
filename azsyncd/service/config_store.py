"""The daemon's configuration: the file as loaded, reloads, and edits written back.

An edit through the API is applied to a copy, checked as ``azsyncd run`` checks the file,
then written atomically; it never overwrites a file changed on disk since it was loaded, and
a state change that goes with it (``before_write``) is kept with the file or not at all.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from azsyncd.config import file as config_file
from azsyncd.config.changes import FileOnlyChange, describe, file_only_changes
from azsyncd.config.model import Config
from azsyncd.errors import ConfigError, UserError
from azsyncd.service import pending_audit
from azsyncd.state import State

log = logging.getLogger(__name__)


class ConfigConflict(UserError):
    """The file on disk is not the one the daemon loaded: an edit would overwrite it."""


class ConfigStore:
    """``publish`` runs with every new configuration, in the edit's transaction (the shared
    settings of a standby pair); ``changed`` after it is in use, with the one before."""

    def __init__(
        self,
        loaded: config_file.LoadedConfig,
        state: State,
        *,
        publish: Callable[[Config], None],
        changed: Callable[[Config], None],
    ) -> None:
        self.loaded = loaded
        self.error: str | None = None  # why the last reload failed, shown in status
        self._state = state
        self._publish = publish
        self._changed = changed
        self._lock = threading.RLock()

    @property
    def config(self) -> Config:
        return self.loaded.config

    @property
    def path(self) -> Path:
        return self.loaded.path

    @property
    def directory(self) -> Path:
        return self.loaded.directory

    def changed_since(self, at: float) -> bool:
        """Whether the file on disk was written after ``at`` (a Unix time)."""
        try:
            return self.loaded.path.stat().st_mtime > at
        except OSError:
            return False

    def reload(self) -> list[str] | None:
        """Re-read the file, with the checks ``azsyncd run`` makes.

        Returns what changed; on error keeps the last good configuration, reports the problem
        in status and returns None.
        """
        try:
            fresh = config_file.load(self.loaded.path, check_files=True, missing_ok=True)
        except ConfigError as exc:
            self.error = str(exc)
            log.error("reload failed, still running on the last good configuration: %s", exc)
            return None
        with self._lock:
            previous = self.loaded.config
            self.loaded = fresh
            self.error = None
            self._publish(fresh.config)
        changes = describe(previous.model_dump(mode="json"), fresh.config.model_dump(mode="json"))
        log.info("configuration reloaded from %s%s", fresh.path, "; ".join(["", *changes]))
        self._changed(previous)
        return changes

    def candidate(
        self, change: Callable[[dict[str, Any]], None], *, allowed: frozenset[str] = frozenset()
    ) -> Config:
        """The configuration ``change`` would make, checked as an edit checks it, not saved."""
        before = self.loaded.config.model_dump(mode="json")
        document = copy.deepcopy(before)
        change(document)
        refused = file_only_changes(before, document, allowed)
        if refused:
            raise FileOnlyChange(refused, str(self.loaded.path))
        return config_file.validate(document, str(self.loaded.path))

    def update(
        self,
        change: Callable[[dict[str, Any]], None],
        *,
        allowed: frozenset[str] = frozenset(),
        before_write: Callable[[], None] | None = None,
        check: Callable[[Config], None] | None = None,
    ) -> list[str]:
        """Apply ``change`` to the config document, check it, write it atomically, then use it.

        Refused, with file and daemon left as they were: a file changed or broken on disk since
        it was loaded (ConfigConflict), keys that name files or endpoints other than
        ``allowed`` (FileOnlyChange), an invalid result or loose file permissions (ConfigError).
        ``before_write`` runs in the state database's transaction: both are kept, or neither.
        ``check`` sees the checked result before it is written and may refuse it (the preview
        of a change that would fail too many contacts). Returns what changed, one line each.
        """
        with self._lock:
            path = self.loaded.path
            current = self._file_as_loaded()
            before = self.loaded.config.model_dump(mode="json")
            document = copy.deepcopy(before)
            change(document)
            refused = file_only_changes(before, document, allowed)
            if refused:
                raise FileOnlyChange(refused, str(path))
            fresh = config_file.validate(document, str(path))
            if check is not None:
                check(fresh)
            problems = list(
                config_file.secret_file_problems(
                    config_file.LoadedConfig(fresh, path), missing_ok=True
                )
            )
            if problems:
                raise ConfigError(problems)
            text = config_file.render(fresh, current).encode("utf-8")
            changes = describe(before, fresh.model_dump(mode="json"))

            def in_transaction() -> None:
                if before_write is not None:
                    before_write()
                self._publish(fresh)
                # The request's audit entry says what changed, in this transaction: a
                # database that cannot take it refuses the edit (nothing is written).
                pending_audit.store_changes(self._state, changes)

            self._write(text, current.encode("utf-8"), in_transaction)
            previous = self.loaded.config
            self.loaded = config_file.LoadedConfig(fresh, path, config_file.digest(text))
            self.error = None
        self._changed(previous)
        return changes

    def _file_as_loaded(self) -> str:
        """The file's text, if it is still what was loaded; else ConfigConflict."""
        path = self.loaded.path
        try:
            data, st = config_file.read_bytes(path)
        except ConfigError as exc:
            raise ConfigConflict(
                f"{path} cannot be read any more ({exc.problems[0].message})",
                "restore the file, then reload (azsyncctl reload)",
            ) from None
        if config_file.digest(data) != self.loaded.digest:
            try:
                config_file.validate(config_file.parse(data, path), str(path))
            except ConfigError:
                raise ConfigConflict(
                    f"{path} is broken on disk; an edit through the API would overwrite it",
                    "fix the file (azsyncd check-config lists the problems) and reload first",
                ) from None
            raise ConfigConflict(
                f"{path} was changed on disk since azsyncd loaded it; an edit through the API"
                " would overwrite that change",
                "reload first (azsyncctl reload or systemctl reload azsyncd), then repeat the edit",
            )
        problems = config_file.config_file_problems(path, st)
        if problems:
            raise ConfigError(problems)
        return data.decode("utf-8")

    def _write(self, text: bytes, old: bytes, before_write: Callable[[], None]) -> None:
        """The file and the state change together: a failure on either side undoes both."""
        written = False
        try:
            with self._state.db.atomic():
                before_write()
                config_file.write_atomically(self.loaded.path, text)
                written = True
        except BaseException:
            if written:  # the database refused to commit: put the old file back
                try:
                    config_file.write_atomically(self.loaded.path, old, backup=False)
                except OSError as exc:
                    log.error("could not restore %s after a failed edit: %s", self.loaded.path, exc)
            raise
