"""Vectorised (numpy) access to a vector of small flatbuffer tables.

Used for the big collections: manifest chunk refs and tx-log chunk
coordinates. Every position is bounds-checked as a whole array; any
violation raises :class:`~frazil.errors.FormatError` through ``fail``.
"""

from __future__ import annotations

import numpy as np

from frazil.format._fb import _U16, Reader

# numpy's limit on array dimensions; no zarr array has more
MAX_DIMENSIONS = 64


def gather(b: np.ndarray, pos: np.ndarray, nbytes: int) -> np.ndarray:
    """Little-endian unsigned ints of ``nbytes`` at each (checked) position."""
    if pos.size == 0:
        return np.zeros(0, np.uint64)
    idx = pos[:, None] + np.arange(nbytes, dtype=np.int64)
    raw = np.ascontiguousarray(b[idx])
    return raw.view(f"<u{nbytes}").reshape(-1).astype(np.int64 if nbytes < 8 else np.uint64)


class TableColumn:
    """``n`` tables reached through the offset vector starting at ``start``.

    ``field(slot, size)`` gives, per table, the absolute position of a field
    (0 where absent); vtables are parsed once per distinct vtable.
    """

    def __init__(self, r: Reader, start: int, n: int) -> None:
        self.r = r
        self.n = n
        self.b = np.frombuffer(r.buf, np.uint8)
        nbuf = r.n
        slots = start + 4 * np.arange(n, dtype=np.int64)
        tpos = slots + gather(self.b, slots, 4) if n else np.zeros(0, np.int64)
        if n and (int(tpos.max()) + 4 > nbuf or int(tpos.min()) < 0 or (tpos & 3).any()):
            r.fail("chunk table offset out of bounds")
        if n > 1 and np.unique(tpos).size != n:
            # one table per entry: shared tables would multiply the decoded size
            r.fail("entries share one table")
        soff = gather(self.b, tpos, 4) if n else np.zeros(0, np.int64)
        soff = np.where(soff >= 1 << 31, soff - (1 << 32), soff)
        vt = tpos - soff
        if n and (int(vt.min()) < 0 or int(vt.max()) + 4 > nbuf or (vt & 1).any()):
            r.fail("chunk table vtable out of bounds")
        self.tpos = tpos
        uniq, self._inv = np.unique(vt, return_inverse=True)
        self._vts = []
        for v in uniq.tolist():
            vtlen = r.scalar(_U16, v)
            tlen = r.scalar(_U16, v + 2)
            if vtlen < 4 or vtlen & 1 or v + vtlen > nbuf:
                r.fail(f"bad vtable at {v}")
            offs = [r.scalar(_U16, v + 4 + 2 * i) for i in range((vtlen - 4) // 2)]
            self._vts.append((tlen, offs))
        if n:
            tl = np.array([t for t, _ in self._vts], np.int64)[self._inv]
            if int((tpos + tl).max()) > nbuf or int(tl.min()) < 4:
                r.fail("chunk table runs past the end")

    def field(self, slot: int, size: int) -> np.ndarray:
        """Absolute field positions (int64), 0 where the field is absent."""
        per_vt = []
        for tlen, offs in self._vts:
            fo = offs[slot] if slot < len(offs) else 0
            if fo and (fo < 4 or fo + size > tlen):
                self.r.fail(f"field {slot} outside its table")
            per_vt.append(fo)
        fo = np.array(per_vt, np.int64)[self._inv] if self.n else np.zeros(0, np.int64)
        return np.where(fo > 0, self.tpos + fo, 0)

    def target(self, fpos: np.ndarray) -> np.ndarray:
        """Follow uoffset fields at ``fpos`` (0 stays 0)."""
        present = fpos > 0
        out = np.zeros(fpos.shape, np.int64)
        p = fpos[present]
        t = p + gather(self.b, p, 4)
        if t.size and int(t.max()) + 4 > self.r.n:
            self.r.fail("offset points past the end")
        out[present] = t
        return out

    def u32_vectors(self, vpos: np.ndarray) -> np.ndarray:
        """``(n, k)`` uint32 of equal-length u32 vectors at ``vpos`` (all present)."""
        if vpos.size == 0:
            return np.zeros((0, 0), np.uint32)
        lens = gather(self.b, vpos, 4)
        k = int(lens[0])
        if (lens != k).any():
            self.r.fail("chunk coordinates of different lengths")
        if k > MAX_DIMENSIONS:
            self.r.fail(f"chunk coordinates with {k} dimensions (at most {MAX_DIMENSIONS})")
        if int(vpos.max()) + 4 + 4 * k > self.r.n:
            self.r.fail("chunk coordinates run past the end")
        if vpos.size > 1 and (np.diff(np.sort(vpos)) < 4 + 4 * k).any():
            self.r.fail("chunk coordinate vectors overlap or are shared")
        if k == 0:
            return np.zeros((vpos.size, 0), np.uint32)
        idx = (vpos + 4)[:, None] + np.arange(4 * k, dtype=np.int64)
        return np.ascontiguousarray(self.b[idx]).view("<u4").astype(np.uint32)

