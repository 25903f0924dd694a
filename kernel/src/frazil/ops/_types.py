"""Public value types of repository administration, shaped as icechunk's.

- :class:`Update` and the tagged union :class:`UpdateType` (one nested class
  per kind: ``UpdateType.NewCommit(branch=..., new_snap_id=...)``) — the ops log;
- :class:`RepoStatus` and :class:`RepoAvailability` — online or read-only;
- :class:`FeatureFlag` — the repository's feature flags.

An ``UpdateType`` also compares equal to its kind name (``u.kind ==
"NewCommit"``), which earlier frazil versions returned.
"""

from __future__ import annotations

import datetime as _dt
import enum
import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

from frazil._features import FEATURE_FLAGS, FeatureFlag
from frazil._repr import (
    Fields,
    Mode,
    ReprMixin,
    datetime_debug_text,
    datetime_text,
    debug_text,
    optional,
)
from frazil.format.ids import ObjectId
from frazil.format.model import RepoStatusRecord, UpdateRecord
from frazil.snapshots import micros_to_datetime

__all__ = ["FEATURE_FLAGS", "FeatureFlag", "RepoAvailability", "RepoStatus", "Update",
           "UpdateType", "update_from_record"]


class RepoAvailability(enum.Enum):
    """Whether a repository accepts writes."""

    online = 0
    read_only = 1

    def __repr__(self) -> str:  # "Name.member" in both forms, as icechunk's enums
        return f"{type(self).__name__}.{self.name}"

    __str__ = __repr__


class RepoStatus(ReprMixin):
    """The availability of a repository, when it was set, and why (icechunk's ``RepoStatus``)."""

    __slots__ = ("availability", "limited_availability_reason", "set_at")

    def __init__(self, availability: RepoAvailability, set_at: _dt.datetime | None = None,
                 limited_availability_reason: str | None = None) -> None:
        self.availability = RepoAvailability(availability)
        self.set_at = set_at if set_at is not None else _dt.datetime.now(_dt.UTC)
        self.limited_availability_reason = limited_availability_reason

    @classmethod
    def _from_record(cls, rec: RepoStatusRecord) -> RepoStatus:
        avail = RepoAvailability.online if rec.availability == 0 else RepoAvailability.read_only
        return cls(avail, micros_to_datetime(rec.set_at), rec.limited_availability_reason)

    def _to_record(self) -> RepoStatusRecord:
        set_at = self.set_at if self.set_at.tzinfo else self.set_at.replace(tzinfo=_dt.UTC)
        micros = round((set_at - micros_to_datetime(0)).total_seconds() * 1_000_000)
        return RepoStatusRecord(self.availability.value, micros,
                                self.limited_availability_reason)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RepoStatus) and (
            (self.availability, self.set_at, self.limited_availability_reason)
            == (other.availability, other.set_at, other.limited_availability_reason))

    __hash__ = None  # type: ignore[assignment]

    _repr_name = "frazil.repository.RepoStatus"

    def _repr_fields(self, mode: Mode) -> Fields:
        state = "Online" if self.availability is RepoAvailability.online else "ReadOnly"
        return [("availability", state), ("set_at", datetime_text(self.set_at)),
                ("limited_availability_reason", optional(self.limited_availability_reason))]

    def _debug_text(self) -> str:
        """This status as icechunk prints it inside ``UpdateType.RepoStatusChanged``."""
        state = "Online" if self.availability is RepoAvailability.online else "ReadOnly"
        reason = self.limited_availability_reason
        reason_text = "None" if reason is None else f"Some({debug_text(reason)})"
        return (f"RepoStatus(availability={state}, set_at={datetime_debug_text(self.set_at)}, "
                f"limited_availability_reason={reason_text})")




class UpdateType:
    """The kind of one ops-log entry; each kind is a nested class with its own fields."""

    _fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Each kind takes its fields, by position or by name, as icechunk's do."""
        bound = _signature(type(self)).bind(self, *args, **kwargs)
        for name in self._fields:
            object.__setattr__(self, name, bound.arguments[name])

    @classmethod
    def _of(cls, fields: dict[str, Any]) -> UpdateType:
        """A kind from a decoded record's fields (an absent one is None)."""
        out = object.__new__(cls)
        for name in cls._fields:
            object.__setattr__(out, name, fields.get(name))
        return out

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):  # earlier frazil returned the kind name
            return type(self).__name__ == other
        return type(other) is type(self) and self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, *map(repr, self._values())))

    def __repr__(self) -> str:
        parts = ", ".join(f'{f}="{v}"' if isinstance(v, str)
                          else f"{f}={v._debug_text()}" if isinstance(v, RepoStatus)
                          else f"{f}={v!r}"
                          for f, v in zip(self._fields, self._values(), strict=True))
        return f"frazil.ops.UpdateType.{type(self).__name__}({parts})"

    # nested kinds are attached below
    BranchCreated: ClassVar[type[UpdateType]]
    BranchDeleted: ClassVar[type[UpdateType]]
    BranchReset: ClassVar[type[UpdateType]]
    CommitAmended: ClassVar[type[UpdateType]]
    ConfigChanged: ClassVar[type[UpdateType]]
    ExpirationRan: ClassVar[type[UpdateType]]
    FeatureFlagChanged: ClassVar[type[UpdateType]]
    GCRan: ClassVar[type[UpdateType]]
    MetadataChanged: ClassVar[type[UpdateType]]
    NewCommit: ClassVar[type[UpdateType]]
    NewDetachedSnapshot: ClassVar[type[UpdateType]]
    RepoInitialized: ClassVar[type[UpdateType]]
    RepoMigrated: ClassVar[type[UpdateType]]
    RepoStatusChanged: ClassVar[type[UpdateType]]
    TagCreated: ClassVar[type[UpdateType]]
    TagDeleted: ClassVar[type[UpdateType]]


_KINDS: dict[str, tuple[str, ...]] = {
    "BranchCreated": ("name",),
    "BranchDeleted": ("name", "previous_snap_id"),
    "BranchReset": ("name", "previous_snap_id"),
    "CommitAmended": ("branch", "previous_snap_id", "new_snap_id"),
    "ConfigChanged": (),
    "ExpirationRan": (),
    "FeatureFlagChanged": ("id", "new_value"),
    "GCRan": (),
    "MetadataChanged": (),
    "NewCommit": ("branch", "new_snap_id"),
    "NewDetachedSnapshot": ("new_snap_id",),
    "RepoInitialized": (),
    "RepoMigrated": ("from_version", "to_version"),
    "RepoStatusChanged": ("status",),
    "TagCreated": ("name",),
    "TagDeleted": ("name", "previous_snap_id"),
}


def _signature(kind: type[UpdateType]) -> inspect.Signature:
    return kind.__init__.__signature__  # type: ignore[attr-defined, no-any-return]


def _kind_init(fields: tuple[str, ...]) -> Any:
    def __init__(self: UpdateType, *args: Any, **kwargs: Any) -> None:
        UpdateType.__init__(self, *args, **kwargs)

    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f, inspect.Parameter.POSITIONAL_OR_KEYWORD)
         for f in ("self", *fields)])
    return __init__


for _name, _fields in _KINDS.items():
    _cls = type(_name, (UpdateType,), {"_fields": _fields, "__slots__": _fields,
                                       "__doc__": f"Ops-log kind {_name}.",
                                       "__module__": __name__, "__init__": _kind_init(_fields)})
    _cls.__qualname__ = f"UpdateType.{_name}"
    setattr(UpdateType, _name, _cls)


@dataclass(frozen=True, slots=True, repr=False)
class Update(ReprMixin):
    """One ops-log entry: what happened (:class:`UpdateType`), when, and its backup file."""

    kind: UpdateType
    updated_at: _dt.datetime
    backup_path: str | None

    _repr_name = "frazil.ops.Update"

    def _repr_fields(self, mode: Mode) -> Fields:
        return [("kind", repr(self.kind)), ("updated_at", datetime_text(self.updated_at)),
                ("backup_path", optional(self.backup_path))]


def update_from_record(rec: UpdateRecord) -> Update:
    """The public :class:`Update` of one decoded ops-log record."""
    fields: dict[str, Any] = {}
    for k, v in rec.fields.items():
        if isinstance(v, ObjectId):
            v = str(v)
        elif isinstance(v, RepoStatusRecord):
            v = RepoStatus._from_record(v)
        fields[k] = v
    if rec.kind == "FeatureFlagChanged":
        fields["new_value"] = fields.get("new_value") if fields.pop("is_set", True) else None
    cls = getattr(UpdateType, rec.kind)
    return Update(cls._of(fields), micros_to_datetime(rec.updated_at), rec.backup_path)
