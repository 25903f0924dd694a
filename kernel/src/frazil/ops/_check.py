"""``Repository.check``: verify a repository's integrity without changing anything (frazil extra).

Walks everything the repo info file references — every ref, every snapshot
record (and its parent link), every snapshot's transaction log and
manifests, every native chunk the manifests reference — against one listing
per object prefix, and reports:

- **problems** (the repository is damaged): a ref or parent link to a
  snapshot that has no record, a history cycle, a missing snapshot /
  manifest / transaction log / chunk object, a manifest whose size differs
  from the size the snapshot recorded, a chunk object too short for the byte
  range a manifest reads, a file that does not decode;
- **dangling objects** (harmless garbage, what ``garbage_collect`` would
  consider): objects in storage that nothing in the repo info file reaches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from frazil._assets import CHUNKS, MANIFESTS, SNAPSHOTS, TRANSACTIONS, AssetManager
from frazil._progress import progress_log
from frazil._state import RepoState
from frazil.errors import IcechunkError
from frazil.format.ids import ObjectId, b32encode
from frazil.format.model import KIND_NATIVE, Snapshot
from frazil.ops._walk import bounded_gather

__all__ = ["CheckReport", "check_repository"]

log = logging.getLogger("frazil.ops")


@dataclass
class CheckReport:
    """What :func:`check_repository` found.

    Attributes
    ----------
    problems
        One line per defect that makes some version unreadable or the history wrong.
    dangling
        Object paths nothing references (garbage, not damage).
    counts
        How many refs, snapshots, manifests, transaction logs and chunks were verified.
    """

    problems: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No problems (dangling objects are allowed)."""
        return not self.problems

    def __str__(self) -> str:
        lines = [f"checked {', '.join(f'{v} {k}' for k, v in self.counts.items())}"]
        lines += [f"PROBLEM: {p}" for p in self.problems]
        lines += [f"dangling: {d}" for d in self.dangling]
        lines.append("OK" if self.ok else f"{len(self.problems)} problem(s)")
        return "\n".join(lines)


async def _load_snapshot(assets: AssetManager, rep: CheckReport, sid: ObjectId,
                         present: dict[str, int]) -> Snapshot | None:
    if str(sid) not in present:
        rep.problems.append(f"snapshot {sid} is missing ({SNAPSHOTS}{sid})")
        return None
    try:
        return await assets.fetch_snapshot(sid)
    except IcechunkError as e:
        rep.problems.append(f"snapshot {sid} does not decode: {e}")
        return None


async def check_repository(state: RepoState, assets: AssetManager, *,
                           max_concurrent_fetches: int = 64,
                           progress: Callable[[str, int, int | None], None] | None = None
                           ) -> CheckReport:
    """Verify every ref, snapshot, manifest and chunk object; change nothing.

    Progress goes to ``progress(phase, done, total)`` and, throttled, to the
    ``frazil.ops`` logger at INFO level.
    """
    progress = progress_log("check", progress, "frazil.ops.check")
    rep = CheckReport()
    storage = assets.storage
    info = await state.fetch()
    listings = await asyncio.gather(*(storage.list_objects_async(p) for p in (
        SNAPSHOTS, MANIFESTS, TRANSACTIONS, CHUNKS)))
    sizes = [{o.path[len(p):]: o.size_bytes for o in lst}
             for p, lst in zip((SNAPSHOTS, MANIFESTS, TRANSACTIONS, CHUNKS), listings,
                               strict=True)]
    snap_sizes, man_sizes, tx_sizes, chunk_sizes = sizes

    refs = [("branch", k, v) for k, v in info.branches.items()] + \
        [("tag", k, v) for k, v in info.tags.items()]
    for kind, name, sid in refs:
        if sid not in info.snapshots:
            rep.problems.append(f"{kind} {name!r} points at {sid}, which has no snapshot record")
    for sid, rec in info.snapshots.items():
        if rec.parent_id is not None and rec.parent_id not in info.snapshots:
            rep.problems.append(f"snapshot {sid} has parent {rec.parent_id}, which has no record")
    reported: set[ObjectId] = set()
    for sid in info.snapshots:  # cycles: follow parents with a visited set per walk
        seen: set[ObjectId] = set()
        cur: ObjectId | None = sid
        while cur is not None and cur in info.snapshots:
            if cur in seen:
                if cur not in reported:
                    reported.add(cur)
                    rep.problems.append(f"the snapshot history has a cycle through {cur}")
                break
            seen.add(cur)
            cur = info.snapshots[cur].parent_id

    needed_tx = set(info.snapshots)
    for rec in info.snapshots.values():
        needed_tx.update(rec.pruned_ancestor_tx_logs or ())
    for sid in sorted(needed_tx, key=lambda s: s.raw):
        if str(sid) not in tx_sizes:
            rep.problems.append(f"transaction log of snapshot {sid} is missing")

    loaded = 0

    async def load(sid: ObjectId) -> Snapshot | None:
        nonlocal loaded
        try:
            return await _load_snapshot(assets, rep, sid, snap_sizes)
        finally:
            loaded += 1
            if progress is not None:
                progress("check snapshots", loaded, len(info.snapshots))

    snaps = [s for s in await bounded_gather(list(info.snapshots), load, max_concurrent_fetches)
             if s is not None]
    man_expect: dict[ObjectId, set[int]] = {}
    for s in snaps:
        for f in s.manifest_files:
            man_expect.setdefault(f.id, set()).add(f.size_bytes)
    chunk_need: dict[str, int] = {}
    done = 0

    async def visit(mid: ObjectId) -> None:
        nonlocal done
        try:
            await check_one(mid)
        finally:
            done += 1
            if progress is not None:
                progress("check manifests", done, len(man_expect))

    async def check_one(mid: ObjectId) -> None:
        name = str(mid)
        if name not in man_sizes:
            rep.problems.append(f"manifest {mid} is missing ({MANIFESTS}{mid})")
            return
        expected = {s for s in man_expect[mid] if s}
        if expected and man_sizes[name] not in expected:
            rep.problems.append(f"manifest {mid} is {man_sizes[name]} bytes, the snapshot "
                                f"recorded {sorted(expected)}")
        try:
            man = await assets.fetch_manifest(mid)
        except IcechunkError as e:
            rep.problems.append(f"manifest {mid} does not decode: {e}")
            return
        for refs in man.arrays:
            nat = np.flatnonzero(refs.kinds == KIND_NATIVE)
            if not nat.size:
                continue
            ends = (refs.offsets[nat].astype(np.int64) + refs.lengths[nat].astype(np.int64))
            for row, end in zip(refs.chunk_ids[nat], ends.tolist(), strict=True):
                key = b32encode(row.tobytes())
                chunk_need[key] = max(chunk_need.get(key, 0), int(end))

    await bounded_gather(list(man_expect), visit, max_concurrent_fetches)
    for cid, end in sorted(chunk_need.items()):
        have = chunk_sizes.get(cid)
        if have is None:
            rep.problems.append(f"chunk {cid} is missing ({CHUNKS}{cid})")
        elif have < end:
            rep.problems.append(f"chunk {cid} is {have} bytes, a manifest reads up to byte {end}")
    known = [(SNAPSHOTS, snap_sizes, {str(s) for s in info.snapshots}),
             (MANIFESTS, man_sizes, {str(m) for m in man_expect}),
             (TRANSACTIONS, tx_sizes, {str(s) for s in needed_tx}),
             (CHUNKS, chunk_sizes, set(chunk_need))]
    for prefix, present, used in known:
        rep.dangling.extend(prefix + n for n in sorted(set(present) - used))
    rep.counts = {"refs": len(refs), "snapshots": len(info.snapshots),
                  "manifests": len(man_expect), "transaction logs": len(needed_tx),
                  "chunks": len(chunk_need)}
    log.info("check: %s", rep.counts)
    return rep
