"""Minimal, defensive flatbuffers reading and writing.

Reading (:class:`Reader`, :class:`Tab`) bounds-checks every offset and length
and raises :class:`~frazil.errors.FormatError` naming the object on any
malformed input.

Writing (:class:`Writer`) lays the buffer out *front to back*: the root
offset, then each table preceded by its own vtable, then (depth first) the
objects the table points at, so every ``uoffset`` points forward as the
format requires. Every scalar is aligned to its size relative to the buffer
start, which is what flatbuffers verifiers (icechunk's included) check.
"""

from __future__ import annotations

import builtins
import struct
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np

from frazil.errors import ErrorKind, FormatError

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")

# how many times its own size a metadata file may expand to when decoded
MATERIALIZE_FACTOR = 4

# scalar kind -> (struct, size)
SCALARS: dict[str, struct.Struct] = {
    "u8": _U8, "bool": _U8, "u16": _U16, "u32": _U32, "i32": _I32, "u64": _U64,
}


def fail(what: str, msg: str) -> NoReturn:
    """Raise the codec's one error type."""
    raise FormatError(f"{what}: malformed metadata file: {msg}", ErrorKind.INVALID_FILE_FORMAT)


# ------------------------------------------------------------------ reading


class Reader:
    """A flatbuffer payload plus the name of the object, for errors."""

    __slots__ = ("budget", "buf", "n", "what")

    def __init__(self, buf: bytes, what: str) -> None:
        self.buf = buf
        self.n = len(buf)
        self.what = what
        # Bytes a decode may materialise. A well-formed file references each
        # byte once; a hostile one points many entries at one big vector.
        self.budget = MATERIALIZE_FACTOR * self.n + (1 << 20)

    def fail(self, msg: str) -> NoReturn:
        fail(self.what, msg)

    def charge(self, nbytes: int) -> None:
        """Account for ``nbytes`` decoded; ``FormatError`` once past the budget."""
        self.budget -= nbytes
        if self.budget < 0:
            raise FormatError(f"{self.what}: apparent size too large: decoding it would "
                              f"materialise far more than its {self.n} bytes (entries "
                              "sharing data)", ErrorKind.INVALID_FILE_FORMAT)

    def scalar(self, st: struct.Struct, pos: int) -> Any:
        if pos < 0 or pos + st.size > self.n:
            self.fail(f"offset {pos} out of bounds")
        return st.unpack_from(self.buf, pos)[0]

    def root(self) -> Tab:
        return self.table_at(self.scalar(_U32, 0))

    def table_at(self, pos: int) -> Tab:
        if pos & 3:
            self.fail(f"misaligned table at {pos}")
        vt = pos - self.scalar(_I32, pos)
        if vt & 1:
            self.fail(f"misaligned vtable at {vt}")
        vtlen = self.scalar(_U16, vt)
        tlen = self.scalar(_U16, vt + 2)
        if vtlen < 4 or vtlen & 1 or vt + vtlen > self.n:
            self.fail(f"bad vtable at {vt}")
        if tlen < 4 or pos + tlen > self.n:
            self.fail(f"bad table size at {pos}")
        return Tab(self, pos, vt, (vtlen - 4) // 2, tlen)


class Tab:
    """One table: typed, checked access to its fields by slot number."""

    __slots__ = ("r", "pos", "vt", "nslots", "tlen")

    def __init__(self, r: Reader, pos: int, vt: int, nslots: int, tlen: int) -> None:
        self.r, self.pos, self.vt, self.nslots, self.tlen = r, pos, vt, nslots, tlen

    def field(self, slot: int, size: int) -> int:
        """Absolute position of field ``slot`` (0 if absent)."""
        if slot >= self.nslots:
            return 0
        fo = _U16.unpack_from(self.r.buf, self.vt + 4 + 2 * slot)[0]
        if fo == 0:
            return 0
        if fo < 4 or fo + size > self.tlen:
            self.r.fail(f"field {slot} outside its table at {self.pos}")
        return self.pos + fo

    def has(self, slot: int) -> bool:
        return self.field(slot, 0) != 0

    def scalar(self, slot: int, kind: str, default: Any = 0) -> Any:
        st = SCALARS[kind]
        p = self.field(slot, st.size)
        if not p:
            return default
        v = st.unpack_from(self.r.buf, p)[0]
        return bool(v) if kind == "bool" else v

    def struct_bytes(self, slot: int, size: int) -> bytes | None:
        p = self.field(slot, size)
        return None if not p else bytes(self.r.buf[p : p + size])

    def ref(self, slot: int) -> int:
        """Target position of offset field ``slot`` (0 if absent)."""
        p = self.field(slot, 4)
        if not p:
            return 0
        target = p + _U32.unpack_from(self.r.buf, p)[0]
        if target >= self.r.n:
            self.r.fail(f"offset in field {slot} points past the end")
        return target

    def table(self, slot: int) -> Tab | None:
        p = self.ref(slot)
        return self.r.table_at(p) if p else None

    def vector(self, slot: int, elem_size: int) -> tuple[int, int] | None:
        """``(start_of_elements, count)`` of a vector field, or None."""
        p = self.ref(slot)
        if not p:
            return None
        n = self.r.scalar(_U32, p)
        if p + 4 + n * elem_size > self.r.n:
            self.r.fail(f"vector in field {slot} runs past the end")
        self.r.charge(4 + n * elem_size)
        return p + 4, n

    def bytes(self, slot: int) -> bytes | None:
        v = self.vector(slot, 1)
        return None if v is None else bytes(self.r.buf[v[0] : v[0] + v[1]])

    def string(self, slot: int) -> str | None:
        v = self.vector(slot, 1)
        if v is None:
            return None
        return decode_str(self.r, v[0], v[1])

    def tables(self, slot: int) -> list[Tab] | None:
        v = self.vector(slot, 4)
        if v is None:
            return None
        start, n = v
        buf, r = self.r.buf, self.r
        return [r.table_at(start + 4 * i + _U32.unpack_from(buf, start + 4 * i)[0])
                for i in range(n)]

    def strings(self, slot: int) -> list[str] | None:
        v = self.vector(slot, 4)
        if v is None:
            return None
        start, n = v
        out = []
        for i in range(n):
            p = start + 4 * i + _U32.unpack_from(self.r.buf, start + 4 * i)[0]
            length = self.r.scalar(_U32, p)
            if p + 4 + length > self.r.n:
                self.r.fail("string runs past the end")
            self.r.charge(length)
            out.append(decode_str(self.r, p + 4, length))
        return out

    def structs(self, slot: int, size: int) -> list[builtins.bytes] | None:  # not Tab.bytes
        v = self.vector(slot, size)
        if v is None:
            return None
        start, n = v
        b = self.r.buf
        return [bytes(b[start + size * i : start + size * (i + 1)]) for i in range(n)]

    def scalars(self, slot: int, kind: str) -> list[Any] | None:
        st = SCALARS[kind]
        v = self.vector(slot, st.size)
        if v is None:
            return None
        start, n = v
        return [st.unpack_from(self.r.buf, start + st.size * i)[0] for i in range(n)]

    def need(self, value: Any, name: str) -> Any:
        """``value`` unless it is None (a missing required field)."""
        if value is None:
            self.r.fail(f"required field {name!r} is missing")
        return value


def decode_str(r: Reader, start: int, n: int) -> str:
    try:
        return bytes(r.buf[start : start + n]).decode("utf-8")
    except UnicodeDecodeError:
        r.fail("string is not valid UTF-8")


# ------------------------------------------------------------------ writing


def _pad(out: bytearray, align: int, phase: int = 0) -> None:
    """Pad ``out`` with zeros until ``len(out) % align == phase``."""
    out.extend(bytes((phase - len(out)) % align))


class Obj:
    """Something an offset field can point at."""

    def write(self, out: bytearray) -> int:  # pragma: no cover - interface
        raise NotImplementedError


class T(Obj):
    """A table: ``fields`` are ``(slot, kind, value)``.

    ``kind`` is a scalar kind (see :data:`SCALARS`), ``"struct"`` (value is
    raw bytes, 1-aligned) or ``"off"`` (value is an :class:`Obj`). Fields whose
    value is None are omitted.
    """

    __slots__ = ("fields",)

    def __init__(self, *fields: tuple[int, str, Any]) -> None:
        self.fields = [f for f in fields if f[2] is not None]

    def write(self, out: bytearray) -> int:
        fields = self.fields
        key = tuple([(f[0], f[1], len(f[2]) if f[1] == "struct" else 0) for f in fields])
        layout = _LAYOUTS.get(key)
        if layout is None:
            layout = _layout(key)
        vtable, talign, tlen, plan = layout
        _pad(out, 2)
        vt = len(out)
        out += vtable
        _pad(out, talign)
        pos = len(out)
        table = bytearray(tlen)
        _I32.pack_into(table, 0, pos - vt)
        children = []
        for i, fo, packer in plan:
            value = fields[i][2]
            if packer is None:
                children.append((fo, value))
            elif packer is _STRUCT:
                table[fo : fo + len(value)] = value
            else:
                packer.pack_into(table, fo, value)
        out += table
        for fo, child in children:  # the plan lists offsets in field-offset order
            target = child.write(out)
            _U32.pack_into(out, pos + fo, target - (pos + fo))
        return pos


_STRUCT = object()  # plan marker: raw struct bytes
# Table layouts by field signature ((slot, kind, struct length) per field): the
# vtable bytes, alignment, table length and where each field goes. Few distinct
# signatures exist (one per table type and field-presence pattern).
_LAYOUTS: dict[tuple[tuple[int, str, int], ...], tuple[bytes, int, int,
                                                       list[tuple[int, int, Any]]]] = {}


def _layout(key: tuple[tuple[int, str, int], ...]) -> tuple[bytes, int, int,
                                                            list[tuple[int, int, Any]]]:
    """Place fields largest alignment first (stable), as flatbuffers builders do."""
    placed = []
    off, talign, nslots = 4, 4, 0
    order = sorted(range(len(key)), key=lambda i: -_ALIGN[key[i][1]])
    for i in order:
        slot, kind, size = key[i]
        a = _ALIGN[kind]
        off = -(-off // a) * a
        placed.append((i, slot, kind, off))
        off += size if kind == "struct" else a
        talign = max(talign, a)
        nslots = max(nslots, slot + 1)
    slots = [0] * nslots
    for _i, slot, _k, fo in placed:
        slots[slot] = fo
    vtable = struct.pack(f"<{2 + nslots}H", 4 + 2 * nslots, off, *slots)
    plan = [(i, fo, None if kind == "off" else _STRUCT if kind == "struct" else SCALARS[kind])
            for i, _slot, kind, fo in sorted(placed, key=lambda p: p[3])]
    if len(_LAYOUTS) >= 4096:  # a bound, never reached by frazil's own schemas
        _LAYOUTS.clear()
    layout = _LAYOUTS[key] = (vtable, talign, off, plan)
    return layout


# Alignment of a table field by kind (a scalar's is its size; an offset is 4 bytes).
_ALIGN = {"struct": 1, "off": 4, **{k: st.size for k, st in SCALARS.items()}}


class Blob(Obj):
    """A vector of 1-byte elements, or of structs / scalars given as raw bytes."""

    __slots__ = ("data", "count", "align")

    def __init__(self, data: bytes, count: int | None = None, align: int = 1) -> None:
        self.data = data
        self.count = len(data) if count is None else count
        self.align = align

    def write(self, out: bytearray) -> int:
        if self.align > 4:
            _pad(out, 8, 4)  # elements (after the length) 8-aligned
        else:
            _pad(out, 4)
        pos = len(out)
        out += _U32.pack(self.count)
        out += self.data
        return pos


class Str(Obj):
    """A string (NUL terminated, as flatbuffers requires)."""

    __slots__ = ("data",)

    def __init__(self, s: str) -> None:
        self.data = s.encode("utf-8")

    def write(self, out: bytearray) -> int:
        _pad(out, 4)
        pos = len(out)
        out += _U32.pack(len(self.data))
        out += self.data
        out += b"\0"
        return pos


class Vec(Obj):
    """A vector of offsets to other objects (tables or strings)."""

    __slots__ = ("items",)

    def __init__(self, items: Sequence[Obj]) -> None:
        self.items = items

    def write(self, out: bytearray) -> int:
        _pad(out, 4)
        pos = len(out)
        out += _U32.pack(len(self.items))
        out += bytes(4 * len(self.items))
        for i, item in enumerate(self.items):
            target = item.write(out)
            at = pos + 4 + 4 * i
            _U32.pack_into(out, at, target - at)
        return pos


class Raw(Obj):
    """An object whose bytes depend on where it lands: ``make(pos) -> bytes``.

    ``pos`` is 4-aligned and is the object's target position.
    """

    __slots__ = ("make",)

    def __init__(self, make: Any) -> None:
        self.make = make

    def write(self, out: bytearray) -> int:
        _pad(out, 4)
        pos = len(out)
        out += self.make(pos)
        return pos


class Image(Obj):
    """A pre-serialized, self-contained subtree, placed 8-aligned.

    Every offset inside a subtree points forward within it, so its bytes do
    not depend on where it lands as long as the alignment phase is kept.
    """

    __slots__ = ("data", "entry", "padded")

    def __init__(self, obj: Obj) -> None:
        buf = bytearray()
        self.entry = obj.write(buf)
        self.data = buf
        self.padded = bytes(buf) + bytes(-len(buf) % 8)  # for image_vec

    def table_field_offset(self, slot: int) -> int | None:
        """Offset in ``data`` of scalar field ``slot`` of the root table, if present."""
        vt = self.entry - _I32.unpack_from(self.data, self.entry)[0]
        vt_len = struct.unpack_from("<H", self.data, vt)[0]
        if 4 + 2 * slot + 2 > vt_len:
            return None
        fo = struct.unpack_from("<H", self.data, vt + 4 + 2 * slot)[0]
        return None if fo == 0 else self.entry + fo

    def with_i32(self, at: int, value: int) -> Image:
        """A copy with the int32 at ``at`` replaced."""
        img = Image.__new__(Image)
        img.data = bytearray(self.data)
        img.entry = self.entry
        _I32.pack_into(img.data, at, value)
        img.padded = bytes(img.data) + bytes(-len(img.data) % 8)
        return img

    def write(self, out: bytearray) -> int:
        _pad(out, 8)
        base = len(out)
        out += self.data
        return base + self.entry


def image_vec(images: Sequence[Image], i32_at: Any = None, i32_values: Any = None, *,
              sizes: np.ndarray | None = None, entries: np.ndarray | None = None) -> Raw:
    """A vector of offsets to ``images``: the bytes ``Vec(images)`` writes, built in one step.

    The images are concatenated (each 8-aligned, as :meth:`Image.write`
    places it) and the offsets computed with numpy, instead of one Python
    ``write`` per item. ``i32_at[k]``, if given, is the offset in image ``k``
    of an int32 field replaced by ``i32_values[k]`` (4-aligned in the image).
    ``sizes`` (of ``padded``) and ``entries`` may be passed if already known.
    """
    n = len(images)
    if sizes is None:
        sizes = image_sizes(images)
    if entries is None:
        entries = image_entries(images)
    rel = np.zeros(n, np.int64)
    np.cumsum(sizes[:-1], out=rel[1:])
    body = bytearray(b"".join([im.padded for im in images]))
    if i32_at is not None and n:
        at = rel + np.asarray(i32_at, np.int64)
        if (at & 3).any():
            raise ValueError("image_vec: misaligned int32 field")
        np.frombuffer(body, "<i4")[at >> 2] = np.asarray(i32_values, np.int64)
    if n:  # the last image is not padded: the next object pads for itself
        del body[len(body) - (len(images[-1].padded) - len(images[-1].data)):]

    def make(pos: int) -> bytes:
        start = -(-(pos + 4 + 4 * n) // 8) * 8
        head = np.empty(n + 1, "<u4")
        head[0] = n
        head[1:] = start + rel + entries - (pos + 4 + 4 * np.arange(n, dtype=np.int64))
        return head.tobytes() + bytes(start - (pos + 4 + 4 * n)) + body

    return Raw(make)


def image_sizes(images: Sequence[Image]) -> np.ndarray:
    return np.fromiter((len(im.padded) for im in images), np.int64, len(images))


def image_entries(images: Sequence[Image]) -> np.ndarray:
    return np.fromiter((im.entry for im in images), np.int64, len(images))


def finish(root: T) -> bytes:
    """Serialize ``root`` as the root table of a new buffer."""
    out = bytearray(4)
    pos = root.write(out)
    _U32.pack_into(out, 0, pos)
    _pad(out, 8)
    return bytes(out)


def u32_vec(values: list[int]) -> Blob:
    return Blob(struct.pack(f"<{len(values)}I", *values), len(values), 4)


def u16_vec(values: list[int]) -> Blob:
    return Blob(struct.pack(f"<{len(values)}H", *values), len(values), 2)
