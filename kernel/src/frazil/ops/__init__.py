"""Repository operations as functions over the state layer and the asset manager.

``Repository`` keeps thin wrappers around these; scripts and plugins may call
them directly with a repository's state (:class:`frazil._state.RepoState`).
Maintenance operations (stats, expiry, garbage collection, inspection) live
here as they arrive.

Like ``icechunk.ops``, this module names :class:`GCSummary`, :class:`Update`
and :class:`UpdateType`.
"""

from __future__ import annotations

from frazil._ancestry import AncestryGraph, build_graph
from frazil.ops._check import CheckReport, check_repository
from frazil.ops._commit import splitting_config_json
from frazil.ops._diff import diff_snapshots
from frazil.ops._expire import expire_snapshots, plan_expiry
from frazil.ops._gc import GCSummary, garbage_collect
from frazil.ops._history import ancestry, ancestry_list, as_of, ops_log, snapshot_info
from frazil.ops._inspect import (
    inspect_manifest,
    inspect_repo_info,
    inspect_snapshot,
    inspect_transaction_log,
)
from frazil.ops._stats import ChunkStorageStats, chunk_storage_stats
from frazil.ops._status import feature_flags, get_status, set_feature_flag, set_status
from frazil.ops._types import (
    FeatureFlag,
    RepoAvailability,
    RepoStatus,
    Update,
    UpdateType,
)
from frazil.ops._upgrade import UpgradePlan, plan_upgrade, upgrade_v1_to_v2

__all__ = [
    "AncestryGraph",
    "CheckReport",
    "ChunkStorageStats",
    "FeatureFlag",
    "GCSummary",
    "RepoAvailability",
    "RepoStatus",
    "Update",
    "UpdateType",
    "UpgradePlan",
    "ancestry",
    "ancestry_list",
    "as_of",
    "build_graph",
    "check_repository",
    "chunk_storage_stats",
    "diff_snapshots",
    "expire_snapshots",
    "plan_expiry",
    "feature_flags",
    "garbage_collect",
    "get_status",
    "inspect_manifest",
    "inspect_repo_info",
    "inspect_snapshot",
    "inspect_transaction_log",
    "ops_log",
    "plan_upgrade",
    "set_feature_flag",
    "set_status",
    "snapshot_info",
    "splitting_config_json",
    "upgrade_v1_to_v2",
]
