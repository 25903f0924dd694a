"""Crash safety: a writer SIGKILLed in the middle of writing or committing
never leaves a repository that either library cannot use.

A child process (tests/_crash_child.py) commits in a loop; the test kills it
with SIGKILL at random moments, several times, each new child continuing on
the same repository. Afterwards the repository must

* open with frazil AND with icechunk 2.3,
* have its branch at a committed snapshot (the last one a child reported, or
  the one it was finishing when the kill landed after the ref update),
* read every snapshot in its ancestry completely and consistently (no torn
  commit: all chunks of a version belong to that version),
* accept a new commit.

Parametrised over the writer (the library being killed) and the checker.
The random schedule is seeded; set FRAZIL_CRASH_SEED to replay, FRAZIL_CRASH_ROUNDS
to change the number of kills (default 5).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr
from _crash_child import expected_data as _expected_data
from _interop_support import LIBRARIES, load_lib

pytestmark = pytest.mark.interop

CHILD = Path(__file__).with_name("_crash_child.py")
ROUNDS = int(os.environ.get("FRAZIL_CRASH_ROUNDS", "5"))
SEED = int(os.environ.get("FRAZIL_CRASH_SEED", str(random.SystemRandom().randrange(1 << 30))))


def _progress(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


def _run_and_kill(writer: str, repo: str, progress: Path, rng: random.Random, *,
                  wait_for_commit: bool) -> int:
    """Start one child, SIGKILL it at a random moment; return how many commits it reported."""
    before = sum(1 for p in _progress(progress) if p[0] == "COMMITTED")
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), writer, repo, str(progress)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline:
            lines = _progress(progress)
            committed = sum(1 for p in lines if p[0] == "COMMITTED")
            ready = sum(1 for p in lines if p[0] == "READY") > 0
            if proc.poll() is not None:
                break
            if ready and (not wait_for_commit or committed > before):
                break
            time.sleep(0.01)
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")
            pytest.fail(f"writer child exited by itself (rc={proc.returncode}):\n{err[-4000:]}")
        assert ready, "writer child never became ready"
        time.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return sum(1 for p in _progress(progress) if p[0] == "COMMITTED") - before


_killed_repos: dict[str, tuple[str, list[list[str]]]] = {}


@pytest.fixture
def killed_repo(request, tmp_path_factory, writer):
    """A repository whose writer was SIGKILLed ROUNDS times (built once per writer)."""
    if writer not in _killed_repos:
        base = tmp_path_factory.mktemp(f"crash-{writer}")
        repo = str(base / "repo")
        progress = base / "progress.txt"
        rng = random.Random(f"{SEED}-{writer}")
        for round_ in range(ROUNDS):
            _run_and_kill(writer, repo, progress, rng, wait_for_commit=(round_ == 0))
        _killed_repos[writer] = (repo, _progress(progress))
    repo, progress = _killed_repos[writer]
    # each checker gets its own copy, because the check ends with a new commit
    copy = str(tmp_path_factory.mktemp("checked") / "repo")
    shutil.copytree(repo, copy)
    return copy, progress


def _check_snapshot(lib, repo, snap) -> int:
    """Read one snapshot completely; return its commit number."""
    i = snap.metadata["i"]
    assert snap.message == ("setup" if i == -1 else f"commit {i}")
    s = repo.readonly_session(snapshot_id=snap.id)
    root = zarr.open_group(s.store, mode="r")
    data = root["data"]
    hist = sorted(name for name, _ in root["hist"].members())
    assert hist == sorted(f"n{k}" for k in range(i + 1))
    if i == -1:
        assert "i" not in data.attrs
        np.testing.assert_array_equal(data[...], np.zeros(data.shape, dtype="float32"))
        return i
    assert data.attrs["i"] == i
    np.testing.assert_array_equal(data[...], _expected_data(i), err_msg=f"snapshot {snap.id} (commit {i}) is torn")
    for k in (0, i // 2, i):
        assert root[f"hist/n{k}"][0] == k
    return i


@pytest.mark.parametrize("checker", LIBRARIES)
@pytest.mark.parametrize("writer", LIBRARIES)
def test_sigkill_during_commits(writer, checker, killed_repo):
    path, progress = killed_repo
    lib = load_lib(checker)
    reported = [int(p[1]) for p in progress if p[0] == "COMMITTED"]
    reported_ids = {int(p[1]): p[2] for p in progress if p[0] == "COMMITTED"}
    assert reported, f"no commit landed before the kills (seed {SEED})"

    repo = lib.Repository.open(lib.local_filesystem_storage(path))
    assert "main" in repo.list_branches()
    ancestry = list(repo.ancestry(branch="main"))
    assert ancestry[-1].message == "Repository initialized"
    assert ancestry[0].id == repo.lookup_branch("main")
    numbers = [_check_snapshot(lib, repo, snap) for snap in ancestry[:-1]]
    # a linear history 0..n without gaps, then setup (-1)
    assert numbers == list(range(numbers[0], -2, -1)), f"history has gaps: {numbers} (seed {SEED})"
    tip = numbers[0]
    print(f"seed {SEED}: {len(reported)} commits reported over {ROUNDS} kills, tip is commit {tip}")
    # the tip is the last commit a child reported, or the one whose ref update landed just before a kill
    assert tip in (max(reported), max(reported) + 1), f"tip {tip}, reported {max(reported)} (seed {SEED})"
    for i, sid in reported_ids.items():
        assert ancestry[tip - i].id == sid

    # and the repository takes a new commit
    s = repo.writable_session("main")
    root = zarr.open_group(s.store, mode="r+")
    root["data"][:4] = 7.0
    root["data"].attrs["after_crash"] = checker
    sid = s.commit("after crash", metadata={"i": tip + 1})
    r = lib.Repository.open(lib.local_filesystem_storage(path))
    assert r.lookup_branch("main") == sid
    assert [x.id for x in r.ancestry(branch="main")][:2] == [sid, ancestry[0].id]
    ro = zarr.open_group(r.readonly_session(branch="main").store, mode="r")
    assert ro["data"].attrs["after_crash"] == checker
    np.testing.assert_array_equal(ro["data"][:4], np.full((4, 1024), 7.0, dtype="float32"))
    np.testing.assert_array_equal(ro["data"][4:], _expected_data(tip)[4:])
