"""Association and bind: tokens, explicit and wildcard binds, blocks in the way."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("R5", "associate", "SIO_ASSOCIATE_PORT_RESERVATION, issued before bind, makes"
         " bind(port 0) take a free port from the reservation.", "ASSOC (\"the port assigned"
         " to it will be selected from the port reservation\"); D-R23, D-R26", D),
    Rule("R6", "associate", "An associated socket may bind an explicit free port inside its"
         " block; the acquiring socket itself may be associated and bound.", "MSQUIC; the"
         " seed sample; D-R27, D-R28", OBS),
    Rule("A1", "associate", "bind(port 0) on an associated socket whose block has no free"
         " port left fails.", "ASSOC (\"the bind function call will fail\"); D-R23, D-Q1: the"
         " code is assumed", A, E.WSAEADDRINUSE, check="D-Q1: acquire a specific 2-port UDP"
         " block at 60000, associate three new UDP sockets with the token and bind each to"
         " port 0: the first two get 60000 and 60001; this rule expects the third to fail with"
         " WSAEADDRINUSE."),
    Rule("A6", "associate", "Associating a token of the other protocol fails.", "D-R30, D-Q8:"
         " not documented", A, E.WSAEINVAL, check="D-Q8: acquire 60000+10 on a UDP socket and"
         " associate its token with a new TCP socket: this rule expects WSAEINVAL."),
    Rule("A7", "associate", "Associating a socket that is already bound, or already"
         " associated, fails.", "ASSOC (\"must be issued before the socket is bound\"); D-R23,"
         " D-Q6: the code is assumed", A, E.WSAEINVAL, check="D-Q6: bind a UDP socket to port"
         " 0, then associate a live token (this rule expects WSAEINVAL); associate an unbound"
         " socket twice with one token (this rule expects WSAEINVAL for the second)."),
    Rule("A11", "associate", "Associating or releasing a token that names no live"
         " reservation fails.", "D-R30, D-Q8: not documented", A, E.WSAEINVAL,
         check="D-Q8: associate a UDP socket with token 0x1234, which was never granted, and"
         " release that token: this rule expects WSAEINVAL for both."),
    Rule("A12", "associate", "Associating a runtime token from another process than the"
         " acquiring one fails.", "ACQ (\"reservations be consumed from the process on whose"
         " socket the reservation was granted\"; D-R20); the code is assumed", A, E.WSAEACCES,
         check="D-Q7: acquire 60000+10 in process A, pass the token's value to process B and"
         " associate it with a B socket: this rule expects WSAEACCES."),
    Rule("R7", "associate", "Associating a persistent token needs an elevated administrator;"
         " others get WSAEACCES.", "ASSOC (\"the function call will fail and WSAEACCES is"
         " returned\"); D-R25", D, E.WSAEACCES),
    Rule("R14", "associate", "Any elevated process may associate any persistent token: there"
         " is no inter-component security for persistent reservations.", "CREATE (\"Windows"
         " does not implement inter-component security for persistent reservations\"); D-R44",
         D),
    Rule("A17", "associate", "An associated socket binding an explicit port outside its block"
         " follows the plain-socket rules.", "D-R27, D-Q5(b): not documented", A,
         check="D-Q5(b): acquire 60000+10, associate a UDP socket and bind it explicitly to"
         " the free port 60020: this rule expects success, as for a plain socket."),
    Rule("W1", "bind", "bind(port 0) on a plain socket takes a free port from its dynamic"
         " range (Y4).  That it never lands inside a block is X4.", "BIND (\"the service"
         " provider assigns a unique port to the application from the dynamic client port"
         " range\"); D-R52", D),
    Rule("R17", "bind", "A plain explicit bind (no association) to a port inside another"
         " process's runtime block fails with WSAEACCES, not WSAEADDRINUSE.  The caller's own"
         " runtime blocks are X14, administered blocks X15, system exclusions X2.", "D-R22"
         " (weak: msquic reserved ports \"to make sure other processes fail to use the same"
         " port in parallel\", MSQUIC_2017; the code is not reported), WSAEACCES by analogy"
         " with system exclusions (D-R55, X2)", A, E.WSAEACCES, check="D-Q5(f): acquire"
         " 60000+10 on a UDP socket of process A and keep it open; from process B bind a plain"
         " UDP socket to 60005: this rule expects WSAEACCES."),
    Rule("X14", "bind", "A plain explicit bind (no association) to a port inside a runtime"
         " block of the caller's own process.  The evidence is weak either way: see the"
         " alternatives.", "D-R22; D-Q5(e); MSQUIC_2017", A, E.WSAEACCES, check="D-Q5(e): in"
         " process A acquire 60000+10 on UDP socket S; bind a new unassociated UDP socket of A"
         " to 60004, and bind S itself (not associated) to 60005.  WSAEACCES settles"
         " `refused`; success settles `succeeds`."),
    Rule("X15", "bind", "A plain explicit bind (no association) to a port inside an"
         " administered block: a persistent reservation, made by CreatePersistent*"
         "PortReservation or netsh add excludedportrange (the `*` rows).  Direct observations"
         " and a 2026 statement by msquic's maintainers disagree: see the alternatives.",
         "D-R48; D-Q17, D-Q18; KB3039044", D, check="D-Q18: as an administrator"
         " CreatePersistentTcpPortReservation(htons(60000), 10, &token); from a non-elevated"
         " process bind a plain TCP socket to 127.0.0.1:60001.  Success settles `succeeds`;"
         " WSAEACCES settles `refused`.  Repeat with a row made by netsh int ipv4 add"
         " excludedportrange protocol=tcp startport=60100 numberofports=10: the two may differ"
         " (D-Q17)."),
    Rule("W2", "bind", "bind to the same address and port another socket of the same stack has"
         " bound fails unless the conflict table (C1-C12) lets the two share it; sockets that"
         " do not meet (C13, C15) never conflict.", "BIND (WSAEADDRINUSE: \"already bound to the"
         " same fully qualified address\"); REUSE", D, E.WSAEADDRINUSE),
    Rule("A23", "bind", "A port that is both inside a runtime block and bound (by an associated"
         " socket) refuses a plain bind with WSAEACCES: the block is checked first.",
         "observed for system exclusions (X2: K8S_107114, port 47001 both excluded and bound"
         " by System gave WSAEACCES); assumed for SIO_ACQUIRE blocks", A, check="Acquire"
         " 60000+10 in process A, associate a socket and bind it to 60003; from process B bind"
         " a plain UDP socket to 60003: this rule expects WSAEACCES (WSAEADDRINUSE would mean"
         " \"in use\" is checked first)."),
    Rule("W3", "bind", "bind on a socket that is already bound fails.", "BIND (WSAEINVAL:"
         " \"the socket s is already bound to an address\")", D, E.WSAEINVAL),
    Rule("W4", "bind", "bind with an address of the wrong family, or host text that names no"
         " address of the socket's family (a bad IP literal), fails.  A port outside 0-65535"
         " never reaches Windows: Python's socket, and portpool's interface, raise"
         " OverflowError first.", "BIND (WSAEFAULT: \"an incorrect address format for the"
         " associated address family\"), for the wrong family; the bad-IP-literal half is"
         " portpool's own convention (CPython resolves host text, or raises gaierror, before"
         " Winsock is called); CPython's socketmodule (\"port must be 0-65535\")", D, E.WSAEFAULT),
    Rule("W14", "bind", "bind or connect with a sockaddr whose family Winsock does not know"
         " (neither AF_INET nor AF_INET6) fails.", "WINE_SOCK (test_bind: sa_family 0xdead"
         " gives WSAEAFNOSUPPORT)", OBS, E.WSAEAFNOSUPPORT),
    Rule("W12", "bind", "Host text is read as the sockaddr inet_pton makes of it: an IPv6"
         " scope (fe80::1%1) is dropped, an empty scope (::1%) or a scope on an IPv4 address"
         " names no address (W4), and getsockname and the bindings print the address back in"
         " canonical form (0.0.0.0 or :: for the unspecified address \"\").  A known"
         " simplification: Python's socket resolves the text with getaddrinfo, which keeps the"
         " scope id.", "model choice, shared by both backends (portpool._types.parse_host);"
         " BIND for the sockaddr", A, check="With Python's socket on Windows, bind an AF_INET6"
         " socket to ('fe80::1%N', 0), N a real interface index, and read getsockname(): Windows"
         " is expected to report scope id N where the model reports 0."),
    Rule("A24", "bind", "A SOCK_RAW socket binds an address but no port: it takes nothing from"
         " either pool, and getsockname reports port 0.", "BIND (\"may also be used to bind to"
         " a raw socket\"); the reported port is assumed.  RAW forbids bind on a raw"
         " IPPROTO_TCP socket on Windows 7, Vista and XP SP2 clients, which the model does not",
         A, check="As an administrator, socket(AF_INET, SOCK_RAW, IPPROTO_UDP),"
         " bind 127.0.0.1:0 and read getsockname: this rule expects port 0."),
    Rule("W5", "bind", "getsockname on a socket that is not bound fails.", "GETSOCKNAME"
         " (WSAEINVAL: \"The socket has not been bound to an address with bind\")", D,
         E.WSAEINVAL),
)

# Where the evidence conflicts: every candidate behaviour, the default first.
ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("X14", "refused", "The bind fails with WSAEACCES, as for another process's"
                " block (R17).", "assumed: D-R22 infers WSAEACCES for runtime blocks by"
                " analogy with system exclusions (D-R55); no report covers the own-process"
                " case", A, E.WSAEACCES),
    Alternative("X14", "succeeds", "The bind succeeds, as if the block were not there; other"
                " processes are still refused (R17).", "MSQUIC_2017: a msquic maintainer,"
                " before association was added, \"I'm not getting any bind failures on the"
                " other sockets\" (D-R22); but the draft under review applied htons() to a port"
                " already in network order (the reviewer asks \"Is ...sin_port already in"
                " network byte order?\"), so the block it reserved was the byte-swapped port and"
                " the remark says nothing about binds into the block: assumed", A),
    Alternative("X15", "succeeds", "The bind succeeds for any process, as if the block were"
                " not there; the block still keeps bind(0) and wildcard acquires out (X4) and"
                " makes a specific acquire fail (X5).", "SO_ADMIN (Go net.Listen succeeded on"
                " the `*` range 50000-50059 only); MSQUIC_2891 (\"Binding a socket to this port"
                " works without issues\"); DOCKER_15452 and WILD_OBS §B (administered rows are"
                " added so that one's own server can bind the port: a German blog, samples"
                " 08-10; tempetflamer/squid_windows_multi_network_interface; the FrameLink"
                " runbook; httptoolkit/httptoolkit#611); KB3039044 (Microsoft: after netsh add"
                " excludedportrange the first SO_REUSEADDR bind to the port succeeds, only a"
                " second one fails, on Server 2008 R2-2012 R2); D-R48", D),
    Alternative("X15", "refused", "The bind fails with WSAEACCES unless the socket is"
                " associated with the reservation's token, which only an elevated process can"
                " do (R7).", "MSQUIC_CIBIR (a persistent reservation \"forbids sockets from"
                " binding to it unless it is associated with a persistent reservation token,"
                " which can only happen in an elevated process\"); SCCACHE_1128 (a"
                " contributor's claim, \"makes sure nobody else can take your port range\");"
                " both may hold if netsh rows and API-made reservations differ (D-Q17, D-Q18;"
                " DOSSIER §8)", D, E.WSAEACCES),
)
