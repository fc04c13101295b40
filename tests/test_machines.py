"""Machines as real ones are found: presets, EmulatedHost.from_netsh, portpool netsh."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portpool import EmulatedHost, Exclusion, Family, PortPoolError, PortRange, Protocol, WinError
from portpool.netsh import ExcludedRange, NetshParseError, render_dynamic_port, render_excluded_ranges

TCP, UDP = Protocol.TCP, Protocol.UDP
rule = pytest.mark.rule
SAMPLES = Path(__file__).resolve().parent / "data" / "netsh"  # real outputs, with their sources


# --- presets --------------------------------------------------------------------------------

@rule("R18")
def test_default_preset_is_a_clean_machine() -> None:
    host = EmulatedHost.preset("default")
    assert host.exclusions(TCP) == host.exclusions(UDP) == ()
    assert {host.dynamic_range(p, f) for p in Protocol for f in Family} == {PortRange(49152, 16384)}


@rule("X1", "X2", "X4")
def test_hyperv_preset_places_winnat_blocks_inside_the_dynamic_range() -> None:
    host = EmulatedHost.preset("hyperv", seed=1)
    for protocol in Protocol:
        dynamic = host.dynamic_range(protocol)
        winnat = [r for r in host.exclusions(protocol) if r.owner == "WinNAT"]
        assert winnat, protocol
        for row in winnat:
            assert row.end - row.start + 1 == 100
            assert row.start in dynamic and row.end in dynamic
    rows = host.exclusions(TCP)
    assert Exclusion(TCP, 5357, 5357, False, "HTTP.sys") in rows
    assert Exclusion(TCP, 47001, 47001, False, "HTTP.sys") in rows
    assert Exclusion(TCP, 50000, 50059, True, None) in rows
    app = host.process()
    first = next(r for r in rows if r.owner == "WinNAT")
    sock = app.socket()
    with pytest.raises(PortPoolError) as info:
        sock.bind(("0.0.0.0", first.start + 50))
    assert info.value.winerror == WinError.WSAEACCES and "[rule X2]" in str(info.value)
    sock.bind(("0.0.0.0", 50001))  # the administered row lets a plain bind through (X15)
    taken = [r.range for r in rows]
    for _ in range(300):  # bind(0) never lands in a row (X4)
        s = app.socket()
        s.bind(("", 0))
        assert not any(s.getsockname()[1] in r for r in taken)


@rule("X1")
def test_preset_rows_come_from_the_seed_and_move_at_reboot() -> None:
    one, same, other = (EmulatedHost.preset("hyperv", seed=s) for s in (1, 1, 2))
    assert one.exclusions(TCP) == same.exclusions(TCP)
    assert one.exclusions(TCP) != other.exclusions(TCP)
    before = one.exclusions(TCP)
    one.reboot()
    after = one.exclusions(TCP)
    assert after != before
    assert Exclusion(TCP, 50000, 50059, True, None) in after  # administered rows stay (R13d)
    same.reboot()
    assert same.exclusions(TCP) == after  # the same boot of the same machine: the same rows
    assert one.release_exclusions("WinNAT") > 0
    assert all(r.owner != "WinNAT" for r in one.exclusions(TCP) + one.exclusions(UDP))


@rule("X1", "Y2")
def test_vs_runner_preset_has_the_visual_studio_range_and_low_blocks() -> None:
    host = EmulatedHost.preset("vs-runner", seed=3)
    for protocol in Protocol:
        for family in Family:
            assert host.dynamic_range(protocol, family) == PortRange(1024, 64511)
    winnat = [r for r in host.exclusions(TCP) if r.owner == "WinNAT"]
    assert len(winnat) >= 10
    assert all(r.start > 1024 and r.end <= 9024 for r in winnat)


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="hyperv"):
        EmulatedHost.preset("hyper-v")


# --- from_netsh -----------------------------------------------------------------------------

def _samples() -> list[tuple[str, dict[str, object]]]:
    return [(path.with_suffix(".json").name, json.loads(path.read_text(encoding="utf-8")))
            for path in sorted(SAMPLES.glob("[0-9][0-9].json"))]


@rule("N4", "X1")
@pytest.mark.parametrize(("name", "truth"), _samples(), ids=[n for n, _ in _samples()])
def test_every_real_sample_seeds_a_machine(name: str, truth: dict[str, object]) -> None:
    text = (SAMPLES / str(truth["file"])).read_text(encoding="utf-8")
    protocol = Protocol.TCP if truth["protocol"] == "tcp" else Protocol.UDP
    dynamic = truth.get("dynamic")
    rows = truth.get("rows")
    if dynamic is not None:
        assert isinstance(dynamic, dict)
        expected = PortRange(int(dynamic["start"]), int(dynamic["count"]))
        try:
            host = EmulatedHost.from_netsh(text)
        except ValueError as exc:  # a range the limits refuse is refused clearly
            assert expected.count < 255, exc
            return
        assert host.dynamic_range(protocol) == host.dynamic_range(protocol, Family.INET6) == expected
        return
    assert isinstance(rows, list)
    host = EmulatedHost.from_netsh(text)
    shown = [(r.start, r.end, r.administered) for r in host.exclusions(protocol)]
    assert shown == [tuple(row) for row in rows]
    assert all(r.owner == "unknown" for r in host.exclusions(protocol) if not r.administered)
    assert host.exclusions(UDP if protocol is TCP else TCP) == ()


_rows = st.lists(st.tuples(st.integers(1, 65000), st.integers(1, 300), st.booleans()), max_size=12)


def _disjoint(raw: list[tuple[int, int, bool]]) -> list[ExcludedRange]:
    rows: list[ExcludedRange] = []
    for start, count, admin in sorted(raw):
        end = min(start + count - 1, 65535)
        if not rows or start > rows[-1].end:
            rows.append(ExcludedRange(start, end, admin))
    return rows


@rule("N4")
@settings(max_examples=60, deadline=None)
@given(_rows, st.sampled_from(list(Protocol)), st.integers(1024, 60000), st.integers(255, 5000))
def test_render_parse_render_gives_the_same_text(raw: list[tuple[int, int, bool]], protocol: Protocol,
                                                 start: int, count: int) -> None:
    rows = _disjoint(raw)
    table = render_excluded_ranges(protocol, rows)
    dynamic = PortRange(start, min(count, 65536 - start))
    ranges = render_dynamic_port(protocol, dynamic)
    host = EmulatedHost.from_netsh(table, ranges)
    word = protocol.name.lower()
    assert host.netsh(f"int ipv4 show excludedportrange protocol={word}") == table
    assert host.netsh(f"int ipv6 show dynamicport {word}") == ranges


def test_from_netsh_errors_are_clear() -> None:
    with pytest.raises(NetshParseError, match="line"):
        EmulatedHost.from_netsh("hello\nthis is not netsh output\n")
    headless = "     50000       50059     *\n"
    with pytest.raises(ValueError, match="tcp or udp"):
        EmulatedHost.from_netsh(headless)
    host = EmulatedHost.from_netsh((UDP, headless))
    assert host.exclusions(UDP) == (Exclusion(UDP, 50000, 50059, True, None),)
    with pytest.raises(TypeError):
        EmulatedHost.from_netsh(42)  # type: ignore[arg-type]  # wrong on purpose


def test_from_netsh_takes_separate_ipv6_ranges() -> None:
    v4 = render_dynamic_port(TCP, PortRange(1024, 64511))
    v6 = render_dynamic_port(TCP, PortRange(49152, 16384))
    host = EmulatedHost.from_netsh(v4, ipv6_dynamic=[v6])
    assert host.dynamic_range(TCP) == PortRange(1024, 64511)
    assert host.dynamic_range(TCP, Family.INET6) == PortRange(49152, 16384)


# --- portpool netsh on the command line -----------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "portpool", "netsh", *args],
                          capture_output=True, text=True, check=False, timeout=60)


@rule("N1", "N2")
def test_portpool_netsh_keeps_a_machine_in_a_file(tmp_path: Path) -> None:
    machine = str(tmp_path / "machine.db")
    show = ("int", "ipv4", "show", "excludedportrange", "protocol=tcp")
    assert _cli("--machine", machine, "--preset", "hyperv", "--seed", "4", *show).returncode == 0
    first = _cli("--machine", machine, *show)
    assert first.returncode == 0 and "50000       50059     *" in first.stdout
    denied = _cli("--machine", machine, "int", "ipv4", "add", "excludedportrange", "protocol=tcp",
                  "startport=3000", "numberofports=10")
    assert denied.returncode == 1
    assert denied.stdout == "The requested operation requires elevation (Run as administrator).\n\n"
    added = _cli("--machine", machine, "--admin", "int", "ipv4", "add", "excludedportrange",
                 "protocol=tcp", "startport=3000", "numberofports=10")
    assert (added.returncode, added.stdout) == (0, "Ok.\n\n")
    again = _cli("--machine", machine, *show)
    assert "      3000        3009     *" in again.stdout
    assert again.stdout.replace("      3000        3009     *\n", "") == first.stdout
    usage = _cli("--machine", machine, "int", "ipv4", "add", "excludedportrange", "protocol=tcp")
    assert usage.returncode == 1 and usage.stdout


def test_portpool_netsh_refuses_a_file_that_is_not_a_machine(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database\n")
    result = _cli("--machine", str(bogus), "int", "ipv4", "show", "dynamicport", "tcp")
    assert result.returncode == 2
    assert "portpool store" in result.stderr and "Traceback" not in result.stderr
    assert bogus.read_text() == "not a database\n"


def test_portpool_netsh_without_words_or_outside_its_subset_exits_2() -> None:
    bare = _cli()
    assert bare.returncode == 2 and "netsh's words" in bare.stderr and "Traceback" not in bare.stderr
    other = _cli("advfirewall", "show", "allprofiles")
    assert other.returncode == 2 and "emulate" in other.stderr and "Traceback" not in other.stderr


def test_from_netsh_refuses_a_range_the_limits_refuse() -> None:
    vs = render_dynamic_port(TCP, PortRange(1024, 64511))
    with pytest.raises(ValueError, match="1025"):
        EmulatedHost.from_netsh(vs, variants={"Y2": "1025"})
    assert EmulatedHost.from_netsh(vs).dynamic_range(TCP) == PortRange(1024, 64511)
