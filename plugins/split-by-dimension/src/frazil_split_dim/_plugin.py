"""Entry point of frazil-split-dim (group ``frazil.manifest_split``)."""

from __future__ import annotations

from frazil.plugins import ManifestSplitPolicyRegistry, hookimpl

from frazil_split_dim._policy import SplitByDimension


@hookimpl
def frazil_register_manifest_split_policies(registry: ManifestSplitPolicyRegistry) -> None:
    """Register ``by-dimension``."""
    registry.add("by-dimension", SplitByDimension)
