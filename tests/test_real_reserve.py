"""``portpool reserve`` and the winnat service seam: the steps people run by hand, run
through the same code on emulated machines (the patch's seam, and machine files), with
every refusal leaving the machine as it was."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

import portpool
from portpool import EmulatedHost, Protocol
from portpool._realmachine._reserve import ReserveRefused, plan_reserve, run_reserve
from portpool._realmachine._seam import EmulatedSeam, PosixSeam, Ran

from .test_cli_teach import run


def _winnat(host: EmulatedHost, protocol: Protocol = Protocol.TCP, index: int = 0) -> portpool.Exclusion:
    return [r for r in host.exclusions(protocol) if r.owner == "WinNAT"][index]


def _rows(host: EmulatedHost) -> tuple[tuple[portpool.Exclusion, ...], ...]:
    return tuple(host.exclusions(p) for p in Protocol)


def _state(host: EmulatedHost) -> tuple[object, ...]:
    """Rows, reservations, bound sockets and winnat's state (not the patch's own process)."""
    return (_rows(host), tuple(host.reservations(p) for p in Protocol),
            tuple(host.bindings(p) for p in Protocol), host.component_stopped())


@pytest.mark.rule("X16", "X1", "X12")
def test_stop_and_start_winnat_in_the_model() -> None:
    host = EmulatedHost.preset("hyperv", seed=1)
    before = _rows(host)
    first = _winnat(host)
    gone = host.stop_component("WinNAT")
    assert gone and all(r.owner == "WinNAT" for r in gone) and host.component_stopped()
    assert not any(r.owner == "WinNAT" for p in Protocol for r in host.exclusions(p))
    assert host.stop_component("WinNAT") == ()  # stopped already
    admin = host.process(admin=True)
    admin.create_persistent_reservation(Protocol.TCP, first.start + 3, 1)
    back, left = host.start_component("WinNAT")
    assert left == (first,) and set(back) | {first} == set(gone) and not host.component_stopped()
    after = _rows(host)
    assert set(after[0]) == (set(before[0]) - {first}) | {
        portpool.Exclusion(Protocol.TCP, first.start + 3, first.start + 3, True, None)}
    assert after[1] == before[1]
    host.stop_component()
    host.reboot()  # a boot starts every component and forgets what the stop held
    assert not host.component_stopped() and host.start_component() == ((), ())


def test_the_seam_prints_what_net_prints() -> None:
    host = EmulatedHost.preset("hyperv", seed=1)
    user, admin = EmulatedSeam(host), EmulatedSeam(host, admin=True)
    assert user.service("stop", "winnat") == Ran(2, "System error 5 has occurred.\n\nAccess is denied.\n")
    assert admin.service("stop", "WinNAT").output == "The Windows NAT Driver service was stopped successfully.\n"
    assert admin.service("stop", "winnat").status == 2
    assert admin.service("start", "winnat").status == 0
    assert admin.service("start", "winnat").output.startswith("The requested service has already been started.")
    assert admin.service("stop", "spooler").output.startswith("The service name is invalid.")
    assert admin.service("pause", "winnat").status == 1


@pytest.mark.rule("X16", "X15")
def test_reserve_a_port_inside_a_winnat_row_under_the_patch(capsys: pytest.CaptureFixture[str]) -> None:
    host = EmulatedHost.preset("hyperv", seed=1)
    row = _winnat(host)
    port = row.start + 10
    with portpool.patch(host, admin=True):
        status, out, err = run(capsys, "reserve", str(port))
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "net stop winnat: The Windows NAT Driver service was stopped successfully.",
        f"netsh int ipv4 add excludedportrange protocol=tcp startport={port} numberofports=1"
        " store=persistent: Ok.",
        "net start winnat: The Windows NAT Driver service was started successfully.",
        f"reserved TCP {port}-{port}: an administered row keeps it; your program's plain bind there"
        " succeeds [X15]"]
    assert portpool.Exclusion(Protocol.TCP, port, port, True, None) in host.exclusions(Protocol.TCP)
    assert row not in host.exclusions(Protocol.TCP)  # X16: WinNAT left that row out
    with host.process().socket() as sock:
        sock.bind(("0.0.0.0", port))  # X15


def test_dry_run_prints_the_commands_and_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    host = EmulatedHost.preset("hyperv", seed=1)
    row = _winnat(host, Protocol.UDP)
    before = _state(host)
    with portpool.patch(host):  # not elevated: a dry run needs no rights
        status, out, _ = run(capsys, "reserve", str(row.start), "--count", "2", "--protocol", "both",
                             "--dry-run")
    assert status == 0 and out.splitlines()[1:] == [
        "  net stop winnat",
        f"  netsh int ipv4 add excludedportrange protocol=tcp startport={row.start} numberofports=2"
        " store=persistent",
        f"  netsh int ipv4 add excludedportrange protocol=udp startport={row.start} numberofports=2"
        " store=persistent",
        "  net start winnat"]
    assert _state(host) == before


def test_no_winnat_row_no_service_steps(capsys: pytest.CaptureFixture[str]) -> None:
    host = EmulatedHost(seed=1)
    with portpool.patch(host, admin=True):
        status, out, _ = run(capsys, "reserve", "7777", "--protocol", "udp")
        again = run(capsys, "reserve", "7777", "--protocol", "udp")
    assert status == 0 and out.splitlines()[0].startswith("netsh int ipv4 add excludedportrange"
                                                          " protocol=udp startport=7777")
    assert again[0] == 0 and "already kept by an administered row: nothing to do" in again[1]


@pytest.mark.parametrize("case", ["not-elevated", "bound", "http-sys", "overlapping-administered",
                                  "not-windows"])
def test_refusals_are_one_line_and_change_nothing(capsys: pytest.CaptureFixture[str], case: str) -> None:
    host = EmulatedHost.preset("hyperv", seed=1)
    port, admin, expected = _winnat(host).start + 1, True, ""
    if case == "not-elevated":
        admin, expected = False, "needs an elevated administrator"
    elif case == "bound":
        holder = host.process().socket()
        holder.bind(("0.0.0.0", 8080))
        port, expected = 8080, "TCP port 8080 is in use: a program holds it"
    elif case == "http-sys":
        port, expected = 5357, "the TCP row 5357-5357 stays while winnat is stopped"
    elif case == "overlapping-administered":
        port, expected = 49995, "the administered TCP row 50000-50059 overlaps 49995-50004"
    before = _state(host)
    argv = ["reserve", str(port)] + (["--count", "10"] if case == "overlapping-administered" else [])
    if case == "not-windows":
        with pytest.raises(ReserveRefused, match="has no Windows port pools"):
            plan_reserve(PosixSeam(), 8080, 1, (Protocol.TCP,))
        return
    with portpool.patch(host, admin=admin):
        status, _, err = run(capsys, *argv)
    assert status == 1 and expected in err and err.count("\n") == 1, err
    assert not host.component_stopped()
    assert _state(host) == before


class _Failing(EmulatedSeam):
    """An emulated seam whose netsh fails on one command, or whose winnat will not start."""

    def __init__(self, host: EmulatedHost, fail_words: str = "", start_fails: bool = False) -> None:
        super().__init__(host, admin=True)
        self.fail_words, self.start_fails = fail_words, start_fails

    def netsh(self, words: Sequence[str]) -> Ran:
        if self.fail_words and self.fail_words in " ".join(words):
            return Ran(1, "The process cannot access the file because it is being used by another"
                          " process.\n")
        return super().netsh(words)

    def service(self, verb: str, name: str) -> Ran:
        if verb == "start" and self.start_fails:
            return Ran(2, "System error 1058 has occurred.\n")
        return super().service(verb, name)


@pytest.mark.rule("X16")
def test_a_failed_add_removes_the_rows_added_and_starts_winnat() -> None:
    host = EmulatedHost.preset("hyperv", seed=1)
    row = _winnat(host)
    before = _rows(host)
    seam = _Failing(host, "add excludedportrange protocol=udp")
    plan = plan_reserve(seam, row.start, 1, (Protocol.TCP, Protocol.UDP))
    said: list[str] = []
    with pytest.raises(ReserveRefused, match=r"protocol=udp .* failed: The process cannot access"):
        run_reserve(seam, plan, said.append)
    assert [line.split(":")[0] for line in said] == [
        "net stop winnat",
        f"netsh int ipv4 add excludedportrange protocol=tcp startport={row.start} numberofports=1"
        " store=persistent",
        f"netsh int ipv4 add excludedportrange protocol=udp startport={row.start} numberofports=1"
        " store=persistent",
        f"netsh int ipv4 delete excludedportrange protocol=tcp startport={row.start} numberofports=1",
        "net start winnat"]
    assert _rows(host) == before and not host.component_stopped()


def test_winnat_that_will_not_start_is_said_loudly() -> None:
    host = EmulatedHost.preset("hyperv", seed=1)
    seam = _Failing(host, start_fails=True)
    plan = plan_reserve(seam, _winnat(host).start, 1, (Protocol.TCP,))
    with pytest.raises(ReserveRefused, match=r"`net start winnat` failed .* run it again as administrator"):
        run_reserve(seam, plan, lambda line: None)


def test_reserve_on_a_machine_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = str(tmp_path / "m.db")
    host = EmulatedHost.preset("vs-runner", seed=2, store=path)
    port = _winnat(host).start + 2
    del host
    status, out, _ = run(capsys, "reserve", str(port), "--machine", path)
    assert status == 0 and out.splitlines()[0].startswith("net stop winnat")
    reopened = EmulatedHost(store=path)
    assert portpool.Exclusion(Protocol.TCP, port, port, True, None) in reopened.exclusions(Protocol.TCP)
    status, _, err = run(capsys, "reserve", str(port + 1), "--machine", path, "--not-elevated")
    assert status == 1 and "elevated administrator" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["reserve", "65535", "--count", "2"], "runs past 65535"),
    (["reserve", "80", "--not-elevated"], "--not-elevated is for machine options"),
    (["reserve", "0"], "not in 1-65535"),
])
def test_argument_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                             message: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == "" and message in err and err.count("\n") == 1
