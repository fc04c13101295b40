"""Exclusions, administered rows, variants and dynamic ranges (rules X*, Y*, R17, A2, A23).

Interface-level cases run on both backends: the emulated one and the ctypes backend over
the emulated DLLs (the ``backend`` fixture of conftest.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from portpool import (
    AF_INET,
    AF_INET6,
    SOCK_DGRAM,
    EmulatedHost,
    Exclusion,
    Family,
    PortPool,
    PortPoolError,
    PortRange,
    Protocol,
    WinError,
)

from .conftest import Refusals

TCP, UDP = Protocol.TCP, Protocol.UDP
rule = pytest.mark.rule
V4, V6 = Family.INET, Family.INET6


def start_process(host: EmulatedHost, backend: str, *, admin: bool = False) -> PortPool:
    if backend == "emulated":
        return host.process(admin=admin)
    from portpool.backends.windows import WindowsPool

    return WindowsPool(dlls=host.dlls(admin=admin))


Maker = Callable[..., tuple[EmulatedHost, PortPool, Refusals]]


@pytest.fixture
def machine(backend: str) -> Maker:
    """``machine(variants=..., admin=...)``: a host, a process on it, and ``refused``."""

    def make(*, admin: bool = False, **options: object) -> tuple[EmulatedHost, PortPool, Refusals]:
        host = EmulatedHost(**options)  # type: ignore[arg-type]  # wrong on purpose
        return host, start_process(host, backend, admin=admin), Refusals(host, backend)

    return make


# --- system exclusions ------------------------------------------------------------------

@rule("X1", "X2", "X10", "R17a")
def test_plain_bind_into_a_system_exclusion_is_refused_with_wsaeacces(machine: Maker) -> None:
    host, app, refused = machine()
    row = host.exclude(TCP, 51417, 100, owner="WinNAT")
    assert row == Exclusion(TCP, 51417, 51516, False, "WinNAT")
    s4, s6 = app.socket(), app.socket(AF_INET6)
    for port in (51417, 51450, 51516):
        refused(WinError.WSAEACCES, functools.partial(s4.bind, ("0.0.0.0", port)), "X2")
    refused(WinError.WSAEACCES, lambda: s6.bind(("::1", 51420, 0, 0)), "X2")
    app.socket().bind(("127.0.0.1", 51517))  # the next port is free
    app.socket(type=SOCK_DGRAM).bind(("127.0.0.1", 51450))  # UDP has its own list


@rule("X2", "X12", "A23")
def test_an_excluded_port_that_is_also_bound_still_gives_wsaeacces(machine: Maker) -> None:
    host, app, refused = machine()
    holder = app.socket()
    holder.bind(("0.0.0.0", 47001))
    host.exclude(TCP, 47001, 1, owner="HTTP.sys")  # HTTP.sys excludes the port it listens on
    assert holder.getsockname()[1] == 47001
    other = app.socket()
    refused(WinError.WSAEACCES, lambda: other.bind(("127.0.0.1", 47001)), "X2")
    holder.close()
    refused(WinError.WSAEACCES, lambda: other.bind(("127.0.0.1", 47001)), "X2")


@rule("X12")
def test_a_system_exclusion_over_another_block_is_refused() -> None:
    host = EmulatedHost()
    admin = host.process(admin=True)
    admin.create_persistent_reservation(TCP, 50000, 60)
    before = host.snapshot()
    with pytest.raises(PortPoolError) as info:
        host.exclude(TCP, 49950, 100)
    assert info.value.winerror == WinError.ERROR_SHARING_VIOLATION
    assert "[rule X12]" in str(info.value)
    assert host.snapshot() == before
    host.exclude(UDP, 49950, 100)  # the other protocol is independent


@rule("X4", "W1", "A13")
def test_bind_zero_and_wildcard_blocks_never_land_in_any_kind_of_block() -> None:
    host = EmulatedHost(seed=3, dynamic_ports=PortRange(60000, 300))
    app = host.process(admin=True)
    host.exclude(TCP, 60000, 100)
    app.create_persistent_reservation(TCP, 60100, 50)
    runtime = app.socket().acquire_port_reservation(60150, 50)
    blocks = [PortRange(60000, 100), PortRange(60100, 50), runtime.range]
    got = set()
    for _ in range(100):
        s = app.socket()
        s.bind(("", 0))
        got.add(s.getsockname()[1])
    assert got == set(range(60200, 60300))
    with pytest.raises(PortPoolError) as info:
        app.socket().bind(("", 0))
    assert info.value.winerror == WinError.WSAENOBUFS
    other = EmulatedHost(seed=4, dynamic_ports=PortRange(60000, 300))
    other.exclude(TCP, 60100, 100)
    res = other.process().socket().acquire_port_reservation(0, 100)
    assert res.range in (PortRange(60000, 100), PortRange(60200, 100))
    assert not any(b.overlaps(res.range) for b in blocks[:1])


@rule("X5", "A2")
def test_a_specific_acquire_over_any_kind_of_block_gives_wsaeaddrinuse(machine: Maker) -> None:
    host, app, refused = machine(admin=True)
    host.exclude(TCP, 40000, 10)
    app.create_persistent_reservation(TCP, 40010, 10)
    app.socket().acquire_port_reservation(40020, 10)
    host.process().socket().acquire_port_reservation(40030, 10)  # another process's block
    sock = app.socket()
    for start in (40005, 40015, 40025, 40035):
        refused(WinError.WSAEADDRINUSE, functools.partial(sock.acquire_port_reservation, start, 2), "X5")
    app.socket().bind(("", 40050))
    refused(WinError.WSAEADDRINUSE, lambda: sock.acquire_port_reservation(40049, 3), "A2")


@rule("X6", "R13b", "A15")
def test_create_persistent_over_an_exclusion_gives_sharing_violation(machine: Maker) -> None:
    host, app, refused = machine(admin=True)
    host.exclude(UDP, 54315, 200)
    refused(WinError.ERROR_SHARING_VIOLATION,
            lambda: app.create_persistent_reservation(UDP, 54400, 10), "X6")
    app.create_persistent_reservation(TCP, 54400, 10)  # TCP is another list


# --- binding inside one's own runtime block (X14) and administered blocks (X15) ---------

@rule("R17")
def test_plain_bind_into_another_process_runtime_block_is_refused(machine: Maker) -> None:
    host, app, refused = machine()
    host.process().socket().acquire_port_reservation(41000, 10)
    sock = app.socket()
    refused(WinError.WSAEACCES, lambda: sock.bind(("", 41005)), "R17")


@rule("X14")
@pytest.mark.parametrize("alternative", ["refused", "succeeds"])
def test_plain_bind_into_ones_own_runtime_block(machine: Maker, alternative: str) -> None:
    host, app, refused = machine(variants={"X14": alternative})
    assert host.variants["X14"] == alternative
    holder = app.socket()
    holder.acquire_port_reservation(41000, 10)
    plain = app.socket()
    if alternative == "refused":
        refused(WinError.WSAEACCES, lambda: plain.bind(("", 41005)), "X14: refused")
    else:
        plain.bind(("", 41005))
        assert plain.getsockname()[1] == 41005
        second = app.socket()
        refused(WinError.WSAEADDRINUSE, lambda: second.bind(("", 41005)), "C1")


@rule("X15", "R5", "R7")
@pytest.mark.parametrize("alternative", ["succeeds", "refused"])
def test_plain_bind_into_an_administered_block(machine: Maker, alternative: str) -> None:
    host, admin, _ = machine(admin=True, variants={"X15": alternative})
    token = admin.create_persistent_reservation(TCP, 50000, 60)
    user = start_process(host, "emulated")
    plain = user.socket()
    if alternative == "succeeds":
        plain.bind(("127.0.0.1", 50019))  # dotnet/runtime#71518's port
        assert plain.getsockname()[1] == 50019
    else:
        with pytest.raises(PortPoolError) as info:
            plain.bind(("127.0.0.1", 50019))
        assert info.value.winerror == WinError.WSAEACCES
        assert "[rule X15: refused]" in str(info.value)
    assoc = admin.socket()
    assoc.associate_port_reservation(token)
    assoc.bind(("", 0))
    assert 50000 <= assoc.getsockname()[1] <= 50059


@rule("X15")
def test_variant_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="has no alternative 'maybe'"):
        EmulatedHost(variants={"X15": "maybe"})
    with pytest.raises(ValueError, match="has no alternatives"):
        EmulatedHost(variants={"W2": "succeeds"})
    with pytest.raises(TypeError):
        EmulatedHost(variants=["X15"])  # type: ignore[arg-type]  # wrong on purpose
    assert EmulatedHost().variants["X15"] == "succeeds"


# --- what netsh lists (X13) and deletes (X7) -----------------------------------------------

@rule("X13", "N1")
@pytest.mark.parametrize("alternative", ["listed", "hidden"])
def test_runtime_reservations_in_the_list(alternative: str) -> None:
    host = EmulatedHost(variants={"X13": alternative})
    app = host.process(admin=True)
    host.exclude(TCP, 5357, 1, owner="HTTP.sys")
    app.create_persistent_reservation(TCP, 50000, 60)
    res = app.socket().acquire_port_reservation(60000, 5)
    rows = host.exclusions(TCP)
    expected = [Exclusion(TCP, 5357, 5357, False, "HTTP.sys"), Exclusion(TCP, 50000, 50059, True, None)]
    if alternative == "listed":
        expected.append(Exclusion(TCP, 60000, 60004, False, f"process {app.pid}"))
    assert list(rows) == expected
    assert res.range == PortRange(60000, 5)
    assert host.exclusions(UDP) == ()


@rule("X7", "N1", "N2")
@pytest.mark.parametrize(("alternative", "message"), [
    ("access-denied", "Access is denied."), ("not-found", "Element not found.")])
def test_netsh_cannot_delete_a_system_row(alternative: str, message: str) -> None:
    host = EmulatedHost(variants={"X7": alternative})
    host.exclude(TCP, 51417, 100)
    result = host.run_netsh("int ipv4 delete excludedportrange protocol=tcp startport=51417"
                            " numberofports=100", admin=True)
    assert result.output == f"{message}\n\n"
    assert result.status == 1
    assert host.exclusions(TCP)[0].owner == "WinNAT"


@rule("X1")
def test_release_exclusions_and_reboot_remove_system_rows() -> None:
    host = EmulatedHost()
    app = host.process()
    host.exclude(TCP, 51417, 100)
    host.exclude(UDP, 56030, 100)
    host.exclude(TCP, 47001, 1, owner="HTTP.sys")
    assert host.release_exclusions("WinNAT") == 2
    assert [r.owner for r in host.exclusions(TCP)] == ["HTTP.sys"]
    app.socket().bind(("", 51450))
    host.reboot()
    assert host.exclusions(TCP) == ()
    assert host.release_exclusions("nobody") == 0


# --- the dynamic ranges (R18, Y1-Y5) --------------------------------------------------------

@rule("R18", "Y4")
def test_four_dynamic_ranges_and_which_sockets_draw_from_them() -> None:
    host = EmulatedHost(seed=2, dynamic_ports={(TCP, V4): PortRange(20000, 255),
                                               (TCP, V6): PortRange(30000, 255),
                                               UDP: PortRange(40000, 300)})
    assert host.dynamic_range(TCP) == PortRange(20000, 255)
    assert host.dynamic_range(TCP, V6) == PortRange(30000, 255)
    assert host.dynamic_range(UDP, V4) == host.dynamic_range(UDP, V6) == PortRange(40000, 300)
    app = host.process()
    v4, v6 = app.socket(AF_INET), app.socket(AF_INET6)
    v4.bind(("", 0))
    v6.bind(("::", 0, 0, 0))
    assert 20000 <= v4.getsockname()[1] < 20255
    assert 30000 <= v6.getsockname()[1] < 30255
    block = app.socket(AF_INET6).acquire_port_reservation(0, 10)
    assert block.range.start >= 30000 and block.range.last < 30255
    assert EmulatedHost().dynamic_range(UDP, V6) == PortRange(49152, 16384)


@rule("Y1", "Y2")
@pytest.mark.parametrize("bad", [PortRange(100, 10), PortRange(60000, 254), PortRange(1000, 1000)])
def test_dynamic_range_options_outside_the_limits_raise_value_error(bad: PortRange) -> None:
    with pytest.raises(ValueError, match="Y1, Y2"):
        EmulatedHost(dynamic_ports=bad)


@rule("Y2")
def test_the_lowest_start_is_an_alternative() -> None:
    assert EmulatedHost(dynamic_ports=PortRange(1024, 64511)).dynamic_range(TCP).start == 1024
    with pytest.raises(ValueError, match="starts below 1025"):
        EmulatedHost(dynamic_ports=PortRange(1024, 64511), variants={"Y2": "1025"})
    host = EmulatedHost(variants={"Y2": "1025"})
    result = host.run_netsh("int ipv4 set dynamicport tcp start=1024 num=64511", admin=True)
    assert (result.status, result.error) == (1, WinError.ERROR_INVALID_PARAMETER)
    assert host.dynamic_range(TCP) == PortRange(49152, 16384)


@rule("Y1", "Y3", "Y5", "N2")
def test_netsh_changes_a_dynamic_range_at_run_time() -> None:
    host = EmulatedHost(seed=5)
    app = host.process()
    held = app.socket()
    held.bind(("", 0))
    port = held.getsockname()[1]
    denied = host.run_netsh("int ipv4 set dynamicport tcp start=10000 num=1000")
    assert denied.output == "The requested operation requires elevation (Run as administrator).\n\n"
    assert denied.error == WinError.ERROR_ELEVATION_REQUIRED
    small = host.run_netsh("int ipv4 set dynamicport tcp start=10000 num=254", admin=True)
    assert small.output == "The parameter is incorrect.\n\n"
    past = host.run_netsh("int ipv4 set dynamicport tcp start=65000 num=1000", admin=True)
    assert past.error == WinError.ERROR_INVALID_PARAMETER
    ok = host.run_netsh("int ipv4 set dynamicport tcp start=10000 num=1000", admin=True)
    assert (ok.output, ok.status) == ("Ok.\n\n", 0)
    assert host.dynamic_range(TCP) == PortRange(10000, 1000)
    assert host.dynamic_range(TCP, V6) == PortRange(49152, 16384)
    assert held.getsockname()[1] == port  # Y5: nothing moves
    fresh = app.socket()
    fresh.bind(("", 0))
    assert 10000 <= fresh.getsockname()[1] < 11000
    assert host.netsh("int ipv4 show dynamicport tcp") == (
        "\nProtocol tcp Dynamic Port Range\n---------------------------------\n"
        "Start Port      : 10000\nNumber of Ports : 1000\n\n")


# --- netsh add/delete/show (N1-N4) ------------------------------------------------------

@rule("N1", "N2", "N3", "N4", "R16")
def test_netsh_add_show_delete_round_trip() -> None:
    host = EmulatedHost()
    assert host.netsh("int ipv4 add excludedportrange protocol=tcp startport=50000 numberofports=60") == (
        "The requested operation requires elevation (Run as administrator).\n\n")
    assert host.netsh("int ipv4 add excludedportrange protocol=tcp startport=50000"
                      " numberofports=60", admin=True) == "Ok.\n\n"
    host.exclude(TCP, 5357, 1, owner="HTTP.sys")
    assert host.process().lookup_persistent_reservation(TCP, 50000, 60) != 0  # N1: one store
    shown = host.netsh("interface ipv6 show excludedportrange protocol=tcp")
    assert shown == (
        "\nProtocol tcp Port Exclusion Ranges\n\n"
        "Start Port    End Port      \n"
        "----------    --------      \n"
        "      5357        5357      \n"
        "     50000       50059     *\n\n"
        "* - Administered port exclusions.\n\n")
    assert host.netsh("int ipv4 delete excludedportrange protocol=tcp startport=50000"
                      " numberofports=59", admin=True) == "Element not found.\n\n"
    assert host.netsh("int ipv4 delete excludedportrange tcp 50000 60", admin=True) == "Ok.\n\n"
    assert [r.owner for r in host.exclusions(TCP)] == ["HTTP.sys"]


@rule("N3", "R13d")
def test_store_active_rows_end_at_reboot() -> None:
    host = EmulatedHost()
    for start, store in ((50000, "persistent"), (50100, "active")):
        assert host.netsh(f"int ipv4 add excludedportrange protocol=udp startport={start}"
                          f" numberofports=10 store={store}", admin=True) == "Ok.\n\n"
    assert [r.start for r in host.exclusions(UDP)] == [50000, 50100]
    persistent_only = host.netsh("int ipv4 show excludedportrange protocol=udp store=persistent")
    assert "50000" in persistent_only and "50100" not in persistent_only
    host.reboot()
    assert [r.start for r in host.exclusions(UDP)] == [50000]


@rule("X6", "R13b", "N1")
def test_netsh_add_over_a_port_in_use_prints_the_sharing_violation() -> None:
    host = EmulatedHost()
    host.process().socket().bind(("", 8080))
    host.exclude(TCP, 2375, 100)
    for start in (8080, 2400):
        result = host.run_netsh(f"int ipv4 add excludedportrange protocol=tcp startport={start}"
                                " numberofports=1", admin=True)
        assert result.output == ("The process cannot access the file because it is being used by"
                                 " another process.\n\n")
        assert result.error == WinError.ERROR_SHARING_VIOLATION
