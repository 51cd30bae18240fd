from __future__ import annotations

import signal
import subprocess

import httpx
import pytest

from tests.helpers import daemon_command, short_dir, wait_for_socket

pytestmark = pytest.mark.slow


def test_demo_starts_a_daemon_and_says_what_to_try() -> None:
    sock = short_dir() / "demo.sock"
    proc = subprocess.Popen(daemon_command("demo", "--socket", str(sock)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for_socket(sock, proc=proc)
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://azsyncd") as http:
            status = http.get("/v1/status").json()
            fields = http.get("/v1/fields").json()["fields"]
        assert status["account"] == "Demo Help Desk" and status["sync_enabled"]
        assert {f["type"] for f in fields} == {"text", "number", "dropdown", "date"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"listening on {sock}" in out and f"azsyncctl --socket {sock} status" in out
    assert not sock.exists()
