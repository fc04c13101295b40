"""Sockets: socket()'s arguments and raw sockets (W6-W11)."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("W6", "sockets", "socket() with an address family other than AF_INET/AF_INET6"
         " (or AF_UNSPEC, W13) fails; the type is checked before it (W7).", "SOCKET"
         " (WSAEAFNOSUPPORT); WINE_SOCK (test_WSASocket: the order of the checks)", D,
         E.WSAEAFNOSUPPORT),
    Rule("W7", "sockets", "socket() with a type other than SOCK_STREAM, SOCK_DGRAM, SOCK_RAW or"
         " 0 (W13) fails; this is checked first (after W13's AF_UNSPEC case).", "SOCKET"
         " (WSAESOCKTNOSUPPORT); WINE_SOCK (test_WSASocket: {0xdead, 0xdead, IPPROTO_TCP} gives"
         " WSAESOCKTNOSUPPORT)", D, E.WSAESOCKTNOSUPPORT),
    Rule("W8", "sockets", "socket() with a protocol the stack does not know fails; checked after"
         " the type and the family.", "SOCKET (WSAEPROTONOSUPPORT); WINE_SOCK (test_WSASocket)",
         D, E.WSAEPROTONOSUPPORT),
    Rule("W9", "sockets", "socket() with a protocol of the wrong type (SOCK_STREAM with"
         " IPPROTO_UDP, SOCK_DGRAM with IPPROTO_TCP) fails with WSAEPROTONOSUPPORT; protocol 0"
         " picks TCP for SOCK_STREAM, UDP for SOCK_DGRAM.", "WINE_SOCK (test_WSASocket:"
         " WSAEPROTONOSUPPORT for both, on Windows; the SOCKET page lists WSAEPROTOTYPE for a"
         " protocol \"of the wrong type\", which Windows does not give here); SOCKET (\"If a value"
         " of 0 is specified ... the service provider will choose\")", OBS, E.WSAEPROTONOSUPPORT),
    Rule("W13", "sockets", "socket() with type 0 takes the type of the protocol's first"
         " provider (IPPROTO_TCP or 0: SOCK_STREAM; IPPROTO_UDP: SOCK_DGRAM; another: SOCK_RAW);"
         " AF_UNSPEC with a protocol makes an AF_INET socket (Windows 11 may make AF_INET6);"
         " AF_UNSPEC with protocol 0 fails with WSAEINVAL before anything else is checked.",
         "WINE_SOCK (test_WSASocket, tests 10-28)", OBS, E.WSAEINVAL),
    Rule("W10", "sockets", "A SOCK_RAW socket needs administrator rights.", "RAW"
         " (\"To use a socket of type SOCK_RAW requires administrative privileges\"; \"raw"
         " socket calls will fail with an error code of WSAEACCES\", enforced at socket"
         " creation on Vista and later)", D, E.WSAEACCES),
    Rule("W11", "sockets", "socket(AF_INET or AF_INET6, SOCK_RAW, 0) by an administrator:"
         " whether Windows accepts protocol 0 for a raw socket.  Two Microsoft pages disagree"
         " and the programs seen in the wild use it: see the alternatives.", "RAW; RCVALL;"
         " PYSOCK", OBS, check="As an administrator: socket(AF_INET, SOCK_RAW, 0) and"
         " socket(AF_INET6, SOCK_RAW, 0).  A valid SOCKET settles `accepted`; INVALID_SOCKET"
         " settles `refused` (record WSAGetLastError)."),
    Rule("R9a", "sockets", "The reservation IOCTLs on a socket that is neither TCP nor UDP"
         " (SOCK_RAW) fail.", "ACQ (WSAEOPNOTSUPP: \"on a socket other than UDP or TCP\");"
         " D-R9", D, E.WSAEOPNOTSUPP),
    Rule("R9b", "sockets", "Any call on a handle that is not a live socket of the calling"
         " process (closed, or another process's) fails.", "ACQ, BIND (WSAENOTSOCK)", D,
         E.WSAENOTSOCK),
    Rule("R9c", "sockets", "A reservation IOCTL whose input is not acceptable (a token or"
         " block that is not an integer of the right size) fails.", "ACQ (WSAEINVAL: \"the"
         " specified input parameter is not acceptable\")", D, E.WSAEINVAL),
    Rule("A19", "sockets", "Every call from a process that has exited (or that ran before a"
         " reboot) fails as if Winsock were not started.", "model choice: Windows has no"
         " such caller; WSANOTINITIALISED is what a process without WSAStartup gets (BIND)",
         A, E.WSANOTINITIALISED, check="Nothing to run: on Windows a process that has exited"
         " makes no calls.  The nearest experiment, bind() before WSAStartup, gives"
         " WSANOTINITIALISED (B13)."),
)

# Where the evidence conflicts: every candidate behaviour, the default first.
ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("W11", "accepted", "The socket is created: protocol 0 is IPPROTO_IP, the one"
                " SIO_RCVALL requires of an IPv4 raw socket.", "RCVALL (the socket must be"
                " \"created with the address family set to AF_INET, the socket type set to"
                " SOCK_RAW, and the protocol set to IPPROTO_IP\"); PYSOCK"
                " (socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IP));"
                " nospaceships/node-raw-socket#35 (protocol none: \"windows/10 None ok\");"
                " dotnet/corefx#17324 (SocketType.Raw with ProtocolType.IP \"work perfect on"
                " Windows\")", OBS),
    Alternative("W11", "refused", "socket() fails with WSAEPROTONOSUPPORT.", "RAW (\"An"
                " application may not specify zero (0) as the protocol parameter for the"
                " socket, WSASocket, and WSPSocket functions if the type parameter is set to"
                " SOCK_RAW\"); the page names no code.  WSAEPROTONOSUPPORT is assumed: it is"
                " SOCKET's code for a protocol that is not supported (SOCKET's WSAEINVAL is for"
                " AF_UNSPEC with type and protocol unspecified), and Linux answers the same call"
                " with EPROTONOSUPPORT (nospaceships/node-raw-socket#48)", D,
                E.WSAEPROTONOSUPPORT),
)
