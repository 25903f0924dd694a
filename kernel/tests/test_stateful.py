"""zarr's hierarchy state machine against a floe store, with commits mixed in.

zarr drives random group/array creation, writes, resizes, deletes and listings
and compares every answer with its in-memory reference store. floe adds two
rules: commit (then keep working in a fresh session on the new tip) and
reopen the repository cold from storage. So every state the machine reaches
must survive serialization to disk and back.
"""

from __future__ import annotations

import os

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import rule
from zarr.testing.stateful import ZarrHierarchyStateMachine

import floe as ic

EXAMPLES = int(os.environ.get("FLOE_STATEFUL_EXAMPLES", "25"))


class FloeHierarchyStateMachine(ZarrHierarchyStateMachine):
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


FloeHierarchyStateMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=30, deadline=None)
TestFloeHierarchy = FloeHierarchyStateMachine.TestCase
