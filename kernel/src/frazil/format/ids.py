"""Object ids: 12-byte (snapshots, manifests, chunks) and 8-byte (nodes).

Ids are written in paths as Crockford base32, upper-case, without padding;
the bit string is zero-padded on the right to a multiple of 5 bits.
"""

from __future__ import annotations

import base64
import functools
import os
from dataclasses import dataclass
from typing import ClassVar, Self

from frazil.errors import ErrorKind, InvalidInputError

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
# Crockford decoding is forgiving about look-alike characters.
_DECODE.update({c.lower(): i for c, i in list(_DECODE.items())})
for _alias, _target in (("O", "0"), ("o", "0"), ("I", "1"), ("i", "1"), ("L", "1"), ("l", "1")):
    _DECODE[_alias] = _DECODE[_target]


# RFC 4648 base32 groups bits the same way (big-endian, zero-padded on the
# right); only the alphabet differs, so its codec plus a translation is exact.
_FROM_RFC4648 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


@functools.lru_cache(maxsize=1 << 16)  # ids are printed over and over (history, paths)
def b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").translate(_FROM_RFC4648)


def b32decode(text: str, size: int) -> bytes:
    """Decode ``text`` into exactly ``size`` bytes, or raise ``InvalidInputError``."""
    nchars = -(-size * 8 // 5)
    if len(text) != nchars:
        raise InvalidInputError(f"invalid object id {text!r}: expected {nchars} characters",
                                ErrorKind.INVALID_SNAPSHOT_ID)
    value = 0
    for ch in text:
        try:
            value = (value << 5) | _DECODE[ch]
        except KeyError:
            raise InvalidInputError(f"invalid object id {text!r}: bad character {ch!r}",
                                    ErrorKind.INVALID_SNAPSHOT_ID) from None
    pad = nchars * 5 - size * 8
    # the last character's padding bits are dropped, as icechunk's decoder drops them
    return (value >> pad).to_bytes(size, "big")


@dataclass(frozen=True, slots=True, order=True, repr=False)
class _Id:
    """Fixed-size random id; ``str()`` gives its base32 form used in paths."""

    raw: bytes
    SIZE: ClassVar[int] = 12

    def __post_init__(self) -> None:
        if len(self.raw) != self.SIZE:
            raise InvalidInputError(f"{type(self).__name__} must have {self.SIZE} bytes, "
                                    f"got {len(self.raw)}")

    @classmethod
    def random(cls) -> Self:
        return cls(os.urandom(cls.SIZE))

    @classmethod
    def parse(cls, text: str) -> Self:
        if not isinstance(text, str):
            raise InvalidInputError(f"object id must be a string, got {type(text).__name__}")
        return cls(b32decode(text, cls.SIZE))

    def __str__(self) -> str:
        return b32encode(self.raw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


@dataclass(frozen=True, slots=True, order=True, repr=False)
class ObjectId(_Id):
    """A 12-byte id of a snapshot, manifest or chunk."""

    SIZE: ClassVar[int] = 12


@dataclass(frozen=True, slots=True, order=True, repr=False)
class NodeId(_Id):
    """An 8-byte node id, stable over a node's lifetime."""

    SIZE: ClassVar[int] = 8


#: The well-known id of every repository's first snapshot.
INITIAL_SNAPSHOT_ID = ObjectId(bytes.fromhex("0b1cc8d6787580f0e33a6534"))
assert str(INITIAL_SNAPSHOT_ID) == "1CECHNKREP0F1RSTCMT0"
