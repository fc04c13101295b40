"""Socket options: the options Windows has (portpool/_model/_sockopts.py), their lengths,
SO_REUSEADDR / SO_EXCLUSIVEADDRUSE / IPV6_V6ONLY, and the options that change port choice."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("O1", "options", "setsockopt and getsockopt know the options Windows has"
         " (portpool/_model/_sockopts.py: the SOL_SOCKET options, TCP_NODELAY and the TCP"
         " keep-alive ones, the IPPROTO_IP and IPPROTO_IPV6 ones), keep what they are set to"
         " and read it back; an option Windows lacks at a valid level, one that does not exist"
         " for the socket's type (SO_LINGER on UDP), and setting a read-only one (SO_TYPE,"
         " SO_ACCEPTCONN, SO_MAX_MSG_SIZE, SO_CONNECT_TIME) fail.", "SOLSOCK; SETSOCKOPT,"
         " GETSOCKOPT (WSAENOPROTOOPT: \"The option is unknown or unsupported\"); WINE_SOCK"
         " (test_set_getsockopt, test_sockopt_validity: -1 is WSAENOPROTOOPT;"
         " test_extendedSocketOptions: SO_LINGER on UDP; test_WSASocket: SO_TYPE; test_listen:"
         " SO_ACCEPTCONN)", OBS, E.WSAENOPROTOOPT),
    Rule("O2", "options", "A level other than SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP"
         " and IPPROTO_UDP fails; so do IPPROTO_IP options on an AF_INET6 socket and"
         " IPPROTO_IPV6 ones on an AF_INET socket, except IPV6_V6ONLY (O8).", "SETSOCKOPT"
         " (WSAEINVAL: \"level is not valid\"); WINE_SOCK (test_set_getsockopt and"
         " test_extendedSocketOptions: levels 0xffffffff, 0x1234ffff, 0x8000ffff, 0x8000 and 0x800"
         " give WSAEINVAL); the cross-family case is assumed (SagerNet/sing#109 reports WSAEINVAL"
         " for IPPROTO_IP options on an IPv6 socket)", OBS, E.WSAEINVAL,
         check="setsockopt(AF_INET socket, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 1): this rule"
         " expects WSAEINVAL."),
    Rule("O3", "options", "Lengths: setsockopt reads at most the option's width (1 byte for"
         " SO_KEEPALIVE, SO_DONTROUTE, TCP_NODELAY, IPV6_V6ONLY and the hop and TTL options, 4"
         " for the rest); fewer bytes are accepted only by the options that take a BOOLEAN or"
         " byte (the SOL_SOCKET BOOLs, TCP_NODELAY, the IP hop, TTL and loop options); an"
         " optlen of 0 is accepted only by the SOL_SOCKET BOOLs (and changes nothing); a NULL"
         " optval, or a shorter value elsewhere, fails.", "WINE_SOCK (test_set_getsockopt:"
         " test_optsize[] and the TCP_NODELAY lengths 1, 4 and 42); that an empty SOL_SOCKET BOOL"
         " changes nothing is assumed", OBS, E.WSAEFAULT, check="setsockopt(s, SOL_SOCKET,"
         " SO_REUSEADDR, &one, 0), then getsockopt: this rule expects success and 0."),
    Rule("O4", "options", "SO_REUSEADDR and SO_EXCLUSIVEADDRUSE exclude each other: setting one"
         " on (non-zero) while the other is on fails and changes nothing; setting either off"
         " always succeeds; both read 0 on a new socket.", "PAL_REUSE; WINE_SOCK (test_reuseaddr:"
         " both orders give WSAEINVAL); REUSE's tables have no column for both", OBS,
         E.WSAEINVAL),
    Rule("O5", "options", "SO_REUSEADDR, SO_EXCLUSIVEADDRUSE or IPV6_V6ONLY set after bind: see"
         " the alternatives.  Either way the binding keeps the options it bound with (C18).",
         "EXCL, DUAL (\"before the socket is bound\"), silent on what happens after; WSL_982"
         " (IPV6_V6ONLY after bind: \"On Windows, this call returns success\")", OBS,
         check="Bind a socket, then setsockopt SO_EXCLUSIVEADDRUSE 1 and IPV6_V6ONLY 0 (on an"
         " AF_INET6 one): success settles `accepted`, WSAEINVAL `refused`."),
    Rule("O6", "options", "IPV6_V6ONLY is on by default on AF_INET6 sockets; a value of 0 makes"
         " the socket dual-stack.", "DUAL (\"By default, an IPv6 socket ... only operates over"
         " the IPv6 protocol\"; \"set this value to zero before the socket is bound\")", D),
    Rule("O7", "options", "BOOL options read back 0 or 1 whatever non-zero value set them.",
         "WINE_SOCK (test_set_getsockopt: 0x100 reads back 1 for the SOL_SOCKET BOOLs;"
         " IP_DONTFRAGMENT 0xdead reads 1); SETSOCKOPT (\"a nonzero value ... enables\")", OBS),
    Rule("O8", "options", "An AF_INET socket has IPV6_V6ONLY too: it reads 1, and may be set"
         " while the socket is unbound; after bind setting it fails.  It changes nothing for an"
         " IPv4 socket.", "WINE_SOCK (test_ipv6only: getsockopt gives 1, setsockopt 0 and 1"
         " succeed before bind, both fail after it); the code after bind is assumed", OBS,
         E.WSAEINVAL, check="Bind an AF_INET socket, then setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0):"
         " this rule expects WSAEINVAL."),
    Rule("O9", "options", "An option that exists but does not apply to the socket's type fails"
         " (the IP and IPv6 multicast, packet-info and receive options on TCP, IP_HDRINCL on"
         " anything but SOCK_RAW), and so does a value above an option's range (IP_TTL, IP_TOS,"
         " the hop limits, IP_MULTICAST_TTL and TCP_KEEPCNT take 0-255).", "WINE_SOCK"
         " (test_sockopt_validity; test_set_getsockopt: test_optsize's accepts_large_value)",
         OBS, E.WSAEINVAL),
    Rule("O10", "options", "What a new socket reads: 0 for the BOOLs but SO_DONTLINGER (1) and"
         " IPV6_V6ONLY (1, O6, O8); IP_DONTFRAGMENT 1 on TCP and 0 on UDP; SO_CONNECT_TIME"
         " 0xFFFFFFFF until connected; SO_TYPE the socket's type; SO_RCVBUF and SO_SNDBUF 65536,"
         " IP_TTL and IPV6_UNICAST_HOPS 128, TCP_KEEPALIVE 7200, TCP_KEEPCNT 10, TCP_KEEPINTVL 1,"
         " SO_MAX_MSG_SIZE 65507; SO_DONTLINGER is the negation of SO_LINGER's l_onoff.",
         "WINE_SOCK (test_reuseaddr, test_ipv6only, test_broadcast, test_so_debug,"
         " test_set_getsockopt IP_DONTFRAGMENT, test_connect_time, test_extendedSocketOptions);"
         " the buffer sizes, TTLs and keep-alive values are assumed (Windows 10's usual values)",
         A, check="getsockopt SO_RCVBUF, SO_SNDBUF, IP_TTL, TCP_KEEPALIVE, TCP_KEEPCNT and"
         " TCP_KEEPINTVL on a new TCP socket: this rule expects 65536, 65536, 128, 7200, 10, 1."),
    Rule("O11", "options", "SO_RANDOMIZE_PORT on: the socket's wildcard port (bind(0),"
         " connect's implicit bind, a wildcard block) is drawn at random from the free ports,"
         " and the machine's counter (A4) moves just past it.", "WS2DEF (\"randomize assignment"
         " of wildcard ports\"); CHROME_RANDOM (the opt-in Chrome sets); that the counter"
         " follows the drawn port is assumed", A, check="Set SO_RANDOMIZE_PORT on 20 UDP"
         " sockets and bind each to port 0, closing none: this rule expects no counting up;"
         " a plain bind(0) after the last lands just past the last drawn port."),
    Rule("O12", "options", "SO_PORT_SCALABILITY (a BOOL, set before bind) on a socket that binds"
         " a specific local address to port 0: the port is found as A4 finds one; when no port of"
         " the range is free, the first port at or after the machine's counter that only sockets"
         " which took it with SO_PORT_SCALABILITY hold, each on another address of the machine,"
         " is handed out again, so one wildcard port serves once per local address.  A socket without the"
         " option never gets such a port from bind(0) (for it the port is bound), and an explicit"
         " bind meets the holders as the tables say (C13: other addresses do not meet).  Binds to"
         " a wildcard address, and ports that connections hold, are drawn as without the option."
         "  Microsoft documents the option for Windows Server; the model has no editions and"
         " applies it on every machine.", "PORTSCAL (\"allocating wildcard ports multiple times for"
         " different local address port pairs\"; \"bind ... for a specified address and wildcard"
         " port\"; \"If a wildcard port is acquired using the SO_PORT_SCALABILITY option, that"
         " port cannot be allocated by another socket without the SO_PORT_SCALABILITY option\";"
         " \"To have any effect, the SO_PORT_SCALABILITY option must be set before the bind"
         " function is called\"; minimum supported client: none); SOLSOCK; that free ports"
         " come first and the walk from the counter are assumed", D,
         check="On a Windows Server with two addresses A and B,"
         " as an administrator narrow the TCP dynamic range to 255 ports (netsh int ipv4 set"
         " dynamicport tcp start=60000 num=255), bind 255 TCP sockets with SO_PORT_SCALABILITY"
         " to (A, 0), then one more with the option to (B, 0) and one without it to (B, 0):"
         " this rule expects the first to succeed with one of the 255 ports and the second to"
         " fail as A13.  Restore the range."),
    Rule("O13", "options", "SO_REUSE_UNICASTPORT (a BOOL, 0 on a new socket), which a connect"
         " that binds implicitly has on by default, lets TCP connections to different peers share"
         " one local port where the machine has an auto-reuse port range"
         " (Set-NetTCPSetting -AutoReusePortRangeStartPort / -AutoReusePortRangeNumberOfPorts;"
         " 0 ports turns the feature off): whether a machine shares is set there, not by the"
         " option alone; see the alternatives.", "SOLSOCK; PS_TCPSETTING; DOTNET_48219;"
         " DOTNET_54903; DOTNET_109141; DOTNET_OPTTEST (a new TCP socket reads 0 on Windows 10)",
         OBS, check="Get-NetTCPSetting shows AutoReusePortRangeNumberOfPorts; then on a TCP"
         " socket set SO_REUSE_UNICASTPORT 1, bind 127.0.0.1:0 and call getsockname: port 0"
         " (the port waits for connect) settles `shared`, a port of the dynamic range `off`."),
    Rule("O14", "options", "setsockopt SO_RANDOMIZE_PORT on (non-zero) on a socket with"
         " SO_REUSE_UNICASTPORT on fails and changes nothing (ports chosen for port reuse are"
         " randomized already); the other order, and setting SO_RANDOMIZE_PORT off, succeed.",
         "SOLSOCK (SO_RANDOMIZE_PORT: \"if an application sets SO_REUSE_UNICASTPORT and then"
         " attempts to set SO_RANDOMIZE_PORT, the second setsockopt call fails\"); the code, and"
         " that the other order succeeds, are assumed", D, E.WSAEINVAL, check="On a TCP socket"
         " setsockopt SO_REUSE_UNICASTPORT 1, then SO_RANDOMIZE_PORT 1: this rule expects"
         " WSAEINVAL; on a new socket SO_RANDOMIZE_PORT 1, then SO_REUSE_UNICASTPORT 1: both"
         " succeed."),
)

# Where the evidence conflicts: every candidate behaviour, the default first.
ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("O5", "accepted", "The call succeeds and changes the option's value, which no"
                " longer affects the binding.", "WSL_982 (IPV6_V6ONLY after bind: \"On Windows,"
                " this call returns success\"); EXCL (\"must be set before bind ... to have any"
                " effect\"): no error is named", OBS),
    Alternative("O5", "refused", "The call fails with WSAEINVAL and changes nothing.", "none"
                " found for Windows; Linux refuses IPV6_V6ONLY after bind with EINVAL", A,
                E.WSAEINVAL),
    Alternative("O13", "off", "Windows' default, no auto-reuse port range: the option is kept"
                " and changes nothing.  bind(0) takes a port at once (A4) and every connection"
                " takes a port of its own whatever its peer (T8), so a client runs out after the"
                " dynamic range's worth of connections, to one peer or to many.", "PS_TCPSETTING"
                " (\"If you specify 0, the auto-reuse feature is disabled and ephemeral ports are"
                " drawn instead from the dynamic port range ..., even if SO_REUSE_UNICASTPORT is"
                " set on a socket\"); DOTNET_54903 (port reuse seen \"if and only if\" the range"
                " is configured and the machine rebooted)", OBS),
    Alternative("O13", "shared", "A machine with an auto-reuse port range (the model takes it to"
                " be the stack's TCP dynamic range): a TCP connect that binds implicitly, and a"
                " TCP socket with SO_REUSE_UNICASTPORT bound to port 0 (that bind takes no port:"
                " getsockname gives port 0 until connect), get their local port at connect, drawn"
                " with the machine's seeded generator as SO_RANDOMIZE_PORT draws (O11): the"
                " first port at or after a drawn one that no block covers, that only such"
                " sharing sockets and their connections use (TIME_WAIT included), and that has"
                " no connection to the same peer address and port.  So connections to"
                " different peers share local ports, the same 4-tuple never occurs twice, and a"
                " client runs out per peer (WSAENOBUFS, T8, once every port has a connection to"
                " that peer).  bind(0) of other sockets skips such ports, and explicit binds meet"
                " their sockets as the tables say (C1-C12).  listen on a socket whose port waits"
                " for connect takes a port then (A4).", "SOLSOCK; PS_TCPSETTING (the auto-reuse"
                " range serves \"outbound TCP connections for which either SO_REUSE_UNICASTPORT"
                " has been set on the socket, or for which connect() has been called without"
                " calling bind()\"); DOTNET_48219 (\"socket.Bind() will not allocate a local"
                " port, instead, actual port allocation will be deferred until the ConnectEx"
                " call, allowing local port reuse\"); SOLSOCK (SO_RANDOMIZE_PORT: \"Auto-reuse ports"
                " (ports selected using SO_REUSE_UNICASTPORT) also randomize the returned"
                " port\"); DOTNET_109141 (\"Port reuse can help if"
                " you're talking to multiple different servers, it won't do anything if you're"
                " only establishing connections to a single server\").  How the draw walks, the"
                " range, and listen's port are assumed", OBS),
)
