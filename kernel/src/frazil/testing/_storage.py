"""Conformance tests every :class:`~frazil.storage.Storage` backend must pass.

Subclass :class:`StorageTests` in a test module and implement
:meth:`~StorageTests.make_storage`::

    from frazil.testing import StorageTests

    class TestMyStorage(StorageTests):
        async def make_storage(self, tmp_path):
            return MyStorage(bucket=..., prefix=str(tmp_path.name))

Each test runs its body in a fresh event loop with ``asyncio.run``, so the
suite needs no pytest-asyncio configuration in the plugin's repository.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import pickle
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from frazil.errors import InvalidInputError
from frazil.storage import ConditionFailedError, ObjectNotFoundError, Storage, VersionToken

__all__ = ["StorageTests"]

Body = Callable[[Storage], Awaitable[None]]


class StorageTests:
    """Base class of the storage conformance suite (see the module docstring).

    Class attributes tune the suite for slow backends.
    """

    #: Size of the object in :meth:`test_large_object`.
    large_object_size: int = 20 * 2**20
    #: Concurrent tasks in the race tests.
    race_tasks: int = 16
    #: Increments per task in the conditional update race.
    race_increments: int = 5
    #: Objects written by the many-objects listing test.
    many_objects: int = 120
    #: Whether the storage pickles (in-memory storage refuses: its data stays in-process).
    picklable: bool = True

    def make_storage(self, tmp_path: Path) -> Storage | Awaitable[Storage]:
        """Return a new, empty storage (sync or async). Subclasses implement this."""
        raise NotImplementedError

    async def cleanup_storage(self, storage: Storage) -> None:
        """Release resources of ``storage`` after a test (override as needed)."""

    @pytest.fixture
    def run(self, tmp_path: Path) -> Callable[[Body], None]:
        """Run an async test body against a fresh storage in a fresh event loop."""

        def _run(body: Body) -> None:
            async def main() -> None:
                made = self.make_storage(tmp_path)
                storage = await made if inspect.isawaitable(made) else made
                try:
                    await body(storage)
                finally:
                    await self.cleanup_storage(storage)

            asyncio.run(main())

        return _run

    # -- reads and writes ------------------------------------------------------------

    def test_put_get(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            await s.put_object("a/b/c", b"hello")
            assert await s.get_object("a/b/c") == b"hello"
            await s.put_object("a/b/c", b"bye")  # unconditional overwrite
            assert await s.get_object("a/b/c") == b"bye"
            await s.put_object("empty", b"")
            assert await s.get_object("empty") == b""

        run(body)

    def test_put_object_copy(self, run: Callable[[Body], None]) -> None:
        """``put_object_copy`` leaves ``data`` at the path, whether the backend copies the
        source (it still holds that version) or not (it changed, or is gone)."""
        async def body(s: Storage) -> None:
            await s.put_object("src", b"version one")
            _, v1 = await s.get_object_versioned("src")
            await s.put_object_copy("backups/one", b"version one", source="src", version=v1)
            assert await s.get_object("backups/one") == b"version one"
            await s.put_object("src", b"version two")  # the source moved on
            await s.put_object_copy("backups/stale", b"version one", source="src", version=v1)
            assert await s.get_object("backups/stale") == b"version one"
            await s.delete_objects(["src"])  # and is gone
            await s.put_object_copy("backups/gone", b"version one", source="src", version=v1)
            assert await s.get_object("backups/gone") == b"version one"
            assert await s.get_object("backups/one") == b"version one"  # copies are separate

        run(body)

    def test_byte_ranges(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            data = bytes(range(100))
            await s.put_object("r", data)
            assert await s.get_object("r", (10, 20)) == data[10:20]
            assert await s.get_object("r", (90, None)) == data[90:]
            assert await s.get_object("r", (-5, None)) == data[-5:]  # suffix
            assert await s.get_object("r", (-500, None)) == data
            assert await s.get_object("r", (95, 200)) == data[95:]  # end is clamped
            assert await s.get_object("r", (100, None)) == b""
            assert await s.get_object("r", (7, 7)) == b""
            with pytest.raises(InvalidInputError):  # start past the end
                await s.get_object("r", (101, 120))
            with pytest.raises(InvalidInputError):
                await s.get_object("r", (20, 10))
            with pytest.raises(ObjectNotFoundError):
                await s.get_object("missing", (0, 1))

        run(body)

    def test_missing(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            with pytest.raises(ObjectNotFoundError) as info:
                await s.get_object("no/such")
            assert info.value.kind == "object-not-found"
            with pytest.raises(ObjectNotFoundError):
                await s.get_object_versioned("no/such")
            with pytest.raises(ObjectNotFoundError):
                await s.object_size("no/such")
            assert not await s.exists("no/such")
            await s.put_object("no/such/deeper", b"x")
            with pytest.raises(ObjectNotFoundError):  # a "directory" is not an object
                await s.get_object("no/such")

        run(body)

    def test_invalid_paths(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            for bad in ("", "/abs", "a//b", "a/../b", "./a"):
                with pytest.raises(InvalidInputError):
                    await s.put_object(bad, b"x")

        run(body)

    def test_exists_and_size(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            await s.put_object("sized", b"x" * 1234)
            assert await s.exists("sized")
            assert await s.object_size("sized") == 1234

        run(body)

    def test_large_object(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            data = random.Random(0).randbytes(self.large_object_size)
            await s.put_object("chunks/large", data)
            assert await s.object_size("chunks/large") == len(data)
            assert await s.get_object("chunks/large") == data
            mid = len(data) // 2
            assert await s.get_object("chunks/large", (mid, mid + 4096)) == data[mid:mid + 4096]

        run(body)

    def test_concurrent_reads(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            await asyncio.gather(*(s.put_object(f"c/{i}", bytes([i])) for i in range(200)))
            got = await asyncio.gather(*(s.get_object(f"c/{i}") for i in range(200)))
            assert got == [bytes([i]) for i in range(200)]

        run(body)

    # -- conditional writes -------------------------------------------------------------

    def test_conditional_create_and_update(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            t1 = await s.put_object_if("repo", b"v1", expected=None)
            assert isinstance(t1, VersionToken)
            with pytest.raises(ConditionFailedError):
                await s.put_object_if("repo", b"other", expected=None)
            data, t_read = await s.get_object_versioned("repo")
            assert (data, t_read) == (b"v1", t1)
            t2 = await s.put_object_if("repo", b"v2", expected=t1)
            assert t2 != t1
            with pytest.raises(ConditionFailedError):  # stale token
                await s.put_object_if("repo", b"v3", expected=t1)
            assert await s.get_object("repo") == b"v2"
            with pytest.raises(ConditionFailedError):  # update of a missing object
                await s.put_object_if("absent", b"x", expected=t2)
            assert not await s.exists("absent")

        run(body)

    def test_conditional_create_race(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            async def attempt(i: int) -> int | None:
                try:
                    await s.put_object_if("refs/race", str(i).encode(), expected=None)
                except ConditionFailedError:
                    return None
                return i

            results = await asyncio.gather(*(attempt(i) for i in range(self.race_tasks)))
            winners = [r for r in results if r is not None]
            assert len(winners) == 1
            assert await s.get_object("refs/race") == str(winners[0]).encode()

        run(body)

    def test_conditional_update_race(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            await s.put_object_if("counter", b"[]", expected=None)

            async def worker(w: int) -> None:
                for i in range(self.race_increments):
                    while True:
                        data, token = await s.get_object_versioned("counter")
                        await asyncio.sleep(0)  # let the others interleave
                        items = json.loads(data) + [[w, i]]
                        try:
                            await s.put_object_if("counter", json.dumps(items).encode(),
                                                  expected=token)
                            break
                        except ConditionFailedError:
                            await asyncio.sleep(random.random() / 1000)

            await asyncio.gather(*(worker(w) for w in range(self.race_tasks)))
            items = json.loads(await s.get_object("counter"))
            expected = {(w, i) for w in range(self.race_tasks) for i in range(self.race_increments)}
            assert len(items) == len(expected) and {tuple(x) for x in items} == expected

        run(body)

    # -- listing and deleting ------------------------------------------------------------

    def test_list_prefix(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            keys = ["repo", "snapshots/A", "snapshots/B", "chunks/x/1", "chunks/x/2/3",
                    "chunks/y", "manifests/M"]
            for k in keys:
                await s.put_object(k, k.encode())
            listed = await s.list_objects_async("")
            assert sorted(o.path for o in listed) == sorted(keys)
            assert {o.path: o.size_bytes for o in listed} == {k: len(k) for k in keys}
            assert all(o.last_modified.tzinfo is not None for o in listed)
            assert sorted(o.path for o in await s.list_objects_async("chunks/")) == [
                "chunks/x/1", "chunks/x/2/3", "chunks/y"]
            assert sorted(o.path for o in await s.list_objects_async("chunks/x")) == [
                "chunks/x/1", "chunks/x/2/3"]
            assert sorted(o.path for o in await s.list_objects_async("snap")) == [
                "snapshots/A", "snapshots/B"]
            assert await s.list_objects_async("nothing/") == []

        run(body)

    def test_list_many(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            paths = [f"chunks/{i % 7}/{i:05d}" for i in range(self.many_objects)]
            await asyncio.gather(*(s.put_object(p, b"x") for p in paths))
            assert sorted(o.path for o in await s.list_objects_async("chunks/")) == sorted(paths)
            in_3 = sorted(o.path for o in await s.list_objects_async("chunks/3/"))
            assert in_3 == sorted(p for p in paths if p.startswith("chunks/3/"))

        run(body)

    def test_delete(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            for k in ("d/1", "d/2", "d/3"):
                await s.put_object(k, b"x")
            await s.put_object_if("d/cond", b"x", expected=None)
            assert await s.delete_objects(["d/1", "d/cond", "d/missing"]) == 2
            assert await s.delete_objects([]) == 0
            assert sorted(o.path for o in await s.list_objects_async("d/")) == ["d/2", "d/3"]
            assert not await s.exists("d/1")
            # A deleted object can be created conditionally again.
            await s.put_object_if("d/cond", b"again", expected=None)
            assert await s.get_object("d/cond") == b"again"

        run(body)

    # -- object properties -------------------------------------------------------------

    def test_pickle_and_repr(self, run: Callable[[Body], None]) -> None:
        async def body(s: Storage) -> None:
            await s.exists("x")  # creates this loop's semaphore
            if self.picklable:
                clone: Any = pickle.loads(pickle.dumps(s))
            else:
                with pytest.raises(TypeError):
                    pickle.dumps(s)
                clone = s
            assert type(clone) is type(s)
            assert clone.max_concurrent_requests == s.max_concurrent_requests
            await clone.exists("x")
            # icechunk's form: "<frazil.Storage>\ntype: <backend>\n<field>: <value>\n..."
            assert repr(s).startswith("<frazil.Storage>\ntype: ") and len(repr(s)) < 300
            assert str(s) == repr(s) and "frazil.Storage" in s._repr_html_()
            assert isinstance(s.can_write, bool)

        run(body)
