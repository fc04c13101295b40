"""``portpool run``: a Python program runs unchanged under the patch, as under
``coverage run``; its exit status, its arguments, its child processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from portpool import EmulatedHost, Protocol

TIMEOUT = 60  # seconds: each run starts one or two Pythons


def portpool_run(*words: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "portpool", "run", *words], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)


BIND = textwrap.dedent("""
    import socket, sys
    print("argv", sys.argv[1:])
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
        print("bound", s.getsockname()[1])
    except OSError as exc:
        print("refused", exc.winerror, exc)
    sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
""")


@pytest.fixture
def machine_file(tmp_path: Path) -> Path:
    """A Hyper-V-like machine in a store file, WinNAT over 8000-8099 (TCP)."""
    path = tmp_path / "machine.db"
    EmulatedHost.preset("hyperv", seed=1, store=path).exclude(Protocol.TCP, 8000, 100)
    return path


def test_a_script_sees_the_machine_and_its_status_and_arguments_pass(tmp_path: Path,
                                                                      machine_file: Path) -> None:
    (tmp_path / "bind.py").write_text(BIND)
    result = portpool_run("--machine", str(machine_file), "bind.py", "8050", "3", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "argv ['8050', '3']" in result.stdout
    assert ("refused 10013 [WinError 10013] An attempt was made to access a socket in a way"
            " forbidden by its access permissions") in result.stdout
    plain = subprocess.run([sys.executable, "bind.py", "8050"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=TIMEOUT, check=False)
    assert "refused 10013" not in plain.stdout  # the control: the same script, not under portpool run


def test_options_after_the_script_are_the_scripts(tmp_path: Path) -> None:
    (tmp_path / "bind.py").write_text(BIND)
    result = portpool_run("bind.py", "0", "0", "--machine", "x", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "argv ['0', '0', '--machine', 'x']" in result.stdout


def test_a_module_with_its_arguments(tmp_path: Path, machine_file: Path) -> None:
    (tmp_path / "bindmod.py").write_text(BIND)
    result = portpool_run("--machine", str(machine_file), "-m", "bindmod", "8050", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "argv ['8050']" in result.stdout and "refused 10013" in result.stdout
    tool = portpool_run("-m", "json.tool", "--sort-keys", cwd=tmp_path, stdin='{"b": 1, "a": 2}')
    assert tool.returncode == 0, tool.stderr
    assert tool.stdout.index('"a"') < tool.stdout.index('"b"')


def test_a_preset_machine_and_an_elevated_program(tmp_path: Path, machine_file: Path) -> None:
    (tmp_path / "persist.py").write_text(textwrap.dedent("""
        import ctypes
        iphlpapi = ctypes.WinDLL("iphlpapi")
        token = ctypes.c_uint64()
        start = (3000 >> 8) | ((3000 & 0xFF) << 8)  # htons
        print("create", iphlpapi.CreatePersistentTcpPortReservation(start, 10, ctypes.byref(token)))
    """))
    assert "create 5" in portpool_run("--preset", "hyperv", "persist.py", cwd=tmp_path).stdout
    result = portpool_run("--machine", str(machine_file), "--admin", "persist.py", cwd=tmp_path)
    assert "create 0" in result.stdout, result.stderr
    kept = EmulatedHost(store=machine_file).reservations(Protocol.TCP)
    assert any(r.range.start == 3000 and r.range.count == 10 and r.persistent for r in kept)


def test_child_processes_join_the_machine(tmp_path: Path, machine_file: Path) -> None:
    (tmp_path / "bind.py").write_text(BIND)
    (tmp_path / "parent.py").write_text(textwrap.dedent("""
        import subprocess, sys
        child = subprocess.run([sys.executable, "bind.py", "8050"], capture_output=True, text=True,
                               timeout=30)
        print("child:", child.stdout.strip().splitlines()[-1])
    """))
    result = portpool_run("--machine", str(machine_file), "parent.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "child: refused 10013" in result.stdout


def test_a_failing_program_prints_its_traceback_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text("raise ValueError('boom')\n")
    result = portpool_run("boom.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "ValueError: boom" in result.stderr and "Traceback" in result.stderr


@pytest.mark.parametrize(("words", "message"), [
    ((), "give a script to run"),
    (("nosuch.py",), "nosuch.py: no such file"),
    (("-m",), "-m: give a module name"),
    (("-m", "no_such_module_here"), "-m no_such_module_here: no module named 'no_such_module_here'"),
    (("--machine", "missing/dir/m.db", "x.py"), "persistent store 'missing/dir/m.db'"),
])
def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path, words: tuple[str, ...],
                                               message: str) -> None:
    (tmp_path / "x.py").write_text("print('ran')\n")
    result = portpool_run(*words, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("portpool run: ")
    assert message in result.stderr
    assert "ran" not in result.stdout
