"""netsh on an emulated machine: ``host.netsh(...)``, ``portpool netsh``, ``from_netsh``.

The text (grammar, layout, parsing) lives in ``portpool/netsh.py``; the state and its
rules in the model.  This room only runs a parsed command on a ``Machine`` and prints
what netsh prints: the table, ``Ok.``, or the system message of the Windows code that
refused the change (rules N1-N4, X7, Y1-Y3).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .._errors import PortPoolError, WinError, shown
from .._model._machine import Machine
from .._model._rules import refuse
from .._model._store import StoredExclusion, StoredReservation
from .._types import Family, PortRange, Protocol
from ._commands import parse_command
from ._print import render_dynamic_port, render_excluded_ranges, render_result
from ._read import parse_dynamic_port, parse_excluded_ranges, protocol_of
from ._values import ExcludedRange, NetshParseError, NetshUsageError

__all__ = ["NetshResult", "netsh_machine", "run_netsh"]

_FAMILY = {4: Family.INET, 6: Family.INET6}


@attrs.frozen
class NetshResult:
    """What one netsh command did.

    Attributes:
        output: exactly what netsh prints (en-US).
        status: netsh's exit status (0 on success, 1 when a change was refused; 0 for a
            usage message too, as measured on Windows 11).
        error: the Windows code of a refused change, if any.
        done: whether the command was carried out (``False`` for a refusal and for a
            usage message: ``portpool netsh`` exits 1 then, whatever netsh's status).
    """

    output: str
    status: int
    error: WinError | None = None
    done: bool = True


def run_netsh(machine: Machine, command: str | Sequence[str], *, admin: bool) -> NetshResult:
    """Run one netsh command (the words after ``netsh``) on ``machine``."""
    if isinstance(command, str):
        words = command.split()
    elif isinstance(command, Sequence) and all(isinstance(w, str) for w in command):
        words = list(command)
    else:
        raise TypeError(f"command must be a str or a sequence of str, not {shown(command)}")
    try:
        cmd = parse_command(words)
    except NetshUsageError as exc:
        return NetshResult(exc.output, exc.status, None, done=exc.kind == "help")
    family = _FAMILY[cmd.ip_version]
    if cmd.verb == "show":  # anyone may look
        if cmd.object == "dynamicport":
            return NetshResult(render_dynamic_port(cmd.protocol,
                                                   machine.dynamic_range(cmd.protocol, family)), 0)
        rows = machine.exclusions(cmd.protocol, persistent_only=cmd.store == "persistent")
        return NetshResult(render_excluded_ranges(
            cmd.protocol, [ExcludedRange(r.start, r.end, r.administered) for r in rows]), 0)
    pid = machine.create_process(admin=admin)
    try:
        if not admin:  # N2, Y3: netsh checks elevation before anything else
            raise refuse("N2", f"netsh {cmd.verb} {cmd.object} runs unelevated")
        assert cmd.start is not None and cmd.count is not None
        if cmd.verb == "add":
            machine.create_persistent(pid, cmd.protocol, cmd.start, cmd.count,
                                      active=cmd.store == "active")
        elif cmd.verb == "delete":
            machine.delete_row(pid, cmd.protocol, cmd.start, cmd.count)
        else:  # set dynamicport
            try:
                dynamic = PortRange(cmd.start, cmd.count)
            except ValueError:
                raise refuse("Y1", f"start={cmd.start} num={cmd.count} runs past 65535") from None
            machine.set_dynamic_range(cmd.protocol, family, dynamic)
    except PortPoolError as exc:
        code = exc.code if exc.code is not None else WinError.ERROR_INVALID_PARAMETER
        try:
            printed = render_result(code)
        except ValueError:  # a code netsh's own table lacks: its system message
            printed = f"{code.message}\n\n"
        return NetshResult(printed, 1, code, done=False)
    finally:
        machine.exit_process(pid)
    return NetshResult(render_result(WinError.ERROR_SUCCESS), 0)


def netsh_machine(outputs: Sequence[str | tuple[Protocol, str]], ipv6_dynamic: Sequence[str],
                  ) -> tuple[dict[tuple[Protocol, Family], PortRange],
                             list[StoredReservation | StoredExclusion]]:
    """The dynamic ranges and rows that real netsh outputs show, read before anything
    is made: ``*`` rows are persistent reservations, the others system exclusions of
    owner ``"unknown"``; a row that two outputs show (``ipv4`` and ``ipv6`` print one
    list) counts once.

    Raises:
        NetshParseError: a text is not netsh output.
        ValueError: a text's protocol cannot be told.
        TypeError: a text is not a str.
    """
    ranges: dict[tuple[Protocol, Family], PortRange] = {}
    rows: dict[tuple[Protocol, ExcludedRange], None] = {}  # in order, once each
    groups: list[tuple[tuple[Family, ...], Sequence[str | tuple[Protocol, str]]]] = [
        ((Family.INET, Family.INET6), outputs), ((Family.INET6,), ipv6_dynamic)]
    for families, texts in groups:
        for item in texts:
            given, text = item if isinstance(item, tuple) else (None, item)
            if not isinstance(text, str):
                raise TypeError(f"a netsh output must be a str, not {type(text).__name__}")
            dynamic: PortRange | None = None
            try:
                dynamic = parse_dynamic_port(text)
            except NetshParseError:
                if families == (Family.INET6,):
                    raise
                table = parse_excluded_ranges(text)  # NetshParseError: neither kind of output
            protocol = given if given is not None else protocol_of(text)
            if protocol is None:
                raise ValueError("cannot tell whether this netsh output is tcp or udp: pass it as"
                                 f" (Protocol.TCP, text): {text[:60]!r}")
            if dynamic is not None:
                ranges.update({(protocol, family): dynamic for family in families})
            else:
                rows.update(dict.fromkeys((protocol, row) for row in table))
    made: list[StoredReservation | StoredExclusion] = []
    for protocol, row in rows:
        count = row.end - row.start + 1
        made.append(StoredReservation(protocol, row.start, count, active=False) if row.administered
                    else StoredExclusion(protocol, row.start, count, "unknown"))
    return ranges, made
