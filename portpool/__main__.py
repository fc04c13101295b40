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
    args, rest = parser.parse_known_args(argv)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "demo":
        from ._demo import run_demo

        run_demo(seed=args.seed)
        return 0
    from ._model._rules import render_markdown

    sys.stdout.write(render_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
