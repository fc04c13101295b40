"""connect and its implicit bind."""

from __future__ import annotations

from typing import Final

from ._schema import A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("K1", "connect", "connect on an unbound socket binds it first, as bind to the wildcard"
         " and port 0 would (W1, with C17), then records the peer; a bound socket keeps its"
         " address.  The address it takes is the one of the interface the route to the peer"
         " leaves by (GETSOCKNAME): for a loopback peer the loopback address (127.0.0.1, ::1);"
         " for any other peer the model, having no routes, keeps the wildcard (a known"
         " simplification).", "CONNECT (\"If the socket is unbound, unique values are assigned"
         " to the local association by the system\"); GETSOCKNAME; WINE_SOCK (test_AcceptEx,"
         " test_shutdown: the connector's getsockname is the address the accepting side sees,"
         " 127.0.0.1 for a loopback connection)", D),
    Rule("K2", "connect", "connect on an associated, unbound socket: where its port comes from is"
         " undocumented; see the alternatives.", "D-Q6 (\"associate and then connect() without"
         " bind (does auto-bind take a block port?)\")", A, check="D-Q6: acquire 60000+10,"
         " associate a TCP socket, connect it to a listening socket: a local port in"
         " 60000-60009 settles `block`, one in the dynamic range `dynamic`."),
    Rule("K3", "connect", "connect to the wildcard address (TCP) or to port 0 fails.  For a UDP"
         " socket the wildcard means something else (K7); port 0 with another address failing"
         " for UDP too is assumed.", "CONNECT (WSAEADDRNOTAVAIL: \"The remote address is not a"
         " valid address (such as INADDR_ANY or in6addr_any)\", in the paragraph on"
         " connection-oriented sockets): the wildcard half; port 0 is not on the page, so that"
         " half, and the rule's label, are assumed", A, E.WSAEADDRNOTAVAIL, check="connect a TCP"
         " socket to 127.0.0.1:0: this rule expects WSAEADDRNOTAVAIL."),
    Rule("K7", "connect", "connect of a UDP socket to the all-zero address disconnects it: the"
         " peer is forgotten (getpeername then fails, K5) and the binding stays.", "CONNECT (\"If"
         " the address member of the structure specified by name is filled with zeros, the"
         " socket will be disconnected\", for connectionless sockets)", D),
    Rule("K4", "connect", "connect on a connected TCP socket fails; a UDP socket may connect"
         " again, which replaces its peer.", "CONNECT (WSAEISCONN: \"The socket is already"
         " connected (connection-oriented sockets only)\"; for a connectionless socket"
         " \"the default destination can be changed by simply calling connect again\")", D,
         E.WSAEISCONN),
    Rule("K5", "connect", "getpeername on a socket that is not connected fails.", "GETPEERNAME"
         " (WSAENOTCONN: \"The socket is not connected\")", D, E.WSAENOTCONN),
    Rule("K6", "connect", "connect to an address that is not one of the machine's (L1) succeeds at"
         " once: the model has no network beyond the machine, so nothing there refuses or times"
         " out, and SO_BROADCAST is not modelled (CONNECT's WSAEACCES for a datagram connect to a"
         " broadcast address without it does not occur).  A TCP connect to one of the machine's"
         " own addresses meets its listeners (T10, S9).", "model choice: the port pool is local;"
         " CONNECT's network codes (WSAETIMEDOUT, WSAENETUNREACH, WSAEACCES for broadcast) are not"
         " modelled", A, check="none: this is the model's scope, not a claim about Windows."),
    # --- carried traffic (portpool.patch()) ------------------------------------------------
    Rule("P1", "connect", "An AF_INET6 socket bound to the IPv6 wildcard with IPV6_V6ONLY 0 (a"
         " dual-stack socket) also accepts IPv4 clients connecting to its port on an IPv4 address;"
         " accept (and getpeername) give such a peer as an IPv4-mapped IPv6 address"
         " (::ffff:a.b.c.d).  Without the option (IPv6-only, the default, O6) an IPv4 client is"
         " not connected to it.", "DUAL (\"This dual-stack socket can accept connections from"
         " IPv6 TCP clients connecting to port 5001 and from IPv4 TCP clients connecting to port"
         " 5001\"; \"For a dual-stack socket in listening mode, this means that any accepted IPv4"
         " connections will return an IPv4-mapped IPv6 address\")", D),
    Rule("P2", "connect", "connect on a non-blocking TCP socket that cannot complete at once"
         " fails with WSAEWOULDBLOCK; the outcome comes later: the socket becomes writable when"
         " the connection is made, and a refused attempt is reported when it completes, with"
         " getsockopt(SO_ERROR) giving the code (WSAECONNREFUSED).  select reports the failure in"
         " exceptfds; Python's selectors and asyncio on Windows fold exceptfds into write"
         " readiness, which is how the patch reports it.", "CONNECT (\"With a nonblocking"
         " socket, the connection attempt cannot be completed immediately. In this case, connect"
         " will return SOCKET_ERROR, and WSAGetLastError will return WSAEWOULDBLOCK\"; \"Use the"
         " select function to determine the completion of the connection request by checking to"
         " see if the socket is writeable\"); SELECT (exceptfds: \"If processing a connect call"
         " (nonblocking), connection attempt failed\"); GETSOCKOPT (SO_ERROR)", D),
)

# Where the evidence conflicts: every candidate behaviour, the default first.
ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("K2", "block", "The implicit bind takes a port of the associated block, as"
                " bind(0) would (R5); a full block fails with WSAEADDRINUSE (A1).", "assumed:"
                " ASSOC (the association applies to the socket's bind, and connect binds"
                " implicitly)", A),
    Alternative("K2", "dynamic", "The implicit bind ignores the association and takes a port"
                " from the dynamic range (W1).", "assumed: CONNECT's implicit bind is described"
                " without reservations", A),
)
