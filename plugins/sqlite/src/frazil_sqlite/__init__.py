"""frazil-sqlite: a frazil storage backend holding a repository in one SQLite file."""

from __future__ import annotations

from frazil_sqlite._storage import SQLiteStorage, sqlite_from_url, sqlite_storage

__all__ = ["SQLiteStorage", "sqlite_from_url", "sqlite_storage"]
__version__ = "2.0.0.dev0"
