"""Text pictures of a pool: one character per port, for the demo and the docs."""

from __future__ import annotations

from .._host import EmulatedHost
from .._types import PortRange, Protocol

__all__ = ["LEGEND", "picture"]

LEGEND = (". free   r runtime block   P persistent (administered) block   X system exclusion"
          "   B bound inside a block   b bound")


def picture(host: EmulatedHost, protocol: Protocol, window: PortRange, width: int = 64) -> str:
    """Rows of ``width`` ports from ``window``, each row labelled with its first port."""
    cells = dict.fromkeys(range(window.start, window.last + 1), ".")
    for res in host.reservations(protocol):
        mark = "P" if res.persistent else "r"
        for port in range(max(res.range.start, window.start), min(res.range.last, window.last) + 1):
            cells[port] = mark
    for excluded in host.exclusions(protocol):
        if excluded.administered or (excluded.owner or "").startswith("process "):
            continue  # drawn above from the reservations
        for port in range(max(excluded.start, window.start), min(excluded.end, window.last) + 1):
            cells[port] = "X"
    for binding in host.bindings(protocol):
        if binding.port in cells:
            cells[binding.port] = "B" if cells[binding.port] in "rPX" else "b"
    rows = []
    for first in range(window.start, window.last + 1, width):
        row = "".join(cells[p] for p in range(first, min(first + width, window.last + 1)))
        rows.append(f"  {protocol.name} {first:5d} {row}")
    return "\n".join(rows)
