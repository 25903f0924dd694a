"""Configuration value objects shared by ``frazil.config`` and ``frazil.storage`` settings.

Each is a small record whose fields mirror icechunk's, serialized to exactly
the dict the repository's persisted config holds (what icechunk writes), with
icechunk's ``repr`` (constructor form), ``str`` (a block that shows the
default a ``None`` field stands for) and ``_repr_html_`` (see :mod:`frazil._repr`).
"""

from __future__ import annotations

import copy
from enum import Enum
from typing import Any, ClassVar

from frazil._repr import Fields, Mode, ReprMixin
from frazil.errors import InvalidRangeError, InvalidTypeError

__all__ = ["Record", "indent"]


def indent(text: str, by: str = "    ") -> str:
    return "\n".join(by + line if line else line for line in text.splitlines())


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if hasattr(value, "_repr_nested"):
        return str(value._repr_nested())
    if isinstance(value, Enum):  # icechunk writes the bare member name (``algorithm=Zstd``)
        return value.name
    return repr(value)


def _persisted(kind: Any) -> bool:
    """Whether values of ``kind`` convert to and from the persisted dict form."""
    return isinstance(kind, type) and hasattr(kind, "_from_dict")


def _clone(value: Any) -> Any:
    if hasattr(value, "_to_dict") and _persisted(type(value)):
        return type(value)._from_dict(copy.deepcopy(value._to_dict()))
    return value


def check_unsigned(what: str, value: Any, maximum: int | None = None) -> int:
    """``value`` if it is a non-negative int (at most ``maximum``); else the error
    icechunk's classes raise (a ``TypeError`` for another type, an ``OverflowError`` for a
    number out of range), as a frazil error with the setting's name."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{what} must be a non-negative int, got {value!r}")
    if value < 0 or (maximum is not None and value > maximum):
        bound = "a non-negative int" if maximum is None else f"an int from 0 to {maximum}"
        raise InvalidRangeError(f"{what} must be {bound}, got {value!r}")
    return value


class Record(ReprMixin):
    """Base of the config records: fields, validation, dict form, repr and str."""

    __slots__ = ("_values",)
    #: field name -> kind: "int", "u8" (0-255), "bool", "str", or a Record subclass / enum
    _fields: ClassVar[dict[str, Any]] = {}
    #: defaults shown by ``str`` for a field left ``None``
    _defaults: ClassVar[dict[str, Any]] = {}
    #: fields whose ``None`` shows as a default instance in ``str``
    _default_instances: ClassVar[tuple[str, ...]] = ()
    _module: ClassVar[str] = "frazil.config"
    _repr_executable = True

    def _init(self, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_values", dict.fromkeys(self._fields))
        for name in self._fields:
            if values.get(name) is not None:
                setattr(self, name, values[name])

    # -- validation ----------------------------------------------------------
    @classmethod
    def _check(cls, name: str, value: Any) -> Any:
        if value is None:
            return None
        kind = cls._fields[name]
        if kind in ("int", "u8"):
            return check_unsigned(f"{cls.__name__}.{name}", value,
                                  255 if kind == "u8" else None)
        ok = {"bool": lambda v: isinstance(v, bool),
              "str": lambda v: isinstance(v, str)}.get(kind) if isinstance(kind, str) else None
        if ok is not None:
            if not ok(value):
                raise InvalidTypeError(f"{cls.__name__}.{name} must be a {kind}, got {value!r}")
            return value
        if isinstance(value, dict) and _persisted(kind):
            return kind._from_dict(value)  # frazil extra: the persisted dict form
        if not isinstance(value, kind):
            raise InvalidTypeError(f"{cls.__name__}.{name} must be a {kind.__name__}, "
                                   f"got {type(value).__name__}")
        return _clone(value)

    # -- dict form -------------------------------------------------------------
    def _to_dict(self) -> dict[str, Any]:
        return {name: self._encode(name, v) for name, v in self._values.items()}

    def _encode(self, name: str, value: Any) -> Any:
        if hasattr(value, "_to_dict"):
            return value._to_dict()
        return value

    @classmethod
    def _from_dict(cls, data: Any) -> Any:
        obj = cls.__new__(cls)
        object.__setattr__(obj, "_values", dict.fromkeys(cls._fields))
        for name, kind in cls._fields.items():
            raw = data.get(name) if isinstance(data, dict) else None
            if raw is None:
                continue
            if _persisted(kind):
                raw = kind._from_dict(raw)
            obj._values[name] = obj._decode(name, raw)
        return obj

    def _decode(self, name: str, raw: Any) -> Any:
        return raw

    # -- value semantics --------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._to_dict() == self._to_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self)))

    def __copy__(self) -> Any:
        return _clone(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self)._from_dict, (self._to_dict(),)

    # -- text ----------------------------------------------------------------------
    def _repr_header(self) -> str:
        return f"{self._module}.{type(self).__name__}"

    def _repr_nested(self) -> str:
        return self._render(Mode.REPR)

    def _repr_fields(self, mode: Mode) -> Fields:
        return [(name, self._field_text(name, v, mode)) for name, v in self._values.items()]

    def _field_text(self, name: str, v: Any, mode: Mode) -> str:
        if mode is Mode.REPR:  # constructor syntax: ``None`` stays ``None``
            return v._render(mode) if isinstance(v, ReprMixin) else _literal(v)
        if v is None and name in self._default_instances:
            v = self._fields[name]()
        if isinstance(v, ReprMixin):
            return v._render(mode)
        if v is None and name in self._defaults:
            return f"{self._show(self._defaults[name])} (default)"
        return self._show(v)

    @staticmethod
    def _show(v: Any) -> str:
        if isinstance(v, str):
            return f'"{v}"'
        if hasattr(v, "name") and hasattr(v, "value"):  # an enum member
            return str(v.name)
        return str(v)


def make_properties(cls: type[Record]) -> type[Record]:
    """Attach a validating property per field (icechunk exposes fields as attributes)."""
    for name in cls._fields:
        def fget(self: Record, _n: str = name) -> Any:
            return _clone(self._values[_n])

        def fset(self: Record, value: Any, _n: str = name) -> None:
            self._values[_n] = type(self)._check(_n, value)

        setattr(cls, name, property(fget, fset, doc=f"``{name}`` (``None``: the default)."))
    return cls
