"""icechunk's CLI subcommands in ``frazil``: config, repo, ancestry, branch, tag.

Same names, arguments and output lines as ``icechunk``'s command; the aliases
live in the config file both commands share (:mod:`frazil._cli_config`).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from frazil import _cli_config as cc
from frazil._cli_config import Tagged
from frazil._refs import parse_snapshot_id
from frazil.errors import IcechunkError, InvalidInputError
from frazil.repository import Repository

__all__ = ["add_icechunk_commands", "open_definition", "resolve_reference"]

ALIAS_HELP = "Alias of the repository in the config"


def open_definition(defn: Any) -> Repository:
    """The repository a CLI config entry describes, opened with its config."""
    return Repository.open(cc.open_storage(defn), config=cc.repository_config(defn))


def _open(alias: str) -> Repository:
    return open_definition(cc.definition(cc.load(), alias))


def resolve_reference(repo: Repository, reference: str) -> str:
    """A snapshot id from a snapshot id, branch or tag (tried in that order, as icechunk)."""
    try:
        parse_snapshot_id(reference)
        return reference
    except InvalidInputError:
        pass
    for lookup in (repo.lookup_branch, repo.lookup_tag):
        try:
            return lookup(reference)
        except IcechunkError:
            continue
    raise InvalidInputError(f"`{reference}` is not a valid snapshot id, branch, or tag")


# ------------------------------------------------------------------ commands
def _repo_create(a: argparse.Namespace) -> int:
    defn = cc.definition(cc.load(), a.alias)
    Repository.create(cc.open_storage(defn), config=cc.repository_config(defn))
    print(f"✅ Created repository {a.alias!r}")
    return 0


def _refs(kind: str) -> Any:
    def run(a: argparse.Namespace) -> int:
        repo = _open(a.alias)
        names = repo.list_branches() if kind == "branch" else repo.list_tags()
        lookup = repo.lookup_branch if kind == "branch" else repo.lookup_tag
        for name in sorted(names):
            print(f"{lookup(name)}  {name}")
        return 0
    return run


def _branch_create(a: argparse.Namespace) -> int:
    repo = _open(a.alias)
    repo.create_branch(a.branch, resolve_reference(repo, a.source))
    print(f"✅ Created branch {a.branch!r} from {a.source!r} in repository {a.alias!r}")
    return 0


def _branch_delete(a: argparse.Namespace) -> int:
    _open(a.alias).delete_branch(a.branch)
    print(f"✅ Deleted branch {a.branch!r} in repository {a.alias!r}")
    return 0


def _tag_create(a: argparse.Namespace) -> int:
    repo = _open(a.alias)
    target = resolve_reference(repo, a.target)
    repo.create_tag(a.tag, target)
    print(f"✅ Created tag {a.tag!r} for {target} in repository {a.alias!r}")
    return 0


def _tag_delete(a: argparse.Namespace) -> int:
    _open(a.alias).delete_tag(a.tag)
    print(f"✅ Deleted tag {a.tag!r} in repository {a.alias!r}")
    return 0


def _ancestry(a: argparse.Namespace) -> int:
    repo = _open(a.alias)
    sid = resolve_reference(repo, a.reference)
    for n, snap in enumerate(repo.ancestry(snapshot_id=sid)):
        if n >= a.n:
            break
        when = snap.written_at.astimezone(datetime.now().astimezone().tzinfo)
        print(f"Snapshot: {snap.id}")
        print(f"Date: {when.strftime('%B %d %Y  %H:%M:%S')}")
        if snap.message:
            print(f"\n  {snap.message}")
        print()
    return 0


def _config_list(_: argparse.Namespace) -> int:
    path = cc.config_path()
    print(path.read_text() if path.exists() else "repos: {}", end="" if path.exists() else "\n")
    return 0


def _ask(prompt: str, default: str | None = None) -> str:
    if not sys.stdin.isatty():
        raise InvalidInputError(f"{prompt}: give it as an option (stdin is not a terminal)")
    answer = input(f"{prompt}{f' [{default}]' if default else ''}: ").strip()
    return answer or (default or "")


def _definition_from(a: argparse.Namespace) -> Tagged:
    """A repository definition from options, asking on a terminal for what is missing."""
    kind = a.kind or _ask(f"Storage kind ({', '.join(cc.KINDS)})", "LocalFileSystem")
    if kind not in cc.KINDS:
        raise InvalidInputError(f"unknown storage kind {kind!r}: one of {', '.join(cc.KINDS)}")
    if kind == "LocalFileSystem":
        return Tagged(kind, {"path": a.path or _ask("Path"), "config": {}})
    location: dict[str, Any] = {"prefix": a.prefix if a.prefix is not None else _ask("Prefix")}
    if kind == "Azure":
        location = {"account": a.account or _ask("Account"),
                    "container": a.container or _ask("Container"), **location}
    else:
        location = {"bucket": a.bucket or _ask("Bucket"), **location}
    store: dict[str, Any] = {}
    if kind in ("S3", "Tigris"):
        store = {"region": a.region or _ask("Region", "us-east-1"), "endpoint_url": None,
                 "anonymous": False, "allow_http": False, "force_path_style": False}
    return Tagged(kind, {"location": location, "object_store_config": store,
                         "credentials": Tagged("FromEnv", None), "config": {}})


def _config_add(a: argparse.Namespace) -> int:
    repos = cc.load()
    if a.alias in repos:
        raise InvalidInputError(f"Repository {a.alias!r} already exists")
    repos[a.alias] = _definition_from(a)
    print(f"✅ Added repository {a.alias!r} to {cc.save(repos)}")
    return 0


def _config_init(a: argparse.Namespace) -> int:
    if cc.load() and not a.force:
        raise InvalidInputError("a config file with repositories exists: use --force to "
                                "overwrite it")
    repos = {a.alias or _ask("Repository alias"): _definition_from(a)}
    print(f"✅ Created config {cc.save(repos)}")
    return 0


# ------------------------------------------------------------------ parser
def _definition_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=cc.KINDS, help="storage kind (asked when omitted)")
    for opt in ("path", "bucket", "prefix", "region", "account", "container"):
        p.add_argument(f"--{opt}", help=f"the repository's {opt}")


def add_icechunk_commands(sub: Any) -> None:
    """Add icechunk's subcommands to the ``frazil`` parser's subparsers ``sub``."""
    config = sub.add_parser("config", help="Manage configuration").add_subparsers(
        dest="config_command", required=True)
    init = config.add_parser("init", help="Interactively create a new config file.")
    init.add_argument("-f", "--force", action="store_true", help="Overwrite existing config")
    init.add_argument("--alias", help="alias of the first repository (asked when omitted)")
    _definition_options(init)
    init.set_defaults(func=_config_init)
    add = config.add_parser("add", help="Interactively add a repository to the config. "
                                        "Config is created if it doesn't exist.")
    add.add_argument("alias", help=ALIAS_HELP)
    _definition_options(add)
    add.set_defaults(func=_config_add)
    config.add_parser("list", help="Print the current config.").set_defaults(func=_config_list)

    repo = sub.add_parser("repo", help="Manage repositories").add_subparsers(
        dest="repo_command", required=True)
    create = repo.add_parser("create", help="Create a repository")
    create.add_argument("alias", help=ALIAS_HELP)
    create.set_defaults(func=_repo_create)

    anc = sub.add_parser("ancestry", help="Show ancestry of a branch, tag or snapshot")
    anc.add_argument("alias", help=ALIAS_HELP)
    anc.add_argument("reference", nargs="?", default="main",
                     help="Branch, tag, or snapshot id to show ancestry for")
    anc.add_argument("-n", type=int, default=10, help="Number of snapshots to list")
    anc.set_defaults(func=_ancestry)

    for kind, what in (("branch", "branches"), ("tag", "tags")):
        group = sub.add_parser(kind, help=f"Manage {what}").add_subparsers(
            dest=f"{kind}_command", required=True)
        lst = group.add_parser("list", help=f"List {what}")
        lst.add_argument("alias", help=ALIAS_HELP)
        lst.set_defaults(func=_refs(kind))
        mk = group.add_parser("create", help=f"Create {kind}")
        mk.add_argument("alias", help=ALIAS_HELP)
        mk.add_argument(kind, help=f"Name of the {kind} to create")
        if kind == "branch":
            mk.add_argument("source", metavar="from",
                            help="Branch, tag, or snapshot id to create the branch from")
            mk.set_defaults(func=_branch_create)
        else:
            mk.add_argument("target", help="Branch, tag, or snapshot id to create the tag for")
            mk.set_defaults(func=_tag_create)
        rm = group.add_parser("delete", help=f"Delete {kind}")
        rm.add_argument("alias", help=ALIAS_HELP)
        rm.add_argument(kind, help=f"Name of the {kind} to delete")
        rm.set_defaults(func=_branch_delete if kind == "branch" else _tag_delete)
