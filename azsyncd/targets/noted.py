"""Addresses a run notes (a target's contacts created after its listing), off the heap.

A set of every address a first sync creates grows with the directory (about 130 bytes an
address: 130 MB at a million). This keeps them in a private temporary SQLite database on
disk (``sqlite3.connect("")``, deleted when closed), as 64-bit hashes, behind a page cache of
1 MB: a run's memory stays flat however many contacts it creates. Two addresses with one
hash (about one chance in 10^7 at a million) only cost a needless lookup, never a wrong
answer, since a caller checks what it finds.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable


class NotedAddresses:
    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None  # opened at the first address
        self._lock = threading.Lock()  # the help desk's writers note from their threads

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA cache_size = -1024")  # KiB
            self._db.execute("CREATE TABLE noted (h INTEGER PRIMARY KEY) WITHOUT ROWID")
        return self._db

    def add(self, addresses: Iterable[str]) -> None:
        rows = [(hash(a),) for a in addresses]
        if rows:
            with self._lock:
                self._open().executemany("INSERT OR IGNORE INTO noted VALUES (?)", rows)

    def among(self, addresses: Iterable[str]) -> set[str]:
        """Those of ``addresses`` that were noted (or share a hash with one that was)."""
        by_hash = {hash(a): a for a in addresses}
        if self._db is None or not by_hash:
            return set()
        found: set[str] = set()
        keys = list(by_hash)
        with self._lock:
            for start in range(0, len(keys), 900):  # under SQLite's bound-parameter limit
                part = keys[start : start + 900]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(f"SELECT h FROM noted WHERE h IN ({marks})", part)
                found.update(by_hash[h] for (h,) in rows)
        return found

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
