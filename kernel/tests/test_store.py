"""zarr's own ``StoreTests`` against ``IcechunkStore``.

An Icechunk store holds a Zarr hierarchy, not arbitrary keys: a chunk key
is only valid under an array that exists. The tests below that zarr writes
with free-form keys are re-stated with real hierarchy keys; everything else
runs unchanged from zarr.
"""

from __future__ import annotations

import pickle
from typing import Any

import frazil as ic
import pytest
from frazil.store import IcechunkStore
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import cpu, default_buffer_prototype
from zarr.testing.store import StoreTests

GROUP = b'{"zarr_format":3,"node_type":"group","attributes":{}}'


def array_meta(shape: tuple[int, ...], chunks: tuple[int, ...]) -> bytes:
    import json

    return json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": list(shape), "data_type": "uint8",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0, "codecs": [{"name": "bytes"}], "attributes": {},
    }).encode()


class TestIcechunkStore(StoreTests[IcechunkStore, cpu.Buffer]):
    store_cls = IcechunkStore
    buffer_cls = cpu.Buffer

    async def set(self, store: IcechunkStore, key: str, value: Any) -> None:
        # bypass the store: write through the session directly
        s = store.session
        if key.endswith("zarr.json"):
            path = "/" + key[: -len("zarr.json")].strip("/")
            s.set_node_metadata(path if path != "/" else "/", value.to_bytes())
        else:
            kind, path, coords = store._parse(key)
            await s.set_chunk_async(path, coords, value.to_bytes())

    async def get(self, store: IcechunkStore, key: str) -> Any:
        s = store.session
        if key.endswith("zarr.json"):
            path = "/" + key[: -len("zarr.json")].strip("/")
            node = s.get_node(path if path != "/" else "/")
            return None if node is None else self.buffer_cls.from_bytes(node.user_data)
        kind, path, coords = store._parse(key)
        data = await s.get_chunk_async(path, coords)
        return None if data is None else self.buffer_cls.from_bytes(data)

    @pytest.fixture(params=[2, 1], ids=["spec2", "spec1"])
    def store_kwargs(self, request: pytest.FixtureRequest) -> dict[str, Any]:
        repo = ic.Repository.create(ic.in_memory_storage(), spec_version=request.param)
        return {"session": repo.writable_session("main"), "read_only": False}

    def test_store_repr(self, store: IcechunkStore) -> None:
        assert "IcechunkStore" in repr(store)

    def test_store_supports_writes(self, store: IcechunkStore) -> None:
        assert store.supports_writes

    def test_store_supports_listing(self, store: IcechunkStore) -> None:
        assert store.supports_listing

    async def test_serializable_store(self, store: IcechunkStore, tmp_path: Any) -> None:
        # icechunk's rule: a writable store refuses to pickle (its changes would be lost or
        # committed twice); a read-only one travels and reads the same bytes
        with pytest.raises(ValueError, match="cannot be pickled"):
            pickle.dumps(store)
        repo = ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / "r")))
        writer = repo.writable_session("main").store
        await writer.set("a/zarr.json", self.buffer_cls.from_bytes(array_meta((4,), (4,))))
        await writer.set("a/c/0", self.buffer_cls.from_bytes(b"\x01\x02\x03\x04"))
        snap = await writer.session.commit_async("for pickling")
        ro = repo.readonly_session(snapshot_id=snap).store
        again = pickle.loads(pickle.dumps(ro))
        got = await again.get("a/c/0", prototype=default_buffer_prototype())
        assert got is not None and got.to_bytes() == b"\x01\x02\x03\x04"

    # --- re-stated with hierarchy keys ----------------------------------
    @pytest.mark.parametrize("byte_range", [None, RangeByteRequest(1, 4),
                                            OffsetByteRequest(1), SuffixByteRequest(1)])
    async def test_get(self, store: IcechunkStore, byte_range: Any) -> None:  # type: ignore[override]
        await self.set(store, "a/zarr.json", self.buffer_cls.from_bytes(array_meta((4,), (4,))))
        data = b"\x01\x02\x03\x04"
        await self.set(store, "a/c/0", self.buffer_cls.from_bytes(data))
        got = await store.get("a/c/0", prototype=default_buffer_prototype(),
                              byte_range=byte_range)
        expected = {None: data, RangeByteRequest(1, 4): data[1:4], OffsetByteRequest(1): data[1:],
                    SuffixByteRequest(1): data[-1:]}[byte_range]
        assert got is not None and got.to_bytes() == expected

    async def test_get_many(self, store: IcechunkStore) -> None:
        await store.set("a/zarr.json", self.buffer_cls.from_bytes(array_meta((8,), (1,))))
        vals = {f"a/c/{i}": bytes([i]) for i in range(8)}
        for k, v in vals.items():
            await self.set(store, k, self.buffer_cls.from_bytes(v))
        got = await store._get_many_ordered([(k, default_buffer_prototype(), None) for k in vals]) \
            if hasattr(store, "_get_many_ordered") else \
            [await store.get(k, default_buffer_prototype()) for k in vals]
        assert [g.to_bytes() for g in got] == list(vals.values())

    async def test_getsize(self, store: IcechunkStore) -> None:  # type: ignore[override]
        await store.set("zarr.json", self.buffer_cls.from_bytes(GROUP))
        assert await store.getsize("zarr.json") == len(GROUP)
        with pytest.raises(FileNotFoundError):
            await store.getsize("nope/zarr.json")

    async def test_getsize_prefix(self, store: IcechunkStore) -> None:
        meta = array_meta((4,), (2,))
        await store.set("a/zarr.json", self.buffer_cls.from_bytes(meta))
        await store.set("a/c/0", self.buffer_cls.from_bytes(b"xy"))
        await store.set("a/c/1", self.buffer_cls.from_bytes(b"z"))
        assert await store.getsize_prefix("a") == len(meta) + 3

    async def test_getsize_raises(self, store: IcechunkStore) -> None:
        with pytest.raises(FileNotFoundError):
            await store.getsize("not/zarr.json")

    async def test_set(self, store: IcechunkStore) -> None:  # type: ignore[override]
        await store.set("zarr.json", self.buffer_cls.from_bytes(GROUP))
        assert (await self.get(store, "zarr.json")).to_bytes() == GROUP

    async def test_set_many(self, store: IcechunkStore) -> None:
        await store.set("a/zarr.json", self.buffer_cls.from_bytes(array_meta((3,), (1,))))
        for i in range(3):
            await store.set(f"a/c/{i}", self.buffer_cls.from_bytes(bytes([i])))
        for i in range(3):
            assert (await self.get(store, f"a/c/{i}")).to_bytes() == bytes([i])

    async def test_get_partial_values(self, store: IcechunkStore) -> None:  # type: ignore[override]
        await self.set(store, "zarr.json", self.buffer_cls.from_bytes(GROUP))
        got = await store.get_partial_values(default_buffer_prototype(), [
            ("zarr.json", RangeByteRequest(0, 5)), ("zarr.json", SuffixByteRequest(5)),
            ("zarr.json", OffsetByteRequest(10)), ("missing/zarr.json", None)])
        assert got[0].to_bytes() == GROUP[:5]
        assert got[1].to_bytes() == GROUP[-5:]
        assert got[2].to_bytes() == GROUP[10:]
        assert got[3] is None

    async def test_exists(self, store: IcechunkStore) -> None:
        assert not await store.exists("foo/zarr.json")
        await store.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
        assert await store.exists("foo/zarr.json")
        assert not await store.exists("foo/c/0")

    async def test_delete(self, store: IcechunkStore) -> None:
        await store.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
        await store.delete("foo/zarr.json")
        assert not await store.exists("foo/zarr.json")

    async def test_delete_dir(self, store: IcechunkStore) -> None:
        await store.set("zarr.json", self.buffer_cls.from_bytes(GROUP))
        await store.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
        await store.set("foo/a/zarr.json", self.buffer_cls.from_bytes(array_meta((2,), (1,))))
        await store.set("foo/a/c/0", self.buffer_cls.from_bytes(b"1"))
        await store.set("bar/zarr.json", self.buffer_cls.from_bytes(GROUP))
        await store.delete_dir("foo")
        keys = sorted([k async for k in store.list()])
        assert keys == ["bar/zarr.json", "zarr.json"]

    async def test_is_empty(self, store: IcechunkStore) -> None:
        assert await store.is_empty("")
        assert await store.is_empty("foo/")
        await store.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
        assert not await store.is_empty("foo/")
        assert await store.is_empty("bar")

    async def _array(self, store: IcechunkStore) -> None:
        await self.set(store, "a/zarr.json", self.buffer_cls.from_bytes(array_meta((4,), (1,))))

    async def test_get_not_open(self, store_not_open: IcechunkStore) -> None:
        assert not store_not_open._is_open
        await self._array(store_not_open)
        await self.set(store_not_open, "a/c/0", self.buffer_cls.from_bytes(b"\x01\x02"))
        got = await store_not_open.get("a/c/0", prototype=default_buffer_prototype())
        assert got.to_bytes() == b"\x01\x02"

    async def test_set_not_open(self, store_not_open: IcechunkStore) -> None:
        assert not store_not_open._is_open
        await self._array(store_not_open)
        await store_not_open.set("a/c/1", self.buffer_cls.from_bytes(b"\x03"))
        assert (await self.get(store_not_open, "a/c/1")).to_bytes() == b"\x03"

    async def test_get_raises(self, store: IcechunkStore) -> None:
        await self._array(store)
        await self.set(store, "a/c/0", self.buffer_cls.from_bytes(b"\x01\x02\x03\x04"))
        with pytest.raises((ValueError, TypeError), match=r"Unexpected byte_range, got.*"):
            await store.get("a/c/0", prototype=default_buffer_prototype(), byte_range=(0, 2))

    async def test_with_read_only_store(self, open_kwargs: dict[str, Any]) -> None:
        store = await self.store_cls.open(**{**open_kwargs, "read_only": True})
        msg = "store was opened in read-only mode and does not support writing"
        with pytest.raises(ValueError, match=msg):
            await store.set("zarr.json", self.buffer_cls.from_bytes(GROUP))
        writer = store.with_read_only(read_only=False)
        assert not writer._is_open and not writer.read_only
        await writer.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
        await writer.delete("foo/zarr.json")
        reader = store.with_read_only(read_only=True)
        for s in (store, reader):
            with pytest.raises(ValueError, match=msg):
                await s.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
            with pytest.raises(ValueError, match=msg):
                await s.delete("foo/zarr.json")

    async def test_clear(self, store: IcechunkStore) -> None:
        await store.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
        await store.clear()
        assert [k async for k in store.list()] == []

    async def test_list(self, store: IcechunkStore) -> None:
        await store.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
        await store.set("foo/a/zarr.json", self.buffer_cls.from_bytes(array_meta((2,), (1,))))
        await store.set("foo/a/c/1", self.buffer_cls.from_bytes(b"1"))
        assert sorted([k async for k in store.list()]) == [
            "foo/a/c/1", "foo/a/zarr.json", "foo/zarr.json"]

    async def test_list_prefix(self, store: IcechunkStore) -> None:
        await store.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
        await store.set("foobar/zarr.json", self.buffer_cls.from_bytes(GROUP))
        assert sorted([k async for k in store.list_prefix("foo/")]) == ["foo/zarr.json"]
        assert sorted([k async for k in store.list_prefix("foo")]) == [
            "foo/zarr.json", "foobar/zarr.json"]

    async def test_list_empty_path(self, store: IcechunkStore) -> None:
        assert [k async for k in store.list_prefix("")] == []
        await store.set("zarr.json", self.buffer_cls.from_bytes(GROUP))
        assert [k async for k in store.list_prefix("")] == ["zarr.json"]

    async def test_list_dir(self, store: IcechunkStore) -> None:
        await store.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
        await store.set("foo/a/zarr.json", self.buffer_cls.from_bytes(array_meta((2,), (1,))))
        await store.set("foo/a/c/0", self.buffer_cls.from_bytes(b"1"))
        assert sorted([k async for k in store.list_dir("")]) == ["foo"]
        assert sorted([k async for k in store.list_dir("foo")]) == ["a", "zarr.json"]
        assert sorted([k async for k in store.list_dir("foo/a")]) == ["c", "zarr.json"]

    async def test_set_if_not_exists(self, store: IcechunkStore) -> None:
        await store.set("foo/zarr.json", self.buffer_cls.from_bytes(GROUP))
        other = array_meta((1,), (1,))
        await store.set_if_not_exists("foo/zarr.json", self.buffer_cls.from_bytes(other))
        assert (await self.get(store, "foo/zarr.json")).to_bytes() == GROUP
        await store.set_if_not_exists("bar/zarr.json", self.buffer_cls.from_bytes(other))
        assert (await self.get(store, "bar/zarr.json")).to_bytes() == other

    async def test_invalid_keys_are_refused(self, store: IcechunkStore) -> None:
        with pytest.raises(ic.InvalidInputError):
            await store.set("no/such/array/c/0", self.buffer_cls.from_bytes(b"x"))
        with pytest.raises(ic.InvalidInputError):
            await store.set("../zarr.json", self.buffer_cls.from_bytes(GROUP))
        with pytest.raises(ic.InvalidInputError):
            await store.set("a//b/zarr.json", self.buffer_cls.from_bytes(GROUP))
        assert await store.get("no/such/c/0", default_buffer_prototype()) is None


async def test_list_prefix_only_reads_matching_nodes_but_lists_all_matches():
    """Sibling names sharing a prefix ("0", "00") and chunks under each."""
    from zarr.core.buffer import cpu

    repo = ic.Repository.create(ic.in_memory_storage())
    store = repo.writable_session("main").store
    await store.set("zarr.json", cpu.Buffer.from_bytes(GROUP))
    for name in ("0", "00"):
        await store.set(f"{name}/zarr.json", cpu.Buffer.from_bytes(array_meta((2,), (1,))))
        await store.set(f"{name}/c/1", cpu.Buffer.from_bytes(b"x"))

    async def keys(prefix):
        return sorted([k async for k in store.list_prefix(prefix)])

    assert await keys("") == ["0/c/1", "0/zarr.json", "00/c/1", "00/zarr.json", "zarr.json"]
    assert await keys("0") == ["0/c/1", "0/zarr.json", "00/c/1", "00/zarr.json"]
    assert await keys("0/") == ["0/c/1", "0/zarr.json"]
    assert await keys("00/c") == ["00/c/1"]
    assert await keys("z") == ["zarr.json"]
