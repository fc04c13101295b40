"""A real Windows CPython under Wine: the ctypes backend's plumbing on win32.

Wine implements none of the reservation APIs (its dlls/iphlpapi/iphlpapi.spec comments them out): its
ws2_32 answers the IOCTLs with WSAEOPNOTSUPP and its iphlpapi lacks the six
functions.  So this checks that the backend loads on win32, calls the real ws2_32,
and turns both into clear errors (rules R9a-like WSAEOPNOTSUPP, B14); and it runs the
interface tests on win32 CPython, where ctypes uses WINFUNCTYPE.  Skipped where
wine64 is not installed (.ci/run installs it when it can).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.wine
ROOT = Path(__file__).resolve().parent.parent
WINE = shutil.which("wine64") or "/usr/lib/wine/wine64"
WINESERVER = shutil.which("wineserver") or "/usr/lib/wine/wineserver"
WIN_WHEELS = ["pytest==9.2.0", "hypothesis==6.170.15"]


def _z(path: Path) -> str:
    return "Z:" + str(path).replace("/", "\\")


class Windows:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.env = {**os.environ, "WINEPREFIX": str(base / "prefix"), "WINEDEBUG": "-all",
                    "WINEDLLOVERRIDES": "mscoree,mshtml=;winedbg.exe=d"}
        self.env.pop("DISPLAY", None)
        self.python = base / "embed" / "python.exe"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        # Pipes and /dev/null only: a regular file as a std handle kills CPython under Wine.
        return subprocess.run([WINE, str(self.python), *args], env=self.env, capture_output=True,
                              stdin=subprocess.DEVNULL, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def windows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Windows]:
    if not os.path.exists(WINE):
        pytest.skip("wine64 is not installed")
    base = tmp_path_factory.mktemp("wine")
    win = Windows(base)
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check"]
    subprocess.run([*pip, "--require-hashes", "--target", str(base / "embed"), "-r",
                    str(ROOT / "tests" / "wine" / "requirements-embed.txt")], check=True)
    # portpool as Windows would import it: backends/ where the wheel puts it
    # (portpool/backends), plus the pure-Python dependencies.
    stage = base / "stage"
    shutil.copytree(ROOT / "portpool", stage / "portpool")
    shutil.copytree(ROOT / "backends", stage / "portpool" / "backends")
    import attr
    import attrs
    import sortedcontainers

    for module in (attr, attrs, sortedcontainers):
        source = Path(module.__file__ or "").parent
        shutil.copytree(source, stage / source.name)
    devnull = subprocess.DEVNULL
    subprocess.run([WINE, "wineboot", "--init"], env=win.env, stdin=devnull, stdout=devnull,
                   stderr=devnull, timeout=300, check=False)
    subprocess.run([WINESERVER, "-p"], env=win.env, stdin=devnull, stdout=devnull,
                   stderr=devnull, check=False)
    yield win
    subprocess.run([WINESERVER, "-k"], env=win.env, stdin=devnull, stdout=devnull,
                   stderr=devnull, check=False)
    shutil.rmtree(base / "prefix", ignore_errors=True)  # about 700 MB


@pytest.mark.rule("B14", "R9a", "B13")
def test_backend_loads_and_reports_wines_gaps_clearly(windows: Windows) -> None:
    result = windows.run(str(ROOT / "tests" / "wine" / "probe.py"), _z(windows.base / "stage"))
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines == ["PLATFORM win32", "ACQUIRE 10045 WSAEOPNOTSUPP",
                     "LOOKUP 127 ERROR_PROC_NOT_FOUND", "BIND True", "EMULATED True",
                     "ADOPT-ACQUIRE 10045", "ADOPT-BIND True", "ADOPT-CLOSED True",
                     "CLOSE-FREES True", "CLOSED-POOL WSANOTINITIALISED",
                     "ELEVATED True", "CODEPAGE True", "SYSMSG True"]


def test_interface_tests_pass_on_windows_cpython(windows: Windows) -> None:
    site = windows.base / "winsite"
    wheels = windows.base / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary", ":all:",
                    "--platform", "win_amd64", "--python-version", "3.13", "--implementation",
                    "cp", "-d", str(wheels), *WIN_WHEELS], check=True)
    for wheel in wheels.glob("*.whl"):
        shutil.unpack_archive(wheel, site, "zip")
    root = windows.base / "repo"
    shutil.copytree(ROOT / "tests", root / "tests")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    result = windows.run(str(ROOT / "tests" / "wine" / "run_suite.py"),
                         _z(windows.base / "stage"), _z(site), _z(root))
    tail = result.stdout[-3000:]
    assert result.returncode == 0, tail + result.stderr[-2000:]
    import re

    passed = re.search(r"(\d+) passed", tail)
    assert passed is not None and int(passed.group(1)) >= 200, tail
    assert "failed" not in tail
