"""Repository operations as functions over the state layer and the asset manager.

``Repository`` keeps thin wrappers around these; scripts and plugins may call
them directly with a repository's state (:class:`frazil._state.RepoState`).
Maintenance operations (stats, expiry, garbage collection, inspection) live
here as they arrive.
"""

from __future__ import annotations

from frazil.ops._history import ancestry, ancestry_list, as_of, ops_log, snapshot_info
from frazil.ops._upgrade import UpgradePlan, plan_upgrade, upgrade_v1_to_v2

__all__ = ["UpgradePlan", "ancestry", "ancestry_list", "as_of", "ops_log", "plan_upgrade",
           "snapshot_info", "upgrade_v1_to_v2"]
