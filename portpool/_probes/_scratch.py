"""Before any experiment: is the scratch block really free on this machine?

The experiments make their specific blocks and binds inside the scratch block and
read every WSAEACCES or WSAEADDRINUSE there as the rule's finding.  On a machine whose
dynamic range starts low (``netsh int ipv4 set dynamicport tcp start=1024
num=64511``, which Visual Studio's installer and CI images do), 40000-40255 lies inside
the dynamic range, where WinNAT places its rows and other programs' wildcard binds
land.  So the probe first reads the four dynamic ranges and the TCP and UDP exclusion
rows (IPv4 and IPv6) through the lab's netsh, then binds each port of the block once
(TCP and UDP) to find ports other programs hold, and refuses a scratch block that meets
any of them, or moves it to the nearest free 256-port block when the user did not
choose it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .._errors import PortPoolError, WinError
from .._types import AF_INET, SOCK_DGRAM, SOCK_STREAM, PortRange, Protocol
from ._lab import Lab, Skip

__all__ = ["ScratchRefusedError", "bound_ports", "choose_scratch", "scratch_conflicts",
           "taken_ranges"]

#: Below this the ports are well-known ones: the scratch block never goes there.
_LOWEST: Final = 1024
#: What a bind gets when another socket, a row or a block holds the port (W2, X2, R17).
_HELD: Final = frozenset({WinError.WSAEADDRINUSE, WinError.WSAEACCES})


class ScratchRefusedError(ValueError):
    """The scratch block meets a dynamic range or an exclusion row (the message says
    which), or the machine's ranges could not be read."""


def taken_ranges(lab: Lab) -> list[tuple[int, int, str]]:
    """``(first, last, what)`` of every dynamic range and exclusion row of the machine.

    Raises:
        ScratchRefusedError: netsh's output could not be read.
    """
    taken: list[tuple[int, int, str]] = []
    try:
        for protocol in (Protocol.TCP, Protocol.UDP):
            word = protocol.name.lower()
            for v6 in (False, True):
                version = "ipv6" if v6 else "ipv4"
                dynamic = lab.dynamic(protocol, v6=v6)
                taken.append((dynamic.start, dynamic.last, f"the {version} {word} dynamic range"))
                for row in lab.exclusions(protocol, v6=v6):
                    marker = " *" if row.administered else ""
                    taken.append((row.start, row.end,
                                  f"the {version} {word} exclusion row {row.start}-{row.end}{marker}"))
    except Skip as exc:
        raise ScratchRefusedError(f"cannot check the scratch block against this machine: {exc}") from None
    return taken


def bound_ports(lab: Lab, block: PortRange) -> list[str]:
    """The ports of ``block`` that programs hold now (what netstat would list): a plain
    bind of each to 0.0.0.0, TCP and UDP, from the lab's main process, closed at once.

    Returns:
        ``"tcp port 40007 (WSAEADDRINUSE)"`` for each bind refused as a held port is
        (WSAEADDRINUSE, WSAEACCES: W2, X2, R17), at most 5.
    """
    found: list[str] = []
    try:
        for protocol, kind in ((Protocol.TCP, SOCK_STREAM), (Protocol.UDP, SOCK_DGRAM)):
            for port in range(block.start, block.last + 1):
                sock = lab.main.socket(AF_INET, kind)
                try:
                    sock.bind(("0.0.0.0", port))
                except PortPoolError as exc:
                    if exc.code not in _HELD:  # not a holder's answer: the experiments' business
                        continue
                    found.append(f"{protocol.name.lower()} port {port} ({exc.name})")
                    if len(found) == 5:
                        return found
                finally:
                    sock.close()
    finally:
        lab.undo()  # the sweep's process and sockets
    return found


def scratch_conflicts(block: PortRange, taken: Iterable[tuple[int, int, str]]) -> list[str]:
    """What of ``taken`` the block meets, as text (empty: the block is free)."""
    return [f"{what} ({first}-{last})" if "row" not in what else what
            for first, last, what in taken if first <= block.last and block.start <= last]


def choose_scratch(lab: Lab, *, movable: bool) -> PortRange:
    """The lab's scratch block if it is free, else (``movable``) the nearest free block
    of the same size, below it first.

    Raises:
        ScratchRefusedError: the block is not free and may not move (the user chose it), no
            block is free, or the machine's ranges cannot be read.
    """
    block = lab.scratch
    taken = taken_ranges(lab)
    problems = scratch_conflicts(block, taken) or bound_ports(lab, block)
    if not problems:
        return block
    where = f"the scratch block {block.start}-{block.last} meets {'; '.join(problems)}"
    if not movable:
        raise ScratchRefusedError(f"{where}: choose a free block outside every dynamic range and"
                             " exclusion row with --scratch START (netsh int ipv4 show"
                             " dynamicport tcp; netsh int ipv4 show excludedportrange"
                             " protocol=tcp)")
    size = block.count
    below = range(block.start - size, _LOWEST - 1, -size)
    above = range(block.start + size, 65536 - size + 1, size)
    for start in [*below, *above]:
        candidate = PortRange(start, size)
        if not scratch_conflicts(candidate, taken) and not bound_ports(lab, candidate):
            return candidate
    raise ScratchRefusedError(f"{where}, and no block of {size} free ports was found")
