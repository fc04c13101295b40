"""TCP connection endpoints and the clock: one machine's connection table.

Theory of operation
-------------------
A connection between two sockets of the machine has two endpoints, one per side; a
connection to an address that is not the machine's has one (the remote side is not
modelled: it answers at once and closes when told, rule T9).  An endpoint is what
``netstat -ano`` lists as a TCP row other than LISTENING: local and foreign address, a
state, the owning process (0 once no process owns it).

The side that closes first keeps its endpoint after its socket is gone: FIN_WAIT_2 while
the other side's socket is open (that side is then CLOSE_WAIT), TIME_WAIT for the
machine's TcpTimedWaitDelay once both have closed (rules T2, T3); a close with SO_LINGER
on and a zero timeout resets the connection instead, and both endpoints go (T4).

Every endpoint holds its local port in the protocol's ``PortSpace`` (``hold``/``release``):
bind(0) and connect's implicit bind do not hand out a port any endpoint holds, which is
how a client that connects and closes quickly runs out of ports (T8).  Whether an
explicit bind may share a port with endpoints is the machine's business (T5, T6;
``_connections.py``).

The clock is seconds since boot; only ``advance`` moves it (rule T1).  TIME_WAIT
endpoints wait in one FIFO per delay value: the delay is fixed at boot, so each FIFO is
in expiry order and ``advance`` pops from the heads, O(1) per expired endpoint whatever
the table's size (benchmarks/bench_connections.py).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterator

import attrs

from .._types import Family
from ._conflicts import Sharing

__all__ = ["ConnectionTable", "Endpoint", "State"]


class State(enum.Enum):
    """The TCP states the model's endpoints pass through (netstat's words)."""

    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_2 = "FIN_WAIT_2"
    CLOSE_WAIT = "CLOSE_WAIT"
    TIME_WAIT = "TIME_WAIT"


@attrs.define(slots=True, eq=False)
class Endpoint:
    """One side of a TCP connection (mutable: owned by its :class:`ConnectionTable`).

    Attributes:
        id: unique within the boot.
        family: the stack the connection runs on.
        local_host, local_port, remote_host, remote_port: its addresses.
        state: where it is in its life.
        pid: the owning process; 0 once no socket is left (FIN_WAIT_2, TIME_WAIT).
        socket: the socket that owns it; ``None`` before accept and once closed.
        peer: the other side's endpoint id; ``None`` for a remote peer or once it is gone.
        sharing: the bind options of the socket it belongs to (an accepted one: the
            listener's, S9), for REUSE's SO_EXCLUSIVEADDRUSE rule (T6).
        accepted: the server side of a connection (it came from a listener).
        expires: the clock time a TIME_WAIT endpoint goes.
        shared: its local port came from connect's port sharing (rule O13 ``shared``):
            other such connections to other peers may use the port too.
    """

    id: int
    family: Family
    local_host: str
    local_port: int
    remote_host: str
    remote_port: int
    state: State
    pid: int
    socket: int | None
    peer: int | None
    sharing: Sharing
    accepted: bool
    expires: float = 0.0
    shared: bool = False


class ConnectionTable:
    """The machine's TCP endpoints, their indexes and the clock (see the module docstring).

    Args:
        hold, release: the TCP port space's port counters (a port any endpoint holds is
            not drawn by bind(0) or connect).
    """

    def __init__(self, hold: Callable[[int], None], release: Callable[[int], None]) -> None:
        self.clock = 0.0
        self.endpoints: dict[int, Endpoint] = {}
        self.by_port: dict[int, dict[int, None]] = {}  # local port -> endpoint ids, in order
        self.by_tuple: dict[tuple[str, int, str, int], int] = {}
        self._waiting: dict[float, deque[int]] = {}  # delay -> TIME_WAIT ids, oldest first
        self._hold, self._release = hold, release
        self._next = 1

    # --- questions ------------------------------------------------------------------

    def at_port(self, port: int) -> Iterator[Endpoint]:
        """The endpoints whose local port is ``port``, oldest first."""
        ids = self.by_port.get(port)
        if ids:
            endpoints = self.endpoints
            yield from (endpoints[i] for i in ids)

    def find(self, local_host: str, local_port: int, remote_host: str, remote_port: int,
             ) -> Endpoint | None:
        """The endpoint with exactly that 4-tuple, if any."""
        found = self.by_tuple.get((local_host, local_port, remote_host, remote_port))
        return None if found is None else self.endpoints[found]

    def time_waiting(self) -> int:
        """How many endpoints are in TIME_WAIT."""
        return sum(len(queue) for queue in self._waiting.values())

    # --- changes --------------------------------------------------------------------

    def add(self, family: Family, local: tuple[str, int], remote: tuple[str, int], *, pid: int,
            socket: int | None, sharing: Sharing, accepted: bool, shared: bool = False,
            ) -> Endpoint:
        """A new ESTABLISHED endpoint; it holds its local port."""
        number = self._next
        self._next = number + 1
        host, port = local
        endpoint = Endpoint(number, family, host, port, remote[0], remote[1], State.ESTABLISHED,
                            pid, socket, None, sharing, accepted, 0.0, shared)
        self.endpoints[number] = endpoint
        ids = self.by_port.get(port)
        if ids is None:  # no dict made for the common case's setdefault
            self.by_port[port] = {number: None}
        else:
            ids[number] = None
        self.by_tuple[(host, port, remote[0], remote[1])] = number
        self._hold(port)
        return endpoint

    def remove(self, endpoint: Endpoint) -> None:
        """The endpoint is gone (closed, reset, or its TIME_WAIT is over); its port is let go.

        A TIME_WAIT endpoint leaves its FIFO lazily (``expire`` skips ids no longer there).
        """
        del self.endpoints[endpoint.id]
        ids = self.by_port[endpoint.local_port]
        del ids[endpoint.id]
        if not ids:
            del self.by_port[endpoint.local_port]
        del self.by_tuple[(endpoint.local_host, endpoint.local_port, endpoint.remote_host,
                           endpoint.remote_port)]
        self._release(endpoint.local_port)
        if endpoint.peer is not None:
            other = self.endpoints.get(endpoint.peer)
            if other is not None:
                other.peer = None

    def time_wait(self, endpoint: Endpoint, delay: float) -> None:
        """The endpoint enters TIME_WAIT for ``delay`` seconds; nothing owns it any more."""
        endpoint.state = State.TIME_WAIT
        endpoint.pid, endpoint.socket = 0, None
        endpoint.expires = self.clock + delay
        queue = self._waiting.get(delay)
        if queue is None:
            queue = self._waiting[delay] = deque()
        queue.append(endpoint.id)

    def advance(self, seconds: float) -> int:
        """Move the clock; TIME_WAIT endpoints whose time is up go.  Returns how many went."""
        self.clock += seconds
        now, endpoints, gone = self.clock, self.endpoints, 0
        for queue in self._waiting.values():
            while queue:
                endpoint = endpoints.get(queue[0])
                if endpoint is not None and endpoint.state is State.TIME_WAIT:
                    if endpoint.expires > now:
                        break
                    self.remove(endpoint)
                    gone += 1
                queue.popleft()
        return gone
