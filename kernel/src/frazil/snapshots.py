"""Public value objects about history: snapshot info, diffs, ops-log updates."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from frazil._ancestry import AncestryGraph
from frazil._repr import (
    Fields,
    Mode,
    ReprMixin,
    datetime_text,
    debug_text,
    html_form,
    json_debug_text,
    optional,
)

__all__ = ["AncestryGraph", "Diff", "ManifestFileInfo", "SnapshotInfo", "Update",
           "micros_to_datetime"]


def micros_to_datetime(us: int) -> _dt.datetime:
    return _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(microseconds=us)


@dataclass(frozen=True, slots=True, repr=False)
class SnapshotInfo(ReprMixin):
    """A commit: id, parent, time, message and metadata (icechunk's ``SnapshotInfo``)."""

    id: str
    parent_id: str | None
    written_at: _dt.datetime
    message: str
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    _repr_name = "frazil.snapshots.SnapshotInfo"

    def _repr_fields(self, mode: Mode) -> Fields:
        metadata = ", ".join(f"{debug_text(k)}: {json_debug_text(v)}"
                             for k, v in self.metadata.items())
        return [("id", self.id), ("parent_id", optional(self.parent_id)),
                ("written_at", datetime_text(self.written_at)), ("message", self.message),
                ("metadata", f"PySnapshotProperties({{{metadata}}})")]


_SNAPSHOT_INFO_SLOTS = tuple(SnapshotInfo.__dict__[f].__set__  # type: ignore[attr-defined]
                             for f in ("id", "parent_id", "written_at", "message", "metadata"))


def _make_snapshot_info(id: str, parent_id: str | None, written_at: _dt.datetime, message: str,
                       metadata: dict[str, Any]) -> SnapshotInfo:
    """``SnapshotInfo(...)`` without the frozen dataclass ``__init__`` (half the cost).

    For long ancestries; sets the same five slots the generated ``__init__`` sets.
    """
    info = object.__new__(SnapshotInfo)
    set_id, set_parent, set_written, set_message, set_metadata = _SNAPSHOT_INFO_SLOTS
    set_id(info, id)
    set_parent(info, parent_id)
    set_written(info, written_at)
    set_message(info, message)
    set_metadata(info, metadata)
    return info


@dataclass(frozen=True, slots=True, repr=False)
class ManifestFileInfo(ReprMixin):
    """One manifest file of a snapshot: id, size and number of chunk references."""

    id: str
    size_bytes: int
    num_chunk_refs: int

    _repr_name = "frazil.snapshots.ManifestFileInfo"

    def _repr_fields(self, mode: Mode) -> Fields:
        return [("id", self.id), ("size_bytes", str(self.size_bytes)),
                ("num_chunk_refs", str(self.num_chunk_refs))]


@dataclass(frozen=True, slots=True)
class Update:
    """One entry of the repository ops log.

    ``kind`` is the update's type name (``"NewCommit"``, ``"BranchCreated"``,
    ...); ``fields`` its details (ids as strings).
    """

    kind: str
    updated_at: _dt.datetime
    backup_path: str | None
    fields: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(slots=True)
class Diff:
    """What changed in a session, or between two snapshots (paths, not ids)."""

    new_groups: set[str] = field(default_factory=set)
    new_arrays: set[str] = field(default_factory=set)
    deleted_groups: set[str] = field(default_factory=set)
    deleted_arrays: set[str] = field(default_factory=set)
    updated_groups: set[str] = field(default_factory=set)
    updated_arrays: set[str] = field(default_factory=set)
    updated_chunks: dict[str, list[list[int]]] = field(default_factory=dict)
    moved_nodes: list[tuple[str, str]] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.new_groups or self.new_arrays or self.deleted_groups
                    or self.deleted_arrays or self.updated_groups or self.updated_arrays
                    or self.updated_chunks or self.moved_nodes)

    # icechunk prints a diff as sections with headers; paths ordered segment by segment
    def __str__(self) -> str:
        def ordered(paths: set[str]) -> list[str]:
            return sorted(paths, key=lambda p: [s.encode() for s in p.split("/")])

        out: list[str] = []
        for title, paths in (("Groups created", self.new_groups),
                             ("Arrays created", self.new_arrays),
                             ("Group definitions updated", self.updated_groups),
                             ("Array definitions updated", self.updated_arrays),
                             ("Groups deleted", self.deleted_groups),
                             ("Arrays deleted", self.deleted_arrays)):
            if paths:
                out.append(f"{title}:\n")
                out.extend(f"    {p}\n" for p in ordered(paths))
                out.append("\n")
        if self.updated_chunks:
            out.append("Chunks updated:\n")
            for path in ordered(set(self.updated_chunks)):
                chunks = sorted(self.updated_chunks[path])
                out.append(f"    {path}:\n")
                out.append("\n".join(f"        [{', '.join(map(str, c))}]"
                                     for c in chunks[:10]) + "\n")
                if len(chunks) > 10:
                    out.append(f"        ... {len(chunks) - 10} more\n")
        if self.moved_nodes:
            out.append("Nodes moved/renamed:\n")
            out.extend(f"    {a} -> {b}\n" for a, b in self.moved_nodes)
            out.append("\n")
        return "".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:  # field by field, as icechunk's notebook form
        return html_form("frazil.snapshots.Diff", [
            (name, debug_text(getattr(self, name)))
            for name in ("new_groups", "new_arrays", "deleted_groups", "deleted_arrays",
                         "updated_groups", "updated_arrays")
        ] + [("updated_chunks", debug_text({p: sorted(c) for p, c in
                                            sorted(self.updated_chunks.items())})),
             ("moved_nodes", debug_text([tuple(m) for m in self.moved_nodes]))])
