"""Conflict values shared by the detector, the solvers and ``RebaseFailedError``."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum, IntEnum
from typing import Any

from frazil._repr import Fields, Mode, ReprMixin, optional
from frazil.format.ids import NodeId

__all__ = ["Conflict", "ConflictType", "VersionSelection"]


class ConflictType(IntEnum):
    """Kind of a conflict found while rebasing (icechunk's member names and values)."""

    NewNodeConflictsWithExistingNode = 1
    NewNodeInInvalidGroup = 2
    ZarrMetadataDoubleUpdate = 3
    ZarrMetadataUpdateOfDeletedArray = 4
    ZarrMetadataUpdateOfDeletedGroup = 5
    ChunkDoubleUpdate = 6
    ChunksUpdatedInDeletedArray = 7
    ChunksUpdatedInUpdatedArray = 8
    DeleteOfUpdatedArray = 9
    DeleteOfUpdatedGroup = 10
    MoveOperationCannotBeRebased = 11

    def __str__(self) -> str:  # "Chunk double update", as icechunk prints it
        words: list[str] = []
        for ch in self.name:
            if ch.isupper() and words:
                words.append(" ")
            words.append(ch.lower())
        text = "".join(words)
        return text[0].upper() + text[1:]

    def __repr__(self) -> str:  # "ChunkDoubleUpdate", as icechunk prints it
        return self.name


class VersionSelection(Enum):
    """Which side wins a conflict: fail, ours (this session) or theirs (the branch)."""

    Fail = 0
    UseOurs = 1
    UseTheirs = 2

    def __repr__(self) -> str:
        return f"VersionSelection.{self.name}"

    def __str__(self) -> str:
        return f"VersionSelection.{self.name}"


class Conflict(ReprMixin):
    """One conflict between this session's changes and a commit on the branch.

    ``path`` is the node's path; ``conflicted_chunks`` lists chunk indices for
    :attr:`ConflictType.ChunkDoubleUpdate` and is ``None`` otherwise.
    ``node_id`` (a frazil addition) is the id of the node in question, when known.
    """

    __slots__ = ("_chunks", "_node_id", "_path", "_type")
    _repr_name = "frazil.conflicts.Conflict"

    def __init__(self, conflict_type: ConflictType, path: str,
                 conflicted_chunks: Iterable[Iterable[int]] | None = None, *,
                 node_id: NodeId | None = None) -> None:
        self._type = ConflictType(conflict_type)
        self._path = path
        self._chunks = (None if conflicted_chunks is None
                        else [[int(x) for x in c] for c in conflicted_chunks])
        self._node_id = node_id

    @property
    def conflict_type(self) -> ConflictType:
        return self._type

    @property
    def path(self) -> str:
        return self._path

    @property
    def conflicted_chunks(self) -> list[list[int]] | None:
        return None if self._chunks is None else [list(c) for c in self._chunks]

    @property
    def node_id(self) -> str | None:
        return None if self._node_id is None else str(self._node_id)

    def _key(self) -> tuple[Any, ...]:
        chunks = None if self._chunks is None else tuple(sorted(map(tuple, self._chunks)))
        return (self._type, self._path, chunks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Conflict):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _repr_fields(self, mode: Mode) -> Fields:
        return [("conflict_type", self._type.name), ("path", self._path),
                ("conflicted_chunks", optional(self._chunks))]

    def _debug_text(self) -> str:
        """This conflict as icechunk prints it inside ``repr(RebaseFailedError)``."""
        chunks = "None" if self._chunks is None else f"Some({self._chunks})"
        return (f'PyConflict {{ conflict_type: {self._type.name}, path: "{self._path}", '
                f"conflicted_chunks: {chunks} }}")
