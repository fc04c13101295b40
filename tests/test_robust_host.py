"""Issue 8's host-level findings (the reliability audit), one test each:
Python's exceptions where Python decides, nothing half-done, a store that is the truth."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from portpool import (
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    EmulatedHost,
    Family,
    PortPoolError,
    PortRange,
    Protocol,
    StoreError,
    WinError,
    open_pool,
)

TCP, UDP = Protocol.TCP, Protocol.UDP


@pytest.mark.parametrize("bad", ["tcp", 7, None, 6.0, [6]])
def test_introspection_with_a_bad_protocol_raises_python_errors(bad: object) -> None:
    host = EmulatedHost()
    before = host.snapshot()
    for call in (host.reservations, host.bindings, host.dynamic_range, host.exclusions):
        with pytest.raises((TypeError, ValueError), match="protocol"):
            call(bad)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(ValueError, match="protocol"):
        host.reservations(7)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError, match="family"):
        host.dynamic_range(TCP, "ipv6")  # type: ignore[arg-type]  # wrong on purpose
    assert host.dynamic_range(TCP, Family.INET6) == PortRange(49152, 16384)
    assert host.snapshot() == before


@pytest.mark.parametrize(("options", "error"), [
    ({"dynamic_ports": 5}, TypeError), ({"dynamic_ports": {6: 5}}, TypeError),
    ({"dynamic_ports": (1, 2)}, TypeError), ({"store": 5}, TypeError),
    ({"seed": None}, TypeError), ({"seed": "1"}, TypeError), ({"seed": True}, TypeError),
    ({"dynamic_ports": PortRange(100, 10)}, ValueError), ({"variants": {"X15": "maybe"}}, ValueError),
    ({"preset": "nope"}, ValueError), ({"dynamic_ports": {(TCP, 99): PortRange(50000, 300)}}, TypeError),
])
def test_bad_host_options_raise_type_or_value_error(options: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        EmulatedHost(**options)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(error):
        open_pool("emulated", **options)


@pytest.mark.parametrize("admin", ["no", 1, [], None])
def test_admin_must_be_a_bool(admin: object) -> None:
    host = EmulatedHost()
    with pytest.raises(TypeError, match="admin"):
        host.process(admin=admin)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError, match="admin"):
        host.dlls(admin=admin)  # type: ignore[arg-type]  # wrong on purpose
    hash(host.snapshot())


@pytest.mark.parametrize("args", [([2], 1, 0), (2, {1}, 0), (2, 1, "0"), (2.0, 1, 0)])
def test_socket_arguments_of_the_wrong_type(args: tuple[object, object, object]) -> None:
    app = EmulatedHost().process()
    with pytest.raises(TypeError):
        app.socket(*args)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(OverflowError):
        app.socket(2**40, 1, 0)


def test_the_lock_is_made_with_the_host_and_shared_by_the_dlls() -> None:
    host = EmulatedHost()
    lock = host.lock
    assert host.lock is lock is host.machine.lock
    seen: list[object] = []
    barrier = threading.Barrier(8)

    def grab() -> None:
        barrier.wait()
        seen.append(host.calls)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 1  # one CallControl, however many threads ask at once


def test_threads_on_one_host_keep_it_consistent() -> None:
    """8 threads x 1,500 mixed operations through the Python interface (the audit's
    corrupting workload, smaller): afterwards every index agrees with a rebuild."""
    host = EmulatedHost(seed=9, dynamic_ports=PortRange(50000, 2000))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        app = host.process(admin=n % 2 == 0)
        try:
            for i in range(1500):
                s = app.socket(type=1 + (i % 2))
                try:
                    if i % 5 == 0:
                        s.acquire_port_reservation(0, 3)
                    elif i % 5 == 1:
                        s.acquire_port_reservation(50000 + (i * 7 + n) % 1900, 4)
                    elif i % 5 == 2 and n % 2 == 0:
                        app.create_persistent_reservation(TCP, 40000 + (i % 50) * 10, 5)
                    elif i % 5 == 3 and n % 2 == 0:
                        app.delete_persistent_reservation(TCP, 40000 + (i % 50) * 10, 5)
                    s.bind(("", 0))
                except PortPoolError:
                    pass
                if i % 3:
                    s.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for protocol in Protocol:
        blocks = [r.range for r in host.reservations(protocol)]
        for i, a in enumerate(blocks):
            assert not any(a.overlaps(b) for b in blocks[i + 1:])
        ports = [b.port for b in host.bindings(protocol)]
        assert len(ports) == len(set(ports))
        taken = {p for r in blocks for p in range(r.start, r.last + 1)} | set(ports)
        dynamic = host.dynamic_range(protocol)
        free = sum(1 for p in range(dynamic.start, dynamic.last + 1) if p not in taken)
        assert host.machine.free_ports(protocol) == free
    hash(host.snapshot())


def test_a_failed_reboot_leaves_the_machine_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    host = EmulatedHost(store=path)
    admin = host.process(admin=True)
    admin.create_persistent_reservation(TCP, 50000, 10)
    admin.socket().bind(("", 8080))
    before = host.snapshot()
    os.remove(path)
    with pytest.raises((PortPoolError, StoreError)):
        host.reboot()
    assert host.snapshot() == before
    assert admin.alive


def test_two_hosts_sharing_a_store_never_both_win(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    one, two = EmulatedHost(store=path), EmulatedHost(store=path)
    a, b = one.process(admin=True), two.process(admin=True)
    a.create_persistent_reservation(UDP, 60000, 10)
    with pytest.raises(PortPoolError) as info:
        b.create_persistent_reservation(UDP, 60005, 10)
    assert info.value.winerror == WinError.ERROR_SHARING_VIOLATION
    assert b.lookup_persistent_reservation(UDP, 60000, 10)  # two sees one's block now
    assert [r.range for r in two.reservations(UDP)] == [PortRange(60000, 10)]


def test_a_foreign_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    data = path.read_bytes()
    with pytest.raises(StoreError, match="portpool store"):
        EmulatedHost(store=path)
    assert path.read_bytes() == data
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StoreError):
        EmulatedHost(store=empty)
    assert empty.read_bytes() == b""


def test_a_new_store_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        EmulatedHost(store=tmp_path / "new.db")
    finally:
        os.umask(old)
    assert (tmp_path / "new.db").stat().st_mode & 0o777 == 0o600


@pytest.mark.rule("W12", "W4", "L2")
@pytest.mark.parametrize(("family", "text", "shown"), [
    (2, "", "0.0.0.0"), (23, "", "::"), (23, "fe80::1%7", "fe80::1"),
    (23, "::FFFF:127.0.0.1", "::ffff:127.0.0.1"), (23, "0:0::1", "::1")])
def test_host_text_is_printed_back_canonically(family: int, text: str, shown: str) -> None:
    host = EmulatedHost(addresses=["127.0.0.1", "::1", "fe80::1"])
    sock = host.process().socket(family)
    if family == 23:
        sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0)  # L2: mapped addresses need dual stack
    sock.bind((text, 9000) if family == 2 else (text, 9000, 0, 0))
    assert sock.getsockname()[0] == shown
    assert host.bindings(TCP)[0].host == shown


@pytest.mark.rule("W12", "W4")
@pytest.mark.parametrize(("family", "text"), [(2, "127.0.0.1%eth0"), (23, "::1%"), (2, "::1"),
                                              (23, "127.0.0.1"), (2, "localhost")])
def test_host_text_that_names_no_address_is_wsaefault(family: int, text: str) -> None:
    host = EmulatedHost()
    sock = host.process().socket(family)
    before = host.snapshot()
    with pytest.raises(PortPoolError) as info:
        sock.bind((text, 9000) if family == 2 else (text, 9000, 0, 0))
    assert info.value.winerror == WinError.WSAEFAULT and "[rule W4]" in str(info.value)
    assert host.snapshot() == before


def test_a_preset_range_the_y2_variant_refuses_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"vs-runner.*1025"):
        EmulatedHost.preset("vs-runner", variants={"Y2": "1025"})
    host = EmulatedHost(preset="vs-runner", dynamic_ports=PortRange(49152, 16384),
                        variants={"Y2": "1025"})  # options replace the preset's ranges
    assert host.dynamic_range(TCP) == PortRange(49152, 16384)


def test_exclusion_arguments_follow_python() -> None:
    host = EmulatedHost()
    before = host.snapshot()
    with pytest.raises(TypeError, match="owner"):
        host.exclude(TCP, 5000, 10, owner="")
    with pytest.raises(TypeError, match="owner"):
        host.exclude(TCP, 5000, 10, owner=None)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError, match="start and count"):
        host.exclude(TCP, "5000", 10)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(ValueError, match="65535"):
        host.exclude(TCP, 65530, 10)
    with pytest.raises(TypeError, match="owner"):
        host.release_exclusions(None)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError, match="command"):
        host.netsh(["int", 4])  # type: ignore[list-item]  # wrong on purpose
    assert host.snapshot() == before


def test_netsh_prints_a_store_failure_as_windows_prints_its_code(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    host = EmulatedHost(store=path)
    os.remove(path)
    result = host.run_netsh("int ipv4 add excludedportrange protocol=tcp startport=3000"
                            " numberofports=10", admin=True)
    assert (result.status, result.done, result.error) == (1, False, WinError.ERROR_NOT_SUPPORTED)
    assert result.output == "The request is not supported.\n\n"
    assert host.reservations(TCP) == ()  # nothing half-made in memory


HUGE = 10**5000  # more digits than Python writes in decimal (4,300)


def test_huge_ints_get_the_documented_errors_not_pythons_int_to_string_error() -> None:
    """Issue 20: formatting the value into the message raised ValueError("Exceeds the
    limit ...") first, so calls documented to fail with a Windows code did not."""
    host = EmulatedHost()
    app = host.process(admin=True)
    sock = app.socket()
    before = host.snapshot()
    for call in (lambda: app.create_persistent_reservation(TCP, HUGE, 1),
                 lambda: app.lookup_persistent_reservation(TCP, 1, HUGE),
                 lambda: app.delete_persistent_reservation(TCP, HUGE, HUGE)):
        with pytest.raises(PortPoolError, match="int of about 5,001 digits") as info:
            call()
        assert info.value.winerror == WinError.ERROR_INVALID_PARAMETER
    for sock_call in (lambda: sock.acquire_port_reservation(HUGE, 1),
                      lambda: sock.associate_port_reservation(HUGE),
                      lambda: sock.release_port_reservation(-HUGE)):
        with pytest.raises(PortPoolError, match="int of about 5,001 digits"):
            sock_call()
    with pytest.raises(ValueError, match="int of about"):
        host.explain(TCP, HUGE)
    with pytest.raises(ValueError, match="int of about"):
        host.exclude(TCP, 1, HUGE)
    assert host.snapshot() == before
    with pytest.raises(OverflowError, match="int of about"):
        app.socket(2, HUGE, 0)
    with pytest.raises(ValueError, match="more digits than Python writes"):
        EmulatedHost(seed=HUGE)
