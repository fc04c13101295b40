"""What a new user meets first: mypy finds portpool, --version, the extras' messages."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import portpool

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_mypy_finds_portpool_after_the_editable_install(tmp_path: Path) -> None:
    """A user's file, outside the checkout, type-checks against portpool's annotations.

    Needs the README's install (``pip install -e '.[test]'``) to have been run with the
    current pyproject.toml: setuptools' default editable finder hook (its choice for a
    layout with backends/ beside portpool/) hides portpool from mypy
    (``import-not-found``); the strict mode the build backend asks for does not.  The
    user's code imports a backend too, so the mapped backends/ folder is seen as well.
    """
    (tmp_path / "user_code.py").write_text(
        "import portpool\n"
        "host: portpool.EmulatedHost = portpool.EmulatedHost(seed=1)\n"
        "port: int = host.process().socket().acquire_port_reservation(0, 10).range.start\n"
        "from portpool.backends.windows import WindowsPool\n"
        "pool: type[WindowsPool] = WindowsPool\n"
        "bad: str = portpool.EmulatedHost(seed=1)\n",  # must be reported: proves types are read
        encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
         str(tmp_path / "cache"), "user_code.py"],
        cwd=tmp_path, capture_output=True, text=True, check=False)
    out = result.stdout + result.stderr
    assert "import-not-found" not in out, out
    assert 'Incompatible types in assignment (expression has type "EmulatedHost"' in out, out
    assert "Found 1 error in 1 file" in out, out


def test_pyproject_keeps_backends_at_the_top_and_installs_it_in_portpool() -> None:
    """The design card's layout: backends/ beside portpool/, installed as portpool.backends;
    no experimental [tool.distutils] option (it warns on every install)."""
    assert (ROOT / "backends" / "__init__.py").is_file()
    assert not (ROOT / "portpool" / "backends").exists()
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {
        "": ".", "portpool.backends": "backends"}
    assert "distutils" not in PYPROJECT["tool"]
    assert all(name == "portpool" or name.startswith("portpool.")
               for name in PYPROJECT["tool"]["setuptools"]["packages"])


def test_the_editable_build_gives_no_warnings(tmp_path: Path) -> None:
    """`pip install -e .` shows what setuptools warns while it builds the editable wheel
    (issue 19: no warnings on install).  Build it as pip does, in an isolated environment
    with the build requirements, the backend's warnings turned into errors."""
    import zipfile

    from build import ProjectBuilder
    from build.env import DefaultIsolatedEnv

    def runner(cmd: Sequence[str], cwd: str | None = None,
               extra_environ: Mapping[str, str] | None = None) -> None:
        env = {**os.environ, **(extra_environ or {}), "PYTHONWARNINGS": "error::UserWarning"}
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              check=False, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    with DefaultIsolatedEnv() as env:
        builder = ProjectBuilder.from_isolated_env(env, ROOT, runner=runner)
        env.install(builder.build_system_requires)
        env.install(builder.get_requires_for_build("editable"))
        wheel = Path(builder.build("editable", tmp_path))
    names = zipfile.ZipFile(wheel).namelist()
    (pth,) = [name for name in names if name.startswith("__editable__") and name.endswith(".pth")]
    # A plain path (strict mode's link tree), not an import hook mypy cannot follow.
    line = zipfile.ZipFile(wheel).read(pth).decode().strip()
    # (site.py runs a .pth line that starts with "import" and a space or tab.)
    assert not line.startswith(("import ", "import\t")) and Path(line).parent == ROOT / "build", line
    assert not [name for name in names if name.endswith("_finder.py")], names


def test_the_hypothesis_extra_has_no_linters() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    names = {key: {req.split(">")[0].split("=")[0].split("[")[0].strip() for req in reqs}
             for key, reqs in extras.items()}
    assert names["hypothesis"] == {"hypothesis"}
    assert "ruff" not in names["test"] and "hypothesis" in names["test"]
    assert {"ruff", "mypy"} <= names["lint"]


def test_portpool_testing_without_hypothesis_names_the_extra() -> None:
    code = ("import sys\n"
            "sys.modules['hypothesis'] = None  # as if it were not installed\n"
            "import portpool.testing.strategies\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, cwd=ROOT)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: portpool.testing needs Hypothesis"), last
    assert "pip install 'portpool[hypothesis]'" in last
    assert PYPROJECT["project"]["optional-dependencies"]["hypothesis"]


def test_portpool_testing_with_hypothesis_imports() -> None:
    pytest.importorskip("hypothesis")
    import portpool.testing

    assert callable(portpool.testing.run_conformance_test)


def test_version_on_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "portpool", "--version"], capture_output=True,
                            text=True, check=True)
    assert portpool.__version__ in result.stdout
    assert PYPROJECT["project"]["version"] == portpool.__version__


def test_patch_is_public_and_lazy() -> None:
    code = ("import sys, portpool\n"
            "assert 'portpool._patch' not in sys.modules\n"
            "assert 'patch' in portpool.__all__\n"
            "assert callable(portpool.patch)\n"
            "assert 'portpool._patch' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
