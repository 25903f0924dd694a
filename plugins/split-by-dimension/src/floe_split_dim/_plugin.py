"""Entry point of floe-split-dim (group ``floe.manifest_split``)."""

from __future__ import annotations

from floe.plugins import ManifestSplitPolicyRegistry, hookimpl

from floe_split_dim._policy import SplitByDimension


@hookimpl
def floe_register_manifest_split_policies(registry: ManifestSplitPolicyRegistry) -> None:
    """Register ``by-dimension``."""
    registry.add("by-dimension", SplitByDimension)
