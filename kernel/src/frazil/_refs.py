"""Ref names, node paths and snapshot-id parsing: validation in one place."""

from __future__ import annotations

from frazil.errors import ErrorKind, InvalidInputError
from frazil.format.ids import ObjectId


def check_ref_name(name: object, what: str = "branch") -> str:
    if not isinstance(name, str):
        raise InvalidInputError(f"{what} name must be a string, got {type(name).__name__}",
                                ErrorKind.INVALID_REF_NAME)
    if not name or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise InvalidInputError(f"invalid {what} name {name!r}: it must be non-empty and "
                                "contain no control characters", ErrorKind.INVALID_REF_NAME)
    return name


def parse_snapshot_id(text: object) -> ObjectId:
    if not isinstance(text, str):
        raise InvalidInputError(f"snapshot id must be a string, got {type(text).__name__}",
                                ErrorKind.INVALID_SNAPSHOT_ID)
    try:
        return ObjectId.parse(text)
    except InvalidInputError:
        raise InvalidInputError(f"invalid snapshot id {text!r}",
                                ErrorKind.INVALID_SNAPSHOT_ID) from None


def normalize_node_path(path: str) -> str:
    """Canonical absolute node path (``/``, ``/a/b``) or ``InvalidInputError``."""
    if not isinstance(path, str):
        raise InvalidInputError(f"node path must be a string, got {type(path).__name__}",
                                ErrorKind.INVALID_PATH)
    p = path.strip("/")
    if p == "":
        return "/"
    segments = p.split("/")
    for seg in segments:
        if seg in ("", ".", ".."):
            raise InvalidInputError(f"invalid node path {path!r}: empty, '.' or '..' segment",
                                    ErrorKind.INVALID_PATH)
    return "/" + "/".join(segments)


def parent_path(path: str) -> str:
    if path == "/":
        return "/"
    head = path.rsplit("/", 1)[0]
    return head or "/"


def is_descendant(path: str, ancestor: str) -> bool:
    if ancestor == "/":
        return path != "/"
    return path.startswith(ancestor + "/")
