"""A machine's rows and dynamic ranges, read through a seam (netsh on Windows).

On Windows (or under the patch) the six netsh commands ``portpool snapshot`` runs give
the TCP and UDP exclusion rows (one list for IPv4 and IPv6, rule X10) and the four
dynamic ranges; ``portpool.netsh``'s parsers read them in any display language.  On a
machine without Windows' pools there are no rows, and the dynamic range is the kernel's
ephemeral range (Linux: ``/proc/sys/net/ipv4/ip_local_port_range``), else IANA's
49152-65535.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import attrs

from .._teach._live import LIVE_COMMANDS, LiveMachineError
from .._types import Family, PortRange, Protocol
from ..netsh import ExcludedRange, parse_dynamic_port, parse_excluded_ranges
from ._seam import Seam

__all__ = ["MachineRows", "read_rows"]

_IANA: Final = PortRange(49152, 16384)
_LINUX_RANGE: Final = "/proc/sys/net/ipv4/ip_local_port_range"


@attrs.frozen
class MachineRows:
    """What netsh says of a machine's pools.

    Attributes:
        rows: the exclusion rows of each protocol (administered ones with ``*``).
        dynamic: the dynamic range of each (protocol, family).
    """

    rows: Mapping[Protocol, tuple[ExcludedRange, ...]]
    dynamic: Mapping[tuple[Protocol, Family], PortRange]

    def rows_over(self, protocols: Sequence[Protocol], start: int, last: int) -> list[ExcludedRange]:
        """The rows of ``protocols`` that meet ports ``start``..``last``."""
        return [row for p in protocols for row in self.rows[p] if row.start <= last and start <= row.end]

    def dynamic_over(self, protocols: Sequence[Protocol], start: int, last: int) -> list[PortRange]:
        """The dynamic ranges (any family) of ``protocols`` that meet ``start``..``last``."""
        found = {self.dynamic[(p, f)] for p in protocols for f in Family}
        return sorted((r for r in found if r.start <= last and start <= r.last), key=lambda r: r.start)


def _kernel_range() -> PortRange:
    try:
        with open(_LINUX_RANGE, encoding="ascii") as file:
            low, high = (int(word) for word in file.read().split()[:2])
        return PortRange(low, high - low + 1)
    except (OSError, ValueError):
        return _IANA


def read_rows(seam: Seam) -> MachineRows:
    """The rows and dynamic ranges of ``seam``'s machine.

    Raises:
        LiveMachineError: netsh failed (the message names the command, on one line).
        portpool.netsh.NetshParseError: netsh printed something that is not its table.
    """
    if not seam.windows:
        dynamic = _kernel_range()
        return MachineRows(dict.fromkeys(Protocol, ()), {(p, f): dynamic for p in Protocol for f in Family})
    rows: dict[Protocol, tuple[ExcludedRange, ...]] = {}
    dynamic_ranges: dict[tuple[Protocol, Family], PortRange] = {}
    for protocol, version, words in LIVE_COMMANDS:
        ran = seam.netsh(words)
        if ran.status != 0:
            first = next((line.strip() for line in ran.output.splitlines() if line.strip()), "no output")
            raise LiveMachineError(f"netsh {' '.join(words)} exited {ran.status}: {first}")
        if "excludedportrange" in words:
            rows[protocol] = tuple(parse_excluded_ranges(ran.output))
        else:
            family = Family.INET if version == 4 else Family.INET6
            dynamic_ranges[(protocol, family)] = parse_dynamic_port(ran.output)
    return MachineRows(rows, dynamic_ranges)
