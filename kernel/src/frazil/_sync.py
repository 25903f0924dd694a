"""Run coroutines from synchronous code on one background event loop.

Sync methods of the public API are one-line facades over their ``*_async``
coroutine (the pattern zarr-python uses); all I/O is written once, async.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _get_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name="frazil-io", daemon=True)
            _thread.start()
        return _loop


def sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on frazil's I/O loop and wait for its result.

    Callable from any thread that is not the I/O loop itself; zarr's own
    sync loop may call it too, since the two loops are distinct.
    """
    loop = _get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
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


# After fork the loop thread no longer exists in the child: start a fresh one.
def _reset_after_fork() -> None:
    global _loop, _thread
    _loop = None
    _thread = None


import os as _os  # noqa: E402

if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_reset_after_fork)
