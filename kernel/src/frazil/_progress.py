"""Progress of long operations, logged (throttled) on ``frazil.ops`` and passed to a callback.

Long operations (``garbage_collect``, ``check``, ``expire_snapshots``...)
report ``progress(phase, done, total)`` as they advance; ``total`` is ``None``
when unknown. :class:`ProgressLog` turns those calls into INFO records on the
``frazil.ops`` logger — the first and the last of each phase, and at most one
every :data:`LOG_INTERVAL` seconds in between — and forwards every call to the
caller's own callback (the ``frazil`` command draws its bars from it).

Targets: ``frazil.ops.gc`` (``garbage_collect``, ``expire_snapshots``),
``frazil.ops.check``, ``frazil.ops.manifests`` (``rewrite_manifests``) and
``frazil.ops.upgrade`` (the v1 to v2 upgrade); ``frazil.ops`` selects them all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["LOG_INTERVAL", "Progress", "ProgressLog", "progress_log"]

#: ``progress(phase, done, total)``
Progress = Callable[[str, int, int | None], None]

#: seconds between two progress records of the same phase
LOG_INTERVAL = 2.0

log = logging.getLogger("frazil.ops")


class ProgressLog:
    """A progress callback that logs ``operation: phase done/total`` at most every few seconds."""

    __slots__ = ("_callback", "_finished", "_interval", "_last", "_logger", "_operation",
                 "_phase")

    def __init__(self, operation: str, callback: Progress | None = None, *,
                 interval: float = LOG_INTERVAL, logger: logging.Logger = log) -> None:
        self._operation = operation
        self._callback = callback
        self._interval = interval
        self._logger = logger
        self._phase: str | None = None
        self._last = 0.0
        self._finished = False

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if self._callback is not None:
            self._callback(phase, done, total)
        if not self._logger.isEnabledFor(logging.INFO):
            return
        now = time.monotonic()
        finished = total is not None and done >= total
        if phase != self._phase:
            self._phase, self._finished = phase, False
        elif finished:
            if self._finished:
                return
        elif now - self._last < self._interval:
            return
        self._last = now
        self._finished = finished
        self._logger.info("%s: %s %s", self._operation, phase, _count(done, total))


def _count(done: int, total: int | None) -> str:
    if total is None:
        return f"{done}"
    pct = 100.0 * done / total if total else 100.0
    return f"{done}/{total} ({pct:.0f}%)"


def progress_log(operation: str, callback: Progress | None, target: str = "frazil.ops"
                 ) -> Progress:
    """``callback`` wrapped so that ``operation``'s progress is also logged on ``target``.

    ``target`` is a child of ``frazil.ops`` named as icechunk names the module
    doing the work (``frazil.ops.gc`` for ``icechunk::ops::gc``), so filters
    written for icechunk's targets select the same records.
    """
    if isinstance(callback, ProgressLog):
        return callback
    return ProgressLog(operation, callback, logger=logging.getLogger(target))
