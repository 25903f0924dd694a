"""floe-sqlite: a floe storage backend holding a repository in one SQLite file."""

from __future__ import annotations

from floe_sqlite._storage import SQLiteStorage, sqlite_from_url, sqlite_storage

__all__ = ["SQLiteStorage", "sqlite_from_url", "sqlite_storage"]
__version__ = "0.1.0"
