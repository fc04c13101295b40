"""A Hypothesis state machine over the one interface, for any backend.

The machine drives one process's :class:`PortPool`, keeps its own record of what it
was granted, and predicts every outcome from that record and the rules table: the
codes it expects come from ``portpool._model._rules.RULES``, so an assumption that
real Windows overturns fails here with the rule's id in the message.

Specific blocks are taken only inside ``scratch`` (keep it outside the machine's
dynamic range and clear of other programs); wildcard blocks and bind(0) draw from
the dynamic range, so the two never interfere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable
from typing import Any

import attrs
from hypothesis import settings as Settings  # noqa: N812 - the class, named as in hypothesis
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from .._errors import PortPoolError
from .._interface import PortPool, Socket
from .._model._rules import RULES
from .._types import AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM, PortRange, Protocol

__all__ = ["ConformanceMachine", "run_conformance_test"]

DEFAULT_SCRATCH = PortRange(40000, 24)


def _code(rule_id: str) -> int:
    error = RULES[rule_id].error
    assert error is not None
    return int(error)


@attrs.define(eq=False)
class _Sock:
    socket: Socket
    protocol: Protocol
    v6: bool
    port: int | None = None
    association: int | None = None
    acquired: set[int] = attrs.Factory(set)


@attrs.define(eq=False)
class _Res:
    token: int
    protocol: Protocol
    range: PortRange
    persistent: bool
    owner: _Sock | None


class ConformanceMachine(RuleBasedStateMachine):
    """The conformance rules; :func:`run_conformance_test` configures and runs it."""

    factory: Callable[[], PortPool]
    scratch: PortRange = DEFAULT_SCRATCH
    dynamic: PortRange | None = None
    admin: bool | None = None
    snapshot: Callable[[PortPool], Hashable] | None = None

    def __init__(self) -> None:
        super().__init__()
        self.pool = type(self).factory()
        self.socks: list[_Sock] = []
        self.reservations: dict[int, _Res] = {}
        self.persistent_made: list[_Res] = []

    # --- bookkeeping ---------------------------------------------------------------

    def _pick(self, index: int) -> _Sock:
        return self.socks[index % len(self.socks)]

    def _blocks(self, protocol: Protocol) -> list[_Res]:
        return [r for r in self.reservations.values() if r.protocol is protocol]

    def _bound(self, protocol: Protocol) -> dict[int, _Sock]:
        return {s.port: s for s in self.socks if s.protocol is protocol and s.port is not None}

    def _live_association(self, sock: _Sock) -> _Res | None:
        return self.reservations.get(sock.association) if sock.association else None

    def _expect(self, call: Callable[[], Any], allowed: set[int], *, must_fail: bool,
                what: str) -> Any:
        """Run ``call``; it must fail with a code in ``allowed`` iff ``must_fail``."""
        snapshot = type(self).snapshot
        before = snapshot(self.pool) if snapshot is not None else None
        try:
            result = call()
        except PortPoolError as exc:
            assert exc.winerror in allowed, (
                f"{what}: got {exc}; expected "
                + (f"one of {sorted(allowed)}" if allowed else "success")
            )
            if snapshot is not None:
                after = snapshot(self.pool)
                assert before == after, f"{what}: a failed call changed the state"
            return None
        assert not must_fail, f"{what}: succeeded, expected one of {sorted(allowed)}"
        return result

    def _address(self, sock: _Sock, port: int) -> tuple[Any, ...]:
        return ("::1", port, 0, 0) if sock.v6 else ("127.0.0.1", port)

    def _forget(self, res: _Res) -> None:
        del self.reservations[res.token]
        if res.owner is not None:
            res.owner.acquired.discard(res.token)

    # --- rules -----------------------------------------------------------------------

    @rule(udp=st.booleans(), v6=st.booleans())
    def open_socket(self, udp: bool, v6: bool) -> None:
        """socket() always works for TCP and UDP."""
        kind = SOCK_DGRAM if udp else SOCK_STREAM
        sock = self.pool.socket(AF_INET6 if v6 else AF_INET, kind, 0)
        self.socks.append(_Sock(sock, Protocol.UDP if udp else Protocol.TCP, v6))

    @precondition(lambda self: self.socks)
    @rule(index=st.integers(0, 99), offset=st.integers(0, 99), count=st.integers(1, 4))
    def acquire_specific(self, index: int, offset: int, count: int) -> None:
        """A2/R1: a specific block is granted exactly, unless it overlaps."""
        sock = self._pick(index)
        start = self.scratch.start + offset % self.scratch.count
        count = min(count, self.scratch.last - start + 1)
        block = PortRange(start, count)
        busy = any(r.range.overlaps(block) for r in self._blocks(sock.protocol)) or any(
            p in block for p in self._bound(sock.protocol))
        res = self._expect(lambda: sock.socket.acquire_port_reservation(start, count),
                           {_code("A2")} if busy else set(), must_fail=busy,
                           what=f"acquire {block!r}")
        if res is not None:
            assert res.range == block
            assert res.protocol is sock.protocol
            assert not res.persistent
            self._record(res.token, sock, block)

    @precondition(lambda self: self.socks)
    @rule(index=st.integers(0, 99), count=st.integers(1, 8))
    def acquire_wildcard(self, index: int, count: int) -> None:
        """R2/R3: a wildcard block is contiguous, in the dynamic range, clear of others."""
        sock = self._pick(index)
        res = self._expect(lambda: sock.socket.acquire_port_reservation(0, count),
                           {_code("A13")}, must_fail=False, what=f"acquire 0+{count}")
        if res is None:
            return
        assert res.range.count == count
        assert res.protocol is sock.protocol
        if self.dynamic is not None:
            assert res.range.start in self.dynamic and res.range.last in self.dynamic, res
        assert not any(p in res.range for p in self._bound(sock.protocol)), res
        self._record(res.token, sock, res.range)

    def _record(self, token: int, sock: _Sock, block: PortRange) -> None:
        assert token != 0, "R13c: a token is never 0"
        assert token not in self.reservations, f"R13c: token {token:#x} handed out twice"
        for other in self._blocks(sock.protocol):
            assert not other.range.overlaps(block), f"{block!r} overlaps {other.range!r}"
        self.reservations[token] = _Res(token, sock.protocol, block, False, sock)
        sock.acquired.add(token)

    @precondition(lambda self: self.socks and self.reservations)
    @rule(index=st.integers(0, 99), pick=st.integers(0, 99))
    def associate(self, index: int, pick: int) -> None:
        """R5, A6, A7: association before bind, same protocol, once."""
        sock = self._pick(index)
        tokens = sorted(self.reservations)
        res = self.reservations[tokens[pick % len(tokens)]]
        refusals: set[int] = set()
        if sock.port is not None or self._live_association(sock) is not None:
            refusals.add(_code("A7"))
        if res.protocol is not sock.protocol:
            refusals.add(_code("A6"))
        if res.persistent and self.admin is False:
            refusals.add(_code("R7"))
        self._expect(lambda: sock.socket.associate_port_reservation(res.token), refusals,
                     must_fail=bool(refusals), what=f"associate {res.range!r}")
        if not refusals:
            sock.association = res.token

    @precondition(lambda self: self.socks)
    @rule(index=st.integers(0, 99))
    def associate_unknown_token(self, index: int) -> None:
        """A11: a token nobody was granted."""
        sock = self._pick(index)
        token = 0x5EED
        while token in self.reservations:
            token += 1
        self._expect(lambda: sock.socket.associate_port_reservation(token), {_code("A11")},
                     must_fail=True, what="associate an unknown token")

    @precondition(lambda self: self.socks)
    @rule(index=st.integers(0, 99), how=st.sampled_from(["zero", "scratch", "block"]),
          offset=st.integers(0, 99))
    def bind(self, index: int, how: str, offset: int) -> None:
        """R5, R6, R17, W1-W3, A1, A13, A17, A23."""
        sock = self._pick(index)
        assoc = self._live_association(sock)
        blocks = self._blocks(sock.protocol)
        bound = self._bound(sock.protocol)
        if how == "zero":
            port = 0
        elif how == "block" and blocks:
            block = blocks[offset % len(blocks)].range
            port = block.start + offset % block.count
        else:
            port = self.scratch.start + offset % self.scratch.count
        refusals: set[int] = set()
        if sock.port is not None:
            refusals.add(_code("W3"))
        elif port == 0 and assoc is not None:
            if all(p in bound for p in range(assoc.range.start, assoc.range.last + 1)):
                refusals.add(_code("A1"))
        elif port != 0:
            holder = next((r for r in blocks if port in r.range), None)
            if holder is not None and holder is not assoc:
                refusals.add(_code("R17"))
            elif port in bound:
                refusals.add(_code("W2"))
        allowed = refusals | ({_code("A13")} if port == 0 and assoc is None else set())
        self._expect(lambda: sock.socket.bind(self._address(sock, port)), allowed,
                     must_fail=bool(refusals), what=f"bind port {port}")
        if refusals:
            return
        try:
            got = int(sock.socket.getsockname()[1])
        except PortPoolError as exc:
            assert exc.winerror == _code("A13") or exc.winerror == _code("W5"), exc
            return  # bind(0) failed with A13 above, so the socket is not bound
        if port:
            assert got == port
        elif assoc is not None:
            assert got in assoc.range, f"R5: port {got} is not from {assoc.range!r}"
        else:
            assert not any(got in r.range for r in blocks), f"W1: port {got} is reserved"
            if self.dynamic is not None:
                assert got in self.dynamic, f"W1: port {got} outside {self.dynamic!r}"
        assert got not in bound, f"W2: port {got} handed out twice"
        sock.port = got

    @precondition(lambda self: self.socks)
    @rule(index=st.integers(0, 99))
    def getsockname(self, index: int) -> None:
        """W5: an unbound socket has no name."""
        sock = self._pick(index)
        name = self._expect(sock.socket.getsockname, {_code("W5")},
                            must_fail=sock.port is None, what="getsockname")
        if name is not None:
            assert name[1] == sock.port

    @precondition(lambda self: self.socks and self.reservations)
    @rule(index=st.integers(0, 99), pick=st.integers(0, 99))
    def release(self, index: int, pick: int) -> None:
        """R8, A20, A22: this process may release its runtime blocks."""
        sock = self._pick(index)
        tokens = sorted(self.reservations)
        res = self.reservations[tokens[pick % len(tokens)]]
        refusals = {_code("A22")} if res.persistent else set()
        self._expect(lambda: sock.socket.release_port_reservation(res.token), refusals,
                     must_fail=bool(refusals), what=f"release {res.range!r}")
        if not refusals:
            self._forget(res)

    @precondition(lambda self: self.socks)
    @rule(index=st.integers(0, 99))
    def close(self, index: int) -> None:
        """R4: closing a socket frees its port and the blocks acquired on it."""
        sock = self._pick(index)
        sock.socket.close()
        self.socks.remove(sock)
        for token in list(sock.acquired):
            self._forget(self.reservations[token])
        self._expect(lambda: sock.socket.bind(self._address(sock, 0)), {_code("R9b")},
                     must_fail=True, what="bind a closed socket")

    @precondition(lambda self: self.admin is not None)
    @rule(udp=st.booleans(), offset=st.integers(0, 99), count=st.integers(1, 4))
    def create_persistent(self, udp: bool, offset: int, count: int) -> None:
        """R13, R13b, A15: admin only, and the block must be unused."""
        protocol = Protocol.UDP if udp else Protocol.TCP
        start = self.scratch.start + offset % self.scratch.count
        count = min(count, self.scratch.last - start + 1)
        block = PortRange(start, count)
        refusals: set[int] = set()
        if not self.admin:
            refusals.add(_code("R13"))
        else:
            for other in self._blocks(protocol):
                if other.range.overlaps(block):
                    refusals.add(_code("R13b" if other.persistent else "A15"))
            if any(p in block for p in self._bound(protocol)):
                refusals.add(_code("R13b"))
        token = self._expect(
            lambda: self.pool.create_persistent_reservation(protocol, start, count),
            refusals, must_fail=bool(refusals), what=f"create persistent {block!r}")
        if token is not None:
            assert token not in self.reservations
            assert token != 0
            res = _Res(token, protocol, block, True, None)
            self.reservations[token] = res
            self.persistent_made.append(res)

    @precondition(lambda self: self.admin is not None)
    @rule(pick=st.integers(0, 99), delete=st.booleans())
    def lookup_or_delete_persistent(self, pick: int, delete: bool) -> None:
        """R15, R16: exact blocks only; delete needs an administrator."""
        made = [r for r in self.reservations.values() if r.persistent]
        if made:
            res = made[pick % len(made)]
            protocol, block = res.protocol, res.range
        else:
            res, protocol, block = None, Protocol.TCP, PortRange(self.scratch.start, 1)
        if not delete:
            token = self._expect(
                lambda: self.pool.lookup_persistent_reservation(protocol, block.start,
                                                                block.count),
                {_code("R15")}, must_fail=res is None, what=f"lookup {block!r}")
            if res is not None:
                assert token == res.token
            return
        refusals = {_code("R13")} if not self.admin else (
            {_code("R16")} if res is None else set())
        self._expect(lambda: self.pool.delete_persistent_reservation(protocol, block.start,
                                                                     block.count),
                     refusals, must_fail=bool(refusals), what=f"delete {block!r}")
        if not refusals and res is not None:
            self._forget(res)
            self.persistent_made.remove(res)

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def names_match_and_ports_unique(self) -> None:
        """No two live sockets share a (protocol, port); each reports its own port."""
        seen: set[tuple[Protocol, int]] = set()
        for sock in self.socks:
            if sock.port is None:
                continue
            assert (sock.protocol, sock.port) not in seen, f"port {sock.port} bound twice"
            seen.add((sock.protocol, sock.port))
            assert sock.socket.getsockname()[1] == sock.port

    def teardown(self) -> None:
        """Close everything; delete the persistent blocks this run made."""
        for sock in self.socks:
            sock.socket.close()
        for res in self.persistent_made:
            with contextlib.suppress(PortPoolError):  # already gone: nothing to clean
                self.pool.delete_persistent_reservation(res.protocol, res.range.start,
                                                        res.range.count)
        self.pool.close()


def run_conformance_test(
    factory: Callable[[], PortPool],
    *,
    settings: Settings | None = None,
    scratch: PortRange = DEFAULT_SCRATCH,
    dynamic: PortRange | None = None,
    admin: bool | None = None,
    snapshot: Callable[[PortPool], Hashable] | None = None,
) -> None:
    """Check a :class:`~portpool.PortPool` backend against portpool's rules.

    Call it from a test::

        def test_my_backend_conforms():
            run_conformance_test(lambda: open_pool("windows"), admin=False)

    Args:
        factory: makes a fresh pool (one process) for each generated run.
        settings: Hypothesis settings (examples, deadline, ...).
        scratch: where specific blocks and explicit binds go: outside the dynamic
            range and unused by anything else on the machine.
        dynamic: the machine's dynamic range, if known: wildcard blocks and bind(0)
            ports must lie in it.
        admin: whether the pool's process is an elevated administrator; ``None``
            leaves the persistent calls out (they change the machine for good).
        snapshot: a function of the pool whose value must not change across a
            failed call (for emulated pools: ``lambda p: p.host.snapshot()``).

    Raises:
        AssertionError: (through Hypothesis) with a minimal failing call sequence.
    """
    machine: type[ConformanceMachine] = type(
        "Conformance",
        (ConformanceMachine,),
        {"factory": staticmethod(factory), "scratch": scratch, "dynamic": dynamic,
         "admin": admin, "snapshot": staticmethod(snapshot) if snapshot else None},
    )
    if settings is not None:
        machine.TestCase.settings = settings
    try:
        machine.TestCase().runTest()
    except PortPoolError as exc:  # a call the rules say succeeds failed
        raise AssertionError(f"conformance: unexpected {exc}") from exc
    except BaseExceptionGroup as group:  # several distinct failures: report them as one
        raise AssertionError(f"conformance: {len(group.exceptions)} distinct failures: "
                             + "; ".join(str(e) for e in group.exceptions)) from group
