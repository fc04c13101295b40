"""``portpool map``: one protocol's port space to scale, as SVG and as terminal text.

Everything drawn is computed from the machine's public queries (``dynamic_range``,
``exclusions``, ``reservations``, ``bindings``) and every position from ports alone:
``port_x(port, window)`` is the SVG's x coordinate of a port's left edge, so a picture
can be checked against the machine it shows.  Blocks too narrow to see at scale (a
single port is 0.013 px wide across the whole space) are drawn ``MIN_WIDTH`` wide from
their true left edge, and every row is labelled below the lanes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final
from typing import Protocol as _Protocol
from xml.sax.saxutils import escape

import attrs

from .._types import Family, PortRange, Protocol

if TYPE_CHECKING:
    from .._model._machine import Machine


class MachineHost(_Protocol):
    """What the map needs of a host: its machine (typed by shape; the host imports this module)."""

    @property
    def machine(self) -> Machine: ...

__all__ = ["FULL_SPACE", "KINDS", "LEFT", "MIN_WIDTH", "PLOT_WIDTH", "Kind", "Segment",
           "map_segments", "port_x", "render_svg", "render_text"]

FULL_SPACE: Final = PortRange(1, 65535)
WIDTH: Final = 1000  # the SVG's width in px
LEFT: Final = 120  # where the plot starts (lane names sit left of it)
PLOT_WIDTH: Final = 850  # the plot's width: WIDTH - LEFT - the right margin
MIN_WIDTH: Final = 2.0  # px: narrower blocks are drawn this wide, from their true x
LANE_HEIGHT: Final = 20
LANE_GAP: Final = 6
FONT: Final = "DejaVu Sans, Verdana, Arial, sans-serif"
CHAR_WIDTH: Final = 7.0  # px per character of the 11 px labels (an estimate for placing them)


@attrs.frozen
class Kind:
    """One kind of thing the map draws.

    Attributes:
        name: the key (``"system"``).
        legend: the legend's text.
        fill: the SVG colour.
        char: the terminal character.
        ansi: the terminal colour (an SGR code).
        lane: which lane it is drawn in (0: ipv4 dynamic, 1: ipv6 dynamic, 2: rows,
            3: bound sockets).
    """

    name: str
    legend: str
    fill: str
    char: str
    ansi: str
    lane: int


KINDS: Final = {kind.name: kind for kind in (
    Kind("dynamic-ipv4", "dynamic range (ipv4)", "#a6d8a8", "=", "32", 0),
    Kind("dynamic-ipv6", "dynamic range (ipv6)", "#b9d3ee", "=", "36", 1),
    Kind("system", "system exclusion (no *)", "#d62728", "X", "31;1", 2),
    Kind("administered", "administered row (*)", "#2f5fb3", "P", "34;1", 2),
    Kind("runtime", "runtime reservation", "#f28e2b", "r", "33;1", 2),
    Kind("bound", "bound socket", "#222222", "b", "1", 3),
    Kind("connection", "TCP connection (TIME_WAIT...)", "#9467bd", "t", "35", 3),
)}
LANES: Final = ("ipv4 dynamic", "ipv6 dynamic", "rows (netsh)", "bound sockets")
_PRIORITY: Final = ("system", "runtime", "administered", "bound", "connection", "dynamic-ipv4",
                    "dynamic-ipv6")


@attrs.frozen
class Segment:
    """One drawn block: ``kind`` over ports ``start``-``end`` (inclusive), ``label``
    naming it (``rows``: how many netsh rows were merged into it)."""

    kind: str
    start: int
    end: int
    label: str
    rows: int = 1

    @property
    def range(self) -> PortRange:
        """The segment as a :class:`PortRange`."""
        return PortRange(self.start, self.end - self.start + 1)


def port_x(port: int, window: PortRange = FULL_SPACE) -> float:
    """The x coordinate (px) of ``port``'s left edge in a map of ``window``."""
    return LEFT + (port - window.start) * PLOT_WIDTH / window.count


def _span(start: int, end: int) -> str:
    return f"{start}" if start == end else f"{start}-{end}"


def map_segments(host: MachineHost, protocol: Protocol) -> list[Segment]:
    """What the map of ``protocol`` draws, in lane and port order: the dynamic ranges,
    the rows (adjacent rows of one owner merged, counted in ``rows``), the bound
    sockets, and the ports only TCP connections hold (TIME_WAIT and the rest: T3, T8)."""
    machine = host.machine
    with machine.lock:
        ranges = [(family, machine.dynamic_range(protocol, family)) for family in Family]
        reservations = machine.reservations(protocol)
        owners = {res.token: machine.reservation_owner(res.token) for res in reservations}
        rows = machine.exclusions(protocol)
        bindings = machine.bindings(protocol)
        held: dict[int, list[str]] = {}
        for conn in machine.connections(protocol):
            if conn.state not in (None, "LISTENING"):
                held.setdefault(conn.local_port, []).append(conn.state)
    out = [Segment(f"dynamic-ipv{4 if family is Family.INET else 6}", r.start, r.last,
                   f"{r.start}-{r.last} ({r.count} ports)") for family, r in ranges]
    blocks: list[Segment] = []
    runtime = set()
    for res in reservations:
        r = res.range
        if res.persistent:
            blocks.append(Segment("administered", r.start, r.last, f"* {_span(r.start, r.last)}"))
        else:
            runtime.add((r.start, r.last))
            blocks.append(Segment("runtime", r.start, r.last,
                                  f"runtime {_span(r.start, r.last)} (pid {owners[res.token]})"))
    for row in rows:
        if not row.administered and (row.start, row.end) not in runtime:
            owner = "system" if row.owner == "unknown" else row.owner  # read from netsh: not shown
            blocks.append(Segment("system", row.start, row.end, f"{owner} {_span(row.start, row.end)}"))
    merged: list[Segment] = []
    for seg in sorted(blocks, key=lambda s: s.start):
        last = merged[-1] if merged else None
        if (last is not None and seg.kind == "system" and last.kind == "system"
                and seg.start == last.end + 1 and seg.label.split()[0] == last.label.split()[0]):
            owner = seg.label.split()[0]
            merged[-1] = Segment("system", last.start, seg.end,
                                 f"{owner} {last.start}-{seg.end} ({last.rows + 1} rows)", last.rows + 1)
        else:
            merged.append(seg)
    out += merged
    out += [Segment("bound", b.port, b.port, f":{b.port} (pid {b.pid})") for b in bindings]
    bound = {b.port for b in bindings}
    out += [Segment("connection", port, port, f":{port} ({', '.join(sorted(set(states)))})")
            for port, states in sorted(held.items()) if port not in bound]
    return out


# --- SVG ----------------------------------------------------------------------------------


def _ticks(window: PortRange) -> list[int]:
    """Round port numbers along the axis, about eight of them, and both ends."""
    raw = window.count / 8
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(window.start / step) * step
    inner = [p for p in range(first, window.last + 1, step)
             if abs(port_x(p, window) - port_x(window.start, window)) > 40
             and abs(port_x(window.last + 1, window) - port_x(p, window)) > 40]
    return [window.start, *inner, window.last]


@attrs.define
class _Label:
    anchor: float  # x of the thing labelled
    text: str
    kind: str
    left: float = 0.0
    level: int = 0


def _place(labels: list[_Label]) -> int:
    """Give each label a level (a text row) and a left edge: no two labels of one level
    overlap, each stays near its anchor.  Returns how many levels were used."""
    ends: list[float] = []  # per level, where its last label ends
    right = WIDTH - 16  # the last x a label may reach (the estimate of its width errs short)
    for label in sorted(labels, key=lambda lb: lb.anchor):
        width = len(label.text) * CHAR_WIDTH
        ideal = min(max(label.anchor - 4, LEFT - 60), right - width)
        level = 0
        while True:
            if level == len(ends):
                ends.append(-math.inf)
            left = max(ideal, ends[level] + 10)
            if left - ideal <= 40 and left + width <= right:
                break
            level += 1
        label.left, label.level = left, level
        ends[level] = left + width
    return len(ends)


def _panel(host: MachineHost, protocol: Protocol, window: PortRange, top: float) -> tuple[list[str], float]:
    """The SVG elements of one protocol's panel starting at ``top``; returns them and the
    y where the next panel may start."""
    parts: list[str] = []
    segs = [s for s in map_segments(host, protocol) if s.end >= window.start and s.start <= window.last]
    parts.append(f'<text x="{LEFT - 110}" y="{top + 14}" class="title">{protocol.name} ports'
                 f' {window.start}-{window.last}</text>')
    lanes_top = top + 26
    lane_y = [lanes_top + i * (LANE_HEIGHT + LANE_GAP) for i in range(len(LANES))]
    for name, y in zip(LANES, lane_y, strict=True):
        parts.append(f'<text x="{LEFT - 8}" y="{y + 14}" class="lane">{name}</text>')
        parts.append(f'<rect x="{LEFT}" y="{y}" width="{PLOT_WIDTH}" height="{LANE_HEIGHT}"'
                     ' class="bg"/>')
    labels: list[_Label] = []
    for seg in segs:
        kind = KINDS[seg.kind]
        first, last = max(seg.start, window.start), min(seg.end, window.last)
        x = port_x(first, window)
        width = max(port_x(last + 1, window) - x, MIN_WIDTH)
        y = lane_y[kind.lane]
        title = escape(f"{kind.legend}: {seg.label}")
        parts.append(f'<rect x="{x:.2f}" y="{y}" width="{width:.2f}" height="{LANE_HEIGHT}"'
                     f' fill="{kind.fill}" data-kind="{seg.kind}" data-start="{seg.start}"'
                     f' data-end="{seg.end}"><title>{title}</title></rect>')
        if kind.lane <= 1:  # the dynamic ranges carry their numbers inside or beside them
            text = escape(seg.label)
            if width > len(seg.label) * CHAR_WIDTH + 12:
                parts.append(f'<text x="{x + width / 2:.2f}" y="{y + 14}" class="inside">{text}</text>')
            else:
                parts.append(f'<text x="{x - 4:.2f}" y="{y + 14}" class="beside">{text}</text>')
        else:
            labels.append(_Label(x + width / 2, seg.label, seg.kind))
    if sum(1 for lb in labels if lb.kind == "bound") > 12:  # too many to name one by one
        bound = [lb for lb in labels if lb.kind == "bound"]
        labels = [lb for lb in labels if lb.kind != "bound"]
        labels.append(_Label(bound[0].anchor, f"{len(bound)} bound sockets", "bound"))
    axis_y = lane_y[-1] + LANE_HEIGHT + 4
    parts.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{LEFT + PLOT_WIDTH}" y2="{axis_y}" class="axis"/>')
    for port in _ticks(window):
        x = port_x(port, window) if port != window.last else port_x(port + 1, window)
        anchor = "start" if port == window.start else "end" if port == window.last else "middle"
        parts.append(f'<line x1="{x:.2f}" y1="{axis_y}" x2="{x:.2f}" y2="{axis_y + 5}" class="axis"/>')
        parts.append(f'<text x="{x:.2f}" y="{axis_y + 17}" class="tick" text-anchor="{anchor}">'
                     f'{port}</text>')
    levels = _place(labels)
    label_top = axis_y + 38
    for label in labels:  # leaders first, so that no line crosses a label's text
        y = label_top + label.level * 16
        source_y = lane_y[KINDS[label.kind].lane] + LANE_HEIGHT
        parts.append(f'<polyline points="{label.anchor:.2f},{source_y} {label.anchor:.2f},{axis_y + 22}'
                     f' {label.left + 2:.2f},{y - 10}" class="leader"/>')
    for label in labels:
        y = label_top + label.level * 16
        width = len(label.text) * CHAR_WIDTH
        parts.append(f'<rect x="{label.left + 2:.2f}" y="{y - 11}" width="{width:.1f}" height="14"'
                     ' class="halo"/>')
        parts.append(f'<text x="{label.left + 4:.2f}" y="{y}" class="label"'
                     f' style="fill:{KINDS[label.kind].fill}">{escape(label.text)}</text>')
    return parts, label_top + max(levels, 1) * 16 + 8


def render_svg(host: MachineHost, protocols: Sequence[Protocol] = (Protocol.TCP,),
               window: PortRange = FULL_SPACE, title: str | None = None) -> str:
    """An SVG picture of ``protocols``' port spaces over ``window``, to scale, with a
    legend.  ``title`` heads it (default: the machine's preset and boot)."""
    machine = host.machine
    heading = title if title is not None else (
        f"portpool map: a {machine.preset} machine, boot {machine.boot_number}")
    body: list[str] = [f'<text x="{LEFT - 110}" y="22" class="heading">{escape(heading)}</text>']
    y = 34.0
    for protocol in protocols:
        parts, y = _panel(host, protocol, window, y)
        body += parts
    x = float(LEFT - 110)
    legend_y = y + 10
    for kind in KINDS.values():
        wide = 19 + len(kind.legend) * 6.3
        if x + wide > WIDTH - 10:  # the legend wraps to a second line
            x, legend_y = float(LEFT - 110), legend_y + 18
        body.append(f'<rect x="{x:.1f}" y="{legend_y}" width="14" height="12" fill="{kind.fill}"/>')
        body.append(f'<text x="{x + 19:.1f}" y="{legend_y + 10}" class="legend">{kind.legend}</text>')
        x += wide + 16
    height = legend_y + 26
    style = (f"text{{font-family:{FONT};font-size:11px;fill:#222}}"
             ".heading{font-size:15px;font-weight:bold}.title{font-size:13px;font-weight:bold}"
             ".lane{text-anchor:end;fill:#555}.inside{text-anchor:middle}.beside{text-anchor:end}"
             ".tick{fill:#555;font-size:10px}.legend{fill:#333}"
             ".halo{fill:white;fill-opacity:0.85}"
             ".bg{fill:#f2f2f2}.axis{stroke:#777;stroke-width:1}"
             ".leader{fill:none;stroke:#aaa;stroke-width:0.7}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}"'
            f' viewBox="0 0 {WIDTH} {height:.0f}" font-family="{FONT}">\n'
            f'<style>{style}</style>\n<rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(body) + "\n</svg>\n")


# --- terminal -------------------------------------------------------------------------------


def _paint(char: str, ansi: str, color: bool) -> str:
    return f"\x1b[{ansi}m{char}\x1b[0m" if color and char not in ". " else char


def _listed(segs: list[Segment]) -> list[Segment]:
    """Rows as they are, bound sockets of one process on consecutive ports as one line."""
    out: list[Segment] = []
    for seg in segs:
        last = out[-1] if out else None
        pid = seg.label.rpartition("pid ")[2]
        if (last is not None and seg.kind == "bound" and last.kind == "bound"
                and seg.start == last.end + 1 and last.label.endswith(f"pid {pid}")):
            n = last.rows + 1
            out[-1] = Segment("bound", last.start, seg.end, f"{n} sockets (pid {pid}", n)
        else:
            out.append(seg)
    return out


def render_text(host: MachineHost, protocol: Protocol, window: PortRange = FULL_SPACE,
                width: int = 64, color: bool = False, rows: bool = True) -> str:
    """``protocol``'s port space over ``window`` in ``width`` character cells per lane,
    each cell showing the strongest thing in its ports (X system exclusion, r runtime
    reservation, P administered row, b bound socket, = dynamic range), then (with
    ``rows``) one line per row and bound socket.  ``color`` adds ANSI colours."""
    if width < 8:
        raise ValueError(f"width must be at least 8 cells, not {width}")
    per = max(1, math.ceil(window.count / width))
    cells = math.ceil(window.count / per)
    segs = [s for s in map_segments(host, protocol) if s.end >= window.start and s.start <= window.last]
    lanes = [["." for _ in range(cells)] for _ in LANES]
    rank = {name: i for i, name in enumerate(_PRIORITY)}
    best: list[list[str | None]] = [[None] * cells for _ in LANES]
    for seg in segs:
        kind = KINDS[seg.kind]
        first = (max(seg.start, window.start) - window.start) // per
        last = (min(seg.end, window.last) - window.start) // per
        for cell in range(first, last + 1):
            held = best[kind.lane][cell]
            if held is None or rank[seg.kind] < rank[held]:
                best[kind.lane][cell] = seg.kind
    for lane, kinds in enumerate(best):
        for cell, name in enumerate(kinds):
            if name is not None:
                lanes[lane][cell] = _paint(KINDS[name].char, KINDS[name].ansi, color)
    unit = "port" if per == 1 else "ports"
    out = [f"{protocol.name} ports {window.start}-{window.last}, {per} {unit} per cell"]
    ends = f"{window.start:<{cells // 2}}{window.last:>{cells - cells // 2}}"
    out.append(f"{'':14}{ends}")
    out += [f"{name:<14}{''.join(lane)}" for name, lane in zip(LANES, lanes, strict=True)]
    if rows:
        listed = _listed([s for s in segs if KINDS[s.kind].lane >= 2])
        for seg in listed[:40]:
            kind = KINDS[seg.kind]
            out.append(f"  {_paint(kind.char, kind.ansi, color)} {_span(seg.start, seg.end):<12}"
                       f" {kind.legend}: {seg.label}")
        if len(listed) > 40:
            out.append(f"  ... and {len(listed) - 40} more")
    return "\n".join(out) + "\n"
