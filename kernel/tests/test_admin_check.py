"""``Repository.check`` and ``frazil check``: damage found, garbage listed, nothing changed."""

from __future__ import annotations

import os
from pathlib import Path

import frazil as ic
import numpy as np
import zarr
from frazil.cli import main


def _repo(path: str) -> tuple[ic.Repository, list[str]]:
    repo = ic.Repository.create(ic.local_filesystem_storage(path))
    ids = []
    for i in range(3):
        s = repo.writable_session("main")
        if i == 0:
            zarr.create_array(s.store, name="a", shape=(400,), chunks=(100,), dtype="f8",
                              fill_value=0, compressors=None)
        zarr.open_array(s.store, path="a", mode="r+")[:100] = i + 1
        ids.append(s.commit(f"c{i}"))
    repo.create_tag("first", ids[0])
    return repo, ids


def _files(path: str) -> dict[str, int]:
    return {str(p.relative_to(path)): p.stat().st_mtime_ns for p in Path(path).rglob("*")
            if p.is_file()}


def test_clean_repository_is_ok_and_unchanged(repo_path):
    repo, _ = _repo(repo_path)
    before = _files(repo_path)
    phases = []
    report = repo.check(progress=lambda phase, done, total: phases.append(phase))
    assert report.ok and report.problems == [] and report.dangling == []
    assert report.counts == {"refs": 2, "snapshots": 4, "manifests": 3,
                             "transaction logs": 4, "chunks": 3}
    assert "check manifests" in phases
    assert _files(repo_path) == before  # nothing written, not even a lock


def test_missing_and_truncated_objects_are_problems(repo_path):
    repo, ids = _repo(repo_path)
    chunks = sorted(Path(repo_path, "chunks").iterdir())
    chunks[0].unlink()
    chunks[1].write_bytes(b"short")
    mans = sorted(Path(repo_path, "manifests").iterdir())
    mans[0].write_bytes(mans[0].read_bytes() + b"x")  # recorded size no longer matches
    Path(repo_path, "transactions", ids[1]).unlink()
    report = repo.check()
    assert not report.ok
    text = "\n".join(report.problems)
    assert f"chunk {chunks[0].name} is missing" in text
    assert f"chunk {chunks[1].name} is 5 bytes" in text
    assert f"manifest {mans[0].name} is" in text and "the snapshot recorded" in text
    assert f"transaction log of snapshot {ids[1]} is missing" in text


def test_missing_snapshot_and_dangling_garbage(repo_path):
    repo, ids = _repo(repo_path)
    repo.reset_branch("main", ids[0])  # ids[1], ids[2] stay recorded but unreachable
    Path(repo_path, "snapshots", ids[2]).unlink()
    Path(repo_path, "chunks", "0" * 20).write_bytes(b"orphan")
    report = repo.check()
    assert any(f"snapshot {ids[2]} is missing" in p for p in report.problems)
    assert "chunks/" + "0" * 20 in report.dangling  # (and what only ids[2] referenced)


def test_cli_check_exit_codes(repo_path, capsys):
    repo, _ = _repo(repo_path)
    assert main(["check", repo_path, "--no-progress"]) == 0
    assert capsys.readouterr().out.strip().endswith("OK")
    Path(repo_path, "chunks", "0" * 20).write_bytes(b"orphan")
    assert main(["check", repo_path, "--dangling", "--no-progress"]) == 0
    assert "dangling: chunks/" + "0" * 20 in capsys.readouterr().out
    os.remove(sorted(Path(repo_path, "chunks").iterdir())[-1])
    assert main(["check", repo_path, "--no-progress"]) == 1
    assert "PROBLEM: chunk" in capsys.readouterr().out
    assert main(["check", str(Path(repo_path) / "nothing"), "--no-progress"]) == 2
    assert "frazil check:" in capsys.readouterr().err


def test_check_after_gc_is_clean(repo_path):
    import datetime as dt

    repo, _ = _repo(repo_path)
    repo.expire_snapshots(dt.datetime.now(dt.UTC))
    repo.garbage_collect(dt.datetime.now(dt.UTC))
    report = repo.check()
    assert report.ok and report.dangling == []
    arr = zarr.open_array(repo.readonly_session(branch="main").store, path="a", mode="r")
    np.testing.assert_array_equal(arr[:100], 3)


def test_cli_gc_dry_run_then_real(repo_path, capsys):
    repo, ids = _repo(repo_path)
    repo.delete_tag("first")
    assert main(["gc", repo_path, "--older-than-days", "0", "--dry-run", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("would delete 0 snapshot(s)")  # dry run: nothing expired first
    before = sorted(Path(repo_path, "chunks").iterdir())
    assert main(["gc", repo_path, "--older-than-days", "0", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "expired 2 snapshot(s)" in out and "2 chunk(s)" in out
    assert len(sorted(Path(repo_path, "chunks").iterdir())) == len(before) - 2
    assert repo.check().ok
    assert main(["gc", str(Path(repo_path) / "none"), "--older-than-days", "1"]) == 2
