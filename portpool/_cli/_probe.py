"""``portpool probe``: run the Windows experiments, print the table, write a profile."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import check_output, one_line

__all__ = ["make_lab", "register"]


def register(commands: Any) -> None:  # argparse._SubParsersAction is private
    """Add ``probe`` to ``commands``."""
    probe = commands.add_parser(
        "probe", help="settle the assumptions: run the Windows experiments, write a profile",
        description="Run an experiment for every assumed rule and every rule with alternatives,"
                    " inside a scratch block of ports, undoing everything; print what the machine"
                    " did and, with --json, write a profile. Exits 1 when a rule was not followed"
                    " (disagree, unmatched) or an experiment failed; exits 2 before running when"
                    " --json's file cannot be written (its directory is missing or read-only),"
                    " and 2 when writing it fails after the run: the profile is then printed"
                    " to stdout as JSON, after the table, so that the run is not lost."
                    " Machine-wide changes (A13 and others shrink a dynamic range with"
                    " netsh set dynamicport ... store=active for a moment; N3 adds rows) are"
                    " journalled first and undone after each experiment, also on Ctrl+C;"
                    " a probe killed outright restores them at its next start.")
    probe.add_argument("--backend", choices=("emulated", "ctypes", "windows"), default=None,
                       help="windows: this machine (the default on Windows); emulated: an"
                            " emulated machine (the default elsewhere); ctypes: the ctypes"
                            " backend over an emulated machine's DLLs")
    probe.add_argument("--variant", action="append", default=[], metavar="RULE=ALT",
                       help="emulated machines: run this alternative (repeatable)")
    probe.add_argument("--profile", metavar="PATH",
                       help="emulated machines: follow this profile's observed alternatives")
    probe.add_argument("--only", action="append", default=[], metavar="RULE",
                       help="run only this rule's experiment (repeatable)")
    probe.add_argument("--scratch", type=int, metavar="START",
                       help="the first of 256 free ports outside every dynamic range and"
                            " exclusion row the experiments may use (default 40000, moved to"
                            " the nearest free block when it is not free; a block given here"
                            " that is not free is refused)")
    probe.add_argument("--json", metavar="PATH",
                       help="write the profile here (checked before running; if the write"
                            " fails anyway, the profile goes to stdout and the exit status is 2)")
    probe.add_argument("--not-elevated", action="store_true",
                       help="emulated machines: run as a process without administrator rights")
    probe.add_argument("--seed", type=int, default=0, help="the emulated machine's seed")
    probe.add_argument("--allow-system-rows", action="store_true",
                       help="let the X7 experiment ask netsh to delete a system row the probe"
                            " did not make (Windows is expected to refuse; off by default)")
    probe.add_argument("--list", action="store_true",
                       help="print each rule with alternatives and its alternatives (default"
                            " first), then stop")
    probe.add_argument("--coverage", action="store_true",
                       help="print specs/COVERAGE.md (the rules, their experiments and the"
                            " profiles that settled them), then stop")
    probe.add_argument("--profiles", metavar="DIR", default="specs/profiles",
                       help="where --coverage finds the measured profiles (default specs/profiles)")
    probe.set_defaults(run=_probe, parser=probe)


def make_lab(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    """The lab ``--backend`` (and the emulated options) ask for; exits 2 on a bad option."""
    from portpool._model._rules import check_variants
    from portpool._probes._lab import DEFAULT_SCRATCH, EmulatedLab, WindowsLab
    from portpool._types import PortRange

    backend = args.backend or ("windows" if sys.platform == "win32" else "emulated")
    try:
        scratch = DEFAULT_SCRATCH if args.scratch is None else PortRange(args.scratch, 256)
    except (TypeError, ValueError) as exc:
        parser.error(f"--scratch: {exc}")
    if backend == "windows":
        if not _on_windows():
            parser.error("--backend windows: the real ws2_32 and netsh exist only on Windows")
        if getattr(args, "variant", None) or getattr(args, "profile", None):
            parser.error("--variant and --profile describe emulated machines")
        from portpool._probes._journal import DEFAULT_JOURNAL

        try:
            lab = WindowsLab(scratch=scratch, journal=DEFAULT_JOURNAL)
        except ValueError as exc:  # an unreadable journal: restore by hand first
            parser.error(str(exc))
        lab.allow_system_rows = bool(getattr(args, "allow_system_rows", False))
        return lab
    from portpool._host import EmulatedHost

    variants: dict[str, str] = {}
    for item in getattr(args, "variant", []):
        rule, sep, name = item.partition("=")
        if not sep:
            parser.error(f"--variant {item!r}: give RULE=ALTERNATIVE, for example X15=refused")
        variants[rule.strip()] = name.strip()
    try:
        check_variants(variants)
        host = EmulatedHost(seed=args.seed, variants=variants or None,
                            profile=getattr(args, "profile", None))
    except (TypeError, ValueError, OSError) as exc:
        parser.error(str(exc))
    return EmulatedLab(host, via=backend, elevated=not getattr(args, "not_elevated", False),
                       scratch=scratch)


def _on_windows() -> bool:
    return sys.platform == "win32"


def _probe(args: argparse.Namespace, rest: list[str]) -> int:
    from portpool._probes._report import load_profiles, render_coverage, render_list, render_table
    from portpool._probes._runner import run_probe
    from portpool._profiles import save_profile

    if args.list:
        sys.stdout.write(render_list())
        return 0
    if args.coverage:
        try:
            sys.stdout.write(render_coverage(load_profiles(Path(args.profiles))))
        except ValueError as exc:
            print(f"portpool probe --coverage: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.json:
        check_output(args.json, "--json")
    lab = make_lab(args, args.parser)
    chosen = lab.scratch
    try:
        profile = run_probe(lab, args.only or None, move_scratch=args.scratch is None)
    except ValueError as exc:
        args.parser.error(str(exc))
    if lab.scratch != chosen:
        print(f"portpool probe: {chosen.start}-{chosen.last} is not free on this machine;"
              f" the experiments used {lab.scratch.start}-{lab.scratch.last}", file=sys.stderr)
    sys.stdout.write(render_table(profile))
    if args.json:
        try:
            save_profile(profile.as_json(), args.json)
        except OSError as exc:  # after a whole run: keep the profile on stdout instead
            sys.stdout.write(json.dumps(profile.as_json(), indent=2) + "\n")
            sys.stdout.flush()
            print(f"portpool probe: --json {args.json}: cannot be written"
                  f" ({one_line(exc.strerror or exc)}); the profile is printed above, on stdout",
                  file=sys.stderr)
            return 2
        print(f"profile written to {args.json}")
    return 1 if profile.failing else 0
