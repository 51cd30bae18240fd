"""A member of the socket group who is no admin reads what she may: status, runs and counts,
never a contact's name, phones or employee id (contacts, records, the CSV reports, leavers, a
one-user run's log), until ``[control] readers`` lists her. Her group searches, each a Graph
call, are rate-limited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import running_daemon
from tests.service.conftest import LocalWorld

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[3]
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
PERSONAL = [
    "/v1/contacts",
    "/v1/contacts.csv",
    "/v1/runs/1/records",
    "/v1/runs/latest/records",
    "/v1/runs/1/report.csv",
    "/v1/runs/latest/report.csv",
    "/v1/report/quality",  # the failing users' addresses
    "/v1/report/quality.csv",
    "/v1/lifecycle/joiners",  # who starts when
]
OPEN = ["/v1/status", "/v1/runs", "/v1/runs/1", "/v1/metrics", "/v1/tenants", "/v1/audit"]
NAME = "anna.andersson0"  # a user of the directory, her contact and her records

# As nobody: GET each path, then 20 group searches as fast as they go; prints JSON.
READER = r"""
import json, sys, httpx
sock, paths = sys.argv[1], json.loads(sys.argv[2])
http = httpx.Client(transport=httpx.HTTPTransport(uds=sock), base_url="http://azsyncd", timeout=30)
answers = {}
for path in paths:
    r = http.get(path)
    answers[path] = [r.status_code, r.text[:20000]]
searches = [http.get("/v1/tenants/contoso/groups", params={"search": "S"}).status_code
            for _ in range(20)]
print(json.dumps({"answers": answers, "searches": searches}))
"""


def as_nobody(sock: Path, paths: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [*NOBODY, sys.executable, "-c", READER, str(sock), json.dumps(paths)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_personal_data_needs_a_reader_and_searches_are_throttled(
    local_world: LocalWorld, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    config = local_world.config
    config.write_text(
        config.read_text() + '\n[control]\nmode = "0666"\nadmins = ["@nogroup-admins"]\n'
    )
    with running_daemon(config) as daemon:
        daemon.socket.parent.chmod(0o755)  # she reaches the socket: only roles guard it
        with daemon.client() as http:
            synced = http.post("/v1/sync", json={"wait": True, "timeout": 120}, timeout=130)
            assert synced.status_code == 202, synced.text
            traced = http.post(
                "/v1/sync",
                json={"user": "anna.andersson0@contoso.example", "wait": True, "timeout": 120},
                timeout=130,
            )
            assert traced.status_code == 202
            trace = str(traced.json()["run_id"])
            root_sees = http.get(f"/v1/runs/{trace}").text
        graph_before = len(local_world.directory.requests)
        seen = as_nobody(daemon.socket, [*PERSONAL, *OPEN, f"/v1/runs/{trace}", "/v1/lifecycle"])
        graph_calls = len(local_world.directory.requests) - graph_before
        ctl = [sys.executable, "-m", "azsyncd.control.ctl", "--socket", str(daemon.socket)]
        denied = subprocess.run(
            [*NOBODY, *ctl, "contacts"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )

        answers = seen["answers"]
        assert isinstance(answers, dict)
        for path in PERSONAL:
            status, text = answers[path]
            assert status == 403, f"nobody read {path}: {text[:200]}"
            assert NAME not in text and "[control] readers" in text
        for path in OPEN:
            assert answers[path][0] == 200, (path, answers[path])
        for path in (f"/v1/runs/{trace}", "/v1/runs", "/v1/status", "/v1/audit"):
            assert NAME not in answers[path][1], (path, answers[path][1][:300])
        assert "anna.andersson0@contoso.example" in root_sees  # the admin sees the trace
        assert json.loads(answers["/v1/lifecycle"][1])["leavers"] == []
        assert json.loads(answers["/v1/lifecycle"][1])["joiners"] == []
        assert denied.returncode == 1 and "[control] readers" in denied.stderr, denied.stderr

        searches = seen["searches"]
        assert isinstance(searches, list)
        print(f"group searches let through: {searches.count(200)} of 20; Graph calls {graph_calls}")
        assert searches.count(429) >= 8, searches
        assert graph_calls <= 2 * 12, graph_calls  # a token and a search each, at most

        config.write_text(config.read_text() + 'readers = ["nobody"]\n')
        with daemon.client() as http:
            assert http.post("/v1/reload", json={}).status_code == 200
        reader = as_nobody(daemon.socket, PERSONAL)

    answers = reader["answers"]
    assert isinstance(answers, dict)
    for path in PERSONAL:
        assert answers[path][0] == 200, (path, answers[path][1][:200])
    assert NAME in answers["/v1/contacts"][1]
