"""Dictionary-compressed virtual chunk locations, both directions with icechunk."""

from __future__ import annotations

import frazil
import numpy as np
import pytest
import zarr
from frazil.format import _fb
from frazil.format.header import FileType, decode_file

icechunk = pytest.importorskip("icechunk")

N = 300


def _setup(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    values = np.arange(N, dtype="<i4")
    (d / "blob.bin").write_bytes(values.tobytes())
    prefix = f"file://{d}/"
    return d, prefix, values, [prefix + "blob.bin"] * N


def _dictionary(repo_dir):
    out = []
    for f in (repo_dir / "manifests").iterdir():
        r = _fb.Reader(decode_file(f.read_bytes(), FileType.MANIFEST, "m"), "m")
        out.append(r.root().bytes(2))
    return out


def _write(lib, repo_dir, d, prefix, locs, manifest_cfg):
    cfg = lib.RepositoryConfig.default()
    cfg.manifest = manifest_cfg
    cfg.set_virtual_chunk_container(lib.VirtualChunkContainer(
        prefix, lib.local_filesystem_store(str(d))))
    auth = {prefix: None}
    repo = lib.Repository.create(lib.local_filesystem_storage(str(repo_dir)), config=cfg,
                                 authorize_virtual_chunk_access=auth)
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(N,), chunks=(1,), dtype="<i4",
                      compressors=None, fill_value=-1)
    s.store.set_virtual_refs_arr("v", (N,), locs, np.arange(N, dtype="u8") * 4,
                                 np.full(N, 4, dtype="u8"))
    s.commit("virtual")


def _read(lib, repo_dir, prefix):
    auth = {prefix: None}
    repo = lib.Repository.open(lib.local_filesystem_storage(str(repo_dir)),
                               authorize_virtual_chunk_access=auth)
    return zarr.open_array(repo.readonly_session("main").store, path="v")[:]


@pytest.mark.filterwarnings("ignore")
def test_frazil_writes_compressed_locations_icechunk_reads(tmp_path):
    d, prefix, values, locs = _setup(tmp_path)
    _write(frazil, tmp_path / "r", d, prefix, locs,
           {"virtual_chunk_location_compression": {"min_num_chunks": 10}})
    assert all(_dictionary(tmp_path / "r"))
    assert np.array_equal(_read(icechunk, tmp_path / "r", prefix), values)
    assert np.array_equal(_read(frazil, tmp_path / "r", prefix), values)


@pytest.mark.filterwarnings("ignore")
def test_frazil_below_min_num_chunks_writes_plain(tmp_path):
    d, prefix, values, locs = _setup(tmp_path)
    _write(frazil, tmp_path / "r", d, prefix, locs,
           {"virtual_chunk_location_compression": {"min_num_chunks": N + 1}})
    assert not any(_dictionary(tmp_path / "r"))
    assert np.array_equal(_read(icechunk, tmp_path / "r", prefix), values)


@pytest.mark.filterwarnings("ignore")
def test_icechunk_writes_compressed_locations_frazil_reads(tmp_path):
    d, prefix, values, locs = _setup(tmp_path)
    mcfg = icechunk.ManifestConfig(
        virtual_chunk_location_compression=icechunk.ManifestVirtualChunkLocationCompressionConfig(
            min_num_chunks=10))
    _write(icechunk, tmp_path / "r", d, prefix, locs, mcfg)
    assert all(_dictionary(tmp_path / "r"))
    assert np.array_equal(_read(frazil, tmp_path / "r", prefix), values)
