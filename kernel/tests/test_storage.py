"""The storage conformance suite on the built-ins, plus backend-specific checks."""

from __future__ import annotations

import asyncio
import os
import pickle
from pathlib import Path

import pytest
from frazil.errors import InvalidInputError
from frazil.plugins import PluginNotFoundError
from frazil.storage import (
    ConditionFailedError,
    InMemoryStorage,
    LocalFileSystemStorage,
    ObjectNotFoundError,
    Storage,
    in_memory_storage,
    local_filesystem_storage,
    storage_from_url,
)
from frazil.testing import StorageTests


class TestInMemoryStorage(StorageTests):
    picklable = False

    def make_storage(self, tmp_path: Path) -> Storage:
        return in_memory_storage()


class TestLocalFileSystemStorage(StorageTests):
    async def make_storage(self, tmp_path: Path) -> Storage:
        return local_filesystem_storage(str(tmp_path / "repo"))


# -- local layout and atomicity --------------------------------------------------------


async def test_local_layout_matches_icechunk(tmp_path: Path) -> None:
    s = LocalFileSystemStorage(tmp_path)
    await s.put_object("snapshots/1CECHNKREP0F1RSTCMT0", b"snap")
    await s.put_object_if("repo", b"info", expected=None)
    assert (tmp_path / "snapshots" / "1CECHNKREP0F1RSTCMT0").read_bytes() == b"snap"
    assert (tmp_path / "repo").read_bytes() == b"info"
    # frazil's helpers stay out of listings and leave no temp files behind.
    assert [o.path for o in await s.list_objects_async("")] == ["repo", "snapshots/1CECHNKREP0F1RSTCMT0"]
    leftovers = [n for _, _, files in os.walk(tmp_path) for n in files if ".frazil-tmp-" in n]
    assert leftovers == []


async def test_local_temp_files_hidden_and_cleaned(tmp_path: Path) -> None:
    s = LocalFileSystemStorage(tmp_path)
    await s.put_object("chunks/a", b"x")
    (tmp_path / "chunks" / ".frazil-tmp-stale").write_bytes(b"half")
    assert [o.path for o in await s.list_objects_async("chunks/")] == ["chunks/a"]
    with pytest.raises(ConditionFailedError):
        await s.put_object_if("chunks/a", b"y", expected=None)
    assert sorted(os.listdir(tmp_path / "chunks")) == [".frazil-tmp-stale", "a"]
    # Staging happens outside the object directories icechunk lists.
    assert os.listdir(tmp_path / ".frazil-staging") == []  # the failed write cleaned up


async def test_local_reads_files_written_by_others(tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "x").write_bytes(b"abc")
    s = LocalFileSystemStorage(tmp_path)
    data, token = await s.get_object_versioned("refs/x")
    assert data == b"abc"
    # Same-size rewrite by someone else invalidates the token.
    (tmp_path / "refs" / "x").write_bytes(b"abd")
    with pytest.raises(ConditionFailedError):
        await s.put_object_if("refs/x", b"new", expected=token)


async def test_local_rejects_internal_names(tmp_path: Path) -> None:
    s = LocalFileSystemStorage(tmp_path)
    for bad in (".frazil-locks/repo.lock", "a/.frazil-tmp-x", "a\\b"):
        with pytest.raises(InvalidInputError):
            await s.put_object(bad, b"x")


async def test_local_missing_root(tmp_path: Path) -> None:
    s = LocalFileSystemStorage(tmp_path / "nope")
    assert await s.list_objects_async("") == []
    with pytest.raises(ObjectNotFoundError):
        await s.get_object("repo")
    assert await s.delete_objects(["repo"]) == 0


# -- the interface ---------------------------------------------------------------------


async def test_concurrency_is_bounded() -> None:
    s = InMemoryStorage(max_concurrent_requests=3)
    active = peak = 0
    original = s._get_object

    async def slow(path: str, byte_range: object) -> bytes:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return await original(path, byte_range)  # type: ignore[arg-type]

    s._get_object = slow  # type: ignore[method-assign]
    await s.put_object("k", b"v")
    await asyncio.gather(*(s.get_object("k") for _ in range(20)))
    assert peak == 3


def test_semaphore_per_event_loop() -> None:
    s = InMemoryStorage()
    asyncio.run(s.put_object("k", b"v"))
    assert asyncio.run(s.get_object("k")) == b"v"  # a second loop gets its own semaphore


def test_pickle_drops_semaphores_keeps_data(tmp_path: Path) -> None:
    s = InMemoryStorage()
    asyncio.run(s.put_object("k", b"v"))
    # in-memory data never leaves its process, as icechunk's in_memory_storage
    with pytest.raises(TypeError, match="cannot pickle 'InMemoryStorage'"):
        pickle.dumps(s)
    local = pickle.loads(pickle.dumps(LocalFileSystemStorage(tmp_path)))
    assert local.root == str(tmp_path)


def test_zarr_byte_requests() -> None:
    from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest

    s = InMemoryStorage()

    async def main() -> None:
        await s.put_object("k", b"0123456789")
        assert await s.get_object("k", RangeByteRequest(2, 4)) == b"23"
        assert await s.get_object("k", OffsetByteRequest(8)) == b"89"
        assert await s.get_object("k", SuffixByteRequest(3)) == b"789"

    asyncio.run(main())


async def test_read_only_storage_refuses_writes() -> None:
    from frazil.errors import ReadOnlyError

    class ReadOnly(InMemoryStorage):
        @property
        def can_write(self) -> bool:
            return False

    s = ReadOnly()
    with pytest.raises(ReadOnlyError):
        await s.put_object("k", b"v")
    with pytest.raises(ReadOnlyError):
        await s.delete_objects(["k"])


def test_repr_has_no_secrets(tmp_path: Path) -> None:
    assert repr(InMemoryStorage()) == "<frazil.Storage>\ntype: in-memory\n"
    expected = f"<frazil.Storage>\ntype: local filesystem\npath: {tmp_path}\n"
    local = LocalFileSystemStorage(tmp_path)
    assert repr(local) == expected == str(local)


def test_error_kinds() -> None:
    assert ObjectNotFoundError("p").kind == "object-not-found"
    assert ConditionFailedError("p").kind == "concurrency"
    e = pickle.loads(pickle.dumps(ObjectNotFoundError("p")))
    assert (e.path, e.kind) == ("p", "object-not-found")


# -- URLs --------------------------------------------------------------------------------


def test_storage_from_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAZIL_BLOCKED_PLUGINS", "frazil-gcs")  # as if it were not installed
    monkeypatch.setattr("frazil.plugins.manager._GLOBAL", None)  # rebuilt, then restored
    local = storage_from_url(f"file://{tmp_path}")
    assert isinstance(local, LocalFileSystemStorage) and local.root == str(tmp_path)
    assert isinstance(storage_from_url(str(tmp_path)), LocalFileSystemStorage)
    assert isinstance(storage_from_url("memory://"), InMemoryStorage)
    # a scheme no installed distribution serves names the one to install
    with pytest.raises(PluginNotFoundError, match="pip install frazil-gcs"):
        storage_from_url("gs://bucket/prefix")


def test_local_repo_backup_is_a_hard_link_of_the_replaced_file(tmp_path: Path) -> None:
    """A repo update backs up the replaced ``repo`` file as a hard link (as icechunk's
    local store copies it), not as a new file with the same bytes."""
    import frazil as ic

    root = tmp_path / "r"
    repo = ic.Repository.create(ic.local_filesystem_storage(str(root)))
    before = os.stat(root / "repo")
    old_bytes = (root / "repo").read_bytes()
    repo.create_branch("dev", repo.lookup_branch("main"))
    backups = list((root / "overwritten").iterdir())
    assert len(backups) == 1
    st = os.stat(backups[0])
    assert st.st_ino == before.st_ino and st.st_nlink == 1  # the old file, now only there
    assert backups[0].read_bytes() == old_bytes
    assert os.stat(root / "repo").st_ino != before.st_ino
    assert len(list(repo.ops_log())) == 2
    repo.create_tag("v1", repo.lookup_branch("main"))  # the directory exists now
    assert len(list((root / "overwritten").iterdir())) == 2


def test_local_put_object_copy_writes_the_bytes_when_the_source_moved_on(
        tmp_path: Path) -> None:
    s = LocalFileSystemStorage(tmp_path / "r")

    async def body() -> None:
        await s.put_object("src", b"one")
        _, v1 = await s.get_object_versioned("src")
        await s.put_object("src", b"two")
        await s.put_object_copy("dst", b"one", source="src", version=v1)

    asyncio.run(body())
    assert (tmp_path / "r" / "dst").read_bytes() == b"one"
    assert os.stat(tmp_path / "r" / "dst").st_ino != os.stat(tmp_path / "r" / "src").st_ino
    assert (tmp_path / "r" / "src").read_bytes() == b"two"


def test_local_reads_to_the_end_where_the_size_is_not_reported() -> None:
    """Local reads use the ``fstat`` size; a file reported as empty (some FUSE and
    network filesystems, a pipe here) is read to its end instead."""
    from frazil.storage._local import _read_all

    r, w = os.pipe()
    os.write(w, b"x" * 50_000)  # within the pipe buffer
    os.close(w)
    try:
        assert os.fstat(r).st_size == 0
        assert _read_all(r, 0) == b"x" * 50_000
    finally:
        os.close(r)


def test_local_small_manifests_are_read_on_the_calling_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Metadata and small manifests are read where the call runs (a pool round trip
    costs more than the read); chunks and large manifests go to the I/O pool."""
    import threading

    from frazil.storage import _local

    s = LocalFileSystemStorage(tmp_path / "r")
    readers: dict[str, str] = {}
    real_read = LocalFileSystemStorage._read

    def read(self: LocalFileSystemStorage, path: str, byte_range: object) -> bytes:
        readers[path] = threading.current_thread().name
        return real_read(self, path, byte_range)

    monkeypatch.setattr(LocalFileSystemStorage, "_read", read)
    monkeypatch.setattr(_local, "_SMALL_MANIFEST", 64)
    here = threading.current_thread().name

    async def body() -> None:
        for path, size in (("repo", 10), ("manifests/small", 64), ("manifests/big", 65),
                           ("chunks/c", 10)):
            await s.put_object(path, bytes(range(size)))
            assert await s.get_object(path) == bytes(range(size))
        with pytest.raises(ObjectNotFoundError):
            await s.get_object("manifests/missing")

    asyncio.run(body())
    assert readers["repo"] == here and readers["manifests/small"] == here
    assert readers["manifests/big"] != here and readers["chunks/c"] != here
    assert readers["manifests/missing"] == here


def test_local_reads_resume_after_short_reads(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A read that returns fewer bytes than asked (a signal, a network filesystem, the
    2 GiB cap of one read) goes on where it stopped, and stops at the end of the file."""
    from frazil.storage import _local

    real = _local._pread
    monkeypatch.setattr(_local, "_pread", lambda fd, n, off: real(fd, min(n, 3), off))
    s = LocalFileSystemStorage(tmp_path / "r")
    data = bytes(range(200)) * 5

    async def body() -> None:
        await s.put_object("manifests/m", data)
        assert await s.get_object("manifests/m") == data
        assert await s.get_object("manifests/m", (10, 17)) == data[10:17]
        assert await s.get_object("manifests/m", (995, 2000)) == data[995:]

    asyncio.run(body())
    fd = os.open(tmp_path / "r" / "manifests" / "m", os.O_RDONLY)
    try:
        assert _local._read_fd(fd, 990, 50) == data[990:]  # past the end: what there is
    finally:
        os.close(fd)
