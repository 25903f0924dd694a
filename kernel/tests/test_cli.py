from __future__ import annotations

import subprocess
import sys

import pytest
from frazil.cli import main


def test_plugins_lists_builtin_storage(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "in_memory" in out and "local_filesystem" in out
    assert "frazil" in out  # the distribution that provides them


def test_version_and_usage(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert "frazil" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code != 0


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "frazil.cli", "plugins"], capture_output=True,
                         text=True, check=True).stdout
    assert "local_filesystem" in out


def test_progress_bars_draw_one_bar_per_phase(capsys):
    from frazil.cli import Bars

    bars = Bars(True)
    for done in range(0, 5):
        bars("scanning snapshots", done, 4)
    bars("deleting", 1, None)
    bars.close()
    err = capsys.readouterr().err
    assert "scanning snapshots" in err and "4/4" in err and "deleting" in err
    quiet = Bars(False)
    quiet("x", 1, 2)
    quiet.close()
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------ history commands, progress, logs
def _history_repo(path) -> list[str]:
    """A frazil repository with 4 commits on main, tag ``v1`` at the 2nd, branch ``dev`` at
    the 3rd; returns the snapshot ids, oldest first (the initial one included)."""
    import frazil
    import zarr

    repo = frazil.Repository.create(frazil.local_filesystem_storage(str(path)))
    ids = [repo.lookup_branch("main")]
    for i in range(4):
        s = repo.writable_session("main")
        g = zarr.group(store=s.store)
        if i == 0:
            g.create_array("a", shape=(8,), chunks=(2,), dtype="i4", fill_value=0)
        else:
            g["a"][2 * i:2 * i + 2] = i
        ids.append(s.commit(f"commit {i}\nbody {i}"))
    repo.create_tag("v1", ids[2])
    repo.create_branch("dev", ids[3])
    return ids


def test_log_lists_the_ancestry_with_refs(tmp_path, capsys):
    import frazil

    ids = _history_repo(tmp_path / "r")
    assert main(["log", str(tmp_path / "r"), "--oneline"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == ids[::-1]
    assert lines[0].endswith("(main) commit 3")
    assert lines[1] == f"{ids[3]} (dev) commit 2"
    assert lines[2] == f"{ids[2]} (tag: v1) commit 1"
    assert main(["log", f"file://{tmp_path / 'r'}", "v1", "-n", "1"]) == 0
    out = capsys.readouterr().out
    info = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path / "r")))\
        .lookup_snapshot(ids[2])
    assert out.startswith(f"snapshot {ids[2]} (tag: v1)\n")
    assert f"Parent:   {ids[1]}" in out and "    commit 1\n    body 1\n" in out
    assert info.written_at.isoformat(timespec="seconds").replace("+00:00", "") in out
    assert out.count("snapshot ") == 1


def test_diff_prints_the_api_diff(tmp_path, capsys):
    import json

    import frazil

    ids = _history_repo(tmp_path / "r")
    repo = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path / "r")))
    assert main(["diff", str(tmp_path / "r"), "v1"]) == 0  # TO defaults to main
    assert capsys.readouterr().out == str(repo.diff(from_tag="v1", to_branch="main"))
    assert main(["diff", str(tmp_path / "r"), ids[1], "dev", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = repo.diff(from_snapshot_id=ids[1], to_branch="dev")
    assert got["updated_chunks"] == {"/a": [[1], [2]]} == \
        {k: sorted(v) for k, v in want.updated_chunks.items()}
    assert main(["diff", str(tmp_path / "r"), "main", "main"]) == 0
    assert capsys.readouterr().out.startswith("no changes")
    assert main(["diff", str(tmp_path / "r"), "main", "v1"]) == 1  # not an ancestor
    err = capsys.readouterr().err
    assert err.startswith("frazil: error:") and "Traceback" not in err


def test_expire_dry_run_lists_what_expire_then_does(tmp_path, capsys):
    import frazil

    ids = _history_repo(tmp_path / "r")
    path = str(tmp_path / "r")
    args = ["expire", path, "--older-than", "0s", "--delete-expired-tags"]
    assert main([*args, "--dry-run"]) == 0
    dry = capsys.readouterr().out.splitlines()
    assert dry[0].startswith("would expire 2 snapshot(s)") and "would delete tag v1" in dry
    assert sorted(ln.strip() for ln in dry if ln.startswith("  ")) == sorted(ids[1:3])
    repo = frazil.Repository.open(frazil.local_filesystem_storage(path))
    assert len(list(repo.ancestry(branch="main"))) == 5  # the dry run changed nothing
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("expired 2 snapshot(s)") and "deleted tag v1" in out
    assert sorted(ln.strip() for ln in out if ln.startswith("  ")) == sorted(ids[1:3])
    repo = frazil.Repository.open(frazil.local_filesystem_storage(path))
    assert [s.id for s in repo.ancestry(branch="main")] == [ids[4], ids[3], ids[0]]
    assert repo.list_tags() == set()
    assert main(["expire", path, "--older-than", "last week"]) == 1
    assert "--older-than 'last week'" in capsys.readouterr().err


def test_parse_older_than():
    import datetime as dt

    from frazil._cli_ops import parse_older_than

    now = dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)
    assert parse_older_than("30d", now) == now - dt.timedelta(days=30)
    assert parse_older_than("12h", now) == now - dt.timedelta(hours=12)
    assert parse_older_than("1.5w", now) == now - dt.timedelta(days=10.5)
    assert parse_older_than("2026-01-01T00:00:00Z") == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert parse_older_than("2026-01-01") == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert parse_older_than("2026-01-01T01:00:00+01:00") == \
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    from frazil.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        parse_older_than("30 days")


def test_repo_argument_is_an_alias_first(tmp_path, capsys, monkeypatch):
    ids = _history_repo(tmp_path / "r")
    monkeypatch.setenv("FRAZIL_CLI_CONFIG", str(tmp_path / "cfg.yaml"))
    assert main(["config", "add", "here", "--kind", "LocalFileSystem", "--path",
                 str(tmp_path / "r")]) == 0
    capsys.readouterr()
    assert main(["log", "here", "--oneline", "-n", "1"]) == 0
    assert capsys.readouterr().out.split()[0] == ids[-1]
    assert main(["check", "here"]) == 0
    assert capsys.readouterr().out.endswith("OK\n")
    assert main(["log", "nowhere"]) == 1
    assert "no Icechunk repository" in capsys.readouterr().err


def _frazil(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("FRAZIL_LOG", "ICECHUNK_LOG")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "frazil.cli", *args], capture_output=True,
                          text=True, timeout=120, check=False, env=env)


def _under_pty(*args: str, columns: int = 0) -> tuple[int, str]:
    """Run ``frazil args`` with stderr on a pseudo-terminal (``columns`` wide, 0: unsized);
    returns (status, what it drew)."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "frazil.cli", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("command", [["gc", "--older-than-days", "0"], ["check"],
                                     ["expire", "--older-than", "0s"]])
def test_progress_bars_on_a_terminal_only(tmp_path, command):
    _history_repo(tmp_path / "r")
    name, *rest = command
    status, drawn = _under_pty(name, str(tmp_path / "r"), *rest)
    assert status == 0, drawn
    phase = {"gc": "walk manifests", "check": "check manifests",
             "expire": "expire snapshots"}[name]
    assert phase in drawn and "\r" in drawn  # a tqdm bar, redrawn in place
    assert "obj" in drawn and "|" in drawn
    piped = _frazil(name, str(tmp_path / "r"), *rest)
    assert piped.returncode == 0, piped.stderr
    assert phase not in piped.stderr and "\r" not in piped.stderr
    status, drawn = _under_pty(name, str(tmp_path / "r"), *rest, "--no-progress")
    assert status == 0 and phase not in drawn
    status, drawn = _under_pty(name, str(tmp_path / "r"), *rest, columns=60)
    assert status == 0 and phase in drawn
    widths = {len(line) for line in drawn.split("\r") if phase in line}
    assert widths and max(widths) <= 60  # the bar fits the terminal it is drawn on


def test_verbose_logs_plain_progress_lines_when_piped(tmp_path):
    _history_repo(tmp_path / "r")
    quiet = _frazil("gc", str(tmp_path / "r"), "--older-than-days", "0")
    assert "garbage_collect" not in quiet.stderr
    loud = _frazil("gc", str(tmp_path / "r"), "--older-than-days", "0", "-v")
    assert loud.returncode == 0, loud.stderr
    lines = loud.stderr.splitlines()
    assert "INFO: garbage_collect: walk manifests 3/3 (100%)" in lines
    assert "\r" not in loud.stderr and "DEBUG" not in loud.stderr
    # FRAZIL_LOG / ICECHUNK_LOG still filter when no -v is given
    env = _frazil("gc", str(tmp_path / "r"), "--older-than-days", "0",
                  env_extra={"ICECHUNK_LOG": "icechunk=info"})
    assert "garbage_collect: walk manifests" in env.stderr


def test_progress_log_is_throttled(caplog):
    from frazil._progress import ProgressLog

    caplog.set_level("INFO", logger="frazil.ops")
    seen: list[tuple[str, int, int | None]] = []
    p = ProgressLog("op", lambda *a: seen.append(a), interval=3600)
    for i in range(101):
        p("phase one", i, 100)
    p("phase one", 100, 100)  # a repeated final call logs nothing more
    p("phase two", 5, None)
    p("phase two", 6, None)
    msgs = [r.getMessage() for r in caplog.records if r.name == "frazil.ops"]
    assert msgs == ["op: phase one 0/100 (0%)", "op: phase one 100/100 (100%)",
                    "op: phase two 5"]
    assert len(seen) == 104  # the callback gets every call
    caplog.clear()
    every = ProgressLog("op", interval=0)
    for i in range(3):
        every("p", i, 10)
    assert len([r for r in caplog.records if r.name == "frazil.ops"]) == 3


def test_gc_logs_progress_records(tmp_path, caplog):
    import datetime as dt

    import frazil

    _history_repo(tmp_path / "r")
    repo = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path / "r")))
    repo.expire_snapshots(dt.datetime.now(dt.UTC))
    caplog.set_level("INFO", logger="frazil.ops")
    summary = repo.garbage_collect(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert summary.snapshots_deleted == 1  # the first commit (the tag keeps the second)
    msgs = [r.getMessage() for r in caplog.records if r.name == "frazil.ops.gc"]
    assert "garbage_collect: walk manifests 3/3 (100%)" in msgs
    assert "garbage_collect: snapshots 1/1 (100%)" in msgs
    assert all(r.levelname == "INFO" for r in caplog.records if r.name == "frazil.ops.gc")


def test_icechunk_log_targets_select_progress_records(tmp_path, caplog):
    import datetime as dt
    import logging

    import frazil

    _history_repo(tmp_path / "r")
    repo = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path / "r")))
    try:
        frazil.set_logs_filter("icechunk::ops::gc=info")  # icechunk's target for gc
        repo.garbage_collect(dt.datetime.now(dt.UTC), dry_run=True)
        repo.check()
        names = {r.name for r in caplog.records if r.levelno == logging.INFO}
        assert names == {"frazil.ops.gc"}  # not check's progress, nor frazil.ops itself
        caplog.clear()
        frazil.set_logs_filter("frazil.ops=info")  # the parent selects every operation
        repo.check()
        assert {r.name for r in caplog.records} >= {"frazil.ops.check", "frazil.ops"}
    finally:
        frazil.set_logs_filter(None)
        for name in ("frazil.ops", "frazil.ops.gc"):
            logging.getLogger(name).setLevel(logging.NOTSET)


def test_rewrite_manifests_logs_progress(tmp_path, caplog):
    import frazil

    _history_repo(tmp_path / "r")
    repo = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path / "r")))
    caplog.set_level("INFO", logger="frazil.ops")
    repo.rewrite_manifests("rewrite", branch="main")
    msgs = [r.getMessage() for r in caplog.records if r.name == "frazil.ops.manifests"]
    assert msgs == ["rewrite_manifests: rewrite arrays 1/1 (100%)"]


def test_upgrade_logs_progress(tmp_path, caplog):
    import frazil

    storage = frazil.local_filesystem_storage(str(tmp_path / "v1"))
    repo = frazil.Repository.create(storage, spec_version=1)
    caplog.set_level("INFO", logger="frazil.ops")
    frazil.upgrade_icechunk_repository(repo, dry_run=False)
    msgs = [r.getMessage() for r in caplog.records if r.name == "frazil.ops.upgrade"]
    assert msgs[0] == "upgrade: plan 0" and msgs[1] == "upgrade: plan 1/1 (100%)"
    assert msgs[-1].startswith("upgrade: delete v1 files ") and msgs[-1].endswith("(100%)")


def test_gc_takes_either_cut_off_form(tmp_path, capsys):
    _history_repo(tmp_path / "r")
    path = str(tmp_path / "r")
    assert main(["gc", path, "--older-than", "1d", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("would delete 0 snapshot(s)")
    assert main(["gc", path, "--older-than", "0s"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("expired 1 snapshot(s)") and "deleted 1 snapshot(s)" in out
    for bad in ([], ["--older-than", "1d", "--older-than-days", "1"]):
        with pytest.raises(SystemExit) as e:
            main(["gc", path, *bad])
        assert e.value.code == 2
    capsys.readouterr()


def test_main_restores_log_levels(tmp_path, monkeypatch, capsys):
    import logging

    _history_repo(tmp_path / "r")
    before = {n: lg.level for n, lg in logging.root.manager.loggerDict.items()
              if n.startswith("frazil") and isinstance(lg, logging.Logger)}
    monkeypatch.setenv("FRAZIL_LOG", "frazil.ops.check=debug")
    assert main(["check", str(tmp_path / "r")]) == 0
    assert main(["-v", "log", str(tmp_path / "r")]) == 0
    after = {n: lg.level for n, lg in logging.root.manager.loggerDict.items()
             if n.startswith("frazil") and isinstance(lg, logging.Logger)}
    assert {n: lvl for n, lvl in after.items() if lvl != before.get(n, 0)} == {}
    assert not any(h.get_name() == "frazil-cli" for h in logging.getLogger("frazil").handlers)
