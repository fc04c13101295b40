"""``portpool.free_port()``: the real-machine code run on this OS, and its Windows path run
under ``portpool.patch()`` against emulated Hyper-V and Visual Studio machines (thousands
of draws: never a row, never a bound port), and through the Windows seam with netsh's
real output in other languages."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import portpool
from portpool import EmulatedHost, NoFreePortError, Protocol, free_port, windows_code
from portpool._realmachine import _free
from portpool._realmachine._rows import read_rows
from portpool._realmachine._seam import PosixSeam, WindowsSeam, current_seam, using
from portpool._types import Family

DATA = Path(__file__).parent / "data" / "netsh"


def _binds(port: int, kind: int, family: int = socket.AF_INET) -> bool:
    with socket.socket(family, kind) as probe:
        try:
            probe.bind(("127.0.0.1" if family == socket.AF_INET else "::1", port))
        except OSError:
            return False
    return True


def test_on_this_machine_a_port_that_binds() -> None:
    for protocol, kind in (("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)):
        port = free_port(protocol)
        assert 1024 <= port <= 65535
        assert _binds(port, kind)
    both = free_port("both")
    assert _binds(both, socket.SOCK_STREAM) and _binds(both, socket.SOCK_DGRAM)


def test_a_block_binds_port_by_port_and_can_keep_out_of_the_kernel_range() -> None:
    start = free_port("tcp", count=8, rng=random.Random(4))
    assert all(_binds(p, socket.SOCK_STREAM) for p in range(start, start + 8))
    dynamic = read_rows(PosixSeam()).dynamic[(Protocol.TCP, Family.INET)]
    for _ in range(20):
        port = free_port(outside_dynamic=True)
        assert port not in dynamic


def test_ipv6() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 cannot be bound here")
    port = free_port(family=socket.AF_INET6)
    assert _binds(port, socket.SOCK_STREAM, socket.AF_INET6)


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"protocol": "sctp"}, ValueError), ({"protocol": 6}, TypeError),
    ({"family": 99}, ValueError), ({"family": "inet"}, TypeError), ({"family": True}, TypeError),
    ({"count": 0}, ValueError), ({"count": 64513}, ValueError), ({"count": 2.0}, TypeError),
    ({"count": True}, TypeError), ({"outside_dynamic": 1}, TypeError), ({"rng": 3}, TypeError),
])
def test_bad_arguments_are_python_errors(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        free_port(**kwargs)


def _held(host: EmulatedHost, rng: random.Random, how_many: int) -> set[tuple[Protocol, int]]:
    """Bind ``how_many`` random ports of each protocol from another process of ``host``."""
    other = host.process()
    held: set[tuple[Protocol, int]] = set()
    kinds = {Protocol.TCP: portpool.SOCK_STREAM, Protocol.UDP: portpool.SOCK_DGRAM}
    for protocol, kind in kinds.items():
        while sum(p is protocol for p, _ in held) < how_many:
            port = rng.randrange(1024, 65536)
            sock = other.socket(portpool.AF_INET, kind)
            try:
                sock.bind(("0.0.0.0", port))
            except portpool.PortPoolError:
                sock.close()
                continue
            held.add((protocol, port))
    return held


def _in_a_row(host: EmulatedHost, protocols: tuple[Protocol, ...], start: int, count: int) -> bool:
    return any(row.start <= start + count - 1 and start <= row.end
               for p in protocols for row in host.exclusions(p))


@pytest.mark.rule("X2", "X4", "X15", "R17a")
@pytest.mark.parametrize("preset", ["hyperv", "vs-runner"])
@pytest.mark.parametrize("seed", [1, 2])
def test_thousands_of_draws_under_the_patch_never_a_row_never_a_bound_port(preset: str, seed: int) -> None:
    """The Windows path (netsh, test binds) on emulated Hyper-V and Visual Studio machines."""
    host = EmulatedHost.preset(preset, seed=seed)
    held = _held(host, random.Random(seed), 300)
    cases = [("tcp", 1, False), ("udp", 1, False), ("both", 1, False), ("tcp", 5, False),
             ("both", 3, False)] + ([("tcp", 1, True), ("both", 4, True)] if preset == "hyperv" else [])
    draws = 0
    with portpool.patch(host):
        for protocol, count, outside in cases:
            protocols = (Protocol.TCP, Protocol.UDP) if protocol == "both" else (Protocol[protocol.upper()],)
            for _ in range(150):
                start = free_port(protocol, count=count, outside_dynamic=outside,
                                  rng=random.Random(draws))
                draws += 1
                assert not _in_a_row(host, protocols, start, count), (protocol, start, count)
                assert not any((p, port) in held for p in protocols
                               for port in range(start, start + count))
                if outside:
                    assert all(port not in host.dynamic_range(p, f) for p in protocols
                               for f in Family for port in range(start, start + count))
    assert draws >= 750
    checker = host.process()  # and each port really binds, from another process, afterwards
    with checker.socket() as sock:
        sock.bind(("0.0.0.0", start))


@pytest.mark.rule("X15")
def test_an_administered_row_is_skipped_though_a_plain_bind_there_succeeds() -> None:
    """X15 lets a test bind through an administered row: free_port must still skip it."""
    host = EmulatedHost.preset("hyperv", seed=3)
    with portpool.patch(host):
        for seed in range(300):
            port = free_port("tcp", count=1, rng=random.Random(seed))
            assert not 50000 <= port <= 50059


def test_wsaeacces_counts_as_busy() -> None:
    """A port refused with WSAEACCES (another account holds the wildcard; no row) is skipped."""
    host = EmulatedHost(seed=1, dynamic_ports=portpool.PortRange(60000, 255))
    other = host.process(user="someone-else")
    held = []
    for port in range(60000, 60255):
        sock = other.socket()
        sock.bind(("0.0.0.0", port))
        held.append(sock)
    with portpool.patch(host):
        with socket.socket() as probe, pytest.raises(PermissionError) as refused:
            probe.bind(("127.0.0.1", 60010))
        assert windows_code(refused.value) == 10013
        # bind(0) fails (the range is full: WSAENOBUFS); the draws then offer 60010 first.
        port = free_port(rng=_Rigged([60010 - 1024, 30000 - 1024]))
    assert port == 30000


class _Rigged(random.Random):
    """A generator whose randrange gives these values in turn (the draws' offsets)."""

    def __init__(self, values: list[int]) -> None:
        super().__init__(0)
        self.values = iter(values)

    def randrange(self, *args: Any, **kwargs: Any) -> int:
        return next(self.values)


def test_outside_dynamic_on_a_visual_studio_runner_has_one_port_left() -> None:
    host = EmulatedHost.preset("vs-runner", seed=1)  # dynamic ranges 1024-65534
    with portpool.patch(host):
        assert free_port(outside_dynamic=True) == 65535
        with pytest.raises(NoFreePortError, match="no block of 2 TCP ports"):
            free_port(count=2, outside_dynamic=True)


def test_under_the_patch_the_seam_is_the_emulated_machine() -> None:
    assert not current_seam().windows  # this OS (the suite runs on Linux)
    host = EmulatedHost.preset("hyperv", seed=1)
    with portpool.patch(host):
        seam = current_seam()
        assert seam.windows and seam.netsh(["int", "ipv4", "show", "dynamicport", "tcp"]).status == 0
        rows = read_rows(seam)
    assert rows.rows[Protocol.TCP] == tuple(
        portpool.netsh.ExcludedRange(r.start, r.end, r.administered) for r in host.exclusions(Protocol.TCP))


class _FakeRun:
    """subprocess.run for WindowsSeam: netsh prints saved real outputs (German, Chinese)."""

    def __init__(self, outputs: dict[str, bytes]) -> None:
        self.outputs = outputs
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        self.calls.append(argv)
        words = " ".join(argv[1:])
        for key, data in self.outputs.items():
            if key in words:
                return subprocess.CompletedProcess(argv, 0, data, b"")
        return subprocess.CompletedProcess(argv, 1, b"", b"Der Befehl wurde nicht gefunden")


def test_the_windows_seam_reads_netsh_in_another_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """WindowsSeam runs System32\\netsh.exe; its German and Chinese output parse the same."""
    fake = _FakeRun({
        "excludedportrange protocol=tcp": (DATA / "10-de-DE-tcp.txt").read_bytes(),
        "excludedportrange protocol=udp": (DATA / "02-en-udp.txt").read_bytes(),
        "dynamicport": (DATA / "43-zh-CN-tcp-dynamicport.txt").read_bytes(),
    })
    monkeypatch.setattr(subprocess, "run", fake)
    rows = read_rows(WindowsSeam())
    assert fake.calls[0][0].lower().endswith("netsh.exe")
    assert [(r.start, r.end, r.administered) for r in rows.rows[Protocol.TCP]][:3] == [
        (28380, 28380, False), (28385, 28385, False), (49708, 49807, False)]
    assert [(r.start, r.end) for r in rows.rows[Protocol.TCP] if r.administered] == [(50000, 50000)]
    assert [(r.start, r.end) for r in rows.rows[Protocol.UDP]] == [(56030, 56129), (56130, 56229)]
    assert rows.dynamic[(Protocol.TCP, Family.INET)] == portpool.PortRange(1024, 13977)
    monkeypatch.setattr(_free, "_READ", [])
    runs = len(fake.calls)
    with using(WindowsSeam()):
        for seed in range(50):
            port = free_port(count=3, rng=random.Random(seed))
            assert not any(r.start <= port + 2 and port <= r.end for r in rows.rows[Protocol.TCP])
    assert len(fake.calls) - runs == 6  # read once, kept for the next draws (10 s)
    monkeypatch.setattr(time, "monotonic", lambda: 1e12)  # ... then read again (_free's clock)
    with using(WindowsSeam()):
        free_port()
    assert len(fake.calls) - runs == 12


def test_a_failing_netsh_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from portpool._teach._live import LiveMachineError

    monkeypatch.setattr(_free, "_READ", [])
    monkeypatch.setattr(subprocess, "run", _FakeRun({}))
    with using(WindowsSeam()), pytest.raises(LiveMachineError, match="exited 1") as failed:
        free_port()
    assert "\n" not in str(failed.value)
