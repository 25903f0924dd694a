"""Checks shared by the administrative operations: storage writable, repository online."""

from __future__ import annotations

from frazil.errors import ErrorKind, ReadOnlyError
from frazil.format.model import RepoInfo

__all__ = ["check_online"]


def check_online(info: RepoInfo, what: str, can_write: bool = True) -> None:
    """Raise ``ReadOnlyError`` if the storage or the repository refuses writes.

    ``what`` names the refused operation ("garbage collect", "commit"...);
    the repository's recorded reason, if any, is part of the message.
    """
    if not can_write:
        raise ReadOnlyError(f"cannot {what}: the storage is read-only",
                            ErrorKind.READ_ONLY_STORE)
    st = info.status
    if st.availability != 0:
        state = "read-only" if st.availability == 1 else "offline"
        why = f" ({st.limited_availability_reason})" if st.limited_availability_reason else ""
        raise ReadOnlyError(f"cannot {what}: the repository is {state}{why}",
                            ErrorKind.READ_ONLY_REPOSITORY)
