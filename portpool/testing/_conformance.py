"""A Hypothesis state machine over the one interface, for any backend.

Theory of operation
-------------------
The machine drives one process's :class:`PortPool`, keeps its own record of what it
was granted, and predicts every outcome from that record and the rules table: each
prediction is a set of Windows codes, each with the ids of the rules that give it
(``RULES[id].error``, or for a rule with alternatives the code of the alternative in
force: ``variants``).  A failing assertion names those ids, whatever the backend, so an
assumption that real Windows overturns fails with the rule to revisit::

    bind port 40005: got [WinError 10048] WSAEADDRINUSE: ...; expected WSAEACCES (10013)
    [rule X14: refused]

Specific blocks, explicit binds, persistent reservations and system exclusions all
go inside ``scratch`` (keep it outside the machine's dynamic range and clear of other
programs); wildcard blocks and bind(0) draw from the dynamic range, so the two never
interfere.

What the machine can do depends on the hooks it is given; without them it uses only
the interface, so it runs against a real Windows pool:

* ``admin`` (known elevation): the persistent calls, and SOCK_RAW sockets (W10, W11).
* ``other_process``: a second process on the same machine acquires, binds into and
  releases blocks in ``scratch`` (R17, A5, A12, A23, and X5/A15 over its blocks).
* ``exclude`` / ``release_exclusions``: a Windows component places system exclusions
  in ``scratch`` and removes them (X1, X2, X4, X5, X6, X12).
* ``netsh``: ``show excludedportrange`` through ``int ipv4`` and ``int ipv6`` (X1, X10,
  X13, N1, N4) and, with ``admin`` known, ``delete excludedportrange`` (X7, N1, N2).

Every run starts with a block of each kind the hooks allow (its own runtime block, an
administered one, another process's, a system exclusion), so the rules meet them from
the first step; :func:`run_conformance_test` returns the rules whose outcomes the runs
confirmed, so a test can check that a variant was exercised at all.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import attrs
from hypothesis import settings as Settings  # noqa: N812 - the class, named as in hypothesis
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .._errors import PortPoolError, WinError
from .._interface import PortPool, Socket
from .._model._conflicts import Outcome, Scope, Sharing, conflict
from .._model._rules import ALTERNATIVES, DEFAULT_VARIANTS, RULES, alternative, check_variants
from .._probes._operations import OPERATION_RULES, rules_for
from .._types import (
    AF_INET,
    AF_INET6,
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    SO_EXCLUSIVEADDRUSE,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    SOL_SOCKET,
    PortRange,
    Protocol,
)
from ..netsh import NetshParseError, netsh_message, parse_excluded_ranges

__all__ = ["ConformanceMachine", "run_conformance_test"]

DEFAULT_SCRATCH = PortRange(40000, 24)


# --- predictions ------------------------------------------------------------------------

def _tag(rule_id: str, variants: Mapping[str, str]) -> str:
    """How a rule is named in messages: ``"W2"``, or ``"X15: refused"`` for the
    alternative in force of a rule that has alternatives (as ``refuse()`` names it)."""
    return f"{rule_id}: {variants[rule_id]}" if rule_id in ALTERNATIVES else rule_id


def _rule_code(rule_id: str, variants: Mapping[str, str]) -> WinError | None:
    """The code ``rule_id`` refuses with under ``variants`` (``None``: it refuses nothing)."""
    if rule_id in ALTERNATIVES:
        return alternative(rule_id, variants[rule_id]).error
    return RULES[rule_id].error


def _rules_text(tags: Iterable[str]) -> str:
    tags = list(dict.fromkeys(tags))
    return ("rule " if len(tags) == 1 else "rules ") + ", ".join(tags)


# What a call's description starts with -> the interface operation (for rules_for).
_VERBS = {"socket(": "socket", "acquire": "acquire_port_reservation",
          "associate": "associate_port_reservation", "release": "release_port_reservation",
          "bind": "bind", "create": "create_persistent_reservation",
          "lookup": "lookup_persistent_reservation", "delete": "delete_persistent_reservation",
          "getsockname": "getsockname"}


def _operation_of(source: str | BaseException) -> str:
    """The interface operation a call description (``"another process: bind port 5"``)
    or an exception's traceback (its innermost interface method) names."""
    if isinstance(source, BaseException):
        frames = traceback.extract_tb(source.__traceback__)
        return next((f.name for f in reversed(frames) if f.name in OPERATION_RULES), "")
    text = source.removeprefix("another process: ")
    return next((op for verb, op in _VERBS.items() if text.startswith(verb)), "")


def _seen_rules(what: str, exc: PortPoolError, variants: Mapping[str, str]) -> str:
    """`` [WSAEACCES for bind: rules R17, X2, ...]``: the rules that give the code seen,
    from the rule table, so that every backend's failure names them (a real backend's
    message names none)."""
    operation = what if what in OPERATION_RULES else _operation_of(what)
    tags = rules_for(operation, exc.winerror, variants)
    if not tags:
        return ""
    return f" [{_code_text(exc.winerror)} for {operation or 'this call'}: {_rules_text(tags)}]"


def _code_text(code: int) -> str:
    try:
        return f"{WinError(code).name} ({code})"
    except ValueError:
        return f"Windows error {code}"


@attrs.define
class _Prediction:
    """What the rules say a call does: the codes that refuse it, each with its rules;
    codes it may fail with although nothing refuses it (A13); the rules behind success."""

    variants: Mapping[str, str]
    refusals: dict[int, list[str]] = attrs.Factory(dict)
    tolerated: dict[int, list[str]] = attrs.Factory(dict)
    successes: list[str] = attrs.Factory(list)

    def rule(self, rule_id: str, *, also: Iterable[str] = ()) -> None:
        """Apply ``rule_id``: its refusal, or (an alternative that refuses nothing) a
        success.  ``also``: rules that decide which refusal applies (named first)."""
        code = _rule_code(rule_id, self.variants)
        tags = [_tag(r, self.variants) for r in also] + [_tag(rule_id, self.variants)]
        if code is None:
            self.successes.extend(tags)
        else:
            self.refusals.setdefault(int(code), []).extend(tags)

    def allow(self, rule_id: str) -> None:
        """The call may also fail under ``rule_id`` (a condition the machine cannot see)."""
        code = _rule_code(rule_id, self.variants)
        assert code is not None, f"rule {rule_id} refuses nothing"
        self.tolerated.setdefault(int(code), []).append(_tag(rule_id, self.variants))

    def cell(self, rule_id: str, outcome: Outcome) -> None:
        """A cell of the bind-conflict tables (C1-C12): the row's rule, the cell's code."""
        if outcome.value is None:
            self.successes.append(rule_id)
        else:
            self.refusals.setdefault(int(outcome.value), []).append(rule_id)

    def ok(self, *rule_ids: str) -> None:
        """Rules that say the call succeeds (for the messages)."""
        self.successes.extend(_tag(r, self.variants) for r in rule_ids)

    @property
    def must_fail(self) -> bool:
        return bool(self.refusals)

    def allowed(self) -> dict[int, list[str]]:
        """Every code the call may fail with, and the rules behind it."""
        return self.refusals if self.refusals else self.tolerated

    def describe(self) -> str:
        if self.refusals:
            return " or ".join(f"{_code_text(code)} [{_rules_text(tags)}]"
                               for code, tags in sorted(self.refusals.items()))
        text = "success" + (f" [{_rules_text(self.successes)}]" if self.successes else "")
        if self.tolerated:
            text += " (or " + " or ".join(f"{_code_text(code)} [{_rules_text(tags)}]"
                                          for code, tags in sorted(self.tolerated.items())) + ")"
        return text


# --- the machine's record ----------------------------------------------------------------

@attrs.define(eq=False)
class _Sock:
    socket: Socket
    protocol: Protocol
    v6: bool
    port: int | None = None
    association: int | None = None
    acquired: set[int] = attrs.Factory(set)
    option: Sharing = Sharing.DEFAULT  # SO_REUSEADDR / SO_EXCLUSIVEADDRUSE as set now
    wildcard: bool = False  # bound to 0.0.0.0 / :: rather than loopback
    sharing: Sharing = Sharing.DEFAULT  # the option as it was at bind (C18)
    seq: int = 0  # when it bound: the tables ask the holders in that order (C16)
    connected: bool = False
    dual: bool = False  # IPV6_V6ONLY set to 0 (an AF_INET6 socket only)
    stacks: tuple[bool, ...] = ()  # the stacks its binding holds (True: IPv6), C14, C15


@attrs.frozen
class _Holder:
    """A binding as the conflict tables see it (the other process binds 127.0.0.1)."""

    seq: int
    stacks: tuple[bool, ...]  # True: the IPv6 stack; a dual-stack wildcard holds both
    wildcard: bool
    sharing: Sharing


@attrs.define(eq=False)
class _Res:
    """A block with a token: runtime (ours or the other process's) or persistent."""

    token: int
    protocol: Protocol
    range: PortRange
    persistent: bool
    owner: _Sock | None
    foreign: bool = False  # a runtime block of the other process

    @property
    def kind(self) -> str:
        return "persistent" if self.persistent else ("foreign" if self.foreign else "own")


@attrs.define(eq=False)
class _Excl:
    """A system exclusion placed through the ``exclude`` hook."""

    protocol: Protocol
    range: PortRange
    kind: str = "system"


_Block = _Res | _Excl


def _protocol_word(protocol: Protocol) -> str:
    return "udp" if protocol is Protocol.UDP else "tcp"


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


class ConformanceMachine(RuleBasedStateMachine):
    """The conformance rules; :func:`run_conformance_test` configures and runs it."""

    factory: Callable[[], PortPool]
    scratch: PortRange = DEFAULT_SCRATCH
    dynamic: PortRange | None = None
    admin: bool | None = None
    snapshot: Callable[[PortPool], Hashable] | None = None
    variants: Mapping[str, str] = DEFAULT_VARIANTS
    exclude_hook: Callable[[Protocol, int, int], object] | None = None
    release_exclusions_hook: Callable[[], object] | None = None
    other_process_hook: Callable[[], PortPool] | None = None
    netsh_hook: Callable[[str], str] | None = None
    observed: set[str]  # set by run_conformance_test: every rule tag an outcome confirmed

    def __init__(self) -> None:
        super().__init__()
        self.pool = type(self).factory()
        self.socks: list[_Sock] = []
        self.reservations: dict[int, _Res] = {}
        self.persistent_made: list[_Res] = []
        self.exclusions: list[_Excl] = []
        self.other: PortPool | None = None
        self.other_socks: dict[Protocol, Socket] = {}
        self.other_bound: dict[Protocol, set[int]] = {p: set() for p in Protocol}
        self.other_holders: dict[tuple[Protocol, int], list[_Holder]] = {}
        self.binds = 0  # a clock for the order of binds (C16)
        self.other_kept: list[Socket] = []  # its bound sockets, open until it ends

    # --- bookkeeping ---------------------------------------------------------------

    def _pick(self, index: int) -> _Sock:
        """One of the live sockets (a new TCP or UDP one if there are none)."""
        if not self.socks:
            self._open(udp=bool(index & 1), v6=bool(index & 2))
        return self.socks[index % len(self.socks)]

    def _open(self, *, udp: bool, v6: bool) -> None:
        kind = SOCK_DGRAM if udp else SOCK_STREAM
        expected = self._predict()
        expected.ok("W9")  # protocol 0 picks TCP for SOCK_STREAM, UDP for SOCK_DGRAM
        sock = self._expect(lambda: self.pool.socket(AF_INET6 if v6 else AF_INET, kind, 0),
                            expected, what=f"socket({'AF_INET6' if v6 else 'AF_INET'},"
                            f" {'SOCK_DGRAM' if udp else 'SOCK_STREAM'}, 0)", check_state=False,
                            observe=False)
        self.socks.append(_Sock(sock, Protocol.UDP if udp else Protocol.TCP, v6))

    def _pick_to_bind(self, index: int) -> _Sock:
        """Mostly a socket not bound yet (binding a bound one is W3, every time)."""
        unbound = [s for s in self.socks if s.port is None]
        return unbound[index % len(unbound)] if unbound and index % 4 else self._pick(index)

    def _predict(self) -> _Prediction:
        return _Prediction(type(self).variants)

    def _blocks(self, protocol: Protocol) -> list[_Block]:
        """Every block of ``protocol`` the machine knows: reservations and exclusions."""
        out: list[_Block] = [r for r in self.reservations.values() if r.protocol is protocol]
        out += [e for e in self.exclusions if e.protocol is protocol]
        return out

    def _holder(self, protocol: Protocol, port: int) -> _Block | None:
        return next((b for b in self._blocks(protocol) if port in b.range), None)

    def _bound(self, protocol: Protocol) -> set[int]:
        """The ports of ``protocol`` bound by sockets of either process."""
        ours = {s.port for s in self.socks if s.protocol is protocol and s.port is not None}
        return ours | self.other_bound[protocol]

    def _holders(self, protocol: Protocol, port: int) -> list[_Holder]:
        """Every binding of ``protocol`` at ``port``, in the order they were made."""
        ours = [_Holder(s.seq, s.stacks, s.wildcard, s.sharing) for s in self.socks
                if s.protocol is protocol and s.port == port]
        return sorted(ours + self.other_holders.get((protocol, port), []), key=lambda h: h.seq)

    @staticmethod
    def _stacks(sock: _Sock, wildcard: bool) -> tuple[bool, ...]:
        """The stacks a bind of ``sock`` holds: a dual-stack wildcard holds both (C14)."""
        if not sock.v6:
            return (False,)
        return (True, False) if sock.dual and wildcard else (True,)

    def _table(self, expected: _Prediction, sock: _Sock, port: int, wildcard: bool) -> None:
        """REUSE's same-account table against each holder the bind meets (C1-C16), on
        each stack the bind holds (C14, C15): loopback or the wildcard, one account."""
        second = (sock.option, Scope.WILDCARD if wildcard else Scope.SPECIFIC)
        stacks = self._stacks(sock, wildcard)
        for holder in self._holders(sock.protocol, port):
            # C20: a dual-stack TCP [::] meets an IPv4 bind loosely on its IPv4 side
            loose = (sock.protocol is Protocol.TCP and holder.wildcard
                     and len(holder.stacks) == 2 and stacks == (False,))
            for stack in stacks:
                if stack not in holder.stacks:
                    continue  # C15: the other stack
                if loose and holder.sharing is Sharing.EXCLUSIVE:
                    expected.rule("C20")
                    return
                if loose and wildcard:
                    continue  # C20: it does not stop an IPv4 wildcard bind
                if (len(stacks) == 2 and not stack and sock.option is Sharing.EXCLUSIVE
                        and not holder.wildcard):
                    expected.rule("C14")  # dual-stack exclusive over an IPv4 specific bind
                    return
                first = (holder.sharing, Scope.WILDCARD if holder.wildcard else Scope.SPECIFIC)
                outcome, rule_id = conflict(first, second, same_user=True)
                if outcome is not Outcome.SUCCESS:
                    expected.cell(rule_id, outcome)
                    return
        expected.ok("C13", "C15")

    def _live_association(self, sock: _Sock) -> _Res | None:
        return self.reservations.get(sock.association) if sock.association else None

    def _in_scratch(self, offset: int, count: int) -> PortRange:
        start = self.scratch.start + offset % self.scratch.count
        return PortRange(start, min(count, self.scratch.last - start + 1))

    def _expect(self, call: Callable[[], Any], expected: _Prediction, *, what: str,
                check_state: bool = True, observe: bool = True) -> Any:
        """Run ``call``: it must fail with an allowed code iff the rules refuse it.

        ``check_state``: a refused call must leave ``snapshot`` unchanged.  ``observe``:
        record the rules of the outcome in :attr:`observed` (not for routine calls
        whose rules are only named in case they fail).
        """
        snapshot = type(self).snapshot if check_state else None
        before = snapshot(self.pool) if snapshot is not None else None
        allowed = expected.allowed()
        try:
            result = call()
        except PortPoolError as exc:
            seen = _seen_rules(what, exc, type(self).variants)
            assert exc.winerror in allowed, f"{what}: got {exc}{seen}; expected {expected.describe()}"
            type(self).observed.update(allowed[exc.winerror])
            if snapshot is not None:
                after = snapshot(self.pool)
                assert before == after, (
                    f"{what}: the call failed with {exc.name} but changed the state; a refused"
                    f" call changes nothing [{_rules_text(allowed[exc.winerror])}]")
            return None
        assert not expected.must_fail, f"{what}: succeeded; expected {expected.describe()}"
        if observe:
            type(self).observed.update(expected.successes)
        return result

    def _confirm(self, *tags: str) -> None:
        """Record rule tags an assertion just confirmed."""
        type(self).observed.update(tags)

    def _address(self, sock: _Sock, port: int, wildcard: bool = False,
                 foreign: bool = False) -> tuple[Any, ...]:
        """Loopback, the wildcard, or an address no machine has (TEST-NET, for L1)."""
        if sock.v6:
            return ("2001:db8::5" if foreign else "::" if wildcard else "::1", port, 0, 0)
        return ("203.0.113.5" if foreign else "0.0.0.0" if wildcard else "127.0.0.1", port)

    def _forget(self, res: _Res) -> None:
        del self.reservations[res.token]
        if res.owner is not None:
            res.owner.acquired.discard(res.token)

    def _record(self, token: int, protocol: Protocol, block: PortRange, owner: _Sock | None,
                *, foreign: bool = False) -> None:
        assert token != 0, "R13c: a token is never 0"
        assert token not in self.reservations, f"R13c: token {token:#x} handed out twice"
        for other in self._blocks(protocol):
            assert not other.range.overlaps(block), (
                f"{block!r} overlaps the {other.kind} block {other.range!r} [rules X4, X5]")
        self.reservations[token] = _Res(token, protocol, block, False, owner, foreign)
        if owner is not None:
            owner.acquired.add(token)

    def _specific_block(self, protocol: Protocol, block: PortRange) -> _Prediction:
        """X5 over a block of any kind, A2 over a port merely bound (R1 otherwise)."""
        expected = self._predict()
        for other in self._blocks(protocol):
            if other.range.overlaps(block):
                expected.rule("X5")
        if any(p in block for p in self._bound(protocol)):
            expected.rule("A2")
        expected.ok("R1")
        return expected

    # --- a start with blocks of every kind --------------------------------------------

    @initialize(udp=st.booleans(), offset=st.integers(0, 99))
    def blocks_of_every_kind(self, udp: bool, offset: int) -> None:
        """Start with a socket and a 2-port block of each kind the hooks allow, spread
        over scratch: its own runtime block, an administered one (``admin``, with a plain
        bind into it), another process's (``other_process``) and a system exclusion
        (``exclude``), so that every run meets them from its first step."""
        protocol = Protocol.UDP if udp else Protocol.TCP
        self._open(udp=udp, v6=False)
        quarter = max(self.scratch.count // 4, 1)
        self._acquire_specific(self.socks[-1], offset, 2)
        if type(self).admin:
            self._create_persistent(protocol, offset + quarter, 2)
            made = [r for r in self.persistent_made if r.protocol is protocol]
            if made:  # a plain bind into it, so every run meets X15's alternative
                self._open(udp=udp, v6=False)
                self._bind(self.socks[-1], made[-1].range.start)
        if type(self).other_process_hook is not None:
            self._other_process_acquires(protocol, offset + 2 * quarter, 2)
        if type(self).exclude_hook is not None:
            self._place_exclusion(protocol, offset + 3 * quarter, 2)

    # --- sockets ---------------------------------------------------------------------

    @rule(kind=st.sampled_from(["tcp", "udp", "raw"]), v6=st.booleans())
    def open_socket(self, kind: str, v6: bool) -> None:
        """socket() always works for TCP and UDP; SOCK_RAW: W10, W11, R9a."""
        if kind == "raw" and type(self).admin is not None:
            self._open_raw_socket(v6)
            return
        self._open(udp=kind == "udp", v6=v6)

    def _open_raw_socket(self, v6: bool) -> None:
        """SOCK_RAW with protocol 0 (W10, W11); no reservations on it (R9a)."""
        expected = self._predict()
        expected.rule("W11" if type(self).admin else "W10")
        raw = self._expect(lambda: self.pool.socket(AF_INET6 if v6 else AF_INET, SOCK_RAW, 0),
                           expected, what="socket(SOCK_RAW, protocol 0)")
        if raw is None:
            return
        try:
            acquire = self._predict()
            acquire.rule("R9a")
            self._expect(lambda: raw.acquire_port_reservation(0, 1), acquire,
                         what="acquire 0+1 on a SOCK_RAW socket")
        finally:
            raw.close()

    @rule(index=st.integers(0, 99), wildcard=st.booleans(), offset=st.integers(0, 99),
          count=st.integers(1, 8))
    def acquire(self, index: int, wildcard: bool, offset: int, count: int) -> None:
        """A wildcard block (1-8 ports) or a specific one in scratch (1-4 ports)."""
        sock = self._pick(index)
        if wildcard:
            self._acquire_wildcard(sock, count)
        else:
            self._acquire_specific(sock, offset, (count - 1) % 4 + 1)

    def _acquire_specific(self, sock: _Sock, offset: int, count: int) -> None:
        """R1, X5, A2: a specific block is granted exactly, unless it overlaps."""
        block = self._in_scratch(offset, count)
        res = self._expect(lambda: sock.socket.acquire_port_reservation(block.start, block.count),
                           self._specific_block(sock.protocol, block),
                           what=f"acquire {block!r}")
        if res is not None:
            assert res.range == block, f"R1: asked for {block!r}, granted {res.range!r}"
            assert res.protocol is sock.protocol, f"R1: a {res.protocol.name} block"
            assert not res.persistent, "R1: a runtime block reported as persistent"
            self._record(res.token, sock.protocol, block, sock)

    def _acquire_wildcard(self, sock: _Sock, count: int) -> None:
        """R2, R3, X4: a wildcard block is contiguous, in the dynamic range, clear of others."""
        expected = self._predict()
        expected.ok("R2", "R3", "X4")
        expected.allow("A13")
        res = self._expect(lambda: sock.socket.acquire_port_reservation(0, count), expected,
                           what=f"acquire 0+{count}")
        if res is None:
            return
        assert res.range.count == count, f"R2: asked for {count} ports, granted {res.range!r}"
        assert res.protocol is sock.protocol, f"R1: a {res.protocol.name} block"
        if self.dynamic is not None:
            assert res.range.start in self.dynamic and res.range.last in self.dynamic, (
                f"R3: {res.range!r} is not inside the dynamic range {self.dynamic!r}")
        bound = [p for p in self._bound(sock.protocol) if p in res.range]
        assert not bound, f"R3: {res.range!r} holds the bound port {bound[0]}"
        self._record(res.token, sock.protocol, res.range, sock)

    # --- association and release ------------------------------------------------------

    @rule(index=st.integers(0, 99), pick=st.integers(0, 99))
    def associate(self, index: int, pick: int) -> None:
        """R5, R14, A6, A7, A11, A12, R7: association before bind, same protocol, a live
        token of this process (or a persistent one, elevated), once."""
        sock = self._pick_to_bind(index)
        tokens = sorted(self.reservations)
        expected = self._predict()
        if pick % (len(tokens) + 1) == len(tokens):  # a token nobody was granted
            token = 0x5EED
            while token in self.reservations:
                token += 1
            expected.rule("A11")
            self._expect(lambda: sock.socket.associate_port_reservation(token), expected,
                         what="associate an unknown token")
            return
        res = self.reservations[tokens[pick % len(tokens)]]
        if sock.port is not None or self._live_association(sock) is not None:
            expected.rule("A7")
        if res.protocol is not sock.protocol:
            expected.rule("A6")
        if res.persistent and self.admin is False:
            expected.rule("R7")
        if res.foreign:
            expected.rule("A12")
        expected.ok("R14" if res.persistent else "R5")
        self._expect(lambda: sock.socket.associate_port_reservation(res.token), expected,
                     what=f"associate the {res.kind} block {res.range!r}")
        if not expected.must_fail:
            sock.association = res.token

    @precondition(lambda self: self.reservations)
    @rule(index=st.integers(0, 99), pick=st.integers(0, 99))
    def release(self, index: int, pick: int) -> None:
        """R8, A5, A20, A22: this process may release its own runtime blocks."""
        sock = self._pick(index)
        tokens = sorted(self.reservations)
        res = self.reservations[tokens[pick % len(tokens)]]
        expected = self._predict()
        if res.persistent:
            expected.rule("A22")
        if res.foreign:
            expected.rule("A5")
        expected.ok("R8")
        self._expect(lambda: sock.socket.release_port_reservation(res.token), expected,
                     what=f"release the {res.kind} block {res.range!r}")
        if not expected.must_fail:
            self._forget(res)

    # --- bind ------------------------------------------------------------------------

    @rule(index=st.integers(0, 99))
    def bind_any_port(self, index: int) -> None:
        """R5, W1, W3, A1, A13, X4: bind(port 0) takes a port from the associated block,
        or from the dynamic range, never inside a block."""
        self._bind(self._pick_to_bind(index), 0)

    @rule(index=st.integers(0, 99), bound=st.booleans(), offset=st.integers(0, 99),
          where=st.sampled_from(["loopback", "wildcard", "loopback", "wildcard", "foreign"]))
    def bind_explicit(self, index: int, bound: bool, offset: int, where: str) -> None:
        """R6, W2, W3, A17, A23, C1-C16, L1: a port of scratch, or one another socket has
        bound, on loopback, the wildcard or an address the machine does not have."""
        wildcard, foreign = where == "wildcard", where == "foreign"
        sock = self._pick_to_bind(index)
        if bound and sock.port is not None and index % 3:  # a fresh socket meets the holders
            self._open(udp=sock.protocol is Protocol.UDP, v6=sock.v6)
            sock = self.socks[-1]
        # Mostly a port held on the socket's own stack, where the tables apply (C15).
        same_stack = sorted({s.port for s in self.socks if s.protocol is sock.protocol
                             and s.port is not None and s.v6 == sock.v6})
        taken = (same_stack if same_stack and offset % 4 else []) or sorted(
            self._bound(sock.protocol))
        if bound and taken:
            port = taken[offset % len(taken)]
        else:
            port = self.scratch.start + offset % self.scratch.count
        self._bind(sock, port, wildcard, foreign)

    @rule(index=st.integers(0, 99), kind=st.sampled_from(["system", "own", "foreign", "persistent"]),
          in_use=st.booleans(), offset=st.integers(0, 99))
    def bind_into_block(self, index: int, kind: str, in_use: bool, offset: int) -> None:
        """R6, R17, X2, X14, X15, A23: a port of a block, of ``kind`` if there is one of
        the socket's protocol, and one a socket has bound if ``in_use`` and there is."""
        sock = self._pick_to_bind(index)
        blocks = self._blocks(sock.protocol)
        blocks = [b for b in blocks if b.kind == kind] or blocks
        if not blocks:
            self._bind(sock, self.scratch.start + offset % self.scratch.count)
            return
        block = blocks[offset % len(blocks)].range
        taken = [p for p in self._bound(sock.protocol) if p in block]
        if in_use and taken:
            self._bind(sock, taken[offset % len(taken)])
        else:
            self._bind(sock, block.start + offset % block.count)

    def _bind(self, sock: _Sock, port: int, wildcard: bool = False, foreign: bool = False) -> None:
        assoc = self._live_association(sock)
        bound = self._bound(sock.protocol)
        expected = self._predict()
        if sock.port is not None:
            expected.rule("W3")
        elif foreign:
            expected.rule("L1")
        elif port == 0 and assoc is not None:
            if all(p in bound for p in range(assoc.range.start, assoc.range.last + 1)):
                expected.rule("A1")
            expected.ok("R5")
        elif port == 0:
            expected.ok("W1", "X4")
            expected.allow("A13")
        elif assoc is not None and port in assoc.range:
            if port in bound:
                self._table(expected, sock, port, wildcard)
            expected.ok("R6")
        else:
            self._plain_bind(expected, self._holder(sock.protocol, port), port in bound)
            if not expected.must_fail and port in bound:
                self._table(expected, sock, port, wildcard)
            if assoc is not None:
                expected.ok("A17")
        address = self._address(sock, port, wildcard, foreign)
        self._expect(lambda: sock.socket.bind(address), expected,
                     what=f"bind {address[0]} port {port}" + (" (IPv6)" if sock.v6 else ""))
        if expected.must_fail:
            return
        try:
            got = int(sock.socket.getsockname()[1])
        except PortPoolError as exc:
            assert exc.winerror in (_rule_code("A13", {}), _rule_code("W5", {})), (
                f"getsockname after bind: got {exc}; expected the port [rules W5, A13]")
            return  # bind(0) failed with A13 above, so the socket is not bound
        if port:
            assert got == port, (f"bind port {port}: getsockname gives port {got}"
                                 f" [{_rules_text(expected.successes or ['W5'])}]")
        elif assoc is not None:
            assert got in assoc.range, f"R5: port {got} is not from {assoc.range!r}"
        else:
            holder = self._holder(sock.protocol, got)
            assert holder is None, f"X4: bind(0) gave port {got}, inside {holder!r}"
            if self.dynamic is not None:
                assert got in self.dynamic, f"W1: port {got} outside {self.dynamic!r}"
        assert port or got not in bound, f"C17: bind(0) handed out port {got}, which is held"
        self._bound_now(sock, got, wildcard)

    def _bound_now(self, sock: _Sock, port: int, wildcard: bool) -> None:
        self.binds += 1
        sock.port, sock.wildcard, sock.sharing, sock.seq = port, wildcard, sock.option, self.binds
        sock.stacks = self._stacks(sock, wildcard)

    def _plain_bind(self, expected: _Prediction, holder: _Block | None, bound: bool) -> None:
        """An explicit bind from a socket not associated with the port's block: the
        block is checked before "in use" (X2, R17 with A23), unless its rule lets the
        bind through (X14, X15: then the conflict tables decide, C1-C16)."""
        decides = {"system": "X2", "foreign": "R17", "own": "X14", "persistent": "X15"}.get(
            holder.kind) if holder is not None else None
        if decides is not None:
            expected.rule(decides, also=["A23"] if bound and decides == "R17" else [])

    @rule(index=st.integers(0, 99),
          option=st.sampled_from(["reuse", "exclusive", "off", "dual-stack"]))
    def set_option(self, index: int, option: str) -> None:
        """O4, O5, C18: SO_REUSEADDR or SO_EXCLUSIVEADDRUSE on (or the one set, off);
        O6, O8: IPV6_V6ONLY off (an IPv4 socket has it too, and it changes nothing there)."""
        sock = self._pick(index)
        expected = self._predict()
        if option == "dual-stack":
            self._set_dual_stack(sock)
            return
        if option == "off":
            name = SO_EXCLUSIVEADDRUSE if sock.option is Sharing.EXCLUSIVE else SO_REUSEADDR
            value, new = 0, Sharing.DEFAULT
        else:
            name = SO_REUSEADDR if option == "reuse" else SO_EXCLUSIVEADDRUSE
            value, new = 1, Sharing.REUSE if option == "reuse" else Sharing.EXCLUSIVE
            if sock.option not in (Sharing.DEFAULT, new):
                expected.rule("O4")
        if sock.port is not None:
            expected.rule("O5", also=["C18"])
        expected.ok("O1", "O7")
        self._expect(lambda: sock.socket.setsockopt(SOL_SOCKET, name, value), expected,
                     what=f"setsockopt {option}")
        if not expected.must_fail:
            sock.option = new  # the binding keeps sock.sharing (C18)
            got = self._expect(lambda: sock.socket.getsockopt(SOL_SOCKET, name), self._predict(),
                               what="getsockopt", check_state=False, observe=False)
            assert got == value, f"getsockopt reads {got}, set {value} [rules O4, O7]"

    def _set_dual_stack(self, sock: _Sock) -> None:
        expected = self._predict()
        if not sock.v6:  # O8: an IPv4 socket has the option too, settable until bound
            if sock.port is not None:
                expected.rule("O8")
            expected.ok("O8")
            self._expect(lambda: sock.socket.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0), expected,
                         what="setsockopt IPV6_V6ONLY 0 (IPv4)")
            return  # it changes nothing for an IPv4 socket
        if sock.port is not None:
            expected.rule("O5", also=["C18"])
        expected.ok("O6")
        self._expect(lambda: sock.socket.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0), expected,
                     what="setsockopt IPV6_V6ONLY 0")
        if not expected.must_fail:
            sock.dual = True  # the binding keeps its stacks (C18)

    @rule(index=st.integers(0, 99), port=st.sampled_from([0, 80]))
    def connect(self, index: int, port: int) -> None:
        """K1-K4: connect binds an unbound socket (from its block under K2's `block`, else
        the dynamic range, never a held port: C17) and records the peer."""
        sock = self._pick(index)
        assoc = self._live_association(sock)
        bound = self._bound(sock.protocol)
        expected = self._predict()
        if port == 0:
            expected.rule("K3")
        elif sock.connected and sock.protocol is Protocol.TCP:
            expected.rule("K4")
        elif sock.port is None and assoc is not None and type(self).variants["K2"] == "block":
            if all(p in bound for p in range(assoc.range.start, assoc.range.last + 1)):
                expected.rule("A1", also=["K2"])
            expected.ok("K1", "K2")
        elif sock.port is None:
            expected.ok("K1", "W1", "X4", *(["K2"] if assoc is not None else []))
            expected.allow("T8" if sock.protocol is Protocol.TCP else "A13")
        if port and sock.protocol is Protocol.TCP and not sock.connected:
            expected.allow("T10")  # nothing listens on loopback port 80 (on Windows, maybe)
        peer = self._address(sock, port)
        done = self._expect(lambda: sock.socket.connect(peer) or True, expected,
                            what=f"connect to {peer[0]} port {port}")
        if expected.must_fail or done is None:
            return  # refused (T10), or no port for the implicit bind (A13, T8): unchanged
        got = int(sock.socket.getsockname()[1])
        if sock.port is None:
            if assoc is not None and type(self).variants["K2"] == "block":
                assert got in assoc.range, (f"connect on an associated socket took port {got},"
                                            f" not from {assoc.range!r} [rule K2: block]")
            else:
                holder = self._holder(sock.protocol, got)
                assert holder is None, (f"connect's implicit bind took port {got}, inside"
                                        f" {holder!r} [rules X4, K2: {type(self).variants['K2']}]")
            assert got not in bound, f"C17: connect's implicit bind took {got}, which is held"
            self._bound_now(sock, got, False)  # K1: connected to loopback, it holds loopback
        else:
            assert got == sock.port, f"K1: connect moved a bound socket from {sock.port} to {got}"
        sock.connected = True
        self._confirm("K1")

    @rule(index=st.integers(0, 99))
    def close(self, index: int) -> None:
        """R4, R9b: closing a socket frees its port and the blocks acquired on it."""
        sock = self._pick(index)
        sock.socket.close()
        self.socks.remove(sock)
        for token in list(sock.acquired):
            self._forget(self.reservations[token])
        expected = self._predict()
        expected.rule("R9b")
        self._expect(lambda: sock.socket.bind(self._address(sock, 0)), expected,
                     what="bind a closed socket")

    # --- persistent reservations -----------------------------------------------------

    @precondition(lambda self: type(self).admin is not None)
    @rule(act=st.sampled_from(["create", "create", "lookup", "delete"]), udp=st.booleans(),
          offset=st.integers(0, 99), count=st.integers(1, 4))
    def persistent(self, act: str, udp: bool, offset: int, count: int) -> None:
        """Create a persistent block in scratch; look one up or delete it."""
        if act == "create":
            self._create_persistent(Protocol.UDP if udp else Protocol.TCP, offset, count)
        else:
            self._lookup_or_delete_persistent(offset, delete=act == "delete")

    def _create_persistent(self, protocol: Protocol, offset: int, count: int) -> None:
        """R13, R13b, A15, X6: admin only, and the block must be unused."""
        block = self._in_scratch(offset, count)
        expected = self._predict()
        if not self.admin:
            expected.rule("R13")
        else:
            for other in self._blocks(protocol):
                if other.range.overlaps(block):
                    expected.rule({"system": "X6", "persistent": "R13b"}.get(other.kind, "A15"))
            if any(p in block for p in self._bound(protocol)):
                expected.rule("R13b")
        token = self._expect(
            lambda: self.pool.create_persistent_reservation(protocol, block.start, block.count),
            expected, what=f"create persistent {protocol.name} {block!r}")
        if token is not None:
            assert token not in self.reservations, f"R13c: token {token:#x} handed out twice"
            assert token != 0, "R13c: a token is never 0"
            res = _Res(token, protocol, block, True, None)
            self.reservations[token] = res
            self.persistent_made.append(res)

    def _lookup_or_delete_persistent(self, pick: int, *, delete: bool) -> None:
        """R15, R16: exact blocks only; delete needs an administrator."""
        made = [r for r in self.reservations.values() if r.persistent]
        if made:
            res = made[pick % len(made)]
            protocol, block = res.protocol, res.range
        else:
            res, protocol, block = None, Protocol.TCP, PortRange(self.scratch.start, 1)
        expected = self._predict()
        if not delete:
            if res is None:
                expected.rule("R15")
            token = self._expect(
                lambda: self.pool.lookup_persistent_reservation(protocol, block.start,
                                                                block.count),
                expected, what=f"lookup {block!r}")
            if res is not None:
                assert token == res.token, f"R15: lookup gave {token:#x}, created {res.token:#x}"
            return
        if not self.admin:
            expected.rule("R13")
        elif res is None:
            expected.rule("R16")
        self._expect(lambda: self.pool.delete_persistent_reservation(protocol, block.start,
                                                                     block.count),
                     expected, what=f"delete {block!r}")
        if not expected.must_fail and res is not None:
            self._forget(res)
            self.persistent_made.remove(res)

    # --- another process (hook: other_process) -----------------------------------------

    def _other_socket(self, protocol: Protocol) -> Socket:
        if self.other is None:
            hook = type(self).other_process_hook
            assert hook is not None
            self.other = hook()
        sock = self.other_socks.get(protocol)
        if sock is None:
            kind = SOCK_DGRAM if protocol is Protocol.UDP else SOCK_STREAM
            sock = self.other_socks[protocol] = self.other.socket(AF_INET, kind, 0)
        return sock

    @precondition(lambda self: type(self).other_process_hook is not None)
    @rule(act=st.sampled_from(["acquire", "acquire", "bind", "release"]), udp=st.booleans(),
          offset=st.integers(0, 99), count=st.integers(1, 4))
    def other_process(self, act: str, udp: bool, offset: int, count: int) -> None:
        """Another process acquires blocks in scratch (which then refuse this one: R17,
        A5, A12, X5, A15), binds associated sockets in them (A23) and releases them."""
        theirs = [r for r in self.reservations.values() if r.foreign]
        if act == "release" and theirs:
            self._other_process_releases(theirs[offset % len(theirs)])
        elif act == "bind" and theirs:
            self._other_process_binds(theirs[offset % len(theirs)])
        else:
            self._other_process_acquires(Protocol.UDP if udp else Protocol.TCP, offset, count)

    def _other_process_binds(self, res: _Res) -> None:
        """R5, A1 in the other process: a new socket, associated, bound to port 0."""
        owner = self.other
        assert owner is not None
        kind = SOCK_DGRAM if res.protocol is Protocol.UDP else SOCK_STREAM
        sock = owner.socket(AF_INET, kind, 0)
        associate = self._predict()
        associate.ok("R5")
        self._expect(lambda: sock.associate_port_reservation(res.token), associate,
                     what=f"another process: associate its block {res.range!r}")
        expected = self._predict()
        bound = self._bound(res.protocol)
        if all(p in bound for p in range(res.range.start, res.range.last + 1)):
            expected.rule("A1")
        expected.ok("R5")
        self._expect(lambda: sock.bind(("127.0.0.1", 0)), expected,
                     what=f"another process: bind port 0, associated with {res.range!r}")
        if expected.must_fail:
            sock.close()
            return
        got = int(sock.getsockname()[1])
        assert got in res.range, f"R5: port {got} is not from {res.range!r}"
        assert got not in bound, f"C17: port {got} handed out twice"
        self.other_bound[res.protocol].add(got)
        self.binds += 1
        self.other_holders.setdefault((res.protocol, got), []).append(
            _Holder(self.binds, (False,), False, Sharing.DEFAULT))
        self.other_kept.append(sock)

    def _other_process_acquires(self, protocol: Protocol, offset: int, count: int) -> None:
        """X5, A2, R1 in the other process."""
        block = self._in_scratch(offset, count)
        sock = self._other_socket(protocol)
        res = self._expect(lambda: sock.acquire_port_reservation(block.start, block.count),
                           self._specific_block(protocol, block),
                           what=f"another process: acquire {block!r}")
        if res is not None:
            assert res.range == block, f"R1: asked for {block!r}, granted {res.range!r}"
            self._record(res.token, protocol, block, None, foreign=True)

    def _other_process_releases(self, res: _Res) -> None:
        """R8 in the other process."""
        expected = self._predict()
        expected.ok("R8")
        sock = self._other_socket(res.protocol)
        self._expect(lambda: sock.release_port_reservation(res.token), expected,
                     what=f"another process: release {res.range!r}")
        self._forget(res)

    # --- system exclusions (hooks: exclude, release_exclusions) ----------------------

    @precondition(lambda self: type(self).exclude_hook is not None)
    @rule(release=st.sampled_from([False, False, False, True]), udp=st.booleans(),
          offset=st.integers(0, 99), count=st.integers(1, 4))
    def component(self, release: bool, udp: bool, offset: int, count: int) -> None:
        """A Windows component places system exclusions in scratch, or stops (X1)."""
        if release and self.exclusions:
            self._release_exclusions()
        else:
            self._place_exclusion(Protocol.UDP if udp else Protocol.TCP, offset, count)

    def _place_exclusion(self, protocol: Protocol, offset: int, count: int) -> None:
        """X1, X12: a component excludes a block; not over another block, but over a
        bound port it may (the socket keeps its port)."""
        block = self._in_scratch(offset, count)
        expected = self._predict()
        for other in self._blocks(protocol):
            if other.range.overlaps(block):
                expected.rule("X12")
        expected.ok("X1", "X12")
        hook = type(self).exclude_hook
        assert hook is not None
        self._expect(lambda: hook(protocol, block.start, block.count), expected,
                     what=f"a component excludes {protocol.name} {block!r}")
        if not expected.must_fail:
            self.exclusions.append(_Excl(protocol, block))

    def _release_exclusions(self) -> None:
        """X1: the component stops (``net stop winnat``): its rows go."""
        hook = type(self).release_exclusions_hook
        assert hook is not None
        hook()
        self.exclusions.clear()
        self._confirm("X1")

    # --- netsh (hook: netsh) -----------------------------------------------------------

    @precondition(lambda self: type(self).netsh_hook is not None)
    @rule(delete=st.sampled_from([False, False, True]), udp=st.booleans(), v6=st.booleans(),
          pick=st.integers(0, 99))
    def run_netsh(self, delete: bool, udp: bool, v6: bool, pick: int) -> None:
        """netsh shows the rows (in scratch and over runtime blocks), or deletes one
        (only with ``admin`` known)."""
        rows = self._netsh_rows()
        if delete and rows and type(self).admin is not None:
            self._netsh_delete(*rows[pick % len(rows)])
        else:
            self._netsh_show(Protocol.UDP if udp else Protocol.TCP, v6)

    def _netsh_show(self, protocol: Protocol, v6: bool) -> None:
        """X1, X10, X13, N1, N4: ``netsh int ipv4|ipv6 show excludedportrange``."""
        variants = type(self).variants
        command = (f"int {'ipv6' if v6 else 'ipv4'} show excludedportrange"
                   f" protocol={_protocol_word(protocol)}")
        hook = type(self).netsh_hook
        assert hook is not None
        text = hook(command)
        try:
            rows = parse_excluded_ranges(text)
        except NetshParseError as exc:
            raise AssertionError(f"netsh {command}: not a table ({exc}) [rule N4]") from None
        runtime = [r for r in self.reservations.values()
                   if r.protocol is protocol and not r.persistent]
        areas = [self.scratch] + [r.range for r in runtime]
        seen = sorted({(r.start, r.end, r.administered) for r in rows
                       if any(PortRange(r.start, r.end - r.start + 1).overlaps(a) for a in areas)})
        expected_rows = {(e.range.start, e.range.last, False) for e in self.exclusions
                         if e.protocol is protocol}
        expected_rows |= {(r.range.start, r.range.last, True) for r in self.reservations.values()
                          if r.protocol is protocol and r.persistent}
        listed = variants["X13"] == "listed"
        if listed:
            expected_rows |= {(r.range.start, r.range.last, False) for r in runtime}
        tags = ["N4", "X1", "N1", _tag("X13", variants)] + (["X10"] if v6 else [])
        assert seen == sorted(expected_rows), (
            f"netsh {command}: rows (start, end, administered) {seen}; expected"
            f" {sorted(expected_rows)} [{_rules_text(tags)}]")
        self._confirm("N4")
        if any(e.protocol is protocol for e in self.exclusions):
            self._confirm("X1", *(["X10"] if v6 else []))
        if runtime:
            self._confirm(_tag("X13", variants))

    def _netsh_rows(self) -> list[tuple[Protocol, PortRange, str]]:
        rows = [(e.protocol, e.range, "system") for e in self.exclusions]
        rows += [(r.protocol, r.range, r.kind) for r in self.reservations.values()]
        return rows

    def _netsh_delete(self, protocol: Protocol, block: PortRange, kind: str) -> None:
        """X7, N1, N2, R16: netsh deletes administered rows only, and only elevated."""
        command = (f"int ipv4 delete excludedportrange protocol={_protocol_word(protocol)}"
                   f" startport={block.start} numberofports={block.count}")
        expected = self._predict()
        if not type(self).admin:
            expected.rule("N2")
        elif kind == "system":
            expected.rule("X7")
        elif kind in ("own", "foreign"):  # a runtime row: listed (X7) or not there at all
            if type(self).variants["X13"] == "listed":
                expected.rule("X7", also=["X13"])
            else:
                expected.rule("R16", also=["X13"])
        else:
            expected.ok("N1")
        want = netsh_message(next(iter(expected.refusals), 0))
        hook = type(self).netsh_hook
        assert hook is not None
        printed = _first_line(hook(command))
        assert printed == want, (f"netsh {command}: printed {printed!r}; expected {want!r},"
                                 f" {expected.describe()}")
        type(self).observed.update(*expected.refusals.values(), expected.successes)
        if kind == "persistent" and not expected.must_fail:
            res = next(r for r in self.persistent_made
                       if r.protocol is protocol and r.range == block)
            self._forget(res)
            self.persistent_made.remove(res)

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def names_match_and_ports_unique(self) -> None:
        """Each bound socket reports its own port (also after a system exclusion was
        placed over it: X12), whoever else shares it (C1-C16); an unbound socket has no
        name (W5)."""
        for sock in self.socks:
            if sock.port is None:
                expected = self._predict()
                expected.rule("W5")
                self._expect(sock.socket.getsockname, expected, what="getsockname",
                             check_state=False)
                continue
            named = self._predict()
            named.ok("A20", "X12")
            got = self._expect(sock.socket.getsockname, named, what="getsockname",
                               check_state=False, observe=False)[1]
            assert got == sock.port, (
                f"getsockname gives port {got}, bound {sock.port} [rules A20, X12]")

    def teardown(self) -> None:
        """Close everything; delete the persistent blocks and exclusions this run made."""
        for sock in self.socks:
            sock.socket.close()
        for res in self.persistent_made:
            with contextlib.suppress(PortPoolError):  # already gone: nothing to clean
                self.pool.delete_persistent_reservation(res.protocol, res.range.start,
                                                        res.range.count)
        release = type(self).release_exclusions_hook
        if self.exclusions and release is not None:
            release()
        if self.other is not None:
            self.other.close()
        self.pool.close()


def run_conformance_test(
    factory: Callable[[], PortPool],
    *,
    settings: Settings | None = None,
    scratch: PortRange = DEFAULT_SCRATCH,
    dynamic: PortRange | None = None,
    admin: bool | None = None,
    snapshot: Callable[[PortPool], Hashable] | None = None,
    variants: Mapping[str, str] | None = None,
    exclude: Callable[[Protocol, int, int], object] | None = None,
    release_exclusions: Callable[[], object] | None = None,
    other_process: Callable[[], PortPool] | None = None,
    netsh: Callable[[str], str] | None = None,
) -> frozenset[str]:
    """Check a :class:`~portpool.PortPool` backend against portpool's rules.

    Call it from a test::

        def test_my_backend_conforms():
            run_conformance_test(lambda: open_pool("windows"), admin=False)

    Every failure names the rules behind the outcome it expected (``[rule X14:
    refused]``) and, for a code it did not expect, the rules that give that code for
    that call (``[WSAEACCES (10013) for bind: rules R17, X2, ...]``, from the rule table,
    so a backend whose messages name no rule, such as the real ws2_32, is covered too).
    The hooks act on the machine the latest ``factory()`` call opened its pool on; for an
    emulated machine made anew per run::

        class Rig:
            def pool(self):
                self.host = EmulatedHost(variants={"X15": "refused"})
                return self.host.process(admin=True)

        rig = Rig()
        run_conformance_test(rig.pool, admin=True, variants={"X15": "refused"},
                             exclude=lambda p, s, c: rig.host.exclude(p, s, c),
                             release_exclusions=lambda: rig.host.release_exclusions("WinNAT"),
                             other_process=lambda: rig.host.process(),
                             netsh=lambda words: rig.host.netsh(words, admin=True))

    On Windows, ``netsh`` may run the real one (``subprocess.run(["netsh",
    *words.split()], capture_output=True, text=True).stdout``); its ``show`` output is
    read in any display language, its ``delete`` messages are compared in en-US.

    Args:
        factory: makes a fresh pool (one process) for each generated run.
        settings: Hypothesis settings (examples, deadline, ...).
        scratch: where specific blocks, explicit binds, persistent reservations and
            exclusions go: outside the dynamic range and unused by anything else.
        dynamic: the machine's dynamic range, if known: wildcard blocks and bind(0)
            ports must lie in it.
        admin: whether the pool's process is an elevated administrator; ``None``
            leaves out the persistent calls (they change the machine for good), raw
            sockets and netsh delete.
        snapshot: a function of the pool whose value must not change across a
            failed call (for emulated pools: ``lambda p: p.host.snapshot()``).
        variants: ``{rule_id: alternative}``: the alternatives the machine under test
            follows, for rules whose evidence conflicts (``portpool specs`` lists
            them); the others keep their defaults.
        exclude: ``exclude(protocol, start, count)`` makes a Windows component place
            a system exclusion (for emulated hosts ``host.exclude``); needs
            ``release_exclusions``.
        release_exclusions: removes every exclusion ``exclude`` placed (``net stop
            winnat``).
        other_process: opens a pool in another process on the same machine.
        netsh: runs ``netsh`` with the given words (``"int ipv4 show
            excludedportrange protocol=tcp"``) with the elevation ``admin`` says, and
            returns what it prints.

    Returns:
        The rules (``"W2"``, ``"X15: refused"``) whose predicted outcome some call
        confirmed, over every generated run: what the run exercised.

    Raises:
        AssertionError: (through Hypothesis) with a minimal failing call sequence.
        TypeError: a hook is not callable, ``scratch`` is not a PortRange, or
            ``variants`` is not a mapping of strings.
        ValueError: ``exclude`` without ``release_exclusions`` (or the reverse), an
            unknown rule or alternative in ``variants``, or ``scratch`` overlapping
            ``dynamic``.
    """
    chosen = check_variants(variants)
    hooks = {"snapshot": snapshot, "exclude": exclude, "release_exclusions": release_exclusions,
             "other_process": other_process, "netsh": netsh}
    for name, hook in {"factory": factory, **hooks}.items():
        if hook is not None and not callable(hook):
            raise TypeError(f"{name} must be callable, not {type(hook).__name__}")
    if (exclude is None) != (release_exclusions is None):
        raise ValueError("exclude and release_exclusions go together: exclusions placed"
                         " must be removed")
    if not isinstance(scratch, PortRange):
        raise TypeError(f"scratch must be a PortRange, not {type(scratch).__name__}")
    if dynamic is not None and scratch.overlaps(dynamic):
        raise ValueError(f"scratch {scratch!r} overlaps the dynamic range {dynamic!r}")
    observed: set[str] = set()
    machine: type[ConformanceMachine] = type(
        "Conformance",
        (ConformanceMachine,),
        {"factory": staticmethod(factory), "scratch": scratch, "dynamic": dynamic,
         "admin": admin, "variants": chosen, "observed": observed,
         "snapshot": staticmethod(snapshot) if snapshot is not None else None,
         **{f"{name}_hook": staticmethod(hook) if hook is not None else None
            for name, hook in hooks.items() if name != "snapshot"}},
    )
    if settings is not None:
        machine.TestCase.settings = settings
    try:
        machine.TestCase().runTest()
    except PortPoolError as exc:  # a call the rules say succeeds failed
        seen = _seen_rules(_operation_of(exc), exc, chosen)
        raise AssertionError(f"conformance: unexpected {exc}{seen}") from exc
    except BaseExceptionGroup as group:  # several distinct failures: report them as one
        raise AssertionError(f"conformance: {len(group.exceptions)} distinct failures: "
                             + "; ".join(str(e) for e in group.exceptions)) from group
    return frozenset(observed)
