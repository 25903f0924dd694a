"""IcechunkStore.array_chunk_iterator and sync_clear, against icechunk 2.3's answers."""

from __future__ import annotations

import asyncio

import frazil
import numpy as np
import pytest
import zarr

icechunk = pytest.importorskip("icechunk")


def _collect(store, path, batch_size):
    async def go():
        return [b async for b in store.array_chunk_iterator(path, batch_size=batch_size)]
    return asyncio.run(go())


def _repo(lib, tmp_path):
    repo = lib.Repository.create(lib.local_filesystem_storage(str(tmp_path)))
    s = repo.writable_session("main")
    root = zarr.group(store=s.store)
    a = root.create_array("a", shape=(10, 4), chunks=(2, 2), dtype="i4", compressors=None)
    a[:4] = 1                      # 4 chunks of 16 bytes: inline (threshold 512)
    big = root.create_array("big", shape=(1000,), chunks=(500,), dtype="f8", compressors=None)
    big[:] = np.arange(1000.0)     # 2 chunks of 4000 bytes: native
    s.commit("data")
    return repo


@pytest.mark.parametrize("batch", [1, 3, 100_000])
def test_array_chunk_iterator_matches_icechunk(tmp_path, batch):
    got = {}
    for lib in (frazil, icechunk):
        store = _repo(lib, tmp_path / lib.__name__).readonly_session("main").store
        batches = _collect(store, "a", batch) + _collect(store, "/big", batch)
        rows = []
        for coords, kinds, paths, offsets, lengths, inlined in batches:
            assert len(coords) <= batch and len(kinds) == len(paths) == len(offsets)
            for i in range(len(kinds)):
                native = int(kinds[i]) == 1
                rows.append((tuple(coords[i].tolist()), int(kinds[i]), bool(paths[i]) if native
                             else paths[i], int(offsets[i]), int(lengths[i]), inlined.get(i)))
        got[lib.__name__] = sorted(rows)
    assert got["frazil"] == got["icechunk"]
    assert {r[1] for r in got["frazil"]} == {1, 3}


def test_sync_clear_empties_the_session_not_the_history(tmp_path):
    repo = _repo(frazil, tmp_path)
    s = repo.writable_session("main")
    s.store.sync_clear()
    assert s.list_nodes() == []
    s.commit("cleared")
    assert len(list(repo.ancestry(branch="main"))) == 3
