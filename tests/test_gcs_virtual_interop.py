"""``gs://`` virtual chunks: icechunk writes the refs, frazil reads them through fake-gcs-server.

icechunk records the container (``gcs_store(...)``, persisted as ``{"gcs": {...}}``)
and the refs in a local repository whose objects are then uploaded; frazil opens
it over GCS and resolves the refs with frazil-gcs's resolver, authorized with a
service account key naming the emulator. Checksums recorded with the refs
(an ETag, or a last-modified time) are verified on read.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import zarr
from _gcs_fake import upload_tree

pytestmark = pytest.mark.interop

icechunk = pytest.importorskip("icechunk")
frazil = pytest.importorskip("frazil")
frazil_gcs = pytest.importorskip("frazil_gcs")

N, CHUNK = 64, 8


def _blob(client, bucket):
    values = np.arange(N, dtype="<i4") * 3 + 1
    client.bucket(bucket).blob("data/blob.bin").upload_from_string(values.tobytes())
    return values


def _ic_repo(path, prefix):
    cfg = icechunk.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer(
        prefix, icechunk.gcs_store({"allow_http": "true"})))
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(path)), config=cfg)
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="v", shape=(N,), chunks=(CHUNK,), dtype="<i4",
                      compressors=None, fill_value=-1)
    return repo, s


def _frazil_open(kw, prefix, repo_prefix):
    from frazil_gcs.testing import emulator_key

    endpoint = __import__("json").loads(kw["service_account_key"])["gcs_base_url"]
    creds = frazil_gcs.gcs_credentials(service_account_key=emulator_key(endpoint))
    return frazil.Repository.open(frazil_gcs.gcs_storage(prefix=repo_prefix, **kw),
                                  authorize_virtual_chunk_access={prefix: creds})


@pytest.mark.parametrize("scheme", ["gs", "gcs"])
def test_icechunk_writes_gcs_virtual_refs_frazil_reads(gcs_bucket_kwargs, gcs_raw_client,
                                                       tmp_path, scheme):
    kw = gcs_bucket_kwargs
    values = _blob(gcs_raw_client, kw["bucket"])
    prefix, loc = f"{scheme}://{kw['bucket']}/data/", f"{scheme}://{kw['bucket']}/data/blob.bin"
    _, s = _ic_repo(tmp_path / "ic", prefix)
    n = N // CHUNK
    s.store.set_virtual_refs_arr("v", (n,), [loc] * n, np.arange(n, dtype="u8") * CHUNK * 4,
                                 np.full(n, CHUNK * 4, dtype="u8"))
    s.commit("icechunk virtual")
    upload_tree(gcs_raw_client, kw["bucket"], "vrepo", tmp_path / "ic")
    repo = _frazil_open(kw, prefix, "vrepo")
    store = repo.config.virtual_chunk_containers[prefix].store
    assert (store.kind, store.options) == ("gcs", {"allow_http": "true"})
    got = zarr.open_array(repo.readonly_session("main").store, path="v")[:]
    assert np.array_equal(got, values)


def test_frazil_persists_gcs_containers_as_icechunk_does(tmp_path):
    prefix = "gs://some-bucket/data/"
    cfgs = []
    for lib, store in ((icechunk, icechunk.gcs_store({"allow_http": "true"})),
                       (frazil, frazil_gcs.gcs_store({"allow_http": "true"}))):
        cfg = lib.RepositoryConfig.default()
        cfg.set_virtual_chunk_container(lib.VirtualChunkContainer(prefix, store))
        lib.Repository.create(lib.local_filesystem_storage(str(tmp_path / lib.__name__)),
                              config=cfg)
        from frazil.format.codec import decode_repo_info

        raw = (tmp_path / lib.__name__ / "repo").read_bytes()
        cfgs.append(decode_repo_info(raw).config["virtual_chunk_containers"])
    assert cfgs[0] == cfgs[1]


@pytest.mark.parametrize("kind", ["etag", "last_modified"])
def test_gcs_checksums_checked_on_read(gcs_bucket_kwargs, gcs_raw_client, tmp_path, kind):
    kw = gcs_bucket_kwargs
    values = _blob(gcs_raw_client, kw["bucket"])
    prefix, loc = f"gs://{kw['bucket']}/data/", f"gs://{kw['bucket']}/data/blob.bin"
    # the XML API's ETag of an ordinary object: its quoted hex MD5
    checksum = (f'"{hashlib.md5(values.tobytes()).hexdigest()}"' if kind == "etag"
                else datetime.now(UTC) + timedelta(seconds=1))
    _, s = _ic_repo(tmp_path / "ic", prefix)
    for i in range(N // CHUNK):
        s.store.set_virtual_ref(f"v/c/{i}", loc, offset=i * CHUNK * 4, length=CHUNK * 4,
                                checksum=checksum)
    s.commit("with checksums")
    upload_tree(gcs_raw_client, kw["bucket"], "crepo", tmp_path / "ic")
    repo = _frazil_open(kw, prefix, "crepo")
    assert np.array_equal(zarr.open_array(repo.readonly_session("main").store, path="v")[:],
                          values)
    # the object changes: frazil refuses the stale refs, as icechunk does
    import time

    time.sleep(1.1 if kind == "last_modified" else 0)
    gcs_raw_client.bucket(kw["bucket"]).blob("data/blob.bin").upload_from_string(
        b"\0" * (N * 4))
    repo = _frazil_open(kw, prefix, "crepo")
    with pytest.raises(frazil.StorageError) as e:
        zarr.open_array(repo.readonly_session("main").store, path="v")[:]
    assert e.value.kind == "virtual-chunk-modified"
