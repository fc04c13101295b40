"""No import circle inside portpool (portpool/, and backends/, installed as
portpool.backends): module A importing B (directly or through others) while B imports A.

Every import counts, wherever it is written: at the top, inside a function, or under
``if TYPE_CHECKING:`` (a type-only import still ties the two modules' concepts together;
the house's way out is a type by shape, a ``typing.Protocol``, in the lower module).  An
import of a package is an import of its ``__init__``; ``from package import name`` imports
the submodule ``package.name`` when there is one.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(packages: dict[str, Path]) -> dict[str, Path]:
    """Module name -> file, for every .py file of the packages (name -> folder)."""
    found = {}
    for package, top in packages.items():
        for path in sorted(top.rglob("*.py")):
            parts = [*package.split("."), *path.relative_to(top).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that module ``name`` (file ``path``) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in known else base)
    return {target for target in targets if target in known and target != name}


def circles(packages: dict[str, Path]) -> list[list[str]]:
    """The import circles among the modules of ``packages`` (dotted name -> folder: a
    subpackage may live in a folder of its own): each one a sorted list of the modules
    that import one another (strongly connected components of more than one module),
    sorted."""
    known = _modules(packages)
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative (no recursion limit)
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(found)


def test_portpool_has_no_import_circle() -> None:
    assert (ROOT / "backends" / "emulated.py").is_file()
    assert circles({"portpool": ROOT / "portpool", "portpool.backends": ROOT / "backends"}) == []


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def _circles(top: Path) -> list[list[str]]:
    return circles({top.name: top})


def test_a_type_only_circle_through_a_third_module_is_found(tmp_path: Path) -> None:
    top = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "",
        "pkg/sub/_world.py": "from ._ops import step\n",
        "pkg/sub/_ops.py": "from ._table import ROWS\n",
        "pkg/sub/_table.py": ("from typing import TYPE_CHECKING\n"
                              "if TYPE_CHECKING:\n    from ._world import World\n"),
        "pkg/sub/_alone.py": "from .. import sub\nimport pkg.sub._ops\n",
    })
    assert _circles(top) == [["pkg.sub._ops", "pkg.sub._table", "pkg.sub._world"]]


def test_circles_through_a_package_and_inside_a_function_are_found(tmp_path: Path) -> None:
    top = _package(tmp_path, {
        "pkg/__init__.py": "from ._a import f\n",
        "pkg/_a.py": "def f():\n    from pkg import _b\n",
        "pkg/_b.py": "from . import VALUE\n",
        "pkg/_c.py": "from ._d import g\n",
        "pkg/_d.py": "def g():\n    import pkg._c\n",
    })
    assert _circles(top) == [["pkg", "pkg._a", "pkg._b"], ["pkg._c", "pkg._d"]]


def test_a_circle_through_a_subpackage_kept_elsewhere_is_found(tmp_path: Path) -> None:
    top = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/_host.py": "from pkg.plugins.one import Pool\n",
        "plugins/__init__.py": "",
        "plugins/one.py": "from pkg._host import Host\nfrom . import two\n",
        "plugins/two.py": "",
    })
    assert _circles(top) == []  # plugins/ not named: pkg.plugins.one is outside
    assert circles({"pkg": top, "pkg.plugins": tmp_path / "plugins"}) == [
        ["pkg._host", "pkg.plugins.one"]]


def test_imports_one_way_are_no_circle(tmp_path: Path) -> None:
    top = _package(tmp_path, {
        "pkg/__init__.py": "from ._high import run\n",
        "pkg/_high.py": "from ._low import World\nfrom . import _low\n",
        "pkg/_low.py": "from typing import Protocol\nimport os\n",
    })
    assert _circles(top) == []
