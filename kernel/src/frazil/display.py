"""Text forms for plugin classes: icechunk's ``str``, ``repr`` and ``_repr_html_``.

A distribution's option and credential classes print the way the kernel's
do: a ``<frazil.module.Class>`` block, constructor syntax for ``repr`` when
the class is rebuilt from its fields, and a styled ``div.icechunk-repr`` for
notebooks. Credentials never appear in any of them.

- :class:`ReprMixin`: subclass it and implement ``_repr_fields(mode)``,
  returning ``(name, text)`` pairs; set ``_repr_name`` (and
  ``_repr_executable`` for constructor-style ``repr``).
- :func:`text_forms`: a class decorator for credential value classes; it
  lists their fields itself and prints secrets as ``****``.
- :func:`s3_options_fields`, :func:`redacted_options`, :func:`quoted`,
  :func:`datetime_text`: field texts as icechunk writes them.
"""

from __future__ import annotations

from frazil._repr import (
    SECRET,
    Fields,
    Mode,
    ReprMixin,
    datetime_text,
    masked_key_id,
    quoted,
    redacted_options,
    render,
    s3_options_fields,
    secret,
    text_forms,
)

__all__ = [
    "SECRET",
    "Fields",
    "Mode",
    "ReprMixin",
    "datetime_text",
    "masked_key_id",
    "quoted",
    "redacted_options",
    "render",
    "s3_options_fields",
    "secret",
    "text_forms",
]
