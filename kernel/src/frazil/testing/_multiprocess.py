"""Worker functions for multi-process storage tests.

They live in an importable module (not in a test file) so that
``multiprocessing`` with the ``spawn`` start method can find them by name.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

from frazil.storage import ConditionFailedError, LocalFileSystemStorage

__all__ = ["append_to_counter", "race_to_create"]


def append_to_counter(root: str, path: str, worker: int, iterations: int, start_at: float) -> int:
    """Append ``[worker, i]`` to the JSON list at ``path``, ``iterations`` times.

    Each append is a read-modify-write with ``put_object_if``, retried on
    :class:`ConditionFailedError`. Returns the number of lost races.
    """

    async def main() -> int:
        storage = LocalFileSystemStorage(root)
        retries = 0
        for i in range(iterations):
            while True:
                data, token = await storage.get_object_versioned(path)
                items = json.loads(data)
                items.append([worker, i])
                try:
                    await storage.put_object_if(path, json.dumps(items).encode(), expected=token)
                    break
                except ConditionFailedError:
                    retries += 1
                    await asyncio.sleep(random.random() * 0.002)
        return retries

    time.sleep(max(0.0, start_at - time.time()))  # start together to force contention
    return asyncio.run(main())


def race_to_create(root: str, path: str, worker: int, start_at: float) -> bool:
    """Try to create ``path`` with ``put_object_if(expected=None)``; return whether we won."""

    async def main() -> bool:
        storage = LocalFileSystemStorage(root)
        try:
            await storage.put_object_if(path, str(worker).encode(), expected=None)
        except ConditionFailedError:
            return False
        return True

    time.sleep(max(0.0, start_at - time.time()))
    return asyncio.run(main())
