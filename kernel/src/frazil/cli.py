"""The ``frazil`` command.

icechunk's subcommands (``config``, ``repo``, ``ancestry``, ``branch``,
``tag``) over the aliases of the CLI config both commands share, and
frazil's own:

  plugins                    what is installed, by kind
  check REPO                 verify a repository (read-only); exit 1 if damaged
  gc REPO --older-than 30d   expire history, delete garbage older than that
  expire REPO --older-than   drop old snapshots from the history
  diff REPO FROM [TO]        what changed (TO: main by default)
  log REPO [REF]             the history, newest first

REPO is an alias of the CLI config, or a path or URL. Long commands draw
progress bars when stderr is a terminal; -v/-vv log progress (INFO) or
everything (DEBUG) to stderr.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys

from frazil import __version__
from frazil._cli_commands import add_icechunk_commands
from frazil._cli_ops import (
    REPO_HELP,
    Bars,
    add_history_commands,
    open_repo,
    parse_older_than,
    verbose_option,
    verbosity,
)
from frazil.errors import IcechunkError
from frazil.plugins import get_plugins


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


def _check(args: argparse.Namespace) -> int:
    bars = Bars.for_stderr(args.progress)
    try:
        repo = open_repo(args.url)
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
    bars = Bars.for_stderr(args.progress)
    cut = (parse_older_than(args.older_than) if args.older_than is not None
           else _dt.datetime.now(_dt.UTC) - _dt.timedelta(days=args.older_than_days))
    try:
        repo = open_repo(args.url)
        if args.expire and not args.dry_run:
            expired = repo.expire_snapshots(cut, progress=bars)
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
    parser = argparse.ArgumentParser(prog="frazil", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"frazil {__version__}")
    verbose_option(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plugins", help="list installed plugins of every kind").set_defaults(
        func=_plugins)
    add_icechunk_commands(sub)
    chk = sub.add_parser("check", help="verify a repository's integrity (changes nothing)")
    chk.add_argument("url", metavar="repo", help=REPO_HELP)
    chk.add_argument("--dangling", action="store_true", help="list unreferenced objects")
    chk.add_argument("--no-progress", dest="progress", action="store_false",
                     help="no progress line on a terminal")
    verbose_option(chk)
    chk.set_defaults(func=_check)
    gc = sub.add_parser("gc", help="expire old history and delete unreachable objects")
    gc.add_argument("url", metavar="repo", help=REPO_HELP)
    when = gc.add_mutually_exclusive_group(required=True)
    when.add_argument("--older-than-days", type=float,
                      help="only objects (and snapshots) older than this many days")
    when.add_argument("--older-than", metavar="WHEN",
                      help="or a cut-off as for expire: ISO 8601 datetime or 30d, 12h...")
    gc.add_argument("--no-expire", dest="expire", action="store_false",
                    help="collect garbage without expiring snapshots first")
    gc.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    gc.add_argument("--no-progress", dest="progress", action="store_false",
                    help="no progress bar on a terminal")
    verbose_option(gc)
    gc.set_defaults(func=_gc)
    add_history_commands(sub)
    args = parser.parse_args(argv)
    with verbosity(args.verbose):
        try:
            return int(args.func(args))
        except IcechunkError as e:  # a clear line, not a traceback
            print(f"frazil: error: {e}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
