"""The Windows experiments (``portpool probe``), proved on Linux.

For every rule with alternatives and every alternative, an emulated machine set to that
alternative is classified correctly, through the emulated backend and through the ctypes
backend over the emulated DLLs.  A planted disagreement (a machine method patched to do
what no alternative says) is named in the report.  Every experiment leaves the machine
as it found it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from portpool import EmulatedHost, Family, PortPoolError, Protocol, WinError, winerror
from portpool._cli import main
from portpool._model._rules import ALTERNATIVES, RULES, Confidence
from portpool.probe import (
    EXPERIMENTS,
    EmulatedLab,
    WindowsLab,
    render_list,
    render_table,
    run_experiment,
    run_probe,
)

VIAS = ["emulated", "ctypes"]
CASES = [pytest.param(rule, row.name, marks=pytest.mark.rule(rule), id=f"{rule}={row.name}")
         for rule, rows in ALTERNATIVES.items() for row in rows]


def _clean(host: EmulatedHost) -> tuple[Any, ...]:
    """What a probe must leave as it found it: blocks, bindings, rows, ranges."""
    return (tuple(host.reservations(p) for p in Protocol), tuple(host.bindings(p) for p in Protocol),
            tuple(host.exclusions(p) for p in Protocol),
            tuple(host.dynamic_range(p, f) for p in Protocol for f in (Family.INET, Family.INET6)))


def test_every_assumed_rule_and_every_rule_with_alternatives_has_an_experiment() -> None:
    """When a rule is added as assumed or with alternatives, write its experiment in
    portpool/_probes/_experiments.py (the list below names the missing ones)."""
    needed = {r.id for r in RULES.values() if r.confidence is Confidence.ASSUMED} | set(ALTERNATIVES)
    missing = sorted(needed - set(EXPERIMENTS), key=list(RULES).index)
    assert not missing, f"rules without an experiment: {', '.join(missing)}"
    assert set(EXPERIMENTS) <= set(RULES)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize(("rule", "name"), CASES)
def test_each_alternative_is_classified(rule: str, name: str, via: str) -> None:
    host = EmulatedHost(seed=3, variants={rule: name})
    before = _clean(host)
    result = run_probe(EmulatedLab(host, via=via), only=[rule]).results[rule]
    assert (result.verdict, result.observed) == ("observed", name), result
    assert result.evidence and not result.reason
    assert _clean(host) == before


@pytest.mark.parametrize("via", VIAS)
def test_the_whole_probe_agrees_with_the_model_and_undoes_everything(via: str) -> None:
    host = EmulatedHost(seed=5)
    before = _clean(host)
    profile = run_probe(EmulatedLab(host, via=via))
    assert set(profile.results) == set(EXPERIMENTS)
    verdicts = {rule: r.verdict for rule, r in profile.results.items()}
    skipped = {rule for rule, v in verdicts.items() if v == "skipped"}
    assert skipped == {rule for rule, e in EXPERIMENTS.items() if not e.runnable}
    assert not profile.failing, render_table(profile)
    for rule, result in profile.results.items():
        if rule in ALTERNATIVES:
            assert result.observed == host.variants[rule]
    assert _clean(host) == before


def _plant(host: EmulatedHost, method: str, replacement: Any) -> None:
    """Patch one machine method on this host only."""
    original = getattr(host.machine, method)
    setattr(host.machine, method, lambda *args: replacement(original, *args))


def test_a_planted_disagreement_with_alternatives_is_named() -> None:
    host = EmulatedHost(seed=1)

    def bind(original: Any, pid: int, handle: int, address: object, port: object) -> int:
        if isinstance(port, int) and port in range(40000, 40010):  # X14's block
            raise winerror(WinError.WSAEADDRNOTAVAIL, "planted")
        result: int = original(pid, handle, address, port)
        return result

    _plant(host, "bind", bind)
    profile = run_probe(EmulatedLab(host), only=["X14", "X15"])
    x14 = profile.results["X14"]
    assert (x14.verdict, x14.observed) == ("unmatched", None)
    assert any("WSAEADDRNOTAVAIL (10049)" in line for line in x14.evidence)
    assert profile.results["X15"].verdict == "observed"
    text = render_table(profile)
    failing = text[text.index("Rules the machine did not follow"):]
    assert "X14 (" in failing and "X15" not in failing
    assert "A: plain bind 40004 -> WSAEADDRNOTAVAIL (10049)" in failing
    assert "portpool expects 'refused'; verdict: unmatched" in failing


def test_a_planted_disagreement_with_one_behaviour_is_named(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    host = EmulatedHost(seed=1)

    def associate(original: Any, pid: int, handle: int, token: object) -> None:
        if token == 0x1234:
            return None  # accepts a token never granted: A11 says WSAEINVAL
        result: None = original(pid, handle, token)
        return result

    _plant(host, "associate", associate)
    a11 = run_experiment(EmulatedLab(host), EXPERIMENTS["A11"])
    assert (a11.verdict, a11.expected) == ("disagree", "agree")
    assert a11.evidence[0] == "associate 0x1234 -> ok"
    # The command line exits 1 and names it: a host made by the CLI, patched the same way.
    import portpool._cli._probe as cli_probe

    made = cli_probe.make_lab

    def patched(args: Any, parser: Any) -> Any:
        lab = made(args, parser)
        _plant(lab.host, "associate", associate)
        return lab

    monkeypatch.setattr(cli_probe, "make_lab", patched)
    out = tmp_path / "p.json"
    assert main(["probe", "--only", "A11", "--only", "A12", "--json", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "A11 (assumed):" in printed and "associate 0x1234 -> ok" in printed
    saved = json.loads(out.read_text())
    assert saved["results"]["A11"]["verdict"] == "disagree"
    assert saved["results"]["A12"]["verdict"] == "agree"


def test_experiments_that_need_an_administrator_are_skipped_with_the_reason() -> None:
    host = EmulatedHost(seed=2)
    profile = run_probe(EmulatedLab(host, elevated=False))
    for rule, experiment in EXPERIMENTS.items():
        result = profile.results[rule]
        if experiment.admin and experiment.runnable:
            assert result.verdict == "skipped"
            assert result.reason.startswith("needs an elevated administrator")
    assert profile.results["A14"].verdict == "agree"  # a non-elevated Create: params first
    assert not profile.failing, render_table(profile)


def _netsh_of(host: EmulatedHost, admin: bool) -> Any:
    def run(words: list[str]) -> tuple[int, str]:
        result = host.run_netsh(words, admin=admin)
        return (0 if result.done else 1), result.output
    return run


def test_the_windows_lab_runs_over_any_dlls_and_netsh() -> None:
    """The real machine's lab, with emulated DLLs and netsh in place of the real ones:
    the experiments it can run classify as on the emulated lab; the ones that need what
    it lacks are skipped with the reason."""
    host = EmulatedHost(seed=4, variants={"X14": "succeeds", "X13": "hidden", "B2": "WSAEFAULT"})
    before = _clean(host)
    lab = WindowsLab(dlls=host.dlls(admin=True), netsh=_netsh_of(host, True), elevated=True,
                     child_backend="emulated")
    profile = run_probe(lab, only=["X14", "X15", "X13", "B2", "A3", "A27", "A10", "X12"])
    observed = {rule: (r.verdict, r.observed) for rule, r in profile.results.items()}
    assert observed["X14"] == ("observed", "succeeds")
    assert observed["X15"] == ("observed", "succeeds")
    assert observed["X13"] == ("observed", "hidden")
    assert observed["B2"] == ("observed", "WSAEFAULT")
    assert observed["A3"][0] == observed["A27"][0] == "agree"
    for rule in ("A10", "X12"):  # a reboot, a component: not on a real machine's lab
        assert profile.results[rule].verdict == "skipped"
        assert "which the windows backend cannot give" in profile.results[rule].reason
    assert profile.machine["backend"] == "windows" and profile.machine["elevated"] is True
    assert _clean(host) == before


def test_the_windows_lab_reads_netsh_failures() -> None:
    host = EmulatedHost(seed=4)
    lab = WindowsLab(dlls=host.dlls(), netsh=_netsh_of(host, False), elevated=False)
    run = lab.netsh("int ipv4 add excludedportrange protocol=tcp startport=40000 numberofports=5")
    assert not run.ok and run.code == int(WinError.ERROR_ELEVATION_REQUIRED)
    assert lab.evidence[-1].endswith(
        "-> ERROR_ELEVATION_REQUIRED (740): 'The requested operation requires elevation"
        " (Run as administrator).'")
    assert lab.dynamic(Protocol.TCP) == host.dynamic_range(Protocol.TCP)
    assert "unprivileged" in lab.capabilities and "other-process" in lab.capabilities


def test_a_child_process_pool_forwards_calls_and_errors() -> None:
    from portpool._probes._child import ChildPool

    child = ChildPool("emulated")
    try:
        sock = child.socket(2, 2)
        res = sock.acquire_port_reservation(40000, 4)
        assert res.range.start == 40000 and res.protocol is Protocol.UDP
        with pytest.raises(PortPoolError) as info:
            sock.acquire_port_reservation(40000, 0)
        assert info.value.code is WinError.WSAEINVAL and "[rule A3]" in str(info.value)
        with pytest.raises(TypeError):
            sock.bind("not an address")  # type: ignore[arg-type]  # wrong on purpose
        sock.bind(("127.0.0.1", 0))
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        child.kill()
    with pytest.raises(PortPoolError) as gone:
        child.socket()
    assert gone.value.code is WinError.ERROR_INVALID_HANDLE


def test_probe_list_prints_each_rule_with_alternatives_default_first(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == render_list().splitlines()
    assert [line.split()[0] for line in lines] == list(ALTERNATIVES)
    for line in lines:
        rule, *names = line.split()
        assert names == [row.name for row in ALTERNATIVES[rule]]


def test_probe_json_writes_a_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "profile.json"
    status = main(["probe", "--backend", "emulated", "--variant", "X15=refused", "--only", "X15",
                   "--only", "A2", "--only", "A19", "--scratch", "41000", "--json", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "X15" in printed and f"profile written to {out}" in printed
    profile = json.loads(out.read_text())
    assert set(profile) == {"machine", "results"}
    assert profile["machine"]["backend"] == "emulated" and profile["machine"]["elevated"] is True
    assert profile["machine"]["variants"]["X15"] == "refused"
    assert profile["results"]["X15"]["observed"] == "refused"
    assert profile["results"]["X15"]["verdict"] == "observed"
    assert profile["results"]["A2"] == {**profile["results"]["A2"], "verdict": "agree",
                                        "observed": None, "expected": "agree"}
    assert any("41080" in line for line in profile["results"]["A2"]["evidence"])  # --scratch
    assert profile["results"]["A19"]["verdict"] == "skipped"
    assert EmulatedHost(profile=out).variants["X15"] == "refused"


@pytest.mark.parametrize("argv", [
    ["probe", "--variant", "X15"], ["probe", "--variant", "X15=maybe"], ["probe", "--only", "W2"],
    ["probe", "--scratch", "70000"],
])
def test_probe_refuses_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("portpool probe: ") and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(__import__("sys").platform == "win32", reason="off Windows only")
def test_probe_backend_windows_needs_windows(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["probe", "--backend", "windows"])
    assert info.value.code == 2
    assert "exist only on Windows" in capsys.readouterr().err


@pytest.mark.rule("X7", "X13")
@pytest.mark.parametrize("listed", [True, False])
@pytest.mark.parametrize("allow", [False, True])
def test_x7_deletes_only_rows_the_probe_made_unless_allowed(listed: bool, allow: bool) -> None:
    # A lab without a component of its own (a real machine): the X7 experiment asks netsh
    # to delete the probe's own runtime block when netsh lists it (X13 `listed`); otherwise
    # it skips, naming the system row it would have used, unless --allow-system-rows.
    from portpool._probes._lab import EmulatedLab

    host = EmulatedHost(variants={"X13": "listed" if listed else "hidden", "X7": "not-found"})
    host.exclude(Protocol.TCP, 5357, 1, owner="HTTP")
    lab = EmulatedLab(host)
    lab.capabilities = lab.capabilities - {"component"}
    lab.allow_system_rows = allow
    result = run_probe(lab, only=["X7"]).results["X7"]
    evidence = " ".join(result.evidence)
    if listed:
        assert (result.verdict, result.observed) == ("observed", "not-found")
        assert "startport=40020" in evidence and "5357" not in evidence
    elif allow:
        assert (result.verdict, result.observed) == ("observed", "not-found")
        assert "startport=5357" in evidence
    else:
        assert result.verdict == "skipped" and "--allow-system-rows" in result.reason
        assert "5357-5357" in result.reason and "delete" not in evidence
    assert [r.start for r in host.exclusions(Protocol.TCP) if r.owner == "HTTP"] == [5357]
