"""Walk icechunk 2.3's public surface and list where frazil differs.

The walk covers the top-level names, every public submodule, every public class's members
(methods, properties, classmethods, staticmethods, enum variants, nested classes) and every
callable's signature: parameter names, order, kinds and defaults. Where a Rust (PyO3) callable
carries no runtime signature, the ``.pyi`` stub shipped in the icechunk package is read with
``ast`` instead. Only icechunk -> frazil is checked: frazil may have more.

Each difference is a ``Difference(path, message)``; ``path`` is dotted from the package root
with ``icechunk`` replaced by nothing (``"Repository.create"``, ``"storage.hf_storage"``) so
allow-lists can name it.

What counts as the same:

- a member's kind: method, classmethod, staticmethod, data (property, attribute, dataclass
  field), nested class; a method's async-ness (a coroutine function or not);
- parameters: icechunk's list must open frazil's with the same names, kinds and defaults (the
  kind of a leading ``self`` aside, and PyO3's ``_0``/``_1`` tuple-variant names matching any
  name at their position); frazil may append optional parameters of its own;
- ``__hash__`` only matters where icechunk's objects hash and frazil's do not; pickling dunders
  not at all (Python objects pickle without them);
- a class icechunk gives no constructor (a Rust class without ``#[new]``, a Python enum) has its
  constructor left alone; a frazil enum takes one value unless its metaclass says otherwise;
- a re-export of a top-level object in a submodule is compared once, at the top level.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

SUBMODULES = ["config", "conflicts", "credentials", "dask", "distributed", "ops", "repository",
              "session", "snapshots", "storage", "store", "types", "virtual", "xarray"]

#: top-level names icechunk exposes that are not API (appear once something imports them)
NOT_API = {"vendor", "testing"}

#: protocol dunders that are part of a class's behaviour, compared like public members
#: (pickling is not among them: any frazil object pickles through Python's default protocol)
PROTOCOL_DUNDERS = {"__enter__", "__exit__", "__aenter__", "__aexit__", "__iter__", "__aiter__",
                    "__next__", "__anext__", "__len__", "__contains__", "__getitem__",
                    "__call__", "__hash__"}


@dataclass(frozen=True, order=True)
class Difference:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# ------------------------------------------------------------------ the .pyi fallback
Param = tuple[str, str, str]  # name, kind name, normalised default ("" when required)


@cache
def _stub_tree() -> dict[str, ast.AST]:
    import icechunk

    root = Path(icechunk.__file__).parent
    out: dict[str, ast.AST] = {}
    for pyi in root.glob("*.pyi"):
        tree = ast.parse(pyi.read_text())
        _index(tree.body, "", out)
    return out


def _index(body: list[ast.stmt], prefix: str, out: dict[str, ast.AST]) -> None:
    for node in body:
        if isinstance(node, ast.ClassDef):
            out[prefix + node.name] = node
            _index(node.body, prefix + node.name + ".", out)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # overloads: keep the first (the stubs list the widest last; names are what count)
            out.setdefault(prefix + node.name, node)


def _stub_params(qualname: str) -> list[Param] | None:
    node = _stub_tree().get(qualname)
    if isinstance(node, ast.ClassDef):
        node = _stub_tree().get(qualname + ".__init__") or _stub_tree().get(qualname + ".__new__")
        if node is None:
            return None
        params = _ast_params(node.args)
        return params[1:]  # drop self / cls
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    params = _ast_params(node.args)
    decorators = {ast.unparse(d) for d in node.decorator_list}
    if "." in qualname and ("classmethod" in decorators):
        params = params[1:]
    return params


def _ast_params(args: ast.arguments) -> list[Param]:
    out: list[Param] = []
    positional = [(a, "POSITIONAL_ONLY") for a in args.posonlyargs]
    positional += [(a, "POSITIONAL_OR_KEYWORD") for a in args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for (arg, kind), default in zip(positional, defaults, strict=True):
        out.append((arg.arg, kind, "" if default is None else ast.unparse(default)))
    if args.vararg:
        out.append((args.vararg.arg, "VAR_POSITIONAL", ""))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append((arg.arg, "KEYWORD_ONLY", "" if default is None else ast.unparse(default)))
    if args.kwarg:
        out.append((args.kwarg.arg, "VAR_KEYWORD", ""))
    return out


# ------------------------------------------------------------------ runtime signatures
def _norm_default(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return ""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return repr(value)
    if isinstance(value, tuple | list):
        return type(value).__name__ + "(" + ", ".join(map(_norm_default, value)) + ")"
    if isinstance(value, dict):
        return "dict(" + ", ".join(f"{k!r}: {_norm_default(v)}" for k, v in value.items()) + ")"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    name = getattr(value, "name", None)
    if isinstance(name, str) and type(value).__name__ != "function":
        return f"{type(value).__name__}.{name}"
    return f"<{type(value).__name__}>"


def _runtime_params(obj: Any) -> list[Param] | None:
    try:
        sig = inspect.signature(obj)
    except (ValueError, TypeError):
        return None
    return [(p.name, p.kind.name, _norm_default(p.default)) for p in sig.parameters.values()]


def _stub_default(text: str) -> str:
    """A stub default as _norm_default would print the value."""
    try:
        return _norm_default(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        return text  # names such as CompressionAlgorithm.Zstd; "..." means unknown


def icechunk_params(obj: Any, qualname: str, *, bound: bool) -> list[Param] | None:
    """icechunk's parameters: the runtime signature, else (or for ``...`` defaults) the stub."""
    params = _runtime_params(obj)
    stub = _stub_params(qualname)
    if stub is not None:
        stub = [(n, k, _stub_default(d)) for n, k, d in stub]
        if bound and stub and stub[0][0] in ("self", "cls"):
            stub = stub[1:]
    if params is None:
        return stub
    stub_defaults = {n: d for n, _, d in stub or []}
    return [(n, k, stub_defaults.get(n, d) if d == "<ellipsis>" else d) for n, k, d in params]


def _same_name(ice: str, flo: str) -> bool:
    # PyO3 names a tuple variant's fields _0, _1...: only their position can be used
    return ice == flo or (ice[:1] == "_" and ice[1:].isdigit())


def compare_params(path: str, ice: list[Param] | None, flo: list[Param] | None
                   ) -> list[Difference]:
    """icechunk's parameters must open frazil's list, same names, kinds and defaults, in order.

    frazil may append parameters of its own when they are optional (a call written for
    icechunk binds the same way); a required extra one is a difference.
    """
    if ice is None:
        return []
    if flo is None:
        return [Difference(path, "frazil's signature cannot be read")]
    head, extra = flo[:len(ice)], flo[len(ice):]
    if len(head) < len(ice) or not all(_same_name(i[0], f[0]) for i, f in zip(ice, head)):
        return [Difference(path, f"parameters {[p[0] for p in ice]}"
                                 f" != frazil {[p[0] for p in flo]}")]
    out = []
    for position, ((name, kind, default), (_, fkind, fdefault)) in enumerate(zip(ice, head)):
        if kind != fkind and not (position == 0 and name == "self"):
            out.append(Difference(path, f"parameter {name}: kind {kind} != frazil {fkind}"))
        if default != "..." and default != fdefault:
            out.append(Difference(path, f"parameter {name}: default {default or '<required>'}"
                                        f" != frazil {fdefault or '<required>'}"))
    required = [n for n, k, d in extra if not d and k not in ("VAR_POSITIONAL", "VAR_KEYWORD")]
    if required:
        out.append(Difference(path, f"frazil requires extra parameters {required}"))
    return out


def _is_async(obj: Any, qualname: str) -> bool | None:
    """Whether icechunk's callable is a coroutine function (None: cannot tell)."""
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return inspect.iscoroutinefunction(obj)
    node = _stub_tree().get(qualname)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return isinstance(node, ast.AsyncFunctionDef)
    return None


# ------------------------------------------------------------------ members
def member_kind(cls: type, name: str) -> str:
    for klass in inspect.getmro(cls):
        if name in vars(klass):
            raw = vars(klass)[name]
            break
    else:  # from a metaclass or __getattr__: a method bound to the class is a classmethod
        value = getattr(cls, name, None)
        return "classmethod" if inspect.ismethod(value) and value.__self__ is cls else "data"
    type_name = type(raw).__name__
    if isinstance(raw, staticmethod):
        return "staticmethod"
    if isinstance(raw, classmethod) or type_name == "classmethod_descriptor":
        return "classmethod"
    if isinstance(raw, type):
        return "class"
    if isinstance(raw, cls) or isinstance(raw, enum.Enum):
        return "variant"
    if inspect.isfunction(raw) or type_name in ("method_descriptor", "wrapper_descriptor",
                                                "builtin_function_or_method"):
        return "method"
    return "data"  # property, getset/member descriptor, plain class attribute


def public_members(cls: type) -> list[str]:
    names = []
    for name in dir(cls):
        if name.startswith("_") and name not in PROTOCOL_DUNDERS:
            continue
        if name in PROTOCOL_DUNDERS and not any(name in vars(k) for k in cls.__mro__[:-1]):
            continue  # inherited from object only
        names.append(name)
    return names


def _has_constructor(cls: type) -> bool:
    """False for a Rust class Python code cannot instantiate (no ``#[new]``) and for a Python
    enum (its call signature is the enum machinery's)."""
    if issubclass(cls, enum.Enum):
        return False
    return "__new__" in vars(cls) or any(inspect.isfunction(vars(k).get("__init__"))
                                         for k in cls.__mro__)


def _enum_params(cls: type) -> list[Param]:
    """What calling a Python enum class takes: one value, unless its metaclass says more."""
    call = type(cls).__call__
    if call is enum.EnumType.__call__:
        return [("value", "POSITIONAL_OR_KEYWORD", "")]
    return (_runtime_params(call) or [])[1:]


def compare_class(path: str, ice: type, flo: Any, qualname: str, seen: set[int],
                  outer: type | None = None) -> list[Difference]:
    if id(ice) in seen:
        return []
    seen.add(id(ice))
    if not isinstance(flo, type):
        return [Difference(path, f"icechunk has a class, frazil a {type(flo).__name__}")]
    out: list[Difference] = []
    if issubclass(ice, BaseException):
        ice_bases = [b.__name__ for b in ice.__mro__ if b is not object]
        flo_bases = {b.__name__ for b in flo.__mro__}
        lost = [b for b in ice_bases if b not in flo_bases]
        if lost:
            out.append(Difference(path, f"frazil's class lacks bases {lost}"))
    if not issubclass(ice, BaseException) and _has_constructor(ice):
        # a Python enum's call signature is EnumType's (*values); what it takes is one value
        flo_params = _enum_params(flo) if issubclass(flo, enum.Enum) else _runtime_params(flo)
        out += compare_params(path + "()", icechunk_params(ice, qualname, bound=True),
                              flo_params)
    inherited = set(dir(outer)) if outer is not None else set()
    # a dataclass field without a default lives on the instances, not on the class
    fields = {f.name for f in dataclasses.fields(flo)} if dataclasses.is_dataclass(flo) else set()
    for name in public_members(ice):
        member_path = f"{path}.{name}"
        if name in inherited:
            continue  # a variant class repeats its enum's members: compared there
        if name == "__hash__":
            if ice.__hash__ is not None and flo.__hash__ is None:
                out.append(Difference(member_path, "icechunk's objects hash, frazil's do not"))
            continue
        if name in fields and not hasattr(flo, name):
            continue  # data, as icechunk's property is
        if not hasattr(flo, name):
            out.append(Difference(member_path, "missing"))
            continue
        ikind, fkind = member_kind(ice, name), member_kind(flo, name)
        if ikind != fkind and {ikind, fkind} != {"variant", "data"}:
            out.append(Difference(member_path, f"kind {ikind} != frazil {fkind}"))
            continue
        if ikind == "class":
            out += compare_class(member_path, getattr(ice, name), getattr(flo, name),
                                 f"{qualname}.{name}", seen, ice)
        elif ikind in ("method", "classmethod", "staticmethod") and name not in PROTOCOL_DUNDERS:
            ice_async = _is_async(getattr(ice, name), f"{qualname}.{name}")
            flo_async = inspect.iscoroutinefunction(getattr(flo, name))
            if ice_async is not None and ice_async != flo_async:
                out.append(Difference(member_path, f"{'async' if ice_async else 'sync'} in "
                                                   f"icechunk, not in frazil"))
            bound = ikind == "classmethod"
            out += compare_params(member_path,
                                  icechunk_params(getattr(ice, name), f"{qualname}.{name}",
                                                  bound=bound),
                                  _runtime_params(getattr(flo, name)))
    return out


# ------------------------------------------------------------------ modules
def module_names(mod: ModuleType) -> list[str]:
    if hasattr(mod, "__all__"):
        return sorted(mod.__all__)
    return sorted(n for n in dir(mod) if not n.startswith("_")
                  and str(getattr(getattr(mod, n), "__module__", "")).startswith("icechunk"))


def compare_object(path: str, ice: Any, flo: Any, seen: set[int]) -> list[Difference]:
    if inspect.isclass(ice):
        return compare_class(path, ice, flo, ice.__name__, seen)
    if callable(ice):
        if not callable(flo):
            return [Difference(path, "icechunk has a callable, frazil does not")]
        qualname = getattr(ice, "__name__", path.rsplit(".", 1)[-1])
        return compare_params(path, icechunk_params(ice, qualname, bound=False),
                              _runtime_params(flo))
    return []


def compare_module(prefix: str, ice: ModuleType, flo: ModuleType | None,
                   seen: set[int]) -> list[Difference]:
    """Compare one module's names; a re-export of a top-level object is compared only there."""
    import frazil
    import icechunk

    if flo is None:
        return [Difference(prefix.rstrip(".") or "<root>", "module missing")]
    out = []
    for name in module_names(ice):
        if name in NOT_API or name in SUBMODULES:
            continue
        path = prefix + name
        if not hasattr(flo, name):
            out.append(Difference(path, "missing"))
            continue
        exported = getattr(flo, "__all__", ())
        if hasattr(ice, "__all__") and name in vars(flo) and name not in exported:
            out.append(Difference(path, "not in frazil's __all__ (star imports miss it)"))
        if prefix and getattr(icechunk, name, None) is getattr(ice, name) \
                and getattr(frazil, name, None) is getattr(flo, name):
            continue
        out += compare_object(path, getattr(ice, name), getattr(flo, name), seen)
    return out


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def surface_differences() -> list[Difference]:
    """Every way frazil's public surface differs from icechunk 2.3's."""
    import frazil
    import icechunk

    out = compare_module("", icechunk, frazil, set())
    for sub in SUBMODULES:
        ice = importlib.import_module(f"icechunk.{sub}")
        # classes are compared once, where first met; submodules re-export the same objects
        out += compare_module(f"{sub}.", ice, _import(f"frazil.{sub}"), set())
    return sorted(set(out))


def _prune_pending() -> None:
    """Drop pending entries that no longer match; print differences in neither list."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from _surface_pending import PENDING
    from test_api_surface_full import allowed

    current = {str(d) for d in surface_differences() if not allowed(d)}
    for line in sorted(current - set(PENDING)):
        print("unexplained:", line)
    path = Path(__file__).with_name("_surface_pending.py")
    lines, out, skip = path.read_text().split("\n"), [], False
    for line in lines:
        if skip:
            skip = False
            continue
        text = line.strip()
        if text[:1] in "'\"" and text.endswith(":") and ast.literal_eval(text[:-1]) not in current:
            skip = True  # the entry's key line; its reason is on the next line
            continue
        out.append(line)
    path.write_text("\n".join(out))


if __name__ == "__main__":
    import sys

    if "--prune" in sys.argv:
        _prune_pending()
    else:
        for diff in surface_differences():
            print(diff)
