"""Entry point of the ``floe.conflict_solvers`` group: registers the solvers by name."""

from __future__ import annotations

from typing import Any

from floe.plugins import hookimpl


@hookimpl
def floe_register_conflict_solvers(registry: Any) -> None:
    from floe_conflict_solvers import (
        AttributeMergeSolver,
        BasicConflictSolver,
        FillValueChunkSolver,
    )

    registry.add("basic", BasicConflictSolver)
    registry.add("attribute-merge", AttributeMergeSolver)
    registry.add("fill-value", FillValueChunkSolver)
