"""Settle portpool's assumptions on a machine: experiments, profiles, traces.

``portpool probe`` runs, for every assumed rule and every rule with alternatives, a
small Windows experiment (:data:`EXPERIMENTS`, by rule id) inside a scratch block of
ports, and writes a **profile**: the machine and, per rule, the alternative it
followed or whether it agreed.  From Python::

    from portpool import EmulatedHost
    from portpool.probe import EmulatedLab, WindowsLab, run_probe, render_table

    profile = run_probe(WindowsLab())                 # on Windows: the real machine
    profile = run_probe(EmulatedLab(EmulatedHost()))  # anywhere: the emulator
    print(render_table(profile))

A profile drives the emulator (``EmulatedHost(profile="profile.json")``).  Traces record
a seeded random call sequence on one machine (:func:`record_trace`) and replay it on
the emulator (:func:`compare_trace`), naming the rules behind every divergence.
"""

from ._probes._experiments import EXPERIMENTS, Experiment, Finding, by_code, expects
from ._probes._lab import (
    CAPABILITIES,
    DEFAULT_SCRATCH,
    EmulatedLab,
    Lab,
    NetshRun,
    Seen,
    Skip,
    WindowsLab,
    is_elevated,
)
from ._probes._operations import OPERATION_RULES, rules_for
from ._probes._report import load_profiles, render_coverage, render_list, render_table
from ._probes._runner import FAILING, Profile, Result, run_experiment, run_probe
from ._probes._traces import Divergence, compare_trace, record_trace, replay_trace
from ._profiles import load_profile, profile_variants, save_profile

__all__ = [
    "CAPABILITIES",
    "DEFAULT_SCRATCH",
    "EXPERIMENTS",
    "FAILING",
    "OPERATION_RULES",
    "Divergence",
    "EmulatedLab",
    "Experiment",
    "Finding",
    "Lab",
    "NetshRun",
    "Profile",
    "Result",
    "Seen",
    "Skip",
    "WindowsLab",
    "by_code",
    "compare_trace",
    "expects",
    "is_elevated",
    "load_profile",
    "load_profiles",
    "profile_variants",
    "record_trace",
    "render_coverage",
    "render_list",
    "render_table",
    "replay_trace",
    "rules_for",
    "run_experiment",
    "run_probe",
    "save_profile",
]
