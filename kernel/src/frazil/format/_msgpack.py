"""MessagePack for JSON-like values: the spec-v1 encoding of snapshot metadata.

Spec-v1 snapshots store each metadata value as MessagePack (spec v2 uses
flexbuffers). Values are JSON-like: ``None``, ``bool``, ``int``, ``float``,
``str``, lists and string-keyed dicts. Encoding picks the most compact form
of each integer, writes floats as float64 and dict keys in UTF-8 byte order,
as the reference implementation does; decoding accepts every standard form
of those types and raises ``FormatError`` on anything else.
"""

from __future__ import annotations

import struct
from typing import Any

from frazil.errors import ErrorKind, FormatError

__all__ = ["decode", "encode"]

_MAX_DEPTH = 128


def _head(out: bytearray, n: int, fix: int, fix_max: int, codes: tuple[int, int, int]) -> None:
    if n <= fix_max:
        out.append(fix | n)
    elif n < 1 << 8 and codes[0]:
        out += bytes((codes[0], n))
    elif n < 1 << 16:
        out.append(codes[1])
        out += struct.pack(">H", n)
    else:
        out.append(codes[2])
        out += struct.pack(">I", n)


def _int(out: bytearray, v: int) -> None:
    if 0 <= v < 128:
        out.append(v)
    elif -32 <= v < 0:
        out.append(v & 0xFF)
    elif v >= 0:
        for code, fmt, lim in ((0xCC, ">B", 8), (0xCD, ">H", 16), (0xCE, ">I", 32),
                               (0xCF, ">Q", 64)):
            if v < 1 << lim:
                out.append(code)
                out += struct.pack(fmt, v)
                return
        raise ValueError(f"integer {v} does not fit in 64 bits")
    else:
        for code, fmt, lim in ((0xD0, ">b", 7), (0xD1, ">h", 15), (0xD2, ">i", 31),
                               (0xD3, ">q", 63)):
            if v >= -(1 << lim):
                out.append(code)
                out += struct.pack(fmt, v)
                return
        raise ValueError(f"integer {v} does not fit in 64 bits")


def _enc(out: bytearray, v: Any, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError("metadata nested too deeply")
    if v is None:
        out.append(0xC0)
    elif v is True or v is False:
        out.append(0xC3 if v else 0xC2)
    elif isinstance(v, int):
        _int(out, v)
    elif isinstance(v, float):
        out.append(0xCB)
        out += struct.pack(">d", v)
    elif isinstance(v, str):
        b = v.encode()
        _head(out, len(b), 0xA0, 31, (0xD9, 0xDA, 0xDB))
        out += b
    elif isinstance(v, list | tuple):
        _head(out, len(v), 0x90, 15, (0, 0xDC, 0xDD))
        for x in v:
            _enc(out, x, depth + 1)
    elif isinstance(v, dict):
        _head(out, len(v), 0x80, 15, (0, 0xDE, 0xDF))
        for k in sorted(v, key=lambda k: str(k).encode()):
            if not isinstance(k, str):
                raise ValueError(f"metadata keys must be strings, got {type(k).__name__}")
            _enc(out, k, depth + 1)
            _enc(out, v[k], depth + 1)
    else:
        raise ValueError(f"cannot store a {type(v).__name__} in snapshot metadata")


def encode(value: Any) -> bytes:
    """MessagePack bytes of a JSON-like ``value``."""
    out = bytearray()
    _enc(out, value, 0)
    return bytes(out)


class _Dec:
    def __init__(self, data: bytes, what: str) -> None:
        self.d, self.i, self.what = data, 0, what

    def fail(self, msg: str) -> Any:
        raise FormatError(f"{self.what}: malformed metadata value: {msg}",
                          ErrorKind.INVALID_FILE_FORMAT)

    def take(self, n: int) -> bytes:
        if self.i + n > len(self.d):
            self.fail("truncated")
        b = self.d[self.i:self.i + n]
        self.i += n
        return b

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            self.fail("nested too deeply")
        c = self.take(1)[0]
        if c < 0x80:
            return c
        if c >= 0xE0:
            return c - 0x100
        if c <= 0x8F:
            return self.map(c & 0x0F, depth)
        if c <= 0x9F:
            return [self.value(depth + 1) for _ in range(c & 0x0F)]
        if c <= 0xBF:
            return self.text(c & 0x1F)
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if c in simple:
            return simple[c]
        ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
                0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
        if c in ints:
            return self.unpack(ints[c])
        lens = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}
        if c in lens:
            return self.text(self.unpack(lens[c]))
        if c in (0xDC, 0xDD):
            n = self.unpack(">H" if c == 0xDC else ">I")
            if n > len(self.d) - self.i:
                self.fail("array longer than its data")
            return [self.value(depth + 1) for _ in range(n)]
        if c in (0xDE, 0xDF):
            return self.map(self.unpack(">H" if c == 0xDE else ">I"), depth)
        return self.fail(f"unsupported type byte 0x{c:02x}")

    def text(self, n: int) -> str:
        try:
            return self.take(n).decode()
        except UnicodeDecodeError:
            return self.fail("string is not UTF-8")  # type: ignore[no-any-return]

    def map(self, n: int, depth: int) -> dict[str, Any]:
        if n > len(self.d) - self.i:
            self.fail("map longer than its data")
        out: dict[str, Any] = {}
        for _ in range(n):
            k = self.value(depth + 1)
            if not isinstance(k, str):
                self.fail("map key is not a string")
            out[k] = self.value(depth + 1)
        return out


def decode(data: bytes, what: str) -> Any:
    """The value of MessagePack ``data`` (``FormatError`` if malformed or trailing bytes)."""
    dec = _Dec(bytes(data), what)
    v = dec.value(0)
    if dec.i != len(dec.d):
        dec.fail("bytes after the value")
    return v
