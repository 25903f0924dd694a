"""``str``, ``repr`` and ``_repr_html_`` of frazil's public classes, against icechunk 2.3's.

Every case builds the same object with either library (``lib`` is the module),
so the texts can be compared field for field: icechunk's, with its module name
``icechunk.`` read as ``frazil.``, must equal frazil's. HTML is compared the
same way once the style blocks are set aside, and parsed to check that it is
well formed and names every field. Credentials must not appear in any form,
directly or nested in configs and container credential maps.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import frazil
import numpy as np
import pytest
import zarr

icechunk = pytest.importorskip("icechunk")

T = datetime.datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)


def _s3_options(lib: Any) -> Any:
    return lib.S3Options(region="us-east-1", endpoint_url="http://minio:9000", allow_http=True,
                         anonymous=True, force_path_style=True, network_stream_timeout_seconds=30,
                         requester_pays=True, checksum_algorithm=lib.ChecksumAlgorithm.Crc32c)


def _full_config(lib: Any) -> Any:
    cfg = lib.RepositoryConfig(
        inline_chunk_threshold_bytes=100, get_partial_values_concurrency=3,
        max_concurrent_requests=7, max_concurrent_decodes=4, num_updates_per_repo_info_file=9,
        compression=lib.CompressionConfig(level=4),
        caching=lib.CachingConfig(num_chunk_refs=8),
        storage=lib.StorageSettings(
            concurrency=lib.StorageConcurrencySettings(max_concurrent_requests_for_object=2),
            retries=lib.StorageRetriesSettings(max_tries=3),
            unsafe_use_conditional_update=True, storage_class="STANDARD"),
        manifest=lib.ManifestConfig(
            preload=lib.ManifestPreloadConfig(
                max_total_refs=5,
                preload_if=lib.ManifestPreloadCondition.name_matches("t.*")),
            splitting=lib.ManifestSplittingConfig.from_dict(
                {lib.ManifestSplitCondition.name_matches("x"):
                    {lib.ManifestSplitDimCondition.Axis(0): 10}})))
    cfg.set_virtual_chunk_container(lib.VirtualChunkContainer(
        "s3://bucket/prefix/", lib.ObjectStoreConfig.S3(_s3_options(lib))))
    return cfg


# -- objects built from arguments: name -> factory(lib) -------------------------------------------

VALUE_CASES: dict[str, Callable[[Any], Any]] = {
    "CompressionConfig-default": lambda lib: lib.CompressionConfig(),
    "CompressionConfig": lambda lib: lib.CompressionConfig(
        algorithm=lib.CompressionAlgorithm.Zstd, level=5),
    "CachingConfig": lambda lib: lib.CachingConfig(
        num_snapshot_nodes=1, num_chunk_refs=2, num_transaction_changes=3,
        num_bytes_attributes=4, num_bytes_chunks=5),
    "CachingConfig-default": lambda lib: lib.CachingConfig(),
    "StorageRetriesSettings": lambda lib: lib.StorageRetriesSettings(
        max_tries=3, initial_backoff_ms=10, max_backoff_ms=100),
    "StorageTimeoutSettings": lambda lib: lib.StorageTimeoutSettings(
        connect_timeout_ms=1, read_timeout_ms=2, operation_timeout_ms=3,
        operation_attempt_timeout_ms=4),
    "StorageConcurrencySettings": lambda lib: lib.StorageConcurrencySettings(
        max_concurrent_requests_for_object=3, ideal_concurrent_request_size=1024),
    "StorageSettings-default": lambda lib: lib.StorageSettings(),
    "StorageSettings": lambda lib: lib.StorageSettings(
        concurrency=lib.StorageConcurrencySettings(max_concurrent_requests_for_object=2),
        retries=lib.StorageRetriesSettings(max_tries=3),
        timeouts=lib.StorageTimeoutSettings(connect_timeout_ms=5),
        unsafe_use_conditional_update=False, unsafe_use_conditional_create=True,
        unsafe_use_metadata=False, storage_class="A", metadata_storage_class="B",
        chunks_storage_class="C", minimum_size_for_multipart_upload=123),
    "ManifestPreloadConfig": lambda lib: lib.ManifestPreloadConfig(
        max_total_refs=3, max_arrays_to_scan=2,
        preload_if=lib.ManifestPreloadCondition.or_conditions([
            lib.ManifestPreloadCondition.path_matches("a.*"),
            lib.ManifestPreloadCondition.and_conditions([
                lib.ManifestPreloadCondition.num_refs(None, 10),
                lib.ManifestPreloadCondition.true()]),
            lib.ManifestPreloadCondition.false()])),
    "ManifestSplittingConfig": lambda lib: lib.ManifestSplittingConfig.from_dict(
        {lib.ManifestSplitCondition.or_conditions([
            lib.ManifestSplitCondition.name_matches("x"),
            lib.ManifestSplitCondition.AnyArray()]):
            {lib.ManifestSplitDimCondition.DimensionName("t"): 4,
             lib.ManifestSplitDimCondition.Any(): 2}}),
    "ManifestVirtualChunkLocationCompressionConfig":
        lambda lib: lib.ManifestVirtualChunkLocationCompressionConfig(
            min_num_chunks=1, dictionary_max_training_samples=2, dictionary_max_size_bytes=3,
            compression_level=4),
    "ManifestConfig-default": lambda lib: lib.ManifestConfig(),
    "ManifestConfig": lambda lib: lib.ManifestConfig(
        preload=lib.ManifestPreloadConfig(max_total_refs=3),
        max_concurrent_manifest_fetches_during_commit=4),
    "RepositoryConfig-default": lambda lib: lib.RepositoryConfig.default(),
    "RepositoryConfig-empty": lambda lib: lib.RepositoryConfig(),
    "RepositoryConfig": _full_config,
    "ObjectStoreConfig.InMemory": lambda lib: lib.ObjectStoreConfig.InMemory(),
    "ObjectStoreConfig.LocalFileSystem": lambda lib: lib.ObjectStoreConfig.LocalFileSystem(
        "/data/x"),
    "ObjectStoreConfig.S3": lambda lib: lib.ObjectStoreConfig.S3(_s3_options(lib)),
    "ObjectStoreConfig.S3Compatible": lambda lib: lib.ObjectStoreConfig.S3Compatible(
        _s3_options(lib)),
    "ObjectStoreConfig.Tigris": lambda lib: lib.ObjectStoreConfig.Tigris(_s3_options(lib)),
    "ObjectStoreConfig.Gcs": lambda lib: lib.ObjectStoreConfig.Gcs({"bucket": "b"}),
    "ObjectStoreConfig.Azure": lambda lib: lib.ObjectStoreConfig.Azure({"account": "a"}),
    "local_filesystem_store": lambda lib: lib.local_filesystem_store("/data/y"),
    "VirtualChunkContainer-s3": lambda lib: lib.VirtualChunkContainer(
        "s3://bucket/", lib.ObjectStoreConfig.S3(_s3_options(lib)), name="mine"),
    "VirtualChunkContainer-file": lambda lib: lib.VirtualChunkContainer(
        "file:///data/", lib.local_filesystem_store("/data")),
    "VirtualChunkContainer-http": lambda lib: lib.VirtualChunkContainer(
        "https://example.com/", lib.http_store({"timeout": "5s"})),
    "VirtualChunkContainer-gcs": lambda lib: lib.VirtualChunkContainer(
        "gs://bucket/", lib.ObjectStoreConfig.Gcs({"bucket": "b"})),
    "S3Options": _s3_options,
    "S3StaticCredentials": lambda lib: lib.S3StaticCredentials(
        access_key_id="AKIAEXAMPLE", secret_access_key="s3cr3t", session_token="t0ken",
        expires_after=T),
    "S3StaticCredentials-short": lambda lib: lib.S3StaticCredentials("AK", "s3cr3t"),
    "Attribution": lambda lib: lib.Attribution(client="app/1.0", workload="ingest",
                                               principal="alice"),
    "Attribution-empty": lambda lib: lib.Attribution(),
    "RepoStatus": lambda lib: lib.RepoStatus(lib.RepoAvailability.read_only, T, "maintenance"),
    "RepoStatus-online": lambda lib: lib.RepoStatus(lib.RepoAvailability.online, T),
    "Conflict-chunks": lambda lib: lib.Conflict(lib.ConflictType.ChunkDoubleUpdate, "/a",
                                                [[0, 1], [2, 3]]),
    "Conflict": lambda lib: lib.Conflict(lib.ConflictType.DeleteOfUpdatedArray, "/g/a"),
    "ManifestPreloadCondition": lambda lib: lib.ManifestPreloadCondition.num_refs(1, 10),
    "ManifestSplitCondition": lambda lib: lib.ManifestSplitCondition.path_matches("a/.*"),
    "ManifestSplitDimCondition": lambda lib: lib.ManifestSplitDimCondition.Axis(1),
    "CompressionAlgorithm": lambda lib: lib.CompressionAlgorithm.Zstd,
    "ChunkType": lambda lib: lib.ChunkType.virtual,
    "SessionMode": lambda lib: lib.SessionMode.writable,
    "VersionSelection": lambda lib: lib.VersionSelection.UseTheirs,
    "SpecVersion": lambda lib: lib.SpecVersion.v1,
    "ChecksumAlgorithm": lambda lib: lib.ChecksumAlgorithm.Crc64Nvme,
    "RepoAvailability": lambda lib: lib.RepoAvailability.read_only,
    "ConflictType": lambda lib: lib.ConflictType.ChunksUpdatedInUpdatedArray,
    "ErrorKind": lambda lib: lib.ErrorKind.COMMIT_CONFLICT,
}


# -- objects read from one repository, written by icechunk: name -> factory(lib, repo) ----------

def _first_snapshot(lib: Any, repo: Any) -> Any:
    return next(iter(repo.ancestry(branch="main")))


REPO_CASES: dict[str, Callable[[Any, Any], Any]] = {
    "SnapshotInfo": _first_snapshot,
    "SnapshotInfo-root": lambda lib, repo: list(repo.ancestry(branch="main"))[-1],
    "ManifestFileInfo": lambda lib, repo: repo.list_manifest_files(
        _first_snapshot(lib, repo).id)[0],
    "Diff": lambda lib, repo: repo.diff(
        from_snapshot_id=list(repo.ancestry(branch="main"))[-1].id, to_branch="main"),
    "Update-TagCreated": lambda lib, repo: list(repo.ops_log())[0],
    "Update-BranchCreated": lambda lib, repo: list(repo.ops_log())[1],
    "Update-NewCommit": lambda lib, repo: list(repo.ops_log())[2],
    "Update-RepoInitialized": lambda lib, repo: list(repo.ops_log())[-1],
    "FeatureFlag": lambda lib, repo: next(f for f in repo.feature_flags()
                                          if f.name == "move_node"),
    "GCSummary": lambda lib, repo: repo.garbage_collect(T.replace(year=2000), dry_run=True),
    "ChunkStorageStats": lambda lib, repo: repo.chunk_storage_stats(),
    "Session-readonly": lambda lib, repo: repo.readonly_session("main"),
    "Session-writable": lambda lib, repo: repo.writable_session("main"),
    "Session-tag": lambda lib, repo: repo.readonly_session(tag="v1"),
    "ForkSession": lambda lib, repo: repo.writable_session("main").fork(),
    "IcechunkStore": lambda lib, repo: repo.readonly_session("main").store,
    "IcechunkStore-writable": lambda lib, repo: repo.writable_session("main").store,
}

@pytest.fixture(scope="module")
def repo_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("reprs") / "repo")
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(path))
    session = repo.writable_session("main")
    arr = zarr.group(session.store).create_array("a", shape=(4,), chunks=(2,), dtype="i4")
    arr[:] = np.arange(4)
    session.commit("first", metadata={"author": "me"})
    snap = repo.lookup_branch("main")
    repo.create_branch("dev", snap)
    repo.create_tag("v1", snap)
    return path


def _open(lib: Any, path: str) -> Any:
    return lib.Repository.open(lib.local_filesystem_storage(path))


# -- comparing ----------------------------------------------------------------------------------

_STYLE = re.compile(r"<style>.*?</style>\n?", re.S)


def _as_frazil(text: str) -> str:
    return text.replace("icechunk.", "frazil.")


def _forms(obj: Any) -> tuple[str, str, str | None]:
    html = obj._repr_html_() if hasattr(obj, "_repr_html_") else None
    return str(obj), repr(obj), html


def _assert_same_forms(ice: Any, flo: Any) -> None:
    i_str, i_repr, i_html = _forms(ice)
    f_str, f_repr, f_html = _forms(flo)
    assert f_str == _as_frazil(i_str)
    assert f_repr == _as_frazil(i_repr)
    assert (f_html is None) == (i_html is None), "_repr_html_ present in one library only"
    if i_html is not None:
        assert _STYLE.sub("", f_html) == _as_frazil(_STYLE.sub("", i_html))


@pytest.mark.parametrize("case", sorted(VALUE_CASES))
def test_value_objects_print_as_icechunk(case: str) -> None:
    make = VALUE_CASES[case]
    _assert_same_forms(make(icechunk), make(frazil))


@pytest.mark.parametrize("case", sorted(REPO_CASES))
def test_repository_objects_print_as_icechunk(case: str, repo_dir: str) -> None:
    make = REPO_CASES[case]
    _assert_same_forms(make(icechunk, _open(icechunk, repo_dir)),
                       make(frazil, _open(frazil, repo_dir)))


def test_repository_prints_as_icechunk_around_its_storage(repo_dir: str) -> None:
    """The storage block itself is the storage classes' own text; the rest is icechunk's."""
    ice, flo = _open(icechunk, repo_dir), _open(frazil, repo_dir)
    storage = "\n".join("    " + line for line in str(flo._storage).splitlines())
    storage = f"storage:\n{storage}" if "\n" in str(flo._storage) else \
        f"storage: {flo._storage}"
    want = f"<frazil.Repository (v2)>\n{storage}\nconfig: <RepositoryConfig ...>\n"
    assert str(flo) == repr(flo) == want
    assert str(ice).startswith("<icechunk.Repository (v2)>\nstorage:\n")
    assert str(ice).endswith("\nconfig: <RepositoryConfig ...>\n")
    # in notebooks the whole config is shown, as icechunk's
    f_html = _STYLE.sub("", flo._repr_html_())
    assert '<div class="icechunk-header">frazil.Repository (v2)</div>' in f_html
    assert _STYLE.sub("", flo.config._repr_html_()) in f_html


def test_snapshot_metadata_text_as_icechunk() -> None:
    """Nested JSON metadata prints in icechunk's notation (one key: its map order is free)."""
    md = {"k": [1, "x", None, True, 2.5, {"z": 1, "a": {}}]}
    texts = []
    for lib in (icechunk, frazil):
        repo = lib.Repository.create(lib.in_memory_storage())
        session = repo.writable_session("main")
        zarr.group(session.store)
        session.commit("m", metadata=md)
        texts.append(str(next(iter(repo.ancestry(branch="main")))).splitlines()[-1])
    assert texts[1] == texts[0]


def test_config_containers_print_as_icechunk() -> None:
    """Each container of a config, in all three forms (the order of the map is icechunk's
    hash order, so one container per config)."""
    for make in (VALUE_CASES["VirtualChunkContainer-file"],
                 VALUE_CASES["VirtualChunkContainer-http"],
                 VALUE_CASES["VirtualChunkContainer-gcs"]):
        configs = []
        for lib in (icechunk, frazil):
            cfg = lib.RepositoryConfig.default()
            cfg.set_virtual_chunk_container(make(lib))
            configs.append(cfg)
        _assert_same_forms(*configs)


def test_conflicts_of_a_failed_rebase_print_as_icechunk(tmp_path) -> None:
    texts = []
    for lib in (icechunk, frazil):
        repo = lib.Repository.create(lib.local_filesystem_storage(str(tmp_path / lib.__name__)))
        session = repo.writable_session("main")
        zarr.group(session.store).create_array("a", shape=(4,), chunks=(2,), dtype="i4")
        session.commit("init")
        s1, s2 = repo.writable_session("main"), repo.writable_session("main")
        zarr.open_array(s1.store, path="a")[:] = 1
        zarr.open_array(s2.store, path="a")[:] = 2
        s1.commit("one")
        with pytest.raises(lib.RebaseFailedError) as err:
            s2.rebase(lib.ConflictDetector())
        snapshot = err.value.snapshot
        texts.append([str(err.value).replace(snapshot, "SNAP"),
                      repr(err.value).replace(snapshot, "SNAP"),
                      *(_forms(c) for c in err.value.conflicts)])
    assert texts[1][0] == texts[0][0] == "Rebase failed on snapshot SNAP: 1 conflicts found"
    assert texts[1][1] == _as_frazil(texts[0][1])
    assert [(s, r) for s, r, _ in texts[1][2:]] == [(_as_frazil(s), _as_frazil(r))
                                                    for s, r, _ in texts[0][2:]]


# -- HTML structure --------------------------------------------------------------------------


class _Structure(HTMLParser):
    """Checks tags nest properly and collects headers and field names."""

    VOID = {"br", "hr", "img", "meta", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.capture: str | None = None
        self.headers: list[str] = []
        self.names: list[str] = []
        self.repr_divs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        if tag not in self.VOID:
            self.stack.append(tag)
        if cls == "icechunk-repr":
            self.repr_divs += 1
        if cls in ("icechunk-header", "icechunk-field-name"):
            self.capture = cls

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        self.capture = None

    def handle_data(self, data: str) -> None:
        if self.capture == "icechunk-header":
            self.headers.append(data)
        elif self.capture == "icechunk-field-name":
            self.names.append(data.rstrip(":"))


def _str_field_names(text: str) -> list[str]:
    """Top-level field names of a ``str`` form (lines not indented)."""
    return [line.split(":", 1)[0] for line in text.splitlines()[1:]
            if line and not line.startswith(" ")]


def _frazil_objects(repo_dir: str) -> dict[str, Any]:
    objs = {name: make(frazil) for name, make in VALUE_CASES.items()}
    repo = _open(frazil, repo_dir)
    objs.update({name: make(frazil, repo) for name, make in REPO_CASES.items()})
    objs["Repository"] = repo
    return objs


@pytest.mark.parametrize("case", sorted([*VALUE_CASES, *REPO_CASES, "Repository"]))
def test_html_is_well_formed_and_names_every_field(case: str, repo_dir: str) -> None:
    obj = _frazil_objects(repo_dir)[case]
    if not hasattr(obj, "_repr_html_"):
        assert not hasattr(icechunk, case.split("-")[0]) or not hasattr(
            getattr(icechunk, case.split("-")[0]), "_repr_html_")
        return
    html = obj._repr_html_()
    parser = _Structure()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    assert html.lstrip().startswith("<style>") and parser.repr_divs >= 1
    text = str(obj)
    if text.startswith("<frazil."):
        assert parser.headers[0] == text.splitlines()[0][1:-1]
        assert set(_str_field_names(text)) <= set(parser.names)


# -- secrets ---------------------------------------------------------------------------------

SECRETS = ("SECRETKEY0123456789", "SESSIONTOKEN0123456", "SASTOKEN0123456789x",
           "BEARER0123456789xyz", "SERVICEACCOUNTKEYxyz", "AZUREACCESSKEY01234",
           "HEADERVALUE0123456x")


def _refresh_s3() -> Any:
    return frazil.S3StaticCredentials("AKIAREFRESH", SECRETS[0], SECRETS[1])


def _refresh_gcs() -> Any:
    return frazil.GcsBearerCredential(bearer=SECRETS[3], expires_after=T)


def _refresh_azure() -> Any:
    return frazil.AzureRefreshableCredential.AccessKey(SECRETS[5], expires_after=T)


def _credentials(lib: Any) -> list[Any]:
    """Every kind of credential object frazil has, each holding secrets."""
    return [
        lib.S3StaticCredentials("AKIAEXAMPLEKEY", SECRETS[0], SECRETS[1], T),
        lib.s3_static_credentials(access_key_id="AKIAEXAMPLEKEY", secret_access_key=SECRETS[0],
                                  session_token=SECRETS[1]),
        lib.s3_credentials(access_key_id="AKIAEXAMPLEKEY", secret_access_key=SECRETS[0]),
        lib.S3Credentials.Static(lib.S3StaticCredentials("AKIAEXAMPLEKEY", SECRETS[0])),
        lib.s3_refreshable_credentials(_refresh_s3, scatter_initial_credentials=True),
        lib.GcsBearerCredential(bearer=SECRETS[3], expires_after=T),
        lib.gcs_static_credentials(service_account_key=SECRETS[4]),
        lib.gcs_static_credentials(bearer_token=SECRETS[3]),
        lib.gcs_credentials(service_account_key=SECRETS[4]),
        lib.gcs_refreshable_credentials(_refresh_gcs, scatter_initial_credentials=True),
        lib.azure_static_credentials(access_key=SECRETS[5]),
        lib.azure_static_credentials(sas_token=SECRETS[2]),
        lib.azure_static_credentials(bearer_token=SECRETS[3]),
        lib.azure_credentials(access_key=SECRETS[5]),
        lib.azure_refreshable_credentials(_refresh_azure, scatter_initial_credentials=True),
        lib.AzureRefreshableCredential.SasToken(SECRETS[2], expires_after=T),
        lib.AzureRefreshableCredential.BearerToken(SECRETS[3], None),
    ]


def _secret_holders() -> dict[str, Any]:
    creds = _credentials(frazil)
    cfg = frazil.RepositoryConfig.default()
    for prefix, store in (
            ("gs://b/", frazil.ObjectStoreConfig.Gcs({"service_account_key": SECRETS[4],
                                                      "bucket": "b"})),
            ("az://c/", frazil.ObjectStoreConfig.Azure({"account": "a",
                                                        "access_key": SECRETS[5],
                                                        "sas_token": SECRETS[2]})),
            ("https://h/", frazil.http_store({"timeout": "5s"},
                                             {"Authorization": f"Bearer {SECRETS[3]}",
                                              "X-Custom": SECRETS[6]}))):
        cfg.set_virtual_chunk_container(frazil.VirtualChunkContainer(prefix, store))
    holders = {f"{type(c).__qualname__}-{i}": c for i, c in enumerate(creds)}
    wrapped = frazil.containers_credentials({f"s3://b{i}/": c for i, c in enumerate(creds[:5])})
    wrapped.update(frazil.containers_credentials({"gs://g/": creds[6], "az://a/": creds[10]}))
    holders.update({f"wrapped-{k}": v for k, v in wrapped.items()})
    holders["containers_credentials"] = wrapped
    holders["RepositoryConfig"] = cfg
    holders["VirtualChunkContainer-http"] = cfg.virtual_chunk_containers["https://h/"]
    holders["http_store"] = frazil.http_store(headers={"Authorization": SECRETS[6]})
    return holders


@pytest.mark.parametrize("case", sorted(_secret_holders()))
def test_no_secret_in_any_form(case: str) -> None:
    obj = _secret_holders()[case]
    texts = [str(obj), repr(obj)]
    if hasattr(obj, "_repr_html_"):
        texts.append(obj._repr_html_())
    for text in texts:
        leaked = [s for s in SECRETS if s in text or s[:12] in text]
        assert not leaked, f"{case} shows {leaked}:\n{text}"
    if case.startswith(("S3Credentials", "S3StaticCredentials")) and "AKIA" in repr(obj):
        assert "AKIA****" in repr(obj)  # the access key id as icechunk shows it


def test_every_credential_kind_has_the_three_forms() -> None:
    """icechunk prints most credential objects as ``<builtins.X object at 0x...>``; frazil
    gives each the three forms, in icechunk's layout."""
    for cred in _credentials(frazil):
        text = str(cred)
        assert text.startswith("<frazil.credentials.") and repr(cred) == text
        parser = _Structure()
        parser.feed(cred._repr_html_())
        assert parser.stack == [] and parser.headers[0] == text.splitlines()[0][1:-1]


def test_every_ops_log_entry_prints_as_icechunk(tmp_path) -> None:
    """All kinds of ops-log entries icechunk writes, read back by both libraries."""
    path = str(tmp_path / "repo")
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(path))
    session = repo.writable_session("main")
    zarr.group(session.store).create_array("a", shape=(4,), chunks=(2,), dtype="i4")
    session.commit("c1")
    session = repo.writable_session("main")
    zarr.open_array(session.store, path="a")[:] = 1
    session.amend("c1 again")
    snap = repo.lookup_branch("main")
    repo.create_branch("dev", snap)
    repo.reset_branch("dev", list(repo.ancestry(branch="main"))[-1].id)
    repo.delete_branch("dev")
    repo.create_tag("t", snap)
    repo.delete_tag("t")
    repo.set_metadata({"owner": "me"})
    repo.set_feature_flag("move_node", False)
    repo.set_status(icechunk.RepoStatus(icechunk.RepoAvailability.read_only, T, "x \"quoted\""))
    repo.set_status(icechunk.RepoStatus(icechunk.RepoAvailability.online, T.replace(
        microsecond=5000)))
    repo.config.inline_chunk_threshold_bytes = 5
    repo.save_config()
    repo.expire_snapshots(T)
    repo.garbage_collect(T.replace(year=2000))
    ice, flo = list(_open(icechunk, path).ops_log()), list(_open(frazil, path).ops_log())
    assert len(ice) == len(flo) >= 14
    for a, b in zip(ice, flo, strict=True):
        _assert_same_forms(a, b)


def _statuses(lib: Any) -> list[Any]:
    """A moving session's status, then one with updated and deleted nodes."""
    repo = lib.Repository.create(lib.in_memory_storage())
    session = repo.writable_session("main")
    root = zarr.group(session.store)
    root.create_group("g")
    root.create_array("g/a", shape=(4,), chunks=(2,), dtype="i4")
    session.commit("init")
    session = repo.rearrange_session("main")
    session.move("/g", "/h")
    out = [session.status()]
    session.commit("moved")
    session = repo.writable_session("main")
    root = zarr.open_group(session.store)
    root.attrs["x"] = 1
    zarr.open_array(session.store, path="h/a")[:2] = 5
    root.create_group("new")
    del root["h"]
    out.append(session.status())
    return out


def test_session_status_prints_as_icechunk() -> None:
    for ice, flo in zip(_statuses(icechunk), _statuses(frazil), strict=True):
        _assert_same_forms(ice, flo)


@pytest.mark.parametrize("case", sorted(VALUE_CASES))
def test_executable_reprs_rebuild_the_object(case: str) -> None:
    """Where icechunk's ``repr`` evaluates back to an equal object, frazil's does too."""
    make = VALUE_CASES[case]
    ice = make(icechunk)
    if not repr(ice).startswith("icechunk."):
        pytest.skip("icechunk's repr is not constructor syntax")
    try:
        ice_back = eval(repr(ice), {"icechunk": icechunk})
    except (NameError, AttributeError):
        pytest.skip("icechunk's repr does not evaluate either")
    assert ice_back == ice
    flo = make(frazil)
    assert eval(repr(flo), {"frazil": frazil}) == flo


def test_option_dicts_hide_credentials_only() -> None:
    store = frazil.ObjectStoreConfig.Azure({"account": "acct", "skip_signature": "true",
                                            "client_secret": SECRETS[0],
                                            "azure_storage_account_key": SECRETS[5]})
    want = ('config: Some({"account": "acct", "skip_signature": "true", '
            '"client_secret": "****", "azure_storage_account_key": "****"})')
    assert want in str(store)
    assert want.replace("config: ", "") in repr(store)


def test_object_stores_of_plugin_kinds_print_their_options() -> None:
    """A kind icechunk has no variant for (a plugin's) shows its kind and options, rebuilds
    from its repr, and hides credentials."""
    store = frazil.ObjectStoreConfig("sqlite", {"path": "/db.sqlite", "password": SECRETS[0]})
    assert str(store) == ('<frazil.virtual.ObjectStoreConfig>\nkind: "sqlite"\n'
                          'options: {"path": "/db.sqlite", "password": "****"}\n')
    assert repr(store) == ('frazil.virtual.ObjectStoreConfig("sqlite", '
                           '{"path": "/db.sqlite", "password": "****"})')
    plain = frazil.ObjectStoreConfig("sqlite", {"path": "/db.sqlite"})
    assert eval(repr(plain), {"frazil": frazil}) == plain


def test_persisted_config_prints_as_icechunk(tmp_path) -> None:
    """A config icechunk saved with every field set (repo update retries too), read back
    by both libraries."""
    from icechunk._icechunk_python import RepoUpdateRetryConfig

    cfg = _full_config(icechunk)
    cfg.repo_update_retries = RepoUpdateRetryConfig(
        default=icechunk.StorageRetriesSettings(max_tries=3))
    path = str(tmp_path / "repo")
    icechunk.Repository.create(icechunk.local_filesystem_storage(path), config=cfg)
    _assert_same_forms(icechunk.Repository.fetch_config(icechunk.local_filesystem_storage(path)),
                       frazil.Repository.fetch_config(frazil.local_filesystem_storage(path)))


def test_layout_helpers() -> None:
    from frazil._repr import json_debug_text, repr_form, str_form

    nested = "<a.B>\nx: 1\n"
    assert str_form("a.C", [("b", nested), ("y", "2")]) == \
        "<a.C>\nb:\n    <a.B>\n    x: 1\ny: 2\n"
    assert repr_form("a.C", [("b", "a.B(\n    x=1,\n)"), ("y", "2")]) == \
        "a.C(\n    b=a.B(\n        x=1,\n    ),\n    y=2,\n)"
    # metadata that is not JSON still prints (as a string), never raises
    assert json_debug_text([1, (2,), datetime.date(2020, 1, 1)]) == \
        'JsonValue(Array [Number(1), Array [Number(2)], String("2020-01-01")])'


def test_html_escapes_as_icechunk_does() -> None:
    """icechunk escapes only angle brackets in its notebook form; an ``&`` stays as is."""
    def body(h: str) -> str:
        return re.sub(r"<style>.*?</style>", "", h, flags=re.S)

    forms = {lib.__name__: body(lib.VirtualChunkContainer(
        "s3://a&b/", lib.s3_store(region="us&<x>"))._repr_html_()) for lib in (icechunk, frazil)}
    assert forms["frazil"].replace("frazil.", "icechunk.") == forms["icechunk"]
    assert '"us&&lt;x&gt;"' in forms["frazil"]
