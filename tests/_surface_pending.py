# ruff: noqa: E501 -- entries are the walker's exact difference lines
"""Differences from icechunk 2.3's surface still to close, each with its reason.

tests/test_api_surface_full.py fails on any difference not listed here (or allowed there),
and on an entry here that no longer matches: the list may only shrink. After a fix,
``python tests/_surface.py --prune`` drops the entries that no longer match and prints any
difference that is in neither list.

Empty: frazil has every name, member and signature of icechunk 2.3's surface. A difference
that cannot be closed at once goes here with its reason, and stays only until it is closed.
"""

PENDING: dict[str, str] = {}
