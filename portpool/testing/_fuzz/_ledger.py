"""What the fuzzer's callers were granted (:class:`Ledger`), and its comparison with what
the machine holds (:func:`ledger_problems`): no lost and no leaked runtime blocks,
persistent blocks exactly those created and not deleted, bound and live sockets exactly
the callers'.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..._host import EmulatedHost
from ..._types import PortRange, Protocol
from ._sites import exception_site

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
