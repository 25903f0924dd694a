"""frazil-sqlite passes the kernel's storage conformance suite and is found by URL."""

from __future__ import annotations

import sqlite3

import frazil
import pytest
from frazil.plugins import get_plugins, reset_plugins
from frazil.storage import storage_from_url
from frazil.testing import StorageTests
from frazil_sqlite import SQLiteStorage, sqlite_storage


class TestSQLiteStorage(StorageTests):
    def make_storage(self, tmp_path):
        return sqlite_storage(tmp_path / "repo.db")


def test_url_scheme_and_registry(tmp_path):
    reset_plugins()
    try:
        s = storage_from_url(f"sqlite://{tmp_path}/a.db")
        assert isinstance(s, SQLiteStorage) and s.path == str(tmp_path / "a.db")
        rows = [r for r in get_plugins().list_plugins() if r.name == "sqlite"]
        assert rows and rows[0].distribution == "frazil-sqlite" and rows[0].kind == "storage"
    finally:
        reset_plugins()


def test_one_file_in_wal_mode(tmp_path):
    db = tmp_path / "one.db"
    repo = frazil.Repository.create(sqlite_storage(db))
    repo.create_branch("dev", repo.lookup_branch("main"))
    assert {p.name for p in tmp_path.iterdir()} <= {"one.db", "one.db-wal", "one.db-shm"}
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    paths = {r[0] for r in conn.execute("SELECT path FROM objects")}
    assert "repo" in paths and any(p.startswith("snapshots/") for p in paths)
    assert frazil.Repository.open(storage_from_url(f"sqlite://{db}")).list_branches() == {
        "main", "dev"}


def test_bad_url():
    with pytest.raises(frazil.InvalidInputError):
        storage_from_url("sqlite://")
