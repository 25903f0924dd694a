"""Merge concurrent reads of adjacent byte ranges of one object into one request.

zarr reads the chunks of a selection concurrently; virtual chunks packed
back to back in one NetCDF/HDF5 file then arrive as many small range reads
of the same object. Requests made in the same event-loop turn are queued per
object, sorted, and fetched as merged ranges (bounded in size); every caller
gets exactly its own slice back, and a failed fetch fails only its callers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Fetch = Callable[[str, int, int], Awaitable[bytes]]

#: Ranges whose gap is at most this many bytes are merged (the gap is read and dropped).
MAX_GAP = 0
#: A merged request never grows past this size.
MAX_MERGED = 32 * 2**20


class RangeCoalescer:
    """Wraps ``fetch(location, start, end)``; see the module docstring."""

    def __init__(self, fetch: Fetch, max_gap: int = MAX_GAP, max_merged: int = MAX_MERGED):
        self._fetch = fetch
        self._max_gap = max_gap
        self._max_merged = max_merged
        self._pending: dict[tuple[int, str], list[tuple[int, int, asyncio.Future[bytes]]]] = {}

    async def fetch(self, location: str, start: int, end: int) -> bytes:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bytes] = loop.create_future()
        key = (id(loop), location)
        queue = self._pending.setdefault(key, [])
        queue.append((start, end, fut))
        if len(queue) == 1:
            # flush after every request queued in this loop turn has joined
            loop.call_soon(lambda: loop.create_task(self._flush(key)))
        return await fut

    def _groups(self, reqs: list[tuple[int, int, asyncio.Future[bytes]]]
                ) -> list[tuple[int, int, list[tuple[int, int, asyncio.Future[bytes]]]]]:
        reqs.sort(key=lambda r: (r[0], r[1]))
        groups: list[tuple[int, int, list[tuple[int, int, asyncio.Future[bytes]]]]] = []
        for r in reqs:
            if groups:
                gs, ge, members = groups[-1]
                if r[0] <= ge + self._max_gap and max(ge, r[1]) - gs <= self._max_merged:
                    groups[-1] = (gs, max(ge, r[1]), [*members, r])
                    continue
            groups.append((r[0], r[1], [r]))
        return groups

    async def _flush(self, key: tuple[int, str]) -> None:
        reqs = self._pending.pop(key, [])
        location = key[1]

        async def one(gs: int, ge: int, members: list[tuple[int, int, Any]]) -> None:
            try:
                data = await self._fetch(location, gs, ge)
            except BaseException as e:  # noqa: BLE001 - handed to every waiting caller
                for _, _, fut in members:
                    if not fut.done():
                        fut.set_exception(e)
                return
            for s, e_, fut in members:
                if not fut.done():
                    fut.set_result(bytes(data[s - gs:e_ - gs]))

        await asyncio.gather(*(one(*g) for g in self._groups(reqs)))
