"""Conflicts and rebase (icechunk's ``icechunk.conflicts``).

The kernel ships the conflict model, the detector and the rebase machinery.
Solvers that resolve conflicts (``BasicConflictSolver`` and more) live in the
``floe-conflict-solvers`` distribution; once installed they are importable
from here too (``floe.conflicts.BasicConflictSolver``) and by name
(``session.commit(..., rebase_with="basic")``).
"""

from __future__ import annotations

from typing import Any

from floe.conflicts._rebase import (
    ConflictDetector,
    ConflictSolver,
    RebaseStep,
    detect_conflicts,
    rebase_session,
    resolve_solver,
)
from floe.conflicts._types import Conflict, ConflictType, VersionSelection

__all__ = [
    "Conflict",
    "ConflictDetector",
    "ConflictSolver",
    "ConflictType",
    "RebaseStep",
    "VersionSelection",
    "detect_conflicts",
    "rebase_session",
    "resolve_solver",
]

#: names provided by the optional floe-conflict-solvers distribution
SOLVER_NAMES = ("BasicConflictSolver", "AttributeMergeSolver", "FillValueChunkSolver")


def __getattr__(name: str) -> Any:
    if name in SOLVER_NAMES:
        try:
            import floe_conflict_solvers
        except ImportError:
            raise AttributeError(
                f"floe.conflicts.{name} needs the floe-conflict-solvers distribution: "
                "pip install floe-conflict-solvers") from None
        return getattr(floe_conflict_solvers, name)
    raise AttributeError(f"module 'floe.conflicts' has no attribute {name!r}")
