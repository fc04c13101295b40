"""`portpool sample`: the seed page's program, line for line, and examples/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from portpool import EmulatedHost, Protocol
from portpool.__main__ import main
from portpool._winsock._sample import _signed64, _wtoi, run_sample

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str], *, fixed: bool = False, seed: int = 0) -> tuple[int, list[str], EmulatedHost]:
    host = EmulatedHost(seed=seed)
    lines: list[str] = []
    code = run_sample(argv, host.dlls().ws2_32, lines.append, fixed=fixed)
    return code, lines, host


@pytest.mark.rule("R6", "B6")
def test_the_seed_run_binds_the_acquiring_socket() -> None:
    code, lines, host = run(["2", "1", "6", "5000", "20"])
    assert code == 0
    token = lines[2].split("Token=")[1]
    assert lines == [
        "socket function succeeded",
        "WSAIoctl(SIO_ACQUIRE_PORT_RESERVATION) succeeded, bytesReturned = 16",
        f"  Starting port=5000,  Number of Ports=20, Token={token}",
        "socket function for second socket succeeded",
        "WSAIoctl(SIO_ASSOCIATE_PORT_RESERVATION) succeeded, bytesReturned = 0",
        "bind succeeded",
        "getsockname succeeded",
        lines[7],
        "WSAIoctl(SIO_RELEASE_PORT_RESERVATION) succeeded, bytesReturned = 0",
    ]
    port = int(lines[7].removeprefix("Port number allocated = "))
    assert 5000 <= port < 5020
    assert host.reservations(Protocol.TCP) == () and host.bindings(Protocol.TCP) == ()


def test_fixed_uses_the_second_socket_and_wildcard_works() -> None:
    code, lines, host = run(["2", "2", "17", "0", "10"], fixed=True)
    assert code == 0
    start = int(lines[2].split("Starting port=")[1].split(",")[0])
    assert start in host.dynamic_range(Protocol.UDP)
    port = int(lines[7].removeprefix("Port number allocated = "))
    assert start <= port < start + 10


def test_the_two_runs_differ_only_in_which_socket_binds() -> None:
    # Same seed, same machine: the same block; the port comes from it either way.
    _, seed_lines, _ = run(["2", "1", "6", "7000", "1"])
    _, fixed_lines, _ = run(["2", "1", "6", "7000", "1"], fixed=True)
    assert seed_lines == fixed_lines
    assert seed_lines[7] == "Port number allocated = 7000"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["2", "1", "6", "70000", "1"], ["Starting point must be either 0 or between 1 and 65,535"]),
        (["2", "1", "6", "-1", "1"], ["Starting point must be either 0 or between 1 and 65,535"]),
        (["2", "1", "6", "5000", "-3"], ["Number of ports must be a positive number"]),
        (["99", "1", "6", "5000", "1"], ["socket function failed with error = 10047"]),
        (["2", "1", "6", "5000", "65536"],  # (USHORT) 65536 == 0
         ["socket function succeeded",
          "WSAIoctl(SIO_ACQUIRE_PORT_RESERVATION) failed with error = 10022"]),
    ],
)
def test_validation_and_failures(argv: list[str], expected: list[str]) -> None:
    code, lines, _ = run(argv)
    assert (code, lines) == (1, expected)


def test_ipv6_bind_fails_as_in_c() -> None:
    # The C binds a sockaddr_in (16 bytes) even for AF_INET6: WSAEFAULT.
    code, lines, _ = run(["23", "1", "6", "5000", "3"])
    assert code == 0
    assert "bind failed with error = 10014" in lines


def test_usage() -> None:
    code, lines, _ = run(["2"])
    assert code == 1
    assert lines[0] == ("usage: portpool sample <addressfamily> <type> <protocol> <StartingPort>"
                        " <NumberOfPorts>")
    assert lines[-1] == "   where AF_INET=2 SOCK_DGRAM=2 IPPROTO_UDP=17 StartPort=5000 NumPorts=20"


def test_c_conversions() -> None:
    assert [_wtoi(s) for s in ("17", " 42x", "-5", "abc", "", "99999999999")] == [
        17, 42, -5, 0, 0, 2**31 - 1]
    assert _signed64(2**64 - 1) == -1
    assert _signed64(5) == 5


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", "--fixed", "2", "2", "17", "5000", "20"]) == 0
    assert "Port number allocated = 50" in capsys.readouterr().out
    out = subprocess.run([sys.executable, "-m", "portpool", "sample", "2", "1", "6", "5000", "2"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[0] == "socket function succeeded"
    if sys.platform != "win32":
        assert main(["sample", "--backend", "windows", "2", "1", "6", "5000", "2"]) == 2


def test_example_script_runs() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "port_reservation.py"),
                          "2", "2", "17", "5000", "20"], capture_output=True, text=True, check=True)
    assert "reserved PortRange(5000-5019) (UDP)" in out.stdout
    assert "reservation released" in out.stdout
    bad = subprocess.run([sys.executable, str(ROOT / "examples" / "port_reservation.py"),
                          "2", "1", "6", "5000", "0"], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "WSAEINVAL" in bad.stderr
