"""Adjacent virtual byte ranges read concurrently become one request."""

from __future__ import annotations

import asyncio

import frazil as ic
import numpy as np
import pytest
import zarr
from frazil._coalesce import RangeCoalescer
from frazil._file_resolver import FileResolver
from frazil.types import VirtualChunkRef


class Counting:
    def __init__(self, data: bytes, fail_from: int | None = None) -> None:
        self.data = data
        self.calls: list[tuple[int, int]] = []
        self.fail_from = fail_from

    async def fetch(self, location: str, start: int, end: int) -> bytes:
        self.calls.append((start, end))
        if self.fail_from is not None and start >= self.fail_from:
            raise ic.StorageError("boom")
        return self.data[start:end]


def test_adjacent_and_overlapping_ranges_merge():
    src = Counting(bytes(range(256)))
    c = RangeCoalescer(src.fetch)

    async def main():
        return await asyncio.gather(c.fetch("x", 0, 10), c.fetch("x", 10, 30),
                                    c.fetch("x", 5, 12), c.fetch("x", 100, 110),
                                    c.fetch("y", 0, 4))

    got = asyncio.run(main())
    data = bytes(range(256))
    assert got == [data[0:10], data[10:30], data[5:12], data[100:110], data[0:4]]
    # x: [0,30) merged, [100,110) apart; y separately
    assert sorted(src.calls) == [(0, 4), (0, 30), (100, 110)]


def test_merged_size_is_bounded_and_failures_stay_local():
    src = Counting(bytes(1000), fail_from=500)
    c = RangeCoalescer(src.fetch, max_merged=100)

    async def main():
        ok = [c.fetch("x", i, i + 50) for i in range(0, 400, 50)]
        bad = c.fetch("x", 600, 650)
        return await asyncio.gather(*ok, bad, return_exceptions=True)

    res = asyncio.run(main())
    assert all(r == bytes(50) for r in res[:-1])
    assert isinstance(res[-1], ic.StorageError)
    assert max(e - s for s, e in src.calls) <= 100
    assert len(src.calls) == 5  # four merged pairs + the failing one


def test_zarr_read_of_packed_virtual_chunks_uses_few_requests(tmp_path):
    values = np.arange(64, dtype="<i4")
    (tmp_path / "packed.bin").write_bytes(values.tobytes())
    prefix = f"file://{tmp_path}/"
    cfg = ic.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(
        prefix, ic.local_filesystem_store(str(tmp_path))))
    repo = ic.Repository.create(ic.in_memory_storage(), config=cfg,
                                authorize_virtual_chunk_access={prefix: None})
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(64,), chunks=(4,), dtype="<i4",
                      compressors=None, fill_value=0)
    for i in range(16):
        s.set_chunk_ref("/v", (i,), VirtualChunkRef(f"{prefix}packed.bin", 16 * i, 16))
    s.commit("packed")
    reader = repo.readonly_session(branch="main")
    calls: list[tuple[int, int]] = []
    inner = FileResolver(prefix)

    class Spy:
        async def fetch(self, location, start, end):
            calls.append((start, end))
            return await inner.fetch(location, start, end)

    repo._virtual._resolvers[prefix] = Spy()  # the resolver this handle caches for the container
    arr = zarr.open_array(reader.store, path="v", mode="r")
    np.testing.assert_array_equal(arr[:], values)
    assert len(calls) < 16, calls  # merged, not one request per chunk
    assert sum(e - s for s, e in calls) == 256  # and nothing read twice


@pytest.mark.parametrize("n", [1, 3])
def test_single_reads_are_unchanged(n):
    src = Counting(bytes(range(100)))
    c = RangeCoalescer(src.fetch)

    async def main():
        out = []
        for i in range(n):  # sequential: nothing to merge
            out.append(await c.fetch("x", i * 10, i * 10 + 5))
        return out

    assert asyncio.run(main()) == [bytes(range(i * 10, i * 10 + 5)) for i in range(n)]
    assert len(src.calls) == n
