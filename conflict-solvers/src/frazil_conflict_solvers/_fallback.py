"""Shared shape of the solvers here: resolve what you can, hand the rest on."""

from __future__ import annotations

from typing import Any

from frazil.conflicts import (
    Conflict,
    ConflictDetector,
    ConflictSolver,
    RebaseStep,
    resolve_solver,
    run_solver,
)


class FallbackSolver(ConflictSolver):
    """Narrows each conflict with :meth:`narrow`; what is left goes to ``fallback``.

    ``fallback`` is a solver, a registered solver name, or ``None`` for
    :class:`~frazil.ConflictDetector` (fail on anything left).
    """

    def __init__(self, fallback: Any = None) -> None:
        self.fallback: ConflictSolver = (ConflictDetector() if fallback is None
                                         else resolve_solver(fallback))

    async def narrow(self, step: RebaseStep, conflict: Conflict) -> Conflict | None:
        """Resolve ``conflict`` (return ``None``) or return what is still unresolved."""
        raise NotImplementedError

    async def solve(self, step: RebaseStep) -> list[Conflict]:
        remaining = []
        for c in step.conflicts:
            left = await self.narrow(step, c)
            if left is not None:
                remaining.append(left)
        return await run_solver(self.fallback, step.with_conflicts(remaining))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fallback={self.fallback!r})"
