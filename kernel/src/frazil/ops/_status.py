"""Repository status (online / read-only) and feature flags, in the repo info file.

A read-only repository refuses every change of the repo info file except
``set_status`` itself (the state layer checks it on each update), and
refuses writable sessions. Feature flags switch individual operations off
(``create_tag``, ``delete_tag``, ``move_node``); a refused operation raises
``SessionStateError`` naming the flag, as icechunk does.
"""

from __future__ import annotations

from frazil._state import RepoState
from frazil.errors import ErrorKind, InvalidInputError, SessionStateError
from frazil.format.model import RepoInfo, UpdateRecord
from frazil.ops._types import FEATURE_FLAGS, FeatureFlag, RepoStatus

__all__ = ["check_flag", "feature_flags", "get_status", "set_feature_flag", "set_status"]

_BY_NAME = {name: (fid, default) for fid, name, default in FEATURE_FLAGS}


def _flags(info: RepoInfo) -> list[FeatureFlag]:
    on, off = set(info.enabled_feature_flags), set(info.disabled_feature_flags)
    return [FeatureFlag(fid, name, default, True if fid in on else False if fid in off else None)
            for fid, name, default in FEATURE_FLAGS]


def check_flag(info: RepoInfo, name: str, what: str) -> None:
    """Raise ``SessionStateError`` if feature ``name`` is disabled in ``info``."""
    for flag in _flags(info):
        if flag.name == name and not flag.enabled:
            raise SessionStateError(f"{what} is disabled by a feature flag ({name})",
                                    ErrorKind.FEATURE_FLAG_DISABLED)


async def get_status(state: RepoState) -> RepoStatus:
    """The repository's current status."""
    return RepoStatus._from_record((await state.fetch()).status)


async def set_status(state: RepoState, status: RepoStatus) -> None:
    """Record ``status`` (allowed even while the repository is read-only)."""
    if not isinstance(status, RepoStatus):
        raise InvalidInputError(f"status must be a RepoStatus, not {type(status).__name__}")
    rec = status._to_record()

    def mutate(info: RepoInfo) -> UpdateRecord:
        info.status = rec
        return UpdateRecord("RepoStatusChanged", {"status": rec}, 0)

    mutate.skip_online_check = True  # type: ignore[attr-defined]
    await state.update(mutate)


async def feature_flags(state: RepoState) -> list[FeatureFlag]:
    """Every known feature flag with its setting."""
    return _flags(await state.fetch())


async def set_feature_flag(state: RepoState, name: str, setting: bool | None) -> None:
    """Enable (``True``), disable (``False``) or reset to the default (``None``) a flag."""
    if name not in _BY_NAME:
        raise InvalidInputError(f"invalid feature flag name: {name}",
                                ErrorKind.INVALID_FEATURE_FLAG)
    if setting is not None and not isinstance(setting, bool):
        raise InvalidInputError("a feature flag setting is True, False or None")
    fid = _BY_NAME[name][0]

    def mutate(info: RepoInfo) -> UpdateRecord:
        on = [f for f in info.enabled_feature_flags if f != fid]
        off = [f for f in info.disabled_feature_flags if f != fid]
        if setting is True:
            on.append(fid)
        elif setting is False:
            off.append(fid)
        info.enabled_feature_flags, info.disabled_feature_flags = sorted(on), sorted(off)
        return UpdateRecord("FeatureFlagChanged", {"id": fid, "new_value": bool(setting),
                                                   "is_set": setting is not None}, 0)

    await state.update(mutate)
