"""TCP connections and the clock: listen, accept, the connection a TCP connect makes,
what closing does to it (FIN_WAIT_2, CLOSE_WAIT, TIME_WAIT, reset), and what holds a
port afterwards (rules S1-S9, T1-T12).

The endpoints themselves, their indexes and the clock live in ``_endpoints.py``'s
``ConnectionTable``, which the machine owns; this mixin holds the operations.  A connect
is decided in two steps, both in ``_binding.py``'s ``connect``: ``_route`` refuses what
must be refused before anything changes (S8, T10, T7) and says where the connection
goes (T11); after the implicit bind, ``_connect_tcp`` makes the endpoints (S9, T9).
"""

from __future__ import annotations

import ipaddress
import itertools
import math
from collections import deque
from typing import Final

from .._types import Connection, Family, Protocol
from ._binding import _Binding, _is_loopback
from ._conflicts import Sharing
from ._endpoints import Endpoint, State
from ._rules import refuse
from ._space import PortSpace
from ._state import Route, SocketInfo, _as_int, _protocol_option, _Socket
from ._store import Store

__all__ = ["DEFAULT_TIME_WAIT_DELAY", "TIME_WAIT_LIMITS", "check_time_wait_delay",
           "connection_value"]

#: TcpTimedWaitDelay's default and limits, in seconds (rule T2, KB 314053).
DEFAULT_TIME_WAIT_DELAY: Final = 120
TIME_WAIT_LIMITS: Final = (30, 300)
_MAX_BACKLOG: Final = 200  # S4: a plain backlog above this counts as this (SOMAXCONN too)
_HINT_LIMITS: Final = (200, 65535)  # S4: SOMAXCONN_HINT(N)'s range
_WILDCARD: Final = {Family.INET: "0.0.0.0", Family.INET6: "::"}
_LOOPBACK: Final = {Family.INET: "127.0.0.1", Family.INET6: "::1"}


def check_time_wait_delay(seconds: object) -> int:
    """``seconds`` as a TcpTimedWaitDelay (rule T2): an int in 30-300.

    Raises:
        TypeError: not an int.
        ValueError: outside 30-300.
    """
    number = _as_int(seconds)
    if number is None:
        raise TypeError(f"time_wait_delay must be an int (seconds), not {type(seconds).__name__}")
    low, high = TIME_WAIT_LIMITS
    if not low <= number <= high:
        raise ValueError(f"time_wait_delay must be {low}-{high} seconds (TcpTimedWaitDelay's"
                         f" valid range, rule T2), not {number}")
    return number


def _seconds(value: object) -> float:
    """A span of the clock: a finite number of seconds, 0 or more (T1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"seconds must be an int or a float, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"seconds must be finite and not negative, not {value!r}")
    return float(value)


def _backlog(value: object) -> int:
    """listen()'s backlog as the queue bound it makes (S4)."""
    number = _as_int(value)
    if number is None:
        raise TypeError(f"backlog must be an int, not {type(value).__name__}")
    if number < 0:  # SOMAXCONN_HINT(N) is -N
        low, high = _HINT_LIMITS
        return max(low, min(-number, high))
    return max(1, min(number, _MAX_BACKLOG))


def _in_family(family: Family, stack: Family, host: str) -> str:
    """``host`` (of ``stack``) as a ``family`` socket sees it: IPv4 on a dual-stack IPv6
    socket is IPv4-mapped (L2)."""
    if family is Family.INET6 and stack is Family.INET:
        return f"::ffff:{host}"
    return host


class _Connections(_Binding):
    """listen, accept, TCP connections, closes, the clock and netstat's rows."""

    # --- the clock and TcpTimedWaitDelay (T1, T2) ------------------------------------

    @property
    def clock(self) -> float:
        """Seconds since boot on the machine's clock (T1)."""
        return self._conns.clock

    @property
    def time_wait_delay(self) -> int:
        """TcpTimedWaitDelay in force this boot, in seconds (T2)."""
        return self._time_wait_delay

    def advance(self, seconds: object) -> int:
        """Move the clock forward ``seconds``; TIME_WAIT endpoints whose delay is over go,
        and their ports with them (T1, T3).  Returns how many endpoints went.

        Raises:
            TypeError: ``seconds`` is not a number.
            ValueError: negative, infinite or NaN.
        """
        span = _seconds(seconds)
        with self.lock:
            return self._conns.advance(span)

    def set_time_wait_delay(self, seconds: object) -> None:
        """Store TcpTimedWaitDelay in the registry; it applies from the next reboot (T2).

        Raises:
            TypeError, ValueError: not an int in 30-300.
        """
        delay = check_time_wait_delay(seconds)
        with self.lock:
            store: Store = self._store
            store.set_time_wait_delay(delay)

    # --- listen and accept (S1-S9) ---------------------------------------------------

    def listen(self, pid: int, handle: int, backlog: object) -> None:
        """listen(): the socket takes connections (S1-S4).

        Raises:
            TypeError: ``backlog`` is not an int (what Python decides).
        """
        queue_bound = _backlog(backlog)
        with self.lock:
            sock = self._socket(pid, handle)
            if sock.protocol is not Protocol.TCP:
                raise refuse("S2", f"socket {handle:#x} is not a TCP socket")
            if sock.peer is not None or sock.conn is not None:
                raise refuse("S3", f"socket {handle:#x} is connected")
            if sock.host is None:
                raise refuse("S1", f"socket {handle:#x} is not bound")
            if sock.listening:
                return  # S4: success, and the backlog stays as it was
            if sock.deferred:  # O13 shared: a port waiting for connect is taken now (A4)
                space = self._spaces[Protocol.TCP]
                picked = self._draw_port(space, sock)
                if picked is None:
                    raise refuse("A13", f"no free TCP port in {space.dynamic(sock.family)!r}")
                sock.port, sock.deferred, sock.shared_port = picked, False, False
                space.bind(picked, handle)
            sock.listening, sock.backlog = True, queue_bound
            if sock.queue is None:
                sock.queue = deque()

    def accept(self, pid: int, handle: int, peer: tuple[str, int] | None = None,
               ) -> tuple[SocketInfo, str, int]:
        """accept(): the oldest waiting connection's new socket, and the client's address
        (S5-S7, S9).  ``peer`` (the client's address as the listener sees it) picks that
        client's connection instead: ``portpool.patch()`` matches the kernel's accept."""
        with self.lock:
            sock = self._socket(pid, handle)
            if sock.protocol is not Protocol.TCP:
                raise refuse("S6", f"socket {handle:#x} is not a TCP socket")
            if not sock.listening or sock.queue is None:
                raise refuse("S5", f"socket {handle:#x} is not listening")
            endpoints, queue = self._conns.endpoints, sock.queue
            if peer is None and queue and queue[0] in endpoints:
                chosen: int | None = queue[0]  # the common case: the oldest, not reset
            else:
                chosen = next((i for i in queue if i in endpoints and (peer is None or (
                    _in_family(sock.family, endpoints[i].family, endpoints[i].remote_host),
                    endpoints[i].remote_port) == tuple(peer))), None)  # reset ones are skipped
            if chosen is None:
                raise refuse("S7", f"no connection is waiting on socket {handle:#x} (the model"
                             " never blocks)")
            if queue[0] == chosen:  # the common case: the oldest
                queue.popleft()
            else:
                queue.remove(chosen)
            while queue and queue[0] not in endpoints:  # connections reset while waiting
                queue.popleft()
            conn = endpoints[chosen]
            new_handle = self._next_handle
            self._next_handle += 4
            host = _in_family(sock.family, conn.family, conn.local_host)
            peer = (_in_family(sock.family, conn.family, conn.remote_host), conn.remote_port)
            self._sockets[new_handle] = _Socket(
                new_handle, pid, sock.family, sock.type, Protocol.TCP, host=host,
                port=conn.local_port, reuse=sock.reuse, exclusive=sock.exclusive,
                v6only=sock.v6only, sharing=sock.sharing, peer=peer, conn=conn.id,
                linger=sock.linger, accepted=True)
            self._processes[pid].sockets.add(new_handle)
            conn.socket = new_handle
            info = SocketInfo(new_handle, sock.family, sock.type, Protocol.TCP, host,
                              conn.local_port, None)
            return info, peer[0], peer[1]

    # --- connect (the two halves _binding.connect calls) -------------------------------

    def _route(self, sock: _Socket, destination: tuple[Family, str | None], port: int,
               outside: bool = False) -> Route:
        stack, address = destination
        if sock.listening:
            raise refuse("S8", f"socket {sock.handle:#x} is listening")
        assert address is not None  # K3 refused the wildcard
        listener: _Socket | None = None
        if not outside and (address in self._local or _is_loopback(address)):
            listener = self._listener(stack, address, port)
            if listener is None:
                raise refuse("T10", f"nothing listens on {address} port {port}")
            queue, endpoints = listener.queue, self._conns.endpoints
            assert queue is not None
            if len(queue) >= listener.backlog and sum(
                    1 for i in queue if i in endpoints) >= listener.backlog:
                raise refuse("T10", f"the backlog of socket {listener.handle:#x} on port {port}"
                             f" is full ({listener.backlog} waiting for accept)")
        source = self._source(sock, stack, address, local=listener is not None)
        if sock.port is not None:
            seen = self._conns.find(source, sock.port, address, port)
            mirror = self._conns.find(address, port, source, sock.port)
            if seen is None and mirror is not None and mirror.state is not State.TIME_WAIT:
                seen = mirror
            if seen is not None:
                raise refuse("T7", f"a connection {seen.local_host}:{seen.local_port} <->"
                             f" {seen.remote_host}:{seen.remote_port} is still"
                             f" {seen.state.value}")
        return Route(stack, source, address, port, None if listener is None else listener.handle)

    def _shared_port(self, space: PortSpace, sock: _Socket, route: Route) -> int | None:
        """The local port of a connection that shares ports (O13 ``shared``): the first
        port at or after a drawn one (the machine's seeded generator, as O11 draws) that no
        block covers, that only sharing sockets and sharing connections use, and that has
        no connection to this peer yet (the 4-tuple is unique).  ``None``: every port has
        one (T8)."""
        entry = space.dynamic(sock.family)
        lo, hi = entry.start, entry.last
        start = lo + self._rng.randrange(hi - lo + 1)
        sockets, conns = self._sockets, self._conns
        bound, reserved, held = space.bound, space.reserved, space.held
        source, destination, peer_port = route.source, route.destination, route.port
        for port in itertools.chain(range(start, hi + 1), range(lo, start)):
            if port in reserved:
                continue
            if port in bound and not all(sockets[h].shared_port for h in space.holders(port)):
                continue
            if port in held and (conns.find(source, port, destination, peer_port) is not None
                                 or not all(e.shared for e in conns.at_port(port))):
                continue
            return port
        return None

    def _listener(self, stack: Family, address: str, port: int) -> _Socket | None:
        """The socket listening on ``address``:``port``: bound to that address, else the
        first bound to the stack's wildcard (T11)."""
        wildcard = None
        for handle in self._spaces[Protocol.TCP].holders(port):
            candidate = self._sockets[handle]
            if not candidate.listening:
                continue
            for where, bound in candidate.endpoints:
                if where is stack and bound == address:
                    return candidate
                if where is stack and bound is None and wildcard is None:
                    wildcard = candidate
        return wildcard

    def _source(self, sock: _Socket, stack: Family, destination: str, *, local: bool) -> str:
        """The local address of a connection: the socket's own if it is bound to one; else
        the destination when it is the machine's; else the machine's first address of the
        stack that is not loopback (the model has no routes, K1)."""
        for where, bound in sock.endpoints:
            if where is stack and bound is not None:
                return bound
        if local:
            return destination
        version = 4 if stack is Family.INET else 6
        own = sorted(a for a in self._local if ipaddress.ip_address(a).version == version
                     and not ipaddress.ip_address(a).is_loopback)
        return own[0] if own else _LOOPBACK[stack]

    def _connect_tcp(self, sock: _Socket, route: Route) -> None:
        assert sock.port is not None
        conns = self._conns
        stack, source, destination, port, listening = route
        local, remote = (source, sock.port), (destination, port)
        client = conns.add(stack, local, remote, pid=sock.pid, socket=sock.handle,
                           sharing=sock.sharing, accepted=False, shared=sock.shared_port)
        sock.conn = client.id
        if listening is None:
            return  # T9: a peer that is not the machine's
        listener = self._sockets[listening]
        old = conns.by_tuple.get((destination, port, source, sock.port))
        if old is not None:  # T7: the listener's side in TIME_WAIT takes the new connection
            conns.remove(conns.endpoints[old])
        server = conns.add(stack, remote, local, pid=listener.pid, socket=None,
                           sharing=listener.sharing, accepted=True)
        client.peer, server.peer = server.id, client.id
        assert listener.queue is not None
        listener.queue.append(server.id)

    # --- closing (T3, T4) --------------------------------------------------------------

    def _end_connections(self, sock: _Socket) -> None:
        endpoints = self._conns.endpoints
        if sock.listening and sock.queue:
            for waiting in sock.queue:  # S9: a listener's close resets what waits
                conn = endpoints.get(waiting)
                if conn is not None:
                    self._reset(conn)
            sock.queue.clear()
        if sock.conn is not None:
            conn = endpoints.get(sock.conn)
            sock.conn = None
            if conn is None:
                return
            if sock.linger is not None and sock.linger[0] and not sock.linger[1]:
                self._reset(conn)  # T4
            else:
                self._graceful(conn)  # T3

    def _reset(self, conn: Endpoint) -> None:
        """An abortive close: both endpoints go at once (T4)."""
        conns = self._conns
        peer = conns.endpoints.get(conn.peer) if conn.peer is not None else None
        conns.remove(conn)
        if peer is not None:
            conns.remove(peer)
            if peer.socket is not None:
                self._sockets[peer.socket].conn = None

    def _graceful(self, conn: Endpoint) -> None:
        """Its socket closes gracefully (T3, T9)."""
        conns = self._conns
        peer = conns.endpoints.get(conn.peer) if conn.peer is not None else None
        if conn.state is State.ESTABLISHED and conn.peer is None:
            conns.time_wait(conn, self._time_wait_delay)  # T9: the remote side closes too
        elif conn.state is State.ESTABLISHED and peer is not None:
            conn.state, conn.pid, conn.socket = State.FIN_WAIT_2, 0, None
            peer.state = State.CLOSE_WAIT
        else:  # CLOSE_WAIT: the other side closed first; it is now TIME_WAIT
            conns.remove(conn)
            if peer is not None and peer.state is State.FIN_WAIT_2:
                conns.time_wait(peer, self._time_wait_delay)

    def seed_connection(self, pid: int, family: object, local_host: str, local_port: int,
                        remote_host: str, remote_port: int, state: str) -> None:
        """A connection endpoint of a socket the model does not hold: one read from a
        real machine's ``netstat -ano`` (``portpool.netstat``), owned by process ``pid``
        (0: by none).  It holds its port (T8) and meets binds as T5 and T6 say; a
        TIME_WAIT one waits the whole TcpTimedWaitDelay from now.

        Raises:
            ValueError: an unknown or unfit state, a bad address or port, a pid that is
                not a live process, or the same connection twice.
        """
        try:
            kind = State(state)
        except ValueError:
            raise ValueError(f"state must be one of {[s.value for s in State]}, not"
                             f" {state!r}") from None
        stack = Family(family) if isinstance(family, int) else None
        if stack is None:
            raise ValueError(f"family must be a portpool.Family, not {family!r}")
        for host in (local_host, remote_host):
            address = ipaddress.ip_address(host)  # ValueError for a bad one
            if (address.version == 4) != (stack is Family.INET):
                raise ValueError(f"{host} is not an {stack.name} address")
        for number in (local_port, remote_port):
            if not isinstance(number, int) or not 1 <= number <= 65535:
                raise ValueError(f"port {number!r} is not in 1-65535")
        with self.lock:
            process = self._processes.get(pid)
            if pid and (process is None or not process.alive):
                raise ValueError(f"process {pid} is not running on this machine")
            if self._conns.find(local_host, local_port, remote_host, remote_port) is not None:
                raise ValueError(f"the connection {local_host}:{local_port} <->"
                                 f" {remote_host}:{remote_port} is there already")
            conn = self._conns.add(stack, (local_host, local_port), (remote_host, remote_port),
                                   pid=pid if kind in (State.ESTABLISHED, State.CLOSE_WAIT) else 0,
                                   socket=None, sharing=Sharing.DEFAULT, accepted=False)
            if kind is State.TIME_WAIT:
                self._conns.time_wait(conn, self._time_wait_delay)
            else:
                conn.state = kind

    # --- what netstat lists (T12) -------------------------------------------------------

    def connections(self, protocol: object = None) -> tuple[Connection, ...]:
        """Every listening TCP socket, TCP connection endpoint and bound UDP socket, in
        netstat's order: TCP before UDP, IPv4 before IPv6, then by local address and
        port, remote address and port (T12)."""
        protocols = ((Protocol.TCP, Protocol.UDP) if protocol is None
                     else (_protocol_option(protocol),))
        with self.lock:
            rows: list[Connection] = []
            for proto in protocols:
                space = self._spaces[proto]
                for port in space.bound:
                    for handle in space.holders(port):
                        sock = self._sockets[handle]
                        if proto is Protocol.UDP:
                            rows.append(Connection(
                                proto, sock.family, sock.host or _WILDCARD[sock.family], port,
                                sock.peer[0] if sock.peer else None,
                                sock.peer[1] if sock.peer else None, None, sock.pid,
                                socket=handle))
                        elif sock.listening:
                            rows.append(Connection(
                                proto, sock.family, sock.host or _WILDCARD[sock.family], port,
                                None, None, "LISTENING", sock.pid, socket=handle))
                if proto is Protocol.TCP:
                    rows += (connection_value(conn) for conn in self._conns.endpoints.values())
            rows.sort(key=_netstat_order)
            return tuple(rows)

    def time_waiting(self) -> int:
        """How many TCP endpoints are in TIME_WAIT."""
        with self.lock:
            return self._conns.time_waiting()


def connection_value(conn: Endpoint) -> Connection:
    """An endpoint as the public value ``host.connections()`` and ``explain`` give."""
    return Connection(Protocol.TCP, conn.family, conn.local_host, conn.local_port,
                      conn.remote_host, conn.remote_port, conn.state.value, conn.pid,
                      conn.expires if conn.state is State.TIME_WAIT else None, conn.socket)


def _address_key(host: str | None) -> tuple[int, int]:
    if host is None:
        return (0, 0)
    try:
        return (1, int(ipaddress.ip_address(host.partition("%")[0])))
    except ValueError:  # pragma: no cover - the model holds only addresses
        return (2, 0)


def _netstat_order(row: Connection) -> tuple[int, int, tuple[int, int], int, tuple[int, int], int]:
    return (int(row.protocol is Protocol.UDP), int(row.family is Family.INET6),
            _address_key(row.local_host), row.local_port, _address_key(row.remote_host),
            row.remote_port or 0)
