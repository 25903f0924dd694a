"""History: ancestry, snapshot lookup by time, and the ops log."""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import AsyncIterator

from frazil._state import RepoState
from frazil.errors import ErrorKind, SnapshotNotFoundError
from frazil.format.ids import ObjectId
from frazil.format.model import RepoInfo, SnapshotRecord
from frazil.ops._expire import datetime_to_micros
from frazil.ops._types import Update, update_from_record
from frazil.snapshots import SnapshotInfo, _make_snapshot_info, micros_to_datetime

__all__ = ["ancestry", "ancestry_list", "as_of", "ops_log", "snapshot_info"]


# The immutable public parts of a record's SnapshotInfo (id and parent strings, time),
# by record identity; the record is kept so its id cannot be reused.
_PARTS: dict[int, tuple[SnapshotRecord, str, str | None, _dt.datetime]] = {}
_PARTS_MAX = 100_000


def _parts(rec: SnapshotRecord) -> tuple[SnapshotRecord, str, str | None, _dt.datetime]:
    p = _PARTS.get(id(rec))
    if p is None or p[0] is not rec:
        if len(_PARTS) >= _PARTS_MAX:
            _PARTS.clear()
        p = _PARTS[id(rec)] = (rec, str(rec.id),
                               None if rec.parent_id is None else str(rec.parent_id),
                               micros_to_datetime(rec.flushed_at))
    return p


def snapshot_info(rec: SnapshotRecord) -> SnapshotInfo:
    """The public ``SnapshotInfo`` of one snapshot record."""
    _rec, sid, parent, written_at = _parts(rec)
    return SnapshotInfo(sid, parent, written_at, rec.message,
                        copy.deepcopy(rec.metadata) if rec.metadata else {})


async def ancestry(state: RepoState, sid: ObjectId,
                   info: RepoInfo | None = None) -> AsyncIterator[SnapshotInfo]:
    """``sid`` and its ancestors, newest first."""
    async for rec in state.ancestry(sid, info):
        yield snapshot_info(rec)


async def ancestry_list(state: RepoState, sid: ObjectId,
                        info: RepoInfo | None = None) -> list[SnapshotInfo]:
    """``sid`` and its ancestors, newest first, as a list (one step, no per-item await)."""
    out = []
    for rec in await state.ancestry_list(sid, info):
        p = _PARTS.get(id(rec))
        if p is None or p[0] is not rec:
            p = _parts(rec)
        md = rec.metadata
        out.append(_make_snapshot_info(p[1], p[2], p[3], rec.message,
                                      copy.deepcopy(md) if md else {}))
    return out


async def as_of(state: RepoState, tip: ObjectId, when: _dt.datetime, branch: str,
                info: RepoInfo | None = None) -> ObjectId:
    """The newest snapshot at or before ``when`` among ``tip`` and its ancestors."""
    limit = datetime_to_micros(when, "as_of")  # a naive time is refused, as icechunk does
    async for rec in state.ancestry(tip, info):
        if rec.flushed_at <= limit:
            return rec.id
    raise SnapshotNotFoundError(f"no snapshot on branch {branch!r} at or before "
                                f"{when.isoformat()}", ErrorKind.NO_SNAPSHOT_AT_TIME)


async def ops_log(state: RepoState) -> list[Update]:
    """Every operation performed on the repository, newest first."""
    return [update_from_record(u) async for u in state.ops_log()]
