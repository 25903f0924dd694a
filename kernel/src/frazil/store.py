"""``IcechunkStore``: the zarr v3 ``Store`` over a session.

A thin adapter: zarr keys map to node paths (``a/b/zarr.json``) and chunk
coordinates (``a/b/c/0/1``); all state lives in the session.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype

from frazil._chunkrefs import VirtualBatch
from frazil._refs import normalize_node_path
from frazil._repr import Fields, Mode, ReprMixin, py_bool
from frazil._sync import sync, with_sync_facades
from frazil._virtual import (
    check_location,
    container_prefix,
    may_need_normalizing,
    normalize_location,
)
from frazil.errors import ErrorKind, InvalidInputError, ReadOnlyError
from frazil.format.ids import b32encode
from frazil.format.model import (
    KIND_INLINE,
    KIND_NATIVE,
    KIND_VIRTUAL,
    InlineChunkRef,
    VirtualChunkRef,
)
from frazil.virtual import checksum_fields

if TYPE_CHECKING:
    from frazil.session import Session

__all__ = ["AsyncCloseableIterator", "IcechunkStore"]

# frazil's column kinds (inline 0, native 1, virtual 2) -> icechunk's ChunkType values
_CHUNK_TYPES = np.array([3, 1, 2], np.uint8)


class StoreReadOnlyError(ReadOnlyError, ValueError):
    """A write through a read-only store; also a ``ValueError``, as zarr raises."""

_META = "zarr.json"


def _check_span(offset: int, length: int) -> None:
    if int(offset) < 0 or int(length) < 0 or int(offset) + int(length) >= 2**64:
        raise InvalidInputError(f"invalid virtual chunk offset {offset} / length {length}",
                                ErrorKind.INVALID_BYTE_RANGE)


def _node_path(prefix: str) -> str:
    return normalize_node_path(prefix) if prefix else "/"


_T_co = TypeVar("_T_co", covariant=True)


class AsyncCloseableIterator(AsyncIterator[_T_co]):
    """What listings return, as in icechunk: an async iterator with ``aclose()`` (stop early
    through :func:`contextlib.aclosing`) that a plain ``for`` loop or ``list()`` iterates too.

    Iterated synchronously it takes everything in one trip to frazil's I/O loop (``batch()``
    when given, else the whole ``source``), then hands the items out one by one.
    """

    __slots__ = ("_batch", "_items", "_source")

    def __init__(self, source: AsyncGenerator[_T_co, None],
                 batch: Callable[[], Awaitable[Iterable[_T_co]]] | None = None) -> None:
        self._source = source
        self._batch = batch
        self._items: Iterator[_T_co] | None = None

    def __aiter__(self) -> AsyncCloseableIterator[_T_co]:
        return self

    async def __anext__(self) -> _T_co:
        return await self._source.__anext__()

    async def aclose(self) -> None:
        await self._source.aclose()

    def __iter__(self) -> AsyncCloseableIterator[_T_co]:
        return self

    def __next__(self) -> _T_co:
        if self._items is None:
            self._items = iter(sync(self._take_all()))
        return next(self._items)

    async def _take_all(self) -> list[_T_co]:
        if self._batch is not None:
            await self._source.aclose()
            return list(await self._batch())
        return [item async for item in self._source]


@with_sync_facades
class IcechunkStore(ReprMixin, Store):
    """A zarr store whose reads and writes go through a frazil ``Session``."""

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

    _repr_name = "frazil.IcechunkStore"

    def _repr_fields(self, mode: Mode) -> Fields:
        s = self._session
        return [("read_only", py_bool(s.read_only)), ("snapshot_id", s.snapshot_id),
                ("branch", str(s.branch))]

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
        return await self._session.get_chunk_async(path, coords,
                                                   self._range(byte_range, size))

    async def _chunk_size(self, path: str, coords: tuple[int, ...]) -> int | None:
        ref = await self._session.get_chunk_ref_async(path, coords)
        if ref is None:
            return None
        return len(ref.data) if isinstance(ref, InlineChunkRef) else ref.length

    async def get(self, key: str, prototype: BufferPrototype,
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
        return await self._session.get_chunk_ref_async(path, coords) is not None

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
        await self._session.set_chunk_async(path, coords, data)

    # ------------------------------------------------------- virtual refs
    def _container_prefixes(self) -> tuple[str, ...]:
        return tuple(self._session.config._container_prefixes)

    def _in_container(self, location: str, prefixes: tuple[str, ...] | None = None) -> bool:
        """Whether ``location``, normalized as it will be read, lies in a container."""
        prefixes = self._container_prefixes() if prefixes is None else prefixes
        try:
            return container_prefix(prefixes, normalize_location(location)) is not None
        except InvalidInputError:  # an empty segment: no container can address it
            return False

    def _no_container(self, location: str) -> InvalidInputError:
        return InvalidInputError(f"invalid chunk location, no matching virtual chunk "
                                 f"container: `{location}`",
                                 ErrorKind.NO_CONTAINER_FOR_VIRTUAL_CHUNK)

    async def set_virtual_ref_async(self, key: str, location: str, *, offset: int, length: int,
                                    checksum: Any = None,
                                    validate_container: bool = True) -> None:
        """Store a virtual reference to ``length`` bytes at ``offset`` of ``location``."""
        self._check_writable()
        if validate_container and not self._in_container(location):
            raise self._no_container(location)
        check_location(location)
        kind, path, coords = self._parse(key)
        if kind != "chunk" or coords is None:
            raise InvalidInputError(f"{key!r} is not a chunk key", ErrorKind.INVALID_KEY)
        etag, lm = checksum_fields(checksum)
        _check_span(offset, length)
        self._session.set_chunk_ref(path, coords,
                                    VirtualChunkRef(location, int(offset), int(length), etag, lm))

    async def set_virtual_refs_async(self, array_path: str, chunks: list[Any], *,
                                     validate_containers: bool = True
                                     ) -> list[tuple[int, ...]] | None:
        """Store many virtual refs of one array; the indices refused for lack of a
        container are skipped and returned (``None`` if there are none)."""
        self._check_writable()
        path = normalize_node_path(array_path)
        prefixes = self._container_prefixes() or ("\0",)
        failed: list[tuple[int, ...]] = []
        for spec in chunks:
            coords = tuple(int(i) for i in spec.index)
            check_location(spec.location)
            if validate_containers and not self._in_container(spec.location, prefixes):
                failed.append(coords)
                continue
            if spec.etag_checksum is not None:
                etag, lm = spec.etag_checksum, 0
            else:
                etag, lm = checksum_fields(spec.last_updated_at_checksum)
            _check_span(spec.offset, spec.length)
            self._session.set_chunk_ref(path, coords, VirtualChunkRef(
                spec.location, int(spec.offset), int(spec.length), etag, lm))
        return failed or None

    async def set_virtual_refs_arr_async(self, array_path: str, chunk_grid_shape: Any,
                                         locations: list[str], offsets: Any, lengths: Any, *,
                                         validate_containers: bool = True,
                                         arr_offset: Any = None, checksum: Any = None
                                         ) -> list[tuple[int, ...]] | None:
        """Store virtual refs for a C-ordered block of the chunk grid from flat columns.

        ``locations[i]``, ``offsets[i]``, ``lengths[i]`` describe the chunk at
        ``arr_offset + unravel(i, chunk_grid_shape)``; empty locations are
        skipped. Kept columnar until commit (no Python object per ref).
        """
        self._check_writable()
        path = normalize_node_path(array_path)
        node = self._session.array_node(path)
        assert node.array is not None
        shape = tuple(int(x) for x in chunk_grid_shape)
        ndim = len(node.array.shape)
        off = (0,) * ndim if arr_offset is None else tuple(int(x) for x in arr_offset)
        if len(shape) != ndim or len(off) != ndim or any(x < 0 for x in shape + off):
            raise InvalidInputError(f"chunk_grid_shape {list(shape)} / arr_offset {list(off)} "
                                    f"do not match the {ndim}-d array {path}",
                                    ErrorKind.INVALID_CHUNK_INDEX)
        n = int(np.prod(shape, dtype=np.int64)) if shape else 1
        offs = np.ascontiguousarray(offsets, dtype=np.uint64).ravel()
        lens = np.ascontiguousarray(lengths, dtype=np.uint64).ravel()
        if not isinstance(locations, list):
            locations = list(locations)
        if not (len(locations) == len(offs) == len(lens) == n):
            raise InvalidInputError(f"set_virtual_refs_arr: {len(locations)} locations, "
                                    f"{len(offs)} offsets and {len(lens)} lengths for a chunk "
                                    f"grid of {n} chunks")
        grid = [max(m, 1) for _, m in node.array.shape]
        if n and any(o + s > g for o, s, g in zip(off, shape, grid, strict=True)):
            raise InvalidInputError(f"chunk block {list(off)} + {list(shape)} is outside the "
                                    f"chunk grid {grid} of {path}", ErrorKind.INVALID_CHUNK_INDEX)
        etag, lm = checksum_fields(checksum)
        valid = np.fromiter(map(bool, locations), bool, n)
        failed_rows = None
        if validate_containers:
            prefixes = self._container_prefixes() or ("\0",)
            bounded = tuple(p if p.endswith("/") else p + "/" for p in prefixes)
            # fast path for the usual clean URL under a container; the rest normalized
            ok = np.fromiter((bool(loc) and ((loc.startswith(bounded)
                                              and not may_need_normalizing(loc))
                                             or self._in_container(loc, prefixes))
                              for loc in locations), bool, n)
            bad = valid & ~ok
            if bad.any():
                failed_rows = np.flatnonzero(bad)
                valid &= ok
        else:
            bad_url = [loc for loc in locations if loc and "://" not in loc]
            if bad_url:
                check_location(bad_url[0])
        batch = VirtualBatch(shape, off, list(locations), offs, lens, valid, etag, lm)
        self._session.set_virtual_batch(path, batch)
        if failed_rows is None:
            return None
        idx = np.unravel_index(failed_rows, shape) if shape else ()
        cols = [(c + o).tolist() for c, o in zip(idx, off, strict=True)]
        return [tuple(t) for t in zip(*cols, strict=True)] if cols else [()] * len(failed_rows)

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
        if await self._session.get_chunk_ref_async(path, coords) is not None:
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
        raise NotImplementedError("frazil stores do not support partial writes")

    async def array_chunk_iterator(self, array_path: str, batch_size: int = 100_000
                                   ) -> AsyncIterator[tuple[Any, ...]]:
        """Columnar batches of an array's chunk refs (icechunk's ``array_chunk_iterator``).

        Each batch is ``(coords, kinds, paths, offsets, lengths, inlined)``: a
        ``(n, ndim)`` uint32 array of chunk coordinates; ``ChunkType`` values
        (native 1, virtual 2, inline 3) as uint8; per row the virtual URL, the
        native chunk id or ``""``; uint64 offsets and lengths; and the bytes of
        inline rows keyed by row index. Missing chunks are not yielded.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
        refs = await self._session.array_refs_async(array_path)
        kinds = _CHUNK_TYPES[refs.kinds]
        for start in range(0, len(refs), batch_size):
            rows = slice(start, min(start + batch_size, len(refs)))
            k = refs.kinds[rows]
            paths = [""] * len(k)
            lengths = refs.lengths[rows].copy()
            inlined: dict[int, bytes] = {}
            for i in np.flatnonzero(k == KIND_VIRTUAL).tolist():
                paths[i] = refs.locations[start + i]  # type: ignore[call-overload]
            for i in np.flatnonzero(k == KIND_NATIVE).tolist():
                paths[i] = b32encode(refs.chunk_ids[start + i].tobytes())
            for i in np.flatnonzero(k == KIND_INLINE).tolist():
                data = refs.inline[start + i] or b""
                inlined[i] = data
                lengths[i] = len(data)
            offsets = np.where(k == KIND_INLINE, 0, refs.offsets[rows]).astype(np.uint64)
            yield refs.coords[rows], kinds[rows], paths, offsets, lengths, inlined

    async def clear(self) -> None:
        self._check_writable()
        for node in self._session.list_nodes():
            if self._session.get_node(node.path) is not None:
                self._session.delete_node(node.path)

    def sync_clear(self) -> None:
        """Remove every group and array of the session (history is not touched)."""
        sync(self.clear())

    # ------------------------------------------------------------- listing
    async def _all_keys(self, prefix: str = "") -> list[str]:
        """Every key, or those of the nodes that can have keys under ``prefix``."""
        keys: list[str] = []
        for node in self._session.list_nodes():
            base = node.path.strip("/")
            root = base + "/" if base else ""  # every key of this node starts with it
            if prefix and not (prefix.startswith(root) or root.startswith(prefix)):
                continue  # no key of this node can start with prefix: skip its chunks
            keys.append(f"{base}/{_META}" if base else _META)
            if node.array is not None:
                chunk_root = f"{base}/c" if base else "c"
                for coords in await self._session.chunk_coordinates_async(node.path):
                    keys.append("/".join([chunk_root, *map(str, coords)]))
        return keys

    def list(self) -> AsyncCloseableIterator[str]:
        return AsyncCloseableIterator(self._list())

    def list_prefix(self, prefix: str) -> AsyncCloseableIterator[str]:
        return AsyncCloseableIterator(self._list_prefix(prefix))

    def list_dir(self, prefix: str) -> AsyncCloseableIterator[str]:
        return AsyncCloseableIterator(self._list_dir(prefix))

    async def _list(self) -> AsyncGenerator[str, None]:
        for k in await self._all_keys():
            yield k

    async def _list_prefix(self, prefix: str) -> AsyncGenerator[str, None]:
        for k in await self._all_keys(prefix):
            if k.startswith(prefix):
                yield k

    async def _list_dir(self, prefix: str) -> AsyncGenerator[str, None]:
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
                    name = k[len(start):].split("/", 1)[0]
                    if name and name not in seen:
                        seen.add(name)
                        yield name
            return
        yield _META
        if node.array is not None and await self._session.chunk_coordinates_async(node.path):
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
        # the session decides: read-only sessions and forks pickle, writable ones refuse
        return {"session": self._session, "read_only": self._read_only}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["session"], read_only=state["read_only"])  # type: ignore[misc]
        if self._session._store is None:
            self._session._store = self  # writes through either object reach one session
