"""``portpool explain PORT``: why a port can or cannot be bound, and what would free it.

The facts come from the model (``Machine.explain`` and the machine's public queries);
this room only turns them into text a person can act on: who holds the port, whether
a dynamic range covers it, what a plain bind, a bind(0) and a specific acquire would
get (with each rule id), and which command frees it.
"""

from __future__ import annotations

import textwrap
from typing import Final

import attrs

from .._errors import PortPoolError, WinError
from .._host import EmulatedHost
from .._model._machine import Explanation
from .._model._rules import alternative
from .._types import Binding, Connection, Exclusion, Family, PortRange, Protocol

__all__ = ["SOCKETS_UNKNOWN", "explain_text", "live_bind_text"]

#: What ``explain_text`` says of sockets on a machine read from netsh output.
SOCKETS_UNKNOWN: Final = ("netsh lists no sockets: `netstat -ano -p {proto} | findstr :{port}`"
                          " on that machine names the process bound to it")

_WIDTH: Final = 44  # the column where a call's outcome starts
_LINE: Final = 96  # free text wraps here


def _code(code: WinError | None, rule: str | None, success: str = "succeeds") -> str:
    if code is None:
        return success + (f" [{rule}]" if rule else "")
    return f"{code.name} ({int(code)})" + (f" [{rule}]" if rule else "")


def _wrap(line: str) -> list[str]:
    return textwrap.wrap(line, width=_LINE, initial_indent="  ", subsequent_indent="    ",
                         break_on_hyphens=False, break_long_words=False)


def _row(label: str, outcome: str) -> str:
    return f"  {label:<{_WIDTH}} {outcome}"


def _binding_text(b: Binding) -> str:
    family = "IPv4" if b.family is Family.INET else "IPv6"
    host = f"[{b.host}]" if b.family is Family.INET6 else b.host
    via = f", a port of reservation {b.token:#x}" if b.token is not None else ""
    return f"socket {b.socket:#x} of process {b.pid} is bound to {host}:{b.port} ({family}{via})"


def _connection_text(c: Connection, clock: float) -> str:
    host = f"[{c.local_host}]" if c.family is Family.INET6 else c.local_host
    peer = f"[{c.remote_host}]" if c.family is Family.INET6 else c.remote_host
    owner = f"process {c.pid}" if c.pid else "no process (netstat shows PID 0)"
    text = (f"a TCP connection {host}:{c.local_port} -> {peer}:{c.remote_port}, {c.state},"
            f" owned by {owner}")
    if c.expires is not None:
        text += f": it goes at clock {c.expires:g}, {max(c.expires - clock, 0):g} s from now [T3, T2]"
    return text + " [T8]"


def _connection_advice(c: Connection, clock: float) -> str:
    where = f"{c.local_host}:{c.local_port} -> {c.remote_host}:{c.remote_port}"
    if c.state == "TIME_WAIT" and c.expires is not None:
        return (f"time: the TIME_WAIT of {where} ends after TcpTimedWaitDelay,"
                f" {max(c.expires - clock, 0):g} s from now (`host.advance(...)` on an emulated"
                " machine); closing with SO_LINGER on and a 0 timeout leaves none [T3, T4]")
    if c.state == "FIN_WAIT_2":
        return (f"the other side of {where} closes its socket; then TIME_WAIT holds the port"
                " for TcpTimedWaitDelay [T3]")
    return (f"process {c.pid} closes its socket of {where} (then FIN_WAIT_2 and TIME_WAIT keep"
            " the port until the other side closes and the delay is over) [T3]")


def _delete_command(protocol: Protocol, block: PortRange) -> str:
    return (f"netsh int ipv4 delete excludedportrange protocol={protocol.name.lower()}"
            f" startport={block.start} numberofports={block.count}")


def _system_row_advice(host: EmulatedHost, ex: Exclusion) -> list[str]:
    code = alternative("X7", host.variants["X7"]).error
    refused = f"{code.name}" if code is not None else "an error"
    if ex.owner == "WinNAT":
        return ["`net stop winnat` as administrator releases WinNAT's rows; `net start winnat`"
                " (or the next boot) places them anew inside the dynamic range [X1]"]
    if ex.owner == "unknown":
        lines = [f"nothing netsh can do: the row has no `*`, so netsh does not say who placed it,"
                 f" and `netsh ... delete excludedportrange` fails even elevated ({refused}) [X7]"]
        if ex.end - ex.start + 1 == 100:
            lines.append("100-port rows are typically WinNAT's (Hyper-V, WSL2, Docker): if those"
                         " run there, `net stop winnat` as administrator releases them [X1]")
        return lines
    return [f"nothing: only Windows removes {ex.owner}'s rows; `netsh ... delete excludedportrange`"
            f" fails even elevated ({refused}) [X7]"]


@attrs.frozen
class _Facts:
    """What the model says of one port, read under the machine's lock."""

    why: Explanation
    ranges: dict[Family, PortRange]
    free: dict[Family, int]
    listed: bool  # netsh lists a row without `*` over the port


def _holders(facts: _Facts, netsh_only: bool) -> list[str]:
    why = facts.why
    holders: list[str] = []
    if why.exclusion is not None:
        ex = why.exclusion
        who = ("netsh does not say who placed it" if ex.owner == "unknown"
               else f"placed by {ex.owner}")
        holders.append(f"a system exclusion {ex.start}-{ex.end} ({who}): netsh lists it without"
                       " `*`, and it has no token [X1]")
    if why.reservation is not None:
        res = why.reservation
        token = "" if netsh_only else f", token {res.token:#x}"
        if res.persistent:
            holders.append(f"the administered row {res.range.start}-{res.range.last}: a persistent"
                           f" reservation (netsh lists it with `*`){token} [N1, R13d]")
        else:
            holders.append(f"the runtime reservation {res.range.start}-{res.range.last} of process"
                           f" {why.owner_pid}{token} (SIO_ACQUIRE_PORT_RESERVATION; netsh"
                           f" {'lists' if facts.listed else 'does not list'} it) [R1, X13]")
    holders += [_binding_text(binding) for binding in why.bindings]
    holders += [_connection_text(c, why.clock) for c in why.connections]
    if not holders:
        holders.append("nothing: no row" + ("" if netsh_only else ", no socket"))
    if netsh_only:
        holders.append(SOCKETS_UNKNOWN.format(proto=why.protocol.name.lower(), port=why.port))
    return holders


def _ranges(facts: _Facts) -> list[str]:
    why = facts.why
    out = []
    for family, inside in ((Family.INET, why.in_dynamic_range), (Family.INET6, why.in_dynamic_range_v6)):
        dynamic = facts.ranges[family]
        name = "ipv4" if family is Family.INET else "ipv6"
        out.append(f"  {name} {dynamic.start}-{dynamic.last}: {'inside' if inside else 'outside'}")
    if why.in_dynamic_range or why.in_dynamic_range_v6:
        out.append("  bind(0) and wildcard reservations may hand it out now [W1, X4]" if why.drawable
                   else "  bind(0) and wildcard reservations skip it while it is held [X4, C17]")
    return out


def _calls(facts: _Facts) -> list[str]:
    why, port = facts.why, facts.why.port
    plain = why.plain_bind
    administered = why.reservation is not None and why.reservation.persistent
    success = ("succeeds: an administered row does not stop a plain bind"
               if plain is None and administered else "succeeds")
    rule = "X15" if plain is None and administered else why.plain_bind_rule
    out = [_row(f"bind(('0.0.0.0', {port})), another process", _code(plain, rule, success))]
    for family, address in ((Family.INET, "0.0.0.0"), (Family.INET6, "::")):
        dynamic = facts.ranges[family]
        if facts.free[family] == 0:
            outcome = (f"{_code(WinError.WSAENOBUFS, 'A13')}: no free port left in"
                       f" {dynamic.start}-{dynamic.last}")
        else:
            never = ", this one among them" if why.drawable and port in dynamic else ", never this one"
            outcome = (f"succeeds: a port of {dynamic.start}-{dynamic.last}"
                       f" ({facts.free[family]} free{never}) [W1, X4]")
        out.append(_row(f"bind(('{address}', 0))", outcome))
    out.append(_row(f"SIO_ACQUIRE_PORT_RESERVATION {port}, 1 port", _code(why.acquire, why.acquire_rule)))
    return out


def _advice(host: EmulatedHost, facts: _Facts, netsh_only: bool) -> list[str]:
    why = facts.why
    advice: list[str] = []
    if why.exclusion is not None:
        advice += _system_row_advice(host, why.exclusion)
    if why.reservation is not None:
        res = why.reservation
        if res.persistent:
            advice.append(f"`{_delete_command(why.protocol, res.range)}` as administrator, with the"
                          " exact start and count (or"
                          f" DeletePersistent{why.protocol.name.title()}PortReservation) [N1, R16]")
        else:
            advice.append(f"process {why.owner_pid} closes the socket that acquired it, releases"
                          f" token {res.token:#x} (SIO_RELEASE_PORT_RESERVATION), or exits [R4, R8, A28]")
    advice += [f"close socket {b.socket:#x} (or end process {b.pid})" for b in why.bindings]
    advice += [_connection_advice(c, why.clock) for c in why.connections]
    if why.connections and why.plain_bind_rule != "T5":
        advice.append("a new listener may bind it meanwhile: Windows does not check connections"
                      " at bind [T5], except for SO_EXCLUSIVEADDRUSE over an SO_EXCLUSIVEADDRUSE"
                      " listener's connections [T6]")
    if not advice:
        advice.append("no row holds it" if netsh_only else "nothing holds it")
    return advice


def explain_text(host: EmulatedHost, protocol: Protocol, port: int, *,
                 netsh_only: bool = False) -> str:
    """The explanation of ``port`` on ``host``, as the lines ``portpool explain`` prints.

    Args:
        host: the machine.
        protocol: whose port space.
        port: 1-65535.
        netsh_only: the machine was read from netsh output, which lists no sockets
            (the text then says how to find them) and no tokens (the model's own are
            not shown).

    Raises:
        ValueError: ``port`` is not in 1-65535.
    """
    machine = host.machine
    with machine.lock:
        facts = _Facts(
            machine.explain(protocol, port),
            {family: machine.dynamic_range(protocol, family) for family in Family},
            {family: machine.free_ports(protocol, family) for family in Family},
            any(row.start <= port <= row.end and not row.administered
                for row in machine.exclusions(protocol)))

    def wrapped(lines: list[str]) -> list[str]:
        return [piece for line in lines for piece in _wrap(line)]

    out = [f"{protocol.name} port {port}", "", "Who holds it", *wrapped(_holders(facts, netsh_only)),
           "", "Dynamic ranges (bind(0) and wildcard reservations draw from them) [R18, Y4]",
           *_ranges(facts), "", "What each call would get", *_calls(facts),
           "", "What would free it", *wrapped(_advice(host, facts, netsh_only)),
           "", f"Rules: {', '.join(facts.why.rules)} (`portpool specs` gives each one's text and"
           " source)"]
    return "\n".join(out) + "\n"


def live_bind_text(protocol: Protocol, port: int, error: PortPoolError | None) -> str:
    """The lines ``portpool explain --backend windows`` adds about a real test bind."""
    head = f"A test bind(('0.0.0.0', {port})) of a {protocol.name} socket on this machine: "
    if error is None:
        return head + "succeeded (and was closed at once)\n"
    text = head + f"{error.name} ({error.winerror})\n"
    if error.winerror == WinError.WSAEADDRINUSE:
        text += (f"  a socket holds it: `netstat -ano -p {protocol.name.lower()} | findstr :{port}`"
                 " names the process\n")
    elif error.winerror == WinError.WSAEACCES:
        text += ("  a row, or a socket of another account with SO_EXCLUSIVEADDRUSE, refuses it"
                 " [X2, R17, C5-C12]\n")
    return text
