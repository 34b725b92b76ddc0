"""A source's durable local buffer: what a source received is written here (fsync'd) before
anything else happens, and removed only once the server answered 202 for it. A small SQLite
file of its own (stdlib `sqlite3`), because a source runs apart from the server and must keep
alerts while the server is down; usable from several threads."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "body TEXT NOT NULL, queued_at REAL NOT NULL)",
    # What the server refused as malformed (400/413/422): kept for a human, never resent.
    "CREATE TABLE IF NOT EXISTS rejected (id INTEGER PRIMARY KEY, body TEXT NOT NULL, "
    "reason TEXT NOT NULL, rejected_at REAL NOT NULL)",
)


class Spool:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # WAL with synchronous=FULL: every commit is on disk when append() returns.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def append(self, bodies: Sequence[str]) -> None:
        """Queue alert JSON texts, durably, in order."""
        if not bodies:
            return
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT INTO spool (body, queued_at) VALUES (?, ?)",
                                 [(body, now) for body in bodies])
            self._db.execute("COMMIT")

    def peek(self, limit: int, max_bytes: int) -> list[tuple[int, str]]:
        """The oldest queued alerts, at most `limit` of them and about `max_bytes` of JSON
        (always at least one)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM spool ORDER BY id LIMIT ?", (limit,)).fetchall()
        taken: list[tuple[int, str]] = []
        size = 0
        for row_id, body in rows:
            size += len(body) + 1
            if taken and size > max_bytes:
                break
            taken.append((int(row_id), str(body)))
        return taken

    def delete(self, ids: Sequence[int]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM spool WHERE id = ?", [(i,) for i in ids])

    def reject(self, row_id: int, reason: str) -> None:
        """Move one alert the server refused out of the queue, keeping it and why."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO rejected (id, body, reason, rejected_at) "
                "SELECT id, body, ?, ? FROM spool WHERE id = ?", (reason, time.time(), row_id))
            self._db.execute("DELETE FROM spool WHERE id = ?", (row_id,))
            self._db.execute("COMMIT")

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM spool").fetchone()[0])

    def rejected(self) -> list[tuple[str, str]]:
        """(body, reason) of every refused alert, oldest first."""
        with self._lock:
            return [(str(b), str(r)) for b, r in self._db.execute(
                "SELECT body, reason FROM rejected ORDER BY id")]

    def close(self) -> None:
        with self._lock:
            self._db.close()
