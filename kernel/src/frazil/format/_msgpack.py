"""MessagePack for JSON-like values: the spec-v1 encoding of snapshot metadata.

Spec-v1 snapshots store each metadata value as MessagePack (spec v2 uses
flexbuffers). Values are JSON-like: ``None``, ``bool``, ``int``, ``float``,
``str``, lists and string-keyed dicts. The ``msgpack`` package does the
coding; this module fixes what the reference implementation fixes (dict keys
in UTF-8 byte order, floats as float64, text as ``str``) and turns anything
malformed into ``FormatError``.
"""

from __future__ import annotations

from typing import Any

import msgpack

from frazil.errors import ErrorKind, FormatError

__all__ = ["decode", "encode"]

_MAX_DEPTH = 128


def _canonical(v: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError("metadata nested too deeply")
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, list | tuple):
        return [_canonical(x, depth + 1) for x in v]
    if isinstance(v, dict):
        for k in v:
            if not isinstance(k, str):
                raise ValueError(f"metadata keys must be strings, got {type(k).__name__}")
        return {k: _canonical(v[k], depth + 1) for k in sorted(v, key=str.encode)}
    raise ValueError(f"cannot store a {type(v).__name__} in snapshot metadata")


def encode(value: Any) -> bytes:
    """MessagePack bytes of a JSON-like ``value``."""
    return msgpack.packb(_canonical(value), use_bin_type=True, use_single_float=False)


def decode(data: bytes, what: str) -> Any:
    """The value of MessagePack ``data`` (``FormatError`` if malformed or trailing bytes)."""
    try:
        # one value, nothing after it (msgpack bounds lengths by the data's size)
        value = msgpack.unpackb(bytes(data), raw=False, strict_map_key=True)
    except msgpack.ExtraData:
        raise FormatError(f"{what}: malformed metadata value: bytes after the value",
                          ErrorKind.INVALID_FILE_FORMAT) from None
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as e:
        raise FormatError(f"{what}: malformed metadata value: {e}",
                          ErrorKind.INVALID_FILE_FORMAT) from None
    if isinstance(value, bytes):
        raise FormatError(f"{what}: malformed metadata value: binary data",
                          ErrorKind.INVALID_FILE_FORMAT)
    return value
