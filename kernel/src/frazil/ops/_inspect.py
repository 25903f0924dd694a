"""Inspection: repository metadata files as JSON-ready dicts, shaped as icechunk 2.3's.

``inspect_repo_info``, ``inspect_snapshot``, ``inspect_manifest`` and
``inspect_transaction_log`` return the same keys, order and value formats as
icechunk's (timestamps RFC 3339 in UTC with ``Z``, ids base32), including a
``header`` describing the binary header of the file read.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from frazil._assets import MANIFESTS, SNAPSHOTS, TRANSACTIONS, AssetManager
from frazil.errors import SnapshotNotFoundError
from frazil.format import codec
from frazil.format.header import HEADER_LEN, MAGIC, FileType, decode_file
from frazil.format.ids import ObjectId
from frazil.format.model import (
    KIND_INLINE,
    KIND_NATIVE,
    KIND_VIRTUAL,
    RepoStatusRecord,
    TransactionLog,
    UpdateRecord,
)
from frazil.ops._commit import merge_transaction_logs
from frazil.snapshots import micros_to_datetime

__all__ = ["inspect_manifest", "inspect_repo_info", "inspect_snapshot",
           "inspect_transaction_log", "rfc3339"]

_FILE_TYPES = {1: "snapshot", 2: "manifest", 4: "transaction-log", 6: "repo-info"}
_COMPOSITE_NOTE = ("Synthetic composite: this snapshot's ancestry was collapsed by expiration; "
                   "the log below merges its pruned-ancestor logs with its own log. "
                   "`header` describes this snapshot's own log only.")


def rfc3339(us: int) -> str:
    """``us`` microseconds since the epoch as chrono prints a UTC time (0, 3 or 6 digits)."""
    base = micros_to_datetime(us).strftime("%Y-%m-%dT%H:%M:%S")
    frac = us % 1_000_000
    if frac == 0:
        return base + "Z"
    if frac % 1000 == 0:
        return f"{base}.{frac // 1000:03d}Z"
    return f"{base}.{frac:06d}Z"


def header_info(data: bytes) -> dict[str, Any]:
    """The ``header`` entry: who wrote the file, its spec version, type and compression."""
    name = data[len(MAGIC):HEADER_LEN - 3].decode("utf-8", "replace").strip()
    version, ftype, comp = data[HEADER_LEN - 3:HEADER_LEN]
    app, _, app_version = name.rpartition("-")
    return {"written_by": name, "app_name": app or name, "app_version": app_version,
            "spec_version": f"{version}.0", "file_type": _FILE_TYPES.get(ftype, str(ftype)),
            "compression": "zstd" if comp == 1 else "none"}


def _status(st: RepoStatusRecord) -> dict[str, Any]:
    avail = {0: "Online", 1: "ReadOnly", 2: "Offline"}.get(st.availability, "Online")
    return {"availability": avail, "limited_availability_reason": st.limited_availability_reason,
            "set_at": rfc3339(st.set_at)}


def _update(u: UpdateRecord) -> dict[str, Any]:
    kind = u.kind if u.kind == "FeatureFlagChanged" else u.kind + "Update"
    body: dict[str, Any] = {"type": kind}
    for k, v in u.fields.items():
        if k == "is_set":
            continue
        if isinstance(v, ObjectId):
            v = str(v)
        elif isinstance(v, RepoStatusRecord):
            v = _status(v)
        elif k in ("from_version", "to_version"):
            v = str(v)
        body[k] = v
    if u.kind == "FeatureFlagChanged" and not u.fields.get("is_set", True):
        body["new_value"] = None
    out: dict[str, Any] = {"update_type": body, "updated_at": rfc3339(u.updated_at)}
    if u.backup_path is not None:
        out["backup_path"] = u.backup_path
    return out


async def inspect_repo_info(assets: AssetManager) -> dict[str, Any]:
    """The repo info file as icechunk's ``inspect_repo_info`` describes it."""
    info, _, raw = await assets.fetch_repo_info()
    snaps = []
    for sid in sorted(info.snapshots, key=lambda s: s.raw):
        rec = info.snapshots[sid]
        entry: dict[str, Any] = {"id": str(rec.id)}
        if rec.parent_id is not None:
            entry["parent_id"] = str(rec.parent_id)
        entry.update(flushed_at=rfc3339(rec.flushed_at), message=rec.message,
                     metadata=copy.deepcopy(rec.metadata))
        snaps.append(entry)
    out: dict[str, Any] = {
        "header": header_info(raw),
        "spec_version": f"{info.spec_version}.0",
        "branches": {k: str(v) for k, v in sorted(info.branches.items())},
        "tags": {k: str(v) for k, v in sorted(info.tags.items())},
        "deleted_tags": sorted(info.deleted_tags),
        "snapshots": snaps,
        "metadata": copy.deepcopy(info.metadata),
        "latest_updates": [_update(u) for u in info.latest_updates],
    }
    if info.repo_before_updates is not None:
        out["repo_before_updates"] = info.repo_before_updates
    return out


def _node(n: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(n.id), "path": n.path,
                           "node_type": "group" if n.array is None else "array"}
    if n.array is not None:
        names = n.array.dimension_names or (None,) * len(n.array.shape)
        dims = []
        for (length, chunks), name in zip(n.array.shape, names, strict=False):
            d: dict[str, Any] = {} if name is None else {"name": name}
            d.update(array_length=length, num_chunks=chunks)
            dims.append(d)
        out["shape"] = dims
        out["manifest_refs"] = [{"id": str(m.object_id), "extents": [list(e) for e in m.extents]}
                                for m in n.array.manifests]
    return out


async def inspect_snapshot(assets: AssetManager, sid: ObjectId) -> dict[str, Any]:
    """One snapshot file: its header, time, message, metadata, manifests and node tree."""
    raw = await assets.fetch_object(SNAPSHOTS + str(sid), f"snapshot {sid}")
    snap = codec.decode_snapshot(raw, f"snapshot {sid}")
    return {
        "id": str(snap.id),
        "header": header_info(raw),
        "flushed_at": rfc3339(snap.flushed_at),
        "commit_message": snap.message,
        "metadata": copy.deepcopy(snap.metadata),
        "manifests": [{"id": str(f.id), "size_bytes": f.size_bytes,
                       "num_chunk_refs": f.num_chunk_refs} for f in snap.manifest_files],
        "nodes": [_node(n) for n in snap.nodes],
    }


async def inspect_manifest(assets: AssetManager, mid: ObjectId) -> dict[str, Any]:
    """One manifest file: its header, size, and chunk-ref counts by kind and array."""
    raw = await assets.fetch_object(MANIFESTS + str(mid), f"manifest {mid}")
    man = codec.decode_manifest(raw, f"manifest {mid}")
    arrays = []
    for refs in man.arrays:
        kinds = np.asarray(refs.kinds)
        counts = [int(np.count_nonzero(kinds == k)) for k in (KIND_INLINE, KIND_NATIVE,
                                                              KIND_VIRTUAL)]
        arrays.append({"node_id": str(refs.node_id), "num_chunk_refs": sum(counts),
                       "num_inline": counts[0], "num_native": counts[1],
                       "num_virtual": counts[2]})
    tot = [sum(a[k] for a in arrays) for k in ("num_inline", "num_native", "num_virtual")]
    return {
        "id": str(man.id),
        "header": header_info(raw),
        "size_bytes": len(decode_file(raw, FileType.MANIFEST, f"manifest {mid}")),
        "num_arrays": len(arrays),
        "total_chunk_refs": sum(tot),
        "total_inline": tot[0], "total_native": tot[1], "total_virtual": tot[2],
        "arrays": arrays,
        "compression": {"uses_location_compression": False, "num_compressed_refs": 0},
    }


def _tx_dict(tx: TransactionLog) -> dict[str, Any]:
    return {
        "new_groups": [str(n) for n in tx.new_groups],
        "new_arrays": [str(n) for n in tx.new_arrays],
        "deleted_groups": [str(n) for n in tx.deleted_groups],
        "deleted_arrays": [str(n) for n in tx.deleted_arrays],
        "updated_groups": [str(n) for n in tx.updated_groups],
        "updated_arrays": [str(n) for n in tx.updated_arrays],
        "updated_chunks": [{"node_id": str(nid), "chunks": np.asarray(c).tolist()}
                           for nid, c in tx.updated_chunks.items()],
        "moved_nodes": [{"from": m.from_path, "to": m.to_path} for m in tx.moved_nodes],
    }


async def inspect_transaction_log(assets: AssetManager, sid: ObjectId,
                                  pruned: list[ObjectId]) -> dict[str, Any]:
    """A snapshot's transaction log; merged with ``pruned`` ancestors' logs if any."""
    raw = await assets.fetch_object(TRANSACTIONS + str(sid), f"transaction log {sid}")
    own = codec.decode_transaction_log(raw, f"transaction log {sid}")
    if not pruned:
        return {"header": header_info(raw), **_tx_dict(own)}
    logs, merged, missing = [], [], []
    for p in pruned:
        try:
            logs.append(await assets.fetch_transaction_log(p))
            merged.append(str(p))
        except SnapshotNotFoundError:  # deleted by an older GC: reported, not fatal
            missing.append(str(p))
    out = {"header": header_info(raw), **_tx_dict(merge_transaction_logs(sid, [*logs, own]))}
    out["synthetic_composite"] = {"note": _COMPOSITE_NOTE,
                                  "merged_pruned_ancestor_tx_logs": merged,
                                  "missing_tx_logs": missing}
    return out
