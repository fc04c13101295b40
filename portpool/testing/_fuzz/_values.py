"""The hostile arguments: boundary ints, values of wrong types, ports aimed so that calls
collide, counts, protocols, tokens, addresses of every shape.

:class:`Arguments` is the part of :class:`~._world.World` that draws them (it reads the
world's source, the ports binds took lately and the ledger's tokens).
"""

from __future__ import annotations

import collections
import math
from typing import TYPE_CHECKING, Final

from ..._host import EmulatedHost
from ..._types import MAX_PORT, Family, PortRange, Protocol

if TYPE_CHECKING:
    from ._ledger import Ledger
    from ._sources import Source


#: Ports most calls aim at, so that calls collide: binds and runtime blocks around
#: HOT, persistent blocks around PERSIST, system exclusions around EXCLUDE.  All are
#: below the default dynamic range (wildcard draws land elsewhere).
HOT: Final = PortRange(5000, 64)
PERSIST: Final = PortRange(5032, 64)
EXCLUDE: Final = PortRange(5064, 64)

_BOUNDARY_INTS: Final[tuple[int, ...]] = (
    0, 1, 2, 255, 1023, 1024, 1025, 49151, 49152, 65534, 65535, 65536, 2**16 + 1,
    2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**63, 2**64 - 1, 2**64, 2**100,
    -1, -2, -(2**31), -(2**63),
)
#: Ints with more digits than Python writes in decimal (sys.get_int_max_str_digits(),
#: 4,300): formatting one into a message raises ValueError, so every message must show
#: such a value without writing it out (issue 20).
_HUGE_INTS: Final[tuple[int, ...]] = (10**5000, -(10**5000), 2**20000 + 1)
_WRONG_TYPES: Final[tuple[object, ...]] = (
    None, "1", "", "5000", 1.0, 0.5, math.nan, math.inf, True, False, b"\x01", (), (1,),
    [1], {}, 1j, object(),
)


class Arguments:
    """Draws arguments for the operations (mixed into :class:`~._world.World`)."""

    src: Source
    host: EmulatedHost
    ledger: Ledger
    held: list[int]
    dead_tokens: collections.deque[int]
    _dynamic: PortRange

    def hostile_int(self) -> object:
        """A boundary int or a value of a wrong type."""
        if self.src.chance(70):
            return self.src.choice(_BOUNDARY_INTS)
        if self.src.chance(15):
            return self.src.choice(_HUGE_INTS)
        return self.src.choice(_WRONG_TYPES)

    def port(self, zone: PortRange = HOT) -> object:
        """A port argument: mostly in ``zone`` or the dynamic range, sometimes hostile."""
        r = self.src.integer(1, 100)
        if r <= 12 and self.held:
            return self.src.choice(self.held[-16:])
        if r <= 45:
            return zone.start + self.src.integer(0, zone.count - 1)
        if r <= 60:
            dyn = self._dynamic
            return dyn.start + self.src.integer(0, min(dyn.count - 1, 255))
        if r <= 72:
            return 0
        if r <= 82:
            return self.src.integer(1, MAX_PORT)
        return self.hostile_int()

    def count(self) -> object:
        """A count argument."""
        r = self.src.integer(1, 100)
        if r <= 60:
            return self.src.integer(1, 4)
        if r <= 82:
            return self.src.integer(1, 64)
        if r <= 86:
            return 0
        if r <= 90:
            return self.src.choice((255, 1000, 16384, 20000, 65535))
        return self.hostile_int()

    def ushort(self, value: object) -> int:
        """``value`` made to fit a USHORT (the DLL calls take C values)."""
        return value & 0xFFFF if isinstance(value, int) else 0

    def existing_block(self) -> tuple[Protocol, int, int] | None:
        """A persistent block the machine holds, a third of the time (lookups and deletes
        then find something)."""
        if not self.src.chance(35):
            return None
        held = sorted((p, r.range.start, r.range.count) for p in Protocol
                      for r in self.host.reservations(p) if r.persistent)
        return self.src.choice(held) if held else None

    def persistent_block(self) -> tuple[object, object, object]:
        """Arguments of a persistent call: an existing block or drawn ones."""
        held = self.existing_block()
        if held is not None:
            return held
        return self.protocol(), self.port(PERSIST), self.count()

    def protocol(self) -> object:
        """A protocol argument."""
        if self.src.chance(90):
            return self.src.choice((Protocol.TCP, Protocol.UDP))
        return self.src.choice((6, 17, 0, 7, -1, 2**64, None, "tcp", 6.0, True, Family.INET))

    def token(self, pid: int | None = None) -> object:
        """A token: the caller's own, another's, a persistent one, a dead one, or hostile."""
        r = self.src.integer(1, 100)
        if r <= 70:
            with self.ledger.lock:
                runtime = sorted(self.ledger.runtime.items())
            own = [t for t, v in runtime if v[0] == pid]
            if r <= 40 and own:
                return self.src.choice(own)
            if r <= 52:
                persistent = [res.token for p in Protocol for res in self.host.reservations(p)
                              if res.persistent]
                if persistent:
                    return self.src.choice(persistent)
            if r <= 62 and runtime:
                return self.src.choice(runtime)[0]
            if self.dead_tokens:
                return self.src.choice(list(self.dead_tokens))
        if r <= 85:
            return self.src.choice((0, 1, 2**64 - 1, 2**64, -1, 2**63))
        return self.hostile_int()

    def address(self, family: int) -> object:
        """A bind() address for a socket of ``family``."""
        v6 = family == int(Family.INET6)
        port = self.port()
        r = self.src.integer(1, 100)
        if r <= 55:
            return ("", port) if not v6 or self.src.chance(50) else ("::", port, 0, 0)
        if r <= 67:
            return ("::1", port, 0, 0) if v6 else ("127.0.0.1", port)
        if r <= 69:  # the LAN address, a foreign one (L1), a mapped one (L2, L3)
            if v6:
                return (self.src.choice(("fd00::10", "2001:db8::5", "::ffff:127.0.0.1")), port, 0, 0)
            return (self.src.choice(("192.168.1.10", "203.0.113.5", "239.1.2.3")), port)
        if r <= 71:
            return ("127.0.0.1", port) if v6 else ("::1", port)
        if r <= 75:
            return (self.src.choice(("127.0.0.1%eth0", "::1%", "fe80::1%1", "::1%eth0")), port)
        if r <= 80:
            return self.src.choice((("",), ("", port, 0), ("", port, 0, 0, 0), (),
                                    ("::", port, 2**20, 0), ("::", port, -1), ("::", port, 0, "x")))
        if r <= 85:
            return self.src.choice((["", port], "127.0.0.1:80", None, 80, b"\x7f\x00\x00\x01"))
        if r <= 90:
            return (self.src.choice((None, b"127.0.0.1", 1, ("",))), port)
        return (self.src.choice(("localhost", "256.0.0.1", "0.0.0.0", " ", "1.2.3", "::ffff:1.2.3.4",
                                 "\x00", "a" * 300)), port)
