"""Experiments for connections, TIME_WAIT and listen (rules S4, S7, T1, T5, T6, T9, T11, T13).

Each leaves connections in TIME_WAIT on its own scratch port (offsets 170-176): the lab
closes the sockets, and Windows (or the emulated machine) keeps the connections for
TcpTimedWaitDelay, which no other experiment's port meets.
"""

from __future__ import annotations

from .._types import SO_EXCLUSIVEADDRUSE, SOL_SOCKET
from ._kit import LOOP4, Finding, addr, by_code, experiment, scratch_port, tcp_socket
from ._lab import Lab, Skip


def _linger_in_time_wait(lab: Lab, port: int, *, exclusive: bool) -> None:
    """A listener on ``port`` accepts one client and closes first, then the client: the
    server's side of the connection is in TIME_WAIT, no socket is left on the port."""
    server = tcp_socket(lab)
    if exclusive:
        lab.see("listener: SO_EXCLUSIVEADDRUSE 1",
                lambda: server.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1))
    if not lab.see(f"listener: bind {LOOP4}:{port}", lambda: server.bind(addr(port))).ok:
        raise Skip(f"port {port} of the scratch block is in use")
    lab.see("listener: listen(5)", lambda: server.listen(5))
    client = tcp_socket(lab)
    if not lab.see(f"client: connect {LOOP4}:{port}", lambda: client.connect(addr(port))).ok:
        raise Skip("the client could not connect to the listener")
    accepted = lab.see("listener: accept", server.accept)
    if not accepted.ok:
        raise Skip("the listener accepted nothing")
    lab.see("accepted socket: close (the server closes first)", accepted.value[0].close)
    lab.see("listener: close", server.close)
    lab.see("client: close", client.close)
    lab.note(f"`netstat -ano | findstr :{port}` now shows {LOOP4}:{port} in TIME_WAIT")


@experiment("T5", "a listener accepts, closes first, then the client closes; bind a default"
             " socket to the port while the server's side is in TIME_WAIT")
def _t5(lab: Lab) -> Finding:
    port = scratch_port(lab, 170)
    _linger_in_time_wait(lab, port, exclusive=False)
    again = tcp_socket(lab)
    return by_code("T5", lab.see(f"new default socket: bind {LOOP4}:{port}",
                                 lambda: again.bind(addr(port))))


@experiment("T6", "as T5 with SO_EXCLUSIVEADDRUSE on the listener and on the new socket")
def _t6(lab: Lab) -> Finding:
    port = scratch_port(lab, 172)
    _linger_in_time_wait(lab, port, exclusive=True)
    again = tcp_socket(lab)
    lab.see("new socket: SO_EXCLUSIVEADDRUSE 1",
            lambda: again.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1))
    return by_code("T6", lab.see(f"new exclusive socket: bind {LOOP4}:{port}",
                                 lambda: again.bind(addr(port))))


@experiment("S4", "listen(s, 2); three clients connect without accept; listen(s, 5) again,"
             " accept one and connect a fourth")
def _s4(lab: Lab) -> Finding:
    port = scratch_port(lab, 174)
    server = tcp_socket(lab)
    if not lab.see(f"bind {LOOP4}:{port}", lambda: server.bind(addr(port))).ok:
        raise Skip(f"port {port} of the scratch block is in use")
    lab.see("listen(2)", lambda: server.listen(2))
    seen = [lab.see(f"client {n}: connect", lambda: tcp_socket(lab).connect(addr(port)))
            for n in (1, 2, 3)]
    again = lab.see("listen(5) again", lambda: server.listen(5))
    fourth = lab.see("client 4: connect (the backlog stays 2)",
                     lambda: tcp_socket(lab).connect(addr(port)))
    refused = 10061
    return (seen[0].ok and seen[1].ok and seen[2].code == refused and again.ok
            and fourth.code == refused)


@experiment("S7", "the model never blocks: its scope, not a claim about Windows", runnable=False)
def _s7(lab: Lab) -> Finding:  # pragma: no cover - not runnable
    raise Skip("nothing to run")


@experiment("T1", "the model's clock: its scope, not a claim about Windows", runnable=False)
def _t1(lab: Lab) -> Finding:  # pragma: no cover - not runnable
    raise Skip("nothing to run")


@experiment("T9", "the model has no network beyond the machine: its scope", runnable=False)
def _t9(lab: Lab) -> Finding:  # pragma: no cover - not runnable
    raise Skip("nothing to run")


@experiment("T11", "needs a non-blocking accept to see which listener got the connection: the"
             " probe's socket calls have none (run the rule's check by hand)", runnable=False)
def _t11(lab: Lab) -> Finding:  # pragma: no cover - not runnable
    raise Skip("a blocking accept on the listener that got nothing would wait forever")


@experiment("T13", "the states a segment in flight passes through last a round trip: the model's"
             " scope, not a claim about Windows", runnable=False)
def _t13(lab: Lab) -> Finding:  # pragma: no cover - not runnable
    raise Skip("nothing to run")
