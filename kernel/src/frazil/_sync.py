"""Run coroutines from synchronous code on one background event loop.

Sync methods of the public API are one-line facades over their ``*_async``
coroutine (the pattern zarr-python uses); all I/O is written once, async.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
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


# After fork the loop thread no longer exists in the child: start a fresh one.
def _reset_after_fork() -> None:
    global _loop, _thread
    _loop = None
    _thread = None


import os as _os  # noqa: E402

if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_reset_after_fork)
