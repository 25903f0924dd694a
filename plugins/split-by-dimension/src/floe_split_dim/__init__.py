"""floe-split-dim: manifest split policies by dimension name and by array name."""

from __future__ import annotations

from floe_split_dim._policy import SplitByDimension

__all__ = ["SplitByDimension"]
__version__ = "0.1.0"
