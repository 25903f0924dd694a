"""The ``frazil`` command against the ``icechunk`` command on a shared CLI config."""

from __future__ import annotations

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
