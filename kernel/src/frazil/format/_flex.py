"""FlexBuffers for metadata values and the repository config.

icechunk writes these with Rust ``serde`` + ``flexbuffers``, so frazil writes
the same shapes:

* ``None`` -> Null; ``bool`` -> Bool;
* non-negative ``int`` -> UInt, negative ``int`` -> Int (smallest width that
  fits); ``float`` -> Float (32-bit when that is exact, else 64-bit);
* ``str`` -> String; ``list``/``tuple`` -> untyped Vector; ``dict`` -> Map
  (keys sorted, keys shared).

Rust enums come out through serde's externally tagged form, which is already
JSON-like: unit variants are strings (``"zstd"``, ``"Any"``), other variants a
one-key map (``{"Axis": 0}``); tuples are vectors; ``Option::None`` is Null.
So a decoded config is a plain JSON-like dict, and re-encoding it with the
rules above reproduces icechunk's bytes.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from flatbuffers import flexbuffers as _fx

from frazil.errors import ErrorKind, FormatError

_MAX_DEPTH = 64


def encode(value: Any) -> bytes:
    """FlexBuffer bytes of the JSON-like ``value`` (see the module doc)."""
    b = _fx.Builder()
    _add(b, value, 0)
    return bytes(b.Finish())


def _add(b: _fx.Builder, v: Any, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError("value nested too deeply")
    if v is None:
        b.Null()
    elif isinstance(v, bool):
        b.Bool(v)
    elif isinstance(v, int):
        if v >= 0:
            if v >= 1 << 64:
                raise ValueError(f"integer {v} does not fit in 64 bits")
            b.UInt(v)
        else:
            if v < -(1 << 63):
                raise ValueError(f"integer {v} does not fit in 64 bits")
            b.Int(v)
    elif isinstance(v, float):
        b.Float(v, 4 if _exact_f32(v) else 8)
    elif isinstance(v, str):
        b.String(v)
    elif isinstance(v, (list, tuple)):
        with b.Vector():
            for item in v:
                _add(b, item, depth + 1)
    elif isinstance(v, dict):
        with b.Map():
            for k in sorted(v, key=_key_bytes):
                b.Key(k)
                _add(b, v[k], depth + 1)
    else:
        raise ValueError(f"cannot store a {type(v).__name__} in metadata")


def _key_bytes(k: Any) -> bytes:
    if not isinstance(k, str):
        raise ValueError(f"map keys must be strings, got {type(k).__name__}")
    if "\0" in k:
        raise ValueError("map keys cannot contain NUL characters")
    return k.encode("utf-8")


def _exact_f32(v: float) -> bool:
    if math.isnan(v) or math.isinf(v):
        return True
    try:
        return struct.unpack("<f", struct.pack("<f", v))[0] == v
    except OverflowError:
        return False


def decode(data: bytes, what: str) -> Any:
    """The Python value (None/bool/int/float/str/list/dict) of FlexBuffer ``data``."""
    try:
        if len(data) < 3:
            raise ValueError("too short")
        value = _fx.Loads(data)
        _check(value, 0)
        return value
    except FormatError:
        raise
    except Exception as e:  # the flexbuffers reader trusts its input; contain it
        raise FormatError(f"{what}: malformed FlexBuffer value ({type(e).__name__}: {e})",
                          ErrorKind.DESERIALIZATION) from None


def _check(v: Any, depth: int) -> None:
    """Reject shapes no JSON-like value has (blobs, absurd nesting)."""
    if depth > _MAX_DEPTH:
        raise ValueError("nested too deeply")
    if isinstance(v, dict):
        for x in v.values():
            _check(x, depth + 1)
    elif isinstance(v, list):
        for x in v:
            _check(x, depth + 1)
    elif not (v is None or isinstance(v, (bool, int, float, str))):
        raise ValueError(f"unexpected {type(v).__name__} value")
