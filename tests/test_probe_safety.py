"""The probe leaves the machine as it found it: restores in ``finally`` and through a
journal, store=active for dynamic ranges, and a scratch block checked first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from portpool import EmulatedHost, PortRange, Protocol
from portpool._probes._experiments import EXPERIMENTS
from portpool._probes._kit import Experiment
from portpool._probes._lab import EmulatedLab, Lab, WindowsLab
from portpool._probes._runner import ProbeRefusedError, run_experiment, run_probe

UDP, TCP = Protocol.UDP, Protocol.TCP


def _recording_netsh(host: EmulatedHost, admin: bool = True) -> tuple[Any, list[str]]:
    seen: list[str] = []

    def run(words: list[str]) -> tuple[int, str]:
        seen.append(" ".join(words))
        result = host.run_netsh(words, admin=admin)
        return (0 if result.done else 1), result.output

    return run, seen


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_experiment_restores_the_dynamic_range(
        interrupt: type[BaseException]) -> None:
    host = EmulatedHost(seed=3)
    before = host.dynamic_range(UDP)
    lab = EmulatedLab(host)

    def shrink_then_fail(lab: Lab) -> bool:
        assert lab.set_dynamic(UDP, 40000, 255).ok
        assert host.dynamic_range(UDP) == PortRange(40000, 255)
        raise interrupt("mid-experiment")

    experiment = Experiment("A13", "shrink, then be interrupted", shrink_then_fail, admin=True)
    if interrupt is KeyboardInterrupt:
        with pytest.raises(KeyboardInterrupt):
            run_experiment(lab, experiment)
    else:
        assert run_experiment(lab, experiment).verdict == "error"
    assert host.dynamic_range(UDP) == before
    assert lab.journal.pending() == []


def test_a_killed_probe_is_restored_from_the_journal_at_the_next_start(tmp_path: Path) -> None:
    host = EmulatedHost(seed=3)
    before = host.dynamic_range(UDP)
    journal = tmp_path / "journal.json"
    run, _ = _recording_netsh(host)
    killed = WindowsLab(dlls=host.dlls(admin=True), netsh=run, elevated=True,
                        child_backend="emulated", journal=journal)
    assert killed.set_dynamic(UDP, 40000, 255).ok
    del killed  # killed outright: no undo ran
    assert journal.exists() and host.dynamic_range(UDP) == PortRange(40000, 255)
    lab = WindowsLab(dlls=host.dlls(admin=True), netsh=run, elevated=True,
                     child_backend="emulated", journal=journal)
    profile = run_probe(lab, only=["A3"])
    assert host.dynamic_range(UDP) == before and not journal.exists()
    assert profile.results["A3"].verdict == "agree"


def test_a_journal_whose_restore_fails_stops_the_probe(tmp_path: Path) -> None:
    host = EmulatedHost(seed=3)
    journal = tmp_path / "journal.json"
    run, _ = _recording_netsh(host)
    lab = WindowsLab(dlls=host.dlls(admin=True), netsh=run, elevated=True,
                     child_backend="emulated", journal=journal)
    lab.journal.add("delete a row", "int ipv4 delete excludedportrange protocol=tcp"
                    " startport=40000 numberofports=5")  # not there: netsh refuses
    with pytest.raises(ProbeRefusedError, match="could not be restored"):
        run_probe(lab, only=["A3"])
    assert journal.exists()


def test_dynamic_ranges_change_only_in_the_active_store() -> None:
    """netsh's default store for set dynamicport is persistent, which a killed probe
    would leave across reboots: every change and restore says store=active."""
    host = EmulatedHost(seed=3)
    run, seen = _recording_netsh(host)
    lab = WindowsLab(dlls=host.dlls(admin=True), netsh=run, elevated=True,
                     child_backend="emulated")
    result = run_experiment(lab, EXPERIMENTS["A13"])
    assert result.verdict == "agree", result
    sets = [words for words in seen if "set dynamicport" in words]
    assert len(sets) == 2 and all(words.endswith("store=active") for words in sets)


def test_a_scratch_block_under_a_row_is_moved_or_refused() -> None:
    host = EmulatedHost(seed=3)
    host.exclude(TCP, 40100, 10)
    lab = EmulatedLab(host)
    with pytest.raises(ProbeRefusedError, match="exclusion row 40100-40109"):
        run_probe(lab, only=["A3"])
    profile = run_probe(lab, only=["A3"], move_scratch=True)
    assert lab.scratch == PortRange(40000 - 256, 256)
    assert profile.results["A3"].verdict == "agree"


def test_a_scratch_block_inside_the_dynamic_range_is_refused() -> None:
    host = EmulatedHost.preset("vs-runner", seed=3)  # dynamic range 1024-65534
    lab = EmulatedLab(host)
    with pytest.raises(ProbeRefusedError, match="ipv4 tcp dynamic range"):
        run_probe(lab, only=["A3"])
    with pytest.raises(ProbeRefusedError, match="no block of 256 free ports"):
        run_probe(lab, only=["A3"], move_scratch=True)


def test_x15_binds_inside_a_netsh_row_and_an_api_block() -> None:
    host = EmulatedHost(seed=3, variants={"X15": "refused"})
    lab = EmulatedLab(host)
    result = run_experiment(lab, EXPERIMENTS["X15"])
    assert (result.verdict, result.observed) == ("observed", "refused")
    assert any("(netsh row)" in line for line in result.evidence)
    assert any("(API block)" in line for line in result.evidence)
    assert "the binds come from a non-elevated process" in result.evidence


def test_an_unreadable_journal_is_refused_with_what_to_do(tmp_path: Path) -> None:
    from portpool._probes._journal import Journal

    broken = tmp_path / "journal.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="restore what it lists by hand"):
        Journal(broken)
    broken.write_text('[{"id": "x"}]', encoding="utf-8")
    with pytest.raises(ValueError, match="not a list of restores"):
        Journal(broken)


# --- a non-elevated process beside an elevated lab (A26, X15) ---------------------------


def test_an_elevated_lab_gets_a_non_elevated_process_from_its_launcher() -> None:
    """On Windows the launcher is runas /trustlevel:0x20000; here a plain Popen checks
    the connect-back plumbing: calls, errors, kill."""
    import subprocess

    from portpool import PortPoolError, WinError

    started: list[subprocess.Popen[bytes]] = []

    def launch(command: list[str]) -> None:
        assert command[1:3] == ["-m", "portpool._probes._child"]
        started.append(subprocess.Popen(command))

    host = EmulatedHost(seed=3)
    lab = WindowsLab(dlls=host.dlls(admin=True), netsh=_recording_netsh(host)[0],
                     elevated=True, child_backend="emulated", unprivileged_launcher=launch)
    assert "unprivileged" in lab.capabilities
    try:
        plain: Any = lab.unprivileged()  # the lab's tracked pool over a ChildPool
        assert started and plain.inner.pid == started[0].pid
        sock = plain.socket(2, 2)
        sock.bind(("127.0.0.1", 40001))
        assert sock.getsockname() == ("127.0.0.1", 40001)
        with pytest.raises(PortPoolError) as info:  # the child is not elevated
            plain.create_persistent_reservation(TCP, 40000, 5)
        assert info.value.code is WinError.ERROR_ACCESS_DENIED
        lab.exit(plain)  # TerminateProcess on Windows, SIGTERM here
        assert started[0].wait(30) is not None
    finally:
        lab.undo()
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(30)


def test_a_launcher_that_fails_skips_with_the_reason() -> None:
    from portpool import WinError
    from portpool._errors import winerror
    from portpool._probes._lab import Skip

    def refuse(command: list[str]) -> None:
        raise winerror(WinError.ERROR_ACCESS_DENIED, "runas refused")

    host = EmulatedHost(seed=3)
    lab = WindowsLab(dlls=host.dlls(admin=True), netsh=_recording_netsh(host)[0],
                     elevated=True, child_backend="emulated", unprivileged_launcher=refuse)
    with pytest.raises(Skip, match=r"could not be started.*runas refused"):
        lab.unprivileged()
    lab.undo()


def test_a_child_that_never_connects_back_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from portpool import PortPoolError, WinError
    from portpool._probes import _child

    monkeypatch.setattr(_child, "_TIMEOUT", 0.5)
    with pytest.raises(PortPoolError, match="did not connect back") as info:
        _child.ChildPool("emulated", launch=lambda command: None)
    assert info.value.code is WinError.ERROR_INVALID_HANDLE


def test_a_scratch_block_with_a_port_another_program_holds_is_moved_or_refused() -> None:
    host = EmulatedHost(seed=3)
    server = host.process().socket()
    server.bind(("0.0.0.0", 40123))  # what netstat would list: no row, no range
    lab = EmulatedLab(host)
    with pytest.raises(ProbeRefusedError, match=r"tcp port 40123 \(WSAEADDRINUSE\)"):
        run_probe(lab, only=["A3"])
    run_probe(lab, only=["A3"], move_scratch=True)
    assert lab.scratch == PortRange(40000 - 256, 256)
    assert [b.port for b in host.bindings(TCP)] == [40123]  # the sweep left nothing behind
