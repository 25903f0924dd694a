"""Conformance tests every virtual chunk resolver must pass.

Subclass :class:`VirtualChunkResolverTests` and implement
:meth:`~VirtualChunkResolverTests.make_resolver`, returning the resolver and
a function that stores bytes under a name and returns their URL::

    class TestMyResolver(VirtualChunkResolverTests):
        def make_resolver(self, tmp_path):
            bucket = make_bucket()
            def put(name, data):
                bucket.upload(name, data)
                return f"my://bucket/{name}"
            return MyResolver("my://bucket/", None), put
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from frazil.errors import IcechunkError, StorageError

__all__ = ["VirtualChunkResolverTests"]

Put = Callable[[str, bytes], "str | Awaitable[str]"]


class VirtualChunkResolverTests:
    """Base class of the resolver conformance suite (see the module docstring)."""

    #: Size of the object in :meth:`test_large_object_range`.
    large_object_size: int = 8 * 2**20

    def make_resolver(self, tmp_path: Path) -> tuple[Any, Put]:
        """Return ``(resolver, put)``; subclasses implement this."""
        raise NotImplementedError

    @staticmethod
    async def _maybe(value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value

    def _run(self, tmp_path: Path, body: Callable[[Any, Put], Awaitable[None]]) -> None:
        async def main() -> None:
            resolver, put = await self._maybe(self.make_resolver(tmp_path))

            async def aput(name: str, data: bytes) -> str:
                return await self._maybe(put(name, data))

            await body(resolver, aput)

        asyncio.run(main())

    def test_full_object(self, tmp_path: Path) -> None:
        async def body(resolver: Any, put: Any) -> None:
            data = os.urandom(1000)
            url = await put("whole.bin", data)
            assert await resolver.fetch(url, 0, len(data)) == data

        self._run(tmp_path, body)

    def test_ranges(self, tmp_path: Path) -> None:
        async def body(resolver: Any, put: Any) -> None:
            data = bytes(range(256)) * 8
            url = await put("ranges.bin", data)
            for start, end in [(0, 1), (10, 20), (100, 2048), (2047, 2048), (5, 5)]:
                assert await resolver.fetch(url, start, end) == data[start:end]

        self._run(tmp_path, body)

    def test_missing_object_is_a_storage_error(self, tmp_path: Path) -> None:
        async def body(resolver: Any, put: Any) -> None:
            url = await put("present.bin", b"x")
            missing = url.replace("present.bin", "absent.bin")
            with pytest.raises(StorageError):
                await resolver.fetch(missing, 0, 1)

        self._run(tmp_path, body)

    def test_range_past_the_end_is_an_error(self, tmp_path: Path) -> None:
        async def body(resolver: Any, put: Any) -> None:
            url = await put("short.bin", b"0123456789")
            # a ref longer than its object must never come back short and silent
            with pytest.raises(IcechunkError):
                await resolver.fetch(url, 5, 50)

        self._run(tmp_path, body)

    def test_concurrent_reads(self, tmp_path: Path) -> None:
        async def body(resolver: Any, put: Any) -> None:
            blobs = {f"c{i}.bin": os.urandom(100 + i) for i in range(32)}
            urls = {name: await put(name, data) for name, data in blobs.items()}
            got = await asyncio.gather(*(resolver.fetch(urls[n], 0, len(d))
                                         for n, d in blobs.items()))
            assert got == list(blobs.values())

        self._run(tmp_path, body)

    def test_large_object_range(self, tmp_path: Path) -> None:
        async def body(resolver: Any, put: Any) -> None:
            data = os.urandom(self.large_object_size)
            url = await put("large.bin", data)
            mid = self.large_object_size // 2
            assert await resolver.fetch(url, mid, mid + 2**20) == data[mid:mid + 2**20]

        self._run(tmp_path, body)
