"""Run coroutines from synchronous code.

Sync methods of the public API are one-line facades over their ``*_async``
coroutine (the pattern zarr-python uses); all I/O is written once, async.

A sync call runs its coroutine on an event loop owned by the calling thread
(one per thread, reused call after call, closed when the thread ends), as
icechunk's sync methods block the calling thread on its runtime: handing each
call to a shared loop thread and waiting for the answer cost about two thread
wake-ups (~0.1 ms) per call, more than many whole metadata operations. A call
from a thread where an event loop is already running (zarr's sync loop, a
notebook's, a user's) cannot run another loop there; it goes to one shared
background loop instead and waits. frazil's code is loop-agnostic: per-loop
state (storage semaphores, range coalescing) is keyed by loop, and blocking
work goes to process-wide thread pools, not to a loop's default executor.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _get_loop() -> asyncio.AbstractEventLoop:
    """The shared background loop (started on first use)."""
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name="frazil-io", daemon=True)
            _thread.start()
        return _loop


class _ThreadLoop:
    """The calling thread's loop for sync calls; closed with the thread's locals."""

    __slots__ = ("loop", "pid", "__weakref__")

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()
        _LIVE.add(self)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self.loop
        task = loop.create_task(coro)
        try:
            return loop.run_until_complete(task)
        except BaseException:
            # Interrupted (KeyboardInterrupt...) before the task ended: cancel it so
            # that nothing is left half-run to resume on the next call.
            if not task.done():
                task.cancel()
                try:
                    loop.run_until_complete(task)
                except BaseException:
                    pass
            raise

    def __del__(self) -> None:
        loop = self.loop
        if self.pid == os.getpid() and not loop.is_closed() and not loop.is_running():
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            except Exception:
                pass
            loop.close()


# Every thread's loop, so that a fork can keep them alive in the child (below).
_LIVE: weakref.WeakSet[_ThreadLoop] = weakref.WeakSet()
_FORK_KEEP: list[_ThreadLoop] = []


class _Local(threading.local):
    runner: _ThreadLoop | None = None


_local = _Local()


def sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result (see the module docstring).

    Callable from any thread; from inside frazil's background loop itself it
    would deadlock, so that raises (use the ``*_async`` form there).
    """
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is None:
        runner = _local.runner
        if runner is None:
            runner = _local.runner = _ThreadLoop()
        return runner.run(coro)
    loop = _get_loop()
    if running is loop:
        coro.close()
        raise RuntimeError("frazil sync API called from inside frazil's I/O loop; use *_async")
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


def _facade(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def method(*args: Any, **kwargs: Any) -> Any:
        return sync(fn(*args, **kwargs))

    method.__name__ = name
    method.__qualname__ = fn.__qualname__.rsplit(".", 1)[0] + "." + name
    # the sync form returns what the coroutine returns: drop the coroutine marker
    del method.__wrapped__
    method.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    return method


def with_sync_facades[C: type](cls: C) -> C:
    """Class decorator: give every ``x_async`` coroutine method a sync ``x``.

    Methods the class defines itself (a different return shape, an iterator
    instead of a list) are left alone. Works for plain, class and static
    methods; the facade carries the coroutine's signature and docstring.
    """
    for attr, value in list(vars(cls).items()):
        if not attr.endswith("_async") or attr.startswith("_"):
            continue
        name = attr.removesuffix("_async")
        if name in vars(cls):
            continue
        wrapper: type[classmethod[Any, Any, Any]] | type[staticmethod[Any, Any]] | None = None
        fn = value
        if isinstance(value, classmethod | staticmethod):
            wrapper, fn = type(value), value.__func__
        if not inspect.iscoroutinefunction(fn):
            continue
        facade = _facade(fn, name)
        setattr(cls, name, wrapper(facade) if wrapper is not None else facade)
    return cls


# A forked child shares each loop's epoll instance with its parent: closing a loop
# there (as collecting it would, when the child drops the other threads' locals)
# would unregister the parent's wake-up socket from it. So the parent lists every
# thread's loop just before a fork and the child keeps them, unused and unclosed;
# the child starts its own loops (and background loop thread) when it needs them.
def _before_fork() -> None:
    for _ in range(5):  # another thread may add its loop while the set is copied
        try:
            _FORK_KEEP[:] = list(_LIVE)
            return
        except RuntimeError:
            continue


def _after_fork_in_parent() -> None:
    _FORK_KEEP.clear()


def _reset_after_fork() -> None:
    global _loop, _thread, _local
    _loop = None  # the loop thread is gone (the loop object is kept: it looks running)
    _thread = None
    _local = _Local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_reset_after_fork)
