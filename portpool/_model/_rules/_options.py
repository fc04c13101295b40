"""Socket options: SO_REUSEADDR, SO_EXCLUSIVEADDRUSE, IPV6_V6ONLY."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("O1", "options", "setsockopt and getsockopt know SOL_SOCKET's SO_REUSEADDR and"
         " SO_EXCLUSIVEADDRUSE and IPPROTO_IPV6's IPV6_V6ONLY (BOOL values); another option at"
         " one of these levels fails.", "SETSOCKOPT, GETSOCKOPT (WSAENOPROTOOPT: \"The option"
         " is unknown or unsupported\"); the model knows only the options that change binding",
         D, E.WSAENOPROTOOPT),
    Rule("O2", "options", "A level other than SOL_SOCKET, IPPROTO_IPV6 (on AF_INET6 sockets),"
         " IPPROTO_TCP and IPPROTO_UDP fails; IPPROTO_IPV6 on an AF_INET socket too.",
         "SETSOCKOPT (WSAEINVAL: \"level is not valid\"); the AF_INET case is assumed", A,
         E.WSAEINVAL, check="setsockopt(AF_INET socket, IPPROTO_IPV6, IPV6_V6ONLY, 1) and"
         " setsockopt(s, 12345, 1, 1): this rule expects WSAEINVAL for both."),
    Rule("O3", "options", "An option value shorter than a BOOL (4 bytes), or a NULL value,"
         " fails; getsockopt with a buffer shorter than 4 bytes too.", "SETSOCKOPT, GETSOCKOPT"
         " (WSAEFAULT: \"the optlen parameter is too small\"); that 1-3 bytes are too small is"
         " assumed", A, E.WSAEFAULT, check="setsockopt(s, SOL_SOCKET, SO_REUSEADDR, \"\\x01\","
         " 1): this rule expects WSAEFAULT."),
    Rule("O4", "options", "SO_REUSEADDR and SO_EXCLUSIVEADDRUSE exclude each other: setting one"
         " on (non-zero) while the other is on fails and changes nothing; setting either off"
         " always succeeds; both read 0 on a new socket.", "PAL_REUSE; REUSE's tables have no"
         " column for both", OBS, E.WSAEINVAL),
    Rule("O5", "options", "SO_REUSEADDR, SO_EXCLUSIVEADDRUSE or IPV6_V6ONLY set after bind: see"
         " the alternatives.  Either way the binding keeps the options it bound with (C18).",
         "EXCL, DUAL (\"before the socket is bound\"), silent on what happens after", A,
         check="Bind a socket, then setsockopt SO_EXCLUSIVEADDRUSE 1 and IPV6_V6ONLY 0 (on an"
         " AF_INET6 one): success settles `accepted`, WSAEINVAL `refused`."),
    Rule("O6", "options", "IPV6_V6ONLY is on by default on AF_INET6 sockets; a value of 0 makes"
         " the socket dual-stack.", "DUAL (\"By default, an IPv6 socket ... only operates over"
         " the IPv6 protocol\"; \"set this value to zero before the socket is bound\")", D),
    Rule("O7", "options", "BOOL options read back 0 or 1 whatever non-zero value set them.",
         "model choice: SETSOCKOPT (\"a nonzero value ... enables\"); the value read back is"
         " assumed", A, check="setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 7) then getsockopt:"
         " this rule expects 1."),
)

# Where the evidence conflicts: every candidate behaviour, the default first.
ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("O5", "accepted", "The call succeeds and changes the option's value, which no"
                " longer affects the binding.", "EXCL (\"must be set before bind ... to have any"
                " effect\"): no error is named", A),
    Alternative("O5", "refused", "The call fails with WSAEINVAL and changes nothing.", "none"
                " found for Windows; Linux refuses IPV6_V6ONLY after bind with EINVAL", A,
                E.WSAEINVAL),
)
