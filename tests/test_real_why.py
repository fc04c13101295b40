"""``portpool.explain_error()`` and ``portpool why``: errors caught under the patch on emulated
machines, errno-only errors, pasted error text, and the CLI's promises."""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import portpool
from portpool import EmulatedHost, ErrorExplanation, Protocol, explain_error
from portpool._realmachine import _why
from portpool._realmachine._codes import winerror_of

from .test_cli_teach import run


def _refused(host: EmulatedHost, address: tuple[str, int], kind: int = socket.SOCK_STREAM) -> OSError:
    """Bind under the patch; return the OSError Python on Windows would raise."""
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(address)
        except OSError as exc:
            return exc
    raise AssertionError(f"bind {address} succeeded")


def _winnat_port(host: EmulatedHost, protocol: Protocol = Protocol.TCP) -> int:
    row = next(r for r in host.exclusions(protocol) if r.owner == "WinNAT")
    return row.start + 7


@pytest.mark.rule("X2", "X1")
def test_a_bind_into_a_winnat_row_is_excluded_and_names_the_row() -> None:
    host = EmulatedHost.preset("hyperv", seed=2)
    port = _winnat_port(host)
    with portpool.patch(host):
        exc = _refused(host, ("127.0.0.1", port))
        answer = explain_error(exc, ("127.0.0.1", port))
    assert isinstance(exc, PermissionError) and winerror_of(exc) == 10013
    assert (answer.code, answer.name, answer.cause, answer.port) == (10013, "WSAEACCES", "excluded", port)
    row = next(r for r in host.exclusions(Protocol.TCP) if r.start <= port <= r.end)
    assert f"{row.start}-{row.end}" in answer.summary and "WinNAT" in answer.summary
    assert any("net stop winnat" in r for r in answer.remedies)
    assert any(f"portpool reserve {port}" in r for r in answer.remedies)
    assert answer.rules == ("X1", "X2")
    text = str(answer)
    assert text.startswith(f"WSAEACCES (10013) TCP port {port}: excluded") and "What frees it:" in text


@pytest.mark.rule("X2")
def test_http_sys_rows_have_no_winnat_remedy() -> None:
    host = EmulatedHost.preset("hyperv", seed=2)
    with portpool.patch(host):
        answer = explain_error(_refused(host, ("0.0.0.0", 5357)), ("0.0.0.0", 5357))
    assert answer.cause == "excluded" and "HTTP.sys" in answer.summary
    assert not any("winnat" in r for r in answer.remedies)


@pytest.mark.rule("C1")
def test_in_use_names_the_socket_and_process() -> None:
    host = EmulatedHost(seed=1)
    holder = host.process().socket()
    holder.bind(("0.0.0.0", 8080))
    with portpool.patch(host):
        exc = _refused(host, ("0.0.0.0", 8080))
        answer = explain_error(exc, ("0.0.0.0", 8080))
    assert answer.code == 10048 and answer.cause == "in-use"
    assert f"socket {holder.fileno():#x}" in answer.details[0]
    assert answer.remedies[0].startswith(f"close socket {holder.fileno():#x}")


@pytest.mark.rule("C11")
def test_another_accounts_socket_refusing_with_10013_is_not_called_a_row() -> None:
    host = EmulatedHost(seed=1)
    holder = host.process(user="service").socket()
    holder.bind(("0.0.0.0", 8080))
    with portpool.patch(host):
        answer = explain_error(_refused(host, ("127.0.0.1", 8080)), ("127.0.0.1", 8080))
    assert answer.code == 10013 and answer.cause == "exclusive-socket"


@pytest.mark.rule("R17")
def test_a_runtime_reservation_names_its_process() -> None:
    host = EmulatedHost(seed=1)
    owner = host.process()
    res = owner.socket(portpool.AF_INET, portpool.SOCK_DGRAM).acquire_port_reservation(40000, 10)
    assert res.range.start == 40000
    with portpool.patch(host):
        answer = explain_error(_refused(host, ("0.0.0.0", 40003), socket.SOCK_DGRAM),
                               ("0.0.0.0", 40003), "udp")
    assert answer.cause == "runtime-reservation" and f"process {owner.pid}" in answer.summary


@pytest.mark.rule("X15")
def test_an_administered_row_refusing_says_how_the_socket_binds() -> None:
    host = EmulatedHost.preset("hyperv", seed=1, variants={"X15": "refused"})
    with portpool.patch(host):
        answer = explain_error(_refused(host, ("0.0.0.0", 50010)), ("0.0.0.0", 50010))
    assert answer.cause == "administered" and "50000-50059" in answer.summary


@pytest.mark.rule("L1")
def test_not_a_local_address() -> None:
    host = EmulatedHost(seed=1)
    with portpool.patch(host):
        answer = explain_error(_refused(host, ("10.9.9.9", 8080)), ("10.9.9.9", 8080))
    assert answer.cause == "not-local" and "10.9.9.9" in answer.summary


def test_a_refused_connect() -> None:
    host = EmulatedHost(seed=1)
    with portpool.patch(host), socket.socket() as sock:
        with pytest.raises(ConnectionRefusedError) as refused:
            sock.connect(("127.0.0.1", 9999))
        answer = explain_error(refused.value, ("127.0.0.1", 9999))
    assert answer.cause == "refused" and "127.0.0.1:9999" in answer.summary


def test_errno_only_errors_map_as_python_on_windows_maps_them() -> None:
    """asyncio re-raises OSError(errno, message): EACCES is 10013, the address in the text."""
    host = EmulatedHost.preset("hyperv", seed=2)
    port = _winnat_port(host)
    exc = OSError(errno.EACCES, f"error while attempting to bind on address ('127.0.0.1', {port}):"
                  " an attempt was made to access a socket in a way forbidden by its access"
                  " permissions")
    answer = explain_error(exc, machine=host)
    assert (answer.code, answer.cause, answer.host, answer.port) == (10013, "excluded", "127.0.0.1", port)
    assert winerror_of(OSError(errno.EADDRINUSE, "x")) == 10048
    assert winerror_of(OSError("no errno")) is None


def test_a_note_from_the_patch_gives_the_port() -> None:
    host = EmulatedHost.preset("hyperv", seed=2)
    with portpool.patch(host):
        exc = _refused(host, ("0.0.0.0", 5357))
    assert explain_error(exc, machine=host).port == 5357


def test_off_windows_without_a_windows_code_the_posix_meaning() -> None:
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        a.listen()
        port = a.getsockname()[1]
        with pytest.raises(OSError, match="in use") as caught:
            b.bind(("127.0.0.1", port))
    answer = explain_error(caught.value, ("127.0.0.1", port))
    assert answer.cause == "in-use" and "not Windows" in answer.summary


def test_a_windows_code_without_a_machine_still_speaks() -> None:
    exc = portpool.winerror(portpool.WinError.WSAEADDRINUSE)
    answer = explain_error(exc, 8080)
    assert answer.cause == "in-use" and "netstat -ano -p tcp | findstr :8080" in answer.details[0]


@pytest.mark.parametrize(("args", "error"), [
    (("not an error",), TypeError), ((OSError(), "8080"), TypeError), ((OSError(), 70000), ValueError),
    ((OSError(), ("h", "p")), TypeError), ((OSError(), 80, "both"), ValueError),
    ((OSError(), 80, "sctp"), ValueError),
])
def test_bad_arguments(args: tuple[object, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        explain_error(*args)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError):
        explain_error(OSError(), machine="hyperv")  # type: ignore[arg-type]  # wrong on purpose


def test_a_new_cause_can_be_added_before_the_generic_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """The place a TIME_WAIT cause goes (the ``connections`` work)."""
    monkeypatch.setattr(_why, "CAUSES", list(_why.CAUSES))

    def time_wait(facts: _why.Facts) -> ErrorExplanation | None:
        return facts.answer("time-wait", "a closed connection waits") if facts.code == 10048 else None

    _why.add_cause(time_wait)
    names = [c.__name__ for c in _why.CAUSES]
    assert names.index("time_wait") == names.index("_in_use_unknown") - 1
    assert explain_error(portpool.winerror(10048), 8080).cause == "time-wait"


# --- the command ------------------------------------------------------------------------


def test_why_on_a_preset(capsys: pytest.CaptureFixture[str]) -> None:
    host = EmulatedHost.preset("hyperv", seed=0)
    port = _winnat_port(host)
    status, out, err = run(capsys, "why", "--code", "10013", "--port", str(port), "--preset", "hyperv")
    assert (status, err) == (0, "")
    assert out.startswith(f"WSAEACCES (10013) TCP port {port}: excluded") and "asked: a hyperv machine" in out


def test_why_reads_a_pasted_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "why", "PermissionError: [WinError 10013] An attempt was made ... ",
                         "address ('0.0.0.0', 5357)", "--preset", "hyperv")
    assert status == 0 and out.startswith("WSAEACCES (10013) TCP port 5357: excluded")
    status, out, _ = run(capsys, "why", "[Errno 98] address already in use", "--port", "8080",
                         "--udp", "--preset", "hyperv")
    assert status == 0 and out.startswith("WSAEADDRINUSE (10048) UDP port 8080")
    status, out, _ = run(capsys, "why", "--code", "WSAEADDRNOTAVAIL", "--port", "80", "--address",
                         "10.1.1.1")
    assert status == 0 and "10.1.1.1 is not an address of this machine" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["why", "--port", "80"], "give the error as printed, or --code"),
    (["why", "--code", "10013"], "give --port"),
    (["why", "--code", "EWHAT", "--port", "80"], "give a Windows code"),
    (["why", "--code", "10013", "--port", "70000"], "not in 1-65535"),
])
def test_why_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                        message: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == "" and message in err and err.count("\n") == 1


@contextlib.contextmanager
def _held_outside(sample: Path) -> Iterator[socket.socket]:
    """A kernel listener on a port no row of ``sample`` covers: a port the kernel picks at
    random could fall inside one (49871 inside 49808-49907 once), and then `check` rightly
    says "excluded" instead of naming the holder."""
    from portpool.netsh import parse_excluded_ranges

    rows = parse_excluded_ranges(sample.read_text(encoding="utf-8"))
    for _ in range(50):
        held = socket.socket()
        held.bind(("0.0.0.0", 0))
        port = held.getsockname()[1]
        if not any(row.start <= port <= row.end for row in rows):
            break
        held.close()
    else:
        pytest.fail("the kernel gave 50 ports inside the sample's rows")
    with held:
        held.listen()
        yield held


def test_on_windows_netstat_and_tasklist_name_the_holder(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The Windows seam's path (netsh, a test bind, netstat, tasklist) with a fake
    subprocess.run: German netstat output, read by position."""
    import subprocess

    from portpool._realmachine._seam import WindowsSeam, using

    data = Path(__file__).parent / "data" / "netsh"
    with _held_outside(data / "10-de-DE-tcp.txt") as held:
        port = held.getsockname()[1]
        outputs = {
            "excludedportrange protocol=tcp": (data / "10-de-DE-tcp.txt").read_bytes(),
            "excludedportrange protocol=udp": (data / "02-en-udp.txt").read_bytes(),
            "dynamicport": (data / "43-zh-CN-tcp-dynamicport.txt").read_bytes(),
            "-ano -p TCPv6": b"",
            "-ano -p TCP": (f"\r\nAktive Verbindungen\r\n\r\n  Proto  Lokale Adresse  Remoteadresse"
                            f"  Status  PID\r\n  TCP    0.0.0.0:{port}   0.0.0.0:0  ABH\xc3\x96REN   4242"
                            f"\r\n  TCP    0.0.0.0:{port}1  0.0.0.0:0  ABH\xc3\x96REN   7\r\n").encode("latin-1"),
            "PID eq 4242": b'"node.exe","4242","Console","1","50.000 K"\r\n',
        }
        calls: list[str] = []

        def fake(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
            words = " ".join(argv[1:])
            calls.append(argv[0].rsplit("\\", 1)[-1].rsplit("/", 1)[-1])
            data = next((v for k, v in outputs.items() if k in words), None)
            return subprocess.CompletedProcess(argv, 0 if data is not None else 1, data or b"", b"")

        monkeypatch.setattr(subprocess, "run", fake)
        with using(WindowsSeam()):
            answer = explain_error(OSError(errno.EADDRINUSE, "in use"), ("0.0.0.0", port))
            status, out, _ = run(capsys, "check", str(port))
    assert answer.cause == "in-use" and answer.details[0] == f"held now by node.exe (PID 4242), bound to 0.0.0.0:{port}"
    assert answer.remedies == ("end node.exe (`taskkill /pid 4242`), or use another port",)
    assert {"netsh.exe", "netstat.exe", "tasklist.exe"} <= set(calls)
    assert status == 1 and "in use now (WSAEADDRINUSE 10048): held by node.exe (PID 4242)" in out


def test_when_netsh_fails_the_code_alone_speaks(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from portpool._realmachine._seam import WindowsSeam, using

    def failing(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(argv, 1, b"", b"Zugriff verweigert")

    monkeypatch.setattr(subprocess, "run", failing)
    with using(WindowsSeam()):
        answer = explain_error(portpool.winerror(10013), 8080)
    assert answer.cause == "unknown-10013" and answer.machine.startswith("this machine (netsh: netsh int")
