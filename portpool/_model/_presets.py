"""Machines as real ones are found: ``EmulatedHost.preset(name, seed=...)``.

A preset is machine configuration (dynamic ranges, administered rows made once) plus a
placement that runs at every boot: Windows components put their exclusion rows down
again each time the machine starts, at new places (rule X1).  Placement draws from a
generator seeded with (seed, boot number), so a preset machine is the same at the
same boot whatever calls were made before, and different after a reboot.

Each preset cites the real ``netsh`` output it imitates (``shared/netsh-samples/``
and ``shared/research/wild-observations.md``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs

from .._types import Family, PortRange, Protocol

__all__ = ["PRESETS", "Placement", "Preset"]

TCP, UDP = Protocol.TCP, Protocol.UDP

#: (protocol, start, count, owner) of a system exclusion placed at boot.
Placement = tuple[Protocol, int, int, str]
#: Where blocks may not go: protocol -> ranges already taken.
Occupied = Mapping[Protocol, Sequence[PortRange]]
_Ranges = Mapping[tuple[Protocol, Family], PortRange]


@attrs.frozen
class Preset:
    """A kind of machine.

    Attributes:
        name: the name ``EmulatedHost.preset()`` takes.
        description: one line for ``--help`` and the README.
        imitates: the real observations it copies.
        ranges: the dynamic ranges (unlisted ones keep the default, rule R18).
        administered: persistent rows (protocol, start, count) made with the machine.
        place: the rows Windows components put down at each boot.
    """

    name: str
    description: str
    imitates: str
    ranges: _Ranges = attrs.field(factory=dict)
    administered: tuple[tuple[Protocol, int, int], ...] = ()
    place: Callable[[random.Random, _Ranges, Occupied], list[Placement]] = (
        lambda rng, ranges, occupied: [])


def _winnat_blocks(rng: random.Random, protocol: Protocol, count: int, lo: int, hi: int,
                   taken: list[PortRange]) -> list[Placement]:
    """``count`` WinNAT 100-port blocks drawn in lo..hi, clear of ``taken`` (rule X1).

    Real tables show irregular gaps and adjacent pairs (sample 10: 49708-49807,
    49808-49907; sample 01: 51417-51516, 51517-51616): a block is drawn at random, and
    half the time its neighbour follows it.
    """
    out: list[Placement] = []
    for _ in range(count):
        for _ in range(64):  # draws before giving up on this block
            start = rng.randrange(lo, hi - 99 + 1)
            if rng.random() < 0.5 and out and out[-1][0] is protocol:
                start = out[-1][1] + 100  # an adjacent pair
            block = PortRange(start, 100) if start + 99 <= hi else None
            if block is not None and not any(block.overlaps(t) for t in taken):
                taken.append(block)
                out.append((protocol, start, 100, "WinNAT"))
                break
    return out


_HTTP_SYS: Final = ((TCP, 5357), (TCP, 47001))  # WSD and WinRM listeners (D-R58)


def _http_sys(occupied: Occupied) -> tuple[list[Placement], dict[Protocol, list[PortRange]]]:
    """HTTP.sys's single-port rows where they are free, and what is taken after them."""
    out: list[Placement] = []
    taken = {p: list(occupied.get(p, ())) for p in Protocol}
    for protocol, port in _HTTP_SYS:
        if not any(port in t for t in taken[protocol]):
            taken[protocol].append(PortRange(port, 1))
            out.append((protocol, port, 1, "HTTP.sys"))
    return out, taken


def _place_hyperv(rng: random.Random, ranges: _Ranges, occupied: Occupied) -> list[Placement]:
    out, taken = _http_sys(occupied)
    for protocol, how_many in ((TCP, rng.randint(6, 12)), (UDP, rng.randint(2, 6))):
        dynamic = ranges[(protocol, Family.INET)]
        out += _winnat_blocks(rng, protocol, how_many, dynamic.start, dynamic.last, taken[protocol])
    return out


def _place_vs_runner(rng: random.Random, ranges: _Ranges, occupied: Occupied) -> list[Placement]:
    out, taken = _http_sys(occupied)
    for protocol, how_many in ((TCP, rng.randint(18, 28)), (UDP, rng.randint(4, 10))):
        dynamic = ranges[(protocol, Family.INET)]
        # With the range starting at 1024, WinNAT's blocks crowd its low end, over the
        # ports development servers use (samples 16 and 26: 1026-2926, 1587-2798).
        out += _winnat_blocks(rng, protocol, how_many, dynamic.start + 1,
                              min(dynamic.last, dynamic.start + 8000), taken[protocol])
    return out


_ALL_FAMILIES = [(p, f) for p in Protocol for f in Family]

PRESETS: Final[Mapping[str, Preset]] = {
    preset.name: preset for preset in (
        Preset("default", "a clean machine: 49152-65535 for all four ranges, no rows",
               "netsh sample 40 and dorssel/usbipd-win#53 (\"My clean Windows says: ..."
               " for all 4\")"),
        Preset("hyperv", "Hyper-V/WSL2/Docker: WinNAT 100-port blocks inside the dynamic"
               " range, placed anew at every boot, HTTP.sys rows 5357 and 47001, and the"
               " administered 50000-50059, TCP and UDP",
               "netsh samples 01/02 (WinNAT pairs, HTTP.sys 47001 on a CI runner), 10"
               " (WinNAT blocks around an administered row), 16 and 26 (50000-50059 *);"
               " https://github.com/airbus/sen/issues/52 (the UDP table of a Hyper-V machine"
               " lists 50000-50059 * too); microsoft/WSL#5306 (5357); D-R54, D-R58, D-R59",
               administered=((TCP, 50000, 60), (UDP, 50000, 60)), place=_place_hyperv),
        Preset("vs-runner", "after a Visual Studio install: dynamic range 1024-65534, with"
               " WinNAT blocks over common development ports",
               "actions/runner-images PR #1442 and netsh samples 41/43/46 (start 1024,"
               " 64511 ports); samples 16 and 26 (blocks from 1026 up, over 2375 and"
               " 3306); wild-observations.md section G",
               ranges=dict.fromkeys(_ALL_FAMILIES, PortRange(1024, 64511)),
               place=_place_vs_runner),
    )
}
