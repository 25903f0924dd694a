"""``config.yaml`` of spec-v1 repositories: icechunk's YAML form of the config dict.

The config dict (:meth:`RepositoryConfig._to_dict`) writes each enum value as
a one-key mapping ``{variant: content}``; icechunk's YAML writes and expects
a tag instead: ``!variant content``. :func:`dumps` writes flow-style YAML
(JSON with tags) with a tag at each enum position of the config schema;
:func:`loads` reads any YAML and turns every tagged node back into
``{variant: content}``.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from frazil.errors import ErrorKind, FormatError

__all__ = ["dumps", "loads"]

_NESTED = {"or", "and", "Or", "And"}  # variants whose content is a list of conditions


def _emit(v: Any, enum: bool, path: tuple[str, ...]) -> str:
    if enum and isinstance(v, dict) and len(v) == 1:
        (tag, content), = v.items()
        return f"!{tag} " + _emit(content, False, (*path, "#" + tag)) if tag not in _NESTED \
            else f"!{tag} [" + ", ".join(_emit(c, True, path) for c in content) + "]"
    if isinstance(v, dict):
        items = []
        for k, x in v.items():
            child = (*path, str(k))
            items.append(f"{json.dumps(str(k))}: {_emit(x, _is_enum(child), child)}")
        return "{" + ", ".join(items) + "}"
    if isinstance(v, list | tuple):
        if path[-1:] == ("split_sizes",):  # [condition, [{condition, num_chunks}...]] pairs
            return "[" + ", ".join(
                "[" + _emit(p[0], True, path) + ", " + _emit(p[1], False, (*path, "dims")) + "]"
                for p in v) + "]"
        return "[" + ", ".join(_emit(x, False, path) for x in v) + "]"
    return json.dumps(v)


def _is_enum(path: tuple[str, ...]) -> bool:
    if len(path) == 3 and path[0] == "virtual_chunk_containers" and path[2] == "store":
        return True
    if path[-1:] == ("preload_if",):
        return True
    if path[-2:] in (("#num_refs", "from"), ("#num_refs", "to")):  # Included / Excluded bounds
        return True
    return path[-2:] == ("dims", "condition")


def dumps(config: dict[str, Any]) -> bytes:
    """YAML bytes of a config dict, in the form icechunk reads."""
    return (_emit(config, False, ()) + "\n").encode()


class _Loader(yaml.SafeLoader):
    """A safe loader reading ``!variant content`` as ``{variant: content}``."""


def _tagged(loader: Any, suffix: str, node: Any) -> Any:
    if isinstance(node, yaml.MappingNode):
        content: Any = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.SequenceNode):
        content = loader.construct_sequence(node, deep=True)
    elif node.style is None and node.value != "":  # plain scalar: resolve its type
        content = yaml.safe_load(node.value)
    elif node.style is None:
        return suffix  # a bare tag: a unit variant
    else:
        content = node.value
    return {suffix: content}


_Loader.add_multi_constructor("!", _tagged)


def loads(data: bytes) -> dict[str, Any] | None:
    """The config dict of ``config.yaml`` bytes (JSON or YAML)."""
    try:
        cfg = json.loads(data)
    except ValueError:
        try:
            cfg = yaml.load(data, Loader=_Loader)  # noqa: S506 - a safe loader subclass
        except yaml.YAMLError as e:
            raise FormatError(f"malformed config.yaml: {e}",
                              ErrorKind.CONFIG_DESERIALIZATION) from None
    if cfg is not None and not isinstance(cfg, dict):
        raise FormatError("malformed config.yaml: not a mapping", ErrorKind.CONFIG_DESERIALIZATION)
    return cfg
