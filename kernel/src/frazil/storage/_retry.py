"""Shared by storage backends: a retry loop with backoff and deadline, and log redaction.

Backends built on blocking SDKs (boto3, google-cloud-storage,
azure-storage-blob) turn the SDKs' own retries off and call
:func:`call_with_retries`, so every backend retries the same way: exponential
backoff with jitter, at most ``max_tries`` attempts, within an optional
operation deadline, and a clear :class:`~frazil.StorageError` when the
deadline passes. :class:`SecretRedactor` keeps credentials out of SDK debug
logs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from frazil.errors import ErrorKind, StorageError

__all__ = ["RetrySettings", "SecretRedactor", "call_with_retries", "thread_pool"]

T = TypeVar("T")
log = logging.getLogger("frazil.storage")


class RetrySettings(Protocol):
    """The retry knobs a backend's settings object carries."""

    max_tries: int
    initial_backoff_s: float
    max_backoff_s: float
    operation_timeout_s: float | None
    # optional: ``attempt_timeout_s`` (float | None) bounds each attempt, then retries


async def call_with_retries(service: str, op: str, attempt: Callable[[], Awaitable[T]],
                            settings: RetrySettings, is_retryable: Callable[[BaseException], bool],
                            *, ambiguous: list[bool] | None = None) -> T:
    """Await ``attempt()`` until it succeeds, retrying what ``is_retryable`` accepts.

    Parameters
    ----------
    service, op
        Named in log lines and errors (``"S3"``, ``"put_object"``).
    attempt
        Makes one attempt (a fresh awaitable per call).
    settings
        ``max_tries``, backoff bounds, the optional ``operation_timeout_s`` and,
        if the object has it, ``attempt_timeout_s``: an attempt running longer is
        abandoned and retried (icechunk's ``operation_attempt_timeout_ms``).
    is_retryable
        Whether a failed attempt may be retried; others propagate at once.
    ambiguous
        When given, ``True`` is appended for every attempt that failed: the
        caller then knows an earlier attempt may have taken effect (a lost
        response to a conditional write).
    """
    st = settings
    deadline = None if st.operation_timeout_s is None else \
        time.monotonic() + st.operation_timeout_s
    per_attempt: float | None = getattr(st, "attempt_timeout_s", None)
    tries = 0
    while True:
        tries += 1
        try:
            limit = per_attempt
            if deadline is not None:
                left = max(deadline - time.monotonic(), 0.001)
                limit = left if limit is None else min(limit, left)
            if limit is not None:
                return await asyncio.wait_for(attempt(), limit)
            return await attempt()
        except TimeoutError as exc:
            if deadline is not None and time.monotonic() >= deadline:
                raise StorageError(f"{service} {op} timed out after {st.operation_timeout_s} s "
                                   f"({tries} attempt(s))", ErrorKind.OBJECT_STORE) from exc
            err: BaseException = exc
        except Exception as exc:  # noqa: BLE001 - classified by is_retryable
            if not is_retryable(exc):
                raise
            err = exc
        if ambiguous is not None:
            ambiguous.append(True)
        if tries >= st.max_tries:
            raise err
        delay = min(st.max_backoff_s, st.initial_backoff_s * (2 ** (tries - 1)))
        delay = random.uniform(delay / 2, delay)
        if deadline is not None and time.monotonic() + delay >= deadline:
            raise StorageError(f"{service} {op} timed out after {st.operation_timeout_s} s "
                               f"({tries} attempt(s)): {type(err).__name__}",
                               ErrorKind.OBJECT_STORE) from err
        log.debug("%s %s attempt %d failed (%s); retrying in %.3f s", service, op, tries,
                  type(err).__name__, delay)
        await asyncio.sleep(delay)


class SecretRedactor(logging.Filter):
    """A logging filter that masks secrets in SDK log lines.

    Each pattern's first group is kept and the rest of its match replaced by
    ``***`` (e.g. ``(Signature=)[0-9a-f]+``).
    """

    def __init__(self, patterns: Iterable[re.Pattern[str]]) -> None:
        super().__init__()
        self._patterns = tuple(patterns)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - never break logging
            return True
        red = msg
        for pat in self._patterns:
            red = pat.sub(r"\1***", red)
        if red != msg:
            record.msg, record.args = red, ()
        return True

    def install(self, logger_names: Iterable[str]) -> None:
        """Attach this filter to each named logger (once)."""
        for name in logger_names:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)


_POOLS: dict[str, tuple[int, ThreadPoolExecutor]] = {}
_POOLS_LOCK = threading.Lock()


def thread_pool(name: str, size: int = 128) -> ThreadPoolExecutor:
    """The process's thread pool ``name`` for a blocking SDK (rebuilt after a fork).

    A forked child cannot use its parent's threads, so the pool is keyed by
    process id as well as by name.
    """
    pid = os.getpid()
    entry = _POOLS.get(name)
    if entry is None or entry[0] != pid:
        with _POOLS_LOCK:
            entry = _POOLS.get(name)
            if entry is None or entry[0] != pid:
                entry = _POOLS[name] = (pid, ThreadPoolExecutor(size, thread_name_prefix=name))
    return entry[1]


async def in_thread_pool(name: str, fn: Callable[..., T], *args: object,
                         size: int = 128) -> T:
    """Run blocking ``fn(*args)`` on the process's pool ``name`` (:func:`thread_pool`).

    Use it instead of ``asyncio.to_thread`` or a loop's default executor: sync
    calls run on one event loop per thread, and each loop would start its own.
    """
    return await asyncio.get_running_loop().run_in_executor(thread_pool(name, size), fn, *args)
