"""The three text forms of frazil's public objects: ``str``, ``repr`` and ``_repr_html_``.

A class lists its fields once, as ``(name, text)`` pairs rendered for a
:class:`Mode`, and :class:`ReprMixin` lays them out the way icechunk 2.3 does:

- ``str``: a ``<frazil.module.Class>`` header, then one ``name: value`` line
  per field; a multi-line value (a nested object) goes on its own lines,
  indented by four spaces.
- ``repr``: constructor syntax (``frazil.module.Class(\\n    name=value,\\n)``)
  for classes that can be rebuilt from their fields (``_repr_executable``);
  the ``str`` form for the others.
- ``_repr_html_``: a style block and a ``div.icechunk-repr`` with a header
  and one ``div.icechunk-field`` per field; a nested object becomes a
  collapsible ``<details>`` holding its own HTML.

Each mode renders nested objects in the same mode. Credentials never reach
the text: credential fields render through :func:`secret` or
:func:`masked_key_id` (see :func:`text_forms`), and option dicts through
:func:`redacted_options`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

__all__ = [
    "SECRET",
    "Fields",
    "Mode",
    "ReprMixin",
    "datetime_debug_text",
    "datetime_text",
    "debug_text",
    "html_form",
    "json_debug_text",
    "mapping_text",
    "masked_key_id",
    "optional",
    "py_bool",
    "quoted",
    "redacted_options",
    "render",
    "renders_itself",
    "repr_form",
    "s3_options_fields",
    "secret",
    "str_form",
    "text_forms",
]

#: what a secret prints as, in every form
SECRET = "****"

Fields = list[tuple[str, str]]


class Mode(enum.Enum):
    """Which form is being rendered; nested objects render in the same one."""

    STR = "str"
    REPR = "repr"
    HTML = "html"


# -- layouts ------------------------------------------------------------------------------


def str_form(header: str, fields: Iterable[tuple[str, str]]) -> str:
    """``<header>`` then ``name: value`` lines; multi-line values indented below their name."""
    out = [f"<{header}>\n"]
    for name, value in fields:
        if "\n" in value:
            out.append(f"{name}:\n")
            out.extend(f"    {line}\n" for line in value.splitlines())
        else:
            out.append(f"{name}: {value}\n")
    return "".join(out)


def repr_form(header: str, fields: Iterable[tuple[str, str]]) -> str:
    """``header(`` then one ``name=value,`` per field, four spaces in, then ``)``."""
    out = [f"{header}(\n"]
    for name, value in fields:
        first, *rest = value.splitlines() or [""]
        out.append(f"    {name}={first}" + ("\n" if rest else ",\n"))
        for i, line in enumerate(rest):
            out.append(f"    {line}" + (",\n" if i == len(rest) - 1 else "\n"))
    return "".join(out) + ")"


# The theme hooks follow Jupyter's --jp-* variables, with light and dark fallbacks.
_STYLE = """<style>
:root {
    --ic-font-color: var(--jp-content-font-color0, rgba(0, 0, 0, 1));
    --ic-font-color-muted: var(--jp-content-font-color2, rgba(0, 0, 0, 0.54));
    --ic-border-color: var(--jp-border-color2, #ddd);
    --ic-background-nested: var(--jp-layout-color1, #f7f7f7);
}
html[theme="dark"], html[data-theme="dark"], body[data-theme="dark"], body.vscode-dark {
    --ic-font-color: var(--jp-content-font-color0, rgba(255, 255, 255, 1));
    --ic-font-color-muted: var(--jp-content-font-color2, rgba(255, 255, 255, 0.54));
    --ic-border-color: var(--jp-border-color2, #555);
    --ic-background-nested: var(--jp-layout-color1, #333);
}
.icechunk-repr { line-height: 1.6; max-width: 700px; color: var(--ic-font-color); }
.icechunk-repr .icechunk-header {
    font-weight: 500; padding-bottom: 6px; margin-bottom: 4px;
    border-bottom: solid 1px var(--ic-border-color);
}
.icechunk-repr .icechunk-field { padding: 2px 0; }
.icechunk-repr .icechunk-field-name { font-weight: 500; color: var(--ic-font-color-muted); }
.icechunk-repr .icechunk-field-value { color: var(--ic-font-color); padding-left: 0.3em; }
.icechunk-repr details { margin: 2px 0; }
.icechunk-repr summary { cursor: pointer; font-weight: 500; color: var(--ic-font-color-muted); }
.icechunk-repr details > .icechunk-repr {
    margin-top: 4px; margin-left: 12px; padding: 6px 10px;
    background: var(--ic-background-nested); border-radius: 4px;
}
</style>"""


def _escape(text: str) -> str:
    """Text for HTML as icechunk writes it: only the angle brackets are escaped."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def html_form(header: str, fields: Iterable[tuple[str, str]]) -> str:
    """A styled ``div.icechunk-repr``; values that are HTML (nested objects) fold away."""
    out = [_STYLE, '\n<div class="icechunk-repr">\n',
           f'  <div class="icechunk-header">{_escape(header)}</div>\n']
    for name, value in fields:
        if "<div" in value:  # a nested object's own _repr_html_
            out.append(f'  <details>\n    <summary class="icechunk-field-name">{name}</summary>\n'
                       f"    {value}\n  </details>\n")
        else:
            out.append(f'  <div class="icechunk-field"><span class="icechunk-field-name">'
                       f'{name}:</span> <span class="icechunk-field-value">'
                       f"{_escape(value)}</span></div>\n")
    return "".join(out) + "</div>\n"


# -- values ---------------------------------------------------------------------------------


def render(value: Any, mode: Mode) -> str:
    """A nested object in ``mode`` when it renders itself, else its ``str``."""
    if renders_itself(value):
        return value._render(mode)  # type: ignore[no-any-return]
    if mode is Mode.HTML and callable(getattr(value, "_repr_html_", None)):
        return str(value._repr_html_())
    return str(value)


def renders_itself(value: Any) -> bool:
    """Whether ``value`` has the three forms (:class:`ReprMixin` or :func:`text_forms`)."""
    return not isinstance(value, type) and callable(getattr(value, "_render", None)) \
        and callable(getattr(value, "_repr_fields", None))


def py_bool(value: bool) -> str:
    return "True" if value else "False"


def optional(value: Any) -> str:
    return "None" if value is None else str(value)


def quoted(value: str | None) -> str:
    """A string in double quotes, as icechunk prints string fields; ``None`` as ``None``."""
    return "None" if value is None else f'"{value}"'


def datetime_text(value: _dt.datetime | None) -> str:
    """A UTC time as icechunk prints it: ``datetime.datetime(2030,1,2,3,4,5,6, tzinfo=...)``."""
    if value is None:
        return "None"
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC)
    return (f"datetime.datetime({value.year},{value.month},{value.day},{value.hour},"
            f"{value.minute},{value.second},{value.microsecond}, "
            "tzinfo=datetime.timezone.utc)")


def datetime_debug_text(value: _dt.datetime) -> str:
    """A UTC time in the RFC 3339 notation nested debug texts use: ``2030-01-02T03:04:05.000006Z``.

    Fractional seconds take 3 digits when they are whole milliseconds, else 6; none when zero.
    """
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC)
    micros = value.microsecond
    frac = "" if not micros else f".{micros // 1000:03d}" if micros % 1000 == 0 else \
        f".{micros:06d}"
    return value.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def debug_text(value: Any) -> str:
    """Plain data in the debug notation icechunk's field texts use.

    Strings in double quotes, sets in braces, mappings as ``{k: v}``,
    lists in brackets, tuples in parentheses, ``None`` as ``None``.
    """
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return py_bool(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{debug_text(k)}: {debug_text(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(debug_text(v) for v in sorted(value)) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(debug_text(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(debug_text(v) for v in value) + "]"
    return optional(value)


def json_debug_text(value: Any) -> str:
    """A JSON value in the notation of icechunk's snapshot metadata field."""
    return f"JsonValue({_json_kind(value)})"


def _json_kind(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return f"Bool({py_bool(value).lower()})"
    if isinstance(value, int | float):
        return f"Number({value})"
    if isinstance(value, str):
        return f"String({debug_text(value)})"
    if isinstance(value, Mapping):
        return "Object {" + ", ".join(f"{debug_text(k)}: {_json_kind(v)}"
                                      for k, v in sorted(value.items())) + "}"
    if isinstance(value, list | tuple):
        return "Array [" + ", ".join(_json_kind(v) for v in value) + "]"
    return f"String({debug_text(str(value))})"  # not JSON: never fail to print


# -- secrets ----------------------------------------------------------------------------------


def secret(value: Any) -> str:
    """A credential field: ``****`` when set, ``None`` when not."""
    return "None" if value is None else SECRET


def masked_key_id(value: str) -> str:
    """An access key id: its first four characters, then ``****`` (as icechunk shows it)."""
    return f"{value[:4]}{SECRET}"


# option and field names that carry credentials ("skip_signature" and the like do not)
_SECRET_WORDS = ("secret", "password", "token", "key", "sas", "credential", "bearer",
                 "authorization")


def redacted_options(options: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Backend option dicts with the value of every credential-like key replaced by ``****``."""
    if options is None:
        return None
    return {k: SECRET if any(w in str(k).lower() for w in _SECRET_WORDS) else v
            for k, v in options.items()}


# -- shared field lists -------------------------------------------------------------------------

_CHECKSUM_NAMES = {"crc32": "Crc32", "crc32c": "Crc32c", "crc64nvme": "Crc64Nvme",
                   "sha1": "Sha1", "sha256": "Sha256"}


def s3_options_fields(options: Mapping[str, Any]) -> Fields:
    """The fields of S3 options given in their persisted dict form (``S3Options`` and the
    S3, S3-compatible and Tigris object store configs print the same ones)."""
    checksum = options.get("checksum_algorithm")
    if checksum is not None:
        name = getattr(checksum, "name", None) or _CHECKSUM_NAMES.get(str(checksum).lower(),
                                                                      str(checksum))
        checksum = f"frazil.ChecksumAlgorithm.{name}"
    return [("region", quoted(options.get("region"))),
            ("endpoint_url", quoted(options.get("endpoint_url"))),
            ("allow_http", py_bool(bool(options.get("allow_http")))),
            ("anonymous", py_bool(bool(options.get("anonymous")))),
            ("force_path_style", py_bool(bool(options.get("force_path_style")))),
            ("network_stream_timeout_seconds",
             optional(options.get("network_stream_timeout_seconds"))),
            ("requester_pays", py_bool(bool(options.get("requester_pays")))),
            ("checksum_algorithm", optional(checksum))]


def mapping_text(entries: Mapping[str, Any], mode: Mode) -> str:
    """A mapping of names to objects (virtual chunk containers by prefix) in ``mode``."""
    if mode is Mode.HTML:
        return ('<div class="icechunk-repr">' + "".join(
            f'<details><summary class="icechunk-field-name">{_escape(k)}'
            f"</summary>{render(v, mode)}</details>" for k, v in entries.items()) + "</div>")
    if mode is Mode.REPR:
        parts = []
        for k, v in entries.items():
            first, *rest = render(v, mode).splitlines()
            parts.append(f'    "{k}": {first}' + "".join(f"\n    {line}" for line in rest) + ",")
        return "{\n" + "\n".join(parts) + "\n}"
    return "".join(f"{k}:\n" + "".join(f"    {line}\n" for line in render(v, mode).splitlines())
                   for k, v in entries.items()).rstrip("\n")


# -- the mixin ----------------------------------------------------------------------------------


class ReprMixin:
    """``__str__``, ``__repr__`` and ``_repr_html_`` from ``_repr_fields(mode)``."""

    __slots__ = ()
    #: the header, e.g. ``"frazil.config.CachingConfig"``
    _repr_name: ClassVar[str] = ""
    #: whether ``repr`` is constructor syntax (else it is the ``str`` form)
    _repr_executable: ClassVar[bool] = False

    def _repr_fields(self, mode: Mode) -> Fields:
        raise NotImplementedError

    def _repr_header(self) -> str:
        return self._repr_name

    def _render(self, mode: Mode) -> str:
        if mode is Mode.HTML:
            return html_form(self._repr_header(), self._repr_fields(Mode.HTML))
        if mode is Mode.REPR and self._repr_executable:
            return repr_form(self._repr_header(), self._repr_fields(Mode.REPR))
        return str_form(self._repr_header(), self._repr_fields(Mode.STR))

    def __str__(self) -> str:
        return self._render(Mode.STR)

    def __repr__(self) -> str:
        return self._render(Mode.REPR)

    def _repr_html_(self) -> str:
        return self._render(Mode.HTML)


# -- credential-bearing value classes -------------------------------------------------------------


def _credential_field(value: Any, mode: Mode, hidden: bool) -> str:
    if hidden or isinstance(value, bytes | bytearray):  # pickled functions may capture secrets
        return secret(value)
    if value is None:
        return "None"
    if renders_itself(value):
        return value._render(mode)  # type: ignore[no-any-return]
    if isinstance(value, bool):
        return py_bool(value)
    if isinstance(value, _dt.datetime):
        return datetime_text(value)
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, int | float):
        return str(value)
    if callable(value):
        return getattr(value, "__qualname__", type(value).__qualname__)
    return SECRET  # an object we cannot vouch for: never print it


def text_forms(name: str, *, secrets: Iterable[str] = (), masked: Iterable[str] = (),
               executable: bool = False) -> Callable[[type], type]:
    """Give a value class (a dataclass, usually) the three forms, its fields redacted.

    ``secrets`` print as ``****`` (``None`` when unset), ``masked`` as their first
    four characters then ``****``; a field whose name says it holds a key, token,
    password or secret is hidden even when not listed. Other fields print as
    icechunk prints values (strings quoted, times as ``datetime.datetime(...)``);
    an object that is not a plain value prints as ``****`` too.
    """
    hidden = set(secrets)
    partly = set(masked)

    def fields_of(cls: type) -> list[str]:
        if dataclasses.is_dataclass(cls):
            return [f.name for f in dataclasses.fields(cls) if f.init]
        return [n for n in getattr(cls, "__slots__", ()) if not n.startswith("_")]

    def decorate(cls: type) -> type:
        names = fields_of(cls)

        def _repr_fields(self: Any, mode: Mode) -> Fields:
            out = []
            for n in names:
                v = getattr(self, n, None)
                if n in partly and isinstance(v, str):
                    out.append((n, masked_key_id(v)))
                    continue
                secret_name = n in hidden or any(w in n.lower() for w in _SECRET_WORDS)
                out.append((n, _credential_field(v, mode, secret_name)))
            return out

        setattr(cls, "_repr_name", name)
        setattr(cls, "_repr_executable", executable)
        setattr(cls, "_repr_fields", _repr_fields)
        for attr in ("_repr_header", "_render", "__str__", "__repr__", "_repr_html_"):
            setattr(cls, attr, ReprMixin.__dict__[attr])
        return cls

    return decorate
