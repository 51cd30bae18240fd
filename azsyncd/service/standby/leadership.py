"""Which of the daemons sharing one PostgreSQL state syncs: the one holding the leader lock.

Every daemon (one per host) tries to take a session-level advisory lock on a connection of
its own. The holder is active: it syncs and takes changes. The others are standby: they
answer reads and try again every few seconds. PostgreSQL drops the lock with the session,
so a daemon killed however it dies, or whose connection drops, hands over within seconds;
keepalives on both ends make a host that vanished from the network count as dropped. The
active daemon checks its connection each round and steps down at once when it is gone.

On SQLite there is one daemon per state (the state-directory lock): it is always active.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from peewee import Database, PostgresqlDatabase

from azsyncd.state import shared_tables
from azsyncd.state.shared_tables import lock_key

log = logging.getLogger(__name__)

LOCK_NAME = "azsyncd leader"
INTERVAL = 2.0  # seconds between tries: a standby takes over well within 30 s
# The server drops the session of a host that stopped answering after about 5 + 3 x 2 s.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}


def this_host() -> str:
    return socket.gethostname()


class Leadership:
    """This daemon's role. ``on_promote`` runs on the thread that won the lock, once per win;
    ``on_demote`` when it is lost."""

    def __init__(
        self,
        db: Database,
        on_promote: Callable[[], None],
        on_demote: Callable[[], None],
        interval: float = INTERVAL,
    ) -> None:
        self.host, self.pid = this_host(), os.getpid()
        self.shared = isinstance(db, PostgresqlDatabase)
        self._db = db
        self._on_promote, self._on_demote = on_promote, on_demote
        self._interval = interval
        self._conn: Any = None
        self._active = False
        self.active_host: str | None = None
        self.active_pid: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def role(self) -> str:
        return "active" if self._active else "standby"

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "active_host": self.active_host, "active_pid": self.active_pid}

    def start(self) -> None:
        """Take the lead if nobody holds it (at once, so a lone daemon starts active), then keep
        trying in the background."""
        self._round()
        if self.shared:
            self._thread = threading.Thread(target=self._loop, name="leadership", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self._close()
        self._active = False

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._round()
            except Exception:  # the next round tries again; never lose the thread
                log.exception("leadership round failed")

    def _round(self) -> None:
        if not self.shared:
            if not self._active:
                self._won()
            return
        if self._active:
            if not self._alive():
                self._lost()
            return
        try:
            if self._try_lock():
                self._won()
            else:
                self._read_leader()
        except Exception as exc:
            log.warning("cannot reach the state database to take the lead: %s", exc)
            self._close()

    def _connection(self) -> Any:
        if self._conn is None:
            import psycopg2  # a PostgreSQL state has it installed

            db: Any = self._db
            self._conn = psycopg2.connect(
                dbname=db.database,
                **{**db.connect_params, **KEEPALIVE},
                application_name=f"azsyncd leader {self.host} {self.pid}",
            )
            self._conn.autocommit = True
            with self._conn.cursor() as cursor:
                # The server's side of the keepalives: it releases a vanished host's lock.
                cursor.execute(
                    "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2;"
                    " SET tcp_keepalives_count = 3"
                )
                cursor.execute(*shared_tables.LEADER)
        return self._conn

    def _try_lock(self) -> bool:
        with self._connection().cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(LOCK_NAME),))
            if not cursor.fetchone()[0]:
                return False
            cursor.execute(
                "INSERT INTO azsync_leader (id, host, pid) VALUES (1, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid",
                (self.host, self.pid),
            )
            return True

    def _read_leader(self) -> None:
        with self._connection().cursor() as cursor:
            cursor.execute("SELECT host, pid FROM azsync_leader WHERE id = 1")
            row = cursor.fetchone()
        self.active_host, self.active_pid = (row[0], row[1]) if row else (None, None)

    def _alive(self) -> bool:
        try:
            with self._connection().cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except Exception as exc:
            log.error("lost the state database connection that holds the lead: %s", exc)
            return False

    def _won(self) -> None:
        self._active = True
        self.active_host, self.active_pid = self.host, self.pid
        log.info("this daemon is the active one (host %s, pid %d)", self.host, self.pid)
        self._on_promote()

    def _lost(self) -> None:
        self._active = False
        self.active_host = self.active_pid = None
        self._close()
        log.error("this daemon is on standby now: another one may take over")
        self._on_demote()

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None
