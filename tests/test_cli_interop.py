"""The ``frazil`` command against the ``icechunk`` command on a shared CLI config."""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

icechunk = pytest.importorskip("icechunk")
BIN = Path(sys.executable).parent
ICECHUNK_CLI = BIN / "icechunk"
pytestmark = pytest.mark.skipif(not ICECHUNK_CLI.exists(), reason="icechunk's CLI not installed")


def _run(tool: str, *args: str, env: dict[str, str], ok: bool = True) -> str:
    done = subprocess.run([str(BIN / tool), *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    if ok:
        assert done.returncode == 0, done.stderr[-2000:]
    else:
        assert done.returncode != 0
        return done.stderr
    return done.stdout


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "cfg"), TZ="UTC", NO_COLOR="1",
             ICECHUNK_LOG="error")
    e.pop("FRAZIL_CLI_CONFIG", None)
    return e


def test_frazil_config_and_repo_create_are_read_by_icechunk(tmp_path, env):
    _run("frazil", "config", "add", "r", "--kind", "LocalFileSystem", "--path",
         str(tmp_path / "r"), env=env)
    assert "!LocalFileSystem" in _run("icechunk", "config", "list", env=env)
    _run("frazil", "repo", "create", "r", env=env)
    assert icechunk.Repository.exists(icechunk.local_filesystem_storage(str(tmp_path / "r")))
    _run("frazil", "branch", "create", "r", "dev", "main", env=env)
    _run("frazil", "tag", "create", "r", "v1", "dev", env=env)
    # icechunk's command sees frazil's refs, and the listings agree line for line
    for kind in ("branch", "tag"):
        assert _run("frazil", kind, "list", "r", env=env) == \
            _run("icechunk", kind, "list", "r", env=env)
    assert "dev" in _run("frazil", "branch", "list", "r", env=env)


def test_icechunk_changes_are_seen_by_frazil_and_ancestry_prints_alike(tmp_path, env):
    import zarr

    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(tmp_path / "r")))
    for i in range(3):
        s = repo.writable_session("main")
        zarr.group(store=s.store).attrs["i"] = i
        s.commit(f"commit {i}")
    _run("frazil", "config", "add", "r", "--kind", "LocalFileSystem", "--path",
         str(tmp_path / "r"), env=env)
    _run("icechunk", "tag", "create", "r", "t", "main", env=env)
    _run("icechunk", "branch", "create", "r", "b", "t", env=env)
    for args in (("branch", "list", "r"), ("tag", "list", "r"), ("ancestry", "r"),
                 ("ancestry", "r", "t", "-n", "2")):
        assert _run("frazil", *args, env=env) == _run("icechunk", *args, env=env), args
    _run("frazil", "branch", "delete", "r", "b", env=env)
    _run("frazil", "tag", "delete", "r", "t", env=env)
    assert _run("icechunk", "branch", "list", "r", env=env).split() == \
        [repo.lookup_branch("main"), "main"]
    assert _run("icechunk", "tag", "list", "r", env=env) == ""


def test_bad_input_is_one_clear_line(tmp_path, env):
    err = _run("frazil", "branch", "list", "missing", env=env, ok=False)
    assert re.search(r"frazil: error: repository 'missing' not found in the CLI config", err)
    assert "Traceback" not in err
    _run("frazil", "config", "add", "r", "--kind", "LocalFileSystem", "--path",
         str(tmp_path / "r"), env=env)
    _run("frazil", "repo", "create", "r", env=env)
    err = _run("frazil", "branch", "create", "r", "x", "nope", env=env, ok=False)
    assert "`nope` is not a valid snapshot id, branch, or tag" in err and "Traceback" not in err


# ------------------------------------------------ frazil's expire, diff and log on icechunk's repos
def _icechunk_history(path: Path) -> tuple[list[str], datetime.datetime]:
    """icechunk writes 5 commits (array ``a``), ``old`` branch at the 2nd, tag ``t_old`` at the
    3rd, ``dev`` at the 5th; returns the ids (initial first) and a time between the 3rd and 4th."""
    import time

    import zarr

    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(path)))
    ids = [repo.lookup_branch("main")]
    cut = None
    for i in range(5):
        if i == 3:
            time.sleep(0.05)
            cut = datetime.datetime.now(datetime.UTC)
            time.sleep(0.05)
        s = repo.writable_session("main")
        g = zarr.group(store=s.store)
        if i == 0:
            g.create_array("a", shape=(10,), chunks=(2,), dtype="i4", fill_value=0)
            g.create_group("g")
        else:
            g["a"][2 * i:2 * i + 2] = i
            g.attrs["i"] = i
        ids.append(s.commit(f"commit {i}"))
    repo.create_branch("old", ids[2])
    repo.create_tag("t_old", ids[3])
    repo.create_branch("dev", ids[5])
    assert cut is not None
    return ids, cut


def _history_of(repo) -> dict[str, list[str]]:
    out = {f"branch {b}": [s.id for s in repo.ancestry(branch=b)] for b in repo.list_branches()}
    out.update({f"tag {t}": [s.id for s in repo.ancestry(tag=t)] for t in repo.list_tags()})
    return out


@pytest.mark.parametrize("flags", [(), ("--delete-expired-branches", "--delete-expired-tags")])
def test_frazil_expire_matches_icechunk_expire(tmp_path, env, flags):
    import shutil

    import frazil
    import numpy as np
    import zarr

    _, cut = _icechunk_history(tmp_path / "orig")
    shutil.copytree(tmp_path / "orig", tmp_path / "by_frazil")
    shutil.copytree(tmp_path / "orig", tmp_path / "by_icechunk")
    out = _run("frazil", "expire", str(tmp_path / "by_frazil"), "--older-than", cut.isoformat(),
               *flags, env=env)
    ice = icechunk.Repository.open(icechunk.local_filesystem_storage(str(tmp_path / "by_icechunk")))
    expected = ice.expire_snapshots(cut, delete_expired_branches=bool(flags),
                                    delete_expired_tags=bool(flags))
    assert expected  # the cut-off does expire something
    assert {ln.strip() for ln in out.splitlines() if ln.startswith("  ")} == expected
    # icechunk reopens frazil's result and sees what its own expiry left; frazil reads icechunk's
    reopened = icechunk.Repository.open(
        icechunk.local_filesystem_storage(str(tmp_path / "by_frazil")))
    assert _history_of(reopened) == _history_of(ice)
    flo = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path / "by_icechunk")))
    assert _history_of(flo) == _history_of(ice)
    if flags:
        assert "branch old" not in _history_of(ice) and "tag t_old" not in _history_of(ice)
        assert "deleted branch old" in out and "deleted tag t_old" in out
    arr = zarr.open_array(reopened.readonly_session("main").store, path="a", mode="r")
    np.testing.assert_array_equal(arr[:], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])  # data unchanged
    assert _run("frazil", "check", str(tmp_path / "by_icechunk"), env=env).endswith("OK\n")
    # and each collects the other's garbage: icechunk on frazil's, frazil's gc on icechunk's
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)
    ice_gc = reopened.garbage_collect(later)
    assert ice_gc.snapshots_deleted == len(expected)
    out = _run("frazil", "gc", str(tmp_path / "by_icechunk"), "--older-than", later.isoformat(),
               "--no-expire", env=env)
    assert out.startswith(f"deleted {len(expected)} snapshot(s)")
    for path in ("by_frazil", "by_icechunk"):
        assert _run("frazil", "check", str(tmp_path / path), env=env).endswith("OK\n")
        again = icechunk.Repository.open(icechunk.local_filesystem_storage(str(tmp_path / path)))
        assert _history_of(again) == _history_of(ice)
        arr = zarr.open_array(again.readonly_session("main").store, path="a", mode="r")
        np.testing.assert_array_equal(arr[:], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])


def test_frazil_log_and_diff_match_the_api_on_icechunks_repo(tmp_path, env):
    import json

    ids, _ = _icechunk_history(tmp_path / "r")
    ice = icechunk.Repository.open(icechunk.local_filesystem_storage(str(tmp_path / "r")))
    lines = _run("frazil", "log", str(tmp_path / "r"), "--oneline", env=env).splitlines()
    want = list(ice.ancestry(branch="main"))
    assert [ln.split()[0] for ln in lines] == [s.id for s in want] == ids[::-1]
    assert [ln.rsplit(" ", 2)[-2:] for ln in lines[:-1]] == \
        [s.message.split() for s in want[:-1]]
    assert lines[2] == f"{ids[3]} (tag: t_old) commit 2"
    full = _run("frazil", "log", str(tmp_path / "r"), "old", "-n", "1", env=env)
    assert full.count("snapshot ") == 1 and full.startswith(f"snapshot {ids[2]} (old)")
    assert f"Parent:   {ids[1]}" in full and "\n    commit 1\n" in full
    for src, dst in ((ids[1], "dev"), ("t_old", "main"), ("old", ids[4])):
        got = json.loads(_run("frazil", "diff", str(tmp_path / "r"), src, dst, "--json",
                              env=env))
        kw = {"from_snapshot_id": src} if src in ids else \
            ({"from_tag": src} if src == "t_old" else {"from_branch": src})
        kw.update({"to_snapshot_id": dst} if dst in ids else {"to_branch": dst})
        d = ice.diff(**kw)
        assert got == {
            "new_groups": sorted(d.new_groups), "new_arrays": sorted(d.new_arrays),
            "deleted_groups": sorted(d.deleted_groups),
            "deleted_arrays": sorted(d.deleted_arrays),
            "updated_groups": sorted(d.updated_groups),
            "updated_arrays": sorted(d.updated_arrays),
            "updated_chunks": {k: sorted(v) for k, v in sorted(d.updated_chunks.items())},
            "moved_nodes": [list(m) for m in getattr(d, "moved_nodes", [])],
        }, (src, dst)
    text = _run("frazil", "diff", str(tmp_path / "r"), ids[1], env=env)
    assert "Chunks updated:\n    /a:\n        [1]\n" in text and "Group definitions updated" in text
