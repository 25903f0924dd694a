"""Administration operations on frazil alone: progress, dry runs, errors, value types.

Agreement with icechunk is in the top-level ``tests/test_admin_interop.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import frazil as ic
import numpy as np
import pytest
import zarr


def _history(repo: ic.Repository, n: int = 4) -> list[str]:
    ids = []
    for i in range(n):
        s = repo.writable_session("main")
        if i == 0:
            zarr.create_array(s.store, name="a", shape=(300,), chunks=(100,), dtype="f8",
                              fill_value=0, compressors=None)
        zarr.open_array(s.store, path="a", mode="r+")[:100] = i + 1
        ids.append(s.commit(f"c{i}"))
    return ids


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_dry_run_deletes_nothing_and_predicts_the_real_run(repo_path):
    repo = ic.Repository.create(ic.local_filesystem_storage(repo_path))
    _history(repo)
    repo.expire_snapshots(_now())
    files = sorted(p for p in Path(repo_path).rglob("*") if p.is_file()
                   and "overwritten" not in p.parts)
    dry = repo.garbage_collect(_now(), dry_run=True)
    assert sorted(p for p in Path(repo_path).rglob("*") if p.is_file()
                  and "overwritten" not in p.parts) == files
    real = repo.garbage_collect(_now())
    assert (dry.chunks_deleted, dry.snapshots_deleted, dry.bytes_deleted) == (
        real.chunks_deleted, real.snapshots_deleted, real.bytes_deleted)
    assert real.chunks_deleted == 3 and real.objects_failed_to_delete == 0
    assert real.skipped_phases == [] and real.delete_errors == []
    assert [type(u.kind).__name__ for u in repo.ops_log()][:2] == ["GCRan", "ExpirationRan"]
    arr = zarr.open_array(repo.readonly_session(branch="main").store, path="a", mode="r")
    np.testing.assert_array_equal(arr[:100], 4)


def test_gc_keeps_objects_newer_than_the_cutoff(repo):
    _history(repo, 2)
    cut = _now() - dt.timedelta(hours=1)
    repo.expire_snapshots(_now())
    assert repo.garbage_collect(cut).chunks_deleted == 0


def test_progress_callback_and_logging(repo, caplog):
    import asyncio

    _history(repo)
    repo.expire_snapshots(_now())
    seen: list[tuple[str, int, int | None]] = []

    async def run() -> ic.GCSummary:
        return await ic.ops.garbage_collect(repo._state, repo._assets, _now(),
                                            progress=lambda *a: seen.append(a))

    with caplog.at_level(logging.INFO, logger="frazil.ops"):
        summary = asyncio.run(run())
    assert summary.chunks_deleted == 3
    assert ("chunks", 3, 3) in seen and any(p == "walk manifests" for p, _, _ in seen)
    assert any("garbage_collect: chunks: 3 deleted" in r.message for r in caplog.records)


def test_total_chunks_storage_is_deprecated(repo):
    _history(repo, 1)
    with pytest.warns(DeprecationWarning):
        n = repo.total_chunks_storage()
    stats = repo.chunk_storage_stats()
    assert n == stats.native_bytes == 100 * 8  # one chunk written, two left at fill value
    assert stats.total_bytes() == stats.non_virtual_bytes() == 800 + stats.inlined_bytes
    assert (stats + stats).native_bytes == 1600


def test_update_types_compare_with_names_and_values(repo):
    sid = _history(repo, 1)[0]
    repo.create_branch("b", sid)
    log = list(repo.ops_log())
    kind = log[0].kind
    assert kind == "BranchCreated" and kind == ic.UpdateType.BranchCreated(name="b")
    assert kind != ic.UpdateType.BranchCreated(name="c") and kind.name == "b"
    assert isinstance(kind, ic.ops.UpdateType) and type(kind).__name__ == "BranchCreated"
    assert repr(kind) == 'frazil.ops.UpdateType.BranchCreated(name="b")'
    assert log[1].kind.new_snap_id == sid and log[1].kind.branch == "main"
    assert isinstance(log[0].updated_at, dt.datetime) and log[1].backup_path.startswith("repo.")


def test_read_only_status_gives_the_reason_and_set_status_still_works(repo):
    repo.set_status(ic.RepoStatus(ic.RepoAvailability.read_only,
                                  limited_availability_reason="migrating"))
    with pytest.raises(ic.ReadOnlyError, match="read-only, reason: migrating"):
        repo.set_metadata({"a": 1})
    with pytest.raises(ic.ReadOnlyError, match="migrating"):
        repo.writable_session("main")
    repo.set_status(ic.RepoStatus(ic.RepoAvailability.online))
    repo.set_metadata({"a": 1})
    assert repo.status.availability is ic.RepoAvailability.online


def test_bad_arguments_are_clear_errors(repo):
    with pytest.raises(ic.InvalidInputError):
        repo.garbage_collect("yesterday")  # type: ignore[arg-type]
    with pytest.raises(ic.InvalidInputError):
        repo.set_status("online")  # type: ignore[arg-type]
    with pytest.raises(ic.InvalidInputError):
        repo.set_feature_flag("move_node", "yes")  # type: ignore[arg-type]
    with pytest.raises(ic.InvalidInputError):
        repo.diff(from_branch="main")


def test_empty_diff_text_and_flush_without_changes(repo):
    sid = _history(repo, 1)[0]
    s = repo.writable_session("main")
    assert str(s.status()) == "" and s.status().is_empty()
    fid = s.flush("nothing new")
    assert repo.diff(from_snapshot_id=sid, to_snapshot_id=fid).is_empty()
    assert repo.lookup_branch("main") == sid


def test_gc_restarts_when_a_commit_lands_on_a_collected_snapshot(repo):
    """The repo-info step of GC refuses to drop a snapshot something new builds on."""
    from frazil._state import copy_info
    from frazil.ops._gc import _drop_from_info, _Restart

    ids = _history(repo, 3)
    info = _info(repo)
    recs = {str(k): k for k in info.snapshots}
    old, mid, tip = (recs[i] for i in ids)
    keep = {tip, mid} | {k for k in info.snapshots if info.snapshots[k].parent_id is None}
    # `tip` (kept) sits on `mid`; dropping `old` re-parents `mid` over the gap
    _drop_from_info(copy_info(info), set(keep), {old})
    # a snapshot GC did not know about (committed meanwhile) whose parent is dropped: restart
    with pytest.raises(_Restart):
        _drop_from_info(copy_info(info), {k for k in keep if k != tip}, {mid})
    # a ref pointing at a dropped snapshot: restart
    with pytest.raises(_Restart):
        _drop_from_info(copy_info(info), set(keep) - {tip}, {tip})


def _info(repo: ic.Repository):
    import asyncio

    return asyncio.run(repo._state.fetch())
