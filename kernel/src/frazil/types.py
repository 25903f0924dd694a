"""Type names shared by the public API (icechunk's ``icechunk.types``) and plugin authors.

Beyond icechunk: the typed chunk refs a session's change set holds and a
conflict solver or resolver sees — :class:`InlineChunkRef`,
:class:`NativeChunkRef`, :class:`VirtualChunkRef` (frozen dataclasses), their
union :data:`ChunkRef`, and :data:`ChunkChange` (a ref, or ``None`` for a
deleted chunk).
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from frazil.format.model import (
    ChunkChange,
    ChunkRef,
    InlineChunkRef,
    NativeChunkRef,
    VirtualChunkRef,
)

CommitMethod = Literal["new_commit", "amend"]


class SessionMode(Enum):
    """What a session may do (icechunk's ``SessionMode``)."""

    readonly = 0
    writable = 1
    rearrange = 2

    def __repr__(self) -> str:
        return f"SessionMode.{self.name}"

    __str__ = __repr__

__all__ = [
    "ChunkChange",
    "ChunkRef",
    "CommitMethod",
    "InlineChunkRef",
    "NativeChunkRef",
    "SessionMode",
    "VirtualChunkRef",
]
