"""zarr's hierarchy state machine against a frazil store, with commits mixed in.

zarr drives random group/array creation, writes, resizes, deletes and listings
and compares every answer with its in-memory reference store. frazil adds two
rules: commit (then keep working in a fresh session on the new tip) and
reopen the repository cold from storage. So every state the machine reaches
must survive serialization to disk and back.
"""

from __future__ import annotations

import os

import frazil as ic
import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import rule
from zarr.testing.stateful import ZarrHierarchyStateMachine

EXAMPLES = int(os.environ.get("FRAZIL_STATEFUL_EXAMPLES", "25"))


class FrazilHierarchyStateMachine(ZarrHierarchyStateMachine):
    def __init__(self) -> None:
        self.storage = ic.in_memory_storage()
        self.repo = ic.Repository.create(self.storage)
        self.session = self.repo.writable_session("main")
        super().__init__(self.session.store)

    def _new_session(self, repo: ic.Repository) -> None:
        self.repo = repo
        self.session = repo.writable_session("main")
        self.store = self.session.store

    @rule(message=st.text(max_size=20))
    def commit(self, message: str) -> None:
        self.session.commit(message, allow_empty=True)
        self._new_session(self.repo)

    @rule()
    def commit_and_reopen_cold(self) -> None:
        self.session.commit("cold", allow_empty=True)
        self._new_session(ic.Repository.open(self.storage))


FrazilHierarchyStateMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=30, deadline=None)
TestFrazilHierarchy = FrazilHierarchyStateMachine.TestCase


class FrazilLocalWithIcechunkOracle(FrazilHierarchyStateMachine):
    """The same machine on local disk; after each commit icechunk must read it the same."""

    def __init__(self) -> None:
        import tempfile

        self.path = tempfile.mkdtemp(prefix="frazil-stateful-")
        self.storage = ic.local_filesystem_storage(self.path)
        self.repo = ic.Repository.create(self.storage)
        self.session = self.repo.writable_session("main")
        ZarrHierarchyStateMachine.__init__(self, self.session.store)

    @rule()
    def commit_and_compare_with_icechunk(self) -> None:
        import icechunk
        from zarr.core.buffer import default_buffer_prototype

        sid = self.session.commit("checked", allow_empty=True)
        ice = icechunk.Repository.open(icechunk.local_filesystem_storage(self.path))
        ice_store = ice.readonly_session(snapshot_id=sid).store
        ours = self.repo.readonly_session(snapshot_id=sid).store
        proto = default_buffer_prototype()

        async def listing(store):
            return sorted([k async for k in store.list()])

        keys = self._sync(listing(ours))
        assert keys == self._sync(listing(ice_store))
        for k in keys:
            a = self._sync(ours.get(k, proto))
            b = self._sync(ice_store.get(k, proto))
            assert a is not None and b is not None and a.to_bytes() == b.to_bytes(), k
        self._new_session(self.repo)

    def teardown(self) -> None:
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)


FrazilLocalWithIcechunkOracle.TestCase.settings = settings(
    max_examples=max(EXAMPLES // 2, 5), stateful_step_count=30, deadline=None)
TestFrazilAgainstIcechunk = FrazilLocalWithIcechunkOracle.TestCase
