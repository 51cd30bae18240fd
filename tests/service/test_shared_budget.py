"""Two daemons syncing into one HappyFox account share its rate limit (issue 14, part 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine_setup import happyfox_daemon_home
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve
from tests.helpers import Deadline, load_factor

pytestmark = pytest.mark.slow

# One HappyFox minute lasts 6 s on an idle machine. A call is counted by the limiter as it
# leaves and by the account as it arrives; on a busy machine the time between stretches, and
# the minute stretches with it so that it stays as small a share of a minute.
SCALE = 10
HEADROOM = 0.03  # each daemon alone may make 15 GET / 9 POST a minute


def test_two_daemons_on_one_account_never_exceed_its_limits(tmp_path: Path) -> None:
    # The account allows a little more than one daemon's budget and less than two: without
    # one shared budget the two daemons together go over it and get locked out.
    scale = SCALE / load_factor()
    fake = FakeHappyFox(lambda: time.time() * scale, get_limit=20, post_limit=12)
    fake.fields = [f for f in fake.fields if f["type"] != "hologram"]
    shared = tmp_path / "shared"
    with serve(fake) as port:
        procs = []
        for name in ("one", "two"):
            home = tmp_path / name
            config = happyfox_daemon_home(
                home,
                f"http://127.0.0.1:{port}",
                {"shared_dir": str(shared)},
                rate_headroom=HEADROOM,
            )
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.fakes.scaled_daemon",
                        "sync",
                        str(config),
                        str(home / "state"),
                        "500",
                        str(scale),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        outcomes = []
        for proc in procs:
            out, err = proc.communicate(timeout=Deadline(120 * SCALE / scale).left())
            assert proc.returncode == 0, err
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
    assert [o["status"] for o in outcomes] == ["succeeded", "succeeded"], outcomes
    posts = sum(1 for method, _, _ in fake.calls if method == "POST")
    assert posts > 12, "the test must ask for more than the account allows in a minute"
    # Counted where they arrive, within the account's limits (the limiter counts them a
    # little earlier, as they leave: headroom covers the difference).
    busiest = {kind: fake.busiest_minute(kind) for kind in ("GET", "POST")}
    print(f"two daemons, busiest HappyFox minute: {busiest} (account: 20 GET / 12 POST)")
    assert busiest["POST"] <= 12 and busiest["GET"] <= 20
    assert fake.locked_until == 0 and len(fake.created) == 500
