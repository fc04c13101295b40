"""TCP connections, the clock and TIME_WAIT (T1-T12); listen and accept (S1-S9)."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    # --- listen and accept -------------------------------------------------------------
    Rule("S1", "server", "listen on a socket that is not bound fails.", "LISTEN (WSAEINVAL:"
         " \"The socket has not been bound with bind\")", D, E.WSAEINVAL),
    Rule("S2", "server", "listen on a socket that is not TCP (UDP) fails.", "LISTEN"
         " (WSAEOPNOTSUPP: \"The referenced socket is not of a type that supports the listen"
         " operation\")", D, E.WSAEOPNOTSUPP),
    Rule("S3", "server", "listen on a connected socket fails.", "LISTEN (WSAEISCONN: \"The"
         " socket is already connected\")", D, E.WSAEISCONN),
    Rule("S4", "server", "listen on a listening socket succeeds and keeps its backlog.  The"
         " backlog bounds the connections waiting for accept: values below 1 count as 1, values"
         " above 200 (SOMAXCONN included) as 200, and SOMAXCONN_HINT(N) (a negative backlog -N)"
         " as N kept within 200-65535.", "LISTEN (\"If the listen function is called on an"
         " already listening socket, it will return success without changing the value for the"
         " backlog parameter\"; \"Illegal values are replaced by the nearest legal value\";"
         " SOMAXCONN_HINT(N) \"adjusted to be within the range (200, 65535)\"); the limits 1 and"
         " 200 for plain values are assumed", A, check="listen(s, 2), then connect 3 clients"
         " without accepting: this rule expects the third refused with WSAECONNREFUSED (T10);"
         " listen(s, 5) again changes nothing (the third is refused again)."),
    Rule("S5", "server", "accept on a socket that is not listening fails.", "ACCEPT (WSAEINVAL:"
         " \"The listen function was not invoked prior to accept\")", D, E.WSAEINVAL),
    Rule("S6", "server", "accept on a socket that is not TCP (UDP) fails.", "ACCEPT"
         " (WSAEOPNOTSUPP: \"The referenced socket is not a type that supports"
         " connection-oriented service\")", D, E.WSAEOPNOTSUPP),
    Rule("S7", "server", "accept with no connection waiting fails at once: the model never"
         " blocks, so every socket behaves as a nonblocking one here.", "ACCEPT (WSAEWOULDBLOCK:"
         " \"The socket is marked as nonblocking and no connections are present to be"
         " accepted\"); a blocking socket would wait on Windows", A, E.WSAEWOULDBLOCK,
         check="none: the model's scope (it never waits), not a claim about Windows."),
    Rule("S8", "server", "connect on a listening socket fails.", "CONNECT (WSAEINVAL: \"The"
         " parameter s is a listening socket\")", D, E.WSAEINVAL),
    Rule("S9", "server", "accept returns a new socket for the oldest waiting connection: bound to"
         " the address the client connected to and the listener's port, connected to the"
         " client's address and port, with the listener's options.  A connection is made when the"
         " client connects (the model completes the handshake at once); until accepted it waits"
         " in the listener's queue, which netstat shows as ESTABLISHED with the listener's PID."
         "  An accepted socket shares the listener's port without holding it as a bind does:"
         " binds meet its connection only as T5 and T6 say.", "ACCEPT (\"extracts the first"
         " connection on the queue of pending connections\"; the new socket \"has the same"
         " properties as socket s\"); LISTEN (\"incoming connection requests are acknowledged and"
         " queued pending acceptance\")", D),
    # --- the clock, TIME_WAIT and ports held by connections ------------------------------
    Rule("T1", "connections", "Each machine has a clock: seconds since boot, moved only by"
         " host.advance(seconds); a reboot sets it to 0.  Nothing in the model reads the wall"
         " clock, so the same seed and calls give the same result.", "model choice: time is"
         " the model's input, as the seed is", A, check="none: the model's scope, not a claim"
         " about Windows."),
    Rule("T2", "connections", "TcpTimedWaitDelay, how long a connection stays in TIME_WAIT, is"
         " a machine setting kept in the store: 120 seconds unless set, valid from 30 to 300"
         " seconds, read at boot (a change applies from the next reboot, as registry parameters"
         " of Tcpip do).  EmulatedHost(time_wait_delay=...) sets it for a new machine; a value"
         " outside 30-300 raises ValueError.", "KB314053 (\"Valid range: 30-300 (decimal)\","
         " \"Default: 0x78 (120 decimal)\"; the page is written for Windows XP and Server 2003,"
         " whose IPv6 stack kept 240; that Windows 10 and 11 keep 120 for both stacks is"
         " assumed); KB196271", D),
    Rule("T3", "connections", "The side of a TCP connection that closes first keeps its endpoint"
         " after its socket is gone: FIN_WAIT_2 while the other side's socket is open (that side"
         " is then CLOSE_WAIT), then TIME_WAIT for TcpTimedWaitDelay once the other side has"
         " closed too.  The side that closes second keeps nothing.  host.advance() past the"
         " delay ends the TIME_WAIT.", "RFC793 (3.5, the close sequences); KB314053"
         " (TcpTimedWaitDelay \"determines the time that a"
         " connection stays in the TIME_WAIT state when it is closing\", the \"2MSL\" state of"
         " RFC 793); NETSTAT_ZH (a server's closed connections in TIME_WAIT); that FIN_WAIT_2"
         " lasts until the peer closes (no FIN_WAIT_2 timer) is the model's simplification", D),
    Rule("T4", "connections", "closesocket with SO_LINGER on and a zero timeout (l_onoff != 0,"
         " l_linger == 0) resets the connection: neither side keeps an endpoint, so no TIME_WAIT"
         " holds the port.  A nonzero timeout closes gracefully, as without the option (T3).",
         "CLOSESOCKET (\"This is called a hard or abortive close, because the socket's virtual"
         " circuit is reset immediately\"); REUSE (\"The SO_LINGER socket option may be set on a"
         " socket to prevent the port from transitioning to an 'active' wait state\"); LINGER", D),
    Rule("T5", "connections", "A bind without SO_REUSEADDR to a port whose other users are only"
         " TCP connections (accepted sockets of a listener that closed, FIN_WAIT_2, CLOSE_WAIT,"
         " TIME_WAIT): the sources disagree, see the alternatives.  No listener or bound socket"
         " is involved: those follow the tables (C1-C19).", "LIBUV_1360; CURL_8528; WASI_87;"
         " LIBUV_1379", OBS, check="Listen on 127.0.0.1:P, connect a client, accept, close the"
         " accepted socket first, then the client, then the listener (the server side is now in"
         " TIME_WAIT, `netstat -ano | findstr :P`); bind a new default socket to 127.0.0.1:P:"
         " success settles `succeeds`, WSAEADDRINUSE `inuse`."),
    Rule("T6", "connections", "A bind with SO_EXCLUSIVEADDRUSE to a port with connections that"
         " a listener with SO_EXCLUSIVEADDRUSE accepted (still open, or lingering after close:"
         " FIN_WAIT_2, CLOSE_WAIT, TIME_WAIT): the documentation and an experiment disagree, see"
         " the alternatives.", "REUSE; TRIO_EXCL; LIBUV_1360", D, E.WSAEADDRINUSE,
         check="As T5 with SO_EXCLUSIVEADDRUSE set on the listener and on the new socket:"
         " WSAEADDRINUSE settles `inuse`, success `succeeds`."),
    Rule("T7", "connections", "connect fails when a connection with the same local address and"
         " port and the same peer address and port still exists, TIME_WAIT included (a socket"
         " bound explicitly, with SO_REUSEADDR, to the port of a connection in TIME_WAIT, that"
         " connects to the same peer).  When only the listener's side of such a connection is"
         " left, in TIME_WAIT, the new connection takes its place (RFC 1122 4.2.2.13 lets a"
         " TIME_WAIT connection accept a new SYN; assumed for Windows).", "CONNECT"
         " (WSAEADDRINUSE: \"The socket's local address is already in use ... could be delayed"
         " until the connect function\"); KB314053 (\"the socket pair cannot be re-used\");"
         " CURL_8528", OBS, E.WSAEADDRINUSE),
    Rule("T8", "connections", "Every connection endpoint, open or lingering (FIN_WAIT_2,"
         " CLOSE_WAIT, TIME_WAIT), keeps its local port out of bind(0) and connect's implicit"
         " bind (on both stacks, as C17).  When no port of the dynamic range is left, connect's"
         " implicit bind fails with WSAENOBUFS; bind(0) fails as A13 says.", "KB196271 (10055"
         " \"when you try to connect\" once the ephemeral ports are used; \"TCPTimedWaitDelay"
         " ... determines how long a closed port waits until the closed port can be reused\");"
         " CONNECT (WSAENOBUFS: \"No buffer space is available. The socket cannot be"
         " connected\")", D, E.WSAENOBUFS),
    Rule("T9", "connections", "A TCP connect to an address that is not the machine's makes a"
         " connection with one endpoint (K6): the remote side is not modelled; when the local"
         " socket closes, the remote side is taken to close at once, so the endpoint goes"
         " straight to TIME_WAIT (T3).  A remote side that closes first, or resets, does not"
         " occur.", "model choice: the model has no network (K6)", A, check="none: the model's"
         " scope, not a claim about Windows."),
    Rule("T10", "connections", "A TCP connect to one of the machine's own addresses and a port"
         " where no socket listens on that address (or the wildcard of its stack) fails, as"
         " does one to a listener whose backlog is full (S4); the socket stays as it was"
         " (unbound, if it was).", "CONNECT (WSAECONNREFUSED: \"The attempt to connect was"
         " forcefully rejected\"); LISTEN (\"If a connection request arrives and the queue is"
         " full, the client will receive an error with an indication of WSAECONNREFUSED\");"
         " that a refused connect leaves no implicit bind behind is the model's rule (a failed"
         " call changes nothing)", D, E.WSAECONNREFUSED),
    Rule("T11", "connections", "When several sockets listen on the port, a connection goes to"
         " the one bound to the exact address the client connected to, else to the first that"
         " bound the wildcard of that stack (a dual-stack listener counts for IPv4).", "REUSE"
         " (with SO_REUSEADDR \"any incoming TCP connection requests over the port cannot be"
         " guaranteed to be handled by the correct socket\"); the specific-before-wildcard order"
         " is assumed", A, check="Bind socket A with SO_REUSEADDR to 0.0.0.0:P and socket B to"
         " 127.0.0.1:P, listen on both, connect to 127.0.0.1:P: this rule expects B's accept to"
         " return the connection and A's to find none."),
    Rule("T12", "connections", "netstat -ano lists listening TCP sockets (LISTENING, foreign"
         " address 0.0.0.0:0 or [::]:0), every TCP connection endpoint with its state, and every"
         " bound UDP socket (foreign address *:*, or its peer once connected); a TCP socket that"
         " is bound but neither listening nor connected is not listed.  Endpoints no process"
         " owns (TIME_WAIT, and FIN_WAIT_2 after close) show PID 0.", "NETSTAT_DOC; NETSTAT_ZH"
         " (TIME_WAIT rows with PID 0); NETSTAT_UDP (UDP rows *:*, a connected UDP row with its"
         " peer); that bound-only TCP sockets are missing: Get-NetTCPConnection shows them as"
         " Bound (MicrosoftDocs/windows-powershell-docs PR #500), netstat does not; PID 0 for"
         " orphaned FIN_WAIT_2 is assumed", OBS),
    Rule("T13", "connections", "netstat shows the model's connections in four states only:"
         " ESTABLISHED, FIN_WAIT_2, CLOSE_WAIT and TIME_WAIT.  The states a connection passes"
         " through while a segment is in flight (SYN_SENT and SYN_RECEIVED during the handshake,"
         " FIN_WAIT_1 and CLOSING before the first FIN is acknowledged, LAST_ACK before the"
         " second one is) last one round trip, microseconds on a loopback connection, and are"
         " never seen: the model delivers every segment at once, so connect makes an"
         " ESTABLISHED connection and a close goes straight to the state the segment's answer"
         " leads to.", "RFC793 (3.4, 3.5: which state waits for which segment); NETSTAT_DOC"
         " (the states netstat can print); that the in-flight states never show is the model's"
         " choice (it has no time between a segment and its answer)", A, check="none: the"
         " model's scope (it has no network delay), not a claim about Windows."),
)

# Where the evidence conflicts: every candidate behaviour, the default first.
ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("T5", "succeeds", "The bind succeeds: Windows does not check connections"
                " (TIME_WAIT included) when binding; the conflict shows later, as T7 at"
                " connect.", "LIBUV_1360 (a libuv maintainer); CURL_8528 (\"bind() still"
                " returns 0\"); WASI_87", OBS),
    Alternative("T5", "inuse", "The bind fails with WSAEADDRINUSE until the connections are"
                " gone, as on Linux without SO_REUSEADDR (the \"server restarted and got 10048"
                " for two minutes\" reports).", "LIBUV_1379 (bind errors now and then on Windows"
                " 8); users' reports of servers that cannot rebind at once", A,
                E.WSAEADDRINUSE),
    Alternative("T6", "inuse", "The bind fails with WSAEADDRINUSE while any such connection"
                " exists (the code is assumed: the page says the socket \"cannot bind\").",
                "REUSE (\"if a listening socket with SO_EXCLUSIVEADDRUSE set accepts a"
                " connection and is then subsequently closed, another socket (also with"
                " SO_EXCLUSIVEADDRUSE) cannot bind to the same port as the first socket until the"
                " original connection becomes inactive\"); LIBUV_1360", D, E.WSAEADDRINUSE),
    Alternative("T6", "succeeds", "The bind succeeds: SO_EXCLUSIVEADDRUSE conflicts only with"
                " listening and bound sockets, not with connections.", "TRIO_EXCL (an"
                " experiment on Windows, \"contra MSDN\")", OBS),
)
