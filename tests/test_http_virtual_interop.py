"""Virtual chunks served by nginx (``http://`` refs) between frazil-http and icechunk 2.3.

The repositories themselves are also read over HTTP, so these tests cross
both the storage and the virtual chunk resolver of each library.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import numpy as np
import pytest
import zarr

pytestmark = pytest.mark.interop

icechunk = pytest.importorskip("icechunk")
frazil = pytest.importorskip("frazil")
frazil_http = pytest.importorskip("frazil_http")

N, CHUNK = 64, 8


@pytest.fixture
def blob(http_www, http_nginx_url, request):
    """``(container prefix, blob URL, values, blob path)`` for a fresh data folder."""
    folder = http_www / f"vdata-{request.node.name.replace('[', '-').replace(']', '')}"
    folder.mkdir()
    values = np.arange(N, dtype="<i4") * 5 - 3
    (folder / "blob.bin").write_bytes(values.tobytes())
    os.utime(folder / "blob.bin", (1_600_000_000, 1_600_000_000))
    prefix = f"{http_nginx_url}/{folder.name}/"
    return prefix, prefix + "blob.bin", values, folder / "blob.bin"


def _grid(loc):
    n = N // CHUNK
    return [loc] * n, np.arange(n, dtype="u8") * CHUNK * 4, np.full(n, CHUNK * 4, dtype="u8")


def _create(lib, path, prefix, store):
    cfg = lib.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(lib.VirtualChunkContainer(prefix, store))
    auth = {prefix: icechunk.credentials.HttpAccess if lib is icechunk else frazil_http.HttpAccess}
    repo = lib.Repository.create(lib.local_filesystem_storage(str(path)), config=cfg,
                                 authorize_virtual_chunk_access=auth)
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(N,), chunks=(CHUNK,), dtype="<i4",
                      compressors=None, fill_value=-1)
    return repo, s


def _read_over_http(lib, url, prefix):
    auth = {prefix: icechunk.credentials.HttpAccess if lib is icechunk else frazil_http.HttpAccess}
    storage = lib.http_storage(url) if lib is icechunk else frazil_http.http_storage(url)
    repo = lib.Repository.open(storage, authorize_virtual_chunk_access=auth)
    return zarr.open_array(repo.readonly_session(branch="main").store, path="v", mode="r")[:]


def _stores(lib):
    make = icechunk.http_store if lib is icechunk else frazil_http.http_store
    return make(), make(headers={"X-Frazil-Test": "not-a-secret"})


@pytest.mark.parametrize("writer,reader", [(icechunk, frazil), (frazil, icechunk)],
                         ids=["icechunk-writes", "frazil-writes"])
@pytest.mark.parametrize("with_headers", [False, True], ids=["plain", "headers"])
def test_virtual_refs_cross_read(http_www, http_nginx_url, blob, writer, reader, with_headers):
    prefix, loc, values, _ = blob
    name = f"vrepo-{writer.__name__}-{with_headers}"
    _repo, s = _create(writer, http_www / name, prefix, _stores(writer)[with_headers])
    locs, offs, lens = _grid(loc)
    assert s.store.set_virtual_refs_arr("v", (N // CHUNK,), locs, offs, lens) is None
    s.commit("virtual refs over http")
    assert np.array_equal(_read_over_http(writer, f"{http_nginx_url}/{name}", prefix), values)
    assert np.array_equal(_read_over_http(reader, f"{http_nginx_url}/{name}", prefix), values)


def test_persisted_http_container_matches_icechunk(http_www, blob):
    """frazil's ``http_store`` persists exactly what icechunk's does."""
    from frazil.format.codec import decode_repo_info

    prefix = blob[0]
    for i, (ic_store, fz_store) in enumerate(zip(_stores(icechunk), _stores(frazil),
                                                 strict=True)):
        _create(icechunk, http_www / f"cfg-ic-{i}", prefix, ic_store)
        _create(frazil, http_www / f"cfg-fz-{i}", prefix, fz_store)

        def containers(folder):
            info = decode_repo_info((http_www / folder / "repo").read_bytes())
            return info.config["virtual_chunk_containers"]

        assert containers(f"cfg-fz-{i}") == containers(f"cfg-ic-{i}")


def test_etag_checksum_written_by_icechunk_is_checked(http_www, http_nginx_url, blob):
    prefix, loc, values, path = blob
    import requests

    etag = requests.head(loc, timeout=10).headers["ETag"]
    _repo, s = _create(icechunk, http_www / "etag-repo", prefix, icechunk.http_store())
    for i in range(N // CHUNK):
        s.store.set_virtual_ref(f"v/c/{i}", loc, offset=i * CHUNK * 4, length=CHUNK * 4,
                                checksum=etag)
    s.commit("with etags")
    url = f"{http_nginx_url}/etag-repo"
    assert np.array_equal(_read_over_http(frazil, url, prefix), values)
    path.write_bytes(values[::-1].tobytes())  # same size, new mtime: a new etag
    os.utime(path, (1_700_000_000, 1_700_000_000))
    with pytest.raises(frazil.StorageError) as info:
        _read_over_http(frazil, url, prefix)
    assert info.value.kind == "virtual-chunk-modified"
    with pytest.raises(Exception):  # noqa: B017 - icechunk refuses it too
        _read_over_http(icechunk, url, prefix)


def test_last_modified_checksum_written_by_frazil_is_checked(http_www, http_nginx_url, blob):
    prefix, loc, values, path = blob
    _repo, s = _create(frazil, http_www / "mtime-repo", prefix, frazil_http.http_store())
    stamp = datetime(2021, 1, 1, tzinfo=UTC)  # after the blob's mtime (2020-09-13)
    for i in range(N // CHUNK):
        s.store.set_virtual_ref(f"v/c/{i}", loc, offset=i * CHUNK * 4, length=CHUNK * 4,
                                checksum=stamp)
    s.commit("with last-modified checksums")
    url = f"{http_nginx_url}/mtime-repo"
    for lib in (frazil, icechunk):
        assert np.array_equal(_read_over_http(lib, url, prefix), values)
    os.utime(path, (1_700_000_000, 1_700_000_000))  # modified after the stamp
    with pytest.raises(frazil.StorageError) as info:
        _read_over_http(frazil, url, prefix)
    assert info.value.kind == "virtual-chunk-modified"
    with pytest.raises(Exception):  # noqa: B017 - icechunk refuses it too
        _read_over_http(icechunk, url, prefix)


def test_ref_past_the_end_of_the_object_is_an_error(http_www, http_nginx_url, blob):
    prefix, loc, _, _ = blob
    _repo, s = _create(frazil, http_www / "short-repo", prefix, frazil_http.http_store())
    s.store.set_virtual_ref("v/c/0", loc, offset=N * 4 - 8, length=CHUNK * 4)
    s.commit("ref longer than its object")
    with pytest.raises(frazil.StorageError, match="past the end"):
        _read_over_http(frazil, f"{http_nginx_url}/short-repo", prefix)
