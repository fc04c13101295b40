"""The command line, and the wheel's shape."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from portpool.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


def test_demo_tells_the_story(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for expected in ("[WinError 10013] WSAEACCES", "[rule R17]", "[rule A12]",
                     "[WinError 5] ERROR_ACCESS_DENIED", "ERROR_SHARING_VIOLATION",
                     "look tokens up again", "WSANOTINITIALISED", "Legend:"):
        assert expected in out, expected


def test_specs_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["specs"]) == 0
    assert "### R17 (assumed)" in capsys.readouterr().out


def test_console_script_runs() -> None:
    # The command pip installed beside this Python (its venv's bin/ or Scripts/), whether
    # or not that folder is on PATH (a venv used without activating it).
    exe = shutil.which("portpool", path=os.path.dirname(sys.executable))
    assert exe is not None, "pip install -e . installs the portpool command"
    out = subprocess.run([exe, "demo", "--seed", "3"], capture_output=True, text=True, check=True)
    assert "1. A wildcard runtime reservation" in out.stdout


def test_wheel_ships_portpool_alone_with_its_backends(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("portpool-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"portpool", "portpool-children.pth"}  # the hook child processes join by
    record = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info/RECORD")
    assert b"\nportpool-children.pth,sha256=" in b"\n" + record
    assert "portpool/backends/__init__.py" in names
    assert "portpool/backends/emulated.py" in names
    assert "portpool/py.typed" in names
    assert not any(n.startswith(("backends/", "tests/", "specs/")) for n in names)
    _child_joins_from_an_installed_wheel(wheel, tmp_path)


def _child_joins_from_an_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    """The wheel, installed (not editable) in a fresh venv, puts the hook where Python
    reads it: a child started with PORTPOOL_MACHINE runs on the emulated machine."""
    import os
    import site
    import venv

    from portpool import EmulatedHost, Protocol

    venv.create(tmp_path / "venv", with_pip=False)
    python = tmp_path / "venv" / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=120)
    EmulatedHost(store=tmp_path / "m.db").exclude(Protocol.TCP, 8000, 100)
    # attrs and sortedcontainers come from this environment, whose own .pth files (and so
    # its editable portpool) a PYTHONPATH entry does not read.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(site.getsitepackages()),
           "PORTPOOL_MACHINE": str(tmp_path / "m.db")}
    code = ("import socket, portpool; s = socket.socket()\n"
            "try: s.bind(('127.0.0.1', 8050))\nexcept OSError as e: print(e.winerror, portpool.__file__)")
    result = subprocess.run([str(python), "-c", code], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    winerror, where = result.stdout.split()
    assert winerror == "10013" and str(tmp_path / "venv") in where


def test_the_checkout_s_backends_folder_is_portpool_backends() -> None:
    """backends/ sits beside portpool/ (the design card's layout); the checkout imports it
    as portpool.backends without any install (portpool/__init__.py), as the wheel does."""
    import portpool.backends.emulated
    import portpool.backends.windows

    assert not (ROOT / "portpool" / "backends").exists()
    for module in (portpool.backends.emulated, portpool.backends.windows):
        path = Path(module.__file__ or "").resolve()
        assert ROOT / "backends" in path.parents, path
    code = "import backends"  # no top-level `backends` package is installed
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd="/", check=False)
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr
