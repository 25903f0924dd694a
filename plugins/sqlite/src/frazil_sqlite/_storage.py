"""A frazil :class:`~frazil.storage.Storage` in one SQLite file.

Objects live in one table, ``objects(path PRIMARY KEY, data BLOB, version
INTEGER, size INTEGER, modified REAL)``. The database runs in WAL mode so
readers never block the writer, and every write is its own transaction:

* conditional create is an ``INSERT``; the primary key makes a second create
  fail (``IntegrityError`` -> :class:`~frazil.storage.ConditionFailedError`);
* conditional update is ``UPDATE ... WHERE path = ? AND version = ?``; zero
  rows changed means the object moved on (or vanished);
* writes start with ``BEGIN IMMEDIATE`` and wait up to ``busy_timeout`` for
  the write lock, which makes them safe across threads and processes.

Versions are random 62-bit integers, so an object deleted and created again
never gets back a token a writer might still hold.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from frazil.errors import ErrorKind, InvalidInputError, StorageError
from frazil.storage import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    ByteRange,
    ConditionFailedError,
    ObjectInfo,
    ObjectNotFoundError,
    Storage,
    VersionToken,
    in_thread_pool,
    resolve_byte_range,
)

__all__ = ["SQLiteStorage", "sqlite_from_url", "sqlite_storage"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    path TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    version INTEGER NOT NULL,
    size INTEGER NOT NULL,
    modified REAL NOT NULL
)
"""
_DELETE_BATCH = 500


class SQLiteStorage(Storage):
    """Storage in the SQLite database file ``path`` (created if missing).

    Parameters
    ----------
    path
        Database file; one repository per file.
    busy_timeout_ms
        How long a write waits for another writer's lock before failing.
    max_concurrent_requests
        Upper bound on concurrent calls per event loop.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 60_000,
                 max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS) -> None:
        super().__init__(max_concurrent_requests=max_concurrent_requests)
        self._path = os.path.abspath(os.fspath(path))
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._local = threading.local()  # one connection per thread
        os.makedirs(os.path.dirname(self._path), exist_ok=True)
        self._connect()  # create the file and schema now: fail early, not at first use

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    def _repr_type(self) -> str:
        return "SQLite"

    def _repr_fields(self) -> dict[str, object]:
        return {"path": self._path}

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        del state["_local"]  # connections cannot travel between processes
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._local = threading.local()

    # -- connections ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False,
                                   timeout=self._busy_timeout_ms / 1000)
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_SCHEMA)
            self._local.conn = conn
        return conn

    async def _call(self, fn: Any, *args: Any) -> Any:
        try:
            # the process's pool: its threads keep their connections
            return await in_thread_pool("frazil-sqlite", self._in_thread, fn, *args, size=16)
        except sqlite3.Error as e:
            raise StorageError(f"sqlite storage {self._path}: {e}") from e

    def _in_thread(self, fn: Any, *args: Any) -> Any:
        return fn(self._connect(), *args)

    # -- reads ---------------------------------------------------------------------------

    async def _get_object(self, path: str, byte_range: ByteRange | None) -> bytes:
        def read(conn: sqlite3.Connection) -> bytes:
            if byte_range is None:
                row = conn.execute("SELECT data FROM objects WHERE path = ?", (path,)).fetchone()
                if row is None:
                    raise ObjectNotFoundError(path)
                return bytes(row[0])
            conn.execute("BEGIN")  # size and bytes from one snapshot
            try:
                row = conn.execute("SELECT size FROM objects WHERE path = ?", (path,)).fetchone()
                if row is None:
                    raise ObjectNotFoundError(path)
                start, stop = resolve_byte_range(byte_range, int(row[0]))
                if stop <= start:
                    return b""
                got = conn.execute("SELECT substr(data, ?, ?) FROM objects WHERE path = ?",
                                   (start + 1, stop - start, path)).fetchone()
                return bytes(got[0])
            finally:
                conn.execute("COMMIT")

        return await self._call(read)  # type: ignore[no-any-return]

    async def _get_object_versioned(self, path: str) -> tuple[bytes, VersionToken]:
        def read(conn: sqlite3.Connection) -> tuple[bytes, VersionToken]:
            row = conn.execute("SELECT data, version FROM objects WHERE path = ?",
                               (path,)).fetchone()
            if row is None:
                raise ObjectNotFoundError(path)
            return bytes(row[0]), VersionToken(str(row[1]))

        return await self._call(read)  # type: ignore[no-any-return]

    async def _object_size(self, path: str) -> int:
        def read(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT size FROM objects WHERE path = ?", (path,)).fetchone()
            if row is None:
                raise ObjectNotFoundError(path)
            return int(row[0])

        return await self._call(read)  # type: ignore[no-any-return]

    async def _list_objects(self, prefix: str) -> list[ObjectInfo]:
        def read(conn: sqlite3.Connection) -> list[ObjectInfo]:
            rows = conn.execute(
                "SELECT path, size, modified FROM objects WHERE substr(path, 1, ?) = ?",
                (len(prefix), prefix)).fetchall()
            return [ObjectInfo(p, int(s), datetime.fromtimestamp(m, UTC)) for p, s, m in rows]

        return await self._call(read)  # type: ignore[no-any-return]

    # -- writes ---------------------------------------------------------------------------

    async def _put_object(self, path: str, data: bytes) -> None:
        def write(conn: sqlite3.Connection) -> None:
            with _immediate(conn):
                conn.execute(
                    "INSERT INTO objects (path, data, version, size, modified) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
                    "data = excluded.data, version = excluded.version, size = excluded.size, "
                    "modified = excluded.modified",
                    (path, data, _new_version(), len(data), time.time()))

        await self._call(write)

    async def _put_object_if(self, path: str, data: bytes,
                             expected: VersionToken | None) -> VersionToken:
        version = _new_version()

        def write(conn: sqlite3.Connection) -> VersionToken:
            with _immediate(conn):
                if expected is None:
                    try:
                        conn.execute("INSERT INTO objects (path, data, version, size, modified) "
                                     "VALUES (?, ?, ?, ?, ?)",
                                     (path, data, version, len(data), time.time()))
                    except sqlite3.IntegrityError:
                        raise ConditionFailedError(path) from None
                else:
                    try:
                        old = int(expected.value)
                    except ValueError:
                        raise ConditionFailedError(path) from None
                    cur = conn.execute("UPDATE objects SET data = ?, version = ?, size = ?, "
                                       "modified = ? WHERE path = ? AND version = ?",
                                       (data, version, len(data), time.time(), path, old))
                    if cur.rowcount != 1:
                        raise ConditionFailedError(path)
            return VersionToken(str(version))

        return await self._call(write)  # type: ignore[no-any-return]

    async def _delete_objects(self, paths: list[str]) -> int:
        def write(conn: sqlite3.Connection) -> int:
            deleted = 0
            with _immediate(conn):
                for i in range(0, len(paths), _DELETE_BATCH):
                    batch = paths[i:i + _DELETE_BATCH]
                    marks = ",".join("?" * len(batch))
                    cur = conn.execute(f"DELETE FROM objects WHERE path IN ({marks})", batch)
                    deleted += cur.rowcount
            return deleted

        if not paths:
            return 0
        return await self._call(write)  # type: ignore[no-any-return]


class _immediate:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error): one write transaction."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _new_version() -> int:
    return secrets.randbits(62) + 1


def sqlite_storage(path: str | os.PathLike[str], **options: Any) -> Storage:
    """Storage in the SQLite file ``path`` (icechunk-style factory name)."""
    return SQLiteStorage(path, **options)


def sqlite_from_url(url: str, **options: Any) -> Storage:
    """``sqlite:///abs/file.db`` or ``sqlite://relative/file.db`` to :class:`SQLiteStorage`."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite":
        raise InvalidInputError(f"not a sqlite:// URL: {url!r}", ErrorKind.CANNOT_PARSE_URL)
    path = unquote(parts.netloc + parts.path)
    if not path:
        raise InvalidInputError(f"no database file in {url!r}", ErrorKind.CANNOT_PARSE_URL)
    return SQLiteStorage(path, **options)
