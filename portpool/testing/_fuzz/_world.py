"""One thread's callers on one host and the checks around every call they make.

:meth:`World.call` (interface and host calls) and :meth:`World.dll_call` (DLL functions)
record each call and check its outcome: allowed exceptions only, a refusal changes
nothing, the structure holds, an injected fault is read as a failure.
The arguments the operations pass are drawn by its base, :class:`~._values.Arguments`.

The operations depend on the world, never the reverse: a world knows its options and the
operations it draws only as :class:`Settings` and :class:`Step` (what it reads of
:class:`~._table.FuzzOptions` and :class:`~._table.Operation`), and the first callers of
a machine are started by :func:`~._host_ops.start_callers`.
"""

from __future__ import annotations

import collections
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from typing import Protocol as _Protocol

from ..._errors import PortPoolError, shown
from ..._host import EmulatedHost
from ..._interface import Socket
from ..._types import PortRange, Protocol, Reservation
from ..._winsock import _abi
from ._callers import _DProc, _Pending, _Proc, _Sock
from ._invariants import _view, check_host
from ._ledger import Ledger, PersistentKey, ledger_problems
from ._report import _UNKNOWN_CODE, Stats, Violation, _code_name
from ._sites import _allowed, _Tap, _tracebacks, exception_site
from ._sources import Source, T
from ._values import Arguments


class Step(_Protocol):
    """What a world draws and runs: a row of :data:`~._table.OPERATIONS`."""

    @property
    def name(self) -> str: ...

    @property
    def weight(self) -> int: ...

    @property
    def run(self) -> Callable[[World, Source], None]: ...


class Settings(_Protocol):
    """What a world and its operations read of :class:`~._table.FuzzOptions`."""

    @property
    def max_sockets(self) -> int: ...

    @property
    def check_every(self) -> int: ...

    @property
    def full_every(self) -> int: ...

    @property
    def compare_refusals(self) -> bool: ...

    @property
    def unsafe_wait_counts(self) -> bool: ...

    def operations(self, host: EmulatedHost, *, threaded: bool = False) -> Sequence[Step]: ...


class World(Arguments):
    """One thread's callers on one host: processes, sockets, DLL pairs, and the checks.

    Args:
        host: the machine.
        source: where choices come from.
        options: a :class:`~._table.FuzzOptions`.
        ledger: shared by every world of a run.
        stats: this world's counters.
        tap: stderr/unraisable capture (from the runner).
        threaded: other threads use the host too (no snapshot comparisons, no reboot).
    """

    def __init__(self, host: EmulatedHost, source: Source, options: Settings, *,
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
        elif isinstance(exc, ValueError) and "integer string conversion" in str(exc):
            # Python's own refusal to write a huge int, not the call's documented error.
            self.violate("exception", op, f"{kind}: {exc} at {site}")

    def _cheap_check(self, op: str) -> None:
        self.calls_since_check += 1
        if self.calls_since_check < self.options.check_every:
            return
        self.calls_since_check = 0
        self.stats.checks["structure"] += 1
        for problem in check_host(self.host):
            self.violate("structure", op, problem)

    # --- postconditions read from the machine ----------------------------------------

    def check_listed(self, op: str, protocol: Protocol, pid: int, handle: int) -> None:
        """A socket that was just bound is among ``host.bindings()``."""
        if self.threaded:
            return
        self.stats.checks["bound socket listed"] += 1
        if not any((b.pid, b.socket) == (pid, handle) for b in self.host.bindings(protocol)):
            self.violate("postcondition", op, f"socket {handle:#x} of process {pid} was bound but"
                         " host.bindings() does not list it")

    def check_lookup(self, op: str, key: PersistentKey, token: object) -> None:
        """A lookup of a persistent block gave the token the machine holds for it."""
        if self.threaded:
            return
        self.stats.checks["lookup finds the token"] += 1
        held = [r.token for r in self.host.reservations(Protocol(key[0]))
                if r.persistent and (r.range.start, r.range.count) == key[1:]]
        if held != [token]:
            self.violate("postcondition", op, f"lookup of {key} gave {token!r}, the machine"
                         f" holds {held}")

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
            if status == _abi.STATUS_PENDING:
                still.append(op)
                continue
            if status != 0:
                continue
            if op.code == _abi.SIO_ACQUIRE_PORT_RESERVATION:
                self._granted_dll(op.proc, op.handle, op.out, op.start, op.count, "dll.ioctl")
            elif op.code == _abi.SIO_RELEASE_PORT_RESERVATION:
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
    text = "(" + ", ".join(shown(arg) for arg in args) + ")"
    return text if len(text) <= 160 else text[:157] + "..."
