"""Configuration objects: frazil's persist exactly what icechunk's do, both ways."""

from __future__ import annotations

import pytest

icechunk = pytest.importorskip("icechunk")
frazil = pytest.importorskip("frazil")


def _full_config(lib):
    cfg = lib.RepositoryConfig.default()
    cfg.inline_chunk_threshold_bytes = 77
    cfg.get_partial_values_concurrency = 3
    cfg.compression = lib.CompressionConfig(algorithm=lib.CompressionAlgorithm.Zstd, level=5)
    cfg.caching = lib.CachingConfig(num_snapshot_nodes=10, num_chunk_refs=20,
                                    num_transaction_changes=30, num_bytes_attributes=40,
                                    num_bytes_chunks=50)
    cfg.storage = lib.StorageSettings(
        concurrency=lib.StorageConcurrencySettings(max_concurrent_requests_for_object=4,
                                                   ideal_concurrent_request_size=1000),
        retries=lib.StorageRetriesSettings(max_tries=3, initial_backoff_ms=10,
                                           max_backoff_ms=100),
        timeouts=lib.StorageTimeoutSettings(connect_timeout_ms=1, read_timeout_ms=2,
                                            operation_timeout_ms=3,
                                            operation_attempt_timeout_ms=4),
        unsafe_use_conditional_update=False, storage_class="STANDARD",
        minimum_size_for_multipart_upload=12345)
    pc, sc, dc = lib.ManifestPreloadCondition, lib.ManifestSplitCondition, \
        lib.ManifestSplitDimCondition
    preload = lib.ManifestPreloadConfig(
        max_total_refs=100, max_arrays_to_scan=5,
        preload_if=pc.or_conditions([pc.path_matches("a.*"), pc.num_refs(1, 10),
                                     pc.num_refs(None, 3) & pc.true(), pc.false()]))
    splitting = lib.ManifestSplittingConfig.from_dict({
        sc.path_matches("t.*"): {dc.Axis(0): 12, dc.DimensionName("time"): 4, dc.Any(): 1},
        sc.AnyArray() | sc.name_matches("q"): {dc.Any(): 3}})
    vcomp = lib.ManifestVirtualChunkLocationCompressionConfig(
        7, dictionary_max_training_samples=11, dictionary_max_size_bytes=22,
        compression_level=3)
    cfg.manifest = lib.ManifestConfig(preload=preload, splitting=splitting,
                                      virtual_chunk_location_compression=vcomp,
                                      max_concurrent_manifest_fetches_during_commit=9)
    return cfg


@pytest.mark.parametrize("writer,reader", [("frazil", "icechunk"), ("icechunk", "frazil")])
def test_config_round_trips_between_libraries(tmp_path, writer, reader):
    w, r = (frazil if writer == "frazil" else icechunk), (frazil if reader == "frazil"
                                                         else icechunk)
    w.Repository.create(w.local_filesystem_storage(str(tmp_path)), config=_full_config(w))
    got = r.Repository.open(r.local_filesystem_storage(str(tmp_path))).config
    want = _full_config(r)
    for name in ("inline_chunk_threshold_bytes", "get_partial_values_concurrency",
                 "compression", "caching", "manifest"):
        assert getattr(got, name) == getattr(want, name), name
    # icechunk fills unsafe_use_metadata from the storage's own defaults when it opens
    for name in ("concurrency", "retries", "timeouts", "storage_class",
                 "unsafe_use_conditional_update", "minimum_size_for_multipart_upload"):
        assert getattr(got.storage, name) == getattr(want.storage, name), name
    # reprs agree once the module prefix is set aside
    assert repr(got.manifest).replace("frazil.", "icechunk.") == \
        repr(want.manifest).replace("frazil.", "icechunk.")


def norm(text: str) -> str:
    return text.replace("icechunk.", "").replace("frazil.", "")


def test_text_forms_match_icechunk():
    for make in (lambda lib: lib.CompressionConfig(),
                 lambda lib: lib.CachingConfig(num_chunk_refs=3),
                 lambda lib: lib.StorageSettings(),
                 lambda lib: lib.StorageRetriesSettings(max_tries=2),
                 lambda lib: _full_config(lib).manifest,
                 lambda lib: lib.ManifestConfig()):
        ice, flo = make(icechunk), make(frazil)
        assert norm(repr(flo)) == norm(repr(ice))
        assert norm(str(flo)) == norm(str(ice))


def test_split_config_accessors():
    sc, dc = frazil.ManifestSplitCondition, frazil.ManifestSplitDimCondition
    rules = {sc.name_matches("x"): {dc.Axis(1): 2}}
    cfg = frazil.ManifestSplittingConfig.from_dict(rules)
    assert cfg.to_dict() == rules
    assert cfg.split_sizes == [(sc.name_matches("x"), [(dc.Axis(1), 2)])]
    with pytest.raises(ValueError):
        frazil.ManifestSplittingConfig.from_dict({sc.AnyArray(): {dc.Any(): 0}})


# -------------------------------------------------- compression.level is honoured
def _write_refs(lib, path: str, level: int | None, *, save: bool = False) -> int:
    """Create a repository (config ``compression.level`` = ``level``), commit 4,000
    random inline chunks; the bytes of its manifests and snapshots. (Not transaction
    logs: at level 19, zstd compresses this one's 80 KB to 12.6 or 22.1 KB depending on
    the random ids in it, for both libraries.)"""
    import os

    import numpy as np
    import zarr

    cfg = lib.RepositoryConfig.default()
    if level is not None:
        cfg.compression = lib.CompressionConfig(level=level)
    repo = lib.Repository.create(lib.local_filesystem_storage(path), config=cfg)
    if save:
        repo.save_config()
        repo = lib.Repository.open(lib.local_filesystem_storage(path))  # the stored level
    s = repo.writable_session("main")
    arr = zarr.group(s.store).create_array("x", shape=(4000,), chunks=(1,), dtype="i8",
                                           compressors=None)
    arr[:] = np.random.default_rng(5).integers(0, 2**40, 4000)
    s.commit("refs")
    return sum(os.path.getsize(os.path.join(path, d, f))
               for d in ("manifests", "snapshots")
               for f in os.listdir(os.path.join(path, d)))


@pytest.mark.parametrize("lib_name", ["icechunk", "frazil"])
def test_metadata_files_use_the_configured_compression_level(tmp_path, lib_name):
    """icechunk writes its metadata files at ``compression.level``; so does frazil, and
    the other library reads them."""
    import numpy as np
    import zarr

    lib = frazil if lib_name == "frazil" else icechunk
    other = icechunk if lib is frazil else frazil
    fast = _write_refs(lib, str(tmp_path / "l1"), 1)
    default = _write_refs(lib, str(tmp_path / "l3"), None)
    small = _write_refs(lib, str(tmp_path / "l19"), 19)
    stored = _write_refs(lib, str(tmp_path / "l19s"), 19, save=True)
    assert small < 0.9 * min(fast, default), (fast, default, small)
    # the level saved in the repository's config applies too (random ids: a few bytes vary)
    assert abs(stored - small) < 0.02 * small, (stored, small)
    got = zarr.open_array(other.Repository.open(other.local_filesystem_storage(
        str(tmp_path / "l19"))).readonly_session("main").store, path="x", mode="r")[:]
    np.testing.assert_array_equal(got, np.random.default_rng(5).integers(0, 2**40, 4000))


@pytest.mark.parametrize("lib_name", ["icechunk", "frazil"])
def test_compression_level_range_as_icechunk(tmp_path, lib_name):
    """``level`` is a u8: 256 is refused with an ``OverflowError`` (frazil's is its
    ``InvalidRangeError``); a level above zstd's maximum (22) means the maximum, and
    the other library reads what was written."""
    import numpy as np
    import zarr

    lib = frazil if lib_name == "frazil" else icechunk
    other = icechunk if lib is frazil else frazil
    with pytest.raises(OverflowError):
        lib.CompressionConfig(level=256)
    if lib is frazil:
        from frazil.errors import InvalidRangeError

        with pytest.raises(InvalidRangeError, match="level"):
            frazil.CompressionConfig(level=256)
    path = str(tmp_path / "r")
    high = _write_refs(lib, path, 255)
    top = _write_refs(lib, str(tmp_path / "top"), 22)
    assert abs(high - top) < 0.02 * top, (high, top)
    got = zarr.open_array(other.Repository.open(other.local_filesystem_storage(path))
                          .readonly_session("main").store, path="x", mode="r")[:]
    np.testing.assert_array_equal(got, np.random.default_rng(5).integers(0, 2**40, 4000))
