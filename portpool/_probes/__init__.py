"""The probe room: Windows experiments that settle portpool's assumptions.

``_lab.py`` is the bench the experiments run on (a machine, its processes, netsh, a
record of every call), ``_experiments.py`` the experiments by rule id, ``_runner.py``
runs them into a profile, ``_report.py`` prints tables, lists and the coverage matrix,
``_operations.py`` names the rules behind a call's code, ``_traces.py`` records and
replays call sequences, ``_child.py`` is a second process on a real machine.  The
public face is :mod:`portpool.probe`.
"""
