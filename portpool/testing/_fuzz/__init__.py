"""A fuzzer for an :class:`~portpool.EmulatedHost`: hostile arguments, invariant checks.

It drives one machine through everything a caller can reach:

* the **interface** (:class:`~portpool.PortPool` and :class:`~portpool.Socket`) of
  emulated processes (``host.process()``) and of the ctypes backend over the emulated
  DLLs (``WindowsPool(dlls=host.dlls())``);
* the **DLL surface** (``host.dlls()``): the ws2_32 and iphlpapi function pointers with
  real buffers, NULL pointers, short and lying sizes, host-order ports, bad IOCTL codes,
  overlapped calls and completion routines, events, ``fail_next`` fault injection;
* the **host** itself: ``reboot()``, introspection, ``exclude()``, ``netsh()``, the
  constructor.

Arguments are drawn from a :class:`Source`: :class:`RandomSource` (a seeded
:class:`random.Random`, fast, for long runs) or :class:`HypothesisSource` (``st.data()``,
so Hypothesis can shrink a failing sequence).  Both are deterministic for a given seed.

What is checked
---------------
After every call (single-threaded):

* only :data:`ALLOWED` exceptions escape: :class:`~portpool.PortPoolError` for what
  Windows decides, ``TypeError``/``ValueError``/``OverflowError`` (raised by portpool
  itself or Python's own checks, never a foreign subclass such as
  ``ipaddress.AddressValueError``) for what Python decides;
* a refused call (an exception, or a DLL failure code) leaves ``host.snapshot()``
  unchanged, and a refused :meth:`Socket.close` leaves the socket open;
* the machine's structure (:func:`check_host`): no socket listed twice, shared ports only as
  the conflict table allows (``Machine.sharing_problems``), blocks
  of one protocol never overlap, tokens are unique and non-zero, every binding's socket
  and every runtime block's owner is alive, the introspection calls never raise;
* postconditions of successful calls (a granted block has the size asked for, a lookup
  finds the token create gave, ...), DLL output buffers written only within the size the
  caller gave (canaries), ``*lpErrno`` written by a failing WSPIoctl, an injected fault
  read as a failure, no exception caught by the DLLs' catch-all.

At the end of each episode (and of a threaded run), the :class:`Ledger` of what callers
were granted is compared with the machine: no lost and no leaked runtime blocks, the
persistent blocks are exactly those created and not deleted, the bound sockets and live
sockets are exactly the callers'.  ``reboot()`` keeps persistent blocks, with new tokens.

Extending it
------------
Every operation is one row of :data:`OPERATIONS`: ``Operation(name, layer, weight, run,
available=...)``.  ``run(world, source)`` draws its arguments and makes its calls through
:meth:`World.call` (interface and host) or :meth:`World.dll_call` (DLL functions), which
do the recording and the checks.  ``available(host)`` lets a row wait for a host method
that does not exist yet (``hasattr``).
"""

from __future__ import annotations

import abc
import bisect
import collections
import ctypes
import functools
import importlib.util
import ipaddress
import itertools
import math
import os
import random
import re
import socket as _pysocket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final, TypeVar

import attrs
from hypothesis import strategies as st

from ... import _abi
from ..._errors import PortPoolError, WinError
from ..._host import EmulatedHost
from ..._interface import PortPool, Socket
from ..._model._rules import ALTERNATIVES
from ..._registry import load_backend
from ..._types import (
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    MAX_PORT,
    SO_EXCLUSIVEADDRUSE,
    SO_REUSEADDR,
    SOL_SOCKET,
    Family,
    PortRange,
    Protocol,
    Reservation,
)

__all__ = [
    "ALLOWED",
    "OPERATIONS",
    "FuzzOptions",
    "FuzzReport",
    "HypothesisSource",
    "Ledger",
    "Operation",
    "RandomSource",
    "Source",
    "Stats",
    "Violation",
    "World",
    "check_host",
    "fuzz_steps",
    "run_fuzz",
    "run_threads",
]

T = TypeVar("T")

#: The exception types a caller may see.  Subclasses count only when portpool defines
#: them (StoreError, NetshParseError): a foreign ValueError subclass escaping
#: (``ipaddress.AddressValueError``) means an internal error leaked.
ALLOWED: Final = (PortPoolError, TypeError, ValueError, OverflowError)
_PYTHON_DECIDES: Final = frozenset({TypeError, ValueError, OverflowError})

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
_WRONG_TYPES: Final[tuple[object, ...]] = (
    None, "1", "", "5000", 1.0, 0.5, math.nan, math.inf, True, False, b"\x01", (), (1,),
    [1], {}, 1j, object(),
)
_CANARY: Final = 32
_CANARY_BYTE: Final = 0xA5
_STATUS_PENDING: Final = _abi.STATUS_PENDING
_WSA_WAIT_FAILED: Final = 0xFFFFFFFF
_WSA_MAXIMUM_WAIT_EVENTS: Final = 64
_ERRNO_SENTINEL: Final = -7
_UNKNOWN_CODE: Final = -(2**40)  # a failure whose code the caller cannot read
_ACQ: Final = _abi.SIO_ACQUIRE_PORT_RESERVATION
_ASSOC: Final = _abi.SIO_ASSOCIATE_PORT_RESERVATION
_REL: Final = _abi.SIO_RELEASE_PORT_RESERVATION
_OTHER_IOCTLS: Final = (0x8004667E, 0x4004667F, 0x98000001, 0xC8000006, 0x98000063,
                        0x98000067, 0, 0xFFFFFFFF)
_INSTANCE: Final = ctypes.sizeof(_abi.INET_PORT_RESERVATION_INSTANCE)
_SIN: Final = ctypes.sizeof(_abi.SOCKADDR_IN)
_SIN6: Final = ctypes.sizeof(_abi.SOCKADDR_IN6)
_WSADATA: Final = ctypes.sizeof(_abi.WSADATA)


# --- sources of choices -----------------------------------------------------------------


class Source(abc.ABC):
    """Where every choice of a fuzz run comes from.

    Choices are made so that the smallest draw is the most ordinary one: Hypothesis
    shrinks toward it, so a shrunk failure keeps only the hostile choices it needs.
    """

    @abc.abstractmethod
    def integer(self, low: int, high: int) -> int:
        """An int in ``low..high`` (inclusive)."""

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options`` (the first is the most ordinary)."""
        return options[self.integer(0, len(options) - 1)]

    def chance(self, percent: int) -> bool:
        """True with probability ``percent``/100 (False when shrunk)."""
        return self.integer(1, 100) > 100 - percent

    def weighted(self, cumulative: Sequence[int]) -> int:
        """An index drawn by the running totals of weights ``cumulative``."""
        draw = self.integer(0, cumulative[-1] - 1)
        low, high = 0, len(cumulative) - 1
        while low < high:  # the first running total above the draw
            mid = (low + high) // 2
            if cumulative[mid] > draw:
                high = mid
            else:
                low = mid + 1
        return low


class RandomSource(Source):
    """Choices from a seeded :class:`random.Random` (never the global one)."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        """See :meth:`Source.integer`."""
        return self._rng.randint(low, high)


class HypothesisSource(Source):
    """Choices drawn from Hypothesis's ``st.data()``, so failures shrink."""

    def __init__(self, data: Any) -> None:
        self._data = data
        self._cache: dict[tuple[int, int], st.SearchStrategy[int]] = {}

    def integer(self, low: int, high: int) -> int:
        """See :meth:`Source.integer`."""
        strategy = self._cache.get((low, high))
        if strategy is None:
            strategy = self._cache[(low, high)] = st.integers(low, high)
        value: int = self._data.draw(strategy)
        return value


# --- results ----------------------------------------------------------------------------


@attrs.frozen
class Violation:
    """One broken invariant.

    Attributes:
        kind: what broke (``"exception"``, ``"refusal changed state"``, ``"structure"``,
            ``"ledger"``, ``"postcondition"``, ``"canary"``, ``"fault"``, ``"internal"``,
            ``"reboot"``, ``"harness"``).
        op: the operation that showed it.
        detail: what was seen.
        calls: the last calls made before it (``op(args)``), oldest first.
    """

    kind: str
    op: str
    detail: str
    calls: tuple[str, ...] = ()

    def __str__(self) -> str:
        recent = "".join(f"\n      {c}" for c in self.calls[-8:])
        return f"[{self.kind}] {self.op}: {self.detail}{recent}"


@attrs.define
class Stats:
    """Counters of one run (merged over threads)."""

    calls: collections.Counter[str] = attrs.Factory(collections.Counter)
    succeeded: collections.Counter[str] = attrs.Factory(collections.Counter)
    outcomes: collections.Counter[str] = attrs.Factory(collections.Counter)
    codes: collections.Counter[str] = attrs.Factory(collections.Counter)
    raised: collections.Counter[tuple[str, str]] = attrs.Factory(collections.Counter)
    raised_ops: dict[tuple[str, str], set[str]] = attrs.Factory(dict)
    checks: collections.Counter[str] = attrs.Factory(collections.Counter)
    violation_kinds: collections.Counter[str] = attrs.Factory(collections.Counter)
    violations: list[Violation] = attrs.Factory(list)
    max_kept: int = 100

    @property
    def total(self) -> int:
        """How many calls were made."""
        return sum(self.calls.values())

    def violate(self, violation: Violation) -> None:
        """Record a violation (the first :attr:`max_kept` are kept in full)."""
        self.violation_kinds[violation.kind] += 1
        if len(self.violations) < self.max_kept:
            self.violations.append(violation)

    def merge(self, other: Stats) -> None:
        """Add ``other``'s counts to these."""
        for mine, theirs in ((self.calls, other.calls), (self.succeeded, other.succeeded),
                             (self.outcomes, other.outcomes),
                             (self.codes, other.codes), (self.checks, other.checks),
                             (self.violation_kinds, other.violation_kinds)):
            mine.update(theirs)
        self.raised.update(other.raised)
        for key, ops in other.raised_ops.items():
            self.raised_ops.setdefault(key, set()).update(ops)
        room = self.max_kept - len(self.violations)
        self.violations.extend(other.violations[:max(room, 0)])


@attrs.define
class FuzzReport:
    """What a run did: :attr:`stats`, the time it took, and :meth:`summary`."""

    stats: Stats
    seconds: float
    threads: int = 1
    seed: int = 0

    @property
    def violations(self) -> list[Violation]:
        """The violations kept (see :attr:`Stats.violation_kinds` for all counts)."""
        return self.stats.violations

    @property
    def clean(self) -> bool:
        """Whether no invariant was broken."""
        return not self.stats.violation_kinds

    def summary(self, top: int = 25) -> str:
        """A printable report: calls, outcomes, exceptions by type and site, checks."""
        s = self.stats
        total = s.total
        rate = total / self.seconds if self.seconds else 0.0
        layers = collections.Counter(name.split(".", 1)[0] for name in s.calls.elements())
        lines = [
            f"calls: {total:,} ({', '.join(f'{k} {v:,}' for k, v in sorted(layers.items()))})"
            f" in {self.seconds:,.1f} s with {self.threads} thread(s), seed {self.seed}:"
            f" {rate:,.0f} calls/s",
            "outcomes: " + ", ".join(f"{k} {v:,}" for k, v in s.outcomes.most_common()),
            f"Windows codes of refusals (top {top}): "
            + ", ".join(f"{k} {v:,}" for k, v in s.codes.most_common(top)),
        ]
        windows = [(key, n) for key, n in s.raised.most_common() if key[0] == "PortPoolError"]
        others = [(key, n) for key, n in s.raised.most_common() if key[0] != "PortPoolError"]
        for title, rows, limit in (
                ("PortPoolError by call site (deepest portpool frame)", windows, top),
                ("other exceptions by type and call site (all)", others, len(others))):
            lines.append(f"{title}:")
            for (kind, site), count in rows[:limit]:
                ops = ", ".join(sorted(s.raised_ops.get((kind, site), ())))
                lines.append(f"  {count:>9,}  {kind:<19} {site:<40} {ops[:80]}")
            if len(rows) > limit:
                lines.append(f"  ... {len(rows) - limit} more sites")
        lines.append("invariant checks: " + ", ".join(
            f"{k} {v:,}" for k, v in sorted(s.checks.items())))
        lines.append(f"violations: {sum(s.violation_kinds.values()):,}" + (
            " (" + ", ".join(f"{k} {v:,}" for k, v in s.violation_kinds.most_common()) + ")"
            if s.violation_kinds else ""))
        seen: set[tuple[str, str, str]] = set()
        for violation in s.violations:  # one example of each distinct finding
            key = (violation.kind, violation.op, re.sub(r"0x[0-9a-f]+|\d+", "N", violation.detail))
            if key not in seen and len(seen) < top:
                seen.add(key)
                lines.append(f"  {violation}")
        return "\n".join(lines)


# --- where an exception came from -------------------------------------------------------


def _roots() -> tuple[tuple[str, str], ...]:
    here = os.path.dirname(os.path.abspath(__file__))  # portpool/testing/_fuzz
    package = os.path.dirname(os.path.dirname(here))
    spec = importlib.util.find_spec("portpool.backends")  # backends/ in an editable install
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    backends = os.path.abspath(locations[0]) if locations else os.path.join(package, "backends")
    return ((os.path.join(package, "testing"), ""), (backends, "backends"), (package, "portpool"))


_ROOTS: Final = _roots()


def _library_path(filename: str) -> str | None:
    """``portpool/...`` or ``backends/...`` for a library file; ``None`` otherwise."""
    path = os.path.abspath(filename)
    for root, label in _ROOTS:
        if path.startswith(root + os.sep):
            return f"{label}/{os.path.relpath(path, root)}" if label else None
    return None


def exception_site(exc: BaseException) -> str:
    """``file:line`` of the deepest frame inside portpool that the exception passed."""
    site = "(outside portpool)"
    for frame in traceback.extract_tb(exc.__traceback__):
        where = _library_path(frame.filename)
        if where is not None:
            site = f"{where}:{frame.lineno}"
    return site


def _allowed(exc: BaseException) -> bool:
    if isinstance(exc, PortPoolError):
        return True
    if type(exc) in _PYTHON_DECIDES:
        return True
    return isinstance(exc, ALLOWED) and type(exc).__module__.startswith("portpool")


_FRAME: Final = re.compile(r'^\s*File "([^"]+)", line (\d+)')


def _tracebacks(text: str) -> list[tuple[str, str]]:
    """``(exception type, deepest portpool site)`` of each traceback printed in ``text``."""
    found = []
    for block in text.split("Traceback (most recent call last):")[1:]:
        site, kind = "(outside portpool)", "?"
        for line in block.splitlines():
            match = _FRAME.match(line)
            if match:
                where = _library_path(match.group(1))
                if where is not None:
                    site = f"{where}:{match.group(2)}"
            elif line and not line[0].isspace():
                kind = line.split(":", 1)[0].strip()
                break
        found.append((kind, site))
    return found


class _Tap:
    """A stand-in for ``sys.stderr`` that keeps what is written (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self.unraisable: list[tuple[str, str]] = []

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        """Nothing to flush."""

    def pending(self) -> bool:
        """Whether anything was written since the last :meth:`take`."""
        return bool(self._parts) or bool(self.unraisable)

    def take(self) -> str:
        """Everything written since the last call."""
        with self._lock:
            text = "".join(self._parts)
            self._parts.clear()
        return text

    def hook(self, info: Any) -> None:
        """``sys.unraisablehook``: exceptions raised where nobody could catch them."""
        exc = info.exc_value
        site = exception_site(exc) if exc is not None else "?"
        with self._lock:
            self.unraisable.append((type(exc).__name__ if exc is not None else "?", site))


@contextmanager
def _capturing() -> Iterator[_Tap]:
    """Keep stderr and unraisable exceptions for the fuzzer to attribute."""
    tap = _Tap()
    old_stderr, old_hook = sys.stderr, sys.unraisablehook
    sys.stderr = tap  # type: ignore[assignment,unused-ignore]  # write/flush: all print needs
    sys.unraisablehook = tap.hook
    try:
        yield tap
    finally:
        sys.stderr, sys.unraisablehook = old_stderr, old_hook


# --- what the callers were granted ------------------------------------------------------

PersistentKey = tuple[int, int, int]  # (protocol, start, count)
SocketKey = tuple[int, int]  # (pid, handle)


class Ledger:
    """What the fuzzer's callers were granted, kept from the calls' own answers.

    Shared by every :class:`World` of a run (one per thread); compared with the machine
    by :meth:`World.full_check`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: token -> (pid, handle, protocol, block) of a runtime reservation
        self.runtime: dict[int, tuple[int, int, Protocol, PortRange]] = {}
        #: creates minus deletes of each persistent block (0 or 1)
        self.persistent: collections.Counter[PersistentKey] = collections.Counter()
        self.active: set[PersistentKey] = set()  # made with netsh store=active
        self.sockets: set[SocketKey] = set()
        self.bound: set[SocketKey] = set()
        self.pids: set[int] = set()

    def seed_persistent(self, host: EmulatedHost) -> None:
        """Take the blocks a machine starts with (a preset's administered rows)."""
        with self.lock:
            for protocol in Protocol:
                for res in host.reservations(protocol):
                    if res.persistent:
                        key = (int(protocol), res.range.start, res.range.count)
                        self.persistent[key] = 1

    def add_socket(self, pid: int, handle: int) -> bool:
        """A new socket; False if the handle was already given out (a violation)."""
        with self.lock:
            new = (pid, handle) not in self.sockets
            self.sockets.add((pid, handle))
            return new

    def drop_socket(self, pid: int, handle: int) -> None:
        """A socket closed: its port and its runtime blocks go (R4)."""
        with self.lock:
            self.sockets.discard((pid, handle))
            self.bound.discard((pid, handle))
            for token in [t for t, v in self.runtime.items() if v[:2] == (pid, handle)]:
                del self.runtime[token]

    def drop_process(self, pid: int) -> None:
        """A process ended (or WSACleanup closed its sockets)."""
        with self.lock:
            for key in [k for k in self.sockets if k[0] == pid]:
                self.sockets.discard(key)
                self.bound.discard(key)
            for token in [t for t, v in self.runtime.items() if v[0] == pid]:
                del self.runtime[token]

    def reboot(self) -> None:
        """Everything but the persistent blocks made for good is gone."""
        with self.lock:
            self.runtime.clear()
            self.sockets.clear()
            self.bound.clear()
            for key in self.active:
                self.persistent[key] = 0
            self.active.clear()

    def sockets_of(self, pid: int) -> set[int]:
        """The live handles the ledger knows for ``pid``."""
        with self.lock:
            return {h for p, h in self.sockets if p == pid}


# --- the machine's own invariants -------------------------------------------------------


def _is_system_row(row: Any) -> bool:
    owner = getattr(row, "owner", None)
    return not row.administered and isinstance(owner, str) and not owner.startswith("process ")


def check_host(host: EmulatedHost, *, full: bool = False) -> list[str]:
    """The machine's structural invariants; returns the problems found (none: ``[]``).

    Holds the host's lock (when it has one) so that threads see one consistent state.
    """
    lock = getattr(host, "lock", None)
    if lock is None:
        return _check_host(host, full)
    with lock:
        return _check_host(host, full)


def _check_host(host: EmulatedHost, full: bool) -> list[str]:
    machine = host.machine
    problems: list[str] = (machine.sharing_problems() if hasattr(machine, "sharing_problems")
                           else [])
    tokens: set[int] = set()
    for protocol in Protocol:
        try:
            reservations = host.reservations(protocol)
            bindings = host.bindings(protocol)
            rows = host.exclusions(protocol) if full and hasattr(host, "exclusions") else ()
        except Exception as exc:  # introspection must never raise
            return [f"introspection of {protocol.name} raised {type(exc).__name__}:"
                    f" {exc} at {exception_site(exc)}"]
        blocks = [(r.range, f"token {r.token:#x}") for r in reservations]
        blocks += [(row.range, f"exclusion of {row.owner}") for row in rows if _is_system_row(row)]
        blocks.sort(key=lambda b: (b[0].start, b[0].count))
        for (a, what_a), (b, what_b) in itertools.pairwise(blocks):
            if a.overlaps(b):
                problems.append(f"{protocol.name} blocks overlap: {a!r} ({what_a}) and {b!r}"
                                f" ({what_b})")
        for res in reservations:
            if res.token == 0 or res.token in tokens:
                problems.append(f"token {res.token:#x} is zero or given twice")
            tokens.add(res.token)
            if res.protocol is not protocol:
                problems.append(f"{protocol.name} reservation {res!r} says {res.protocol}")
            if not res.persistent:
                owner = machine.reservation_owner(res.token)
                if owner is None or not machine.is_alive(owner):
                    problems.append(f"runtime block {res.range!r} of process {owner} outlives it")
        sockets = [(b.pid, b.socket) for b in bindings]
        if len(set(sockets)) != len(sockets):  # a port may have several holders (C1-C19)
            twice = sorted(k for k, n in collections.Counter(sockets).items() if n > 1)
            problems.append(f"{protocol.name} sockets listed twice: {twice[:10]}")
        live: dict[int, set[int]] = {}
        for binding in bindings:
            if binding.pid not in live:
                live[binding.pid] = (set(machine.sockets_of(binding.pid))
                                     if machine.is_alive(binding.pid) else set())
            if binding.socket not in live[binding.pid]:
                problems.append(f"{protocol.name} port {binding.port} is bound by socket"
                                f" {binding.socket:#x} of process {binding.pid}, which is gone")
            if not 1 <= binding.port <= MAX_PORT:
                problems.append(f"binding to port {binding.port}")
        if full and hasattr(machine, "free_ports"):
            taken = sorted(b[0] for b in blocks)
            bound_ports = sorted({b.port for b in bindings})
            for family in Family:
                problem = _free_count_problem(machine, protocol, family,
                                              host.dynamic_range(protocol, family), taken,
                                              bound_ports)
                if problem:
                    problems.append(problem)
    if full:
        try:
            hash(host.snapshot())
        except Exception as exc:
            problems.append(f"host.snapshot() is not hashable: {type(exc).__name__}: {exc}")
    return problems


def _free_count_problem(machine: Any, protocol: Protocol, family: Family, dynamic: PortRange,
                        blocks: list[PortRange], bound: list[int]) -> str | None:
    """The machine's count of free dynamic ports against one rebuilt from what it shows."""
    covered = sum(max(0, min(b.last, dynamic.last) - max(b.start, dynamic.start) + 1)
                  for b in blocks)
    starts = [b.start for b in blocks]
    for port in bound:
        if port in dynamic:
            index = bisect.bisect_right(starts, port) - 1
            if index < 0 or port > blocks[index].last:
                covered += 1
    expected = dynamic.count - covered
    actual = machine.free_ports(protocol, family)
    if actual != expected:
        return (f"{protocol.name} {family.name}: the machine counts {actual} free ports in"
                f" {dynamic!r}, its blocks and bindings leave {expected}")
    return None


# --- operations -------------------------------------------------------------------------


def _always(host: EmulatedHost) -> bool:
    del host
    return True


@attrs.frozen
class Operation:
    """One row of the operation table.

    Attributes:
        name: ``layer.verb``, as counted in the report.
        layer: ``"interface"``, ``"dll"`` or ``"host"`` (selected by
            :attr:`FuzzOptions.layers`).
        weight: how often it is drawn, relative to the others.
        run: ``run(world, source)``: draws arguments, makes its calls.
        available: whether the host supports it (``hasattr`` for coming methods).
        threads: whether it may run while other threads use the host (not for
            operations that replace the whole machine: reboot).
    """

    name: str
    layer: str
    weight: int
    run: Callable[[World, Source], None]
    available: Callable[[EmulatedHost], bool] = _always
    threads: bool = True


@attrs.frozen
class FuzzOptions:
    """How a run is shaped.

    Attributes:
        layers: which layers' operations to draw (``interface``, ``dll``, ``host``).
        only: if given, only the operations with these names.
        exclude: operations never drawn.
        episode: calls on one machine before a full check and a fresh machine.
        max_sockets: live sockets a world keeps at most (more: it closes one).
        check_every: the structural check runs after every this many calls.
        full_every: the full check (ledger) runs after every this many calls.
        compare_refusals: compare ``host.snapshot()`` around refused calls
            (single-threaded runs only).
        unsafe_wait_counts: also pass huge ``cEvents`` with a 65-entry array to
            WSAWaitForMultipleEvents (crashes an emulator that reads them all).
        dynamic_ports: the dynamic range of fresh machines (``None``: drawn).
    """

    layers: frozenset[str] = frozenset({"interface", "dll", "host"})
    only: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()
    episode: int = 2000
    max_sockets: int = 48
    check_every: int = 1
    full_every: int = 500
    compare_refusals: bool = True
    unsafe_wait_counts: bool = False
    dynamic_ports: PortRange | None = None

    def operations(self, host: EmulatedHost, *, threaded: bool = False) -> list[Operation]:
        """The rows of :data:`OPERATIONS` this run draws from."""
        chosen = [op for op in OPERATIONS
                  if op.layer in self.layers and op.name not in self.exclude
                  and (self.only is None or op.name in self.only)
                  and op.available(host) and (op.threads or not threaded)]
        if not chosen:
            raise ValueError("no operation left to fuzz with these options")
        return chosen


# --- the callers: processes, sockets, DLL pairs -----------------------------------------


@attrs.define(eq=False)
class _Proc:
    """A process seen through the interface: an EmulatedPool or a WindowsPool."""

    pool: PortPool
    pid: int
    admin: bool
    dlls: Any = None  # the DLL pair under a WindowsPool
    sockets: list[_Sock] = attrs.Factory(list)
    closed: bool = False

    @property
    def label(self) -> str:
        return f"{'ctypes' if self.dlls is not None else 'emulated'} pid {self.pid}"


@attrs.define(eq=False)
class _Sock:
    sock: Socket
    proc: _Proc
    handle: int
    protocol: Protocol | None
    family: int
    closed: bool = False

    def __repr__(self) -> str:
        state = "closed " if self.closed else ""
        return f"<{state}socket {self.handle:#x} of {self.proc.label}>"


@attrs.define(eq=False)
class _DProc:
    """A process seen through its DLL pair."""

    dlls: Any
    pid: int
    admin: bool
    started: int = 0
    sockets: dict[int, Protocol | None] = attrs.Factory(dict)
    families: dict[int, int] = attrs.Factory(dict)  # handle -> AF_INET or AF_INET6
    closed: list[int] = attrs.Factory(list)
    events: list[int] = attrs.Factory(list)
    closed_events: list[int] = attrs.Factory(list)
    exited: bool = False

    @property
    def ws2(self) -> Any:
        return self.dlls.ws2_32

    @property
    def iph(self) -> Any:
        return self.dlls.iphlpapi


@attrs.define(eq=False)
class _Pending:
    """An overlapped IOCTL the emulator may complete later: its buffers stay alive."""

    proc: _DProc
    handle: int
    code: int
    overlapped: Any
    out: Any
    token: int
    start: int
    count: int
    keep: tuple[Any, ...]


class World:
    """One thread's callers on one host: processes, sockets, DLL pairs, and the checks.

    Args:
        host: the machine.
        source: where choices come from.
        options: see :class:`FuzzOptions`.
        ledger: shared by every world of a run.
        stats: this world's counters.
        tap: stderr/unraisable capture (from the runner).
        threaded: other threads use the host too (no snapshot comparisons, no reboot).
    """

    def __init__(self, host: EmulatedHost, source: Source, options: FuzzOptions, *,
                 ledger: Ledger, stats: Stats, tap: _Tap | None = None,
                 threaded: bool = False) -> None:
        self.host = host
        self.src = source
        self.options = options
        self.ledger = ledger
        self.stats = stats
        self.tap = tap
        self.threaded = threaded
        self.held: list[int] = []  # ports binds took lately: binding them again meets C1-C19
        self.procs: list[_Proc] = []
        self.dprocs: list[_DProc] = []
        self.dead_tokens: collections.deque[int] = collections.deque(maxlen=32)
        self.pending: list[_Pending] = []
        self.recent: collections.deque[tuple[str, Any]] = collections.deque(maxlen=16)
        self.expected_fault: tuple[str, int] | None = None
        self.calls_since_check = 0
        self.last_error: Exception | None = None
        self.apc_victims: list[tuple[_DProc, int]] = []
        self.apc_closed: list[tuple[_DProc, int, int]] = []
        self.calls_since_full = 0
        self._dynamic = self._read_dynamic()
        ops = options.operations(host, threaded=threaded)
        self.ops = ops
        self._cumulative = list(_running_totals(op.weight for op in ops))
        #: completion routines: one counts, one re-enters the DLL (closesocket)
        self.routines = (
            _abi.COMPLETION_ROUTINE(self._count_routine),
            _abi.COMPLETION_ROUTINE(self._closing_routine),
        )

    # --- running -----------------------------------------------------------------------

    def setup(self) -> None:
        """Start the first callers: two emulated processes (one elevated), a ctypes pool,
        two DLL processes (one elevated) after WSAStartup."""
        for admin in (False, True):
            _i_process(self, self.src, admin=admin, ctypes_pool=False)
        _i_process(self, self.src, admin=True, ctypes_pool=True)
        for admin in (False, True):
            proc = _d_new_process(self, admin)
            if proc is not None:
                _d_startup(self, self.src, proc=proc, ordinary=True)

    def step(self) -> None:
        """Draw one operation and run it.

        The calls an operation makes are checked by :meth:`call`; anything else that
        raises inside it (introspection the fuzzer itself uses, on a broken machine) is a
        violation too, and the run goes on.
        """
        op = self.ops[self.src.weighted(self._cumulative)]
        try:
            op.run(self, self.src)
            self._after_op(op.name)
        except Exception as exc:
            site = exception_site(exc)
            kind = "exception" if site != "(outside portpool)" else "harness"
            self.violate(kind, op.name, f"{type(exc).__name__}: {exc} at {site} (while"
                         f" checking)\n{''.join(traceback.format_exception(exc))[-1500:]}")

    def run(self, calls: int) -> None:
        """Run operations until ``calls`` more calls were made."""
        target = self.stats.total + calls
        while self.stats.total < target:
            self.step()

    def _after_op(self, name: str) -> None:
        if self.pending or self.apc_closed:
            self.poll()
        if len(self.procs) + len(self.dprocs) > 40:
            self.prune()
        if self.tap is not None and self.tap.pending() and not self.threaded:
            self._take_tap(name)
        self.calls_since_full += 1
        if not self.threaded and self.calls_since_full >= self.options.full_every:
            self.full_check(name)

    def prune(self) -> None:
        """Forget all but the last few ended processes and closed sockets (they stay
        useful as hostile arguments; a long run must not slow down with their number)."""
        ended = [p for p in self.procs if p.closed]
        keep = {id(p) for p in ended[-6:]}
        self.procs = [p for p in self.procs if not p.closed or id(p) in keep]
        for proc in self.procs:
            if len(proc.sockets) > 16:
                closed = [e for e in proc.sockets if e.closed]
                proc.sockets = [e for e in proc.sockets if not e.closed] + closed[-8:]
        exited = [p for p in self.dprocs if p.exited]
        keep = {id(p) for p in exited[-6:]}
        self.dprocs = [p for p in self.dprocs if not p.exited or id(p) in keep]
        for dproc in self.dprocs:
            del dproc.closed[:-16]
            del dproc.closed_events[:-8]

    def _take_tap(self, name: str) -> None:
        assert self.tap is not None
        text = self.tap.take()
        unraisable, self.tap.unraisable = self.tap.unraisable, []
        for kind, site in _tracebacks(text):
            self.stats.outcomes["internal (DLL catch-all)"] += 1
            self.violate("internal", name, f"the DLL catch-all caught {kind} at {site}")
        leftover = text.strip()
        if leftover and "Traceback" not in leftover:
            self.violate("internal", name, f"printed to stderr: {leftover[:200]!r}")
        for kind, site in unraisable:
            self.violate("internal", name, f"unraisable {kind} at {site}")

    def violate(self, kind: str, op: str, detail: str) -> None:
        """Record a violation with the recent calls."""
        calls = tuple(f"{name}{_short(args)}" for name, args in self.recent)
        self.stats.violate(Violation(kind, op, detail, calls))

    # --- making calls ------------------------------------------------------------------

    def call(self, op: str, args: tuple[Any, ...], thunk: Callable[[], T], *,
             compare: str = "snapshot", sock: _Sock | None = None,
             allowed: tuple[type[Exception], ...] = ()) -> tuple[bool, T | None]:
        """Make one interface or host call: record it and check the outcome.

        Args:
            op: the operation's name.
            args: the arguments, for the report.
            thunk: the call.
            compare: what must not change if it is refused: ``"snapshot"`` (the whole
                machine), ``"view"`` (what introspection shows: for calls that start a
                process of their own, as netsh does) or ``"none"``.
            sock: the socket it was made on (a refused call must leave it open).
            allowed: exceptions this call documents besides :data:`ALLOWED`.

        Returns:
            ``(True, result)`` or ``(False, None)`` if it raised.
        """
        self.stats.calls[op] += 1
        self.recent.append((op, args))
        before = self._picture(compare)
        handle = sock.sock.fileno() if sock is not None else None
        try:
            value = thunk()
        except Exception as exc:
            self.last_error = exc
            self._record_exception(op, exc, allowed)
            self._check_refusal(op, before, compare)
            if sock is not None and sock.sock.fileno() != handle:
                self.violate("refusal changed state", op, f"{type(exc).__name__} ({exc}) but the"
                             f" socket's fileno() went from {handle} to {sock.sock.fileno()}")
            self._cheap_check(op)
            return False, None
        self.stats.outcomes["ok"] += 1
        self.stats.succeeded[op] += 1
        self._cheap_check(op)
        return True, value

    def dll_call(self, op: str, proc: _DProc, function: str, args: tuple[Any, ...],
                 failure: Callable[[Any], int | None]) -> tuple[bool, Any, int | None]:
        """Call one emulated DLL function and check the outcome.

        Args:
            failure: reads the Windows code from the result (``None``: it succeeded).

        Returns:
            ``(succeeded, result, code)``.
        """
        self.stats.calls[op] += 1
        self.recent.append((op, args))
        before = self._picture("snapshot")
        fault = None
        if self.expected_fault is not None and self.expected_fault[0] == function:
            fault, self.expected_fault = self.expected_fault[1], None
        fn = getattr(proc.ws2 if hasattr(proc.ws2, function) else proc.iph, function)
        try:
            result = fn(*args)
        except Exception as exc:  # a C function pointer must never raise
            self._record_exception(op, exc)
            self.violate("exception", op, f"{function} raised {type(exc).__name__}: {exc}")
            return False, None, None
        code = failure(result)
        if code is None:
            self.stats.outcomes["ok"] += 1
            self.stats.succeeded[op] += 1
        else:
            self.stats.outcomes["refused (DLL)"] += 1
            self.stats.codes[_code_name(code)] += 1
            self._check_refusal(op, before, "snapshot")
        if fault is not None:
            self.stats.checks["injected fault"] += 1
            if code is None or (code not in (fault, _UNKNOWN_CODE)
                                and fault & 0xFFFFFFFF == fault):
                self.violate("fault", op, f"fail_next({function!r}, {fault}) but the call gave"
                             f" {'success' if code is None else _code_name(code)}")
        self._cheap_check(op)
        return code is None, result, code

    def _picture(self, compare: str) -> object:
        if self.threaded or not self.options.compare_refusals or compare == "none":
            return None
        if compare == "view":
            return _view(self.host)
        return self.host.snapshot()

    def _check_refusal(self, op: str, before: object, compare: str) -> None:
        if before is None:
            return
        self.stats.checks["refusal unchanged"] += 1
        after = _view(self.host) if compare == "view" else self.host.snapshot()
        if after != before:
            self.violate("refusal changed state", op, "a refused call changed the machine"
                         f" ({compare})")

    def _record_exception(self, op: str, exc: Exception,
                          allowed: tuple[type[Exception], ...] = ()) -> None:
        kind = type(exc).__name__
        site = exception_site(exc)
        if isinstance(exc, PortPoolError):
            self.stats.codes[exc.name] += 1
        self.stats.outcomes[kind] += 1
        self.stats.raised[(kind, site)] += 1
        self.stats.raised_ops.setdefault((kind, site), set()).add(op)
        if not _allowed(exc) and type(exc) not in allowed:
            self.violate("exception", op, f"{kind}: {exc} at {site}")

    def _cheap_check(self, op: str) -> None:
        self.calls_since_check += 1
        if self.calls_since_check < self.options.check_every:
            return
        self.calls_since_check = 0
        self.stats.checks["structure"] += 1
        for problem in check_host(self.host):
            self.violate("structure", op, problem)

    # --- the full check ------------------------------------------------------------

    def poll(self) -> None:
        """Take in overlapped operations that completed and sockets APCs closed."""
        for closed in self.apc_closed:
            proc, handle, rc = closed
            if rc == 0:
                self._forget_dll_socket(proc, handle)
        self.apc_closed.clear()
        still = []
        for op in self.pending:
            status = int(op.overlapped.Internal or 0)
            if status == _STATUS_PENDING:
                still.append(op)
                continue
            if status != 0:
                continue
            if op.code == _ACQ:
                self._granted_dll(op.proc, op.handle, op.out, op.start, op.count, "dll.ioctl")
            elif op.code == _REL:
                self._released(op.proc.pid, op.token, "dll.ioctl (completed)")
        self.pending = still

    def full_check(self, op: str = "full check") -> None:
        """Compare the ledger with the machine (single-threaded, or after the threads)."""
        self.calls_since_full = 0
        self.poll()
        self.stats.checks["full"] += 1
        for problem in check_host(self.host, full=True):
            self.violate("structure", op, problem)
        for problem in ledger_problems(self.host, self.ledger):
            self.violate("ledger", op, problem)

    # --- bookkeeping used by the operations ----------------------------------------

    def _read_dynamic(self) -> PortRange:
        try:
            return self.host.dynamic_range(Protocol.TCP)
        except Exception:  # the fuzz reports it when it calls it itself
            return PortRange(49152, 16384)

    def live_procs(self) -> list[_Proc]:
        return [p for p in self.procs if not p.closed]

    def live_socks(self) -> list[_Sock]:
        return [s for p in self.procs for s in p.sockets if not s.closed]

    def socket_count(self) -> int:
        return len(self.live_socks()) + sum(len(d.sockets) for d in self.dprocs)

    def _register_socket(self, proc: _Proc, sock: Socket, op: str) -> None:
        handle = sock.fileno()
        entry = _Sock(sock, proc, handle, sock.protocol, sock.family)
        proc.sockets.append(entry)
        if not self.ledger.add_socket(proc.pid, handle):
            self.violate("postcondition", op, f"handle {handle:#x} given out twice")

    def _forget_socket(self, entry: _Sock) -> None:
        entry.closed = True
        self.ledger.drop_socket(entry.proc.pid, entry.handle)

    def _forget_process(self, pid: int) -> None:
        for proc in self.procs:
            if proc.pid == pid:
                for entry in proc.sockets:
                    entry.closed = True
        for dproc in self.dprocs:
            if dproc.pid == pid:
                dproc.closed.extend(dproc.sockets)
                dproc.sockets.clear()
        self.ledger.drop_process(pid)

    def _forget_dll_socket(self, proc: _DProc, handle: int) -> None:
        if handle in proc.sockets:
            del proc.sockets[handle]
            proc.closed.append(handle)
        self.ledger.drop_socket(proc.pid, handle)

    def _granted(self, pid: int, handle: int, res: Reservation, op: str) -> None:
        with self.ledger.lock:
            if res.token in self.ledger.runtime or res.token == 0:
                self.violate("postcondition", op, f"token {res.token:#x} given twice (or 0)")
            self.ledger.runtime[res.token] = (pid, handle, res.protocol, res.range)

    def _granted_dll(self, proc: _DProc, handle: int, out: Any, start: int, count: int,
                     op: str) -> None:
        instance = _abi.INET_PORT_RESERVATION_INSTANCE.from_buffer(out)
        block_start = _abi.ntohs(instance.Reservation.StartPort)
        number = instance.Reservation.NumberOfPorts
        protocol = proc.sockets.get(handle)
        if protocol is None:
            if not self.threaded:  # threads: completed by another thread, then closed here
                self.violate("postcondition", op, f"a block granted on {handle:#x}, which is"
                             " no TCP/UDP socket of the caller")
            return
        if number != count or (start and block_start != start) or block_start < 1:
            self.violate("postcondition", op, f"asked {start}+{count}, granted"
                         f" {block_start}+{number}")
            return
        res = Reservation(int(instance.Token.Token), protocol, PortRange(block_start, number),
                          False)
        self._granted(proc.pid, handle, res, op)

    def _released(self, pid: int, token: int, op: str) -> None:
        with self.ledger.lock:
            entry = self.ledger.runtime.pop(token, None)
        if (entry is None and not self.threaded) or (entry is not None and entry[0] != pid):
            # (threads: a release completed by another thread may be taken in after this
            # world closed the socket the block was acquired on)
            self.violate("postcondition", op, f"release of token {token:#x} succeeded, but"
                         f" process {pid} was never granted it")
        self.dead_tokens.append(token)

    def persistent_changed(self, key: PersistentKey, delta: int, op: str, *,
                           active: bool = False) -> None:
        """A create (+1) or delete (-1) of a persistent block succeeded."""
        with self.ledger.lock:
            self.ledger.persistent[key] += delta
            net = self.ledger.persistent[key]
            if delta > 0 and active:
                self.ledger.active.add(key)
            elif delta < 0:
                self.ledger.active.discard(key)
        if not self.threaded and net not in (0, 1):
            verb = "created twice" if net > 1 else "deleted without being created"
            self.violate("ledger", op, f"persistent block {key} {verb}")

    # --- drawing arguments --------------------------------------------------------------

    def hostile_int(self) -> object:
        """A boundary int or a value of a wrong type."""
        if self.src.chance(70):
            return self.src.choice(_BOUNDARY_INTS)
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

    # --- completion routines --------------------------------------------------------

    def _count_routine(self, error: int, transferred: int, overlapped: int, flags: int) -> None:
        del error, transferred, overlapped, flags
        self.stats.outcomes["completion routine run"] += 1

    def _closing_routine(self, error: int, transferred: int, overlapped: int, flags: int) -> None:
        del error, transferred, overlapped, flags
        self.stats.outcomes["completion routine run"] += 1
        if self.apc_victims:  # re-enters the DLL from inside the wait
            proc, handle = self.apc_victims.pop()
            self.apc_closed.append((proc, handle, int(proc.ws2.closesocket(handle))))


def _running_totals(weights: Iterable[int]) -> Iterator[int]:
    total = 0
    for weight in weights:
        total += weight
        yield total


def _short(args: tuple[Any, ...]) -> str:
    text = repr(args)
    return text if len(text) <= 160 else text[:157] + "..."


def _code_name(code: int) -> str:
    if code == _UNKNOWN_CODE:
        return "(no lpErrno)"
    try:
        return WinError(code).name
    except ValueError:
        return f"WINERROR_{code}"


def _view(host: EmulatedHost) -> object:
    """What introspection shows (for calls that legitimately start a process)."""
    parts: list[object] = []
    for protocol in Protocol:
        parts.append(host.reservations(protocol))
        parts.append(host.bindings(protocol))
        if hasattr(host, "exclusions"):
            parts.append(host.exclusions(protocol))
        for family in Family:
            parts.append(host.dynamic_range(protocol, family))
    return tuple(parts)


def ledger_problems(host: EmulatedHost, ledger: Ledger) -> list[str]:
    """Differences between what callers were granted and what the machine holds."""
    lock = getattr(host, "lock", None)
    with lock if lock is not None else _nothing(), ledger.lock:
        try:
            return _ledger_problems(host, ledger)
        except Exception as exc:  # introspection must never raise
            return [f"introspection raised {type(exc).__name__}: {exc} at {exception_site(exc)}"]


def _ledger_problems(host: EmulatedHost, ledger: Ledger) -> list[str]:
    problems: list[str] = []
    runtime = {r.token: r for p in Protocol for r in host.reservations(p) if not r.persistent}
    persistent = {(int(p), r.range.start, r.range.count) for p in Protocol
                  for r in host.reservations(p) if r.persistent}
    lost = sorted(set(ledger.runtime) - set(runtime))
    leaked = sorted(set(runtime) - set(ledger.runtime))
    if lost:
        problems.append(f"{len(lost)} runtime block(s) granted and never given back are gone:"
                        f" {[ledger.runtime[t][3] for t in lost[:5]]}")
    if leaked:
        problems.append(f"{len(leaked)} runtime block(s) no caller was given:"
                        f" {[runtime[t].range for t in leaked[:5]]}")
    for token in set(runtime) & set(ledger.runtime):
        if runtime[token].range != ledger.runtime[token][3]:
            problems.append(f"token {token:#x}: granted {ledger.runtime[token][3]!r}, the"
                            f" machine holds {runtime[token].range!r}")
    expected = {k for k, n in ledger.persistent.items() if n == 1}
    odd = {k: n for k, n in ledger.persistent.items() if n not in (0, 1)}
    if odd:
        problems.append(f"persistent blocks created/deleted out of turn: {sorted(odd.items())[:5]}")
    if persistent - expected:
        problems.append(f"persistent blocks nobody created: {sorted(persistent - expected)[:5]}")
    if expected - persistent:
        problems.append(f"persistent blocks created, never deleted, gone:"
                        f" {sorted(expected - persistent)[:5]}")
    bound = {(b.pid, b.socket) for p in Protocol for b in host.bindings(p)}
    if bound - ledger.bound:
        problems.append(f"bound sockets nobody bound: {sorted(bound - ledger.bound)[:5]}")
    if ledger.bound - bound:
        problems.append(f"sockets bound and never closed are no longer bound:"
                        f" {sorted(ledger.bound - bound)[:5]}")
    machine = host.machine
    for pid in sorted(ledger.pids):
        have = set(machine.sockets_of(pid)) if machine.is_alive(pid) else set()
        want = {h for p, h in ledger.sockets if p == pid}
        if have != want:
            problems.append(f"process {pid}: live sockets {sorted(have)[:5]} but the callers"
                            f" hold {sorted(want)[:5]}")
    return problems


@contextmanager
def _nothing() -> Iterator[None]:
    yield


# --- interface operations -----------------------------------------------------------------


def _pick_proc(w: World, src: Source, *, admin_share: int = 0) -> _Proc | None:
    """Mostly a live process (one is started if none is), sometimes an ended one."""
    live = w.live_procs()
    if len(live) < 2:
        _i_process(w, src)
        live = w.live_procs()
    if admin_share and src.chance(admin_share):
        admins = [p for p in live if p.admin]
        if admins:
            return src.choice(admins)
    if live and not src.chance(8):
        return src.choice(live)
    return src.choice(w.procs) if w.procs else None


def _pick_sock(w: World, src: Source) -> _Sock | None:
    """Mostly a live socket (``None`` if there is none: the caller makes one), sometimes a
    closed one or one of an ended process."""
    live = w.live_socks()
    if live and src.chance(10):
        return src.choice([s for p in w.procs for s in p.sockets])
    return src.choice(live) if live else None


def _i_process(w: World, src: Source, *, admin: object = None,
               ctypes_pool: bool | None = None) -> None:
    """A new process: ``host.process(admin=)`` or a WindowsPool over ``host.dlls(admin=)``."""
    if len(w.live_procs()) >= 8:
        _i_exit(w, src)
        return
    if admin is None:
        admin = src.choice((False, True)) if src.chance(92) else src.choice(
            ("no", "", 0, 1, None, [], "yes", 0.0))
    if ctypes_pool is None:
        ctypes_pool = src.chance(40)
    op = "interface.process"
    flag: Any = admin  # deliberately anything
    pool: PortPool | None
    if not ctypes_pool:
        ok, pool = w.call(op, ("emulated", admin), lambda: w.host.process(admin=flag))
        dlls: Any = None
    else:
        ok, dlls = w.call(op, ("dlls", admin), lambda: w.host.dlls(admin=flag))
        if ok and dlls is not None:
            windows_pool = load_backend("windows")
            w.ledger.pids.add(int(dlls.pid))
            ok, pool = w.call("interface.WindowsPool", (dlls,), lambda: windows_pool(dlls=dlls))
    if not isinstance(admin, bool) and (ok or dlls is not None):
        w.violate("postcondition", op, f"admin={admin!r} (not a bool) was accepted")
    if not ok or pool is None:
        return
    pid = int(dlls.pid) if dlls is not None else int(getattr(pool, "pid"))  # noqa: B009 - PortPool has no pid
    w.ledger.pids.add(pid)
    w.procs.append(_Proc(pool, pid, bool(admin), dlls))


def _i_exit(w: World, src: Source) -> None:
    """A process ends: ``exit()`` of an emulated one, ``close()`` (WSACleanup) of a pool."""
    proc = _pick_proc(w, src)
    if proc is None:
        return
    ok, _ = w.call("interface.exit", (proc.label,), proc.pool.close, compare="none")
    if not ok:
        return
    proc.closed = True
    machine = w.host.machine
    remaining = set(machine.sockets_of(proc.pid)) if machine.is_alive(proc.pid) else set()
    for entry in proc.sockets:  # a pool whose WSACleanup failed keeps its sockets open
        if entry.handle not in remaining:
            w._forget_socket(entry)


def _i_socket(w: World, src: Source) -> None:
    """``socket(family, type, proto)``, valid mostly, hostile sometimes."""
    if w.socket_count() >= w.options.max_sockets:
        _i_close(w, src)
        return
    proc = _pick_proc(w, src)
    if proc is None:
        _i_process(w, src)
        return
    if src.chance(75):
        family: object = src.choice((2, 23, 2, int(_pysocket.AF_INET6)))
        kind: object = src.choice((1, 2, 1, 2, 3))
        proto: object = src.choice((0, 0, {1: 6, 2: 17, 3: 255}[kind], 6, 17, 1))  # type: ignore[index]
    else:
        family = src.choice((2, 23, 0, 1, -1, 2**31, 2**32 + 2)) if src.chance(50) else w.hostile_int()
        kind = src.choice((1, 2, 0, 4, 5, 2**32 + 1)) if src.chance(50) else w.hostile_int()
        proto = src.choice((0, 6, 17, 255, 256, -1, 2**32 + 6)) if src.chance(50) else w.hostile_int()
    ok, sock = w.call("interface.socket", (proc.label, family, kind, proto),
                      lambda: proc.pool.socket(family, kind, proto))  # type: ignore[arg-type]
    if not ok or sock is None:
        return
    problems = []
    if type(kind) is not int or sock.type != kind:
        problems.append(f"type {kind!r} accepted, the socket says {sock.type!r}")
    if not isinstance(proto, int) or isinstance(proto, bool):
        problems.append(f"proto {proto!r} accepted")
    if problems:
        w.violate("postcondition", "interface.socket", "; ".join(problems))
    w._register_socket(proc, sock, "interface.socket")


def _i_acquire(w: World, src: Source) -> None:
    """SIO_ACQUIRE_PORT_RESERVATION through the interface."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    start, count = w.port(), w.count()
    ok, res = w.call("interface.acquire", (entry, start, count),
                     lambda: entry.sock.acquire_port_reservation(start, count),  # type: ignore[arg-type]
                     sock=entry)
    if not ok or res is None:
        return
    problems = []
    if type(count) is not int or res.range.count != count:
        problems.append(f"asked {count!r} ports, granted {res.range!r}")
    if type(start) is not int or (start and res.range.start != start):
        problems.append(f"asked start {start!r}, granted {res.range!r}")
    if res.protocol is not entry.protocol or res.persistent:
        problems.append(f"granted {res!r} on a {entry.protocol} socket")
    if entry.closed:
        problems.append("granted on a closed socket")
    if problems:
        w.violate("postcondition", "interface.acquire", "; ".join(problems))
    w._granted(entry.proc.pid, entry.handle, res, "interface.acquire")


def _i_associate(w: World, src: Source) -> None:
    """SIO_ASSOCIATE_PORT_RESERVATION through the interface."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    token = w.token(entry.proc.pid)
    w.call("interface.associate", (entry, token),
           lambda: entry.sock.associate_port_reservation(token), sock=entry)  # type: ignore[arg-type]


def _i_release(w: World, src: Source) -> None:
    """SIO_RELEASE_PORT_RESERVATION through the interface."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    token = w.token(entry.proc.pid)
    ok, _ = w.call("interface.release", (entry, token),
                   lambda: entry.sock.release_port_reservation(token), sock=entry)  # type: ignore[arg-type]
    if ok:
        w._released(entry.proc.pid, token, "interface.release")  # type: ignore[arg-type]


def _i_bind(w: World, src: Source) -> None:
    """bind() with addresses of every shape."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    address = w.address(entry.family)
    ok, _ = w.call("interface.bind", (entry, address), lambda: entry.sock.bind(address),  # type: ignore[arg-type]
                   sock=entry)
    if not ok:
        return
    if entry.closed:
        w.violate("postcondition", "interface.bind", "a closed socket was bound")
    if entry.protocol is not None:
        with w.ledger.lock:
            if (entry.proc.pid, entry.handle) in w.ledger.bound:
                w.violate("postcondition", "interface.bind", "a socket was bound twice")
            w.ledger.bound.add((entry.proc.pid, entry.handle))
        _check_listed(w, "interface.bind", entry.protocol, entry.proc.pid, entry.handle)
    port = address[1] if isinstance(address, tuple) and len(address) > 1 else None
    if isinstance(port, int) and port and entry.protocol is not None:
        _check_sockname(w, entry, port)
        w.held.append(port)


def _check_listed(w: World, op: str, protocol: Protocol, pid: int, handle: int) -> None:
    """A socket that was just bound is among ``host.bindings()``."""
    if w.threaded:
        return
    w.stats.checks["bound socket listed"] += 1
    if not any((b.pid, b.socket) == (pid, handle) for b in w.host.bindings(protocol)):
        w.violate("postcondition", op, f"socket {handle:#x} of process {pid} was bound but"
                  " host.bindings() does not list it")


def _check_sockname(w: World, entry: _Sock, port: int) -> None:
    ok, name = w.call("interface.getsockname", (entry,), entry.sock.getsockname, sock=entry)
    if not ok and "injected fault" in str(w.last_error):
        return  # a fault fail_next_hostile (or another thread) left queued hit this call
    w.stats.checks["getsockname after bind"] += 1
    if not ok or name is None or name[1] != port:
        w.violate("postcondition", "interface.bind", f"bound to {port}, getsockname says {name!r}"
                  + ("" if ok else f" ({w.last_error})"))


# setsockopt values: the known options and levels, and hostile ones (O1-O7).
_OPTIONS: Final[tuple[tuple[int, int], ...]] = ((SOL_SOCKET, SO_REUSEADDR), (SOL_SOCKET, SO_EXCLUSIVEADDRUSE),
                   (IPPROTO_IPV6, IPV6_V6ONLY), (SOL_SOCKET, 0x80), (12345, 4), (6, 1))


def _option_value(src: Source) -> object:
    return src.choice((0, 1, 1, 7, -1, b"\x01", b"\x01\x00\x00\x00", b"", 2**40, "1", None, 1.0))


def _i_setsockopt(w: World, src: Source) -> None:
    """setsockopt() with known options, bad levels, short and hostile values."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    level, option = src.choice(_OPTIONS)
    value = _option_value(src)
    w.call("interface.setsockopt", (entry, level, option, value),
           lambda: entry.sock.setsockopt(level, option, value), sock=entry)  # type: ignore[arg-type]


def _i_getsockopt(w: World, src: Source) -> None:
    """getsockopt(): a BOOL option reads 0 or 1 (O7)."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    level, option = src.choice(_OPTIONS)
    ok, value = w.call("interface.getsockopt", (entry, level, option),
                       lambda: entry.sock.getsockopt(level, option), sock=entry)
    if ok and value not in (0, 1):
        w.violate("postcondition", "interface.getsockopt", f"a BOOL option read {value!r}")


def _i_connect(w: World, src: Source) -> None:
    """connect(): an implicit bind (K1, K2) and the peer (K3-K6)."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    address = w.address(entry.family)
    was_bound = (entry.proc.pid, entry.handle) in w.ledger.bound
    ok, _ = w.call("interface.connect", (entry, address), lambda: entry.sock.connect(address),  # type: ignore[arg-type]
                   sock=entry)
    if not ok or entry.protocol is None or was_bound:
        return
    if entry.closed:
        w.violate("postcondition", "interface.connect", "a closed socket was connected")
        return
    try:  # K7: a UDP connect to the all-zero address disconnects without binding
        if w.host.machine.socket_info(entry.proc.pid, entry.handle).port is None:
            return
    except PortPoolError:
        return  # the socket is gone (another thread closed it, or its process ended)
    with w.ledger.lock:
        w.ledger.bound.add((entry.proc.pid, entry.handle))
    _check_listed(w, "interface.connect", entry.protocol, entry.proc.pid, entry.handle)


def _i_getpeername(w: World, src: Source) -> None:
    """getpeername()."""
    entry = _pick_sock(w, src)
    if entry is None:
        return
    w.call("interface.getpeername", (entry,), entry.sock.getpeername, sock=entry)


def _i_cpu_affinity(w: World, src: Source) -> None:
    """SIO_CPU_AFFINITY through the interface (C19, B8)."""
    entry = _pick_sock(w, src)
    if entry is None:
        return
    processor = src.choice((0, 1, 3, 63, -1, 70000, "0"))
    w.call("interface.set_cpu_affinity", (entry, processor),
           lambda: entry.sock.set_cpu_affinity(processor), sock=entry)  # type: ignore[arg-type]


def _i_getsockname(w: World, src: Source) -> None:
    """getsockname()."""
    entry = _pick_sock(w, src)
    if entry is None:
        _i_socket(w, src)
        return
    ok, name = w.call("interface.getsockname", (entry,), entry.sock.getsockname, sock=entry)
    if ok and name is not None:
        want = 2 if entry.family == int(Family.INET) else 4
        if (not isinstance(name, tuple) or len(name) != want or not isinstance(name[0], str)
                or not isinstance(name[1], int)):
            w.violate("postcondition", "interface.getsockname", f"returned {name!r}")


def _i_close(w: World, src: Source) -> None:
    """close() (twice sometimes: it is idempotent)."""
    entry = _pick_sock(w, src)
    if entry is None:
        return
    ok, _ = w.call("interface.close", (entry,), entry.sock.close, sock=entry)
    if ok and not entry.closed:
        w._forget_socket(entry)


def _persistent_op(verb: str) -> Callable[[World, Source], None]:
    def run(w: World, src: Source) -> None:
        proc = _pick_proc(w, src, admin_share=70)
        if proc is None:
            _i_process(w, src)
            return
        protocol, start, count = w.persistent_block()
        method = getattr(proc.pool, f"{verb}_persistent_reservation")
        op = f"interface.{verb}_persistent"
        ok, result = w.call(op, (proc.label, protocol, start, count),
                            lambda: method(protocol, start, count))
        if not ok:
            return
        if not (isinstance(start, int) and isinstance(count, int)
                and isinstance(protocol, int) and int(protocol) in (6, 17)):
            w.violate("postcondition", op, f"accepted {protocol!r}, {start!r}, {count!r}")
            return
        key = (int(protocol), start, count)
        if verb == "create":
            if not result:
                w.violate("postcondition", op, f"token {result!r}")
            w.persistent_changed(key, +1, op)
        elif verb == "delete":
            w.persistent_changed(key, -1, op)
        else:
            _check_lookup(w, op, key, result)

    return run


def _check_lookup(w: World, op: str, key: PersistentKey, token: object) -> None:
    if w.threaded:
        return
    w.stats.checks["lookup finds the token"] += 1
    held = [r.token for r in w.host.reservations(Protocol(key[0]))
            if r.persistent and (r.range.start, r.range.count) == key[1:]]
    if held != [token]:
        w.violate("postcondition", op, f"lookup of {key} gave {token!r}, the machine holds {held}")


# --- host operations ------------------------------------------------------------------


def _h_introspect(w: World, src: Source) -> None:
    """reservations/bindings/dynamic_range/explain/exclusions with any argument."""
    name = src.choice(("reservations", "bindings", "dynamic_range", "explain", "exclusions",
                       "snapshot"))
    if not hasattr(w.host, name):
        return
    method = getattr(w.host, name)
    protocol = w.protocol()
    if name == "snapshot":
        w.call("host.snapshot", (), lambda: hash(w.host.snapshot()))
    elif name == "explain":
        port = w.port()
        w.call("host.explain", (protocol, port), lambda: method(protocol, port))
    elif name == "dynamic_range" and src.chance(50):
        family = src.choice((Family.INET, Family.INET6, 2, 23, 10, 0, None, "inet"))
        w.call("host.dynamic_range", (protocol, family), lambda: method(protocol, family))
    else:
        w.call(f"host.{name}", (protocol,), lambda: method(protocol))


def _h_reboot(w: World, src: Source) -> None:
    """reboot(): persistent blocks stay with new tokens; everything else goes."""
    del src
    w.poll()
    before = {(int(p), r.range.start, r.range.count): r.token for p in Protocol
              for r in w.host.reservations(p) if r.persistent}
    with w.ledger.lock:
        active = set(w.ledger.active)
    ok, _ = w.call("host.reboot", (), w.host.reboot)
    if not ok:
        return
    w.stats.checks["reboot"] += 1
    after = {(int(p), r.range.start, r.range.count): r.token for p in Protocol
             for r in w.host.reservations(p) if r.persistent}
    if set(after) != set(before) - active:
        w.violate("reboot", "host.reboot", f"persistent blocks before {sorted(before)} (active"
                  f" {sorted(active)}), after {sorted(after)}")
    reused = set(after.values()) & set(before.values())
    if reused:
        w.violate("reboot", "host.reboot", f"tokens kept across the reboot: {sorted(reused)[:3]}")
    if any(not r.persistent for p in Protocol for r in w.host.reservations(p)) or any(
            w.host.bindings(p) for p in Protocol):
        w.violate("reboot", "host.reboot", "runtime blocks or bindings survived the reboot")
    if any(w.host.machine.is_alive(pid) for pid in w.ledger.pids):
        w.violate("reboot", "host.reboot", "a process survived the reboot")
    w.ledger.reboot()
    for proc in w.procs:
        proc.closed = True
        for entry in proc.sockets:
            entry.closed = True
    for dproc in w.dprocs:
        dproc.exited = True
        dproc.closed.extend(dproc.sockets)
        dproc.sockets.clear()
    # w.pending stays: those operations fail at completion (their process is gone), and
    # the emulator still writes their OVERLAPPED then, so the buffers must live on.
    w.setup()


def _h_exclude(w: World, src: Source) -> None:
    """``host.exclude(protocol, start, count, owner=)``: a system component's block."""
    protocol, start, count = w.protocol(), w.port(EXCLUDE), w.count()
    owner = src.choice(("WinNAT", "HTTP.sys", "HNS")) if src.chance(90) else src.choice(
        ("", None, 5, b"WinNAT", "x" * 1000))
    w.call("host.exclude", (protocol, start, count, owner),
           lambda: w.host.exclude(protocol, start, count, owner=owner))  # type: ignore[arg-type]


def _h_release_exclusions(w: World, src: Source) -> None:
    """``host.release_exclusions(owner)`` (``net stop winnat``)."""
    owner = src.choice(("WinNAT", "HTTP.sys", "HNS", "nobody")) if src.chance(90) else src.choice(
        ("", None, 5, b"WinNAT"))
    w.call("host.release_exclusions", (owner,), lambda: w.host.release_exclusions(owner))  # type: ignore[arg-type]


def _h_netsh(w: World, src: Source) -> None:
    """``host.run_netsh(command, admin=)``: show/add/delete excludedportrange, dynamicport."""
    version = src.choice(("ipv4", "ipv6"))
    proto = src.choice(("tcp", "udp")) if src.chance(95) else src.choice(("icmp", "TCP", ""))
    verb = src.choice(("show", "add", "delete", "show", "set"))
    start = w.port(PERSIST if verb != "set" else PortRange(1024, 60000))
    count = w.count() if verb != "set" else src.choice((16384, 255, 254, 64512, 1000, 0, 70000))
    if w.threaded and verb in ("add", "delete"):  # threads: blocks the ledger can name
        start, count = PERSIST.start + src.integer(0, PERSIST.count - 1), src.integer(1, 8)
    if verb == "set":
        words = ["int", version, "set", "dynamicport", proto, f"start={start}", f"num={count}"]
    elif verb == "show":
        words = ["interface", version, "show", src.choice(("excludedportrange", "dynamicport"))]
        words += [f"protocol={proto}"] if words[-1] == "excludedportrange" else [proto]
        if src.chance(20):
            words.append("store=persistent")
    else:
        store = src.choice(("", "store=active", "store=persistent"))
        words = ["int", version, verb, "excludedportrange", f"protocol={proto}",
                 f"startport={start}", f"numberofports={count}"] + ([store] if store else [])
    command: object = words
    mutable = verb in ("show", "set") or not w.threaded  # threads: add/delete stay exact
    if mutable and src.chance(10):  # a damaged command line
        mangled = list(words)
        index = src.integer(0, len(mangled) - 1)
        mangled[index] = src.choice(("", "junk", "startport=", "protocol=tcp", "=", "numberofports=x"))
        command = mangled
    elif mutable and src.chance(5):
        command = src.choice((" ".join(words), None, [1, 2], "", b"int ipv4 show"))
    admin = src.choice((True, False)) if src.chance(95) else src.choice(("yes", None, 1))
    runner: Any = getattr(w.host, "run_netsh", None) or w.host.netsh
    before = w._picture("view")
    held = None if w.threaded else _persistent_keys(w.host)
    ok, result = w.call("host.netsh", (command, admin),
                        lambda: runner(command, admin=admin), compare="view",
                        allowed=(NotImplementedError,))  # documented: outside the subset
    if not ok or result is None:
        return
    done = getattr(result, "done", None)
    if not done:  # a refusal, or a usage message: nothing changed
        if done is not None:
            w._check_refusal("host.netsh", before, "view")
        return
    if held is not None:  # what a (possibly damaged) command did, from the machine
        now = _persistent_keys(w.host)
        text = command if isinstance(command, str) else " ".join(map(str, command))  # type: ignore[call-overload]
        active = "store=active" in text.lower()
        for key in sorted(now - held):
            w.persistent_changed(key, +1, "host.netsh", active=active)
        for key in sorted(held - now):
            w.persistent_changed(key, -1, "host.netsh")
    elif (verb in ("add", "delete") and proto.lower() in ("tcp", "udp")
            and isinstance(start, int) and isinstance(count, int)):
        key = (int(Protocol.TCP if proto.lower() == "tcp" else Protocol.UDP), start, count)
        w.persistent_changed(key, +1 if verb == "add" else -1, "host.netsh",
                             active="store=active" in words)
    if verb == "set":
        w._dynamic = w._read_dynamic()


def _persistent_keys(host: EmulatedHost) -> set[PersistentKey]:
    return {(int(p), r.range.start, r.range.count) for p in Protocol
            for r in host.reservations(p) if r.persistent}


def _h_new_host(w: World, src: Source) -> None:
    """The constructor with hostile options (the machine made is thrown away)."""
    seed: object = src.integer(0, 2**32) if src.chance(60) else w.hostile_int()
    dynamic: object = None
    if src.chance(50):
        dynamic = src.choice((PortRange(1024, 64512), PortRange(40000, 255), PortRange(40000, 254),
                              PortRange(1000, 1000), {Protocol.TCP: PortRange(2000, 300)},
                              {(Protocol.UDP, Family.INET6): PortRange(3000, 300)},
                              5, {6: 5}, (1, 2), {"tcp": PortRange(2000, 300)}, "49152-65535",
                              {Protocol.TCP: None}))
    variants: object = None
    if src.chance(40):
        variants = src.choice(({"X15": "refused"}, {"X15": "nope"}, {"Z99": "x"}, {"X15": None},
                               ["X15"], "X15", {5: 5}, {"Y2": "1025"}, {"B2": "WSAEFAULT"}))
    preset: object = None
    if src.chance(30):
        preset = src.choice(("default", "hyperv", "vs-runner", "nope", "", 5, None))
    store: object = None
    if src.chance(15):
        store = src.choice((5, 1.5, b"", object(), [], True))
    args = {"seed": seed, "dynamic_ports": dynamic, "variants": variants, "preset": preset,
            "store": store}
    ok, _ = w.call("host.new", (args,), lambda: EmulatedHost(**args), compare="none")  # type: ignore[arg-type]
    if ok and (not isinstance(seed, int) or isinstance(seed, bool)):
        w.violate("postcondition", "host.new", f"seed={seed!r} (not an int) was accepted")


# --- DLL operations ---------------------------------------------------------------------


def _buffer(size: int) -> Any:
    """``size`` bytes followed by a canary, all set to the canary byte."""
    buf = (ctypes.c_ubyte * (size + _CANARY))()
    ctypes.memset(buf, _CANARY_BYTE, size + _CANARY)
    return buf


def _canary_broken(buf: Any, allowed: int) -> bool:
    data = bytes(buf)
    return data[allowed:] != bytes([_CANARY_BYTE]) * (len(data) - allowed)


def _addr(obj: Any) -> int:
    return ctypes.addressof(obj)


def _winsock_failure(w: World, proc: _DProc, failure_value: int) -> Callable[[Any], int | None]:
    def read(result: Any) -> int | None:
        if (result or 0) != failure_value:
            return None
        return int(proc.ws2.WSAGetLastError())

    del w
    return read


def _direct_failure(result: Any) -> int | None:
    return int(result) or None


def _d_new_process(w: World, admin: object) -> _DProc | None:
    ok, dlls = w.call("dll.process", (admin,), lambda: w.host.dlls(admin=admin))  # type: ignore[arg-type]
    if not isinstance(admin, bool) and ok:
        w.violate("postcondition", "dll.process", f"admin={admin!r} (not a bool) was accepted")
    if not ok or dlls is None:
        return None
    proc = _DProc(dlls, int(dlls.pid), bool(admin))
    w.ledger.pids.add(proc.pid)
    w.dprocs.append(proc)
    return proc


def _pick_dproc(w: World, src: Source, *, admin_share: int = 0) -> _DProc | None:
    """Mostly a live, started DLL process (one is started if there are fewer than two),
    sometimes an ended or cleaned-up one."""
    live = [p for p in w.dprocs if not p.exited and p.started > 0]
    if len(live) < 2:
        _d_process(w, src)
        live = [p for p in w.dprocs if not p.exited and p.started > 0]
    if admin_share and src.chance(admin_share):
        admins = [p for p in live if p.admin]
        if admins:
            return src.choice(admins)
    if live and not src.chance(6):
        return src.choice(live)
    return src.choice(w.dprocs) if w.dprocs else None


def _d_process(w: World, src: Source) -> None:
    """A new process's DLL pair, then WSAStartup; or an exit when there are enough."""
    running = [p for p in w.dprocs if not p.exited]
    if len(running) >= 6:
        _d_exit_proc(w, src.choice(running))
        return
    admin = src.choice((False, True)) if src.chance(95) else src.choice(("no", None, 1))
    proc = _d_new_process(w, admin)
    if proc is not None:
        _d_startup(w, src, proc=proc, ordinary=True)


def _d_exit(w: World, src: Source) -> None:
    """``EmulatedDlls.exit()``."""
    proc = _pick_dproc(w, src)
    if proc is not None:
        _d_exit_proc(w, proc)


def _d_exit_proc(w: World, proc: _DProc) -> None:
    ok, _ = w.call("dll.exit", (proc.pid,), proc.dlls.exit, compare="none")
    if ok:
        proc.exited = True
        w._forget_process(proc.pid)


def _d_startup(w: World, src: Source, *, proc: _DProc | None = None, ordinary: bool = False) -> None:
    """WSAStartup with odd versions and a NULL WSADATA sometimes."""
    proc = proc or _pick_dproc(w, src)
    if proc is None:
        return
    version = 0x0202 if ordinary or src.chance(70) else src.choice((0x0101, 0, 0xFFFF, 0x0002, 0x0303))
    data = _buffer(_WSADATA)
    pointer = None if not ordinary and src.chance(8) else _addr(data)
    ok, _, _ = w.dll_call("dll.WSAStartup", proc, "WSAStartup", (version, pointer), _direct_failure)
    if ok:
        proc.started += 1
    if pointer and _canary_broken(data, _WSADATA):
        w.violate("canary", "dll.WSAStartup", "WSAStartup wrote past the WSADATA")


def _d_cleanup(w: World, src: Source) -> None:
    """WSACleanup: the last one closes the process's sockets (B13)."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    ok, _, _ = w.dll_call("dll.WSACleanup", proc, "WSACleanup", (),
                          _winsock_failure(w, proc, _abi.SOCKET_ERROR))
    if ok:
        proc.started -= 1
        if proc.started == 0:
            w._forget_process(proc.pid)


def _dll_handle(w: World, src: Source, proc: _DProc, *, bound: bool | None = None) -> int:
    """A SOCKET argument: mostly the caller's own (bound or not, if asked), sometimes a
    closed one, another process's, an event handle or a made-up value."""
    if not proc.sockets and src.chance(80):
        _d_socket(w, src, proc=proc)
    r = src.integer(1, 100)
    if r <= 85 and proc.sockets:
        own = sorted(proc.sockets)
        if bound is not None and src.chance(80):
            with w.ledger.lock:
                fitting = [h for h in own if ((proc.pid, h) in w.ledger.bound) == bound]
            own = fitting or own
        return src.choice(own)
    if r <= 90 and proc.closed:
        return src.choice(proc.closed)
    if r <= 95:
        others = [h for p in w.dprocs if p is not proc for h in p.sockets]
        others += [s.handle for s in w.live_socks()]
        if others:
            return src.choice(sorted(others))
    if r <= 97 and proc.events:
        return src.choice(proc.events)
    return int(src.choice((0, _abi.INVALID_SOCKET, 0x7777, 2**63, 4, 0x100)))


def _d_socket(w: World, src: Source, *, proc: _DProc | None = None) -> None:
    """socket() with C-int values of every kind."""
    if w.socket_count() >= w.options.max_sockets:
        _d_closesocket(w, src)
        return
    proc = proc or _pick_dproc(w, src)
    if proc is None:
        _d_process(w, src)
        return
    if src.chance(80):
        af, kind = src.choice((2, 23, 2)), src.choice((1, 2, 1, 2, 1, 2, 1, 2, 3))
        proto = src.choice((0, 0, {1: 6, 2: 17, 3: 255}[kind], 6, 17))
    else:
        af = src.choice((2, 23, 0, 1, 10, -1, 2**31 - 1, -(2**31), 0xFFFF))
        kind = src.choice((1, 2, 3, 0, 4, 5, -1, 2**31 - 1))
        proto = src.choice((0, 6, 17, 1, 255, 256, -1, 2**31 - 1))
    ok, handle, _ = w.dll_call("dll.socket", proc, "socket", (af, kind, proto),
                               _winsock_failure(w, proc, _abi.INVALID_SOCKET))
    if not ok:
        return
    protocol = {1: Protocol.TCP, 2: Protocol.UDP}.get(kind)
    proc.sockets[int(handle)] = protocol
    proc.families[int(handle)] = af
    if not w.ledger.add_socket(proc.pid, int(handle)):
        w.violate("postcondition", "dll.socket", f"handle {handle:#x} given out twice")


def _d_bind(w: World, src: Source) -> None:
    """bind() with sockaddrs of every family field, length and byte order."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    handle = _dll_handle(w, src, proc, bound=False)
    v6 = proc.families.get(handle, 2) == 23 if src.chance(90) else src.chance(50)
    buf = _buffer(_SIN6)
    family = (23 if v6 else 2) if src.chance(85) else src.choice((2, 23, 0, 10, 1, 0xFFFF))
    port = w.ushort(w.port())
    wire = port if src.chance(10) else _abi.htons(port)  # a forgotten htons
    if v6:
        sin6 = _abi.SOCKADDR_IN6.from_buffer(buf)
        sin6.sin6_family, sin6.sin6_port = family, wire
        sin6.sin6_addr[:] = list(ipaddress.IPv6Address(src.choice(("::", "::1", "fe80::1"))).packed)
        natural = _SIN6
    else:
        sin = _abi.SOCKADDR_IN.from_buffer(buf)
        sin.sin_family, sin.sin_port = family, wire
        sin.sin_addr[:] = list(ipaddress.IPv4Address(
            src.choice(("0.0.0.0", "127.0.0.1", "10.1.2.3", "255.255.255.255"))).packed)
        natural = _SIN
    namelen = natural if src.chance(85) else src.choice((0, 1, 2, 15, 16, 17, 27, 28, 100, -1,
                                                          2**31 - 1))
    pointer = None if src.chance(4) else _addr(buf)
    ok, _, _ = w.dll_call("dll.bind", proc, "bind", (handle, pointer, namelen),
                          _winsock_failure(w, proc, _abi.SOCKET_ERROR))
    protocol = proc.sockets.get(handle)
    if ok and protocol is not None:
        with w.ledger.lock:
            if (proc.pid, handle) in w.ledger.bound:
                w.violate("postcondition", "dll.bind", "a socket was bound twice")
            w.ledger.bound.add((proc.pid, handle))
        _check_listed(w, "dll.bind", protocol, proc.pid, handle)
    elif ok and handle not in proc.sockets:
        w.violate("postcondition", "dll.bind", f"bind succeeded on {handle:#x}, not a live"
                  " socket of the caller")


def _d_getsockname(w: World, src: Source) -> None:
    """getsockname() with NULL and short buffers."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    handle = _dll_handle(w, src, proc, bound=True)
    buf = _buffer(_SIN6)
    size = src.choice((_SIN6, _SIN6, _SIN, _SIN - 1, 0, -1, _SIN6 - 1, 2**31 - 1))
    namelen = ctypes.c_int32(size)
    name_ptr = None if src.chance(4) else _addr(buf)
    len_ptr = None if src.chance(4) else _addr(namelen)
    ok, _, _ = w.dll_call("dll.getsockname", proc, "getsockname", (handle, name_ptr, len_ptr),
                          _winsock_failure(w, proc, _abi.SOCKET_ERROR))
    if name_ptr and _canary_broken(buf, min(max(size, 0), _SIN6)):
        w.violate("canary", "dll.getsockname", f"wrote past namelen {size}")
    if ok:
        family = _abi.USHORT.from_buffer(buf).value
        if namelen.value not in (_SIN, _SIN6) or family not in (2, 23):
            w.violate("postcondition", "dll.getsockname", f"namelen {namelen.value}, family {family}")


def _d_closesocket(w: World, src: Source) -> None:
    """closesocket() of own, closed, foreign and bogus handles."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    handle = _dll_handle(w, src, proc)
    ok, _, _ = w.dll_call("dll.closesocket", proc, "closesocket", (handle,),
                          _winsock_failure(w, proc, _abi.SOCKET_ERROR))
    if ok:
        if handle not in proc.sockets:
            w.violate("postcondition", "dll.closesocket", f"closed {handle:#x}, not a live socket"
                      " of the caller")
        w._forget_dll_socket(proc, handle)


@attrs.define(eq=False)
class _IoctlCall:
    """The buffers and sizes of one drawn WSAIoctl/WSPIoctl call (kept alive with it)."""

    proc: _DProc
    handle: int
    code: int
    start: int
    count: int
    token: int
    in_buf: Any
    in_size: int
    in_ptr: int | None
    out_buf: Any
    out_size: int
    out_ptr: int | None
    returned: Any
    bytes_ptr: int | None
    overlapped: Any
    routine: Any
    errno: Any = attrs.Factory(lambda: ctypes.c_int32(_ERRNO_SENTINEL))
    thread_id: Any = attrs.Factory(_abi.WSATHREADID)
    spi_args: tuple[int | None, int | None] | None = None

    @property
    def args(self) -> tuple[Any, ...]:
        base = (self.handle, self.code, self.in_ptr, self.in_size, self.out_ptr, self.out_size,
                self.bytes_ptr, _addr(self.overlapped) if self.overlapped is not None else None,
                ctypes.cast(self.routine, ctypes.c_void_p).value if self.routine else None)
        return base + (self.spi_args or ())

    def failure(self, result: Any) -> int | None:
        """WSPIoctl's code is in ``*lpErrno`` (if the caller gave one)."""
        if result != _abi.SOCKET_ERROR:
            return None
        assert self.spi_args is not None
        return int(self.errno.value) if self.spi_args[1] else _UNKNOWN_CODE


def _ioctl_request(w: World, src: Source, proc: _DProc) -> _IoctlCall:
    """Draw an IOCTL call: code, in/out buffers and sizes, NULLs, OVERLAPPED, routine."""
    handle = _dll_handle(w, src, proc)
    r = src.integer(1, 100)
    code = _ACQ if r <= 45 else _ASSOC if r <= 65 else _REL if r <= 88 else src.choice(_OTHER_IOCTLS)
    in_buf = _buffer(16)
    start = count = token = 0
    if code == _ACQ or (code not in (_ASSOC, _REL) and src.chance(50)):
        start, count = w.ushort(w.port()), w.ushort(w.count())
        request = _abi.INET_PORT_RANGE.from_buffer(in_buf)
        request.StartPort = start if src.chance(8) else _abi.htons(start)  # a forgotten htons
        request.NumberOfPorts = count
        start = _abi.ntohs(request.StartPort)  # what the call asks for, as Windows reads it
        natural_in, natural_out = 4, _INSTANCE
    else:
        value = w.token(proc.pid)
        token = value if isinstance(value, int) and 0 <= value < 2**64 else 0
        _abi.INET_PORT_RESERVATION_TOKEN.from_buffer(in_buf).Token = token
        natural_in, natural_out = 8, 0
    in_size = natural_in if src.chance(93) else src.choice((0, 2, 3, natural_in - 1, natural_in + 1,
                                                            8, 16, 64, 4096, 0xFFFFFFFF))
    out_buf = _buffer(_INSTANCE)
    out_size = natural_out if src.chance(93) else src.choice((0, 12, 15, 16, 17, 64, 0xFFFFFFFF))
    returned = _abi.DWORD(0xDEAD)
    overlapped = routine = None
    if src.chance(15):
        overlapped = _abi.WSAOVERLAPPED()
        if proc.events and src.chance(60):
            overlapped.hEvent = src.choice(proc.events)
        elif src.chance(30):
            overlapped.hEvent = src.choice((0x77777, *proc.closed_events[-1:]))
        if src.chance(40):
            routine = src.choice(w.routines)
            if routine is w.routines[1] and proc.sockets:  # it closes a socket when it runs
                w.apc_victims.append((proc, src.choice(sorted(proc.sockets))))
    return _IoctlCall(
        proc, handle, code, start, count, token, in_buf, in_size,
        None if src.chance(3) else _addr(in_buf), out_buf, out_size,
        None if src.chance(3) or (natural_out == 0 and src.chance(50)) else _addr(out_buf),
        returned, None if src.chance(3) else _addr(returned), overlapped, routine)


def _d_ioctl(w: World, src: Source, *, spi: bool | None = None) -> None:
    """WSAIoctl / WSPIoctl: the three reservation IOCTLs and others, with every buffer shape."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    if spi is None:
        spi = src.chance(25)
    call = _ioctl_request(w, src, proc)
    if spi:
        call.thread_id.ThreadHandle = src.choice((threading.get_ident(), 0, 12345))
        call.spi_args = (None if src.chance(70) else _addr(call.thread_id),
                         None if src.chance(4) else _addr(call.errno))
    name = "WSPIoctl" if spi else "WSAIoctl"
    failure = call.failure if spi else _winsock_failure(w, proc, _abi.SOCKET_ERROR)
    ok, _, error = w.dll_call(f"dll.{name}", proc, name, call.args, failure)
    _ioctl_outcome(w, f"dll.{name}", call, ok, error)


def _ioctl_outcome(w: World, op: str, call: _IoctlCall, ok: bool, error: int | None) -> None:
    """Check an IOCTL's buffers and answers; take in what it granted or released."""
    proc, code, overlapped = call.proc, call.code, call.overlapped
    if call.out_ptr and _canary_broken(call.out_buf, min(call.out_size, _INSTANCE)):
        w.violate("canary", op, f"wrote past cbOutBuffer {call.out_size}")
    if call.spi_args and call.spi_args[1] and not ok and call.errno.value == _ERRNO_SENTINEL:
        w.violate("postcondition", op, "WSPIoctl failed and left *lpErrno unwritten")
    if (not ok and code == _ACQ and call.in_ptr and call.in_size == 4 and call.out_ptr
            and call.out_size < _INSTANCE and call.bytes_ptr and overlapped is None
            and proc.sockets.get(call.handle) is not None and proc.started > 0
            and (call.spi_args is None or call.spi_args[1])
            and "injected" not in proc.ws2.details.text):
        w.stats.checks["short output buffer"] += 1
        if call.returned.value != 0:  # rule B2: *lpcbBytesReturned is set to 0
            w.violate("postcondition", op, f"short cbOutBuffer {call.out_size}: {_code_name(error or 0)},"
                      f" *lpcbBytesReturned {call.returned.value:#x}")
    if (error == int(WinError.WSA_IO_PENDING) and overlapped is not None
            and "injected" not in proc.ws2.details.text):
        # Queued (another thread may even have completed it already): see poll().
        w.pending.append(_Pending(proc, call.handle, code, overlapped, call.out_buf, call.token,
                                  call.start, call.count, (call,)))
        return
    if not ok or (overlapped is not None and int(overlapped.Internal or 0) != 0):
        return  # refused, or completed at once with a failure status
    if (call.bytes_ptr and overlapped is None
            and call.returned.value != (_INSTANCE if code == _ACQ else 0)):
        w.violate("postcondition", op, f"lpcbBytesReturned {call.returned.value} after IOCTL"
                  f" {code:#x}")
    if code == _ACQ:
        w._granted_dll(proc, call.handle, call.out_buf, call.start, call.count, op)
    elif code == _REL:
        w._released(proc.pid, call.token, op)
    elif code != _ASSOC:
        w.violate("postcondition", op, f"IOCTL {code:#x} succeeded")


def _d_events(w: World, src: Source) -> None:
    """WSACreateEvent / WSACloseEvent / WSASetEvent / WSAResetEvent."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    verb = src.choice(("WSACreateEvent", "WSASetEvent", "WSAResetEvent", "WSACloseEvent"))
    if verb == "WSACreateEvent" or not proc.events:
        if len(proc.events) >= 8:
            verb = "WSACloseEvent"
        else:
            ok, handle, _ = w.dll_call("dll.events", proc, "WSACreateEvent", (),
                                       _winsock_failure(w, proc, 0))
            if ok:
                proc.events.append(int(handle))
            return
    r = src.integer(1, 100)
    if r <= 80 and proc.events:
        handle = src.choice(proc.events)
    elif r <= 88 and proc.closed_events:
        handle = src.choice(proc.closed_events)
    else:
        handle = src.choice((0, 0x77777, *(h for p in w.dprocs for h in p.events)))
    ok, _, _ = w.dll_call("dll.events", proc, verb, (handle,), _winsock_failure(w, proc, 0))
    if ok and verb == "WSACloseEvent" and handle in proc.events:
        proc.events.remove(handle)
        proc.closed_events.append(handle)


def _d_wait(w: World, src: Source) -> None:
    """WSAWaitForMultipleEvents: counts 0..65 (and huge ones if allowed), alertable waits."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    count = src.choice((1, 1, 2, 3, 0, 8, 64, 65))
    array_len = max(count, 1)
    if w.options.unsafe_wait_counts and src.chance(10):
        count, array_len = src.choice((2**31 - 1, 0xFFFFFFFF, 1000)), 65
    handles = (ctypes.c_void_p * array_len)()
    for i in range(array_len):
        handles[i] = src.choice(proc.events) if proc.events and src.chance(85) else 0x77777
    pointer = None if src.chance(5) else _addr(handles)
    alertable = int(src.chance(40))
    args = (count, pointer, int(src.chance(30)), src.choice((0, 10, 0xFFFFFFFF)), alertable)
    ok, result, _ = w.dll_call("dll.WSAWaitForMultipleEvents", proc, "WSAWaitForMultipleEvents",
                               args, _winsock_failure(w, proc, _WSA_WAIT_FAILED))
    if ok and count > _WSA_MAXIMUM_WAIT_EVENTS and result != _abi.WSA_WAIT_IO_COMPLETION:
        w.violate("postcondition", "dll.WSAWaitForMultipleEvents",
                  f"{count} events (more than WSA_MAXIMUM_WAIT_EVENTS) gave {result:#x}")


def _d_overlapped_result(w: World, src: Source) -> None:
    """WSAGetOverlappedResult on pending, finished, fresh and NULL OVERLAPPEDs."""
    proc = _pick_dproc(w, src)
    if proc is None:
        return
    overlapped = src.choice(w.pending).overlapped if w.pending and src.chance(60) else _abi.WSAOVERLAPPED()
    transfer, flags = _abi.DWORD(), _abi.DWORD()
    args = (_dll_handle(w, src, proc), None if src.chance(5) else _addr(overlapped),
            None if src.chance(5) else _addr(transfer), int(src.chance(50)),
            None if src.chance(5) else _addr(flags))
    w.dll_call("dll.WSAGetOverlappedResult", proc, "WSAGetOverlappedResult", args,
               _winsock_failure(w, proc, 0))


def _d_persistent(w: World, src: Source, *, function: str | None = None) -> None:
    """The six iphlpapi functions, with host-order ports and NULL tokens sometimes."""
    proc = _pick_dproc(w, src, admin_share=70)
    if proc is None:
        return
    if function is None:
        function = (f"{src.choice(('Create', 'Lookup', 'Delete'))}Persistent"
                    f"{src.choice(('Tcp', 'Udp'))}PortReservation")
    verb = function[:6]
    held = w.existing_block()
    if held is not None and held[0] == (Protocol.TCP if "Tcp" in function else Protocol.UDP):
        start, count = held[1], held[2]
    else:
        start, count = w.ushort(w.port(PERSIST)), w.ushort(w.count())
    wire = start if src.chance(8) else _abi.htons(start)
    token = _abi.ULONG64(0)
    args: tuple[Any, ...] = (wire, count)
    if verb != "Delete":
        args += (None if src.chance(4) else _addr(token),)
    op = f"dll.{verb.lower()}_persistent"
    ok, _, _ = w.dll_call(op, proc, function, args, _direct_failure)
    if not ok:
        return
    key = (int(Protocol.TCP if "Tcp" in function else Protocol.UDP), _abi.ntohs(wire), count)
    if verb == "Create":
        if not token.value:
            w.violate("postcondition", op, "succeeded and wrote no token")
        w.persistent_changed(key, +1, op)
    elif verb == "Delete":
        w.persistent_changed(key, -1, op)
    else:
        _check_lookup(w, op, key, int(token.value))


# --- call control: fault injection, pending completion ----------------------------------

#: DLL functions the fault pairs inject into, and the operation that then calls them.
_FAULTABLE: Final[dict[str, Callable[[World, Source], None]]] = {
    "socket": _d_socket,
    "bind": _d_bind,
    "getsockname": _d_getsockname,
    "closesocket": _d_closesocket,
    "WSAIoctl": functools.partial(_d_ioctl, spi=False),
    "WSPIoctl": functools.partial(_d_ioctl, spi=True),
    "WSAStartup": _d_startup,
    **{name: functools.partial(_d_persistent, function=name)
       for name in (f"{verb}Persistent{proto}PortReservation"
                    for verb in ("Create", "Lookup", "Delete") for proto in ("Tcp", "Udp"))},
}


def _c_fault(w: World, src: Source) -> None:
    """``fail_next(function, code)`` and at once a call of that function: it must fail
    with that code and change nothing."""
    function = src.choice(sorted(_FAULTABLE))
    code: int = src.choice(list(WinError)) if src.chance(80) else src.choice(
        (0, -1, 1, 2**31, 2**32, 2**32 + 10048, 10**20))
    control = w.host.calls
    if not w.threaded:  # faults left queued by fail_next_hostile would come first
        while control.take_fault(function) is not None:
            pass
    ok, _ = w.call("dll.fail_next", (function, code),
                   lambda: control.fail_next(function, code), compare="none")
    if not ok:
        return
    w.expected_fault = None if w.threaded else (function, int(code))  # threads take faults too
    _FAULTABLE[function](w, src)
    if w.expected_fault is not None:
        # The op made no call of that function (nothing to call it on): take it out again.
        w.expected_fault = None
        w.call("dll.fail_next", (function, "drain"), lambda: w.host.calls.take_fault(function),
               compare="none")


def _c_fail_next_hostile(w: World, src: Source) -> None:
    """``fail_next`` with hostile arguments (left queued for whoever calls next)."""
    function: object = src.choice((*_FAULTABLE, "nope", "", None, 5, b"bind"))
    code: object = src.choice((WinError.WSAENETDOWN, 10050, 0, -1, 2**32, "x", None, 1.5, True))
    times: object = src.choice((1, 1, 2, 0, -1, True, "2", None, 1.0))
    w.call("dll.fail_next", (function, code, times),
           lambda: w.host.calls.fail_next(function, code, times=times), compare="none")  # type: ignore[arg-type]


def _c_pend(w: World, src: Source) -> None:
    """Toggle ``pend_overlapped``, or ``complete_pending()``."""
    control = w.host.calls
    if src.chance(50):
        value = src.chance(50)
        w.call("dll.pend_overlapped", (value,), lambda: setattr(control, "pend_overlapped", value),
               compare="none")
    else:
        w.call("dll.complete_pending", (), control.complete_pending, compare="none")
        w.poll()


# --- the table ----------------------------------------------------------------------------


def _has(name: str) -> Callable[[EmulatedHost], bool]:
    def available(host: EmulatedHost) -> bool:
        return hasattr(host, name)

    return available


#: Every operation the fuzzer draws, by layer.  Adding one is adding a row.
OPERATIONS: Final[tuple[Operation, ...]] = (
    Operation("interface.process", "interface", 10, _i_process),
    Operation("interface.exit", "interface", 5, _i_exit),
    Operation("interface.socket", "interface", 60, _i_socket),
    Operation("interface.acquire", "interface", 60, _i_acquire),
    Operation("interface.associate", "interface", 40, _i_associate),
    Operation("interface.release", "interface", 35, _i_release),
    Operation("interface.bind", "interface", 70, _i_bind),
    Operation("interface.getsockname", "interface", 20, _i_getsockname),
    Operation("interface.setsockopt", "interface", 25, _i_setsockopt),
    Operation("interface.getsockopt", "interface", 10, _i_getsockopt),
    Operation("interface.connect", "interface", 20, _i_connect),
    Operation("interface.getpeername", "interface", 5, _i_getpeername),
    Operation("interface.set_cpu_affinity", "interface", 8, _i_cpu_affinity),
    Operation("interface.close", "interface", 40, _i_close),
    Operation("interface.create_persistent", "interface", 20, _persistent_op("create")),
    Operation("interface.lookup_persistent", "interface", 10, _persistent_op("lookup")),
    Operation("interface.delete_persistent", "interface", 15, _persistent_op("delete")),
    Operation("host.introspect", "host", 15, _h_introspect),
    Operation("host.reboot", "host", 1, _h_reboot, threads=False),
    Operation("host.new", "host", 3, _h_new_host),
    Operation("host.exclude", "host", 10, _h_exclude, _has("exclude")),
    Operation("host.release_exclusions", "host", 5, _h_release_exclusions,
              _has("release_exclusions")),
    Operation("host.netsh", "host", 10, _h_netsh, _has("netsh")),
    Operation("dll.process", "dll", 5, _d_process),
    Operation("dll.exit", "dll", 5, _d_exit),
    Operation("dll.WSAStartup", "dll", 5, _d_startup),
    Operation("dll.WSACleanup", "dll", 5, _d_cleanup),
    Operation("dll.socket", "dll", 50, _d_socket),
    Operation("dll.bind", "dll", 50, _d_bind),
    Operation("dll.getsockname", "dll", 20, _d_getsockname),
    Operation("dll.closesocket", "dll", 30, _d_closesocket),
    Operation("dll.ioctl", "dll", 120, _d_ioctl),
    Operation("dll.events", "dll", 15, _d_events),
    Operation("dll.WSAWaitForMultipleEvents", "dll", 15, _d_wait),
    Operation("dll.WSAGetOverlappedResult", "dll", 5, _d_overlapped_result),
    Operation("dll.persistent", "dll", 30, _d_persistent),
    Operation("dll.fault", "dll", 10, _c_fault),
    Operation("dll.fail_next_hostile", "dll", 5, _c_fail_next_hostile),
    Operation("dll.pending", "dll", 10, _c_pend),
)


# --- runners ------------------------------------------------------------------------------


def _fresh_host(src: Source, options: FuzzOptions) -> EmulatedHost:
    """A machine with drawn options (seed, dynamic range, variants, preset)."""
    seed = src.integer(0, 2**32 - 1)
    dynamic: object = options.dynamic_ports
    if dynamic is None:
        dynamic = src.choice((None, None, PortRange(40000, 2000), PortRange(1024, 64512),
                              PortRange(60000, 300)))
    variants = {}
    for rule_id, rows in sorted(ALTERNATIVES.items()):
        if src.chance(25):
            variants[rule_id] = src.choice([row.name for row in rows])
    preset = src.choice((None, None, None, "hyperv", "vs-runner"))
    try:
        return EmulatedHost(seed=seed, dynamic_ports=dynamic, variants=variants or None,
                            preset=preset)
    except (TypeError, ValueError):  # a combination the model refuses (Y2 with 1024)
        return EmulatedHost(seed=seed)


def fuzz_steps(source: Source, *, steps: int, options: FuzzOptions | None = None,
               host: EmulatedHost | None = None) -> FuzzReport:
    """One machine, ``steps`` operations, then the full check (for Hypothesis tests).

    Args:
        source: e.g. ``HypothesisSource(data)`` inside ``@given(st.data())``.
        steps: how many operations (each makes one or a few calls).
        host: the machine (default: one with options drawn from ``source``).
    """
    options = options or FuzzOptions()
    started = time.perf_counter()
    stats = Stats()
    with _capturing() as tap:
        world = World(host or _fresh_host(source, options), source, options, ledger=Ledger(),
                      stats=stats, tap=tap)
        world.ledger.seed_persistent(world.host)
        world.setup()
        for _ in range(steps):
            world.step()
        world.full_check()
        if tap.pending():
            world._take_tap("end")
    return FuzzReport(stats, time.perf_counter() - started)


def run_fuzz(calls: int, *, seed: int = 0, options: FuzzOptions | None = None,
             progress: Callable[[Stats], None] | None = None) -> FuzzReport:
    """Single-threaded fuzzing: episodes of :attr:`FuzzOptions.episode` calls, each on a
    fresh machine, checked after every call and in full at the end of each episode.

    Args:
        calls: how many calls in all.
        seed: seeds the choices (the same seed makes the same run).
        progress: called with the running stats after each episode.
    """
    options = options or FuzzOptions()
    started = time.perf_counter()
    source = RandomSource(seed)
    stats = Stats()
    with _capturing() as tap:
        while stats.total < calls:
            world = World(_fresh_host(source, options), source, options, ledger=Ledger(),
                          stats=stats, tap=tap)
            world.ledger.seed_persistent(world.host)
            world.setup()
            world.run(min(options.episode, calls - stats.total))
            world.full_check("end of episode")
            if tap.pending():
                world._take_tap("end of episode")
            if progress is not None:
                progress(stats)
    return FuzzReport(stats, time.perf_counter() - started, 1, seed)


def run_threads(threads: int, calls: int, *, seed: int = 0, options: FuzzOptions | None = None,
                host: EmulatedHost | None = None, switch_interval: float | None = None) -> FuzzReport:
    """``threads`` threads, each with its own processes, fuzzing one machine at once.

    Each thread makes ``calls`` calls.  Snapshot comparisons are off (other threads change
    the machine); the structural check runs every :attr:`FuzzOptions.check_every` calls
    under the host's lock, and after the threads join, the full check compares the
    machine with what all threads were granted.

    Args:
        host: the machine (default: dynamic range 40000-41999, so wildcard draws collide).
        switch_interval: ``sys.setswitchinterval`` for the run (smaller: more interleaving).
    """
    options = options or FuzzOptions()
    started = time.perf_counter()
    source = RandomSource(seed)
    if host is None:
        host = EmulatedHost(seed=seed, dynamic_ports=options.dynamic_ports or PortRange(40000, 2000))
    ledger = Ledger()
    ledger.seed_persistent(host)
    stats = [Stats() for _ in range(threads)]
    errors: list[tuple[int, BaseException]] = []
    old_interval = sys.getswitchinterval()
    with _capturing() as tap:
        worlds = [World(host, RandomSource(source.integer(0, 2**63)), options, ledger=ledger,
                        stats=stats[i], tap=tap, threaded=True) for i in range(threads)]
        for world in worlds:
            world.setup()
        barrier = threading.Barrier(threads)

        def work(index: int) -> None:
            try:
                barrier.wait()
                worlds[index].run(calls)
            except BaseException as exc:  # a harness failure: report it, do not hang
                errors.append((index, exc))

        runners = [threading.Thread(target=work, args=(i,), name=f"fuzz-{i}") for i in range(threads)]
        if switch_interval is not None:
            sys.setswitchinterval(switch_interval)
        try:
            for runner in runners:
                runner.start()
            for runner in runners:
                runner.join()
        finally:
            sys.setswitchinterval(old_interval)
        total = Stats()
        for s in stats:
            total.merge(s)
        checker = World(host, source, options, ledger=ledger, stats=total, tap=tap, threaded=True)
        for world in worlds:
            world.stats = total
            world.poll()
        checker.call("dll.complete_pending", (), host.calls.complete_pending, compare="none")
        for world in worlds:
            world.poll()
        checker.full_check("after the threads")
        checker._take_tap("threads (catch-all or stderr)")
    for index, exc in errors:
        total.violate(Violation("harness", f"thread {index}", "".join(
            traceback.format_exception(exc))[-2000:]))
    return FuzzReport(total, time.perf_counter() - started, threads, seed)
