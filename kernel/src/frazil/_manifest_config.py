"""icechunk's manifest configuration: preload and split conditions, ``ManifestConfig``.

Conditions are small expression trees kept in their persisted form (the
tagged dicts icechunk writes: ``{"path_matches": {"regex": ...}}``,
``{"or": [...]}``, ``"any_array"``...), so the split policy in
:mod:`frazil.split` reads the same thing whether icechunk or frazil wrote it.
"""

from __future__ import annotations

import inspect
import json
import keyword
from typing import Any, ClassVar

from frazil._records import Record, make_properties
from frazil._repr import Fields, Mode, ReprMixin
from frazil._settings import ManifestVirtualChunkLocationCompressionConfig
from frazil.errors import InvalidInputError

__all__ = [
    "ManifestConfig",
    "ManifestPreloadCondition",
    "ManifestPreloadConfig",
    "ManifestSplitCondition",
    "ManifestSplitDimCondition",
    "ManifestSplittingConfig",
]

_PREFIX = "frazil.config."
_UNBOUNDED_SPLIT = 4_294_967_295  # "one manifest": icechunk's default split size


class _Expr:
    """A condition: its persisted form plus constructors shared by both condition kinds."""

    __slots__ = ("_node",)

    @classmethod
    def _of(cls, node: Any) -> Any:
        """A condition of this family holding the persisted form ``node``, as its variant class."""
        key = node if isinstance(node, str) else next(iter(node), None)
        out = object.__new__(cls._family._variant_of.get(key, cls._family))
        out._node = node
        return out

    _variant_of: ClassVar[dict[str, type]] = {}

    @classmethod
    def _own(cls, c: Any) -> Any:
        if not isinstance(c, cls._family):
            raise InvalidInputError(f"expected a {cls._family.__name__}, "
                                    f"got {type(c).__name__}")
        return c

    @staticmethod
    def _regex(regex: Any) -> str:
        if not isinstance(regex, str):
            raise InvalidInputError(f"a regex must be a string, got {regex!r}")
        return regex

    def __or__(self, other: Any) -> Any:
        return self._family.or_conditions([self, other])

    def __and__(self, other: Any) -> Any:
        return self._family.and_conditions([self, other])

    _family: ClassVar[type[_Expr]]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Expr) and other._family is self._family and \
            other._node == self._node

    def __hash__(self) -> int:
        return hash((self._family.__name__, json.dumps(self._node, sort_keys=True)))

    def __reduce__(self) -> tuple[Any, ...]:
        return self._family._of, (self._node,)

    def _to_dict(self) -> Any:
        return self._node

    @classmethod
    def _from_dict(cls, node: Any) -> Any:
        return cls._of(node)

    def __repr__(self) -> str:
        return self._text(self._node)

    __str__ = __repr__

    def _text(self, node: Any) -> str:
        name = f"{_PREFIX}{self._family.__name__}"
        if isinstance(node, str):
            return f"{name}.{node}()"
        (key, arg), = node.items()
        if key in ("or", "and"):
            inner = ", ".join(self._text(n) for n in arg)
            return f"{name}.{key}_conditions([{inner}])"
        if key in ("path_matches", "name_matches"):
            return f'{name}.{key}("{arg["regex"]}")'
        return self._text_other(name, key, arg)

    def _text_other(self, name: str, key: str, arg: Any) -> str:
        return f"{name}.{key}({arg!r})"


class ManifestSplitCondition(_Expr):
    """Which arrays a manifest split rule applies to."""

    __slots__ = ()

    @staticmethod
    def any_array() -> ManifestSplitCondition:
        return ManifestSplitCondition._of("any_array")

    AnyArray: Any  # the variant class, attached below (icechunk's spelling)


class ManifestPreloadCondition(_Expr):
    """Which manifests a session preloads when it opens."""

    __slots__ = ()

    @staticmethod
    def num_refs(from_refs: int | None, to_refs: int | None) -> ManifestPreloadCondition:
        low = "Unbounded" if from_refs is None else {"Included": int(from_refs)}
        high = "Unbounded" if to_refs is None else {"Excluded": int(to_refs)}
        return ManifestPreloadCondition._of({"num_refs": {"from": low, "to": high}})

    @staticmethod
    def true() -> ManifestPreloadCondition:
        return ManifestPreloadCondition._of("true")

    @staticmethod
    def false() -> ManifestPreloadCondition:
        return ManifestPreloadCondition._of("false")

    def _text_other(self, name: str, key: str, arg: Any) -> str:
        low = None if arg["from"] == "Unbounded" else arg["from"]["Included"]
        high = None if arg["to"] == "Unbounded" else arg["to"]["Excluded"]
        return f"{name}.num_refs({low}, {high})"


ManifestSplitCondition._family = ManifestSplitCondition
ManifestPreloadCondition._family = ManifestPreloadCondition


def _static_constructors(family: type[_Expr]) -> None:
    """``or_conditions``, ``and_conditions``, ``path_matches``, ``name_matches`` as icechunk's
    static methods of each condition class."""
    def or_conditions(conditions: list[Any]) -> Any:
        return family._of({"or": [family._own(c)._node for c in conditions]})

    def and_conditions(conditions: list[Any]) -> Any:
        return family._of({"and": [family._own(c)._node for c in conditions]})

    def path_matches(regex: str) -> Any:
        return family._of({"path_matches": {"regex": _Expr._regex(regex)}})

    def name_matches(regex: str) -> Any:
        return family._of({"name_matches": {"regex": _Expr._regex(regex)}})

    for fn in (or_conditions, and_conditions, path_matches, name_matches):
        fn.__qualname__ = f"{family.__name__}.{fn.__name__}"
        setattr(family, fn.__name__, staticmethod(fn))


_static_constructors(ManifestSplitCondition)
_static_constructors(ManifestPreloadCondition)


def _bound(node: Any, side: str) -> int | None:
    value = node["num_refs"][side]
    return None if value == "Unbounded" else next(iter(value.values()))


#: each variant: (persisted key, constructor parameters, {field: getter of the persisted form})
_VARIANTS: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {
    "And": ("and", ("_0",), {"_0": lambda f, n: [f._of(c) for c in n["and"]]}),
    "Or": ("or", ("_0",), {"_0": lambda f, n: [f._of(c) for c in n["or"]]}),
    "PathMatches": ("path_matches", ("regex",),
                    {"regex": lambda f, n: n["path_matches"]["regex"]}),
    "NameMatches": ("name_matches", ("regex",),
                    {"regex": lambda f, n: n["name_matches"]["regex"]}),
    "AnyArray": ("any_array", (), {}),
    "NumRefs": ("num_refs", ("from", "to"),
                {"from": lambda f, n: _bound(n, "from"), "to": lambda f, n: _bound(n, "to")}),
    "True": ("true", (), {}),
    "False": ("false", (), {}),
}


def _variant_field(getter: Any) -> property:
    return property(lambda self: getter(self._family, self._node))


def _variants(family: type[_Expr], makers: dict[str, Any]) -> None:
    """icechunk's variant classes (``ManifestSplitCondition.PathMatches(regex)``...): what the
    constructors return, each with its fields (``regex``, ``from``/``to``, ``_0``)."""
    for vname, make in makers.items():
        key, params, fields = _VARIANTS[vname]

        def __init__(self: _Expr, *args: Any, _make: Any = make, **kwargs: Any) -> None:
            self._node = _make(*_bind(type(self), args, kwargs))._node

        if not any(keyword.iskeyword(p) for p in params):  # NumRefs(from, to) cannot say so
            __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
                [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
                + [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params])
        body: dict[str, Any] = {"__slots__": (), "__init__": __init__, "_params": params,
                                "__qualname__": f"{family.__name__}.{vname}"}
        body.update({f: _variant_field(g) for f, g in fields.items()})
        variant = type(vname, (family,), body)
        family._variant_of = {**family._variant_of, key: variant}
        setattr(family, vname, variant)


def _bind(variant: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The constructor's arguments in order, given by position or by name."""
    params = variant._params
    if len(args) > len(params):
        raise InvalidInputError(f"{variant.__qualname__} takes {len(params)} arguments, "
                                f"got {len(args)}")
    values = dict(zip(params, args))
    for name, value in kwargs.items():
        if name not in params or name in values:
            raise InvalidInputError(f"{variant.__qualname__}: unexpected argument {name!r}")
        values[name] = value
    missing = [p for p in params if p not in values]
    if missing:
        raise InvalidInputError(f"{variant.__qualname__}: missing argument(s) {missing}")
    return [values[p] for p in params]


_variants(ManifestSplitCondition, {
    "And": ManifestSplitCondition.and_conditions, "Or": ManifestSplitCondition.or_conditions,
    "PathMatches": ManifestSplitCondition.path_matches,
    "NameMatches": ManifestSplitCondition.name_matches,
    "AnyArray": ManifestSplitCondition.any_array})
_variants(ManifestPreloadCondition, {
    "And": ManifestPreloadCondition.and_conditions, "Or": ManifestPreloadCondition.or_conditions,
    "PathMatches": ManifestPreloadCondition.path_matches,
    "NameMatches": ManifestPreloadCondition.name_matches,
    "NumRefs": ManifestPreloadCondition.num_refs, "True": ManifestPreloadCondition.true,
    "False": ManifestPreloadCondition.false})


class _DimCondition:
    __slots__ = ("_node",)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DimCondition) and other._node == self._node

    def __hash__(self) -> int:
        return hash(json.dumps(self._node))

    def _to_dict(self) -> Any:
        return self._node

    def __reduce__(self) -> tuple[Any, ...]:
        return _dim_condition, (self._node,)

    def __repr__(self) -> str:
        name = f"{_PREFIX}ManifestSplitDimCondition"
        if self._node == "Any":
            return f"{name}.any()"
        if "Axis" in self._node:
            return f"{name}.axis({self._node['Axis']})"
        return f'{name}.dimension_name("{self._node["DimensionName"]}")'

    __str__ = __repr__


class ManifestSplitDimCondition:
    """Which axis of an array a split size applies to: ``Axis``, ``DimensionName``, ``Any``."""

    class Axis(_DimCondition):
        __slots__ = ()

        def __init__(self, axis: int) -> None:
            if isinstance(axis, bool) or not isinstance(axis, int) or axis < 0:
                raise InvalidInputError(f"axis must be a non-negative int, got {axis!r}")
            self._node = {"Axis": axis}

    class DimensionName(_DimCondition):
        __slots__ = ()

        def __init__(self, regex: str) -> None:
            self._node = {"DimensionName": _Expr._regex(regex)}

    class Any(_DimCondition):
        __slots__ = ()

        def __init__(self) -> None:
            self._node = "Any"


def _dim_condition(node: Any) -> _DimCondition:
    if node == "Any":
        return ManifestSplitDimCondition.Any()
    if isinstance(node, dict) and "Axis" in node:
        return ManifestSplitDimCondition.Axis(node["Axis"])
    if isinstance(node, dict) and "DimensionName" in node:
        return ManifestSplitDimCondition.DimensionName(node["DimensionName"])
    raise InvalidInputError(f"not a split dimension condition: {node!r}")


SplitSizes = list[tuple[ManifestSplitCondition, list[tuple[_DimCondition, int]]]]


class ManifestSplittingConfig(ReprMixin):
    """How many chunks along which axes go in one manifest, by array condition."""

    __slots__ = ("_sizes",)
    _repr_name = f"{_PREFIX}ManifestSplittingConfig"
    _repr_executable = True

    def __init__(self, split_sizes: SplitSizes | None = None) -> None:
        self._sizes: SplitSizes | None = None
        if split_sizes is not None:
            self.split_sizes = split_sizes

    @staticmethod
    def from_dict(split_sizes: dict[Any, dict[Any, int]]) -> ManifestSplittingConfig:
        return ManifestSplittingConfig([(c, list(dims.items()))
                                        for c, dims in split_sizes.items()])

    def to_dict(config) -> dict[Any, dict[Any, int]]:  # noqa: N805 - icechunk's name
        return {c: dict(dims) for c, dims in (config._sizes or [])}

    @property
    def split_sizes(self) -> SplitSizes | None:
        """The split rules; ``None`` when unset (one manifest per array), as icechunk."""
        if self._sizes is None:
            return None
        return [(c, list(dims)) for c, dims in self._sizes]

    def _effective_sizes(self) -> SplitSizes:
        """The rules in force: unset means one unbounded split of every array."""
        return self.split_sizes or [(ManifestSplitCondition.path_matches(".*"),
                                     [(ManifestSplitDimCondition.Any(), _UNBOUNDED_SPLIT)])]

    @split_sizes.setter
    def split_sizes(self, value: SplitSizes | None) -> None:
        if value is None:
            self._sizes = None
            return
        rules = []
        for cond, dims in value:
            ManifestSplitCondition._own(cond)
            checked = []
            for dim, n in dims:
                if not isinstance(dim, _DimCondition):
                    raise InvalidInputError(f"not a ManifestSplitDimCondition: {dim!r}")
                if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
                    raise InvalidInputError(f"a split size must be a positive int, got {n!r}")
                checked.append((dim, n))
            rules.append((cond, checked))
        self._sizes = rules

    def _to_dict(self) -> dict[str, Any]:
        if self._sizes is None:
            return {"split_sizes": None}
        return {"split_sizes": [[c._node, [{"condition": d._node, "num_chunks": n}
                                           for d, n in dims]] for c, dims in self._sizes]}

    @classmethod
    def _from_dict(cls, data: Any) -> ManifestSplittingConfig:
        out = cls()
        rules = (data or {}).get("split_sizes")
        if rules is not None:
            out._sizes = [(ManifestSplitCondition._of(c), [(_dim_condition(d["condition"]),
                                                        int(d["num_chunks"])) for d in dims])
                          for c, dims in rules]
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ManifestSplittingConfig) and \
            other._to_dict() == self._to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return ManifestSplittingConfig._from_dict, (self._to_dict(),)

    def _sizes_text(self) -> str:
        return "[" + ", ".join(f"({c!r}, [" + ", ".join(f"({d!r}, {n})" for d, n in dims) + "])"
                               for c, dims in self._effective_sizes()) + "]"

    def _repr_fields(self, mode: Mode) -> Fields:
        return [("split_sizes", self._sizes_text())]

    def _repr_nested(self) -> str:
        return repr(self)


@make_properties
class ManifestPreloadConfig(Record):
    """Which manifests a session loads eagerly, and how many refs at most."""

    __slots__ = ()
    _fields: ClassVar[dict[str, Any]] = {"max_total_refs": "int",
                                         "preload_if": ManifestPreloadCondition,
                                         "max_arrays_to_scan": "int"}
    _defaults: ClassVar[dict[str, Any]] = {"max_total_refs": 10_000, "max_arrays_to_scan": 50}

    def __init__(self, max_total_refs: int | None = None,
                 preload_if: ManifestPreloadCondition | None = None,
                 max_arrays_to_scan: int | None = None) -> None:
        self._init(locals())


@make_properties
class ManifestConfig(Record):
    """Manifest preloading, splitting and virtual-location compression."""

    __slots__ = ()
    _fields: ClassVar[dict[str, Any]] = {
        "preload": ManifestPreloadConfig, "splitting": ManifestSplittingConfig,
        "virtual_chunk_location_compression": ManifestVirtualChunkLocationCompressionConfig,
        "max_concurrent_manifest_fetches_during_commit": "int"}
    _defaults: ClassVar[dict[str, Any]] = {"max_concurrent_manifest_fetches_during_commit": 1}
    _default_instances = ("preload", "splitting", "virtual_chunk_location_compression")

    def __init__(self, preload: ManifestPreloadConfig | None = None,
                 splitting: ManifestSplittingConfig | None = None,
                 virtual_chunk_location_compression:
                 ManifestVirtualChunkLocationCompressionConfig | None = None,
                 max_concurrent_manifest_fetches_during_commit: int | None = None) -> None:
        self._init(locals())
