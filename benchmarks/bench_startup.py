"""Start-up costs, as ratios to one kernel socket+bind+close cycle measured in the same run.

What a suite of many small tests pays again and again (issue 19's numbers):

1. ``EmulatedHost()``: at most 2x the kernel cycle.
2. A preset machine (``EmulatedHost.preset("hyperv")``): at most 5x.
3. The emulated cycle socket + bind(port 0) + close: at most 0.4x.
4. A 1-port wildcard acquire (socket + acquire + close): at most 2x the emulated cycle.
5. ``import portpool`` in a fresh interpreter: at most 50 ms (wall, less the interpreter's
   own start, ``python -c pass``, which is measured in the same run and printed beside it).
6. ``python -m portpool explain 56900 --preset hyperv``: at most 150 ms wall.

The fresh-interpreter figures are measured twice, each the best of 20 runs (6 with
``--quick``), the commands taking turns so that a busy spell slows all of them alike:

* "compiled": every module's bytecode is cached, as after ``pip install`` (which compiles
  it) or any earlier run that could write ``__pycache__``;
* "from source": portpool's own modules are compiled from source on every run (as in a
  checkout run with ``PYTHONDONTWRITEBYTECODE=1`` or ``python -B`` and no ``__pycache__``),
  every other module's bytecode is cached.

Both use a bytecode cache of their own (``PYTHONPYCACHEPREFIX``, a temporary directory
filled by a first run), so neither reads nor writes ``__pycache__`` in the checkout and a
run here measures the same thing whatever state the tree is in.  The table also gives
``from portpool import EmulatedHost`` (what a program that uses the model pays; no goal)
and the cost of the ``portpool-children.pth`` line that every Python process on the
machine runs when no emulated machine is active.

Every figure is the best of several rounds, so that a busy machine disturbs it least; the
table says which goals were met on this run.  Run: python benchmarks/bench_startup.py
[--quick]
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import best_per_call, print_table  # benchmarks/_timing.py: run as python benchmarks/NAME.py

from portpool import EmulatedHost

PTH_LINE = (Path(__file__).resolve().parent.parent / "buildsupport" / "portpool-children.pth"
            ).read_text(encoding="utf-8")
PYTHON = [sys.executable, "-c", "pass"]
IMPORT = [sys.executable, "-c", "import portpool"]
USE = [sys.executable, "-c", "from portpool import EmulatedHost"]
EXPLAIN = [sys.executable, "-m", "portpool", "explain", "56900", "--preset", "hyperv"]


def best_walls(commands: dict[str, list[str]], runs: int, env: dict[str, str]) -> dict[str, float]:
    """The best wall time of ``runs`` runs of each command, in milliseconds.  The commands
    take turns, round after round, so that a busy spell slows all of them alike."""
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)  # noqa: S603 - our own interpreter and module
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: seconds * 1e3 for name, seconds in best.items()}


def fresh_environments(cache: str) -> tuple[dict[str, str], dict[str, str]]:
    """The environments of the "compiled" and "from source" runs, over the bytecode cache
    ``cache`` (filled here: every module the commands import, then portpool's dropped)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PORTPOOL_MACHINE")}
    env["PYTHONPYCACHEPREFIX"] = cache
    for argv in (IMPORT, USE, EXPLAIN):  # fills the cache
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)  # noqa: S603 - as above
    compiled = dict(env)
    # The cache mirrors source paths: the cached __init__'s folder holds all of portpool's
    # (asked of a child: the portpool the commands import, wherever it is).
    ask = "import importlib.util as u, portpool; print(u.cache_from_source(portpool.__file__))"
    where = subprocess.run([sys.executable, "-c", ask], check=True,  # noqa: S603 - as above
                           capture_output=True, text=True, env=env).stdout.strip()
    from_source = {**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": cache + "-source"}
    shutil.copytree(cache, cache + "-source")
    shutil.rmtree(cache + "-source" + os.path.dirname(where)[len(cache):])
    return compiled, from_source


def pth_hook_cost(calls: int) -> float:
    """The ``.pth`` line's cost with no emulated machine active, in microseconds."""
    code = compile(PTH_LINE, "portpool-children.pth", "exec")
    saved = os.environ.pop("PORTPOOL_MACHINE", None)
    try:
        return best_per_call(lambda: exec(code, {}), calls)  # noqa: S102 - our own .pth line
    finally:
        if saved is not None:
            os.environ["PORTPOOL_MACHINE"] = saved


def kernel_cycle() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.close()


def main() -> int:
    quick = "--quick" in sys.argv
    calls, runs = (200, 3) if quick else (2000, 10)
    kernel = best_per_call(kernel_cycle, calls)
    host = best_per_call(EmulatedHost, calls // 4)
    preset = best_per_call(lambda: EmulatedHost.preset("hyperv", seed=1), calls // 10)
    app = EmulatedHost(seed=1).process()

    def cycle() -> None:
        s = app.socket()
        s.bind(("127.0.0.1", 0))
        s.close()

    def acquire() -> None:
        s = app.socket()
        s.acquire_port_reservation(0, 1)
        s.close()

    emulated = best_per_call(cycle, calls)
    wildcard = best_per_call(acquire, calls)
    pth = pth_hook_cost(calls)
    with tempfile.TemporaryDirectory() as folder:
        modes = fresh_environments(os.path.join(folder, "pycache"))
        commands = {"python": PYTHON, "import": IMPORT, "use": USE, "explain": EXPLAIN}
        walls = [best_walls(commands, runs * 2, env) for env in modes]
    rows = [
        ("EmulatedHost() vs kernel cycle", f"{host:.1f} us", f"{kernel:.1f} us", host / kernel, 2.0),
        ("preset('hyperv') vs kernel cycle", f"{preset:.1f} us", f"{kernel:.1f} us", preset / kernel, 5.0),
        ("emulated cycle vs kernel cycle", f"{emulated:.1f} us", f"{kernel:.1f} us", emulated / kernel, 0.4),
        ("1-port wildcard acquire vs emulated cycle", f"{wildcard:.1f} us", f"{emulated:.1f} us",
         wildcard / emulated, 2.0),
    ]
    table: list[tuple[object, ...]] = [(name, mine, ref, f"{ratio:.2f}x", f"<= {goal}x", ratio <= goal)
             for name, mine, ref, ratio, goal in rows]
    for mode, wall in zip(("compiled", "from source"), walls, strict=True):
        python = f"{wall['python']:.1f} ms (python -c pass)"
        imported = wall["import"] - wall["python"]
        table.append((f"import portpool, {mode} (wall less python's start)",
                      f"{imported:.1f} ms ({wall['import']:.1f} ms wall)", python, "", "<= 50 ms",
                      imported <= 50))
        table.append((f"from portpool import EmulatedHost, {mode} (ditto)",
                      f"{wall['use'] - wall['python']:.1f} ms", python, "", "", ""))
        table.append((f"portpool explain 56900 --preset hyperv, {mode} (wall)",
                      f"{wall['explain']:.1f} ms", python, "", "<= 150 ms", wall["explain"] <= 150))
    table.append(("portpool-children.pth line, no machine active", f"{pth:.2f} us", "", "", "", ""))
    print_table(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
