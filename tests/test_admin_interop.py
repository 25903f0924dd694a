"""Repository administration against icechunk 2.3: expiry, GC, stats, diff, status, ops log.

Each test builds one repository with one library, copies it (``copytree``),
and runs the same operation with icechunk on one copy and frazil on the
other: the results must agree, and each library must read what the other
left behind.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from _admin_worker import commit_loop, open_storage
from _interop_support import LIBRARIES, load_lib

pytestmark = pytest.mark.interop

icechunk = load_lib("icechunk")
frazil = load_lib("frazil")

GC_FIELDS = ("bytes_deleted", "chunks_deleted", "manifests_deleted", "snapshots_deleted",
             "attributes_deleted", "transaction_logs_deleted")


def _open(lib: Any, path: Path) -> Any:
    return lib.Repository.open(lib.local_filesystem_storage(str(path)))


def _write(repo: Any, msg: str, fn: Any, branch: str = "main") -> str:
    s = repo.writable_session(branch)
    fn(s.store)
    return s.commit(msg)


def build_history(lib: Any, path: Path) -> dt.datetime:
    """A repository with old and new snapshots, branches, tags and unreachable commits.

    Returns a cut-off time: everything before it is "old".
    """
    repo = lib.Repository.create(lib.local_filesystem_storage(str(path)))

    def init(store: Any) -> None:
        g = zarr.group(store=store, attributes={"k": "v"})
        g.create_array("big", shape=(600,), chunks=(100,), dtype="f8", fill_value=0,
                       compressors=None)[:] = 1.0  # 800-byte chunks: chunk objects
        g.create_array("small", shape=(8,), chunks=(4,), dtype="i2")[:] = 3  # inline

    def put(v: float, lo: int, hi: int) -> Any:
        def fn(store: Any) -> None:
            zarr.open_array(store, path="big", mode="r+")[lo:hi] = v
        return fn

    first = _write(repo, "init", init)
    ids = [first]
    for i in range(2, 6):
        ids.append(_write(repo, f"v{i}", put(i, 0, 100)))
    repo.create_branch("feature", ids[2])
    ids.append(_write(repo, "feature work", put(42, 100, 200), branch="feature"))
    repo.create_tag("release", ids[3])
    repo.create_branch("dropme", ids[1])
    repo.create_tag("oldtag", ids[1])
    lost = _write(repo, "to be reset away", put(-1, 200, 300))
    repo.reset_branch("main", ids[4])  # `lost` becomes unreachable
    assert lost
    time.sleep(0.05)
    cut = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    _write(repo, "new 1", put(7, 300, 400))
    _write(repo, "new 2", put(8, 0, 100))
    return cut


def read_everything(lib: Any, path: Path) -> dict[str, Any]:
    """Every branch and tag: its tip id and the full contents of both arrays."""
    repo = _open(lib, path)
    out: dict[str, Any] = {}
    refs = [("branch", b) for b in repo.list_branches()] + [("tag", t) for t in repo.list_tags()]
    for kind, name in sorted(refs):
        s = repo.readonly_session(**{kind: name})
        g = zarr.open_group(s.store, mode="r")
        out[f"{kind}:{name}"] = (s.snapshot_id, g["big"][:].tolist(), g["small"][:].tolist(),
                                 [a.id for a in repo.ancestry(**{kind: name})])
    return out


def _copies(src: Path, tmp: Path) -> dict[str, Path]:
    out = {}
    for name in LIBRARIES:
        dst = tmp / f"copy-{name}"
        shutil.copytree(src, dst)
        out[name] = dst
    return out


def _objects(path: Path) -> list[str]:
    """Every repository object but the repo info backups (frazil's lock dir is not one)."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")
                  if p.is_file() and p.parent.name != "overwritten"
                  and not p.relative_to(path).parts[0].startswith("."))


def _summary(s: Any) -> tuple[int, ...]:
    return tuple(getattr(s, f) for f in GC_FIELDS)


@pytest.mark.parametrize("builder", LIBRARIES)
@pytest.mark.parametrize("flags", [(False, False), (True, True), (True, False)])
def test_expire_and_gc_match_icechunk(tmp_path: Path, builder: str,
                                      flags: tuple[bool, bool]) -> None:
    src = tmp_path / "src"
    cut = build_history(load_lib(builder), src)
    copies = _copies(src, tmp_path)
    results = {}
    for name, path in copies.items():
        repo = _open(load_lib(name), path)
        expired = repo.expire_snapshots(cut, delete_expired_branches=flags[0],
                                        delete_expired_tags=flags[1])
        dry = repo.garbage_collect(cut, dry_run=True)
        summary = repo.garbage_collect(cut)
        again = repo.garbage_collect(cut)
        results[name] = (sorted(expired), _summary(dry), _summary(summary), _summary(again),
                         sorted(repo.list_branches()), sorted(repo.list_tags()),
                         _objects(path))
    assert results["frazil"] == results["icechunk"]
    expired, dry, summary, again, *_ = results["frazil"]
    assert expired and summary[GC_FIELDS.index("snapshots_deleted")] > 0
    assert summary[GC_FIELDS.index("chunks_deleted")] > 0
    assert dry == summary and again == (0,) * len(GC_FIELDS)
    # each library reads what the other collected, identically
    views = {(reader, writer): read_everything(load_lib(reader), copies[writer])
             for reader in LIBRARIES for writer in LIBRARIES}
    for writer in LIBRARIES:
        assert views[("frazil", writer)] == views[("icechunk", writer)]
    assert views[("frazil", "frazil")] == views[("icechunk", "icechunk")]


@pytest.mark.parametrize("builder", LIBRARIES)
def test_chunk_storage_stats_match_icechunk(tmp_path: Path, builder: str) -> None:
    src = tmp_path / "src"
    build_history(load_lib(builder), src)
    got = {}
    for name in LIBRARIES:
        st = _open(load_lib(name), src).chunk_storage_stats()
        got[name] = (st.native_bytes, st.virtual_bytes, st.inlined_bytes, st.total_bytes(),
                     st.non_virtual_bytes())
    assert got["frazil"] == got["icechunk"]
    assert got["frazil"][0] > 0 and got["frazil"][2] > 0


#: (writer, where). icechunk's local storage updates the repo file without any
#: concurrency control (its default settings say unsafe_use_conditional_update: False, and
#: it logs that it is not safe for concurrent commits), so a concurrent expire can undo one
#: of its commits whoever runs it; icechunk races frazil's GC on S3, where both libraries
#: update the repo file conditionally.
RACES = [("frazil", "local"), ("frazil", "s3"), ("icechunk", "s3")]


@pytest.mark.parametrize("commits", [
    16, pytest.param(80, marks=pytest.mark.slow, id="soak")])
@pytest.mark.parametrize("writer,where", RACES, ids=["-".join(r) for r in RACES])
def test_gc_racing_commits_loses_nothing(request: pytest.FixtureRequest, tmp_path: Path,
                                         writer: str, where: str, commits: int) -> None:
    """frazil's expire + GC loop against a committing process: every commit stays readable.

    The grace period (how far in the past the GC cut-off lies) must exceed the
    longest commit, as icechunk documents; the writer measures its commits and
    the test checks that premise, so a failure here is data loss, not a slow
    machine.
    """
    path: str | dict = str(tmp_path / "race")
    if where == "s3":
        path = {**request.getfixturevalue("s3_bucket_kwargs"), "prefix": "race"}
    lib = load_lib(writer)
    grace = dt.timedelta(seconds=2.0)
    repo = lib.Repository.create(open_storage(lib, path))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="data", shape=(100 * (commits + 1),), chunks=(100,),
                      dtype="f8", fill_value=0, compressors=None)
    s.commit("array")
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        job = pool.apply_async(commit_loop, (writer, path, commits, time.time() + 1.0))
        gc_repo = frazil.Repository.open(open_storage(frazil, path))
        runs = deleted = 0
        deadline = time.time() + 10 * commits
        while not job.ready() and time.time() < deadline:
            cut = dt.datetime.now(dt.UTC) - grace
            gc_repo.expire_snapshots(cut)
            deleted += gc_repo.garbage_collect(cut).chunks_deleted
            runs += 1
            time.sleep(0.2)  # an administrator's loop, not a denial of service
        ids, longest = job.get(timeout=10 * commits)
    assert longest < grace.total_seconds(), "premise: every commit shorter than the grace"
    final = dt.datetime.now(dt.UTC)  # the writer is done: no grace needed
    gc_repo.expire_snapshots(final)
    deleted += gc_repo.garbage_collect(final).chunks_deleted
    assert runs >= 2 and deleted > 0
    assert gc_repo.check().ok
    expected = np.zeros(100 * (commits + 1))
    for i in range(1, commits + 1):
        expected[0:100] = i
        expected[100 * i:100 * (i + 1)] = i
    for reader in LIBRARIES:
        r = load_lib(reader).Repository.open(open_storage(load_lib(reader), path))
        assert r.lookup_branch("main") == ids[-1]
        got = zarr.open_array(r.readonly_session(branch="main").store, path="data", mode="r")
        np.testing.assert_array_equal(got[:], expected)


def _amend_flush_history(lib: Any, path: Path) -> dict[str, Any]:
    repo = lib.Repository.create(lib.local_filesystem_storage(str(path)))
    s = repo.writable_session("main")
    g = zarr.group(store=s.store)
    g.create_array("a", shape=(4,), chunks=(2,), dtype="i4")[:] = 1
    g.create_group("sub")
    out = {"c1": s.commit("one")}
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a", mode="r+")[0:2] = 5
    out["status"] = str(s.status())
    out["c2"] = s.commit("two")
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a", mode="r+")[2:4] = 7
    del zarr.open_group(s.store, mode="r+")["sub"]
    out["c3"] = s.amend("two amended", metadata={"m": 1})
    assert s.snapshot_id == out["c3"]
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a", mode="r+")[0:2] = 9
    out["flushed"] = s.flush("detached", metadata={"d": True})
    assert repo.lookup_branch("main") == out["c3"]
    return out


@pytest.mark.parametrize("writer", LIBRARIES)
@pytest.mark.parametrize("reader", LIBRARIES)
def test_amend_flush_diff_status_read_by_the_other(tmp_path: Path, writer: str,
                                                  reader: str) -> None:
    path = tmp_path / "repo"
    ids = _amend_flush_history(load_lib(writer), path)
    r = _open(load_lib(reader), path)
    root = "1CECHNKREP0F1RSTCMT0"
    anc = [(a.id, a.message, a.metadata.get("m")) for a in r.ancestry(branch="main")]
    assert anc == [(ids["c3"], "two amended", 1), (ids["c1"], "one", None),
                   (root, "Repository initialized", None)]
    assert [a.id for a in r.ancestry(snapshot_id=ids["flushed"])] == [
        ids["flushed"], ids["c3"], ids["c1"], root]
    arr = zarr.open_array(r.readonly_session(snapshot_id=ids["flushed"]).store, path="a",
                          mode="r")
    assert arr[:].tolist() == [9, 9, 7, 7]
    kinds = [type(u.kind).__name__ for u in r.ops_log()]
    assert kinds == ["NewDetachedSnapshot", "CommitAmended", "NewCommit", "NewCommit",
                     "RepoInitialized"]
    d = r.diff(from_snapshot_id=ids["c1"], to_branch="main")
    assert d.deleted_groups == {"/sub"} and d.updated_chunks == {"/a": [[0], [1]]}
    assert str(d) == repr(d) == ("Groups deleted:\n    /sub\n\nChunks updated:\n    /a:\n"
                                 "        [0]\n        [1]\n")
    d0 = r.diff(from_snapshot_id=root, to_snapshot_id=ids["flushed"])
    assert str(d0) == ("Groups created:\n    /\n\nArrays created:\n    /a\n\n"
                       "Chunks updated:\n    /a:\n        [0]\n        [1]\n")
    assert ids["status"] == "Chunks updated:\n    /a:\n        [0]\n"
    lib = load_lib(reader)
    with pytest.raises(lib.InvalidInputError, match="ancestry doesn't include"):
        r.diff(from_snapshot_id=ids["c3"], to_snapshot_id=ids["c3"])


@pytest.mark.parametrize("name", LIBRARIES)
def test_first_commit_cannot_be_amended(name: str) -> None:
    lib = load_lib(name)
    repo = lib.Repository.create(lib.in_memory_storage())
    s = repo.writable_session("main")
    zarr.group(store=s.store)
    with pytest.raises(lib.SessionStateError, match="first commit in the repository"):
        s.amend("x")


def test_diff_text_matches_icechunk_on_every_section(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(path)))
    s = repo.writable_session("main")
    g = zarr.group(store=s.store)
    g.create_group("g1")
    g.create_group("g2")
    g.create_array("x", shape=(30,), chunks=(1,), dtype="i1")
    g.create_array("y", shape=(2,), chunks=(1,), dtype="i1")
    c1 = s.commit("one")
    s = repo.writable_session("main")
    g = zarr.open_group(s.store, mode="r+")
    g.create_group("g3")
    g.create_array("z", shape=(2, 2), chunks=(1, 1), dtype="i1")[:] = 1
    g["g1"].attrs["k"] = 1
    g["y"].attrs["k"] = 2
    del g["g2"]
    g["x"][:] = 3  # 30 chunks: the text lists ten
    c2 = s.commit("two")
    texts = [str(lib.Repository.open(lib.local_filesystem_storage(str(path))).diff(
        from_snapshot_id=c1, to_snapshot_id=c2)) for lib in (icechunk, frazil)]
    assert texts[0] == texts[1]
    assert "... 20 more" in texts[1] and "Group definitions updated" in texts[1]


@pytest.mark.parametrize("writer", LIBRARIES)
@pytest.mark.parametrize("reader", LIBRARIES)
def test_status_and_feature_flags_agree(tmp_path: Path, writer: str, reader: str) -> None:
    path = tmp_path / "repo"
    w = load_lib(writer)
    repo = w.Repository.create(w.local_filesystem_storage(str(path)))
    repo.set_feature_flag("create_tag", False)
    repo.set_feature_flag("move_node", True)
    repo.set_feature_flag("move_node", None)
    repo.set_status(w.RepoStatus(w.RepoAvailability.read_only,
                                 limited_availability_reason="maintenance"))
    lib = load_lib(reader)
    r = _open(lib, path)
    st = r.get_status()
    assert st.availability == lib.RepoAvailability.read_only
    assert st.limited_availability_reason == "maintenance" and r.status.set_at == st.set_at
    # (icechunk's list order varies from call to call: compare by id)
    assert sorted((f.id, f.name, f.default_enabled, f.setting, f.enabled)
                  for f in r.feature_flags()) == [(3, "move_node", True, None, True),
                                                  (4, "create_tag", True, False, False),
                                                  (5, "delete_tag", True, None, True)]
    assert [f.name for f in r.disabled_feature_flags()] == ["create_tag"]
    assert sorted(f.name for f in r.enabled_feature_flags()) == ["delete_tag", "move_node"]
    ops = list(r.ops_log())
    assert [type(u.kind).__name__ for u in ops] == [
        "RepoStatusChanged", "FeatureFlagChanged", "FeatureFlagChanged", "FeatureFlagChanged",
        "RepoInitialized"]
    assert (ops[1].kind.id, ops[1].kind.new_value) == (3, None)
    assert (ops[3].kind.id, ops[3].kind.new_value) == (4, False)
    assert ops[0].kind.status.limited_availability_reason == "maintenance"
    assert isinstance(ops[0].kind, lib.ops.UpdateType.RepoStatusChanged)
    # a read-only repository refuses writes, with the reason
    main = r.lookup_branch("main")
    for refused in (lambda: r.writable_session("main"), lambda: r.create_branch("b", main),
                    lambda: r.set_metadata({"a": 1}),
                    lambda: r.expire_snapshots(dt.datetime.now(dt.UTC)),
                    lambda: r.garbage_collect(dt.datetime.now(dt.UTC))):
        with pytest.raises(lib.ReadOnlyError, match="read-only"):
            refused()
    r.readonly_session(branch="main")  # reads still work
    r.set_status(lib.RepoStatus(lib.RepoAvailability.online))
    with pytest.raises(lib.SessionStateError, match=r"disabled by a feature flag \(create_tag\)"):
        r.create_tag("t", main)
    r.set_feature_flag("create_tag", None)
    r.create_tag("t", main)
    with pytest.raises(lib.InvalidInputError, match="invalid feature flag name"):
        r.set_feature_flag("nope", True)
    # the other library sees the final state
    back = _open(w, path)
    assert back.get_status().availability == w.RepoAvailability.online
    assert back.list_tags() == {"t"} and not back.disabled_feature_flags()


@pytest.mark.parametrize("name", LIBRARIES)
def test_naive_datetimes_are_refused(name: str) -> None:
    lib = load_lib(name)
    repo = lib.Repository.create(lib.in_memory_storage())
    with pytest.raises(TypeError, match="tzinfo"):
        repo.expire_snapshots(dt.datetime.now())
    with pytest.raises(TypeError, match="tzinfo"):
        repo.garbage_collect(dt.datetime.now())


@pytest.mark.parametrize("builder", LIBRARIES)
def test_inspect_json_matches_icechunk(tmp_path: Path, builder: str) -> None:
    """Every inspect_* dict and list_manifest_files agree, including after expiration."""
    path = tmp_path / "repo"
    cut = build_history(load_lib(builder), path)
    ic_repo, fr_repo = _open(icechunk, path), _open(frazil, path)
    ic_repo.set_status(icechunk.RepoStatus(icechunk.RepoAvailability.read_only,
                                           limited_availability_reason="x"))
    fr_repo.set_status(frazil.RepoStatus(frazil.RepoAvailability.online))
    fr_repo.set_feature_flag("move_node", False)
    (ic_repo if builder == "frazil" else fr_repo).expire_snapshots(cut)
    assert fr_repo.inspect_repo_info() == ic_repo.inspect_repo_info()
    sids = {a.id for b in ("main", "feature") for a in ic_repo.ancestry(branch=b)}
    composite = 0
    for sid in sorted(sids):
        assert fr_repo.inspect_snapshot(sid) == ic_repo.inspect_snapshot(sid)
        tx = ic_repo.inspect_transaction_log(sid)
        composite += "synthetic_composite" in tx
        assert fr_repo.inspect_transaction_log(sid) == tx
        files = ic_repo.list_manifest_files(sid)
        assert [(m.id, m.size_bytes, m.num_chunk_refs) for m in fr_repo.list_manifest_files(sid)
                ] == [(m.id, m.size_bytes, m.num_chunk_refs) for m in files]
        for m in files:
            assert fr_repo.inspect_manifest(m.id) == ic_repo.inspect_manifest(m.id)
    assert composite > 0


def test_ancestry_graph_text_matches_icechunk(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(path)))

    def commit(branch: str, msg: str, attr: int) -> str:
        s = repo.writable_session(branch)
        zarr.group(store=s.store, attributes={"a": attr}, overwrite=True)
        return s.commit(msg)

    first = commit("main", "first commit", 1)
    repo.create_branch("dev", first)
    commit("dev", "dev work", 2)
    repo.create_branch("feat", first)
    commit("feat", "feat 1", 3)
    commit("feat", "feat 2", 4)
    commit("main", "main work", 5)
    dev2 = commit("dev", "dev 2", 6)
    repo.create_branch("x", dev2)
    commit("x", "x1", 7)
    repo.create_tag("v2", dev2)
    repo.create_tag("v1", first)
    fr = _open(frazil, path)
    for kw in ({}, {"branch": "dev"}, {"branch": "main"}, {"tag": "v1"},
               {"snapshot_id": first}):
        want = str(repo.ancestry_graph(plain=True, **kw))
        assert str(fr.ancestry_graph(plain=True, **kw)) == want
    coloured = str(fr.ancestry_graph())
    assert "\x1b[" in coloured and "\x1b[" not in str(fr.ancestry_graph(plain=True))
    svg = fr.ancestry_graph(branch="dev")._repr_svg_()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>") and "dev 2" in svg


@pytest.mark.parametrize("writer", LIBRARIES)
@pytest.mark.parametrize("method", ["new_commit", "amend"])
def test_rewrite_manifests_read_by_the_other(tmp_path: Path, writer: str, method: str) -> None:
    path = tmp_path / "repo"
    build_history(icechunk, path)
    w = _open(load_lib(writer), path)
    before = w.lookup_branch("main")
    old_files = {m.id for m in w.list_manifest_files(before)}
    sid = w.rewrite_manifests("rewrite", branch="main", metadata={"u": 1},
                              commit_method=method)
    views = {name: read_everything(load_lib(name), path) for name in LIBRARIES}
    assert views["frazil"] == views["icechunk"]
    for name in LIBRARIES:
        r = _open(load_lib(name), path)
        info = r.lookup_snapshot(sid)
        assert info.metadata["u"] == 1
        assert info.metadata["__icechunk"]["splitting_config"] == {"split_sizes": [
            [{"path_matches": {"regex": ".*"}},
             [{"condition": "Any", "num_chunks": 4294967295}]]]}
        assert {m.id for m in r.list_manifest_files(sid)}.isdisjoint(old_files)
        assert r.diff(from_snapshot_id=info.parent_id, to_snapshot_id=sid).is_empty() == (
            method == "new_commit")
        assert (info.parent_id == before) == (method == "new_commit")


ADMIN_METHODS = [
    ("Repository", m) for m in (
        "expire_snapshots", "garbage_collect", "chunk_storage_stats", "total_chunks_storage",
        "diff", "get_status", "set_status", "feature_flags", "enabled_feature_flags",
        "disabled_feature_flags", "set_feature_flag", "inspect_snapshot", "inspect_repo_info",
        "inspect_manifest", "inspect_transaction_log", "list_manifest_files",
        "rewrite_manifests", "ancestry_graph")
] + [("Session", m) for m in ("amend", "flush", "status")]


@pytest.mark.parametrize(("cls", "method"), ADMIN_METHODS)
def test_admin_signatures_match_icechunk(cls: str, method: str) -> None:
    """Same argument names, kinds and defaults, and an ``_async`` form where icechunk has one."""
    import inspect

    ice = inspect.signature(getattr(getattr(icechunk, cls), method))
    flo = inspect.signature(getattr(getattr(frazil, cls), method))
    for name, param in ice.parameters.items():
        assert name in flo.parameters, f"{method}: missing argument {name}"
        got = flo.parameters[name]
        assert got.kind == param.kind, f"{method}({name}) kind differs"
        assert got.default == param.default, f"{method}({name}) default differs"
    if hasattr(getattr(icechunk, cls), method + "_async"):
        assert hasattr(getattr(frazil, cls), method + "_async")
    assert {"GCSummary", "Update", "UpdateType"} <= set(dir(frazil.ops))
