"""Repository feature flags (icechunk's ``FeatureFlag``): what each is and its default.

Below the ops layer so that :mod:`frazil.config` can re-export the class as icechunk does.
"""

from __future__ import annotations

from dataclasses import dataclass

from frazil._repr import Fields, Mode, ReprMixin, py_bool

__all__ = ["FEATURE_FLAGS", "FeatureFlag"]


@dataclass(frozen=True, slots=True, repr=False)
class FeatureFlag(ReprMixin):
    """One feature flag: its id, name, default, explicit setting, and effective value."""

    id: int
    name: str
    default_enabled: bool
    setting: bool | None

    _repr_name = "frazil.config.FeatureFlag"

    @property
    def enabled(self) -> bool:
        return self.default_enabled if self.setting is None else self.setting

    def _repr_fields(self, mode: Mode) -> Fields:
        return [("id", str(self.id)), ("name", self.name),
                ("default_enabled", py_bool(self.default_enabled)),
                ("setting", "None" if self.setting is None else py_bool(self.setting)),
                ("enabled", py_bool(self.enabled))]


#: icechunk 2.3's flags, in the order it lists them: (id, name, enabled by default).
FEATURE_FLAGS: tuple[tuple[int, str, bool], ...] = (
    (5, "delete_tag", True),
    (3, "move_node", True),
    (4, "create_tag", True),
)
