"""Every Windows port-pool rule portpool enforces, as data, in one place.

Theory of operation
-------------------
Each behaviour of the model has a row here: an id, what Windows does, where that is
written (or seen), how sure we are, and the Windows code a refusal carries.  The
model (``portpool/_model/``) never names an error code itself: it calls
``refuse("A2", detail)`` and the code comes from the row.  So when a run on real
Windows overturns an assumption, one row changes and every backend, test and
document follows.

``specs/semantics.md`` is rendered from this table (``python -m portpool specs``)
and a test keeps the two equal; every id must be named by at least one test
(``@pytest.mark.rule("...")``), which another test checks.

The rows live in one module per concept (``_pools.py``, ``_bind.py``, ``_netsh.py``, ...,
the sources in ``_sources.py``); this package joins them in spec order.  A new concept
gets a module of its own, added to ``_TABLE`` below (and to ``_ALTERNATIVE_ROWS`` if it
has alternatives).

Confidence:
    documented  Microsoft states it: a Microsoft Learn page, or (for a few
                alternatives) documentation Microsoft publishes with its own code,
                such as msquic's ``docs/``.  The row says when only the behaviour is
                documented and the code is not.
    observed    seen on real machines by users or in production code.
    assumed     the docs are silent; portpool chooses, and says how to check it
                on Windows (the ``check`` column: an experiment with ports and the
                outcome this row expects).

Alternatives:
    Where the evidence conflicts, a rule keeps every candidate behaviour as an
    :class:`Alternative` row of ``_ALTERNATIVE_ROWS``, each with its own text,
    sources, confidence and code; the first row of a rule is its default.  The
    model implements every alternative, a host runs one per rule
    (``EmulatedHost(variants={"X15": "refused"})``), and the code that enforces
    the rule passes the one in force to ``refuse(rule_id, detail, name)``, whose
    message then ends ``[rule X15: refused]``.  The rule row's own ``confidence`` and
    ``error`` are those of its default alternative, so code that does not ask for a
    variant gets the default.

Citations:
    A row's ``source`` names keys of :data:`SOURCES` (pages, issue threads, files of public
    repositories or of this one) with a short quote.  ``D-R48`` / ``D-Q17`` are rule 48 /
    open question 17 of the project's unpublished research notes (``DOSSIER``): a
    cross-reference only.  ``WILD_OBS §B`` is a section of ``docs/observations.md``.  The
    model's own ids (R17, A2, X15, ...) are portpool's and do not follow the notes'
    numbering.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..._errors import PortPoolError, WinError, winerror
from . import (
    _abi,
    _addresses,
    _bind,
    _connect,
    _connections,
    _dynamic,
    _exclusions,
    _netsh,
    _options,
    _persistent,
    _pools,
    _reservations,
    _sharing,
    _sockets,
)
from ._schema import Alternative, Confidence, Rule
from ._sources import SOURCES

__all__ = [
    "ALTERNATIVES",
    "DEFAULT_VARIANTS",
    "RULES",
    "SOURCES",
    "Alternative",
    "Confidence",
    "Rule",
    "alternative",
    "check_variants",
    "refuse",
    "render_markdown",
]

#: Every rule, in the order of ``specs/semantics.md``.
_TABLE: Final[tuple[Rule, ...]] = (
    *_pools.RULES,
    *_dynamic.RULES,
    *_sockets.RULES,
    *_reservations.RULES,
    *_bind.RULES,
    *_sharing.RULES,
    *_addresses.RULES,
    *_options.RULES,
    *_connect.RULES,
    *_connections.RULES,
    *_persistent.RULES,
    *_exclusions.RULES,
    *_netsh.RULES,
    *_abi.RULES,
)

# Rules whose evidence conflicts: every candidate behaviour, the default first.  In the
# order they were added, which ``variants``, the CLI and the probe reports list.
_ALTERNATIVE_ROWS: Final[tuple[Alternative, ...]] = (
    *_dynamic.ALTERNATIVES,
    *_reservations.ALTERNATIVES,
    *_addresses.ALTERNATIVES,
    *_sockets.ALTERNATIVES,
    *_bind.ALTERNATIVES,
    *_netsh.ALTERNATIVES,
    *_sharing.ALTERNATIVES,
    *_options.ALTERNATIVES,
    *_connect.ALTERNATIVES,
    *_abi.ALTERNATIVES,
    *_connections.ALTERNATIVES,
)

RULES: Final[Mapping[str, Rule]] = {rule.id: rule for rule in _TABLE}
if len(RULES) != len(_TABLE):  # pragma: no cover - guards the table itself
    raise RuntimeError("duplicate rule id in portpool._model._rules")

#: rule id -> its alternatives, the default first.
ALTERNATIVES: Final[Mapping[str, tuple[Alternative, ...]]] = {
    rule_id: tuple(a for a in _ALTERNATIVE_ROWS if a.rule == rule_id)
    for rule_id in dict.fromkeys(a.rule for a in _ALTERNATIVE_ROWS)
}
#: rule id -> the name of its default alternative.
DEFAULT_VARIANTS: Final[Mapping[str, str]] = {
    rule_id: rows[0].name for rule_id, rows in ALTERNATIVES.items()
}
if not set(ALTERNATIVES) <= set(RULES) or len(
    {(a.rule, a.name) for a in _ALTERNATIVE_ROWS}
) != len(_ALTERNATIVE_ROWS):  # pragma: no cover - guards the table itself
    raise RuntimeError("an alternative names no rule, or repeats a name")
if any((RULES[rule_id].confidence, RULES[rule_id].error) != (rows[0].confidence, rows[0].error)
       for rule_id, rows in ALTERNATIVES.items()):  # pragma: no cover - guards the table itself
    raise RuntimeError("a rule's confidence or code differs from its default alternative's")


def check_variants(variants: object) -> dict[str, str]:
    """The alternatives in force: the defaults, overridden by ``variants``.

    Args:
        variants: ``None`` or a mapping of rule id -> alternative name.

    Returns:
        A new dict with an entry for every rule that has alternatives.

    Raises:
        TypeError: ``variants`` is not a mapping of strings to strings.
        ValueError: a rule id has no alternatives, or an alternative name is unknown
            (the message lists the valid ones).
    """
    chosen = dict(DEFAULT_VARIANTS)
    if variants is None:
        return chosen
    if not isinstance(variants, Mapping):
        raise TypeError(f"variants must be a mapping of rule id to alternative, not"
                        f" {type(variants).__name__}")
    for rule_id, name in variants.items():
        if not isinstance(rule_id, str) or not isinstance(name, str):
            raise TypeError(f"variants maps rule ids (str) to alternative names (str), not"
                            f" {rule_id!r}: {name!r}")
        rows = ALTERNATIVES.get(rule_id)
        if rows is None:
            with_alternatives = ", ".join(ALTERNATIVES) or "none"
            raise ValueError(f"rule {rule_id!r} has no alternatives (rules that do:"
                             f" {with_alternatives})")
        if name not in {row.name for row in rows}:
            names = ", ".join(repr(row.name) for row in rows)
            raise ValueError(f"rule {rule_id} has no alternative {name!r} (it has {names})")
        chosen[rule_id] = name
    return chosen


def alternative(rule_id: str, name: str) -> Alternative:
    """The row of alternative ``name`` of ``rule_id``."""
    for row in ALTERNATIVES.get(rule_id, ()):
        if row.name == name:
            return row
    raise ValueError(f"rule {rule_id} has no alternative {name!r}")


def refuse(rule_id: str, detail: str, alternative_name: str | None = None, *,
           cell: WinError | None = None) -> PortPoolError:
    """The error for a call refused under ``rule_id``; the code comes from the table.

    For a rule with alternatives, ``alternative_name`` names the one in force; the code
    comes from its row and the message names it (``[rule X15: refused]``).  The rows
    of the bind-conflict tables (C1-C12) hold a code per cell: ``cell`` passes the one
    ``_conflicts.py`` found.
    """
    code: WinError | None
    if cell is not None:
        code, tag = cell, rule_id
    elif alternative_name is not None:
        code = alternative(rule_id, alternative_name).error
        tag = f"{rule_id}: {alternative_name}"
    else:
        code, tag = RULES[rule_id].error, rule_id
    if code is None:  # pragma: no cover - a programming error in the model
        raise RuntimeError(f"rule {tag} refuses nothing")
    return winerror(code, f"{detail} [rule {tag}]")


_AREAS: Final = {
    "pools": "The pools",
    "dynamic": "The dynamic port range",
    "sockets": "Sockets",
    "acquire": "Runtime reservations: acquire",
    "lifetime": "Runtime reservations: lifetime and release",
    "associate": "Association",
    "bind": "bind and getsockname",
    "conflicts": "Sharing a port: addresses, options, accounts and stacks",
    "addresses": "Local addresses",
    "options": "Socket options",
    "connect": "connect and its implicit bind",
    "server": "listen and accept",
    "connections": "Connections, the clock and TIME_WAIT",
    "persistent": "Persistent reservations",
    "exclusions": "Blocks of every kind, and system exclusions",
    "netsh": "netsh: excludedportrange and dynamicport",
    "abi": "Call shapes (the Winsock and IP Helper ABI)",
}


def render_markdown() -> str:
    """``specs/semantics.md``'s rule section, rendered from the table."""
    lines = [
        "<!-- Rendered from portpool/_model/_rules/ by `python -m portpool specs`;"
        " tests/test_specs.py keeps them equal. -->",
        "",
    ]
    for area, title in _AREAS.items():
        lines += [f"## {title}", ""]
        for rule in (r for r in _TABLE if r.area == area):
            code = f" Refusal: `{rule.error.name}` ({int(rule.error)})." if rule.error else ""
            lines.append(f"### {rule.id} ({rule.confidence.value})")
            lines.append("")
            lines.append(f"{rule.text}{code}")
            lines.append("")
            lines.append(f"- Source: {rule.source}.")
            if rule.check:
                lines.append(f"- Check on Windows: {rule.check}")
            for index, alt in enumerate(ALTERNATIVES.get(rule.id, ())):
                default = " (default)" if index == 0 else ""
                alt_code = f" Refusal: `{alt.error.name}` ({int(alt.error)})." if alt.error else ""
                lines.append(f"- Alternative `{alt.name}`{default} ({alt.confidence.value}):"
                             f" {alt.text}{alt_code} Source: {alt.source}.")
            lines.append("")
    lines += ["## Sources", ""]
    lines += [f"- **{key}**: {value}" for key, value in SOURCES.items()]
    lines.append("")
    return "\n".join(lines)
