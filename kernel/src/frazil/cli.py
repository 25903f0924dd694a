"""The ``frazil`` command.

icechunk's subcommands (``config``, ``repo``, ``ancestry``, ``branch``,
``tag``) over the aliases of the CLI config both commands share; ``frazil
plugins`` lists what is installed, by kind; ``frazil check URL`` verifies a
repository's integrity (read-only) and exits 1 if it is damaged; ``frazil gc
URL --older-than-days N`` expires history and collects garbage older than N
days (``--dry-run`` only counts).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys

from tqdm import tqdm

from frazil import __version__
from frazil._cli_commands import add_icechunk_commands
from frazil.errors import IcechunkError
from frazil.plugins import get_plugins
from frazil.repository import Repository
from frazil.storage import storage_from_url


def _plugins(_: argparse.Namespace) -> int:
    rows = sorted(get_plugins().list_plugins())
    if not rows:
        print("no plugins installed")
        return 0
    width = max(len(r.kind) for r in rows)
    for r in rows:
        dist = f"{r.distribution} {r.version}".strip() or "(in-process)"
        note = f"  CONFLICT: {r.conflict}" if r.conflict else ""
        print(f"{r.kind:<{width}}  {r.name:<20}  {dist}{note}")
    return 0


class _Bars:
    """``progress(phase, done, total)`` drawn as one tqdm bar per phase (terminals only)."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bar: tqdm | None = None
        self._phase = ""

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if not self._enabled:
            return
        if self._bar is None or phase != self._phase:
            self.close()
            self._bar = tqdm(total=total, desc=phase, unit="obj", file=sys.stderr, leave=False)
            self._phase = phase
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _check(args: argparse.Namespace) -> int:
    bars = _Bars(args.progress and sys.stderr.isatty())
    try:
        repo = Repository.open(storage_from_url(args.url))
        report = repo.check(progress=bars)
    except IcechunkError as e:
        print(f"frazil check: {e}", file=sys.stderr)
        return 2
    finally:
        bars.close()
    lines = str(report).splitlines()
    if not args.dangling:
        lines = [ln for ln in lines if not ln.startswith("dangling: ")]
        if report.dangling:
            lines.insert(-1, f"{len(report.dangling)} dangling object(s) (--dangling lists them)")
    print("\n".join(lines))
    return 0 if report.ok else 1


def _gc(args: argparse.Namespace) -> int:
    bars = _Bars(args.progress and sys.stderr.isatty())
    cut = _dt.datetime.now(_dt.UTC) - _dt.timedelta(days=args.older_than_days)
    try:
        repo = Repository.open(storage_from_url(args.url))
        if args.expire and not args.dry_run:
            expired = repo.expire_snapshots(cut)
            print(f"expired {len(expired)} snapshot(s) older than {cut.isoformat()}")
        summary = repo.garbage_collect(cut, dry_run=args.dry_run, progress=bars)
    except IcechunkError as e:
        print(f"frazil gc: {e}", file=sys.stderr)
        return 2
    finally:
        bars.close()
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb} {summary.snapshots_deleted} snapshot(s), {summary.manifests_deleted} "
          f"manifest(s), {summary.transaction_logs_deleted} transaction log(s), "
          f"{summary.chunks_deleted} chunk(s): {summary.bytes_deleted} bytes")
    return 0 if not summary.objects_failed_to_delete else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frazil", description=__doc__)
    parser.add_argument("--version", action="version", version=f"frazil {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plugins", help="list installed plugins of every kind").set_defaults(
        func=_plugins)
    add_icechunk_commands(sub)
    chk = sub.add_parser("check", help="verify a repository's integrity (changes nothing)")
    chk.add_argument("url", help="repository path or URL (file://, s3://... with its plugin)")
    chk.add_argument("--dangling", action="store_true", help="list unreferenced objects")
    chk.add_argument("--no-progress", dest="progress", action="store_false",
                     help="no progress line on a terminal")
    chk.set_defaults(func=_check)
    gc = sub.add_parser("gc", help="expire old history and delete unreachable objects")
    gc.add_argument("url", help="repository path or URL")
    gc.add_argument("--older-than-days", type=float, required=True,
                    help="only objects (and snapshots) older than this many days")
    gc.add_argument("--no-expire", dest="expire", action="store_false",
                    help="collect garbage without expiring snapshots first")
    gc.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    gc.add_argument("--no-progress", dest="progress", action="store_false",
                    help="no progress bar on a terminal")
    gc.set_defaults(func=_gc)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except IcechunkError as e:  # a clear line, not a traceback
        print(f"frazil: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
