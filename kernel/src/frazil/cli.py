"""The ``frazil`` command: icechunk's subcommands (config, repo, ancestry, branch, tag)
over the aliases of the shared CLI config, plus ``frazil plugins``."""

from __future__ import annotations

import argparse
import sys

from frazil import __version__
from frazil._cli_commands import add_icechunk_commands
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
        print(f"{r.kind:<{width}}  {r.name:<20}  {dist}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frazil", description=__doc__)
    parser.add_argument("--version", action="version", version=f"frazil {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plugins", help="list installed plugins of every kind").set_defaults(
        func=_plugins)
    add_icechunk_commands(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except IcechunkError as e:  # a clear line, not a traceback
        print(f"frazil: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
