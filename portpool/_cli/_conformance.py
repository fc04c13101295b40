"""``portpool conformance record|compare``: traces of real calls, replayed on the emulator."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import check_output, one_line

__all__ = ["register"]


def register(commands: Any) -> None:  # argparse._SubParsersAction is private
    """Add ``conformance`` (with ``record`` and ``compare``) to ``commands``."""
    conformance = commands.add_parser(
        "conformance", help="record a trace of calls on a machine; compare it with the emulator")
    actions = conformance.add_subparsers(dest="action", required=True, metavar="ACTION")
    record = actions.add_parser(
        "record", help="record a seeded random sequence of calls, their results and codes",
        description="Make a seeded random sequence of port-pool calls inside a scratch block"
                    " on one machine and write each call, its result and its Windows code,"
                    " with the machine; everything made is undone at the end. Exits 1 when"
                    " something could not be undone; exits 2 before running when the trace"
                    " file cannot be written (its directory is missing or read-only), and 2"
                    " when writing it fails after the calls: the trace is then printed to"
                    " stdout as JSON, so that the recording is not lost.")
    record.add_argument("--backend", choices=("emulated", "ctypes", "windows"), default=None,
                        help="as for portpool probe (default: windows on Windows, else emulated)")
    record.add_argument("-o", "--output", required=True, metavar="PATH", help="the trace file")
    record.add_argument("--seed", type=int, default=0, help="the sequence's seed")
    record.add_argument("--calls", type=int, default=200, help="how many calls (default 200)")
    record.add_argument("--scratch", type=int, metavar="START",
                        help="the first of 256 free ports the calls may use (default 40000)")
    record.add_argument("--variant", action="append", default=[], metavar="RULE=ALT",
                        help="emulated machines: run this alternative (repeatable)")
    record.add_argument("--profile", metavar="PATH",
                        help="emulated machines: follow this profile's alternatives")
    record.set_defaults(run=_record, parser=record)
    compare = actions.add_parser(
        "compare", help="replay a trace on the emulator and print every divergence",
        description="Replay a trace on a fresh emulated machine; print every step whose code"
                    " (or fixed value) differs, with the rules that give the codes seen."
                    " Exits 1 when there is a divergence.")
    compare.add_argument("trace", metavar="TRACE", help="a file written by conformance record")
    compare.add_argument("--profile", metavar="PATH",
                         help="the emulator follows this profile's observed alternatives")
    compare.add_argument("--seed", type=int, default=0, help="the emulated machine's seed")
    compare.set_defaults(run=_compare, parser=compare)


def _record(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._probes._traces import record_trace

    from ._probe import make_lab

    if args.calls < 0:
        args.parser.error("--calls must be 0 or more")
    check_output(args.output, "-o")
    lab = make_lab(args, args.parser)
    trace = record_trace(lab, seed=args.seed, calls=args.calls)
    text = json.dumps(trace, indent=1) + "\n"
    try:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:  # after the calls were made: keep the trace on stdout instead
        sys.stdout.write(text)
        sys.stdout.flush()
        print(f"portpool conformance record: -o {args.output}: cannot be written"
              f" ({one_line(exc.strerror or exc)}); the trace is printed on stdout",
              file=sys.stderr)
        for problem in trace["undo"]:
            print(f"could not undo: {problem}", file=sys.stderr)
        return 2
    failed = sum(call["code"] is not None for call in trace["calls"])
    print(f"{len(trace['calls'])} calls ({failed} refused) on {trace['machine']['backend']},"
          f" written to {args.output}")
    for problem in trace["undo"]:
        print(f"could not undo: {problem}", file=sys.stderr)
    return 1 if trace["undo"] else 0


def _compare(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._probes._traces import compare_trace

    try:
        divergences = compare_trace(args.trace, profile=args.profile, seed=args.seed)
    except (ValueError, OSError) as exc:
        print(f"portpool conformance compare: {exc}", file=sys.stderr)
        return 2
    for divergence in divergences:
        print(divergence.text())
    print(f"{len(divergences)} divergence{'s' if len(divergences) != 1 else ''}")
    return 1 if divergences else 0
