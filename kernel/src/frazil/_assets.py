"""Typed access to a repository's objects on a ``Storage``, with caching.

Knows the file layout (``repo``, ``snapshots/``, ``manifests/``,
``transactions/``, ``chunks/``, ``overwritten/``) and turns missing or
corrupt objects into the right frazil errors. Immutable objects (snapshots,
manifests, transaction logs) are cached by id.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict
from typing import Any

from frazil.errors import ErrorKind, FormatError, RepositoryNotFoundError, SnapshotNotFoundError
from frazil.format import _v1, codec
from frazil.format.header import ZSTD_LEVEL
from frazil.format.ids import ObjectId, b32encode
from frazil.format.model import Manifest, RepoInfo, Snapshot, TransactionLog
from frazil.storage import ObjectNotFoundError, Storage

REPO_PATH = "repo"
SNAPSHOTS = "snapshots/"
MANIFESTS = "manifests/"
TRANSACTIONS = "transactions/"
CHUNKS = "chunks/"
OVERWRITTEN = "overwritten/"

# ms timestamp of 3000-01-01T00:00:00Z: backups sort newest first when listed.
_Y3000_MS = 32503680000000


def backup_path() -> str:
    stamp = _Y3000_MS - int(time.time() * 1000)
    return f"{OVERWRITTEN}repo.{stamp}.{b32encode(os.urandom(12))}"


class _LRU:
    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        v = self._data.get(key)
        if v is not None:
            self._data.move_to_end(key)
        return v

    def put(self, key: Any, value: Any) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)


# Decoded repo info files, shared by every handle of the process and keyed by the
# file's bytes: a new handle on an unchanged repository reads the file (always,
# for consistency) but does not decode it again.
_DECODED_REPO_INFO = _LRU(16)


def _remembered(data: bytes) -> RepoInfo | None:
    hit = _DECODED_REPO_INFO.get((len(data), hash(data)))
    return hit[1] if hit is not None and hit[0] == data else None


def remember_repo_info(data: bytes, info: RepoInfo) -> None:
    """Record that ``data`` decodes to ``info`` (callers treat ``info`` as immutable)."""
    _DECODED_REPO_INFO.put((len(data), hash(data)), (data, info))


def compression_level(config: Any) -> int:
    """The zstd level metadata files are written with: ``config.compression.level`` (a
    ``RepositoryConfig``, or None), else icechunk's default, 3."""
    compression = None if config is None else config.compression
    level = None if compression is None else compression.level
    return ZSTD_LEVEL if level is None else int(level)


class AssetManager:
    """Reads and writes the metadata files and chunks of one repository."""

    def __init__(self, storage: Storage, spec_version: int = 2,
                 compression_level: int = ZSTD_LEVEL) -> None:
        self.storage = storage
        #: the encoding of the files written (1: a spec-v1 repository); both are read
        self.spec_version = spec_version
        #: zstd level of the metadata files written (the config's ``compression.level``)
        self.compression_level = compression_level
        self._snapshots = _LRU(64)
        self._manifests = _LRU(256)
        self._txlogs = _LRU(64)
        self._repo_info: tuple[bytes, RepoInfo] | None = None

    # ------------------------------------------------------------ repo info
    async def fetch_repo_info(self) -> tuple[RepoInfo, Any, bytes]:
        """The current repo info, its version token and its raw bytes."""
        try:
            data, token = await self.storage.get_object_versioned(REPO_PATH)
        except ObjectNotFoundError:
            raise RepositoryNotFoundError(
                f"no Icechunk repository at {self.storage._label()} (no 'repo' object)") from None
        # the repo file changes rarely between two reads: decode a new version only.
        # Callers treat the result as immutable (updates work on _copy_info copies).
        cached = self._repo_info
        if cached is not None and cached[0] == data:
            return cached[1], token, data
        info = _remembered(data)
        if info is None:
            info = codec.decode_repo_info(data, "repo")
            remember_repo_info(data, info)
        self._repo_info = (data, info)
        return info, token, data

    async def repo_exists(self) -> bool:
        return await self.storage.exists(REPO_PATH)

    async def fetch_object(self, path: str, what: str) -> bytes:
        """The raw bytes of a metadata object that must exist (``FormatError`` if not)."""
        try:
            return await self.storage.get_object(path)
        except ObjectNotFoundError:
            raise FormatError(f"{what} is referenced but missing ({path})",
                              ErrorKind.DESERIALIZATION) from None

    async def _fetch_cached(self, cache: _LRU, oid: ObjectId, path: str,
                            decode: Any, what: str, missing: Any) -> Any:
        """Decoded immutable object ``path`` (cached by id); ``missing()`` builds the error."""
        obj = cache.get(oid)
        if obj is None:
            try:
                data = await self.storage.get_object(path)
            except ObjectNotFoundError:
                raise missing() from None
            obj = decode(data, what)
            cache.put(oid, obj)
        return obj

    # ------------------------------------------------------------- snapshots
    async def fetch_snapshot(self, sid: ObjectId) -> Snapshot:
        path = SNAPSHOTS + str(sid)
        return await self._fetch_cached(  # type: ignore[no-any-return]
            self._snapshots, sid, path, _v1.decode_snapshot, f"snapshot {sid}",
            lambda: SnapshotNotFoundError(f"snapshot {sid} not found (missing {path})"))

    async def write_snapshot(self, snap: Snapshot) -> None:
        level = self.compression_level
        data = (_v1.encode_snapshot_v1(snap, level) if self.spec_version == 1
                else codec.encode_snapshot(snap, level))
        await self.storage.put_object(SNAPSHOTS + str(snap.id), data)
        self._snapshots.put(snap.id, snap)

    # ------------------------------------------------------------- manifests
    async def fetch_manifest(self, mid: ObjectId) -> Manifest:
        path = MANIFESTS + str(mid)
        return await self._fetch_cached(  # type: ignore[no-any-return]
            self._manifests, mid, path, codec.decode_manifest, f"manifest {mid}",
            lambda: FormatError(f"manifest {mid} is referenced but missing ({path})",
                                ErrorKind.DESERIALIZATION))

    async def write_manifest(self, man: Manifest, data: bytes | None = None) -> int:
        if data is None:
            data = codec.encode_manifest(man, level=self.compression_level)
        if self.spec_version == 1:
            data = _v1.with_spec_version(data, 1)
        await self.storage.put_object(MANIFESTS + str(man.id), data)
        self._manifests.put(man.id, man)
        return len(data)

    # ------------------------------------------------------ transaction logs
    async def fetch_transaction_log(self, sid: ObjectId) -> TransactionLog:
        path = TRANSACTIONS + str(sid)
        return await self._fetch_cached(  # type: ignore[no-any-return]
            self._txlogs, sid, path, codec.decode_transaction_log, f"transaction log {sid}",
            lambda: SnapshotNotFoundError(
                f"transaction log of snapshot {sid} not found ({path})"))

    async def write_transaction_log(self, tx: TransactionLog) -> None:
        data = codec.encode_transaction_log(tx, self.compression_level)
        if self.spec_version == 1:
            data = _v1.with_spec_version(data, 1)
        await self.storage.put_object(TRANSACTIONS + str(tx.id), data)
        self._txlogs.put(tx.id, tx)

    # ---------------------------------------------------------------- chunks
    async def fetch_chunk(self, cid: ObjectId, byte_range: tuple[int, int | None] | None) -> bytes:
        path = CHUNKS + str(cid)
        try:
            return await self.storage.get_object(path, byte_range)
        except ObjectNotFoundError:
            raise FormatError(f"chunk {cid} is referenced but missing ({path})",
                              ErrorKind.CHUNK_NOT_FOUND) from None

    async def write_chunk(self, cid: ObjectId, data: bytes) -> None:
        await self.storage.put_object(CHUNKS + str(cid), data)

    async def write_chunks(self, items: list[tuple[ObjectId, bytes]]) -> None:
        """Write many chunks concurrently (the storage bounds the concurrency)."""
        await asyncio.gather(*(self.write_chunk(cid, data) for cid, data in items))
