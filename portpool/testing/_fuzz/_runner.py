"""The runners: one machine for a Hypothesis test (:func:`fuzz_steps`), episodes on fresh
machines for long runs (:func:`run_fuzz`), threads on one machine (:func:`run_threads`).
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable

from ..._host import EmulatedHost
from ..._model._rules import ALTERNATIVES
from ..._types import PortRange
from ._host_ops import start_callers
from ._ledger import Ledger
from ._report import FuzzReport, Stats, Violation
from ._sites import _capturing
from ._sources import RandomSource, Source
from ._table import FuzzOptions
from ._world import World


def _fresh_host(src: Source, options: FuzzOptions) -> EmulatedHost:
    """A machine with drawn options (seed, dynamic range, variants, preset)."""
    seed = src.integer(0, 2**32 - 1)
    dynamic: object = options.dynamic_ports
    if dynamic is None:
        dynamic = src.choice((None, None, PortRange(40000, 2000), PortRange(1024, 64512),
                              PortRange(60000, 300)))
    variants = {}
    for rule_id, rows in sorted(ALTERNATIVES.items()):
        if src.chance(25):
            variants[rule_id] = src.choice([row.name for row in rows])
    preset = src.choice((None, None, None, "hyperv", "vs-runner"))
    try:
        return EmulatedHost(seed=seed, dynamic_ports=dynamic, variants=variants or None,
                            preset=preset)
    except (TypeError, ValueError):  # a combination the model refuses (Y2 with 1024)
        return EmulatedHost(seed=seed)


def fuzz_steps(source: Source, *, steps: int, options: FuzzOptions | None = None,
               host: EmulatedHost | None = None) -> FuzzReport:
    """One machine, ``steps`` operations, then the full check (for Hypothesis tests).

    Args:
        source: e.g. ``HypothesisSource(data)`` inside ``@given(st.data())``.
        steps: how many operations (each makes one or a few calls).
        host: the machine (default: one with options drawn from ``source``).
    """
    options = options or FuzzOptions()
    started = time.perf_counter()
    stats = Stats()
    with _capturing() as tap:
        world = World(host or _fresh_host(source, options), source, options, ledger=Ledger(),
                      stats=stats, tap=tap)
        world.ledger.seed_persistent(world.host)
        start_callers(world)
        for _ in range(steps):
            world.step()
        world.full_check()
        if tap.pending():
            world._take_tap("end")
    return FuzzReport(stats, time.perf_counter() - started)


def run_fuzz(calls: int, *, seed: int = 0, options: FuzzOptions | None = None,
             progress: Callable[[Stats], None] | None = None) -> FuzzReport:
    """Single-threaded fuzzing: episodes of :attr:`FuzzOptions.episode` calls, each on a
    fresh machine, checked after every call and in full at the end of each episode.

    Args:
        calls: how many calls in all.
        seed: seeds the choices (the same seed makes the same run).
        progress: called with the running stats after each episode.
    """
    options = options or FuzzOptions()
    started = time.perf_counter()
    source = RandomSource(seed)
    stats = Stats()
    with _capturing() as tap:
        while stats.total < calls:
            world = World(_fresh_host(source, options), source, options, ledger=Ledger(),
                          stats=stats, tap=tap)
            world.ledger.seed_persistent(world.host)
            start_callers(world)
            world.run(min(options.episode, calls - stats.total))
            world.full_check("end of episode")
            if tap.pending():
                world._take_tap("end of episode")
            if progress is not None:
                progress(stats)
    return FuzzReport(stats, time.perf_counter() - started, 1, seed)


def run_threads(threads: int, calls: int, *, seed: int = 0, options: FuzzOptions | None = None,
                host: EmulatedHost | None = None, switch_interval: float | None = None) -> FuzzReport:
    """``threads`` threads, each with its own processes, fuzzing one machine at once.

    Each thread makes ``calls`` calls.  Snapshot comparisons are off (other threads change
    the machine); the structural check runs every :attr:`FuzzOptions.check_every` calls
    under the host's lock, and after the threads join, the full check compares the
    machine with what all threads were granted.

    Args:
        host: the machine (default: dynamic range 40000-41999, so wildcard draws collide).
        switch_interval: ``sys.setswitchinterval`` for the run (smaller: more interleaving).
    """
    options = options or FuzzOptions()
    started = time.perf_counter()
    source = RandomSource(seed)
    if host is None:
        host = EmulatedHost(seed=seed, dynamic_ports=options.dynamic_ports or PortRange(40000, 2000))
    ledger = Ledger()
    ledger.seed_persistent(host)
    stats = [Stats() for _ in range(threads)]
    errors: list[tuple[int, BaseException]] = []
    old_interval = sys.getswitchinterval()
    with _capturing() as tap:
        worlds = [World(host, RandomSource(source.integer(0, 2**63)), options, ledger=ledger,
                        stats=stats[i], tap=tap, threaded=True) for i in range(threads)]
        for world in worlds:
            start_callers(world)
        barrier = threading.Barrier(threads)

        def work(index: int) -> None:
            try:
                barrier.wait()
                worlds[index].run(calls)
            except BaseException as exc:  # a harness failure: report it, do not hang
                errors.append((index, exc))

        runners = [threading.Thread(target=work, args=(i,), name=f"fuzz-{i}") for i in range(threads)]
        if switch_interval is not None:
            sys.setswitchinterval(switch_interval)
        try:
            for runner in runners:
                runner.start()
            for runner in runners:
                runner.join()
        finally:
            sys.setswitchinterval(old_interval)
        total = Stats()
        for s in stats:
            total.merge(s)
        checker = World(host, source, options, ledger=ledger, stats=total, tap=tap, threaded=True)
        for world in worlds:
            world.stats = total
            world.poll()
        checker.call("dll.complete_pending", (), host.calls.complete_pending, compare="none")
        for world in worlds:
            world.poll()
        checker.full_check("after the threads")
        checker._take_tap("threads (catch-all or stderr)")
    for index, exc in errors:
        total.violate(Violation("harness", f"thread {index}", "".join(
            traceback.format_exception(exc))[-2000:]))
    return FuzzReport(total, time.perf_counter() - started, threads, seed)
