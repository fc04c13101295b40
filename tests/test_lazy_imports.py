"""Start-up stays cheap: what ``import portpool``, the child-process hook, the pytest plugin
and a command line import, checked by module names (no timings: the figures are in
benchmarks/bench_startup.py).

Each check runs a fresh interpreter and compares ``sys.modules`` before and after, so the
modules the interpreter (or a ``sitecustomize``) had already loaded do not count.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import portpool
from portpool import _cli

ROOT = Path(__file__).resolve().parent.parent
PTH = ROOT / "buildsupport" / "portpool-children.pth"

# Loaded only by what needs them: a store file, the netsh/netstat text, teaching, the
# patch, ctypes, the test helpers.
HEAVY = ("sqlite3", "secrets", "hashlib", "shutil", "tempfile", "ctypes", "hypothesis",
         "subprocess", "json", "portpool._netsh", "portpool._netstat", "portpool._teach",
         "portpool._patch", "portpool._winsock", "portpool._probes", "portpool._realmachine",
         "portpool.testing", "portpool.backends.windows")


def new_modules(code: str, *, setup: str = "") -> set[str]:
    """The modules a fresh interpreter loads while running ``code`` (after ``setup``)."""
    script = (setup + "\nimport sys\nbefore = set(sys.modules)\n" + code
              + "\nprint('\\n'.join(sorted(set(sys.modules) - before)), file=sys.stderr)\n")
    environ = {k: v for k, v in os.environ.items() if k != "PORTPOOL_MACHINE"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, cwd=ROOT, env=environ)
    return set(result.stderr.split())


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_import_portpool_loads_only_its_own_init() -> None:
    assert new_modules("import portpool") == {"portpool"}


def test_every_public_name_is_its_modules_object() -> None:
    found = new_modules("import portpool\nfor name in portpool.__all__: getattr(portpool, name)")
    assert "attrs" in found and "portpool._host" in found  # the names did load their modules
    for name in portpool.__all__:
        value = getattr(portpool, name)
        home = importlib.import_module(f"portpool.{portpool._HOME[name]}")
        assert value is getattr(home, name), name
        assert name in dir(portpool), name
    assert set(portpool._HOME) == set(portpool.__all__)


def test_star_import_and_unknown_names() -> None:
    namespace: dict[str, object] = {}
    exec("from portpool import *", namespace)
    assert set(portpool.__all__) <= set(namespace)
    with pytest.raises(AttributeError, match="module 'portpool' has no attribute 'nope'"):
        portpool.nope  # type: ignore[attr-defined]  # noqa: B018 - the lookup is the test
    with pytest.raises(ImportError):
        exec("from portpool import nope")


def test_the_model_loads_no_store_file_machinery_and_no_teaching() -> None:
    found = new_modules("from portpool import EmulatedHost\n"
                        "host = EmulatedHost.preset('hyperv', seed=1)\n"
                        "s = host.process().socket(); s.bind(('127.0.0.1', 0)); s.close()\n"
                        "host.explain(__import__('portpool').Protocol.TCP, 56900)")
    assert "portpool._model._machine" in found
    assert heavy_in(found) == []


def test_a_store_file_loads_sqlite3(tmp_path: Path) -> None:
    found = new_modules(f"from portpool import EmulatedHost\nEmulatedHost(store={str(tmp_path / 's')!r})")
    assert "sqlite3" in found  # the check above can fail


def test_explain_on_the_command_line_loads_only_its_command() -> None:
    found = new_modules("from portpool._cli import main\n"
                        "main(['explain', '56900', '--preset', 'hyperv'])")
    assert "portpool._cli._teach" in found and "portpool._teach._explain" in found
    others = {m for m in set(_cli._COMMANDS.values()) if m != "portpool._cli._teach"}
    assert found & others == set()
    assert heavy_in(found) == ["portpool._teach", "portpool._teach._explain"]


def test_the_commands_table_names_what_each_module_registers() -> None:
    registered: list[str] = []
    for module in _cli._COMMAND_MODULES:
        commands = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(commands)
        registered += commands.choices
        assert all(_cli._COMMANDS[name] == module for name in commands.choices), module
    assert registered == list(_cli._COMMANDS)
    full = next(a for a in _cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(full.choices) == list(_cli._COMMANDS)
    one = next(a for a in _cli.build_parser("map")._actions
               if isinstance(a, argparse._SubParsersAction))
    assert list(one.choices) == ["explain", "map", "tour", "advise", "snapshot"]


def test_the_child_hook_without_a_machine_imports_nothing() -> None:
    line = PTH.read_text(encoding="utf-8")
    found = new_modules(f"exec({line!r})")
    assert found == set()  # with a machine named it joins it: tests/test_children.py


def test_the_pytest_plugin_loads_no_attrs_and_no_model() -> None:
    found = new_modules("import portpool.pytest_plugin", setup="import pytest")
    assert found == {"portpool", "portpool.pytest_plugin"}


def test_the_plugins_settings_class_is_public_where_it_was() -> None:
    from portpool import pytest_plugin
    from portpool._pytest_settings import PortpoolSettings

    assert pytest_plugin.PortpoolSettings is PortpoolSettings
    assert "PortpoolSettings" in pytest_plugin.__all__
    with pytest.raises(AttributeError):
        pytest_plugin.nope  # type: ignore[attr-defined]  # noqa: B018 - the lookup is the test


@pytest.mark.parametrize("columns", [None, "50", "0", "-3", "wide", "200"])
def test_the_help_is_as_wide_as_argparse_makes_it(monkeypatch: pytest.MonkeyPatch,
                                                  columns: str | None) -> None:
    import shutil

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _cli.terminal_columns() == shutil.get_terminal_size().columns
    plain = argparse.ArgumentParser(prog="portpool", description="x " * 80)
    ours = _cli.OneLineParser(prog="portpool", description="x " * 80)
    for parser in (plain, ours):
        parser.add_argument("--machine", help="y " * 60)
    assert ours.format_help() == plain.format_help()


def test_type_checkers_see_every_public_name_and_flag_a_misspelled_one(tmp_path: Path) -> None:
    """The names load lazily at run time; mypy reads them from the TYPE_CHECKING imports,
    and without a visible module ``__getattr__`` it still reports a name portpool lacks."""
    lines = ["import portpool", *(f"reveal_type(portpool.{name})" for name in portpool.__all__),
             "portpool.EmulatedHots"]
    (tmp_path / "names.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
         str(tmp_path / "cache"), "names.py"],
        cwd=tmp_path, capture_output=True, text=True, check=False)
    out = result.stdout.splitlines()
    errors = [line for line in out if ": error:" in line]
    assert errors == [f"names.py:{len(lines)}: error: Module has no attribute \"EmulatedHots\";"
                      " maybe \"EmulatedHost\"?  [attr-defined]"], result.stdout
    revealed = [line for line in out if "Revealed type is" in line]
    assert len(revealed) == len(portpool.__all__)
    assert not [line for line in revealed if '"Any"' in line or '"builtins.object"' in line], revealed
