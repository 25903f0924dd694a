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
    run_solver,
)
from frazil.conflicts._types import Conflict, ConflictType, VersionSelection
from frazil.plugins import KNOWN_PROVIDERS, PluginNotFoundError, get_plugins

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
    "run_solver",
]

def __getattr__(name: str) -> Any:
    # solvers that installed distributions add (BasicConflictSolver, ...)
    try:
        return get_plugins().public_name("frazil.conflicts", name)
    except PluginNotFoundError:
        pass
    dist = KNOWN_PROVIDERS["name"].get(f"frazil.conflicts.{name}")
    hint = f": it needs the {dist} distribution (pip install {dist})" if dist else ""
    raise AttributeError(f"module 'frazil.conflicts' has no attribute {name!r}{hint}")
