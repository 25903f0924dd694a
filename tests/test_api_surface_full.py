"""icechunk 2.3's whole public surface, walked name by name against frazil (issue #19).

The walker is tests/_surface.py. A difference fails this test unless it is

- ALLOWED below: a genuine Rust/PyO3 internal, which a Python implementation has no reason to
  copy, each with its reason; or
- PENDING in tests/_surface_pending.py: work not done yet, one reason per entry. That list may
  only shrink: an entry that no longer matches a difference fails too.
"""

from __future__ import annotations

import pytest

icechunk = pytest.importorskip("icechunk")

from _surface import Difference, surface_differences  # noqa: E402
from _surface_pending import PENDING  # noqa: E402

#: the constructors of icechunk's Python wrappers take the PyO3 object they wrap
#: (``Repository(repository)``, ``Session(session)``, ``IcechunkStore(store, ...)``); nobody builds
#: these directly: they come from ``Repository.create/open`` and ``repo.*_session()``.
_WRAPPER_CONSTRUCTORS = {"Repository()", "Session()", "ForkSession()", "IcechunkStore()"}


def allowed(diff: Difference) -> bool:
    """The short list of Rust internals frazil does not copy."""
    parts = diff.path.split(".")
    # PyO3 gives every variant class of a complex enum (Enum.Variant) a tuple protocol over its
    # fields (``variant[0]``, ``len(variant)``); frazil's variants expose their fields by name
    if parts[-1] in ("__getitem__", "__len__") and diff.message == "missing" and \
            len(parts) >= 3 and parts[-2][0].isupper() and parts[-3][0].isupper():
        return True
    return any(diff.path == p or diff.path.endswith("." + p) for p in _WRAPPER_CONSTRUCTORS)


@pytest.fixture(scope="module")
def differences() -> list[Difference]:
    return surface_differences()


def test_no_unexplained_difference(differences):
    unexplained = [str(d) for d in differences if not allowed(d) and str(d) not in PENDING]
    assert unexplained == [], "\n".join(unexplained)


def test_pending_list_only_names_real_differences(differences):
    current = {str(d) for d in differences}
    stale = [entry for entry in PENDING if entry not in current]
    assert stale == [], "fixed: remove from tests/_surface_pending.py:\n" + "\n".join(stale)


def test_walker_sees_a_difference():
    """The walker is not blind: a renamed parameter and a missing member are reported."""
    from _surface import compare_class

    class Ice:
        def __init__(self, a: int = 1) -> None: ...
        def f(self, x, *, y=2): ...
        @staticmethod
        def g(): ...

    class Flo:
        def __init__(self, b: int = 1) -> None: ...
        def f(self, x, *, y=3): ...

    found = {str(d) for d in compare_class("Ice", Ice, Flo, "Ice", set())}
    assert found == {"Ice(): parameters ['a'] != frazil ['b']",
                     "Ice.f: parameter y: default 2 != frazil 3",
                     "Ice.g: missing"}


# ------------------------------------------------------------- behaviour behind the fixes
@pytest.fixture(params=["icechunk", "frazil"])
def ic(request):
    return pytest.importorskip(request.param)


def test_repository_metadata_accessors_have_icechunks_shape(ic):
    repo = ic.Repository.create(ic.in_memory_storage())
    repo.set_default_commit_metadata({"author": "me"})
    assert repo.default_commit_metadata() == {"author": "me"}  # a method
    assert repo.authorized_virtual_container_prefixes == set()  # a property


def test_commit_keywords_in_any_order(ic):
    repo = ic.Repository.create(ic.in_memory_storage())
    session = repo.writable_session("main")
    with pytest.raises(TypeError):
        session.commit("m", None, False)  # rebase_with and later are keyword-only
    with pytest.raises(TypeError):
        session.commit("m", not_an_argument=1)
    snap = session.commit("m", allow_empty=True, rebase_tries=3)
    assert [s.id for s in repo.ancestry(branch="main")][0] == snap


def test_condition_constructors_return_icechunks_variant_classes(ic):
    pre, split = ic.ManifestPreloadCondition, ic.ManifestSplitCondition
    n = pre.NumRefs(1, 2)
    assert (getattr(n, "from"), n.to) == (1, 2)
    assert isinstance(n, pre.NumRefs) and isinstance(n, pre)
    assert pre.NameMatches(regex="x").regex == "x"
    assert type(pre.name_matches("y")) is pre.NameMatches
    assert [c.regex for c in pre.And([pre.NameMatches("x")])._0] == ["x"]
    assert type(pre.num_refs(1, None)) is pre.NumRefs
    assert getattr(pre.num_refs(None, None), "from") is None and pre.num_refs(None, 5).to == 5
    assert type(pre.path_matches("a") | pre.true()) is pre.Or
    assert type(split.AnyArray()) is split.AnyArray
    assert type(split.or_conditions([split.path_matches("a"), split.AnyArray()])) is split.Or
    assert pre.PathMatches("a") == pre.path_matches("a")
    sizes = {split.AnyArray(): {ic.ManifestSplitDimCondition.Any(): 2}}
    cfg = ic.ManifestSplittingConfig.from_dict(sizes)
    for as_dict in (cfg.to_dict(), ic.ManifestSplittingConfig.to_dict(cfg)):
        ((cond, dims),) = as_dict.items()
        assert type(cond) is split.AnyArray and list(dims.values()) == [2]


def test_conflict_type_from_its_value(ic):
    assert ic.ConflictType(6) == ic.ConflictType.ChunkDoubleUpdate


def test_compression_algorithm_called_bare_is_the_default(ic):
    assert ic.CompressionAlgorithm() == ic.CompressionAlgorithm.default() \
        == ic.CompressionAlgorithm.Zstd


def test_submodules_reexport_icechunks_names(ic):
    from importlib import import_module

    credentials, config = import_module(f"{ic.__name__}.credentials"), ic.config
    assert credentials.s3_static_credentials is ic.s3_static_credentials
    assert credentials.GcsCredentials is ic.GcsCredentials
    assert credentials.AzureStaticCredentials is ic.AzureStaticCredentials
    assert config.initialize_logs is ic.initialize_logs and config.Attribution is ic.Attribution
    assert config.ObjectStoreConfig is ic.ObjectStoreConfig
    assert import_module(f"{ic.__name__}.repository").IcechunkStore is ic.IcechunkStore
    assert type(config.RepositoryConfig.default()) is ic.RepositoryConfig
    with pytest.raises(AttributeError):
        credentials.s3_storage  # noqa: B018 - a storage, not a credential


def test_dask_merge_helpers(ic, tmp_path):
    import zarr

    da = pytest.importorskip("dask.array")
    ic_dask = pytest.importorskip(f"{ic.__name__}.dask")
    calls = []
    step = ic_dask.computing_meta(lambda *a, **k: calls.append(a) or "ran")
    meta = step(1, computing_meta=True)
    assert meta.dtype == object and meta.shape == (1,) and calls == []
    assert step(2) == "ran" and calls == [(2,)]

    repo = ic.Repository.create(ic.local_filesystem_storage(str(tmp_path)))
    session = repo.writable_session("main")
    root = zarr.group(session.store)
    for name in ("a", "b"):
        root.create_array(name, shape=(8,), chunks=(2,), dtype="i4", fill_value=0)
    session.commit("arrays")
    session = repo.writable_session("main")
    fork = session.fork()
    targets = [zarr.open_array(fork.store, path=name) for name in ("a", "b")]
    sources = [da.arange(8, chunks=2, dtype="i4"), da.full(8, 7, chunks=4, dtype="i4")]
    stored = da.store(sources, targets, compute=False, return_stored=True,
                      load_stored=False, lock=False)
    merged = ic_dask.session_merge_reduction(list(stored), split_every=2)
    assert type(merged).__name__ == "ForkSession"
    again = ic_dask.merge_sessions_array_kwargs(merged, axis=(0,), keepdims=False)
    assert again is not None
    session.merge(merged)
    session.commit("written by dask")
    read = zarr.open_group(repo.readonly_session("main").store, mode="r")
    assert read["a"][:].tolist() == list(range(8)) and read["b"][:].tolist() == [7] * 8


def test_update_kinds_take_their_fields_by_position_or_name(ic):
    kind = ic.UpdateType.BranchDeleted("b", "SNAP")
    assert (kind.name, kind.previous_snap_id) == ("b", "SNAP")
    assert ic.UpdateType.RepoMigrated(from_version=1, to_version=2).to_version == 2
    with pytest.raises(TypeError):
        ic.UpdateType.TagCreated()


def test_credential_constructors_take_icechunks_arguments(ic):
    import pickle
    from datetime import UTC, datetime

    when = datetime(2030, 1, 1, tzinfo=UTC)
    assert ic.AzureRefreshableCredential.SasToken("tok", when).expires_after == when
    with pytest.raises(TypeError):
        ic.AzureRefreshableCredential.AccessKey("key")  # expires_after is required
    with pytest.raises(TypeError):
        ic.GcsBearerCredential("tok", when)  # expires_after is keyword-only
    assert ic.GcsBearerCredential("tok", expires_after=when).expires_after == when
    pickled = pickle.dumps(datetime.now)
    assert ic.AzureCredentials.Refreshable(pickled, None).pickled_function == pickled
    with pytest.raises(TypeError):
        ic.GcsCredentials.Refreshable(pickled)  # current is required


def _static_s3_credentials():  # module level: picklable by reference
    import frazil

    return frazil.S3StaticCredentials("refreshed", "secret")


def test_s3_credential_variants(ic):
    import pickle

    if ic.__name__ == "frazil":
        pytest.importorskip("frazil_s3")
    static = ic.S3StaticCredentials("key", "secret")
    made = ic.S3Credentials.Static(static)
    assert isinstance(made, ic.S3Credentials.Static) and isinstance(made, ic.S3Credentials)
    assert type(ic.s3_static_credentials(access_key_id="k", secret_access_key="s")) \
        is ic.S3Credentials.Static
    assert type(ic.s3_anonymous_credentials()) is ic.S3Credentials.Anonymous
    assert type(ic.s3_from_env_credentials()) is ic.S3Credentials.FromEnv
    pickled = pickle.dumps(_static_s3_credentials)
    refreshable = ic.S3Credentials.Refreshable(pickled, None)
    assert refreshable.pickled_function == pickled and refreshable.current is None
    assert type(ic.s3_refreshable_credentials(_static_s3_credentials)) \
        is ic.S3Credentials.Refreshable
    if ic.__name__ == "frazil":  # the function frazil calls is the unpickled one
        assert refreshable.get_credentials().access_key_id == "refreshed"
        with pytest.raises(ic.InvalidInputError, match="pickled"):
            ic.S3Credentials.Refreshable(_static_s3_credentials, None)


def test_feature_flags_and_ancestry_graph_from_their_icechunk_modules(ic):
    from importlib import import_module

    assert ic.config.FeatureFlag is ic.FeatureFlag
    assert import_module(f"{ic.__name__}.snapshots").AncestryGraph is ic.AncestryGraph
    repo = ic.Repository.create(ic.in_memory_storage())
    flags = {f.name: f for f in repo.feature_flags()}
    assert isinstance(flags["move_node"], ic.config.FeatureFlag) and flags["move_node"].enabled


def test_store_listings_iterate_both_ways_and_close(ic):
    import asyncio
    import contextlib
    from importlib import import_module

    import zarr

    session = ic.Repository.create(ic.in_memory_storage()).writable_session("main")
    root = zarr.group(session.store)
    root.create_array("a", shape=(4,), chunks=(2,), dtype="i1")[:] = 1
    listing = session.store.list()
    assert isinstance(listing, import_module(f"{ic.__name__}.repository").AsyncCloseableIterator)
    assert sorted(listing) == ["a/c/0", "a/c/1", "a/zarr.json", "zarr.json"]
    assert sorted(session.store.list_dir("a")) == ["c", "zarr.json"]

    async def first_then_close():
        async with contextlib.aclosing(session.store.list_prefix("a/")) as keys:
            async for key in keys:
                return key

    assert asyncio.run(first_then_close()).startswith("a/")


def test_s3_options_arguments_and_unset_timeout(ic):
    if ic.__name__ == "frazil":
        pytest.importorskip("frazil_s3")
    opts = ic.S3Options("us-east-1", None, False, False, True, None, True, None)
    assert (opts.region, opts.force_path_style, opts.requester_pays) == ("us-east-1", True, True)
    assert ic.S3Options().network_stream_timeout_seconds is None


def test_unset_stream_timeout_caps_reads_at_the_default():
    frazil_s3 = pytest.importorskip("frazil_s3")
    from frazil_s3._client import S3Client

    client = S3Client(frazil_s3.S3Options(), frazil_s3.s3_anonymous_credentials(),
                      frazil_s3.S3Settings())
    assert client._read_timeout() <= 60


def test_object_store_variants_persist_as_icechunks(tmp_path):
    """Variants built positionally, as in icechunk, persist the same config icechunk writes."""
    import frazil

    pytest.importorskip("frazil_s3")

    def containers(ic):
        return {"s3://b/": ic.ObjectStoreConfig.S3(ic.S3Options(region="x")),
                "s3://c/": ic.ObjectStoreConfig.S3Compatible(
                    ic.S3Options(region="y", endpoint_url="https://e")),
                "https://h/": ic.ObjectStoreConfig.Http({"a": "b"}, {"H": "v"}),
                "gcs://g/": ic.ObjectStoreConfig.Gcs({"k": "v"}),
                "file:///tmp/": ic.ObjectStoreConfig.LocalFileSystem("/tmp")}

    cfg = icechunk.RepositoryConfig.default()
    for prefix, store in containers(icechunk).items():
        cfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer(prefix, store))
    icechunk.Repository.create(icechunk.local_filesystem_storage(str(tmp_path)), config=cfg)
    read = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path))).config
    for prefix, store in containers(frazil).items():
        assert read.get_virtual_chunk_container(prefix).store._to_dict() == store._to_dict()
    with pytest.raises(TypeError):
        frazil.ObjectStoreConfig.Http({"a": "b"})  # icechunk requires both fields


def test_storage_module_reexports_icechunks_names(ic):
    from importlib import import_module

    storage = import_module(f"{ic.__name__}.storage")
    assert storage.StorageSettings is ic.StorageSettings and storage.ChunkType is ic.ChunkType
    assert storage.local_filesystem_store is ic.local_filesystem_store
    if ic.__name__ == "frazil":
        pytest.importorskip("frazil_s3")
    assert storage.s3_storage is ic.s3_storage and storage.S3Options is ic.S3Options
    with pytest.raises(AttributeError):
        storage.not_a_storage_name  # noqa: B018


def test_async_history_iterators(ic):
    import asyncio

    repo = ic.Repository.create(ic.in_memory_storage())
    repo.create_branch("dev", repo.lookup_branch("main"))

    async def collect():
        kinds = [type(u.kind).__name__ async for u in repo.ops_log_async()]
        snaps = [s.message async for s in repo.async_ancestry(branch="main")]
        return kinds, snaps

    kinds, snaps = asyncio.run(collect())
    assert kinds == ["BranchCreated", "RepoInitialized"]
    assert snaps == ["Repository initialized"]
    assert [type(u.kind).__name__ for u in repo.ops_log()] == kinds


def test_repository_attribution_and_ancestry_arguments(ic):
    repo = ic.Repository.create(ic.in_memory_storage())
    unset = repo.attribution
    assert (unset.client, unset.workload, unset.principal) == (None, None, None)
    with pytest.raises(ValueError):
        repo.async_ancestry()  # checked when called, not when iterated
    assert [type(u.kind).__name__ for u in repo.ops_log()] == ["RepoInitialized"]


def test_ops_log_of_a_v1_repository_is_refused_when_called(ic):
    repo = ic.Repository.create(ic.in_memory_storage(), spec_version=1)
    for call in (repo.ops_log, repo.ops_log_async):
        with pytest.raises(ic.FormatError):
            call()


def test_ancestry_resolves_its_ref_when_called(ic):
    import asyncio

    repo = ic.Repository.create(ic.in_memory_storage())
    for call in (repo.ancestry, repo.async_ancestry):
        with pytest.raises(ic.RefNotFoundError):
            call(branch="no-such-branch")
    history = repo.ancestry(branch="main")
    assert [s.message for s in history] == ["Repository initialized"]

    async def both():
        return [s.id async for s in repo.ancestry(branch="main")]

    assert asyncio.run(both()) == [repo.lookup_branch("main")]


@pytest.mark.parametrize("algorithm", ["Crc32", "Crc32c", "Crc64Nvme", "Sha1", "Sha256"])
def test_checksum_algorithm_persists_as_icechunks(tmp_path, algorithm):
    import frazil

    pytest.importorskip("frazil_s3")

    def store(ic):
        return ic.s3_store(region="x", checksum_algorithm=getattr(ic.ChecksumAlgorithm, algorithm))

    cfg = icechunk.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer("s3://b/", store(icechunk)))
    icechunk.Repository.create(icechunk.local_filesystem_storage(str(tmp_path)), config=cfg)
    read = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path))).config
    theirs = read.get_virtual_chunk_container("s3://b/").store
    mine = frazil.VirtualChunkContainer("s3://b/", store(frazil)).store
    assert theirs._to_dict() == mine._to_dict()
    assert frazil.ChecksumAlgorithm.parse("crc64nvme") is frazil.ChecksumAlgorithm.Crc64Nvme
    assert frazil.ChecksumAlgorithm.Crc64Nvme.boto_name == "CRC64NVME"


def test_repo_update_retries_is_a_config_record_both_ways(tmp_path):
    import frazil
    from frazil.config import RepoUpdateRetryConfig

    ice_retry = icechunk._icechunk_python.RepoUpdateRetryConfig  # icechunk exports no name
    retries = ice_retry(default=icechunk.StorageRetriesSettings(max_tries=7))
    icechunk.Repository.create(icechunk.local_filesystem_storage(str(tmp_path / "a")),
                               config=icechunk.RepositoryConfig(repo_update_retries=retries))
    read = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path / "a"))).config
    assert isinstance(read.repo_update_retries, RepoUpdateRetryConfig)
    assert read.repo_update_retries.default.max_tries == 7
    mine = RepoUpdateRetryConfig(default=frazil.StorageRetriesSettings(max_tries=5))
    frazil.Repository.create(frazil.local_filesystem_storage(str(tmp_path / "b")),
                             config=frazil.RepositoryConfig(repo_update_retries=mine))
    back = icechunk.Repository.open(icechunk.local_filesystem_storage(str(tmp_path / "b")))
    assert back.config.repo_update_retries.default.max_tries == 5


@pytest.mark.parametrize("text", ["11111111111111111111", "1111111111111111111Z"])
def test_snapshot_id_padding_bits_are_dropped(ic, text):
    """A 20-character id whose last character carries padding bits is an id that is not
    there (icechunk drops those bits), not an invalid one."""
    repo = ic.Repository.create(ic.in_memory_storage())
    for call in (lambda: repo.readonly_session(snapshot_id=text),
                 lambda: repo.reset_branch("main", text),
                 lambda: repo.create_branch("b", text)):
        with pytest.raises(ic.SnapshotNotFoundError):
            call()


@pytest.mark.parametrize("spec_version", [1, 2])
def test_missing_refs_are_ref_not_found(ic, spec_version):
    repo = ic.Repository.create(ic.in_memory_storage(), spec_version=spec_version)
    calls = [lambda: repo.lookup_branch("nope"), lambda: repo.lookup_tag("nope"),
             lambda: repo.delete_branch("nope"), lambda: repo.delete_tag("nope"),
             lambda: repo.writable_session("nope"), lambda: repo.readonly_session(tag="nope"),
             lambda: repo.ancestry(branch="nope"),
             lambda: repo.reset_branch("nope", repo.lookup_branch("main"))]
    for call in calls:
        with pytest.raises(ic.RefNotFoundError) as err:
            call()
        assert err.value.kind == ic.ErrorKind.REF_NOT_FOUND


def test_forking_a_read_only_session_names_its_kind(ic):
    repo = ic.Repository.create(ic.in_memory_storage())
    with pytest.raises(ic.SessionStateError) as err:
        repo.readonly_session("main").fork()
    assert err.value.kind == ic.ErrorKind.CANNOT_FORK_READ_ONLY_SESSION


def test_metadata_with_non_string_keys_is_refused_cleanly(ic):
    """icechunk raises TypeError; frazil raises InvalidInputError (a ValueError), never a raw
    AttributeError from inside the encoder, and nothing is written."""
    repo = ic.Repository.create(ic.in_memory_storage())
    for call in (lambda: repo.set_metadata({1: 2}),
                 lambda: repo.writable_session("main").commit("m", metadata={1: 2},
                                                               allow_empty=True)):
        with pytest.raises((TypeError, ValueError)):
            call()
    assert repo.get_metadata() == {}
    assert len(list(repo.ancestry(branch="main"))) == 1


def test_unknown_feature_flag_kind(ic):
    repo = ic.Repository.create(ic.in_memory_storage())
    with pytest.raises(ic.InvalidInputError) as err:
        repo.set_feature_flag("no_such_flag", True)
    assert err.value.kind == ic.ErrorKind.INVALID_FEATURE_FLAG


def test_as_of_needs_a_timezone(ic):
    import datetime

    repo = ic.Repository.create(ic.in_memory_storage())
    with pytest.raises(TypeError):
        repo.readonly_session(branch="main", as_of=datetime.datetime(2000, 1, 1))
    now = datetime.datetime.now(datetime.UTC)
    assert repo.readonly_session(branch="main", as_of=now).snapshot_id == \
        repo.lookup_branch("main")


def test_unset_split_sizes_is_none(ic):
    config = ic.ManifestSplittingConfig()
    assert config.split_sizes is None
    config.split_sizes = [(ic.ManifestSplitCondition.AnyArray(),
                           [(ic.ManifestSplitDimCondition.Any(), 3)])]
    assert config.split_sizes[0][1][0][1] == 3
    config.split_sizes = None
    assert config.split_sizes is None
