"""Which rules can give a call's code: ``(operation, code) -> rule ids``, from the table.

A backend other than the emulated one (the real ws2_32, or a trace recorded on
Windows) reports bare codes.  To name the rule a surprising outcome touches, the
conformance machine and ``portpool conformance compare`` ask :func:`rules_for`: the
rules that may refuse that operation (as the interface's docstrings list them) whose
code, under the alternatives in force, is the one seen.  The bind-conflict tables
(C1-C12) hold a code per cell; they are named for bind's WSAEADDRINUSE and WSAEACCES.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._model._rules import ALTERNATIVES, DEFAULT_VARIANTS, RULES, alternative

__all__ = ["OPERATION_RULES", "rules_for", "tag"]

#: operation (the interface's method name, or ``netsh``) -> the rules that may refuse it.
OPERATION_RULES: Final[Mapping[str, tuple[str, ...]]] = {
    "socket": ("W6", "W7", "W8", "W9", "W10", "W11", "W13"),
    "acquire_port_reservation": ("A3", "R9c", "A2", "X5", "A13", "R9a", "R9b"),
    "associate_port_reservation": ("A11", "A6", "A7", "A12", "R7", "R9a", "R9b"),
    "release_port_reservation": ("A11", "A22", "A5", "R9a", "R9b"),
    "bind": ("R17", "X2", "X14", "X15", "R20", "C14", "W2", "A1", "L1", "L3", "L4", "A13", "W3",
             "W4", "R9b"),
    "getsockname": ("W5", "R9b"),
    "setsockopt": ("O1", "O2", "O3", "O4", "O5", "R9b"),
    "getsockopt": ("O1", "O2", "R9b"),
    "connect": ("K3", "L3", "K4", "A1", "A13", "W4", "R9b"),
    "getpeername": ("K5", "R9b"),
    "set_cpu_affinity": ("B8", "R9a", "R9b"),
    "close": ("R9b",),
    "create_persistent_reservation": ("R13a", "R13", "R13b", "A15", "X6"),
    "lookup_persistent_reservation": ("R13a", "A27", "R15"),
    "delete_persistent_reservation": ("R13a", "A27", "R13", "R16"),
    "netsh": ("N2", "X7", "Y1", "Y2", "Y3", "X6", "R16"),
}


def tag(rule_id: str, variants: Mapping[str, str] | None = None) -> str:
    """``"W2"``, or ``"X15: refused"`` for a rule with alternatives (as refusals name it)."""
    if rule_id in ALTERNATIVES:
        return f"{rule_id}: {(variants or DEFAULT_VARIANTS).get(rule_id, DEFAULT_VARIANTS[rule_id])}"
    return rule_id


def _code(rule_id: str, variants: Mapping[str, str] | None) -> int | None:
    if rule_id in ALTERNATIVES:
        name = (variants or DEFAULT_VARIANTS).get(rule_id, DEFAULT_VARIANTS[rule_id])
        error = alternative(rule_id, name).error
    else:
        error = RULES[rule_id].error
    return None if error is None else int(error)


def rules_for(operation: str, code: int, variants: Mapping[str, str] | None = None) -> list[str]:
    """The rules (tagged as refusals name them) that give ``code`` for ``operation``.

    Args:
        operation: an interface method's name (``"bind"``) or ``"netsh"``.
        code: the Windows code seen.
        variants: the alternatives in force (default: the defaults).

    Returns:
        The tags, in the order the interface lists them (a rule with alternatives is
        named with the alternative that gives ``code``, ``"X15: refused"``, even when
        another is in force); when none of the operation's rules gives ``code``, every
        rule that does (any operation); possibly empty.
    """
    candidates = [r for r in OPERATION_RULES.get(operation, ()) if r in RULES]
    found = _matching(candidates, code, variants)
    if operation == "bind" and code in (10013, 10048) and "C1" in RULES:
        found.append("C1-C12")  # the tables' cells
    return found or _matching(list(RULES), code, variants)


def _matching(candidates: list[str], code: int, variants: Mapping[str, str] | None) -> list[str]:
    """The tags of ``candidates`` that give ``code``: a rule with alternatives is named
    with the alternative in force when it gives the code, else with each that does."""
    found: list[str] = []
    for rule_id in candidates:
        if _code(rule_id, variants) == code:
            found.append(tag(rule_id, variants))
        elif rule_id in ALTERNATIVES:
            found += [f"{rule_id}: {row.name}" for row in ALTERNATIVES[rule_id]
                      if row.error is not None and int(row.error) == code]
    return found
