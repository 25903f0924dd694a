"""frazil-split-dim: manifest split policies by dimension name and by array name."""

from __future__ import annotations

from frazil_split_dim._policy import SplitByDimension

__all__ = ["SplitByDimension"]
__version__ = "2.0.0.dev0"
