"""Icechunk spec versions (icechunk's ``SpecVersion``)."""

from __future__ import annotations

import enum

from frazil.errors import ErrorKind, InvalidInputError

__all__ = ["SpecVersion", "parse_spec_version"]


class SpecVersion(enum.IntEnum):
    """A version of the Icechunk on-disk specification.

    ``v1`` is written by icechunk 1.x (refs as separate objects); ``v2`` by
    icechunk 2.x (one repo info file). frazil reads and writes both.
    """

    v1 = 1
    v2 = 2

    def __repr__(self) -> str:  # "Name.member" in both forms, as icechunk's enums
        return f"{type(self).__name__}.{self.name}"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:  # f-strings keep the number ("2.0" texts)
        return format(int(self), spec)

    @staticmethod
    def current() -> SpecVersion:
        """The version new repositories get by default."""
        return SpecVersion.v2


def parse_spec_version(value: object, what: str = "spec_version") -> SpecVersion:
    """``value`` (``None``, an int or a ``SpecVersion``) as a supported ``SpecVersion``."""
    if value is None:
        return SpecVersion.current()
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{what} must be 1, 2, a SpecVersion or None, not {value!r}",
                                ErrorKind.UNSUPPORTED_SPEC_VERSION)
    try:
        return SpecVersion(int(value))
    except ValueError:
        raise InvalidInputError(f"unsupported spec version {value}: frazil reads and writes "
                                "spec versions 1 and 2", ErrorKind.UNSUPPORTED_SPEC_VERSION) \
            from None
