"""Virtual chunks on local files: the resolver suite, authorization, interop."""

from __future__ import annotations

import os

import frazil as ic
import numpy as np
import pytest
import zarr
from frazil._file_resolver import FileResolver
from frazil.plugins import PluginNotFoundError
from frazil.testing import VirtualChunkResolverTests
from frazil.types import VirtualChunkRef


class TestFileResolver(VirtualChunkResolverTests):
    def make_resolver(self, tmp_path):
        def put(name: str, data: bytes) -> str:
            (tmp_path / name).write_bytes(data)
            return f"file://{tmp_path}/{name}"

        return FileResolver(f"file://{tmp_path}/"), put


def _config(*prefixes: str) -> ic.RepositoryConfig:
    cfg = ic.RepositoryConfig.default()
    for prefix in prefixes:
        cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(
            prefix, ic.local_filesystem_store(prefix.removeprefix("file://"))))
    return cfg


def _setup(tmp_path, authorize):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    values = np.arange(40, dtype="<i4")
    (data_dir / "blob.bin").write_bytes(b"HEADER" + values.tobytes())
    repo = ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / "repo")),
                                config=_config(f"file://{data_dir}/", f"file://{data_dir}-prod/"),
                                authorize_virtual_chunk_access=authorize(data_dir))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(40,), chunks=(10,), dtype="<i4",
                      compressors=None, fill_value=0)
    url = f"file://{data_dir}/blob.bin"
    for i in range(4):  # chunk i = values[10i:10i+10], at offset 6 + 40i
        s.set_chunk_ref("/v", (i,), VirtualChunkRef(url, 6 + 40 * i, 40))
    s.commit("virtual")
    return repo, values, data_dir


def test_virtual_chunks_read_through_the_file_resolver(tmp_path):
    repo, values, _ = _setup(tmp_path, lambda d: {f"file://{d}/": None})
    arr = zarr.open_array(repo.readonly_session(branch="main").store, path="v", mode="r")
    np.testing.assert_array_equal(arr[:], values)
    np.testing.assert_array_equal(arr[13:27], values[13:27])


def test_unauthorized_and_prefix_confusion_refused_before_io(tmp_path):
    # authorizes ".../data-prod/" only: ".../data/blob.bin" must not match it
    repo, _, data_dir = _setup(tmp_path, lambda d: {f"file://{d}-prod/": None})
    arr = zarr.open_array(repo.readonly_session(branch="main").store, path="v", mode="r")
    with pytest.raises(ic.InvalidInputError, match="authorize"):
        arr[:]
    # without the trailing slash a key names no container: it authorizes nothing
    repo2 = repo.reopen(authorize_virtual_chunk_access={f"file://{data_dir}": None})
    arr = zarr.open_array(repo2.readonly_session(branch="main").store, path="v", mode="r")
    with pytest.raises(ic.InvalidInputError, match="authorize"):
        arr[:]


def test_dotdot_in_file_urls_is_refused(tmp_path):
    r = FileResolver(f"file://{tmp_path}/")
    import asyncio

    with pytest.raises(ic.InvalidInputError, match=r"\.\."):
        asyncio.run(r.fetch(f"file://{tmp_path}/../etc/passwd", 0, 10))


def test_unknown_scheme_names_the_distribution(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAZIL_BLOCKED_PLUGINS", "frazil-gcs")  # as if it were not installed
    monkeypatch.setattr("frazil.plugins.manager._GLOBAL", None)  # rebuilt, then restored
    cfg = ic.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(
        "gs://bucket/", ic.ObjectStoreConfig("gcs", {})))
    repo = ic.Repository.create(ic.in_memory_storage(), config=cfg,
                                authorize_virtual_chunk_access={"gs://bucket/": None})
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(4,), chunks=(4,), dtype="u1")
    s.set_chunk_ref("/v", (0,), VirtualChunkRef("gs://bucket/x.nc", 0, 4))
    arr = zarr.open_array(s.store, path="v", mode="r")
    with pytest.raises(PluginNotFoundError, match="frazil-gcs"):
        arr[:]


def test_icechunk_written_virtual_refs_resolve_in_frazil(tmp_path):
    icechunk = pytest.importorskip("icechunk")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    values = np.arange(20, dtype="<f8")
    (data_dir / "f.bin").write_bytes(values.tobytes())
    prefix = f"file://{data_dir}/"
    cfg = icechunk.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(
        icechunk.VirtualChunkContainer(prefix, icechunk.local_filesystem_store(str(data_dir))))
    path = str(tmp_path / "repo")
    irepo = icechunk.Repository.create(icechunk.local_filesystem_storage(path), config=cfg,
                                       authorize_virtual_chunk_access={prefix: None})
    s = irepo.writable_session("main")
    zarr.create_array(s.store, name="x", shape=(20,), chunks=(5,), dtype="<f8",
                      compressors=None, fill_value=0)
    for i in range(4):
        s.store.set_virtual_ref(f"x/c/{i}", f"{prefix}f.bin", offset=40 * i, length=40)
    s.commit("virtual by icechunk")
    frepo = ic.Repository.open(ic.local_filesystem_storage(path),
                               authorize_virtual_chunk_access={prefix: None})
    arr = zarr.open_array(frepo.readonly_session(branch="main").store, path="x", mode="r")
    np.testing.assert_array_equal(arr[:], values)
    assert os.path.exists(data_dir / "f.bin")
