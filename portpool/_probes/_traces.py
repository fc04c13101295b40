"""Traces: a seeded random sequence of calls recorded on one machine, replayed on another.

Theory of operation
-------------------
:func:`record_trace` draws calls from a seeded :class:`random.Random` (sockets,
specific and wildcard acquires inside the first 32 ports of the scratch block,
associate, release, bind, getsockname, close and, elevated, the persistent calls) and
makes them on a lab's main process, writing down each call in abstract form (sockets
and reservations by the step that made them, never by handle or token) with its
result and Windows code.  The lab undoes everything at the end.

:func:`compare_trace` makes the same calls on a fresh emulated machine (optionally
under a profile's alternatives) and lists every step whose outcome differs: the code,
or, where both machines must agree on it, the value (a specific block, an explicit
port).  Each divergence names the rules that give the codes seen
(``_operations.rules_for``), so a trace recorded on Windows points at the rules to revisit.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping
from typing import Any, Final

import attrs

from .._errors import PortPoolError
from .._host import EmulatedHost
from .._interface import PortPool, Socket
from .._types import (
    AF_INET,
    AF_INET6,
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    SO_EXCLUSIVEADDRUSE,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOCK_STREAM,
    SOL_SOCKET,
    PortRange,
    Protocol,
    Reservation,
)
from ._lab import Lab, code_text
from ._operations import rules_for

__all__ = ["Divergence", "compare_trace", "record_trace", "replay_trace"]

TRACE_FORMAT: Final = 1
_BOGUS_TOKEN: Final = 0x1234
_WIDTH: Final = 32


@attrs.frozen
class Divergence:
    """One step where the replay differs from the trace.

    Attributes:
        step: the step's index.  call: the call, as text.
        recorded: what the trace says.  replayed: what the emulator did.
        rules: the rules that give the codes seen.
    """

    step: int
    call: str
    recorded: str
    replayed: str
    rules: tuple[str, ...]

    def text(self) -> str:
        """``step 12: bind 40004 on socket 3: recorded ok, emulator WSAEACCES (10013) [rules ...]``."""
        rules = f" [rules {', '.join(self.rules)}]" if self.rules else ""
        return (f"step {self.step}: {self.call}: recorded {self.recorded}, emulator"
                f" {self.replayed}{rules}")


def _describe(call: Mapping[str, Any]) -> str:
    args = call["args"]
    target = f" on socket {args['socket']}" if "socket" in args else ""
    shown = ", ".join(f"{k}={v}" for k, v in args.items() if k != "socket")
    return f"{call['op']}({shown}){target}"


def _value(value: object) -> Any:
    """A call's result as JSON: blocks as [start, count], addresses as lists."""
    if isinstance(value, Reservation):
        return {"range": [value.range.start, value.range.count], "persistent": value.persistent}
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Socket) or value is None:
        return None
    if isinstance(value, int):
        return value
    return repr(value)


class _Driver:
    """Makes abstract calls on one pool, keeping the sockets and reservations by step."""

    def __init__(self, pool: PortPool, scratch: PortRange) -> None:
        self.pool, self.scratch = pool, scratch
        self.sockets: dict[int, Socket] = {}
        self.tokens: dict[int, int] = {}

    def call(self, op: str, args: Mapping[str, Any]) -> Any:
        """Run one call.

        Raises:
            PortPoolError: as the pool does.
            LookupError: a socket or reservation the call names was never made here.
        """
        if op == "socket":
            return self.pool.socket(AF_INET6 if args["v6"] else AF_INET,
                                    SOCK_DGRAM if args["udp"] else SOCK_STREAM)
        if op in ("create", "lookup", "delete"):
            method = getattr(self.pool, f"{op}_persistent_reservation")
            return method(Protocol.UDP if args["udp"] else Protocol.TCP, args["start"], args["count"])
        sock = self.sockets[args["socket"]]
        if op == "acquire":
            return sock.acquire_port_reservation(args["start"], args["count"])
        if op in ("associate", "release"):
            token = args.get("token", _BOGUS_TOKEN)
            if "reservation" in args:
                token = self.tokens[args["reservation"]]
            method = getattr(sock, f"{op}_port_reservation")
            return method(token)
        if op in ("bind", "connect"):  # loopback, or the wildcard (issue 7's C1-C15, K7)
            v6 = sock.family == AF_INET6
            wildcard = args.get("where") == "wildcard"
            host = ("::" if wildcard else "::1") if v6 else ("0.0.0.0" if wildcard else "127.0.0.1")
            address = (host, args["port"], 0, 0) if v6 else (host, args["port"])
            return sock.bind(address) if op == "bind" else sock.connect(address)
        if op in ("setsockopt", "getsockopt"):
            level, name = _OPTIONS[args["option"]]
            if op == "getsockopt":
                return sock.getsockopt(level, name)
            return sock.setsockopt(level, name, args["value"])
        if op == "getpeername":
            return sock.getpeername()
        if op == "getsockname":
            return sock.getsockname()
        if op == "close":
            return sock.close()
        raise ValueError(f"unknown trace operation {op!r}")

    def record(self, step: int, op: str, value: object) -> None:
        if op == "socket" and isinstance(value, Socket):
            self.sockets[step] = value
        elif op == "acquire" and isinstance(value, Reservation):
            self.tokens[step] = value.token
        elif op == "create" and isinstance(value, int):
            self.tokens[step] = value


_OPERATIONS: Final = ("socket", "socket", "acquire", "acquire", "associate", "release", "bind",
                      "bind", "bind", "getsockname", "close", "setsockopt", "setsockopt",
                      "getsockopt", "connect", "getpeername")
# The options traces set (O1-O7, C1-C18): their (level, name) in Windows' numbers.
_OPTIONS: Final[Mapping[str, tuple[int, int]]] = {
    "reuse": (SOL_SOCKET, SO_REUSEADDR), "exclusive": (SOL_SOCKET, SO_EXCLUSIVEADDRUSE),
    "v6only": (IPPROTO_IPV6, IPV6_V6ONLY)}


def _draw(rng: random.Random, steps: list[dict[str, Any]], scratch: PortRange,
          elevated: bool) -> tuple[str, dict[str, Any]]:
    """The next call: an operation and its abstract arguments."""
    live = [s["step"] for s in steps if s["op"] == "socket" and s["code"] is None
            and not any(t["op"] == "close" and t["args"].get("socket") == s["step"] for t in steps)]
    blocks = [s["step"] for s in steps if s["op"] in ("acquire", "create") and s["code"] is None]
    ops = _OPERATIONS + (("create", "lookup", "delete") if elevated else ())
    op = rng.choice(ops) if live else "socket"
    start = scratch.start + rng.randrange(_WIDTH - 8)
    if op == "socket":
        return op, {"udp": rng.random() < 0.5, "v6": rng.random() < 0.25}
    if op in ("create", "lookup", "delete"):
        return op, {"udp": rng.random() < 0.5, "start": start, "count": rng.randint(1, 6)}
    udp = [s for s in live if steps[s]["args"]["udp"]]
    if op == "connect" and not udp:
        op = "getsockname"  # connect only UDP sockets: a TCP connect would reach the network
    args: dict[str, Any] = {"socket": rng.choice(udp if op == "connect" else live)}
    if op in ("setsockopt", "getsockopt"):
        args["option"] = rng.choice(sorted(_OPTIONS))
        if op == "setsockopt":
            args["value"] = int(rng.random() < 0.7)
    elif op == "connect":
        args.update(where="wildcard" if rng.random() < 0.2 else "loopback",
                    port=0 if rng.random() < 0.1 else 53)
    if op == "acquire":
        args.update(start=0 if rng.random() < 0.3 else start, count=rng.randint(1, 6))
    elif op in ("associate", "release"):
        if blocks and rng.random() < 0.9:
            args["reservation"] = rng.choice(blocks)
        else:
            args["token"] = _BOGUS_TOKEN
    elif op == "bind":
        args["port"] = 0 if rng.random() < 0.3 else scratch.start + rng.randrange(_WIDTH)
        args["where"] = "wildcard" if rng.random() < 0.3 else "loopback"
    return op, args


def record_trace(lab: Lab, *, seed: int = 0, calls: int = 200) -> dict[str, Any]:
    """Record ``calls`` seeded random calls on ``lab``'s main process; undo them after.

    Returns:
        The trace: ``{"format", "machine", "seed", "scratch", "elevated", "calls": [{"step",
        "op", "args", "result", "code"}, ...], "undo": [problems]}``.

    Raises:
        ValueError: ``calls`` is negative.
    """
    if calls < 0:
        raise ValueError(f"calls must be 0 or more, not {calls}")
    rng = random.Random(seed)
    steps: list[dict[str, Any]] = []
    driver = _Driver(lab.main, lab.scratch)
    try:
        for step in range(calls):
            op, args = _draw(rng, steps, lab.scratch, lab.elevated)
            try:
                value, code = driver.call(op, args), None
            except PortPoolError as exc:
                value, code = None, exc.winerror
            driver.record(step, op, value)
            steps.append({"step": step, "op": op, "args": args, "result": _value(value),
                          "code": code})
    finally:
        problems = lab.undo()
    return {"format": TRACE_FORMAT, "machine": lab.machine(), "seed": seed,
            "scratch": [lab.scratch.start, lab.scratch.count], "elevated": lab.elevated,
            "calls": steps, "undo": problems}


def _check_trace(trace: object) -> Mapping[str, Any]:
    if not isinstance(trace, Mapping) or not isinstance(trace.get("calls"), list):
        raise ValueError("a trace is a mapping with a 'calls' list (portpool conformance record)")
    if trace.get("format") != TRACE_FORMAT:
        raise ValueError(f"trace format {trace.get('format')!r} is not {TRACE_FORMAT}")
    return trace


def replay_trace(trace: Mapping[str, Any], host: EmulatedHost) -> list[Divergence]:
    """Make the trace's calls on a new process of ``host``; every divergence, in order.

    Raises:
        ValueError: ``trace`` is not a trace.
    """
    trace = _check_trace(trace)
    pool = host.process(admin=bool(trace.get("elevated")))
    start, count = trace.get("scratch", [40000, 256])
    driver = _Driver(pool, PortRange(start, count))
    explicit: dict[int, int] = {}
    out: list[Divergence] = []
    try:
        for call in trace["calls"]:
            step, op, args = call["step"], call["op"], call["args"]
            try:
                value, code = driver.call(op, args), None
            except PortPoolError as exc:
                value, code = None, exc.winerror
            except LookupError:
                out.append(Divergence(step, _describe(call), code_text(call["code"]),
                                      "not run: it uses a socket or block an earlier divergence"
                                      " left out", ()))
                continue
            driver.record(step, op, value)
            recorded_code = call["code"]
            if recorded_code != code:
                rules = [*(rules_for(_op_name(op), recorded_code, host.variants)
                           if recorded_code is not None else []),
                         *(rules_for(_op_name(op), code, host.variants) if code is not None else [])]
                out.append(Divergence(step, _describe(call), code_text(recorded_code),
                                      code_text(code), tuple(dict.fromkeys(rules))))
                continue
            if code is None and op == "bind" and args["port"]:
                explicit[args["socket"]] = args["port"]
            if code is None and _must_match(op, args, explicit) and _value(value) != call["result"]:
                out.append(Divergence(step, _describe(call), f"ok: {call['result']}",
                                      f"ok: {_value(value)}", ()))
    finally:
        pool.close()
    return out


def _op_name(op: str) -> str:
    return {"acquire": "acquire_port_reservation", "associate": "associate_port_reservation",
            "release": "release_port_reservation", "create": "create_persistent_reservation",
            "lookup": "lookup_persistent_reservation",
            "delete": "delete_persistent_reservation"}.get(op, op)


def _must_match(op: str, args: Mapping[str, Any], explicit: Mapping[int, int]) -> bool:
    """Whether both machines must give the same value (not a drawn port or a token)."""
    if op == "acquire":
        return bool(args["start"])
    if op == "getsockname":
        return args["socket"] in explicit
    return op in ("getsockopt", "getpeername")


def compare_trace(trace: Mapping[str, Any] | str | os.PathLike[str], *,
                  profile: str | os.PathLike[str] | Mapping[str, Any] | None = None,
                  seed: int = 0) -> list[Divergence]:
    """Replay a trace (a mapping or a JSON file) on a fresh emulated machine.

    Args:
        trace: the trace.
        profile: a profile whose observed alternatives the emulator follows.
        seed: the emulated machine's seed.

    Returns:
        Every divergence, in order (empty when the emulator agrees throughout).

    Raises:
        ValueError: not a trace, or a bad profile.  OSError: a file cannot be read.
    """
    if isinstance(trace, (str, os.PathLike)):
        path = os.fspath(trace)
        with open(path, encoding="utf-8") as file:
            try:
                trace = json.load(file)
            except json.JSONDecodeError as exc:
                raise ValueError(f"trace {path!r} is not JSON: {exc}") from None
    checked = _check_trace(trace)
    return replay_trace(checked, EmulatedHost(seed=seed, profile=profile))
