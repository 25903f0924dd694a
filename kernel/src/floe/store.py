"""``IcechunkStore``: the zarr v3 ``Store`` over a session.

A thin adapter: zarr keys map to node paths (``a/b/zarr.json``) and chunk
coordinates (``a/b/c/0/1``); all state lives in the session.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype

from floe._errors import ErrorKind, InvalidInputError, ReadOnlyError
from floe._refs import normalize_node_path

if TYPE_CHECKING:
    from floe.session import Session

__all__ = ["IcechunkStore"]


class StoreReadOnlyError(ReadOnlyError, ValueError):
    """A write through a read-only store; also a ``ValueError``, as zarr raises."""

_META = "zarr.json"


def _node_path(prefix: str) -> str:
    return normalize_node_path(prefix) if prefix else "/"


class IcechunkStore(Store):
    """A zarr store whose reads and writes go through a floe ``Session``."""

    supports_writes = True
    supports_deletes = True
    supports_partial_writes = False
    supports_listing = True
    supports_consolidated_metadata = False

    def __init__(self, session: Session, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self._session = session

    @property
    def session(self) -> Session:
        return self._session

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IcechunkStore) and other._session is self._session

    def __repr__(self) -> str:
        return f"<floe.IcechunkStore session={self._session!r}>"

    def with_read_only(self, read_only: bool = False) -> IcechunkStore:
        if not read_only and self._session.read_only:
            raise ReadOnlyError("cannot make a writable store on a read-only session",
                                ErrorKind.READ_ONLY_STORE)
        return IcechunkStore(self._session, read_only=read_only)

    def _check_writable(self) -> None:
        if self.read_only or self._session.read_only:
            raise StoreReadOnlyError("store was opened in read-only mode and does not support "
                                     "writing", ErrorKind.READ_ONLY_STORE)

    # --------------------------------------------------------- key parsing
    def _parse(self, key: str) -> tuple[str, str, tuple[int, ...] | None]:
        """``("meta", path, None)`` or ``("chunk", array_path, coords)``.

        Raises ``InvalidInputError`` for keys that are neither.
        """
        if key == _META:
            return "meta", "/", None
        if key.endswith("/" + _META):
            return "meta", _node_path(key[: -len(_META) - 1]), None
        parts = key.split("/")
        # the chunk separator is the last "c" segment whose prefix is an array
        for i in range(len(parts) - 1, -1, -1):
            if parts[i] != "c":
                continue
            path = _node_path("/".join(parts[:i]))
            node = self._session.get_node(path)
            if node is None or node.array is None:
                continue
            try:
                coords = tuple(int(p) for p in parts[i + 1:])
            except ValueError:
                break
            if len(coords) != len(node.array.shape) or any(c < 0 for c in coords):
                break
            return "chunk", path, coords
        raise InvalidInputError(f"invalid zarr key {key!r}", ErrorKind.INVALID_KEY)

    @staticmethod
    def _range(byte_range: ByteRequest | None, size: int | None) -> tuple[int, int | None] | None:
        if byte_range is None:
            return None
        if isinstance(byte_range, RangeByteRequest):
            if byte_range.start < 0 or byte_range.end < byte_range.start:
                raise InvalidInputError(f"invalid byte range {byte_range}",
                                        ErrorKind.INVALID_BYTE_RANGE)
            return byte_range.start, byte_range.end
        if isinstance(byte_range, OffsetByteRequest):
            return byte_range.offset, None
        if isinstance(byte_range, SuffixByteRequest):
            assert size is not None
            return max(size - byte_range.suffix, 0), None
        raise InvalidInputError(f"Unexpected byte_range, got {byte_range!r}",
                                ErrorKind.INVALID_BYTE_RANGE)

    # ---------------------------------------------------------------- read
    async def _get_bytes(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        try:
            kind, path, coords = self._parse(key)
        except InvalidInputError:
            return None
        if kind == "meta":
            node = self._session.get_node(path)
            if node is None:
                return None
            data = node.user_data
            r = self._range(byte_range, len(data))
            return data if r is None else data[r[0]:r[1]]
        assert coords is not None
        size = None
        if isinstance(byte_range, SuffixByteRequest):
            size = await self._chunk_size(path, coords)
            if size is None:
                return None
        return await self._session.get_chunk(path, coords, self._range(byte_range, size))

    async def _chunk_size(self, path: str, coords: tuple[int, ...]) -> int | None:
        ref = await self._session.get_chunk_ref(path, coords)
        if ref is None:
            return None
        return len(ref[1]) if ref[0] == "i" else int(ref[3] if ref[0] == "n" else ref[3])

    async def get(self, key: str, prototype: BufferPrototype | None = None,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        data = await self._get_bytes(key, byte_range)
        if data is None:
            return None
        proto = prototype or default_buffer_prototype()
        return proto.buffer.from_bytes(data)

    async def get_partial_values(self, prototype: BufferPrototype,
                                 key_ranges: Iterable[tuple[str, ByteRequest | None]]
                                 ) -> list[Buffer | None]:
        return list(await asyncio.gather(*(self.get(k, prototype, r) for k, r in key_ranges)))

    async def exists(self, key: str) -> bool:
        try:
            kind, path, coords = self._parse(key)
        except InvalidInputError:
            return False
        if kind == "meta":
            return self._session.get_node(path) is not None
        assert coords is not None
        return await self._session.get_chunk_ref(path, coords) is not None

    async def getsize(self, key: str) -> int:
        kind, path, coords = self._parse(key)
        if kind == "meta":
            node = self._session.get_node(path)
            if node is None:
                raise FileNotFoundError(key)
            return len(node.user_data)
        assert coords is not None
        size = await self._chunk_size(path, coords)
        if size is None:
            raise FileNotFoundError(key)
        return size

    async def getsize_prefix(self, prefix: str) -> int:
        sizes = [await self.getsize(k) async for k in self.list_prefix(prefix)]
        return sum(sizes)

    # --------------------------------------------------------------- write
    async def set(self, key: str, value: Buffer) -> None:
        self._check_writable()
        data = value.to_bytes()
        if key == _META or key.endswith("/" + _META):
            kind, path = "meta", _node_path(key[: -len(_META)].rstrip("/"))
            self._session.set_node_metadata(path, data)
            return
        kind, path, coords = self._parse(key)
        assert coords is not None
        await self._session.set_chunk(path, coords, data)

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        # Sessions are single-writer in-process state: check-then-set is atomic
        # with respect to other coroutines because there is no await in between
        # for metadata, and chunk lookups are resolved before the write.
        if not await self.exists(key):
            await self.set(key, value)

    async def delete(self, key: str) -> None:
        self._check_writable()
        try:
            kind, path, coords = self._parse(key)
        except InvalidInputError:
            return
        if kind == "meta":
            if self._session.get_node(path) is not None:
                self._session.delete_node(path)
            return
        assert coords is not None
        if await self._session.get_chunk_ref(path, coords) is not None:
            self._session.delete_chunk(path, coords)

    async def delete_dir(self, prefix: str) -> None:
        self._check_writable()
        prefix = prefix.rstrip("/")
        try:
            path = _node_path(prefix)
        except InvalidInputError:
            return
        if self._session.get_node(path) is not None:
            self._session.delete_node(path)
            return
        keys = [k async for k in self.list_prefix(prefix + "/" if prefix else "")]
        for k in keys:
            await self.delete(k)

    async def set_partial_values(self, key_start_values: Any) -> None:
        raise NotImplementedError("floe stores do not support partial writes")

    async def clear(self) -> None:
        self._check_writable()
        for node in self._session.list_nodes():
            if self._session.get_node(node.path) is not None:
                self._session.delete_node(node.path)

    # ------------------------------------------------------------- listing
    async def _all_keys(self) -> list[str]:
        keys: list[str] = []
        for node in self._session.list_nodes():
            base = node.path.strip("/")
            keys.append(f"{base}/{_META}" if base else _META)
            if node.array is not None:
                prefix = f"{base}/c" if base else "c"
                for coords in await self._session.chunk_coords(node.path):
                    keys.append("/".join([prefix, *map(str, coords)]))
        return keys

    async def list(self) -> AsyncIterator[str]:
        for k in await self._all_keys():
            yield k

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        for k in await self._all_keys():
            if k.startswith(prefix):
                yield k

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        prefix = prefix.strip("/")
        try:
            path = _node_path(prefix)
        except InvalidInputError:
            path = None
        node = None if path is None else self._session.get_node(path)
        if node is None:
            # inside an array's chunk space ("a/c", "a/c/0") or nothing at all
            start = prefix + "/" if prefix else ""
            seen: set[str] = set()
            for k in await self._all_keys():
                if k.startswith(start):
                    child = k[len(start):].split("/", 1)[0]
                    if child and child not in seen:
                        seen.add(child)
                        yield child
            return
        yield _META
        if node.array is not None and await self._session.chunk_coords(node.path):
            yield "c"
        depth = 0 if node.path == "/" else node.path.count("/")
        for child in self._session.list_nodes():
            if child.path.count("/") == depth + 1 and child.path != "/" and (
                    node.path == "/" or child.path.startswith(node.path + "/")):
                yield child.path.rsplit("/", 1)[1]

    async def is_empty(self, prefix: str) -> bool:
        async for _ in self.list_prefix(prefix):
            return False
        return True

    # ------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("floe stores cannot be pickled yet")
