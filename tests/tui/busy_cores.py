"""Keep every core busy, to prove the TUI tests wait for states and not for times.

python -m tests.tui.busy_cores [SECONDS]     (default: until stopped)
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from types import FrameType


def spin(until: float) -> None:
    while time.monotonic() < until:
        pass


def main(argv: list[str]) -> int:
    seconds = float(argv[0]) if argv else 24 * 3600.0
    until = time.monotonic() + seconds  # not a wait: how long to keep the cores busy
    workers = [
        multiprocessing.Process(target=spin, args=(until,), daemon=True)
        for _ in range(os.cpu_count() or 1)
    ]

    def stop(_: int, __: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)  # kill PID stops the spinners too
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        for worker in workers:
            worker.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
