"""The Windows-style programs in examples/ run unchanged under portpool.patch()."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

import portpool
from portpool import EmulatedHost, PortRange, Protocol

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str, *args: str, host: EmulatedHost | None = None, admin: bool = False,
        monkeypatch: pytest.MonkeyPatch) -> tuple[int, EmulatedHost]:
    """Run examples/<name> as ``python <name> args...`` inside the patch."""
    monkeypatch.setattr(sys, "argv", [name, *args])
    with portpool.patch(host, admin=admin) as patched, pytest.raises(SystemExit) as info:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return int(info.value.code or 0), patched


@pytest.mark.rule("R17", "R5", "X14")
def test_reserve_ports_binds_in_the_block_and_is_refused_beside_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, host = run("reserve_ports.py", "10", monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert code == 0, out
    found = re.search(r"reserved 10 ports from (\d+), token 0x([0-9a-f]+)", out)
    assert found, out
    block = PortRange(int(found[1]), 10)
    assert block.start in host.dynamic_range(Protocol.TCP)
    worker = re.search(r"worker bound to port (\d+)", out)
    assert worker and int(worker[1]) in block
    assert (f"plain bind to {block.start + 1} refused: [WinError 10013] An attempt was made to"
            " access a socket in a way forbidden by its access permissions") in out
    assert "winerror=10013" in out
    assert out.rstrip().endswith("released")
    assert host.reservations(Protocol.TCP) == () and host.bindings(Protocol.TCP) == ()


def test_reserve_ports_is_deterministic_with_the_seed(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for _ in range(2):
        run("reserve_ports.py", "5", host=EmulatedHost(seed=11), monkeypatch=monkeypatch)
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    run("reserve_ports.py", "5", host=EmulatedHost(seed=12), monkeypatch=monkeypatch)
    assert capsys.readouterr().out != outputs[0]


@pytest.mark.rule("R13", "X15", "R13b")
def test_persistent_reservation_as_administrator(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, host = run("persistent_reservation.py", "3000", "10", admin=True, monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "reserved 3000-3009" in out
    assert "lookup gives the same token: True" in out
    assert "a plain bind inside the block: port 3001" in out
    assert "creating it again: [WinError 32]" in out
    assert out.rstrip().endswith("deleted")
    assert host.reservations(Protocol.TCP) == ()


@pytest.mark.rule("R13")
def test_persistent_reservation_without_elevation(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    host = EmulatedHost()
    expected = None
    try:
        host.process().create_persistent_reservation(Protocol.TCP, 3000, 10)
    except portpool.PortPoolError as err:
        expected = err.winerror
    assert expected is not None
    code, _ = run("persistent_reservation.py", "3000", "10", host=host, monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert code == 1
    assert f"create failed: [WinError {expected}]" in out and f"(winerror {expected})" in out


@pytest.mark.rule("C6")
def test_echo_server_carries_real_traffic(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, host = run("echo_server.py", "8080", monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "listening on ('127.0.0.1', 8080)" in out
    assert "second server: OSError winerror=10048" in out
    assert "reply: HELLO, WINDOWS" in out
    assert "the server saw the client's port: True" in out
    assert host.bindings(Protocol.TCP) == ()


def test_examples_are_windows_programs_not_portpool_programs() -> None:
    """They are kept as people write them: no portpool import, the Windows calls."""
    for name in ("reserve_ports.py", "persistent_reservation.py", "echo_server.py"):
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+portpool", text, re.MULTILINE), name
    assert "ctypes.WinError(ctypes.get_last_error())" in (EXAMPLES / "reserve_ports.py").read_text()
    assert "WINFUNCTYPE" in (EXAMPLES / "persistent_reservation.py").read_text()
