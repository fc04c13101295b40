"""``portpool diff A B``: two snapshots of one machine, before and after a reboot, an update
that moved the dynamic range, an administered row added."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from portpool import EmulatedHost, PortRange, Protocol
from portpool._realmachine._diff import diff, snapshot_of

from .test_cli_teach import run


@pytest.mark.rule("X1", "R18")
def test_a_reboot_moves_winnat_rows_and_an_update_moves_the_range(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:
    machine = tmp_path / "machine.db"
    host = EmulatedHost.preset("hyperv", seed=4, store=str(machine))
    before = tmp_path / "before.db"
    assert run(capsys, "snapshot", "--machine", str(machine), "-o", str(before))[0] == 0
    host.reboot()
    admin = host.process(admin=True)
    admin.create_persistent_reservation(Protocol.UDP, 7000, 5)
    host.run_netsh("int ipv4 set dynamicport tcp start=10000 num=55535", admin=True)
    after = tmp_path / "after.db"
    assert run(capsys, "snapshot", "--machine", str(machine), "-o", str(after))[0] == 0
    status, out, err = run(capsys, "diff", str(before), str(after))
    assert (status, err) == (1, "")
    lines = out.splitlines()
    assert lines[0] == "TCP ipv4 dynamic range: 49152-65535 -> 10000-65534 [R18]"
    assert any(line.startswith("TCP row moved: ") and line.endswith("[X1]") for line in lines)
    assert "UDP row new: 7000-7004 (administered (*))" in lines
    assert not any("50000-50059" in line for line in lines)  # the administered TCP row stays
    shutil.copy(after, tmp_path / "same.db")
    assert run(capsys, "diff", str(after), str(tmp_path / "same.db"))[:2] == (
        0, "no change: same rows and dynamic ranges\n")


def test_rows_gone_and_new_without_a_partner() -> None:
    a = EmulatedHost(seed=1)
    a.exclude(Protocol.TCP, 5357, 1, owner="HTTP.sys")
    b = EmulatedHost(seed=1, dynamic_ports={Protocol.UDP: PortRange(1024, 64511)})
    b.exclude(Protocol.TCP, 47001, 100, owner="WinNAT")
    text = str(diff(snapshot_of(a), snapshot_of(b)))
    assert text.splitlines() == [
        "TCP row gone: 5357-5357 (system, HTTP.sys)",
        "TCP row new: 47001-47100 (system, WinNAT)",
        "UDP ipv4 dynamic range: 49152-65535 -> 1024-65534 [R18]",
        "UDP ipv6 dynamic range: 49152-65535 -> 1024-65534 [R18]"]
    with pytest.raises(TypeError):
        snapshot_of("machine.db")


def test_files_that_are_not_snapshots_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for argv, message in ((["diff", "missing.db", "missing.db"], "no such file"),
                          (["diff", str(text), str(text)], str(text))):
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == "" and message in err and err.count("\n") == 1
    assert text.read_text() == "hello"
