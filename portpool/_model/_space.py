"""One protocol's port space: bound ports, three kinds of blocks, two dynamic ranges.

Theory of operation
-------------------
A ``PortSpace`` knows ports and blocks, never processes or call shapes.  Every block
is one of three kinds (rules X1, R1, R13d):

* ``RUNTIME``: granted by SIO_ACQUIRE_PORT_RESERVATION, lives as long as its socket;
* ``PERSISTENT``: CreatePersistent*PortReservation or ``netsh add excludedportrange``,
  the administered (``*``) rows of netsh;
* ``SYSTEM``: exclusion rows placed by Windows components (WinNAT, HTTP.sys), the rows
  netsh lists without ``*``.

Blocks of one space never overlap.  IPv4 and IPv6 share the space (rule X10); each IP
version has its own dynamic range (rules R18, Y4), and bind(0) or a wildcard block
draws from the range of the socket's family.

Indexes, kept in step by ``_take``/``_give``:

* ``bound``: port -> the first socket holding it, a plain dict (binding and closing are
  the hot path); ``shared``: port -> the other holders, for the rare ports several
  sockets share (addresses, SO_REUSEADDR, per-processor sockets: C1-C19);
* ``blocks``: block start -> block, sorted; the only block that can contain a port is
  the one with the greatest start at or below it;
* ``reserved``: every port inside a block, a set, for O(1) "is this port in a block";
* ``held``: port -> how many TCP connection endpoints (ESTABLISHED, FIN_WAIT_2,
  CLOSE_WAIT, TIME_WAIT) have it as their local port (``hold``/``release``,
  ``_connections.py``): a held port is not free either, so bind(0) and connect's implicit
  bind never hand it out (rule T8);
* per dynamic range, ``free``: how many of its ports are neither bound nor reserved,
  and, once the range has been found nearly full, a sorted set of exactly those
  ports.  Two IP versions whose ranges are the same ports (Windows' default) share one
  such entry, so a bind or a close counts once; each version still switches to the
  sorted set when its own allocation finds the range crowded (``crowded``), as it
  would with an entry of its own.

Where a wildcard port lands (rule A4) is Windows' sequential allocation by default:
one counter per protocol for the whole machine (this space's ``counter``), which
:meth:`PortSpace.allocate_port` moves to just past each port it hands out, skipping
every held port (either IP version, C17) and every block (X4); its first value is drawn
from the host's seeded generator.  Under A4's ``random`` alternative, and for a socket
with SO_RANDOMIZE_PORT (O11), the port is drawn uniformly instead, and the counter moves
just past it.  Wildcard blocks (:meth:`PortSpace.allocate_block`) take the first free
run at or after the counter, or a drawn one.

Both ways stay cheap when the range is nearly full: after ``_PROBES`` misses the
range's free ports are collected once into a sorted set (O(range)), which every later
bind, close and block keeps exact in O(log n) per port; from then on the next free port
at or after the counter is one bisection, and a uniform draw one index.  So filling a
range to the last port costs about the same per call as the first
(benchmarks/bench_pool.py measures it).  Wildcard blocks slide a window past the
highest taken port; when that keeps failing the free runs are enumerated exactly.  A
refused draw restores the generator, so a refused call changes nothing.
"""

from __future__ import annotations

import enum
import random
from typing import Final

import attrs
from sortedcontainers import SortedSet

from .._types import Family, PortRange, Reservation
from ._sorted import SortedIntMap

__all__ = ["Block", "BlockKind", "PortSpace"]

_PROBES: Final = 16  # random draws before bind(0) switches to the exact free set
_BLOCK_PROBES: Final = 64  # ... and before a wildcard block enumerates the free runs
_SLIDES: Final = 8  # window moves within a drawn run before drawing again


class BlockKind(enum.Enum):
    """The three kinds of blocks of a port space (rules R1, R13d, X1)."""

    RUNTIME = "runtime"
    PERSISTENT = "persistent"
    SYSTEM = "system"


@attrs.define(eq=False)
class Block:
    """A block of a port space.

    Attributes:
        kind: runtime, persistent or system.
        range: its ports.
        reservation: the reservation (token and block) of a runtime or persistent
            block; ``None`` for a system exclusion, which has no token.
        owner_pid, owner_socket: the process and socket a runtime block belongs to.
        owner: the Windows component a system exclusion belongs to ("WinNAT").
        active: a persistent block made with ``store=active`` (gone at the next boot).
    """

    kind: BlockKind
    range: PortRange
    reservation: Reservation | None = None
    owner_pid: int | None = None
    owner_socket: int | None = None
    owner: str | None = None
    active: bool = False


class _Range:
    """One dynamic range of the space and its free-port bookkeeping (shared by the IP
    versions whose ranges are the same ports)."""

    __slots__ = ("free", "free_set", "hi", "lo", "range")

    def __init__(self, dynamic: PortRange) -> None:
        self.range = dynamic
        self.lo, self.hi = dynamic.start, dynamic.last
        self.free = dynamic.count  # ports of the range neither bound nor reserved
        self.free_set: SortedSet | None = None  # exact free ports, once nearly full

    def copy(self) -> _Range:
        other = _Range.__new__(_Range)
        other.range, other.lo, other.hi, other.free = self.range, self.lo, self.hi, self.free
        other.free_set = None if self.free_set is None else self.free_set.copy()
        return other


class PortSpace:
    """One protocol's ports (see the module docstring)."""

    def __init__(self, ranges: dict[Family, PortRange]) -> None:
        self.bound: dict[int, int] = {}
        self.shared: dict[int, list[int]] = {}  # port -> the holders after the first
        self.blocks: SortedIntMap[Block] = SortedIntMap()  # start -> block
        self.reserved: set[int] = set()
        self.held: dict[int, int] = {}  # port -> connection endpoints on it (T8)
        self.ranges: dict[Family, _Range] = {}
        for family, dynamic in ranges.items():
            self.ranges[family] = self._twin(dynamic) or _Range(dynamic)
        self._distinct = _distinct(self.ranges)
        #: The families whose allocations found their range crowded: they take ports from
        #: its exact free set (and keep it in step, as every bind does once it exists).
        self.crowded: set[Family] = set()
        #: Windows' wildcard-port counter for this protocol (A4): the next port to try;
        #: ``None`` until the first allocation draws it.
        self.counter: int | None = None
        #: Whether ``blocks`` and ``reserved`` may be shared with a copy (copy on write).
        self._lent = False

    def copy(self) -> PortSpace:
        """An independent copy (blocks are shared: they are never changed once made).

        ``blocks`` and ``reserved`` (a preset's rows make them large) are shared with the
        copy until either space adds or removes a block (:meth:`_own`): a new machine
        copies its boot's template for nothing but a few empty dicts.
        """
        other = PortSpace.__new__(PortSpace)
        other.bound = self.bound.copy() if self.bound else {}
        other.shared = {port: holders.copy() for port, holders in self.shared.items()}
        other.blocks = self.blocks
        other.reserved = self.reserved
        self._lent = other._lent = True
        other.held = self.held.copy() if self.held else {}
        if len(self._distinct) == 1:  # one entry for every family (the usual case)
            entry = self._distinct[0].copy()
            other.ranges, other._distinct = dict.fromkeys(self.ranges, entry), (entry,)
        else:  # an entry each
            other.ranges = {family: entry.copy() for family, entry in self.ranges.items()}
            other._distinct = _distinct(other.ranges)
        other.crowded = set(self.crowded) if self.crowded else set()
        other.counter = self.counter
        return other

    def _own(self) -> None:
        """Take copies of ``blocks`` and ``reserved`` shared with another space before
        changing them (copy on write)."""
        self.blocks = self.blocks.copy()
        self.reserved = self.reserved.copy()
        self._lent = False

    # --- questions ------------------------------------------------------------------

    def dynamic(self, family: Family) -> PortRange:
        """The dynamic range of ``family``."""
        return self.ranges[family].range

    def free_ports(self, family: Family) -> int:
        """How many ports of ``family``'s dynamic range are neither bound nor in a block."""
        return self.ranges[family].free

    def block_at(self, port: int) -> Block | None:
        """The block containing ``port``, if any."""
        if port not in self.reserved:
            return None
        return self.blocks.floor(port)

    def overlapping(self, block: PortRange) -> Block | None:
        """A block sharing a port with ``block``, if any (the highest one)."""
        other = self.blocks.floor(block.last)
        return other if other is not None and other.range.overlaps(block) else None

    def bound_in(self, lo: int, hi: int) -> list[int]:
        """The bound ports of lo..hi, in order: O(min(hi - lo, bound ports))."""
        bound = self.bound
        if not bound:
            return []
        if hi - lo < len(bound):
            return [port for port in range(lo, hi + 1) if port in bound]
        return sorted(port for port in bound if lo <= port <= hi)

    # --- changes --------------------------------------------------------------------

    def add_block(self, block: Block) -> None:
        """Add a block (the caller checked that it overlaps none)."""
        if self._lent:
            self._own()
        ports = block.range
        start = ports.start
        self.blocks[start] = block
        if ports.count > 1:
            self.reserved.update(range(start, start + ports.count))
            self._recount(ports, -1)
            return
        self.reserved.add(start)  # a 1-port block (msquic's pattern): _recount, inlined
        if start not in self.bound and start not in self.held:
            for entry in self._distinct:  # _take, inlined
                if entry.lo <= start <= entry.hi:
                    entry.free -= 1
                    if entry.free_set is not None:
                        entry.free_set.discard(start)

    def remove_block(self, block: Block) -> None:
        """Remove a block; bound ports inside it stay bound (rule A20)."""
        if self._lent:
            self._own()
        ports = block.range
        start = ports.start
        del self.blocks[start]
        if ports.count > 1:
            self.reserved.difference_update(range(start, start + ports.count))
            self._recount(ports, +1)
            return
        self.reserved.discard(start)  # a 1-port block: _recount, inlined
        if start not in self.bound and start not in self.held:
            for entry in self._distinct:  # _give, inlined
                if entry.lo <= start <= entry.hi:
                    entry.free += 1
                    if entry.free_set is not None:
                        entry.free_set.add(start)

    def _recount(self, block: PortRange, step: int) -> None:
        """The unbound ports of ``block`` were taken (-1) or given back (+1): keep each
        range's free count and free set in step, a whole block at a time (1-port blocks:
        ``add_block`` and ``remove_block`` do it port by port)."""
        for entry in self._distinct:
            lo, hi = max(entry.lo, block.start), min(entry.hi, block.last)
            if lo > hi:
                continue
            taken = set(self.bound_in(lo, hi))  # bound or held by a connection: not free
            if self.held:
                taken.update(port for port in self.held if lo <= port <= hi)
            entry.free += step * (hi - lo + 1 - len(taken))
            free_set = entry.free_set
            if free_set is not None:
                skip = taken
                change = free_set.discard if step < 0 else free_set.add
                for port in range(lo, hi + 1):
                    if port not in skip:
                        change(port)

    def holders(self, port: int) -> list[int]:
        """The sockets holding ``port``, in the order they bound it."""
        first = self.bound.get(port)
        if first is None:
            return []
        return [first, *self.shared.get(port, ())]

    def bind(self, port: int, handle: int) -> None:
        """Add ``handle`` to ``port``'s holders (the caller checked the conflict table)."""
        if port in self.bound:  # a shared port (C1-C12, C19): it was not free before either
            self.shared.setdefault(port, []).append(handle)
            return
        self.bound[port] = handle
        if port not in self.reserved and port not in self.held:
            for entry in self._distinct:  # _take, inlined: this is the bind hot path
                if entry.lo <= port <= entry.hi:
                    entry.free -= 1
                    if entry.free_set is not None:
                        entry.free_set.discard(port)

    def unbind(self, port: int, handle: int) -> None:
        """The socket ``handle`` holding ``port`` closed."""
        others = self.shared.get(port)
        if others is not None:  # the port stays held by the others
            if self.bound[port] == handle:
                self.bound[port] = others.pop(0)
            else:
                others.remove(handle)
            if not others:
                del self.shared[port]
            return
        del self.bound[port]
        if port not in self.reserved and port not in self.held:
            for entry in self._distinct:  # _give, inlined: this is the close hot path
                if entry.lo <= port <= entry.hi:
                    entry.free += 1
                    if entry.free_set is not None:
                        entry.free_set.add(port)

    def hold(self, port: int) -> None:
        """A connection endpoint starts using ``port`` as its local port (T8)."""
        count = self.held.get(port, 0)
        self.held[port] = count + 1
        if not count and port not in self.bound and port not in self.reserved:
            self._take(port)

    def release(self, port: int) -> None:
        """A connection endpoint on ``port`` is gone (closed, reset, TIME_WAIT over)."""
        count = self.held[port] - 1
        if count:
            self.held[port] = count
            return
        del self.held[port]
        if port not in self.bound and port not in self.reserved:
            self._give(port)

    def set_range(self, family: Family, dynamic: PortRange) -> None:
        """Change ``family``'s dynamic range (rule Y3); nothing placed moves (Y5)."""
        entry = self._twin(dynamic, family)
        if entry is None:
            entry = _Range(dynamic)
            bound, reserved, held = self.bound, self.reserved, self.held
            entry.free = sum(1 for port in range(entry.lo, entry.hi + 1)
                             if port not in bound and port not in reserved and port not in held)
        self.ranges[family] = entry
        self._distinct = _distinct(self.ranges)
        self.crowded.discard(family)  # a new range: not found crowded yet

    def _twin(self, dynamic: PortRange, family: Family | None = None) -> _Range | None:
        """The entry of another family whose range is the same ports as ``dynamic``."""
        for other, entry in self.ranges.items():
            if other != family and entry.lo == dynamic.start and entry.hi == dynamic.last:
                return entry
        return None

    def _take(self, port: int) -> None:
        """``port`` stops being free (bound, or inside a new block)."""
        for entry in self._distinct:
            if entry.lo <= port <= entry.hi:
                entry.free -= 1
                if entry.free_set is not None:
                    entry.free_set.discard(port)

    def _give(self, port: int) -> None:
        """``port`` is free again."""
        for entry in self._distinct:
            if entry.lo <= port <= entry.hi:
                entry.free += 1
                if entry.free_set is not None:
                    entry.free_set.add(port)

    # --- handing out ports and blocks (rules A4, W1, X4, R3, C17, O11) -------------------

    def allocate_port(self, family: Family, rng: random.Random, *, sequential: bool = True) -> int | None:
        """The port Windows hands out for a wildcard port: bind(port 0), connect's implicit
        bind, and every other caller that needs "a free port" (rule A4).

        Windows counts: one counter per protocol for the whole machine, shared by every
        process and both IP versions, moved to just past each port handed out; a held
        port (bound by any socket, on either stack: C17) and every block (runtime,
        persistent or system row: X4) are skipped, and a port freed again may be handed
        out again as soon as the counter comes round.  ``sequential=False`` (A4's
        ``random`` alternative, or a socket with SO_RANDOMIZE_PORT: O11) draws the port
        uniformly from the free ones instead; the counter then moves just past it.

        Args:
            family: whose dynamic range the port comes from (Y4).
            rng: the host's seeded generator (the counter's first value; random draws).
            sequential: count (Windows' default) or draw.

        Returns:
            The port (the caller binds it), or ``None`` when the range has no free port
            (A13).  Nothing changes when ``None`` is returned.
        """
        entry = self.ranges[family]
        if entry.free == 0:
            return None
        counter = self.counter
        if counter is None:
            counter = self.counter = entry.lo + rng.randrange(entry.hi - entry.lo + 1)
        if not sequential:
            port = self._draw_port(family, entry, rng)
        elif (entry.lo <= counter <= entry.hi and counter not in self.bound
              and counter not in self.reserved and counter not in self.held):
            port = counter  # _next_free's answer when the counter's port is free
        else:
            port = self._next_free(family, entry)
        self.counter = port + 1 if port < entry.hi else entry.lo
        return port

    def allocate_block(self, family: Family, count: int, rng: random.Random, *,
                       sequential: bool = True) -> int | None:
        """The first port of a wildcard block of ``count`` free ports (SIO_ACQUIRE with
        StartPort 0: R2, R3, A4): the first free run at or after the counter (wrapping
        round to the range's start), or a drawn one when ``sequential`` is false.  The
        counter moves just past the block.  ``None`` (nothing changed) when no run of
        ``count`` free ports is left (A13)."""
        entry = self.ranges[family]
        if entry.free < count:  # cannot fit: refuse before touching the generator
            return None
        counter = self.counter
        if counter is None:
            counter = self.counter = entry.lo + rng.randrange(entry.hi - entry.lo + 1)
        first: int | None
        if not sequential:
            first = self._draw_block(family, count, rng)
        elif (count == 1 and entry.lo <= counter <= entry.hi and counter not in self.bound
              and counter not in self.reserved and counter not in self.held):
            first = counter  # _first_run's answer for one port when the counter's is free
        else:
            first = self._first_run(family, count)
        if first is None:
            return None
        last = first + count - 1
        self.counter = last + 1 if last < entry.hi else entry.lo
        return first

    def _next_free(self, family: Family, entry: _Range) -> int:
        """The first free port of ``entry`` (``family``'s range) at or after the counter,
        wrapping (one exists)."""
        assert self.counter is not None
        start = self.counter if entry.lo <= self.counter <= entry.hi else entry.lo
        if family not in self.crowded:
            bound, reserved, held, port = self.bound, self.reserved, self.held, start
            for _ in range(_PROBES):
                if port not in bound and port not in reserved and port not in held:
                    return port
                block = self.block_at(port)
                port = block.range.last + 1 if block is not None else port + 1
                if port > entry.hi:
                    port = entry.lo
        free_set = self._crowd(family, entry)  # crowded: bisect the exact free ports from now on
        index = free_set.bisect_left(start)
        result: int = free_set[index if index < len(free_set) else 0]
        return result

    def _first_run(self, family: Family, count: int) -> int | None:
        """The first window of ``count`` free ports at or after the counter, wrapping."""
        assert self.counter is not None
        entry = self.ranges[family]
        if count == 1:  # one port: the first free one at or after the counter, as bind(0)
            return self._next_free(family, entry)
        # Walk from the counter, jumping past whatever is taken (a block at once): the first
        # free window found is the first at or after the counter, in O(count) per step.
        # Only a walk that reaches the range's end or keeps meeting obstacles enumerates
        # the free runs (O(blocks)), which also handles the wrap.
        port = self.counter if entry.lo <= self.counter <= entry.hi else entry.lo
        for _ in range(_BLOCK_PROBES):
            if port + count - 1 > entry.hi:
                break
            taken = self._last_taken(port, count)
            if taken is None:
                return port
            block = self.block_at(taken)
            port = (block.range.last if block is not None else taken) + 1
        runs = self.segments(family, count)
        for lo, hi in runs:
            first = max(lo, self.counter)
            if hi - first + 1 >= count:
                return first
        return runs[0][0] if runs else None

    def _draw_port(self, family: Family, entry: _Range, rng: random.Random) -> int:
        """A uniformly drawn free port of ``entry`` (``family``'s range; one exists)."""
        if family not in self.crowded:
            lo, count = entry.lo, entry.hi - entry.lo + 1
            bound, reserved, held = self.bound, self.reserved, self.held
            for _ in range(_PROBES):  # rejection sampling: O(1) while the range is not full
                port = lo + rng.randrange(count)
                if port not in bound and port not in reserved and port not in held:
                    return port
        free_set = self._crowd(family, entry)
        drawn: int = free_set[rng.randrange(len(free_set))]
        return drawn

    def _crowd(self, family: Family, entry: _Range) -> SortedSet:
        """``family``'s allocations found its range ``entry`` crowded: from now on they
        use its exact free ports, collected once (unless the other IP version sharing the
        entry did already) and kept exact from then on."""
        self.crowded.add(family)
        if entry.free_set is None:
            bound, reserved, held = self.bound, self.reserved, self.held
            entry.free_set = SortedSet(port for port in range(entry.lo, entry.hi + 1)
                                       if port not in bound and port not in reserved
                                       and port not in held)
        return entry.free_set

    def pick_in_block(self, block: PortRange, rng: random.Random) -> int | None:
        """A uniformly drawn unbound port of ``block``, or ``None`` (rule A1)."""
        taken = self.bound_in(block.start, block.last)
        if len(taken) >= block.count:
            return None
        port = block.start + rng.randrange(block.count - len(taken))
        for bound_port in taken:  # the i-th free port: skip the bound ones below it
            if bound_port <= port:
                port += 1
            else:
                break
        return port

    def _draw_block(self, family: Family, count: int, rng: random.Random) -> int | None:
        """The first port of a drawn free block of ``count`` ports, or ``None``.

        A refusal leaves ``rng`` as it was (its state is restored).
        """
        entry = self.ranges[family]
        saved = rng.getstate()
        lo, last_first = entry.lo, entry.hi - count + 1
        if family not in self.crowded:
            for _ in range(_BLOCK_PROBES):
                first = lo + rng.randrange(last_first - lo + 1)
                for _ in range(_SLIDES):  # slide past the highest taken port of the window
                    conflict = self._last_taken(first, count)
                    if conflict is None:
                        return first
                    first = conflict + 1
                    if first > last_first:
                        break
        free = self._crowd(family, entry)  # crowded: from now on draw among the free ports only
        if count == 1:
            one: int = free[rng.randrange(len(free))]
            return one
        for _ in range(_BLOCK_PROBES):  # a window starting at a drawn free port
            first = int(free[rng.randrange(len(free))])
            if first <= last_first and self._last_taken(first, count) is None:
                return first
        segments = self.segments(family, count)
        if not segments:
            rng.setstate(saved)
            return None
        start, end = segments[rng.randrange(len(segments))]
        drawn: int = start + rng.randrange(end - start - count + 2)
        return drawn

    def segments(self, family: Family, minimum: int) -> list[tuple[int, int]]:
        """Exactly the runs of free ports of ``family``'s range at least ``minimum`` long."""
        entry = self.ranges[family]
        if entry.free_set is not None:  # nearly full: the free ports are few and known
            return _runs(list(entry.free_set), minimum)
        out = []
        for lo, hi in self._unreserved_runs(entry):
            cursor = lo
            taken = self.bound_in(lo, hi)
            if self.held:  # connection endpoints' ports are taken too (T8)
                taken = sorted({*taken, *(port for port in self.held if lo <= port <= hi)})
            for port in taken:
                if port - cursor >= minimum:
                    out.append((cursor, port - 1))
                cursor = port + 1
            if hi - cursor + 1 >= minimum:
                out.append((cursor, hi))
        return out

    def _unreserved_runs(self, entry: _Range) -> list[tuple[int, int]]:
        """The runs of the range between blocks, in order: O(blocks)."""
        runs, cursor = [], entry.lo
        for block in self.blocks.values_from(entry.lo):  # a block may start below the range
            if block.range.start > entry.hi:
                break
            if block.range.start > cursor:
                runs.append((cursor, block.range.start - 1))
            cursor = max(cursor, block.range.last + 1)
        if cursor <= entry.hi:
            runs.append((cursor, entry.hi))
        return runs

    def _last_taken(self, first: int, count: int) -> int | None:
        """The highest bound or reserved port of first..first+count-1; ``None`` if all free."""
        bound, reserved, held = self.bound, self.reserved, self.held
        for port in range(first + count - 1, first - 1, -1):
            if port in bound or port in reserved or port in held:
                return port
        return None


def _runs(ports: list[int], minimum: int) -> list[tuple[int, int]]:
    """The runs of consecutive ports in sorted ``ports`` at least ``minimum`` long."""
    out: list[tuple[int, int]] = []
    if not ports:
        return out
    start = previous = ports[0]
    for port in ports[1:]:
        if port != previous + 1:
            if previous - start + 1 >= minimum:
                out.append((start, previous))
            start = port
        previous = port
    if previous - start + 1 >= minimum:
        out.append((start, previous))
    return out


def _distinct(ranges: dict[Family, _Range]) -> tuple[_Range, ...]:
    """The entries of ``ranges``, each once (IP versions with the same ports share one)."""
    out: list[_Range] = []
    for entry in ranges.values():
        if not any(entry is seen for seen in out):
            out.append(entry)
    return tuple(out)
