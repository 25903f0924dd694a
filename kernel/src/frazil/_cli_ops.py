"""frazil's own history subcommands (``expire``, ``diff``, ``log``) and what the CLI shares.

``REPO`` arguments name a repository by its alias in the CLI config (see
:mod:`frazil._cli_config`) or by a path or URL. Long commands draw tqdm
progress bars on stderr when it is a terminal; ``-v``/``-vv`` log frazil's
INFO/DEBUG records (throttled progress lines included) to stderr.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from frazil import _cli_config as cc
from frazil import ops
from frazil._cli_commands import open_definition, resolve_reference
from frazil._logs import LOG_ENV, set_logs_filter
from frazil._sync import sync
from frazil.errors import InvalidInputError
from frazil.repository import Repository
from frazil.snapshots import Diff, SnapshotInfo
from frazil.storage import storage_from_url

__all__ = ["Bars", "add_history_commands", "open_repo", "parse_older_than", "verbosity"]

REPO_HELP = "repository: an alias of the CLI config, a path or a URL (file://, s3://...)"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_HANDLER_NAME = "frazil-cli"


# ------------------------------------------------------------------ shared
def open_repo(repo: str) -> Repository:
    """The repository ``repo`` names: a configured alias first, else a path or URL."""
    repos = cc.load() if cc.config_path().exists() else {}
    if repo in repos:
        return open_definition(repos[repo])
    return Repository.open(storage_from_url(repo))


class Bars:
    """``progress(phase, done, total)`` drawn as one tqdm bar per phase (terminals only)."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bar: tqdm | None = None
        self._phase = ""

    @classmethod
    def for_stderr(cls, wanted: bool = True) -> Bars:
        """Bars when ``wanted`` and stderr is a terminal; plain output otherwise."""
        return cls(wanted and sys.stderr.isatty())

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if not self._enabled:
            return
        if self._bar is None or phase != self._phase:
            self.close()
            sized = _stderr_columns() > 0  # tqdm draws nothing on an unsized terminal
            self._bar = tqdm(total=total, desc=phase, unit="obj", file=sys.stderr, leave=False,
                             ncols=None if sized else 80, nrows=None if sized else 24)
            self._phase = phase
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _stderr_columns() -> int:
    """The width of the terminal on stderr (0 if unknown: a pty nobody sized draws nothing)."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


class _BarSafeHandler(logging.Handler):
    """Log lines to the current stderr, printed above any progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must not break the command
            self.handleError(record)


@contextmanager
def verbosity(level: int) -> Iterator[None]:
    """Log frazil's records to stderr: warnings (or ``FRAZIL_LOG``), ``1`` INFO, ``2`` DEBUG.

    Restores the loggers' levels and handlers on exit (``main`` may run in-process).
    """
    root = logging.getLogger("frazil")
    names = ["frazil", "frazil.ops", "frazil.storage"]
    saved = {n: lg.level for n, lg in _frazil_loggers()}
    handler = _BarSafeHandler()
    handler.set_name(_HANDLER_NAME)
    fmt = "%(levelname)s %(name)s: %(message)s" if level > 1 else "%(levelname)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    root.addHandler(handler)
    try:
        if level <= 0:
            set_logs_filter(os.environ.get(LOG_ENV) or os.environ.get("ICECHUNK_LOG"))
        else:
            for n in names:
                logging.getLogger(n).setLevel(logging.INFO if level == 1 else logging.DEBUG)
        yield
    finally:
        root.removeHandler(handler)
        for n, lg in _frazil_loggers():
            lg.setLevel(saved.get(n, logging.NOTSET))


def _frazil_loggers() -> list[tuple[str, logging.Logger]]:
    return [(n, lg) for n, lg in list(logging.root.manager.loggerDict.items())
            if (n == "frazil" or n.startswith("frazil.")) and isinstance(lg, logging.Logger)]


def parse_older_than(text: str, now: _dt.datetime | None = None) -> _dt.datetime:
    """``"30d"``, ``"12h"``, ``"90m"``, ``"2w"``, ``"45s"`` ago, or an ISO 8601 datetime.

    A datetime without an offset is taken as UTC.
    """
    now = now or _dt.datetime.now(_dt.UTC)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if m:
        return now - _dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    try:
        when = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(f"--older-than {text!r}: give an ISO 8601 datetime "
                                "(2026-01-31T12:00:00Z) or a duration such as 30d, 12h, "
                                "90m, 2w") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=_dt.UTC)


# ------------------------------------------------------------------ expire
def _expire(a: argparse.Namespace) -> int:
    cut = parse_older_than(a.older_than)
    repo = open_repo(a.repo)
    if a.dry_run:
        return _expire_dry_run(repo, cut, a)
    bars = Bars.for_stderr(a.progress)
    try:
        before = _refs(repo)
        expired = repo.expire_snapshots(cut, delete_expired_branches=a.delete_expired_branches,
                                        delete_expired_tags=a.delete_expired_tags,
                                        progress=bars)
    finally:
        bars.close()
    after = _refs(repo)
    print(f"expired {len(expired)} snapshot(s) older than {cut.isoformat()}")
    for name in sorted(set(before) - set(after)):
        print(f"deleted {name}")
    for sid in sorted(expired):
        print(f"  {sid}")
    print("(their files stay until `frazil gc`)")
    return 0


def _refs(repo: Repository) -> list[str]:
    return [f"branch {b}" for b in repo.list_branches()] + [f"tag {t}" for t in repo.list_tags()]


def _expire_dry_run(repo: Repository, cut: _dt.datetime, a: argparse.Namespace) -> int:
    """The same rules applied to the current repo info in memory: nothing is written."""
    released, branches, tags = sync(ops.plan_expiry(
        repo._state, cut, delete_expired_branches=a.delete_expired_branches,
        delete_expired_tags=a.delete_expired_tags))
    print(f"would expire {len(released)} snapshot(s) older than {cut.isoformat()}")
    for name in sorted([f"branch {b}" for b in branches] + [f"tag {t}" for t in tags]):
        print(f"would delete {name}")
    for sid in sorted(released):
        print(f"  {sid}")
    return 0


# ------------------------------------------------------------------ diff
def _diff(a: argparse.Namespace) -> int:
    repo = open_repo(a.repo)
    src = resolve_reference(repo, a.source)
    dst = resolve_reference(repo, a.target)
    if src == dst:
        diff = Diff()
    else:
        diff = repo.diff(from_snapshot_id=src, to_snapshot_id=dst)
    if a.json:
        print(json.dumps(_diff_json(diff), indent=2, sort_keys=True))
    elif diff.is_empty():
        print(f"no changes from {src} to {dst}")
    else:
        print(str(diff), end="")
    return 0


def _diff_json(diff: Diff) -> dict[str, Any]:
    return {
        "new_groups": sorted(diff.new_groups), "new_arrays": sorted(diff.new_arrays),
        "deleted_groups": sorted(diff.deleted_groups),
        "deleted_arrays": sorted(diff.deleted_arrays),
        "updated_groups": sorted(diff.updated_groups),
        "updated_arrays": sorted(diff.updated_arrays),
        "updated_chunks": {k: sorted(v) for k, v in sorted(diff.updated_chunks.items())},
        "moved_nodes": [list(m) for m in diff.moved_nodes],
    }


# ------------------------------------------------------------------ log
def _log(a: argparse.Namespace) -> int:
    if a.n is not None and a.n < 0:
        raise InvalidInputError(f"-n must be 0 or more, not {a.n}")
    repo = open_repo(a.repo)
    sid = resolve_reference(repo, a.reference)
    labels = _labels(repo)
    for n, snap in enumerate(repo.ancestry(snapshot_id=sid)):
        if a.n is not None and n >= a.n:
            break
        print(_format(snap, labels.get(snap.id, []), a.oneline))
    return 0


def _labels(repo: Repository) -> dict[str, list[str]]:
    """Snapshot id -> the branches and tags pointing at it (one read of the refs)."""
    info = sync(repo._repo_info())
    out: dict[str, list[str]] = {}
    for b in sorted(info.branches):
        out.setdefault(str(info.branches[b]), []).append(b)
    for t in sorted(info.tags):
        out.setdefault(str(info.tags[t]), []).append(f"tag: {t}")
    return out


def _format(snap: SnapshotInfo, labels: list[str], oneline: bool) -> str:
    refs = f" ({', '.join(labels)})" if labels else ""
    first = snap.message.splitlines()[0] if snap.message else ""
    if oneline:
        return f"{snap.id}{refs} {first}".rstrip()
    when = snap.written_at.astimezone(_dt.UTC).isoformat(timespec="seconds")
    lines = [f"snapshot {snap.id}{refs}", f"Date:     {when}"]
    if snap.parent_id is not None:
        lines.append(f"Parent:   {snap.parent_id}")
    if snap.metadata:
        lines.append(f"Metadata: {json.dumps(snap.metadata, sort_keys=True, default=str)}")
    lines.append("")
    lines += [f"    {ln}" for ln in (snap.message or "").splitlines()] or ["    "]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ parser
def verbose_option(p: argparse.ArgumentParser, top: bool = False) -> None:
    """``-v``/``-vv`` on ``p`` (subcommands leave the top-level count alone when absent)."""
    p.add_argument("-v", "--verbose", action="count", default=0 if top else argparse.SUPPRESS,
                   help="log progress (-v: INFO) or everything (-vv: DEBUG) to stderr")


def add_history_commands(sub: Any) -> None:
    """Add ``expire``, ``diff`` and ``log`` to the ``frazil`` parser's subparsers ``sub``."""
    exp = sub.add_parser("expire", help="drop snapshots older than a cut-off from the history")
    exp.add_argument("repo", help=REPO_HELP)
    exp.add_argument("--older-than", required=True, metavar="WHEN",
                     help="cut-off: ISO 8601 datetime (UTC if no offset) or a duration "
                          "ago such as 30d, 12h, 90m, 2w")
    exp.add_argument("--delete-expired-branches", action="store_true",
                     help="also delete branches (never main) whose tip is older")
    exp.add_argument("--delete-expired-tags", action="store_true",
                     help="also delete tags whose snapshot is older")
    exp.add_argument("--dry-run", action="store_true", help="list what would expire, change "
                                                             "nothing")
    exp.add_argument("--no-progress", dest="progress", action="store_false",
                     help="no progress bar on a terminal")
    verbose_option(exp)
    exp.set_defaults(func=_expire)

    dif = sub.add_parser("diff", help="what changed between two versions")
    dif.add_argument("repo", help=REPO_HELP)
    dif.add_argument("source", metavar="FROM", help="branch, tag or snapshot id (the ancestor)")
    dif.add_argument("target", metavar="TO", nargs="?", default="main",
                     help="branch, tag or snapshot id (default: main)")
    dif.add_argument("--json", action="store_true", help="print the diff as JSON")
    verbose_option(dif)
    dif.set_defaults(func=_diff)

    lg = sub.add_parser("log", help="the history of a branch, tag or snapshot, newest first")
    lg.add_argument("repo", help=REPO_HELP)
    lg.add_argument("reference", metavar="REF", nargs="?", default="main",
                    help="branch, tag or snapshot id (default: main)")
    lg.add_argument("-n", type=int, default=None, help="show at most N snapshots")
    lg.add_argument("--oneline", action="store_true", help="one line per snapshot")
    verbose_option(lg)
    lg.set_defaults(func=_log)

