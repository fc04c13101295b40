"""The ``portpool`` command: ``demo``, ``specs``, ``explain`` (and ``sample``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="portpool", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="show the pool's rules step by step")
    demo.add_argument("--seed", type=int, default=7)
    commands.add_parser("specs", help="print specs/semantics.md's rules from the rule table")
    sample = commands.add_parser(
        "sample", help="the SIO_ACQUIRE_PORT_RESERVATION page's sample program",
        description="AF TYPE PROTO START COUNT, as the C program takes them"
                    " (example: 2 2 17 5000 20)")
    sample.add_argument("--backend", choices=("emulated", "windows"), default="emulated",
                        help="emulated machine (default) or the real ws2_32 (Windows)")
    sample.add_argument("--fixed", action="store_true",
                        help="associate and bind the second socket, as the page's text says")
    sample.add_argument("--seed", type=int, default=0, help="the emulated machine's seed")
    args, rest = parser.parse_known_args(argv)
    if args.command == "sample":
        return _sample(args, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "demo":
        from ._demo import run_demo

        run_demo(seed=args.seed)
        return 0
    from ._model._rules import render_markdown

    sys.stdout.write(render_markdown())
    return 0


def _sample(args: argparse.Namespace, rest: list[str]) -> int:
    from ._sample import real_ws2_32, run_sample

    if args.backend == "windows":
        ws2 = real_ws2_32()
        if ws2 is None:
            print("portpool sample --backend windows: the real ws2_32 exists only on Windows",
                  file=sys.stderr)
            return 2
    else:
        from ._host import EmulatedHost

        ws2 = EmulatedHost(seed=args.seed).dlls().ws2_32
    return run_sample(rest, ws2, fixed=args.fixed)


if __name__ == "__main__":
    sys.exit(main())
