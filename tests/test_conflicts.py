"""Sharing a port (issue 7): REUSE's two tables cell by cell, stacks, addresses, options,
connect, and msquic's per-processor sockets, on both backends.

The tables below are transcribed here a second time, straight from Microsoft's page
(MicrosoftDocs/win32 desktop-src/WinSock/using-so-reuseaddr-and-so-exclusiveaddruse.md,
"Windows Server 2003 and later"), as the page prints them: a slip in the model's copy
(portpool/_model/_conflicts.py) or in this one makes a cell fail.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from portpool import (
    AF_INET,
    AF_INET6,
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    SO_EXCLUSIVEADDRUSE,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOL_SOCKET,
    EmulatedHost,
    PortPool,
    PortPoolError,
    PortRange,
    Protocol,
    Socket,
    WinError,
)

from .conftest import Refusals

rule = pytest.mark.rule
TCP = Protocol.TCP

# Rows: the first bind; columns: the second.  D/R/E: default, SO_REUSEADDR,
# SO_EXCLUSIVEADDRUSE; W/S: wildcard, specific.
_COLUMNS = ["DW", "DS", "RW", "RS", "EW", "ES"]
_SAME_ACCOUNT = """
    DW: INUSE   Success ACCESS  Success INUSE   Success
    DS: Success INUSE   Success ACCESS  INUSE   INUSE
    RW: INUSE   Success Success Success INUSE   Success
    RS: Success INUSE   Success Success INUSE   INUSE
    EW: INUSE   ACCESS  ACCESS  ACCESS  INUSE   ACCESS
    ES: Success INUSE   Success ACCESS  INUSE   INUSE
"""
_OTHER_ACCOUNT = """
    DW: INUSE   ACCESS  ACCESS  ACCESS  INUSE   ACCESS
    DS: Success INUSE   Success ACCESS  INUSE   INUSE
    RW: INUSE   ACCESS  Success Success INUSE   ACCESS
    RS: Success INUSE   Success Success INUSE   INUSE
    EW: INUSE   ACCESS  ACCESS  ACCESS  INUSE   ACCESS
    ES: Success INUSE   Success ACCESS  INUSE   INUSE
"""
_CODES = {"Success": None, "INUSE": WinError.WSAEADDRINUSE, "ACCESS": WinError.WSAEACCES}
_ROW_RULES = {True: dict(zip(_COLUMNS, ["C1", "C2", "C3", "C4", "C5", "C6"], strict=True)),
              False: dict(zip(_COLUMNS, ["C7", "C8", "C9", "C10", "C11", "C12"], strict=True))}


def _cells() -> list[object]:
    cells: list[object] = []
    for same, table in ((True, _SAME_ACCOUNT), (False, _OTHER_ACCOUNT)):
        for line in table.strip().splitlines():
            first, _, rest = line.strip().partition(":")
            for second, word in zip(_COLUMNS, rest.split(), strict=True):
                account = "same" if same else "other"
                cells.append(pytest.param(same, first, second, _CODES[word],
                                          id=f"{account}-{first}-then-{second}"))
    return cells


_OPTION = {"D": None, "R": SO_REUSEADDR, "E": SO_EXCLUSIVEADDRUSE}


def _prepare(pool: PortPool, kind: str, port: int) -> tuple[Socket, Callable[[], None]]:
    """A socket with ``kind``'s option set, and the call that binds it as ``kind`` says."""
    sock = pool.socket(AF_INET)
    option = _OPTION[kind[0]]
    if option is not None:
        sock.setsockopt(SOL_SOCKET, option, 1)
    address = ("0.0.0.0" if kind[1] == "W" else "127.0.0.1", port)
    return sock, lambda: sock.bind(address)


def _bind(pool: PortPool, kind: str, port: int) -> Socket:
    sock, bind = _prepare(pool, kind, port)
    bind()
    return sock


@rule("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12", "W2")
@pytest.mark.parametrize(("same_account", "first", "second", "code"), _cells())
def test_every_cell_of_both_tables(new_process: Callable[..., PortPool], refused: Refusals,
                                   same_account: bool, first: str, second: str,
                                   code: WinError | None) -> None:
    one = new_process(user="alice")
    two = new_process(user="alice" if same_account else "bob")
    _bind(one, first, 5000)
    sock, bind = _prepare(two, second, 5000)
    if code is None:
        bind()
        assert sock.getsockname()[1] == 5000
    else:
        refused(code, bind, _ROW_RULES[same_account][first])


@rule("C13")
@pytest.mark.parametrize("first", ["DS", "ES", "RS"])
def test_two_specific_addresses_never_conflict(new_process: Callable[..., PortPool],
                                               first: str) -> None:
    one, two = new_process(user="alice"), new_process(user="bob")
    _bind(one, first, 5150)
    other = two.socket()
    other.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)
    other.bind(("192.168.1.10", 5150))  # REUSE's 10.0.0.1 / 10.99.99.99 example
    assert other.getsockname() == ("192.168.1.10", 5150)


@rule("C15", "O6")
def test_ipv4_and_ipv6_only_sockets_hold_one_port_side_by_side(pool: PortPool) -> None:
    v4 = pool.socket(AF_INET)
    v4.bind(("0.0.0.0", 6000))
    v6 = pool.socket(AF_INET6)
    assert v6.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY) == 1
    v6.bind(("::", 6000))
    assert v6.getsockname()[:2] == ("::", 6000)


@rule("C14", "C20", "O6")
def test_a_dual_stack_wildcard_holds_the_port_on_both_stacks(pool: PortPool,
                                                             refused: Refusals) -> None:
    dual = pool.socket(AF_INET6)
    dual.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0)
    dual.bind(("::", 6100))
    v6 = pool.socket(AF_INET6)
    refused(WinError.WSAEADDRINUSE, lambda: v6.bind(("::", 6100)), "C1")
    # C20: on its IPv4 side it does not stop an IPv4 wildcard bind (tests_exclusive[14]) ...
    v4 = pool.socket(AF_INET)
    v4.bind(("0.0.0.0", 6100))
    # ... and a specific IPv4 bind meets the two wildcards by the table: allowed (C1).
    specific = pool.socket(AF_INET)
    specific.bind(("127.0.0.1", 6100))
    assert specific.getsockname() == ("127.0.0.1", 6100)


@rule("C20")
def test_an_exclusive_dual_stack_wildcard_refuses_every_ipv4_bind(pool: PortPool,
                                                                  refused: Refusals) -> None:
    dual = pool.socket(AF_INET6)
    dual.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0)
    dual.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)
    dual.bind(("::", 6110))
    for host, option in (("0.0.0.0", None), ("127.0.0.1", None), ("0.0.0.0", SO_REUSEADDR)):
        v4 = pool.socket(AF_INET)
        if option is not None:
            v4.setsockopt(SOL_SOCKET, option, 1)
        refused(WinError.WSAEACCES, functools.partial(v4.bind, (host, 6110)), "C20")


@rule("C14")
@pytest.mark.parametrize(("alternative", "code"), [("access", WinError.WSAEACCES),
                                                   ("table", WinError.WSAEADDRINUSE)])
def test_dual_stack_exclusive_over_an_ipv4_loopback_bind(alternative: str, code: WinError,
                                                         backend: str) -> None:
    host = EmulatedHost(variants={"C14": alternative})
    pool = _start(host, backend)
    pool.socket(AF_INET).bind(("127.0.0.1", 5000))  # REUSE's own example
    dual = pool.socket(AF_INET6)
    dual.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0)
    dual.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)
    Refusals(host, backend)(code, lambda: dual.bind(("::", 5000)), f"C14: {alternative}")


@rule("C16")
def test_every_holder_is_asked_in_bind_order(pool: PortPool, refused: Refusals) -> None:
    _bind(pool, "RW", 7000)
    _bind(pool, "RS", 7000)  # C3: success under the wildcard
    fresh = pool.socket()
    # The first holder (C3, RW then DS) allows it; the second (C4, RS then DS) refuses.
    refused(WinError.WSAEADDRINUSE, lambda: fresh.bind(("127.0.0.1", 7000)), "C4")


@rule("C17", "W1")
def test_bind_zero_never_hands_out_a_port_any_socket_holds() -> None:
    host = EmulatedHost(dynamic_ports={TCP: PortRange(60000, 255)})
    app = host.process()
    v6 = app.socket(AF_INET6)
    v6.bind(("::1", 60100))
    got = set()
    for _ in range(254):
        s = app.socket(AF_INET)
        s.bind(("0.0.0.0", 0))
        got.add(s.getsockname()[1])
    assert 60100 not in got and len(got) == 254
    with pytest.raises(PortPoolError) as info:
        app.socket(AF_INET).bind(("0.0.0.0", 0))
    assert info.value.winerror == WinError.WSAENOBUFS


@rule("C18", "O5")
def test_options_count_as_they_were_at_bind(pool: PortPool) -> None:
    first = pool.socket()
    first.bind(("0.0.0.0", 7100))
    first.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)  # O5 `accepted`: too late to matter
    assert first.getsockopt(SOL_SOCKET, SO_REUSEADDR) == 1
    second = pool.socket()
    second.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    # Were `first` SO_REUSEADDR, C3 would allow RW; it bound as default: C1 says ACCESS.
    with pytest.raises(PortPoolError) as info:
        second.bind(("0.0.0.0", 7100))
    assert info.value.winerror == WinError.WSAEACCES


@rule("C19")
def test_per_processor_udp_sockets_of_one_process_share_a_port(new_process: Callable[..., PortPool],
                                                               refused: Refusals) -> None:
    app = new_process()
    holders = []
    for processor in range(4):
        s = app.socket(AF_INET6, SOCK_DGRAM)
        s.set_cpu_affinity(processor)
        s.bind(("::", 6200))
        holders.append(s)
    plain = app.socket(AF_INET6, SOCK_DGRAM)
    refused(WinError.WSAEADDRINUSE, lambda: plain.bind(("::", 6200)), "C1")
    other = new_process().socket(AF_INET6, SOCK_DGRAM)
    other.set_cpu_affinity(0)
    refused(WinError.WSAEADDRINUSE, lambda: other.bind(("::", 6200)), "C1")
    tcp = app.socket(AF_INET6)
    refused(WinError.WSAEOPNOTSUPP, lambda: tcp.set_cpu_affinity(0), "B8")


@rule("C19", "R4")
def test_a_shared_port_is_free_only_when_its_last_holder_closes(emulated_host: EmulatedHost,
                                                                pool: PortPool) -> None:
    a, b = _bind(pool, "DS", 7200), _bind(pool, "DW", 7200)
    assert [x.host for x in emulated_host.bindings(TCP)] == ["127.0.0.1", "0.0.0.0"]
    before = emulated_host.machine.free_ports(TCP)
    a.close()
    assert [x.host for x in emulated_host.bindings(TCP)] == ["0.0.0.0"]
    with pytest.raises(PortPoolError):
        pool.socket().acquire_port_reservation(7200, 1)  # A2: still bound
    b.close()
    assert emulated_host.bindings(TCP) == ()
    pool.socket().acquire_port_reservation(7200, 1)
    assert emulated_host.machine.free_ports(TCP) == before


# --- local addresses ------------------------------------------------------------------------

@rule("L1")
def test_binding_an_address_the_machine_lacks_fails(pool: PortPool, refused: Refusals) -> None:
    v4, v6 = pool.socket(), pool.socket(AF_INET6)
    refused(WinError.WSAEADDRNOTAVAIL, lambda: v4.bind(("203.0.113.5", 0)), "L1")
    refused(WinError.WSAEADDRNOTAVAIL, lambda: v6.bind(("2001:db8::5", 0)), "L1")
    for host in ("127.0.0.1", "192.168.1.10", "0.0.0.0"):
        pool.socket().bind((host, 0))
    for host in ("::1", "fd00::10", "::"):
        pool.socket(AF_INET6).bind((host, 0))


@rule("L1")
def test_a_machine_has_the_addresses_it_is_given(backend: str) -> None:
    host = EmulatedHost(addresses=["10.0.0.1", "10.99.99.99", "2001:db8::7"])
    pool = _start(host, backend)
    pool.socket().bind(("10.99.99.99", 5150))
    pool.socket(AF_INET6).bind(("2001:db8::7", 0))
    with pytest.raises(PortPoolError) as info:
        pool.socket().bind(("127.0.0.1", 0))
    assert info.value.winerror == WinError.WSAEADDRNOTAVAIL
    with pytest.raises(ValueError, match="not an IPv4 or IPv6 address"):
        EmulatedHost(addresses=["localhost"])
    with pytest.raises(ValueError, match="wildcard"):
        EmulatedHost(addresses=["0.0.0.0"])
    with pytest.raises(TypeError):
        EmulatedHost(addresses="127.0.0.1")


@rule("L2", "L3")
def test_ipv4_mapped_addresses_need_a_dual_stack_socket(pool: PortPool, refused: Refusals) -> None:
    only6 = pool.socket(AF_INET6)
    refused(WinError.WSAEADDRNOTAVAIL, lambda: only6.bind(("::ffff:127.0.0.1", 0)), "L3")
    dual = pool.socket(AF_INET6)
    dual.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0)
    dual.bind(("::ffff:127.0.0.1", 6300))
    assert dual.getsockname()[:2] == ("::ffff:127.0.0.1", 6300)
    # It sits on the IPv4 stack: an AF_INET socket on the same address meets it (C2).
    v4 = pool.socket()
    refused(WinError.WSAEADDRINUSE, lambda: v4.bind(("127.0.0.1", 6300)), "C2")
    pool.socket(AF_INET6).bind(("::1", 6300))  # the IPv6 stack is free


@rule("L4", "L1")
def test_a_multicast_address_is_not_the_machines(pool: PortPool, refused: Refusals) -> None:
    udp = pool.socket(type=SOCK_DGRAM)
    refused(WinError.WSAEADDRNOTAVAIL, lambda: udp.bind(("239.1.2.3", 0)), "L1")


@rule("L4")
@pytest.mark.parametrize(("alternative", "broadcast_on", "code", "tag"), [
    ("access", False, WinError.WSAEACCES, "L4: access"),
    ("access", True, WinError.WSAEADDRNOTAVAIL, "L1"),
    ("not-available", False, WinError.WSAEADDRNOTAVAIL, "L4: not-available"),
    ("not-available", True, WinError.WSAEADDRNOTAVAIL, "L4: not-available"),
])
def test_a_broadcast_bind_under_each_alternative(backend: str, alternative: str, broadcast_on: bool,
                                                  code: WinError, tag: str) -> None:
    host = EmulatedHost(variants={"L4": alternative})
    udp = _start(host, backend).socket(type=SOCK_DGRAM)
    if broadcast_on:
        udp.setsockopt(SOL_SOCKET, 0x20, 1)  # SO_BROADCAST
    refused = Refusals(host, backend)
    refused(code, lambda: udp.bind(("255.255.255.255", 0)), None if ":" in tag else tag)
    if backend == "emulated":
        with pytest.raises(PortPoolError, match=rf"\[rule {tag}\]"):
            udp.bind(("255.255.255.255", 0))


# --- options ----------------------------------------------------------------------------------

@rule("O1", "O2", "O3")
def test_option_errors(pool: PortPool, refused: Refusals) -> None:
    s = pool.socket()
    refused(WinError.WSAENOPROTOOPT, lambda: s.setsockopt(SOL_SOCKET, 0x4321, 1), "O1")
    refused(WinError.WSAENOPROTOOPT, lambda: s.getsockopt(SOL_SOCKET, 0x4321), "O1")
    refused(WinError.WSAEINVAL, lambda: s.setsockopt(12345, SO_REUSEADDR, 1), "O2")
    refused(WinError.WSAEINVAL, lambda: s.setsockopt(IPPROTO_IPV6, 4, 1), "O2")  # IPV6_UNICAST_HOPS
    refused(WinError.WSAEFAULT, lambda: s.setsockopt(SOL_SOCKET, 0x1002, b"\x01"), "O3")  # SO_RCVBUF
    with pytest.raises(TypeError):
        s.setsockopt(SOL_SOCKET, SO_REUSEADDR, "yes")  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(OverflowError):
        s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 2**40)
    s.close()
    refused(WinError.WSAENOTSOCK, lambda: s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1), "R9b")


@rule("O4", "O7")
def test_reuse_and_exclusive_exclude_each_other(pool: PortPool, refused: Refusals) -> None:
    s = pool.socket()
    assert (s.getsockopt(SOL_SOCKET, SO_REUSEADDR), s.getsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE)) \
        == (0, 0)
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 7)
    assert s.getsockopt(SOL_SOCKET, SO_REUSEADDR) == 1
    refused(WinError.WSAEINVAL, lambda: s.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1), "O4")
    s.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 0)  # off is always fine
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, b"\x00\x00\x00\x00")
    s.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)
    refused(WinError.WSAEINVAL, lambda: s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1), "O4")
    assert s.getsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE) == 1


@rule("O5")
@pytest.mark.parametrize("alternative", ["accepted", "refused"])
def test_options_after_bind(alternative: str, backend: str) -> None:
    host = EmulatedHost(variants={"O5": alternative})
    s = _start(host, backend).socket(AF_INET6)
    s.bind(("::1", 0))
    if alternative == "accepted":
        s.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0)
        assert s.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY) == 0
    else:
        Refusals(host, backend)(WinError.WSAEINVAL,
                                lambda: s.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0), "O5: refused")
        assert s.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY) == 1


# --- connect ----------------------------------------------------------------------------------

@rule("K1", "K5", "K6")
def test_connect_binds_implicitly_and_records_the_peer(emulated_host: EmulatedHost, pool: PortPool,
                                                       refused: Refusals) -> None:
    s = pool.socket()
    refused(WinError.WSAENOTCONN, s.getpeername, "K5")
    s.connect(("203.0.113.9", 443))
    assert s.getpeername() == ("203.0.113.9", 443)
    host, port = s.getsockname()
    assert host == "0.0.0.0" and port in emulated_host.dynamic_range(TCP)
    server = pool.socket()
    server.bind(("127.0.0.1", 80))
    server.listen()
    bound = pool.socket()
    bound.bind(("127.0.0.1", 7300))
    bound.connect(("127.0.0.1", 80))
    assert bound.getsockname() == ("127.0.0.1", 7300)


@rule("K3", "K4", "L3")
def test_connect_refusals(pool: PortPool, refused: Refusals) -> None:
    s = pool.socket()
    refused(WinError.WSAEADDRNOTAVAIL, lambda: s.connect(("0.0.0.0", 80)), "K3")
    refused(WinError.WSAEADDRNOTAVAIL, lambda: s.connect(("127.0.0.1", 0)), "K3")
    server = pool.socket()
    server.bind(("127.0.0.1", 80))
    server.listen()
    s.connect(("127.0.0.1", 80))
    refused(WinError.WSAEISCONN, lambda: s.connect(("127.0.0.1", 81)), "K4")
    udp = pool.socket(type=SOCK_DGRAM)
    udp.connect(("127.0.0.1", 53))
    udp.connect(("127.0.0.1", 54))  # K4: a UDP socket may connect again
    assert udp.getpeername() == ("127.0.0.1", 54)
    v6 = pool.socket(AF_INET6)
    refused(WinError.WSAEADDRNOTAVAIL, lambda: v6.connect(("::ffff:127.0.0.1", 80)), "L3")


@rule("K7", "K5")
def test_a_udp_connect_to_the_wildcard_disconnects(pool: PortPool, refused: Refusals) -> None:
    udp = pool.socket(type=SOCK_DGRAM)
    udp.connect(("127.0.0.1", 53))
    port = udp.getsockname()[1]
    udp.connect(("0.0.0.0", 0))  # "the socket will be disconnected" (CONNECT)
    refused(WinError.WSAENOTCONN, udp.getpeername, "K5")
    assert udp.getsockname()[1] == port  # the binding stays
    tcp = pool.socket()
    refused(WinError.WSAEADDRNOTAVAIL, lambda: tcp.connect(("0.0.0.0", 80)), "K3")


@rule("C7", "C2")
def test_account_names_compare_without_case(new_process: Callable[..., PortPool]) -> None:
    _bind(new_process(user="Alice"), "DW", 7500)
    same = new_process(user="alice").socket()
    same.bind(("127.0.0.1", 7500))  # one account: C1 lets a specific bind under a wildcard
    other = new_process(user="bob").socket()
    with pytest.raises(PortPoolError) as info:
        other.bind(("192.168.1.10", 7500))
    assert info.value.winerror == WinError.WSAEACCES  # two accounts: C7


@rule("L1", "L2", "L4")
@pytest.mark.parametrize("address", ["::ffff:10.0.0.1", "224.0.0.1", "255.255.255.255", "ff02::1"])
def test_a_machine_cannot_have_group_or_mapped_addresses(address: str) -> None:
    with pytest.raises(ValueError, match=r"group address|IPv4-mapped"):
        EmulatedHost(addresses=["127.0.0.1", address])


@rule("K2", "R5")
@pytest.mark.parametrize("alternative", ["block", "dynamic"])
def test_connect_on_an_associated_socket(alternative: str, backend: str) -> None:
    host = EmulatedHost(variants={"K2": alternative})
    pool = _start(host, backend)
    owner = pool.socket()
    res = owner.acquire_port_reservation(60000, 10)
    server = pool.socket()
    server.bind(("127.0.0.1", 80))
    server.listen()
    s = pool.socket()
    s.associate_port_reservation(res.token)
    s.connect(("127.0.0.1", 80))
    port = s.getsockname()[1]
    if alternative == "block":
        assert port in res.range
    else:
        assert port in host.dynamic_range(TCP) and port not in res.range


@rule("R20", "R17")
def test_a_block_governs_both_families(pool: PortPool, new_process: Callable[..., PortPool],
                                       refused: Refusals) -> None:
    new_process().socket(AF_INET).acquire_port_reservation(62000, 2)
    v6 = pool.socket(AF_INET6)
    refused(WinError.WSAEACCES, lambda: v6.bind(("::1", 62001)), "R17")


@rule("C1", "C13")
def test_explain_lists_every_holder_and_predicts_the_table(emulated_host: EmulatedHost,
                                                           pool: PortPool) -> None:
    _bind(pool, "DS", 7400)
    why = emulated_host.explain(TCP, 7400)
    assert why.plain_bind is None and len(why.bindings) == 1  # DS then DW: success (C2)
    assert why.plain_bind_rule == "C2"
    _bind(pool, "DW", 7400)
    why = emulated_host.explain(TCP, 7400)
    assert [b.host for b in why.bindings] == ["127.0.0.1", "0.0.0.0"]
    assert (why.plain_bind, why.plain_bind_rule) == (WinError.WSAEADDRINUSE, "C1")
    assert (why.acquire, why.acquire_rule) == (WinError.WSAEADDRINUSE, "A2")
    assert not why.drawable


@rule("C6")
def test_explain_names_the_row_that_lets_a_bind_through(emulated_host: EmulatedHost,
                                                        pool: PortPool) -> None:
    _bind(pool, "ES", 7600)
    why = emulated_host.explain(TCP, 7600)
    assert (why.plain_bind, why.plain_bind_rule) == (None, "C6")  # ES then DW: success


def _start(host: EmulatedHost, backend: str) -> PortPool:
    if backend == "emulated":
        return host.process()
    from portpool.backends.windows import WindowsPool

    return WindowsPool(dlls=host.dlls())
