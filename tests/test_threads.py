"""Threads on one host (issue 8): any call from any thread, through the interface and
through the emulated DLLs, serialized by the host's one lock.

Eight threads, each with its own processes, fuzz one machine at once (the engine of
``scripts/fuzz.py``); afterwards the machine must be consistent (no port bound twice, no
overlapping blocks, every binding's socket alive, the free-port count rebuilt from the
blocks) and hold exactly what the threads were granted.  The last test takes the lock
away and shows that the same run then fails.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from portpool import EmulatedHost, PortRange, Protocol
from portpool._winsock import _abi as abi
from portpool.backends.windows import WindowsPool
from portpool.testing._fuzz import FuzzOptions, FuzzReport, run_threads

THREADS = 8
INTERFACE = FuzzOptions(layers=frozenset({"interface", "host"}), check_every=25)
DLLS = FuzzOptions(layers=frozenset({"dll"}), check_every=25)
EVERYTHING = FuzzOptions(check_every=25, unsafe_wait_counts=True)


def clean(report: FuzzReport) -> None:
    assert report.clean, "\n" + report.summary()
    assert report.stats.total >= THREADS * 1000


@contextmanager
def switch_interval(seconds: float) -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


@pytest.mark.parametrize("seed", [1, 2])
def test_eight_threads_through_the_interface(seed: int) -> None:
    """Emulated processes and WindowsPool over the DLLs, plus host methods, at once."""
    clean(run_threads(THREADS, 1200, seed=seed, options=INTERFACE))


@pytest.mark.parametrize("seed", [1, 2])
def test_eight_threads_through_the_dlls(seed: int) -> None:
    """Raw DLL calls: sockets, binds, IOCTLs (overlapped and pending ones completed by
    other threads), events, waits, persistent calls and injected faults."""
    clean(run_threads(THREADS, 1200, seed=seed, options=DLLS))


def test_eight_threads_on_every_layer_with_frequent_switches() -> None:
    clean(run_threads(THREADS, 1200, seed=3, options=EVERYTHING, switch_interval=1e-5))


def test_threads_crowding_a_small_dynamic_range() -> None:
    """Wildcard blocks and bind(0) collide in 300 ports: never granted twice."""
    host = EmulatedHost(seed=4, dynamic_ports=PortRange(40000, 300))
    clean(run_threads(THREADS, 1200, seed=4, host=host, options=INTERFACE))


def test_first_dll_calls_from_threads_share_one_call_control() -> None:
    """The audit's race: threads making a host's first host.dlls() at once got different
    CallControl objects (and so different locks and fault queues)."""
    with switch_interval(1e-6):
        for _ in range(150):
            host = EmulatedHost()
            pairs: list[Any] = []
            barrier = threading.Barrier(THREADS)

            def start(host: EmulatedHost = host, pairs: list[Any] = pairs,
                      barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                pairs.append(host.dlls())

            threads = [threading.Thread(target=start) for _ in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(pairs) == THREADS
            assert all(pair.control is host.calls for pair in pairs)


keep: list[Any] = []  # buffers of pending overlapped calls outlive the test that made them


def calls_on_one_host() -> tuple[EmulatedHost, list[tuple[str, Callable[[], object]]]]:
    host = EmulatedHost(seed=5)
    ws2, iph = host.dlls(admin=True)
    assert ws2.WSAStartup(0x0202, ctypes.byref(abi.WSADATA())) == 0
    s = ws2.socket(abi.AF_INET, 1, 0)
    token = abi.ULONG64()
    app = host.process(admin=True)
    pool = WindowsPool(dlls=host.dlls())
    sock = app.socket()
    host.calls.pend_overlapped = True  # one overlapped acquire waits for complete_pending
    request, out = abi.INET_PORT_RANGE(abi.htons(7400), 2), abi.INET_PORT_RESERVATION_INSTANCE()
    overlapped = abi.WSAOVERLAPPED()
    assert ws2.WSAIoctl(s, abi.SIO_ACQUIRE_PORT_RESERVATION, ctypes.byref(request), 4,
                        ctypes.byref(out), 16, ctypes.byref(abi.DWORD()), ctypes.byref(overlapped),
                        None) == -1
    assert host.calls.pending == 1
    keep.extend((request, out, overlapped))
    return host, [
        ("ws2_32.socket", lambda: ws2.socket(abi.AF_INET, 2, 0)),
        ("ws2_32.WSACreateEvent", ws2.WSACreateEvent),
        ("ws2_32.closesocket", lambda: ws2.closesocket(ws2.socket(abi.AF_INET, 1, 0))),
        ("iphlpapi.Create", lambda: iph.CreatePersistentTcpPortReservation(
            abi.htons(7000), 3, ctypes.byref(token))),
        ("interface.bind", lambda: sock.bind(("", 7100))),
        ("interface.create", lambda: app.create_persistent_reservation(Protocol.UDP, 7200, 2)),
        ("WindowsPool.socket", pool.socket),
        ("host.reservations", lambda: host.reservations(Protocol.TCP)),
        ("host.exclude", lambda: host.exclude(Protocol.TCP, 7300, 5)),
        ("host.netsh", lambda: host.netsh("int ipv4 show excludedportrange protocol=tcp")),
        ("host.snapshot", host.snapshot),
        ("calls.complete_pending", host.calls.complete_pending),
    ]


LOCKED_CALLS = ("ws2_32.socket", "ws2_32.WSACreateEvent", "ws2_32.closesocket", "iphlpapi.Create",
                "interface.bind", "interface.create", "WindowsPool.socket", "host.reservations",
                "host.exclude", "host.netsh", "host.snapshot", "calls.complete_pending")


@pytest.mark.parametrize("name", LOCKED_CALLS)
def test_every_call_waits_for_the_host_lock(name: str) -> None:
    """While another thread holds ``host.lock``, a call of any kind waits for it."""
    host, calls = calls_on_one_host()
    assert tuple(dict(calls)) == LOCKED_CALLS
    call = dict(calls)[name]
    done = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # reported below
            failed.append(exc)
        done.set()

    with host.lock:
        worker = threading.Thread(target=run)
        worker.start()
        assert not done.wait(0.05), f"{name} ran while another thread held the host's lock"
    worker.join(5)
    assert done.is_set() and failed == []


class NoLock:
    """A lock that does nothing (as ``with`` and as acquire/release, which hot paths call)."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_without_the_lock_the_thread_run_fails() -> None:
    """The control: the same kind of run on a host whose lock does nothing is caught."""
    host = EmulatedHost(seed=1, dynamic_ports=PortRange(40000, 300))
    host.machine.lock = NoLock()  # type: ignore[assignment]  # the control: no lock at all
    for attempt in range(6):
        report = run_threads(THREADS, 800, seed=attempt, host=host, switch_interval=1e-6,
                             options=FuzzOptions(layers=frozenset({"interface"}), check_every=10))
        if not report.clean:
            return
    pytest.fail("eight threads on a host without a lock left no trace")
