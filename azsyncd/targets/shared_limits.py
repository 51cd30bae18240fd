"""One rate limit per help desk account, shared by every process that writes to it.

Two daemons on one account (two hosts, or two ``azsyncd@`` instances on one host) would each
keep their own limiter and together go over the account's limit, which HappyFox answers
with ten minutes of 429s. So the sliding log of calls and the 429 lock live in a database
every such process reaches: the shared PostgreSQL state, or a SQLite file in a directory
the instances of one host share. Each call is counted in one transaction that holds the
account's lock (a PostgreSQL transaction-level advisory lock; SQLite's file lock, taken at
BEGIN IMMEDIATE), so two processes never both take the last free call.

Times are wall-clock seconds (hosts sharing a database keep their clocks in step with NTP;
the headroom under the published limits absorbs a skew of a second or two).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from peewee import Database, PostgresqlDatabase

from azsyncd import stop
from azsyncd.state import shared_tables
from azsyncd.state.database import OwnerOnlySqlite
from azsyncd.state.shared_tables import lock_key
from azsyncd.targets.ratelimit import RateLimiter

FILE_NAME = "ratelimit.db"


class CallLog:
    """The calls and 429 locks of every account, in one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with self._serialised("schema"):
            shared_tables.create(db, shared_tables.RATE)

    @classmethod
    def in_directory(cls, directory: Path) -> CallLog:
        """The log of one host: a SQLite file in ``directory`` (created owner-only)."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(OwnerOnlySqlite(str(directory / FILE_NAME), pragmas={"busy_timeout": 30000}))

    @contextmanager
    def _serialised(self, account: str) -> Iterator[None]:
        if isinstance(self.db, PostgresqlDatabase):
            with self.db.atomic():
                self.db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (lock_key(account),))
                yield
        else:
            with self.db.atomic("IMMEDIATE"):  # SQLite: the file's write lock, at once
                yield

    def take(
        self, account: str, kind: str, limit: int, window: float, clock: Callable[[], float]
    ) -> float:
        """Count a call now and return 0, or return the seconds to wait first."""
        return self.take_all(account, {kind: limit}, window, clock)

    def take_all(
        self, account: str, limits: dict[str, int], window: float, clock: Callable[[], float]
    ) -> float:
        """Count a call toward every kind of ``limits`` now and return 0, or return the
        seconds to wait first (then none is counted)."""
        p = self.db.param
        with self._serialised(account):
            now = clock()  # read under the lock: waiting for it must not make the call older
            row = self.db.execute_sql(
                f"SELECT until FROM rate_lock WHERE account = {p}", (account,)
            ).fetchone()
            if row and row[0] > now:
                return float(row[0]) - now
            pause = 0.0
            for kind, limit in limits.items():
                self.db.execute_sql(
                    f"DELETE FROM rate_call WHERE account = {p} AND kind = {p} AND at <= {p}",
                    (account, kind, now - window),
                )
                count = self._count(account, kind)
                if count >= limit:
                    # The call that must leave the window for this one to fit.
                    (freed,) = self.db.execute_sql(
                        f"SELECT at FROM rate_call WHERE account = {p} AND kind = {p}"
                        f" ORDER BY at LIMIT 1 OFFSET {p}",
                        (account, kind, count - limit),
                    ).fetchone()
                    pause = max(pause, float(freed) + window - now, 0.001)
            if pause > 0:
                return pause
            for kind in limits:
                self._insert(account, kind, now, 1)
            return 0.0

    def note_used(
        self, account: str, kind: str, used: int, limit: int, window: float, now: float
    ) -> int:
        """The server counted ``used`` calls of ``kind``: add, as made now, those beyond the
        calls every process logged (see ``RateLimiter.note_used``); how many were added."""
        p = self.db.param
        with self._serialised(account):
            self.db.execute_sql(
                f"DELETE FROM rate_call WHERE account = {p} AND kind = {p} AND at <= {p}",
                (account, kind, now - window),
            )
            others = min(used, limit) - self._count(account, kind)
            if others > 0:
                self._insert(account, kind, now, others)
            return max(0, others)

    def _count(self, account: str, kind: str) -> int:
        p = self.db.param
        (count,) = self.db.execute_sql(
            f"SELECT COUNT(*) FROM rate_call WHERE account = {p} AND kind = {p}", (account, kind)
        ).fetchone()
        return int(count)

    def _insert(self, account: str, kind: str, at: float, count: int) -> None:
        p = self.db.param
        rows = ", ".join([f"({p}, {p}, {p})"] * count)
        self.db.execute_sql(
            f"INSERT INTO rate_call (account, kind, at) VALUES {rows}",
            [value for _ in range(count) for value in (account, kind, at)],
        )

    def recent(self, account: str, kind: str, since: float) -> int:
        """Calls of ``kind`` every process made on the account after ``since``."""
        p = self.db.param
        row = self.db.execute_sql(
            f"SELECT COUNT(*) FROM rate_call WHERE account = {p} AND kind = {p} AND at > {p}",
            (account, kind, since),
        ).fetchone()
        return int(row[0])

    def locked_until(self, account: str) -> float:
        """When the account's 429 lock ends (0: it never was locked)."""
        row = self.db.execute_sql(
            f"SELECT until FROM rate_lock WHERE account = {self.db.param}", (account,)
        ).fetchone()
        return float(row[0]) if row else 0.0

    def lock(self, account: str, until: float) -> None:
        """Hold every call to ``account`` back until ``until`` (a lock is only ever extended)."""
        p = self.db.param
        with self._serialised(account):
            row = self.db.execute_sql(
                f"SELECT until FROM rate_lock WHERE account = {p}", (account,)
            ).fetchone()
            if row is None:
                self.db.execute_sql(
                    f"INSERT INTO rate_lock (account, until) VALUES ({p}, {p})", (account, until)
                )
            elif row[0] < until:
                self.db.execute_sql(
                    f"UPDATE rate_lock SET until = {p} WHERE account = {p}", (until, account)
                )

    def note(self, account: str, key: str, text: str | None) -> None:
        """Keep (or, with None, drop) a note about the account that status shows."""
        p = self.db.param
        with self._serialised(account):
            self.db.execute_sql(
                f"DELETE FROM rate_note WHERE account = {p} AND note = {p}", (account, key)
            )
            if text is not None:
                self.db.execute_sql(
                    f"INSERT INTO rate_note (account, note, text) VALUES ({p}, {p}, {p})",
                    (account, key, text),
                )

    def notes(self, account: str) -> dict[str, str]:
        rows = self.db.execute_sql(
            f"SELECT note, text FROM rate_note WHERE account = {self.db.param} ORDER BY note",
            (account,),
        ).fetchall()
        return {str(key): str(text) for key, text in rows}


NOTES_FRESH = 5.0  # seconds a read of the notes serves status before it is read again


class SharedRateLimiter(RateLimiter):
    """A ``RateLimiter`` whose calls and 429 lock are those of every process on the account."""

    def __init__(
        self,
        log: CallLog,
        account: str,
        limits: dict[str, int],
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = stop.sleep,
    ) -> None:
        super().__init__(limits, window, clock, sleep)
        self.log = log
        self.account = account
        self._read_notes: tuple[float, dict[str, str]] | None = None

    def _take(self, kinds: tuple[str, ...]) -> float:
        if len(kinds) == 1:
            return self.log.take(
                self.account, kinds[0], self.limits[kinds[0]], self.window, self._clock
            )
        limits = {kind: self.limits[kind] for kind in kinds}
        return self.log.take_all(self.account, limits, self.window, self._clock)

    def note_used(self, kind: str, used: int) -> int:
        return self.log.note_used(
            self.account, kind, used, self.limits[kind], self.window, self._clock()
        )

    def _hold(self, seconds: float) -> None:
        self.log.lock(self.account, self._clock() + seconds)

    def _recent(self, kind: str) -> int:
        return self.log.recent(self.account, kind, self._clock() - self.window)

    def note(self, key: str, text: str | None) -> None:
        if self.log.notes(self.account).get(key) != text:  # written when it changes only
            self.log.note(self.account, key, text)
            self._read_notes = None

    def notes(self) -> dict[str, str]:
        """Every process's notes on the account, read at most every few seconds (status asks
        often, and the notes change seldom)."""
        now = time.monotonic()
        if self._read_notes is None or now - self._read_notes[0] > NOTES_FRESH:
            self._read_notes = (now, self.log.notes(self.account))
        return dict(self._read_notes[1])

    @property
    def locked_for(self) -> float:
        return max(0.0, self.log.locked_until(self.account) - self._clock())
