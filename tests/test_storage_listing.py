"""``Storage.list_objects`` (icechunk's ``(key, size)`` form) and ``list_objects_metadata``
list what icechunk 2.3 lists on the same repository: a prefix names a directory and keys are
relative to it."""

from __future__ import annotations

import frazil
import numpy as np
import pytest
import zarr

icechunk = pytest.importorskip("icechunk")

PREFIXES = [None, "", "chunks", "chunks/", "manifests", "snapshots/", "transactions", "snap",
            "repo", "nope"]


@pytest.fixture(scope="module")
def repo_path(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("listing") / "repo")
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(path))
    session = repo.writable_session("main")
    zarr.group(session.store).create_array("x", shape=(4096,), chunks=(1024,), dtype="f8")[:] = \
        np.arange(4096.0)  # four 8 KiB chunks: stored as objects, not inline
    session.commit("four chunks")
    return path


@pytest.mark.parametrize("prefix", PREFIXES)
def test_list_objects_is_icechunks(repo_path, prefix):
    ice = icechunk.local_filesystem_storage(repo_path).list_objects(prefix=prefix)
    flo = frazil.local_filesystem_storage(repo_path).list_objects(prefix=prefix)
    assert all(isinstance(k, str) and isinstance(n, int) for k, n in flo)
    assert sorted(flo) == sorted(ice)
    if prefix in ("chunks", "chunks/"):
        assert len(flo) == 4 and all("/" not in k for k, _ in flo)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_list_objects_metadata_is_icechunks(repo_path, prefix):
    ice = icechunk.local_filesystem_storage(repo_path).list_objects_metadata(prefix=prefix)
    flo = frazil.local_filesystem_storage(repo_path).list_objects_metadata(prefix=prefix)
    assert sorted((o.key, o.size_bytes) for o in flo) == \
        sorted((o.key, o.size_bytes) for o in ice)
    created = {o.key: o.created_at for o in ice}
    for o in flo:  # the same file's time, as each library reads it
        assert o.created_at.tzinfo is not None
        assert abs((o.created_at - created[o.key]).total_seconds()) < 1
        assert str(o) == str(next(i for i in ice if i.key == o.key)).replace("icechunk.",
                                                                             "frazil.")


def test_list_objects_takes_settings_first(repo_path):
    storage = frazil.local_filesystem_storage(repo_path)
    settings = frazil.StorageSettings(retries=frazil.StorageRetriesSettings(max_tries=2))
    assert sorted(storage.list_objects(settings, "chunks")) == \
        sorted(storage.list_objects(prefix="chunks"))
    meta = {o.key: o.size_bytes for o in storage.list_objects_metadata(settings, "chunks")}
    assert meta == dict(storage.list_objects(None, "chunks")) and len(meta) == 4
