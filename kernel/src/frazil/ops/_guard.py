"""Checks shared by the administrative operations: storage writable, repository online."""

from __future__ import annotations

from frazil._state import refuse_if_not_online
from frazil.errors import ErrorKind, ReadOnlyError
from frazil.format.model import RepoInfo

__all__ = ["check_online"]


def check_online(info: RepoInfo, what: str, can_write: bool = True) -> None:
    """Raise ``ReadOnlyError`` if the storage or the repository refuses writes.

    ``what`` names the refused operation ("garbage collect", ...); the
    repository's recorded reason, if any, is part of the message.
    """
    if not can_write:
        raise ReadOnlyError(f"cannot {what}: the storage is read-only",
                            ErrorKind.READ_ONLY_STORE)
    refuse_if_not_online(info)
