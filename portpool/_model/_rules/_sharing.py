"""Sharing a port: addresses, options, accounts and stacks (REUSE's tables)."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("C1", "conflicts", "Same account, first socket default options on the wildcard: a second"
         " bind to the port gets, by its options and scope (default wildcard / specific, reuse"
         " wildcard / specific, exclusive wildcard / specific): INUSE, success, ACCESS, success,"
         " INUSE, success.", "REUSE (Windows Server 2003 and later, same user account, row"
         " Default/Wildcard)", D),
    Rule("C2", "conflicts", "Same account, first socket default options on a specific address:"
         " success, INUSE, success, ACCESS, INUSE, INUSE.", "REUSE (same account, row"
         " Default/Specific)", D),
    Rule("C3", "conflicts", "Same account, first socket SO_REUSEADDR on the wildcard: INUSE,"
         " success, success, success, INUSE, success.", "REUSE (same account, row"
         " SO_REUSEADDR/Wildcard)", D),
    Rule("C4", "conflicts", "Same account, first socket SO_REUSEADDR on a specific address:"
         " success, INUSE, success, success, INUSE, INUSE.", "REUSE (same account, row"
         " SO_REUSEADDR/Specific)", D),
    Rule("C5", "conflicts", "Same account, first socket SO_EXCLUSIVEADDRUSE on the wildcard:"
         " INUSE, ACCESS, ACCESS, ACCESS, INUSE, ACCESS.", "REUSE (same account, row"
         " SO_EXCLUSIVEADDRUSE/Wildcard)", D),
    Rule("C6", "conflicts", "Same account, first socket SO_EXCLUSIVEADDRUSE on a specific address:"
         " success, INUSE, success, ACCESS, INUSE, INUSE (a wildcard bind then covers every"
         " address but the first one's).", "REUSE (same account, row SO_EXCLUSIVEADDRUSE/"
         "Specific, and the note below the table)", D),
    Rule("C7", "conflicts", "Different accounts, first socket default options on the wildcard:"
         " INUSE, ACCESS, ACCESS, ACCESS, INUSE, ACCESS.  (Which processes share an account:"
         " the model compares account names without regard to case, as Windows logon names"
         " are; assumed.)", "REUSE (different user accounts, row"
         " Default/Wildcard: \"the second caller cannot set the SO_REUSEADDR option and"
         " successfully bind\")", D),
    Rule("C8", "conflicts", "Different accounts, first socket default options on a specific"
         " address: success, INUSE, success, ACCESS, INUSE, INUSE.", "REUSE (different"
         " accounts, row Default/Specific)", D),
    Rule("C9", "conflicts", "Different accounts, first socket SO_REUSEADDR on the wildcard:"
         " INUSE, ACCESS, success, success, INUSE, ACCESS.", "REUSE (different accounts, row"
         " SO_REUSEADDR/Wildcard)", D),
    Rule("C10", "conflicts", "Different accounts, first socket SO_REUSEADDR on a specific"
         " address: success, INUSE, success, success, INUSE, INUSE.", "REUSE (different"
         " accounts, row SO_REUSEADDR/Specific)", D),
    Rule("C11", "conflicts", "Different accounts, first socket SO_EXCLUSIVEADDRUSE on the"
         " wildcard: INUSE, ACCESS, ACCESS, ACCESS, INUSE, ACCESS.", "REUSE (different"
         " accounts, row SO_EXCLUSIVEADDRUSE/Wildcard)", D),
    Rule("C12", "conflicts", "Different accounts, first socket SO_EXCLUSIVEADDRUSE on a specific"
         " address: success, INUSE, success, ACCESS, INUSE, INUSE.", "REUSE (different"
         " accounts, row SO_EXCLUSIVEADDRUSE/Specific)", D),
    Rule("C13", "conflicts", "Two sockets meet only on the same protocol, port and stack, with the"
         " same address or the wildcard on either side: two different specific addresses"
         " never conflict, whatever the options and accounts.", "REUSE (\"When two sockets are"
         " bound to the same port number but on different explicit interfaces, there is no"
         " conflict\")", D),
    Rule("C14", "conflicts", "A dual-stack socket (IPV6_V6ONLY off) bound to the wildcard holds"
         " the port on both stacks, and its bind must pass the table on both.  The code for"
         " a dual-stack SO_EXCLUSIVEADDRUSE wildcard bind over an IPv4 socket on a specific"
         " address: see the alternatives.", "REUSE (\"the given port is reserved on both the IPv4"
         " and IPv6 networking stacks ... These checks must succeed on both networking"
         " stacks\"); WINE_SOCK (test_reuseaddr, tests_exclusive[6])", OBS, E.WSAEADDRINUSE),
    Rule("C20", "conflicts", "The other way round, a dual-stack TCP socket holding the IPv6"
         " wildcard meets later IPv4 binds on its IPv4 side more loosely than the tables say:"
         " without SO_EXCLUSIVEADDRUSE it does not stop an IPv4 wildcard bind at all (default or"
         " SO_EXCLUSIVEADDRUSE), while an IPv4 bind on a specific address meets it by the"
         " tables; with SO_EXCLUSIVEADDRUSE it refuses every IPv4 bind on the port with"
         " WSAEACCES.", "WINE_SOCK (test_reuseaddr, tests_exclusive[1], [10], [11] and [14];"
         " test_ipv6only: a dual-stack SO_EXCLUSIVEADDRUSE [::]:P, then an SO_REUSEADDR"
         " 0.0.0.0:P gives WSAEACCES); the SO_REUSEADDR holder, and an SO_REUSEADDR or"
         " SO_EXCLUSIVEADDRUSE IPv4 wildcard under an SO_EXCLUSIVEADDRUSE holder, are assumed"
         " to follow the same pattern; the tests bind TCP sockets only, so UDP keeps the"
         " tables (C14)", OBS, E.WSAEACCES, check="Bind a dual-stack (IPV6_V6ONLY"
         " 0) SO_REUSEADDR socket to [::]:P, then an IPv4 SO_REUSEADDR socket to 0.0.0.0:P: this"
         " rule expects success; then a dual-stack SO_EXCLUSIVEADDRUSE [::]:Q and an IPv4"
         " SO_EXCLUSIVEADDRUSE 0.0.0.0:Q: this rule expects WSAEACCES."),
    Rule("C15", "conflicts", "IPv4 and IPv6 bind separately: an AF_INET socket and an AF_INET6"
         " socket (IPV6_V6ONLY on, the default) may hold the same port, wildcard or not.",
         "DUAL (\"By default, an IPv6 socket created on Windows Vista and later only operates"
         " over the IPv6 protocol\"); REUSE (the two networking stacks)", D),
    Rule("C16", "conflicts", "When several sockets hold the port, the new bind is checked against"
         " each that it meets, in the order they bound; the first refusal decides the code.",
         "model choice: REUSE's tables pair two sockets only", A, check="Bind socket 1 with"
         " SO_REUSEADDR to 0.0.0.0:P and socket 2 with SO_REUSEADDR to 127.0.0.1:P (same"
         " account), then bind a default socket to 127.0.0.1:P: the first holder (C3) says"
         " success, the second (C4) INUSE; this rule expects WSAEADDRINUSE."),
    Rule("C17", "conflicts", "bind(0), connect's implicit bind and wildcard acquires never take a"
         " port any socket holds, on either stack: a port is either free for both IP versions or"
         " not free.", "model choice; D-R11 (one pool per protocol); BIND (port 0: \"a unique"
         " port\")", A, check="Bind AF_INET6 [::1]:P (v6-only), then bind AF_INET sockets to"
         " 0.0.0.0:0 repeatedly in a range of 255 ports holding P: this rule expects P never"
         " to be returned."),
    Rule("C18", "conflicts", "A socket's options are read when it binds; the table compares the"
         " first socket's options as they were at its bind.", "EXCL (the option must be set"
         " \"before the socket is bound\"); REUSE (\"before calling bind\")", D),
    Rule("C19", "conflicts", "UDP sockets of one process that set SIO_CPU_AFFINITY (msquic's"
         " per-processor sockets) may all bind the same address and port, whatever the table"
         " says; other sockets meet them by the table.  Needing the same process is assumed,"
         " and so is reading the affinity at each bind (setting it after the first socket bound"
         " still lets later ones share).",
         "D-R29: msquic creates one SIO_CPU_AFFINITY socket per processor, associates each"
         " with one 1-port token and binds each to the same port (MSQUIC, datapath_winuser.c:"
         " \"This IOCTL allows for creating per-processor sockets for the same UDP port\")", OBS,
         check="D-Q5: make two UDP sockets with SIO_CPU_AFFINITY 0 and 1 in one process and"
         " bind both to [::]:P without a reservation; then repeat from two processes: this rule"
         " expects success, then WSAEADDRINUSE."),
)

# Where the evidence conflicts: every candidate behaviour, the default first.
ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("C14", "table", "The bind fails as the same-account or different-account table"
                " says for an SO_EXCLUSIVEADDRUSE wildcard bind over a specific one"
                " (WSAEADDRINUSE).", "WINE_SOCK (test_reuseaddr, tests_exclusive[6]: IPv4"
                " 127.0.0.1:P, then a dual-stack SO_EXCLUSIVEADDRUSE [::]:P gives WSAEADDRINUSE on"
                " Windows); REUSE (both tables, column SO_EXCLUSIVEADDRUSE/Wildcard, rows"
                " Default/Specific and SO_REUSEADDR/Specific: INUSE)", OBS, E.WSAEADDRINUSE),
    Alternative("C14", "access", "The bind fails with WSAEACCES, as REUSE's paragraph on"
                " dual-stack sockets says for exactly this case.", "REUSE (\"if an IPv4 TCP socket"
                " was previously bound to the loopback address on port 5000, the bind call for"
                " the dual stack socket would fail with WSAEACCES\")", D, E.WSAEACCES),
)
