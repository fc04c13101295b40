"""``portpool why`` and ``portpool.explain_error()``: which failure an OSError is, and what frees it.

Theory of operation
-------------------
A program on Windows catches ``PermissionError: [WinError 10013]`` or ``OSError:
[WinError 10048]`` and most often reports "port in use" for both.  :func:`explain_error`
takes the exception (any OSError: its ``winerror`` where Python on Windows or the patch
set one, else its errno mapped as Python on Windows maps the codes), the address of the
failed call and the protocol, and asks the machine who holds the port:

* the machine under :func:`portpool.patch` (the emulated machine the error came from),
  this Windows machine (netsh, and a test bind now), or a machine the caller names
  (``machine=``, the CLI's ``--preset``, ``--netsh``, ``--machine``);
* then :data:`CAUSES`, in order, each a function of the facts that returns an answer or
  ``None``: the first answer is the explanation.

Extending: a new cause (the ``connections`` work adds TIME_WAIT) is one function added
to :data:`CAUSES` before ``_in_use_unknown`` (use :func:`add_cause`); it receives the
:class:`Facts` and returns an :class:`ErrorExplanation` or ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import attrs

from .._errors import WinError
from .._host import EmulatedHost
from .._types import Protocol
from ._codes import winerror_of
from ._free import parse_protocols
from ._machine import ask, bind_now
from ._seam import Holder

if TYPE_CHECKING:
    from .._model._machine import Explanation

__all__ = ["CAUSES", "ErrorExplanation", "Facts", "add_cause", "explain_error", "explain_from", "winerror_of"]

_ASYNCIO_ADDRESS: Final = re.compile(r"address \(['\"]([^'\"]*)['\"], (\d+)")
_NOTE_PORT: Final = re.compile(r"\bport (\d{1,5})\b")


@attrs.frozen
class ErrorExplanation:
    """Which failure a caught error is, and what frees the port.

    Attributes:
        code: the Windows code (10013, 10048, ...), ``None`` when the error has none.
        cause: a short name: ``"excluded"``, ``"runtime-reservation"``, ``"administered"``,
            ``"exclusive-socket"``, ``"in-use"``, ``"time-wait"``, ``"not-local"``,
            ``"refused"``, ``"exhausted"``, ``"unknown"``, ...
        summary: one line: what happened.
        details: what the machine shows (rows, sockets), one fact a line.
        remedies: what frees the port (commands), one a line.
        rules: the rule ids behind it (``portpool specs``).
        protocol, port, host: what was asked about (port/host ``None`` when unknown).
        machine: which machine was asked, in a few words.
    """

    code: int | None
    cause: str
    summary: str
    details: tuple[str, ...] = ()
    remedies: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    protocol: Protocol = Protocol.TCP
    port: int | None = None
    host: str | None = None
    machine: str = ""

    @property
    def name(self) -> str:
        """The code's symbolic name (``"WSAEACCES"``), or ``"?"``."""
        return _name(self.code)

    def __str__(self) -> str:
        where = f" {self.protocol.name} port {self.port}" if self.port is not None else ""
        code = f"{self.name} ({self.code})" if self.code is not None else "no Windows code"
        lines = [f"{code}{where}: {self.summary}"]
        lines += [f"  {line}" for line in self.details]
        if self.remedies:
            lines.append("What frees it:")
            lines += [f"  {line}" for line in self.remedies]
        tail = []
        if self.rules:
            tail.append(f"rules {', '.join(self.rules)}")
        if self.machine:
            tail.append(f"asked: {self.machine}")
        if tail:
            lines.append(f"({'; '.join(tail)})")
        return "\n".join(lines) + "\n"


def _name(code: int | None) -> str:
    if code is None:
        return "?"
    try:
        return WinError(code).name
    except ValueError:
        return f"WinError {code}"


@attrs.frozen
class Facts:
    """What a cause function is given.

    Attributes:
        code: the Windows code (``None``: none known).
        protocol, port, host: the failed call's (port/host ``None`` when unknown).
        machine: the machine to ask (``None``: none: only the code speaks).
        netsh_only: the machine was read from netsh (no sockets, no owners).
        why: ``machine.explain(protocol, port)`` when both are known.
        now: on this Windows machine, what a test bind of the port gets now
            (``None``: succeeded or not tried; see ``tried_now``).
        tried_now: whether a test bind was made.
        machine_name: which machine, in a few words.
        windows: whether the machine has Windows' pools.
        holders: on a real machine, the sockets netstat shows at the port now.
    """

    code: int | None
    protocol: Protocol
    port: int | None
    host: str | None
    machine: EmulatedHost | None
    netsh_only: bool
    why: Explanation | None
    now: int | None
    tried_now: bool
    machine_name: str
    windows: bool = True
    holders: tuple[Holder, ...] = ()

    def answer(self, cause: str, summary: str, details: list[str] | tuple[str, ...] = (),
               remedies: list[str] | tuple[str, ...] = (), rules: tuple[str, ...] = ()
               ) -> ErrorExplanation:
        """An :class:`ErrorExplanation` for these facts."""
        return ErrorExplanation(self.code, cause, summary, tuple(details), tuple(remedies), rules,
                                self.protocol, self.port, self.host, self.machine_name)


def _proto(facts: Facts) -> str:
    return facts.protocol.name.lower()


def _netstat(facts: Facts) -> str:
    return (f"`netstat -ano -p {_proto(facts)} | findstr :{facts.port}` names the process that"
            " holds it; `tasklist /fi \"PID eq N\"` its program")


def _reserve_hint(facts: Facts) -> str:
    return (f"keep it for your program: `portpool reserve {facts.port} --protocol {_proto(facts)}`"
            " as administrator (stops winnat, adds an administered row, starts winnat) [X15]")


# --- the causes, in the order they are tried -------------------------------------------


_ASK_WINDOWS: Final = ("to ask about a Windows machine instead: `portpool why ... --netsh FILE` (its saved"
                       " netsh output) or `--preset`, or explain_error(..., machine=host)")


def _not_windows(facts: Facts) -> ErrorExplanation | None:
    if facts.windows:
        return None
    if facts.code == 10048:
        return facts.answer("in-use", "a socket on this machine holds the port (this machine is not"
                            " Windows: no exclusion rows here)", [_ASK_WINDOWS],
                            remedies=[f"`ss -lntup 'sport = :{facts.port}'` (Linux) or `lsof -i"
                                      f" :{facts.port}` names the process"] if facts.port else [])
    if facts.code == 10013:
        return facts.answer("permission", "this machine is not Windows: EACCES on bind means a port"
                            " below the unprivileged start (Linux: net.ipv4.ip_unprivileged_port_start,"
                            " 1024 by default) without the privilege", [_ASK_WINDOWS],
                            remedies=["use a port at or above 1024, or give the program"
                                      " CAP_NET_BIND_SERVICE"])
    return None


def _excluded(facts: Facts) -> ErrorExplanation | None:
    why = facts.why
    if facts.code != 10013 or why is None or why.exclusion is None:
        return None
    ex = why.exclusion
    who = "netsh does not say who placed it" if ex.owner == "unknown" else f"placed by {ex.owner}"
    details = [f"the exclusion row {ex.start}-{ex.end} ({who}) covers it; nothing needs to listen"
               " there: a plain bind into a row is refused with WSAEACCES, not WSAEADDRINUSE [X2]"]
    remedies: list[str] = []
    if ex.owner in ("WinNAT", "unknown"):
        remedies.append("`net stop winnat` as administrator releases WinNAT's rows (Hyper-V, WSL2,"
                        " Docker) until `net start winnat` puts them back; a reboot places them anew"
                        " [X1, X16]")
        remedies.append(_reserve_hint(facts))
    else:
        remedies.append(f"nothing: {ex.owner}'s rows go only when it stops; use another port [X1, X7]")
    remedies.append("or pick a port outside every row: `portpool.free_port()`")
    return facts.answer("excluded", f"excluded: inside the row {ex.start}-{ex.end}"
                        f" ({'owner unknown' if ex.owner == 'unknown' else ex.owner})",
                        details, remedies, ("X1", "X2"))


def _runtime_reservation(facts: Facts) -> ErrorExplanation | None:
    why = facts.why
    if facts.code != 10013 or why is None or why.reservation is None or why.reservation.persistent:
        return None
    res = why.reservation
    return facts.answer(
        "runtime-reservation",
        f"reserved: process {why.owner_pid} holds the block {res.range.start}-{res.range.last}"
        " (SIO_ACQUIRE_PORT_RESERVATION)",
        ["only sockets associated with that reservation bind there [R17]"],
        [f"process {why.owner_pid} releases it (SIO_RELEASE_PORT_RESERVATION), closes the socket"
         " that acquired it, or exits [R4, R8]"], ("R17", "R4"))


def _bound(facts: Facts) -> ErrorExplanation | None:
    why = facts.why
    if why is None or not why.bindings or facts.code not in (10013, 10048):
        return None
    details = [f"socket {b.socket:#x} of process {b.pid} is bound to {b.host}:{b.port}"
               for b in why.bindings]
    remedies = [f"close socket {b.socket:#x} (or end process {b.pid})" for b in why.bindings]
    if facts.code == 10013:
        return facts.answer("exclusive-socket", "refused by a socket that holds the port exclusively"
                            " (SO_EXCLUSIVEADDRUSE, or another account's socket)", details, remedies,
                            ("C5", "C7", "C12"))
    return facts.answer("in-use", "in use: a socket holds the port", details, remedies, ("C1", "C13"))


def _administered(facts: Facts) -> ErrorExplanation | None:
    why = facts.why
    if facts.code != 10013 or why is None or why.reservation is None or not why.reservation.persistent:
        return None
    res = why.reservation
    return facts.answer(
        "administered",
        f"inside the administered row {res.range.start}-{res.range.last} (a `*` row), where a plain"
        " bind succeeds [X15]: the refusal comes from how the socket binds",
        ["a second bind with SO_REUSEADDR onto an excluded port is refused on Windows Server"
         " 2008 R2-2012 R2 (KB 3039044); or another account's socket holds it exclusively [C5-C12]"],
        ["bind without SO_REUSEADDR, or delete the row: `netsh int ipv4 delete excludedportrange"
         f" protocol={_proto(facts)} startport={res.range.start} numberofports={res.range.count}`"
         " as administrator [N1, R16]"], ("X15", "C5"))


def _holder_lines(facts: Facts) -> tuple[list[str], list[str]]:
    """What netstat showed at the port now (details, remedies), or how to look."""
    if not facts.holders:
        return ([_netstat(facts)] if facts.port is not None else []), []
    return ([f"held now by {h}" for h in facts.holders],
            [f"end {h.program or 'process'} (`taskkill /pid {h.pid}`), or use another port"
             for h in facts.holders])


def _excluded_live(facts: Facts) -> ErrorExplanation | None:
    """This Windows machine, read now: no row, but a test bind is still refused."""
    if facts.code != 10013 or not facts.tried_now or facts.now != 10013:
        return None
    details, remedies = _holder_lines(facts)
    return facts.answer(
        "exclusive-socket",
        "refused now too, and no row covers it: a socket of another account holds it (or one"
        " with SO_EXCLUSIVEADDRUSE)", details, remedies or ["end that program, or use another port"],
        ("C5", "C12"))


def _exhausted(facts: Facts) -> ErrorExplanation | None:
    if facts.code != 10055:
        return None
    details: list[str] = []
    if facts.machine is not None:
        dynamic = facts.machine.dynamic_range(facts.protocol)
        details.append(f"the ipv4 dynamic range {dynamic.start}-{dynamic.last} has"
                       f" {facts.machine.machine.free_ports(facts.protocol)} free ports")
    return facts.answer("exhausted", "no free port left in the dynamic range for bind(0) or a"
                        " wildcard reservation", details,
                        ["close sockets that hold dynamic ports, or widen the range: `netsh int ipv4"
                         f" set dynamicport {_proto(facts)} start=49152 num=16384` as administrator"],
                        ("A13", "R18"))


def _not_local(facts: Facts) -> ErrorExplanation | None:
    if facts.code != 10049:
        return None
    host = facts.host or "the address"
    return facts.answer("not-local", f"{host} is not an address of this machine (or port 0 on"
                        " connect)", [], ["bind an address the machine has (`ipconfig`), 0.0.0.0 or"
                                          " 127.0.0.1"], ("L1",))


def _refused(facts: Facts) -> ErrorExplanation | None:
    if facts.code != 10061:
        return None
    target = f"{facts.host}:{facts.port}" if facts.host and facts.port else "that address"
    return facts.answer("refused", f"nothing listens at {target}: the connection was refused",
                        [], ["start the server first, or connect to the port it listens on"
                             " (`netstat -ano | findstr LISTENING`)"])


def _in_use_unknown(facts: Facts) -> ErrorExplanation | None:
    if facts.code != 10048:
        return None
    if facts.netsh_only or facts.machine is None:
        details, remedies = _holder_lines(facts)
        if facts.tried_now and facts.now is None:
            details.append("a test bind now succeeds: the holder has let it go")
        return facts.answer("in-use", "in use: another socket holds this address and port (not a"
                            " row: rows give WSAEACCES)", details,
                            remedies or ["end the program that holds it, or use another port"], ("C1",))
    return facts.answer("in-use", "in use when it failed; nothing holds it now on the machine asked"
                        " (the socket that held it has closed)", [], ["try again"], ("C1",))


def _excluded_gone(facts: Facts) -> ErrorExplanation | None:
    if facts.code != 10013:
        return None
    details = []
    if facts.port is not None:
        details.append("no row covers the port on the machine asked"
                       + (", and a test bind now succeeds" if facts.tried_now and facts.now is None
                          else ""))
    return facts.answer(
        "unknown-10013",
        "WSAEACCES without a row: the row may have moved since (winnat restart, reboot, update),"
        " another account's socket held it exclusively, or a firewall/endpoint product refused it",
        details, ["compare the rows with an earlier snapshot: `portpool diff`"], ("X1", "C5"))


def _fallback(facts: Facts) -> ErrorExplanation:
    if facts.code is None:
        return facts.answer("unknown", "the error carries no Windows code and no errno portpool"
                            " knows")
    try:
        text = WinError(facts.code).message
    except ValueError:
        text = "a code portpool does not explain"
    return facts.answer("other", text.rstrip("."))


Cause = Callable[[Facts], "ErrorExplanation | None"]

#: The causes, tried in order; the first answer wins.  Add new ones with :func:`add_cause`.
CAUSES: list[Cause] = [
    _not_windows, _excluded, _runtime_reservation, _bound, _administered, _excluded_live,
    _exhausted, _not_local, _refused, _in_use_unknown, _excluded_gone,
]


def add_cause(cause: Cause, *, before: str = "_in_use_unknown") -> None:
    """Insert ``cause`` before the cause function named ``before`` (for example a
    TIME_WAIT cause before the generic "in use" answer)."""
    names = [c.__name__ for c in CAUSES]
    CAUSES.insert(names.index(before) if before in names else len(CAUSES), cause)


# --- the entry points ------------------------------------------------------------------


def _address(address: object, exc: OSError | None) -> tuple[str | None, int | None]:
    if isinstance(address, bool):
        raise TypeError("address must be (host, port), a port or None, not a bool")
    if isinstance(address, int):
        if not 0 <= address <= 65535:
            raise ValueError(f"port must be in 0-65535, not {address}")
        return None, address
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        if not isinstance(host, str) or isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(f"address must be (str, int), not {address!r}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in 0-65535, not {port}")
        return host, port
    if address is not None:
        raise TypeError(f"address must be (host, port), a port or None, not {type(address).__name__}")
    if exc is not None:  # asyncio: "error while attempting to bind on address ('h', p): ..."
        found = _ASYNCIO_ADDRESS.search(str(exc))
        if found:
            return found.group(1), int(found.group(2))
        for note in getattr(exc, "__notes__", ()):
            match = _NOTE_PORT.search(str(note))
            if match:
                return None, int(match.group(1))
    return None, None


def explain_from(code: int | None, protocol: Protocol, host: str | None, port: int | None, *,
                 machine: EmulatedHost | None, netsh_only: bool, machine_name: str,
                 windows: bool = True, now: int | None = None, tried_now: bool = False,
                 holders: tuple[Holder, ...] = ()) -> ErrorExplanation:
    """Run :data:`CAUSES` over these facts (the CLI and :func:`explain_error` come here)."""
    why = machine.explain(protocol, port) if machine is not None and port else None
    facts = Facts(code, protocol, port, host, machine, netsh_only, why, now, tried_now, machine_name,
                  windows, holders)
    for cause in CAUSES:
        found = cause(facts)
        if found is not None:
            return found
    return _fallback(facts)


def explain_error(exc: OSError, address: object = None, protocol: str | Protocol | None = None, *,
                  machine: EmulatedHost | None = None) -> ErrorExplanation:
    """Which failure a caught OSError is, and what frees the port.

    ``print(portpool.explain_error(exc, ("127.0.0.1", 8080)))`` prints a few lines:
    the code, the cause (excluded by which row, in use by which socket, not a local
    address, ...), what the machine shows and what frees it, with the rule ids.

    Args:
        exc: the OSError a program caught (bind, connect, an asyncio server's start).
        address: the failed call's ``(host, port)``, or a port, or ``None`` (then read
            from asyncio's message, or from a note portpool's patch attached).
        protocol: ``"tcp"`` (default) or ``"udp"``.
        machine: the machine to ask.  Default: the machine under :func:`portpool.patch`,
            else this Windows machine (netsh and a test bind), else none (the code alone
            speaks, for a machine that is not Windows).

    Returns:
        An :class:`ErrorExplanation` (``str()`` gives the text ``portpool why`` prints).

    Raises:
        TypeError, ValueError: a bad argument.
    """
    if not isinstance(exc, OSError):
        raise TypeError(f"exc must be an OSError, not {type(exc).__name__}")
    protocols = parse_protocols(protocol if protocol is not None else "tcp")
    if len(protocols) != 1:
        raise ValueError("protocol must be 'tcp' or 'udp': one socket failed")
    if machine is not None and not isinstance(machine, EmulatedHost):
        raise TypeError(f"machine must be an EmulatedHost or None, not {type(machine).__name__}")
    host, port = _address(address, exc)
    code = winerror_of(exc)
    from_windows = isinstance(getattr(exc, "winerror", None), int)
    try:
        asked = ask(machine)
    except (RuntimeError, ValueError) as problem:  # LiveMachineError, NetshParseError: the code speaks
        return explain_from(code, protocols[0], host, port, machine=None, netsh_only=True,
                            machine_name=f"this machine (netsh: {problem})")
    now, tried = None, False
    if asked.live and asked.netsh_only and port:
        now, tried = bind_now(protocols[0], port), True
    return explain_from(code, protocols[0], host, port, machine=asked.host, netsh_only=asked.netsh_only,
                        machine_name=asked.name, windows=asked.windows or from_windows, now=now,
                        tried_now=tried, holders=asked.holders(protocols[0], port))
