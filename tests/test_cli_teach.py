"""``portpool explain``, ``map``, ``tour``, ``advise``, ``snapshot``: golden output on the
presets and on real netsh samples, the machine options, the Windows paths through fakes,
and the promises every command keeps (--help, one-line exit-2 errors, a closed pipe).

Golden files live in tests/golden/; after a deliberate change of the text, regenerate
them with ``PORTPOOL_UPDATE_GOLDEN=1 python -m pytest tests/test_cli_teach.py`` and read
the diff.
"""

from __future__ import annotations

import json
import operator
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from portpool import EmulatedHost, PortPool, PortRange, Protocol
from portpool.__main__ import main
from portpool._cli import _teach, build_parser
from portpool._cli._machine_options import decode_netsh_bytes

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLES = Path(__file__).parent / "data" / "netsh"  # real outputs, with their sources
UPDATE = os.environ.get("PORTPOOL_UPDATE_GOLDEN") == "1"


def _s(name: str) -> str:
    return str(SAMPLES / name)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``portpool argv``: (exit status, stdout, stderr), SystemExit included."""
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with PORTPOOL_UPDATE_GOLDEN=1 once"
    assert text == path.read_text(encoding="utf-8"), f"output differs from {path}"


PRESET_CASES = [
    ("explain-default-80", ["explain", "80"]),
    ("explain-default-50000-udp", ["explain", "50000", "--protocol", "udp"]),
    ("explain-hyperv-5357", ["explain", "5357", "--preset", "hyperv"]),
    ("explain-hyperv-50010", ["explain", "50010", "--preset", "hyperv"]),
    ("explain-hyperv-56900", ["explain", "56900", "--preset", "hyperv"]),
    ("explain-hyperv-49200-udp", ["explain", "49200", "--preset", "hyperv", "--protocol", "udp"]),
    ("explain-hyperv-50010-x15-refused", ["explain", "50010", "--preset", "hyperv",
                                          "--variant", "X15=refused"]),
    ("explain-vs-runner-2000", ["explain", "2000", "--preset", "vs-runner"]),
    ("explain-vs-runner-65535", ["explain", "65535", "--preset", "vs-runner"]),
    ("map-default", ["map", "--color", "never"]),
    ("map-hyperv-both", ["map", "--preset", "hyperv", "--protocol", "both", "--color", "never"]),
    ("map-hyperv-range", ["map", "--preset", "hyperv", "--range", "49152-65535", "--width", "80",
                          "--color", "never"]),
    ("map-vs-runner", ["map", "--preset", "vs-runner", "--color", "never"]),
    ("map-hyperv.svg", ["map", "--preset", "hyperv", "--protocol", "both", "--svg", "-"]),
    ("advise-default-100", ["advise", "100"]),
    ("advise-hyperv-20-tcp", ["advise", "20", "--preset", "hyperv", "--protocol", "tcp"]),
    ("advise-vs-runner-1", ["advise", "1", "--preset", "vs-runner"]),
    ("tour", ["tour", "--color", "never"]),
]

SAMPLE_CASES = [
    ("explain-netsh-01-47001", ["explain", "47001", "--netsh", "01-en-tcp.txt", "--netsh",
                                "02-en-udp.txt"]),
    ("explain-netsh-02-56100-udp", ["explain", "56100", "--protocol", "udp", "--netsh",
                                    "01-en-tcp.txt", "--netsh", "02-en-udp.txt"]),
    ("explain-netsh-10-50000", ["explain", "50000", "--netsh", "10-de-DE-tcp.txt"]),
    ("explain-netsh-16-3306", ["explain", "3306", "--netsh", "16-zh-CN-tcp.txt", "--netsh",
                               "43-zh-CN-tcp-dynamicport.txt"]),
    ("explain-netsh-26-2375", ["explain", "2375", "--netsh", "26-fr-FR-tcp.txt"]),
    ("map-netsh-16", ["map", "--netsh", "16-zh-CN-tcp.txt", "--netsh",
                      "43-zh-CN-tcp-dynamicport.txt", "--color", "never"]),
    ("map-netsh-26", ["map", "--netsh", "26-fr-FR-tcp.txt", "--color", "never"]),
    ("advise-netsh-16-50-tcp", ["advise", "50", "--protocol", "tcp", "--netsh",
                                "16-zh-CN-tcp.txt", "--netsh", "43-zh-CN-tcp-dynamicport.txt"]),
    ("advise-netsh-01-02-100", ["advise", "100", "--netsh", "01-en-tcp.txt", "--netsh",
                                "02-en-udp.txt"]),
]


@pytest.mark.parametrize(("name", "argv"), PRESET_CASES, ids=[c[0] for c in PRESET_CASES])
def test_presets_against_golden_output(capsys: pytest.CaptureFixture[str], name: str,
                                       argv: list[str]) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, err) == (0, "")
    check_golden(name if "." in name else f"{name}.txt", out)


@pytest.mark.parametrize(("name", "argv"), SAMPLE_CASES, ids=[c[0] for c in SAMPLE_CASES])
def test_real_netsh_samples_against_golden_output(capsys: pytest.CaptureFixture[str], name: str,
                                                  argv: list[str]) -> None:
    argv = [_s(a) if a.endswith(".txt") else a for a in argv]
    status, out, err = run(capsys, *argv)
    assert (status, err) == (0, "")
    check_golden(f"{name}.txt", out)


@pytest.mark.rule("X2", "X15", "R17", "W2", "X5", "A2")
@pytest.mark.parametrize("preset", ["default", "hyperv", "vs-runner"])
def test_explain_predicts_what_a_bind_and_an_acquire_really_get(preset: str) -> None:
    """For every row edge, a bound port and a free port, the codes explain prints are the
    ones a real bind and a real 1-port acquire on a copy of the machine get."""
    from portpool import PortPoolError
    from portpool._teach._explain import explain_text

    host = EmulatedHost.preset(preset)
    holder = host.process().socket()
    holder.bind(("0.0.0.0", 3001))
    ports = {3001, 4000, 65535} | {p for row in host.exclusions(Protocol.TCP) for p in (row.start, row.end)}
    other = host.process()
    for port in sorted(ports):
        text = explain_text(host, Protocol.TCP, port)
        line = next(line for line in text.splitlines() if "another process" in line)
        acquire_line = next(line for line in text.splitlines() if "SIO_ACQUIRE" in line)
        for action, shown in ((operator.methodcaller("bind", ("0.0.0.0", port)), line),
                              (operator.methodcaller("acquire_port_reservation", port, 1), acquire_line)):
            with other.socket() as sock:
                try:
                    action(sock)
                    got = "succeeds"
                except PortPoolError as exc:
                    got = f"{exc.name} ({exc.winerror})"
            assert got in shown, (port, got, shown)


def test_explain_says_bind0_is_refused_when_the_range_is_full(capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    from portpool._teach._explain import explain_text

    host = EmulatedHost(dynamic_ports=PortRange(60000, 255))
    app = host.process()
    for _ in range(255):
        app.socket().bind(("0.0.0.0", 0))
    text = explain_text(host, Protocol.TCP, 60001)
    assert "bind(('0.0.0.0', 0))" in text and "WSAENOBUFS (10055) [A13]" in text
    assert "close socket" in text


# --- the promises every command keeps ---------------------------------------------------


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sub.choices is not None
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    status, out, err = run(capsys, command, "--help")
    assert status == 0 and err == ""
    assert out.startswith(f"usage: portpool {command}")


def test_the_teaching_commands_are_registered() -> None:
    assert {"explain", "map", "tour", "advise", "snapshot", "netsh"} <= set(_commands())


BAD = [
    ["explain"], ["explain", "0"], ["explain", "x"], ["explain", "80", "--protocol", "icmp"],
    ["explain", "80", "--machine", "missing.db"], ["explain", "80", "--netsh", "missing.txt"],
    ["explain", "80", "--netsh", "{notnetsh}"], ["explain", "80", "--netsh", "{notnetsh}",
                                                  "--machine", "m.db"],
    ["explain", "80", "--netsh", "{notnetsh}", "--preset", "hyperv"],
    ["explain", "80", "--variant", "X15"], ["explain", "80", "--variant", "X15=bogus"],
    ["explain", "80", "--preset", "nope"], ["explain", "80", "--machine", "{notnetsh}"],
    ["map", "--range", "9-1"], ["map", "--range", "1-70000"], ["map", "--width", "3"],
    ["map", "--color", "pink"], ["advise", "0"], ["advise", "70000"], ["advise", "10", "--reserve"],
    ["snapshot", "-o", "{existing}"], ["snapshot", "-o", "{dir}/x.db", "--machine", "{dir}/x.db"],
    ["tour", "--seed", "x"], ["demo", "--seed", "x"], ["netsh"], ["nope"], ["specs", "extra"],
    ["netsh", "int", "ipv4", "show", "interfaces"],
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a) for a in BAD])
def test_bad_arguments_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notnetsh.txt").write_text("hello\nworld\n")
    (tmp_path / "existing.db").write_text("")
    names = {"notnetsh": str(tmp_path / "notnetsh.txt"), "existing": str(tmp_path / "existing.db"),
             "dir": str(tmp_path)}
    status, out, err = run(capsys, *(a.format(**names) for a in argv))
    assert status == 2, (out, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("portpool") and "Traceback" not in err and "usage:" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the real netsh answers")
def test_explain_backend_windows_off_windows_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "explain", "80", "--backend", "windows")
    assert status == 2 and out == ""
    assert err == ("portpool explain: --backend windows: the real machine's netsh runs only on"
                   " Windows; elsewhere give --machine, --preset or saved output with --netsh\n")


@pytest.mark.parametrize("command", [["specs"], ["demo"], ["tour"], ["map", "--preset", "hyperv"],
                                     ["explain", "5357", "--preset", "hyperv"], ["--help"],
                                     ["map", "--svg", "-"]])
def test_a_closed_pipe_ends_quietly(command: list[str]) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "portpool", *command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait() == 0
    assert first and "Traceback" not in err and "BrokenPipeError" not in err, err


def test_color_follows_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    _, always, _ = run(capsys, "map", "--preset", "hyperv", "--color", "always")
    _, never, _ = run(capsys, "map", "--preset", "hyperv", "--color", "never")
    _, auto, _ = run(capsys, "map", "--preset", "hyperv")  # captured: not a terminal
    assert "\x1b[31;1mX\x1b[0m" in always
    assert "\x1b[" not in never and auto == never


def test_map_writes_an_svg_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "m.svg"
    status, out, _ = run(capsys, "map", "--preset", "hyperv", "--svg", str(target), "--color", "never")
    assert status == 0 and out.endswith(f"wrote {target}\n")
    assert target.read_text().startswith("<svg ")


# --- reading netsh files ------------------------------------------------------------------


def test_netsh_files_in_any_encoding_read_the_same(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    text = (SAMPLES / "16-zh-CN-tcp.txt").read_text(encoding="utf-8")
    outputs = []
    for name, data in (("utf8", text.encode()), ("bom", b"\xef\xbb\xbf" + text.encode()),
                       ("utf16", text.encode("utf-16")), ("gbk", text.encode("gbk"))):
        path = tmp_path / name
        path.write_bytes(data)
        outputs.append(run(capsys, "map", "--netsh", str(path), "--color", "never")[1])
    assert outputs[0] and all(o == outputs[0] for o in outputs)
    assert decode_netsh_bytes(text.encode("utf-16")) == text


def test_netsh_from_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    data = (SAMPLES / "26-fr-FR-tcp.txt").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, out, _ = run(capsys, "explain", "2375", "--netsh", "-")
    assert status == 0 and "a system exclusion 2280-2379" in out


# --- snapshot -----------------------------------------------------------------------------


def test_snapshot_of_a_preset_opens_as_the_same_machine(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "snapshot", "-o", "m.db", "--preset", "hyperv", "--seed", "3")
    assert status == 0
    check_golden("snapshot-hyperv.txt", out)
    saved, fresh = EmulatedHost(store="m.db"), EmulatedHost.preset("hyperv", seed=3)
    for protocol in Protocol:
        assert saved.exclusions(protocol) == fresh.exclusions(protocol)
    assert oct((tmp_path / "m.db").stat().st_mode & 0o777) == "0o600"
    # and it can be copied, and read by every command through --machine
    assert run(capsys, "snapshot", "-o", "copy.db", "--machine", "m.db")[0] == 0
    assert EmulatedHost(store="copy.db").exclusions(Protocol.TCP) == fresh.exclusions(Protocol.TCP)
    assert run(capsys, "explain", "5357", "--machine", "copy.db")[1] == run(
        capsys, "explain", "5357", "--preset", "hyperv", "--seed", "3")[1]
    assert run(capsys, "snapshot", "-o", "m.db", "--force")[0] == 0
    assert EmulatedHost(store="m.db").exclusions(Protocol.TCP) == ()


@pytest.mark.parametrize("sample", ["10", "16", "26", "01"])
def test_snapshot_of_real_netsh_output_keeps_its_rows(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path, sample: str) -> None:
    meta = json.loads((SAMPLES / f"{sample}.json").read_text(encoding="utf-8"))
    target = tmp_path / "m.db"
    status, _, _ = run(capsys, "snapshot", "-o", str(target), "--netsh", _s(meta["file"]))
    assert status == 0
    rows = EmulatedHost(store=target).exclusions(Protocol[meta["protocol"].upper()])
    assert [[r.start, r.end, r.administered] for r in rows] == meta["rows"]


# --- the Windows paths, through fakes -------------------------------------------------------


def _fake_windows(host: EmulatedHost, *, admin: bool = False) -> tuple[Callable[..., str],
                                                                       Callable[[], PortPool]]:
    """A netsh runner that answers as ``host`` does, in German for the TCP table (netsh
    speaks the display language), and a pool opener on ``host``."""
    def runner(words: object) -> str:
        assert isinstance(words, (list, tuple))
        text = host.netsh(list(words))
        return text.replace("Protocol tcp Port Exclusion Ranges",
                            'Portausschlussbereiche für das Protokoll "tcp"')

    return runner, lambda: host.process(admin=admin)


@pytest.mark.rule("X2")
def test_explain_backend_windows_reads_netsh_and_binds(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    real = EmulatedHost.preset("hyperv", seed=5)
    runner, opener = _fake_windows(real)
    monkeypatch.setattr(_teach, "netsh_runner", runner)
    monkeypatch.setattr(_teach, "pool_opener", opener)
    status, out, err = run(capsys, "explain", "5357", "--backend", "windows")
    assert (status, err) == (0, "")
    assert "a system exclusion 5357-5357 (netsh does not say who placed it)" in out
    assert "netstat -ano -p tcp | findstr :5357" in out
    assert out.endswith("A test bind(('0.0.0.0', 5357)) of a TCP socket on this machine: WSAEACCES"
                        " (10013)\n  a row, or a socket of another account with SO_EXCLUSIVEADDRUSE,"
                        " refuses it [X2, R17, C5-C12]\n")
    listener = real.process().socket()
    listener.bind(("0.0.0.0", 8080))
    _, out, _ = run(capsys, "explain", "8080", "--backend", "windows")
    assert "WSAEADDRINUSE (10048)\n  a socket holds it" in out
    _, out, _ = run(capsys, "explain", "8081", "--backend", "windows")
    assert out.endswith("succeeded (and was closed at once)\n")
    status, _, err = run(capsys, "explain", "8081", "--backend", "windows", "--preset", "hyperv")
    assert status == 2 and err.count("\n") == 1


def test_live_netsh_failures_are_one_line(capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from portpool._teach._live import LiveMachineError

    def broken(words: object) -> str:
        raise LiveMachineError("netsh int ipv4 show excludedportrange protocol=tcp exited 1: oops")

    monkeypatch.setattr(_teach, "netsh_runner", broken)
    status, _, err = run(capsys, "map", "--backend", "windows")
    assert status == 2 and err == ("portpool map: --backend windows: netsh int ipv4 show"
                                   " excludedportrange protocol=tcp exited 1: oops\n")
    monkeypatch.setattr(_teach, "netsh_runner", lambda words: "not netsh\n")
    status, _, err = run(capsys, "map", "--backend", "windows")
    assert status == 2 and err.count("\n") == 1 and "not netsh" in err


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows it runs")
def test_the_real_netsh_runs_only_on_windows() -> None:
    from portpool._teach._live import LiveMachineError, run_real_netsh

    with pytest.raises(LiveMachineError, match="only on Windows"):
        run_real_netsh(["int", "ipv4", "show", "dynamicport", "tcp"])


def test_snapshot_backend_windows_saves_the_real_machine(capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    real = EmulatedHost.preset("vs-runner", seed=2)
    monkeypatch.setattr(_teach, "netsh_runner", _fake_windows(real)[0])
    target = tmp_path / "real.db"
    status, out, _ = run(capsys, "snapshot", "--backend", "windows", "-o", str(target))
    assert status == 0 and out.startswith(f"wrote {target}: this machine, read through netsh,")
    saved = EmulatedHost(store=target)
    for protocol in Protocol:
        assert [(r.start, r.end, r.administered) for r in saved.exclusions(protocol)] == [
            (r.start, r.end, r.administered) for r in real.exclusions(protocol)]
        assert saved.dynamic_range(protocol) == PortRange(1024, 64511)


@pytest.mark.parametrize("option", [["--preset", "hyperv"], ["--auto-reuse", "40000-41999"],
                                    ["--variant", "A4=random"]])
def test_snapshot_backend_windows_refuses_every_machine_option(
        option: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """--backend windows reads this machine: an option that names an emulated one is refused,
    and the message lists them all (--auto-reuse too), leaving no file behind."""
    from portpool._cli._machine_options import MACHINE_OPTIONS

    monkeypatch.setattr(_teach, "netsh_runner", _fake_windows(EmulatedHost(seed=1))[0])
    target = tmp_path / "real.db"
    status, _, err = run(capsys, "snapshot", "--backend", "windows", *option, "-o", str(target))
    assert status != 0 and "--backend windows reads this machine" in err
    assert all(name in err for name in MACHINE_OPTIONS) and option[0] in MACHINE_OPTIONS
    assert list(tmp_path.iterdir()) == []


@pytest.mark.rule("R13")
def test_advise_reserve_on_windows_needs_an_administrator(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = EmulatedHost.preset("hyperv", seed=1)
    runner, user = _fake_windows(real)
    monkeypatch.setattr(_teach, "netsh_runner", runner)
    monkeypatch.setattr(_teach, "pool_opener", user)
    status, out, err = run(capsys, "advise", "10", "--backend", "windows", "--reserve")
    assert status == 1 and "ERROR_ACCESS_DENIED" in err and err.count("\n") == 2  # TCP, UDP
    assert real.exclusions(Protocol.TCP) == EmulatedHost.preset("hyperv", seed=1).exclusions(Protocol.TCP)
    monkeypatch.setattr(_teach, "pool_opener", _fake_windows(real, admin=True)[1])
    status, out, err = run(capsys, "advise", "10", "--backend", "windows", "--reserve")
    assert (status, err) == (0, "")
    assert "reserved TCP 1024-1033 on this machine" in out
    assert "reserved UDP 1024-1033 on this machine" in out
    for protocol in Protocol:
        assert any(r.administered and (r.start, r.end) == (1024, 1033) for r in real.exclusions(protocol))


def test_advise_reserve_on_a_machine_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = str(tmp_path / "m.db")
    assert run(capsys, "snapshot", "-o", target, "--preset", "hyperv")[0] == 0
    status, out, _ = run(capsys, "advise", "5", "--machine", target, "--reserve", "--protocol", "tcp")
    assert status == 0 and f"reserved TCP 1024-1028 on {target}" in out
    _, again, _ = run(capsys, "advise", "5", "--machine", target, "--protocol", "tcp")
    assert "free to reserve: 1029-1033" in again


def test_advise_without_room_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "advise", "100", "--preset", "vs-runner")
    assert status == 1 and out == ""
    assert err.startswith("portpool advise: no block of 100 free TCP/UDP ports outside the"
                          " dynamic ranges (1024-65534)") and err.count("\n") == 1


def test_netsh_command_takes_the_machine_options(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    target = str(tmp_path / "n.db")
    status, out, _ = run(capsys, "netsh", "--machine", target, "--preset", "hyperv", "int", "ipv4",
                         "show", "excludedportrange", "protocol=tcp")
    assert status == 0 and "50000       50059     *" in out
    assert run(capsys, "netsh", "--machine", target, "--admin", "int", "ipv4", "add",
               "excludedportrange", "protocol=tcp", "startport=3000", "numberofports=10")[0] == 0
    _, out, _ = run(capsys, "explain", "3005", "--machine", target)
    assert "the administered row 3000-3009" in out
    status, out, _ = run(capsys, "netsh", "--machine", target, "int", "ipv4", "delete",
                         "excludedportrange", "tcp", "3000", "10")
    assert status == 1 and "elevation" in out  # not elevated (N2)


def test_every_tour_step_names_its_rules_and_source_and_shows_the_map() -> None:
    import re

    from portpool._model._rules import RULES
    from portpool._teach._tour import run_tour

    lines: list[str] = []
    run_tour(lines.append)
    text = "\n".join(lines)
    steps = re.split(r"\n\n(?=\d+\. )", text)[1:]
    assert len(steps) == 10
    for number, step in enumerate(steps, 1):
        assert step.startswith(f"{number}. ")
        ids = re.findall(r"\b([A-Z]\d+[a-z]?) \((?:documented|observed|assumed)\)", step)
        assert ids and all(i in RULES for i in ids), step
        assert "\n   source: " in step and "TCP ports 49152-49663" in step
    for code in ("WSAEADDRINUSE", "WSAEACCES", "ERROR_ACCESS_DENIED", "look tokens up again",
                 "TIME_WAIT       0", "T6: inuse"):
        assert code in text


def test_snapshot_reads_this_machine_by_default_on_windows(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    real = EmulatedHost.preset("hyperv", seed=9)
    monkeypatch.setattr(_teach, "netsh_runner", _fake_windows(real)[0])
    monkeypatch.setattr(sys, "platform", "win32")
    assert run(capsys, "snapshot", "-o", str(tmp_path / "a.db"))[0] == 0  # through netsh
    assert EmulatedHost(store=tmp_path / "a.db").exclusions(Protocol.TCP)[0].owner == "unknown"
    assert run(capsys, "snapshot", "-o", str(tmp_path / "b.db"), "--preset", "hyperv")[0] == 0
    assert EmulatedHost(store=tmp_path / "b.db").exclusions(Protocol.TCP)[0].owner == "HTTP.sys"
