"""Stopping the daemon twice (a signal handler and a ``finally``, say) is safe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from azsyncd.config import file as config_file
from azsyncd.service.daemon import Daemon
from azsyncd.service.socket import instance_lock
from azsyncd.sync.runner import Outcome
from tests.helpers import within, write_config


def test_stop_twice_answers_the_same_and_closes_no_descriptor_it_does_not_own(
    tmp_path: Path,
) -> None:
    daemon = Daemon(
        config_file.load(write_config(tmp_path)),
        job_factory=lambda _: lambda ctx: Outcome("succeeded"),
        state_dir=tmp_path / "state",
    )
    daemon.start()
    lock_fd = daemon._lock_fd
    assert daemon.stop(within(5)) is True
    with pytest.raises(OSError):
        os.fstat(lock_fd)  # the first stop released the lock's descriptor
    # The lock's descriptor number is taken again by an unrelated file, as a long-lived
    # process reuses the lowest free number (taken here on purpose: another thread of the
    # test process may open files meanwhile).
    opened = os.open(os.devnull, os.O_RDONLY)
    if opened != lock_fd:
        os.dup2(opened, lock_fd)
        os.close(opened)
    reused = lock_fd
    try:
        assert daemon.stop(within(5)) is True
        os.fstat(reused)  # still open: the second stop closed nothing
    finally:
        os.close(reused)
    # The state directory is free again: another daemon may take it.
    instance_lock.release(instance_lock.lock_state_dir(tmp_path / "state"))
