"""The CLI's repository aliases: icechunk's ``cli-config.yaml``, read and written.

The file is shared with icechunk's own CLI (same place, same YAML): a map
``repos`` from alias to a tagged repository definition, e.g.::

    repos:
      climate: !LocalFileSystem
        path: /data/climate
        config: {}
      cloud: !S3
        location: {bucket: b, prefix: p}
        object_store_config: {region: us-east-1, ...}
        credentials: !FromEnv
        config: {}

Its place: ``$FRAZIL_CLI_CONFIG``, else ``$XDG_CONFIG_HOME/icechunk/cli-config.yaml``
(``~/.config/...`` when unset).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from frazil.config import RepositoryConfig
from frazil.errors import InvalidInputError, NotFoundError
from frazil.plugins import get_plugins
from frazil.storage import Storage, local_filesystem_storage

__all__ = ["KINDS", "config_path", "load", "open_storage", "save"]

#: repository definition kinds, as icechunk tags them
KINDS = ("LocalFileSystem", "S3", "Tigris", "Azure", "GCS")
CONFIG_ENV = "FRAZIL_CLI_CONFIG"


class Tagged(dict):  # type: ignore[type-arg]
    """A mapping or scalar carried with its YAML tag (``!S3``, ``!FromEnv``...)."""

    def __init__(self, tag: str, value: Any) -> None:
        super().__init__(value if isinstance(value, dict) else {})
        self.tag = tag
        self.scalar = None if isinstance(value, dict) else value


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    pass


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tagged:
    if isinstance(node, yaml.MappingNode):
        return Tagged(suffix, loader.construct_mapping(node, deep=True))
    return Tagged(suffix, loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
                  else loader.construct_sequence(node, deep=True))  # type: ignore[arg-type]


def _represent(dumper: yaml.SafeDumper, value: Tagged) -> yaml.Node:
    if value.scalar is not None or not value:
        return dumper.represent_scalar(f"!{value.tag}", "" if value.scalar is None
                                       else str(value.scalar))
    return dumper.represent_mapping(f"!{value.tag}", dict(value))


_Loader.add_multi_constructor("!", _construct)
_Dumper.add_representer(Tagged, _represent)


def config_path() -> Path:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "icechunk" / "cli-config.yaml"


def load() -> dict[str, Tagged]:
    """The aliases of the config file (empty when there is none)."""
    path = config_path()
    if not path.exists():
        return {}
    try:
        data = yaml.load(path.read_text(), Loader=_Loader) or {}  # noqa: S506 (safe loader)
    except yaml.YAMLError as e:
        raise InvalidInputError(f"cannot parse the CLI config {path}: {e}") from None
    repos = data.get("repos") or {}
    if not isinstance(repos, dict) or not all(isinstance(v, Tagged) for v in repos.values()):
        raise InvalidInputError(f"the CLI config {path} has no valid 'repos' map")
    return repos


def save(repos: dict[str, Tagged]) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump({"repos": repos}, Dumper=_Dumper, sort_keys=False))
    return path


def definition(repos: dict[str, Tagged], alias: str) -> Tagged:
    try:
        return repos[alias]
    except KeyError:
        raise NotFoundError(f"repository {alias!r} not found in the CLI config "
                            f"({config_path()})") from None


def repository_config(defn: Tagged) -> RepositoryConfig:
    cfg = defn.get("config")
    return RepositoryConfig._from_dict(cfg if isinstance(cfg, dict) else None)


def open_storage(defn: Tagged) -> Storage:
    """The storage a repository definition names (backends come from plugins)."""
    if defn.tag == "LocalFileSystem":
        return local_filesystem_storage(str(defn["path"]))
    loc = defn.get("location") or {}
    opts = dict(defn.get("object_store_config") or {})
    creds = defn.get("credentials")
    names = get_plugins()
    if defn.tag in ("S3", "Tigris"):
        factory = names.public_name("frazil", "s3_storage" if defn.tag == "S3"
                                    else "tigris_storage")
        kw: dict[str, Any] = {k: opts[k] for k in ("region", "endpoint_url", "allow_http",
                                                    "force_path_style") if k in opts}
        if opts.get("anonymous") or (isinstance(creds, Tagged) and creds.tag == "Anonymous"):
            kw["anonymous"] = True
        elif isinstance(creds, Tagged) and creds.tag == "Static":
            kw.update({k: creds[k] for k in ("access_key_id", "secret_access_key",
                                              "session_token") if creds.get(k)})
        else:
            kw["from_env"] = True
        return factory(bucket=loc["bucket"], prefix=loc.get("prefix"), **kw)  # type: ignore[no-any-return]
    if defn.tag == "GCS":
        factory = names.public_name("frazil", "gcs_storage")
        return factory(bucket=loc["bucket"], prefix=loc.get("prefix"),  # type: ignore[no-any-return]
                       from_env=True, config=opts or None)
    if defn.tag == "Azure":
        factory = names.public_name("frazil", "azure_storage")
        return factory(account=loc["account"], container=loc["container"],  # type: ignore[no-any-return]
                       prefix=loc.get("prefix"), from_env=True, config=opts or None)
    raise InvalidInputError(f"unknown repository kind !{defn.tag} (one of {', '.join(KINDS)})")
