"""Conflicts and rebase (icechunk's ``icechunk.conflicts``).

The kernel ships the conflict model, the detector and the rebase machinery.
Solvers that resolve conflicts (``BasicConflictSolver`` and more) live in the
``frazil-conflict-solvers`` distribution; once installed they are importable
from here too (``frazil.conflicts.BasicConflictSolver``) and by name
(``session.commit(..., rebase_with="basic")``).
"""

from __future__ import annotations

from typing import Any

from frazil.conflicts._rebase import (
    ConflictDetector,
    ConflictSolver,
    RebaseStep,
    detect_conflicts,
    rebase_session,
    resolve_solver,
)
from frazil.conflicts._types import Conflict, ConflictType, VersionSelection

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

#: names provided by the optional frazil-conflict-solvers distribution
SOLVER_NAMES = ("BasicConflictSolver", "AttributeMergeSolver", "FillValueChunkSolver")


def __getattr__(name: str) -> Any:
    if name in SOLVER_NAMES:
        try:
            import frazil_conflict_solvers
        except ImportError:
            raise AttributeError(
                f"frazil.conflicts.{name} needs the frazil-conflict-solvers distribution: "
                "pip install frazil-conflict-solvers") from None
        return getattr(frazil_conflict_solvers, name)
    raise AttributeError(f"module 'frazil.conflicts' has no attribute {name!r}")
