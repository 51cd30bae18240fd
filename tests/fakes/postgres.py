"""A throwaway PostgreSQL server for tests: initdb in a temporary directory, loopback only."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a database URL; PostgreSQL refuses to run as root, so it runs as 'postgres' then."""
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    assert initdb and pg_ctl, (
        "PostgreSQL server binaries missing; .ci/run installs Debian's postgresql"
    )
    base = Path(tempfile.mkdtemp(prefix="azpg"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()

    def run(*cmd: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)

    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "azsync", "--no-sync")
        run(
            pg_ctl,
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        yield f"postgresql://azsync@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """Create an empty database on the server at ``server_url``; return its URL."""
    import uuid

    import psycopg2

    name = f"t{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(server_url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    conn.close()
    return server_url.rsplit("/", 1)[0] + "/" + name
