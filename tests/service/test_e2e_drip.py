"""End to end, a help desk that hangs: the daemon as a real process, two simulated tenants,
and the fake HappyFox answering one tenant's writes a byte every 5 s. (A file of its own,
handed out first: it waits over two minutes, which the other workers use meanwhile.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.service.e2e_world import sync_and_wait
from tests.service.test_e2e_identity import daemon_of, desk, records

pytestmark = [pytest.mark.slow, pytest.mark.long]


def test_a_dripping_help_desk_fails_its_calls_in_time_and_the_other_tenant_is_written(
    tmp_path: Path,
) -> None:
    """HappyFox answers contoso's writes one byte every 5 s, forever. Each call has one
    budget of 120 s, tries included; the run ends well within 200 s, says why contoso's
    contacts failed, and writes fabrikam's."""
    with desk(tmp_path, 3, 3) as world, daemon_of(world) as (_, http):
        world.happyfox.drip = b"@contoso.example"
        started = time.monotonic()
        run = sync_and_wait(http)  # waits up to 120 s, then polls
        while run["status"] == "running":
            assert time.monotonic() - started < 200, "the run did not end within 200 s"
            time.sleep(1)
            run = http.get(f"/v1/runs/{run['id']}").json()
        took = time.monotonic() - started
        assert took < 200, f"the run took {took:.0f} s"
        assert run["status"] == "partial" and run["counts"]["new"] == 3
        assert sorted(world.happyfox.by_email) == [f"person{i}@fabrikam.example" for i in range(3)]
        failed = records(http, run, status="failed")
        assert {r["email"] for r in failed} == {f"person{i}@contoso.example" for i in range(3)}
        assert all("HappyFox did not answer POST users/ after" in r["result"] for r in failed)
        assert all("120 s budget" in r["result"] for r in failed)
        # One try: the budget went on the first; a POST that timed out is tried once more at most.
        assert len(world.happyfox.dripped) <= 2
        print(f"drip: the run ended in {took:.0f} s")
