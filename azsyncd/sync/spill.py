"""Planned actions kept in a temporary file rather than in memory.

A guarded run (``[sync.thresholds]``) plans every user before it writes any, so that its
thresholds judge the whole plan: at a million users the planned writes themselves would
take gigabytes. They go to an anonymous temporary file instead (created owner-only and
unlinked at once, so nobody else can open it; with ``PrivateTmp=`` under systemd it is the
service's own), a few thousand at a time, and are read back the same way to be written.
A small plan never touches the file.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterator
from typing import IO

from azsyncd.sync.planner import Action


class SpilledActions:
    SPILL_AT = 2000  # actions held in memory before they go to the file (about 2.5 MB)

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._held: list[Action] = []  # the newest, not yet in the file
        self._count = 0

    def extend(self, actions: list[Action]) -> None:
        self._held.extend(actions)
        self._count += len(actions)
        if len(self._held) >= self.SPILL_AT:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            # Closed by close(), which the run calls when it is done with its plan.
            self._file = tempfile.TemporaryFile(prefix="azsyncd-plan-")  # noqa: SIM115
        self._file.seek(0, os.SEEK_END)
        pickle.dump(self._held, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._held = []

    def __len__(self) -> int:
        return self._count

    def chunks(self) -> Iterator[list[Action]]:
        """The actions in the order they came, a few thousand at a time."""
        if self._file is not None:
            self._file.seek(0)
            while True:
                try:
                    # Our own unlinked owner-only file, written above: no one else's bytes.
                    chunk: list[Action] = pickle.load(self._file)
                except EOFError:
                    break
                yield chunk
        if self._held:
            yield self._held

    def __iter__(self) -> Iterator[Action]:
        for chunk in self.chunks():
            yield from chunk

    def close(self) -> None:
        self._held = []
        if self._file is not None:
            self._file.close()
            self._file = None
