"""``ancestry_graph``: the commit history as a lane drawing (text) or an SVG.

One row per snapshot, newest first, each in a lane (a column two characters
wide); a lane that ends in another's commit closes with ``─╯``. Text rows
are ``●   ID8 (refs) message``. ``plain=False`` colours each lane (ANSI in
text, strokes in SVG). Without a ref, every snapshot reachable from a
branch is drawn (detached snapshots are not); with one, its linear history.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from frazil.format.ids import ObjectId
from frazil.format.model import RepoInfo, SnapshotRecord

__all__ = ["AncestryGraph", "build_graph"]

_PALETTE = ((183, 228, 0), (166, 83, 255), (94, 196, 247), (255, 140, 66), (255, 92, 138),
            (72, 219, 151))


@dataclass(frozen=True)
class _Row:
    lane: int
    merges: tuple[int, ...]  # lanes closing into this commit
    active: tuple[bool, ...]  # lanes drawn after this row (the connector line)
    rec: SnapshotRecord
    labels: tuple[str, ...]
    tags: frozenset[str]


def _labels(info: RepoInfo) -> tuple[dict[ObjectId, list[str]], set[str]]:
    out: dict[ObjectId, list[str]] = {}
    for name in sorted(info.branches):
        out.setdefault(info.branches[name], []).append(name)
    for name in sorted(info.tags):
        out.setdefault(info.tags[name], []).append(name)
    return out, set(info.tags)


def _walk(info: RepoInfo, tip: ObjectId, seen: set[ObjectId]) -> list[SnapshotRecord]:
    out = []
    sid: ObjectId | None = tip
    while sid is not None and sid in info.snapshots and sid not in seen:
        seen.add(sid)
        rec = info.snapshots[sid]
        out.append(rec)
        sid = rec.parent_id
    return out


def build_graph(info: RepoInfo, tip: ObjectId | None, plain: bool,
                tip_label: str | None = None) -> AncestryGraph:
    """The graph of ``tip``'s history, or of every branch when ``tip`` is ``None``.

    Each branch owns a lane (``main`` first, then by name); a snapshot is
    drawn in the first lane whose branch reaches it. ``tip_label`` (a linear
    view): the name of the ref drawn ("" for a tag or an id, as icechunk).
    """
    labels, tags = _labels(info)
    lane_of: dict[ObjectId, int] = {}
    recs: list[SnapshotRecord] = []
    if tip is not None:
        recs = _walk(info, tip, set())
        lane_of = {r.id: 0 for r in recs}
        width = 1
        if tip_label == "" and recs:
            labels[recs[0].id] = ["", *[n for n in labels.get(recs[0].id, []) if n in tags]]
    else:
        order = sorted(info.branches, key=lambda b: (b != "main", b))
        seen: set[ObjectId] = set()
        for lane, name in enumerate(order):
            for rec in _walk(info, info.branches[name], seen):
                lane_of[rec.id] = lane
                recs.append(rec)
        recs.sort(key=lambda r: (-r.flushed_at, r.id.raw))
        width = max(len(order), 1)
    waiting: list[ObjectId | None] = [None] * width
    rows: list[_Row] = []
    for rec in recs:
        lane = lane_of[rec.id]
        merges = tuple(j for j in range(width) if j != lane and waiting[j] == rec.id)
        for j in merges:
            waiting[j] = None
        waiting[lane] = rec.parent_id if rec.parent_id in lane_of else None
        rows.append(_Row(lane, merges, tuple(w is not None for w in waiting), rec,
                         tuple(labels.get(rec.id, ())), frozenset(tags)))
    return AncestryGraph(rows, width, plain)


def _rgb(lane: int) -> tuple[int, int, int]:
    return _PALETTE[lane % len(_PALETTE)]


class AncestryGraph:
    """A drawing of the history: ``print()`` it in a terminal, display it in Jupyter (SVG)."""

    def __init__(self, rows: list[_Row], width: int, plain: bool) -> None:
        self._rows = rows
        self._width = width
        self._plain = plain

    def _paint(self, text: str, lane: int, bold: bool = False) -> str:
        if self._plain:
            return text
        r, g, b = _rgb(lane)
        return f"{'\x1b[1m' if bold else ''}\x1b[38;2;{r};{g};{b}m{text}\x1b[0m"

    def _commit_line(self, row: _Row, before: tuple[bool, ...]) -> str:
        cells = []
        last = max(row.merges, default=-1)
        for i in range(self._width):
            if i == row.lane:
                cells.append(self._paint("●", i) + ("─" if i < last else " "))
            elif i in row.merges:
                cells.append(self._paint("╯", i) + ("─" if i < last else " "))
            elif row.lane < i < last:
                cells.append("──")
            elif i < len(before) and before[i]:
                cells.append(self._paint("│", i) + " ")
            else:
                cells.append("  ")
        sid = str(row.rec.id)[:8]
        sid = sid if self._plain else f"\x1b[2m{sid}\x1b[0m"
        refs = ""
        if row.labels:
            refs = " (" + ", ".join(self._paint(n, row.lane, bold=True) for n in row.labels) + ")"
        return "".join(cells) + sid + refs + " " + row.rec.message

    def __str__(self) -> str:
        lines = []
        before: tuple[bool, ...] = ()
        for k, row in enumerate(self._rows):
            lines.append(self._commit_line(row, before))
            if k + 1 < len(self._rows):
                cells = [(self._paint("│", i) if a else " ") + " " for i, a in
                         enumerate(row.active)]
                cells += ["  "] * (self._width - len(row.active))
                lines.append("".join(cells))
            before = row.active
        return "".join(ln + "\n" for ln in lines)

    __repr__ = __str__

    def _repr_svg_(self) -> str:
        """The graph as an SVG document (for notebooks)."""
        step, x0, y0 = 28, 15, 15
        text_x = x0 + 20 * self._width + 14
        height = step * len(self._rows) + 20
        longest = max((len(r.rec.message) + 12 + sum(len(n) + 2 for n in r.labels)
                       for r in self._rows), default=10)
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{text_x + 8 * longest}" '
               f'height="{height}" style="font-family: monospace; font-size: 13px;">']

        def colour(lane: int) -> str:
            return "#888" if self._plain else "#%02X%02X%02X" % _rgb(lane)

        for k, row in enumerate(self._rows):
            x, y = x0 + 20 * row.lane, y0 + step * k
            if k + 1 < len(self._rows):
                for i, a in enumerate(row.active):
                    if a:
                        xi = x0 + 20 * i
                        out.append(f'  <line x1="{xi}" y1="{y}" x2="{xi}" y2="{y + step}" '
                                   f'stroke="{colour(i)}" stroke-width="2" />')
            for i in row.merges:
                xi = x0 + 20 * i
                out.append(f'  <path d="M {xi} {y - step} C {xi} {y - step // 2}, {x} '
                           f'{y - step // 2}, {x} {y}" fill="none" stroke="{colour(i)}" '
                           'stroke-width="2" />')
            fill = "#fff" if self._plain else colour(row.lane)
            out.append(f'  <circle cx="{x}" cy="{y}" r="5" fill="{fill}" '
                       f'stroke="{colour(row.lane)}" />')
            refs = "".join(f' (<tspan font-weight="bold">{html.escape(n)}</tspan>)'
                           for n in row.labels)
            out.append(f'  <text x="{text_x}" y="{y + 4}"><tspan fill="#888">'
                       f'{str(row.rec.id)[:8]}</tspan>{refs} {html.escape(row.rec.message)}'
                       '</text>')
        out.append("</svg>")
        return "\n".join(out)
