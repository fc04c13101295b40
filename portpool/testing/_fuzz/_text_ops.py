"""Adversarial pasted text: the netsh readers on the host's own netsh output as people
mangle it (log prefixes and tags, elision lines, backticks, CRLF, quotes), and on long
lines of repeated shapes that once made a backtracking pattern take minutes (issue 20).

A mangled copy of a real table must read back as the host's rows, or be refused with
NetshParseError; nothing else may come out, and no reader may take long (a hang guard:
2 s for lines of at most 20,000 characters, which a linear reader reads in milliseconds).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from ..._netsh._values import ExcludedRange
from ..._types import Protocol
from ...netsh import parse_dynamic_port, parse_excluded_ranges, protocol_of, render_excluded_ranges

if TYPE_CHECKING:
    from ._sources import Source
    from ._world import World

#: Pieces of adversarial lines: what the old pattern choked on, prefixes, colons, CJK.
_SHAPES: Final = ("- ", "a ", " :", "ab", "*-", "> ", "x.go:1: ", "a\uff1a/", "5 6 ", "vhd: ",
                  "\t-", "[a] ", "`", "\u6f22 ", "\\*", "...", "PS C:\\")
#: What people put before each line of a pasted output.
_PREFIXES: Final = ("", "    ", "> ", "2024-03-01T10:20:30.1234567Z ", "[INFO] ", "# ",
                    "    vhd: ", "==> vhd: ")
_HANG_GUARD: Final = 2.0  # seconds


def _t_netsh_text(w: World, src: Source) -> None:
    """The netsh readers on mangled real output or on a long adversarial line."""
    if src.chance(50):
        _mangled_table(w, src)
    else:
        _long_line(w, src)


def _mangled_table(w: World, src: Source) -> None:
    protocol = src.choice((Protocol.TCP, Protocol.UDP))
    # One read of the rows (other threads may change them), printed as netsh prints them.
    expected = [ExcludedRange(r.start, r.end, r.administered) for r in w.host.exclusions(protocol)]
    text = render_excluded_ranges(protocol, expected)
    prefix = src.choice(_PREFIXES)
    lines = [prefix + line for line in text.split("\n")]
    rows = [i for i, line in enumerate(lines) if line[len(prefix):].strip()[:1].isdigit()]
    if rows and src.chance(30):  # a closing backtick glued to a row
        index = src.choice(rows)
        lines[index] = lines[index].rstrip() + src.choice(("`", "```"))
    if len(rows) > 1 and src.chance(30):  # an elision line between two rows, rows hidden
        index = src.choice(rows[1:])
        lines.insert(index, src.choice(("[...]", "...", "\u2026")))
        hidden = src.integer(0, 1)
        if hidden:  # the elision hides the row after it
            del lines[index + 1]
            del expected[rows.index(index)]
    pasted = src.choice(("\n", "\r\n")).join(lines)
    started = time.perf_counter()
    ok, got = w.call("host.netsh_text", (pasted[:60],),
                     lambda: parse_excluded_ranges(pasted), compare="none")
    _guard(w, "host.netsh_text", started)
    if ok and got != expected:
        w.violate("postcondition", "host.netsh_text",
                  f"read {(got or [])[:4]}... from the host's own table, which lists"
                  f" {expected[:4]}...")


def _long_line(w: World, src: Source) -> None:
    shape = src.choice(_SHAPES)
    lead = src.choice(("", "a", "1", "*", "5 6 ", "vhd: ", "Start Port "))
    line = lead + shape * (src.integer(1, 20_000) // len(shape))
    for name, reader in (("parse_excluded_ranges", parse_excluded_ranges),
                         ("parse_dynamic_port", parse_dynamic_port), ("protocol_of", protocol_of)):
        started = time.perf_counter()
        w.call("host.netsh_text", (name, line[:40]), lambda r=reader: r(line), compare="none")  # type: ignore[misc]
        _guard(w, "host.netsh_text", started)


def _guard(w: World, op: str, started: float) -> None:
    seconds = time.perf_counter() - started
    if seconds > _HANG_GUARD:
        w.violate("postcondition", op, f"a reader took {seconds:.1f} s (linear readers take"
                  " milliseconds)")
