"""Long fuzz runs of an emulated host: hostile arguments, invariants after every call.

    python scripts/fuzz.py --calls 1000000 --seed 1                 # interface + DLLs + host
    python scripts/fuzz.py --calls 200000 --threads 8 --seed 2      # 8 threads on one host
    python scripts/fuzz.py --calls 100000 --dlls                    # the DLL surface only
    python scripts/fuzz.py --calls 100000 --interface --host        # no raw DLL calls

Prints the number of calls, their outcomes, the Windows codes of refusals, every exception
by type and call site (the deepest frame inside portpool), the invariant checks run and the
violations found, and calls per second.  Exits 1 if any invariant was broken.

The engine is ``portpool/testing/_fuzz/``; ``tests/test_fuzz.py`` runs it on a small
budget in the suite.
"""

from __future__ import annotations

import argparse
import sys
import time

from portpool import PortRange
from portpool.testing._fuzz import FuzzOptions, Stats, run_fuzz, run_threads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000,
                        help="calls in all (with --threads, shared among the threads)")
    parser.add_argument("--threads", type=int, default=1, help="threads on one host (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seeds every choice (default 0)")
    parser.add_argument("--interface", action="store_true",
                        help="the PortPool/Socket interface (emulated and ctypes backends)")
    parser.add_argument("--dlls", action="store_true", help="the emulated ws2_32/iphlpapi calls")
    parser.add_argument("--host", action="store_true",
                        help="host methods (reboot, introspection, exclude, netsh, constructor)")
    parser.add_argument("--episode", type=int, default=2000,
                        help="calls per machine before a full check and a fresh machine")
    parser.add_argument("--check-every", type=int, default=None,
                        help="structural check every N calls (default 1; 50 with threads)")
    parser.add_argument("--full-every", type=int, default=500,
                        help="full (ledger) check every N calls, single-threaded")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval for a threaded run (e.g. 1e-6)")
    parser.add_argument("--huge-wait-counts", action="store_true",
                        help="also pass cEvents up to 0xFFFFFFFF with a 65-entry array to"
                             " WSAWaitForMultipleEvents (crashes an emulator that reads them)")
    parser.add_argument("--dynamic", type=int, nargs=2, metavar=("START", "COUNT"), default=None,
                        help="the dynamic range of every machine (default: drawn; threads:"
                             " 40000 2000)")
    parser.add_argument("--top", type=int, default=25,
                        help="PortPoolError call sites and codes to list (default 25)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)

    layers = {name for name in ("interface", "dlls", "host") if getattr(args, name)}
    layers = {"dll" if name == "dlls" else name for name in layers} or {"interface", "dll", "host"}
    threaded = args.threads > 1
    check_every = args.check_every or (50 if threaded else 1)
    options = FuzzOptions(layers=frozenset(layers), episode=args.episode, check_every=check_every,
                          full_every=args.full_every, unsafe_wait_counts=args.huge_wait_counts,
                          dynamic_ports=PortRange(*args.dynamic) if args.dynamic else None)
    started = time.perf_counter()

    def progress(stats: Stats) -> None:
        if not args.quiet:  # the run captures sys.stderr: write to the real one
            elapsed = time.perf_counter() - started
            print(f"  {stats.total:,} calls, {sum(stats.violation_kinds.values())} violations,"
                  f" {elapsed:,.0f} s", file=sys.__stderr__, flush=True)

    if threaded:
        report = run_threads(args.threads, args.calls // args.threads, seed=args.seed,
                             options=options, switch_interval=args.switch_interval)
    else:
        report = run_fuzz(args.calls, seed=args.seed, options=options, progress=progress)
    print(f"layers: {', '.join(sorted(layers))}")
    print(report.summary(top=args.top))
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
