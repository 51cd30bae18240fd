"""Another local user swaps the control socket from a directory above it.

With the socket at .../x/sub/azsyncd.sock, ``sub`` closed (0750) but ``x`` open to all (0777,
no sticky bit), she renames ``sub``, makes her own, listens there, and waits for root to send
a client secret with ``azsyncctl tenants credential ... --secret-stdin``. The daemon must not
start on such a path (naming ``x``), nor keep credentials below one; and if the path becomes
unsafe after it started, azsyncctl and the TUI's client must see that the listener is not
azsyncd's user and send nothing: the bytes she captures are 0."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import daemon_command, running_daemon, short_dir, wait_for
from tests.service.adversarial.conftest import contoso_config

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[3]
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
SECRET = "Zq8Q~root-typed-this-client-secret-77"

# The attacker's listener: stdlib only, run as nobody. Records what every connection sends.
LISTENER = r"""
import os, socket, sys
x, log = sys.argv[1], sys.argv[2]
os.rename(os.path.join(x, "sub"), os.path.join(x, "sub.old"))
os.mkdir(os.path.join(x, "sub"), 0o755)
server = socket.socket(socket.AF_UNIX)
server.bind(os.path.join(x, "sub", "azsyncd.sock"))
os.chmod(os.path.join(x, "sub", "azsyncd.sock"), 0o777)
server.listen(8)
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    conn.settimeout(3)
    with open(log, "ab") as out:
        out.write(b"<connection>")
        try:
            while chunk := conn.recv(65536):
                out.write(chunk)
                out.flush()
        except OSError:
            pass
    conn.close()
"""


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another local user")


@pytest.fixture
def tree() -> Iterator[Path]:
    """/tmp/azXXXX (0755) / x (0777, no sticky) / sub (0750): returns x."""
    base = short_dir()
    base.chmod(0o755)
    x = base / "x"
    x.mkdir()
    x.chmod(0o777)
    (x / "sub").mkdir(mode=0o750)
    yield x
    subprocess.run(["rm", "-rf", str(base)], check=False)


def test_the_daemon_refuses_a_socket_or_credentials_below_an_open_directory(
    tree: Path, tmp_path: Path
) -> None:
    needs_root()
    config = contoso_config(tmp_path)
    started = subprocess.run(
        daemon_command(
            "run", "--config", str(config), "--socket", str(tree / "sub" / "azsyncd.sock")
        ),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "STATE_DIRECTORY": str(tmp_path / "state")},
    )
    assert started.returncode != 0, "the daemon started below a directory anyone may write"
    assert f"the directory {tree} above" in started.stderr, started.stderr
    assert "without the sticky bit" in started.stderr

    # The credentials directory, the same way.
    config.write_text(
        config.read_text() + f'\n[control]\ncredentials_dir = "{tree / "sub" / "creds"}"\n'
    )
    started = subprocess.run(
        daemon_command("run", "--config", str(config), "--socket", str(short_dir() / "s.sock")),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "STATE_DIRECTORY": str(tmp_path / "state")},
    )
    assert started.returncode != 0, "the daemon started with credentials below an open directory"
    assert f"the directory {tree} above" in started.stderr, started.stderr

    # With the sticky bit (as /tmp has), only an entry's owner may rename it: accepted.
    tree.chmod(0o1777)
    sock = tree / "sub" / "azsyncd.sock"
    with running_daemon(config, socket_path=sock) as daemon, daemon.client() as http:
        assert http.get("/v1/status").status_code == 200


def test_clients_send_nothing_to_a_socket_swapped_from_above(tree: Path, tmp_path: Path) -> None:
    needs_root()
    from azsyncd.control.client import Client
    from azsyncd.errors import DaemonUnreachable

    tree.chmod(0o755)  # safe when the daemon starts...
    sock = tree / "sub" / "azsyncd.sock"
    captured = tree.parent / "captured"
    captured.touch()
    captured.chmod(0o666)
    with running_daemon(contoso_config(tmp_path), socket_path=sock) as daemon:
        with daemon.client() as http:
            assert http.get("/v1/status").status_code == 200
        tree.chmod(0o777)  # ... until an admin opens a directory above it
        listener = subprocess.Popen(
            [*NOBODY, sys.executable, "-I", "-c", LISTENER, str(tree), str(captured)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert listener.stdout is not None
            assert listener.stdout.readline().strip() == "listening", listener.stderr
            assert os.stat(sock).st_uid == 65534  # her socket now stands at the path
            sent = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "azsyncd.control.ctl",
                    "--socket",
                    str(sock),
                    "tenants",
                    "credential",
                    "contoso",
                    "--secret-stdin",
                ],
                input=SECRET + "\n",
                capture_output=True,
                text=True,
                timeout=60,
                cwd=ROOT,
            )
            # The TUI talks through the same client.
            with pytest.raises(DaemonUnreachable) as refused, Client(sock, timeout=5) as client:
                client.status()
            wait_for(lambda: b"<connection>" in captured.read_bytes(), 10, "a connection")
            time.sleep(0.5)  # whatever a client would send after connecting has arrived
        finally:
            listener.kill()
            listener.wait()
        data = captured.read_bytes()
    print(
        f"bytes captured by the swapped-socket listener: {len(data.replace(b'<connection>', b''))}"
    )
    assert SECRET.encode() not in data
    assert data.replace(b"<connection>", b"") == b"", data[:200]
    assert sent.returncode == 3, sent.stderr
    assert "runs as nobody, not as root or azsyncd's user" in sent.stderr
    assert "Nothing was sent" in sent.stderr
    assert "runs as nobody" in str(refused.value)
