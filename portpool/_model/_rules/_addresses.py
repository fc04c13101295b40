"""Local addresses: which addresses a machine has, mapped and group addresses."""

from __future__ import annotations

from typing import Final

from ._schema import A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("L1", "addresses", "bind to an address the machine does not have fails; the wildcard"
         " and the machine's own addresses (EmulatedHost(addresses=...), by default loopback"
         " and one LAN address per family) succeed.", "BIND (WSAEADDRNOTAVAIL: \"The requested"
         " address is not valid in its context ... not a valid local IP address on this"
         " computer\")", D, E.WSAEADDRNOTAVAIL),
    Rule("L2", "addresses", "An IPv4-mapped address (::ffff:a.b.c.d) on a dual-stack socket binds"
         " the IPv4 address a.b.c.d on the IPv4 stack (which must be local, L1), and getsockname"
         " reports it in mapped form.", "DUAL (\"Any IPv4 addresses must be represented in the"
         " IPv4-mapped IPv6 address format\"; getsockname \"can return an IPv4-mapped IPv6"
         " address\")", D),
    Rule("L3", "addresses", "An IPv4-mapped address on an IPv6-only socket (the default) fails"
         " bind and connect with WSAEADDRNOTAVAIL.", "DUAL (\"any use of this IPv6 only socket"
         " with an IPv4-mapped IPv6 address will fail\"); the code is assumed", A,
         E.WSAEADDRNOTAVAIL, check="Bind an AF_INET6 socket (IPV6_V6ONLY left on) to"
         " ('::ffff:127.0.0.1', 0): this rule expects WSAEADDRNOTAVAIL."),
    Rule("L4", "addresses", "A bind to the broadcast address 255.255.255.255: the evidence"
         " conflicts, see the alternatives.  A multicast address is not the machine's either and"
         " fails with WSAEADDRNOTAVAIL, like any foreign address (assumed; multicast delivery is"
         " not modelled).", "BIND (WSAEACCES: \"an attempt to bind a datagram socket to the"
         " broadcast address failed because the setsockopt option SO_BROADCAST is not"
         " enabled\"); AUDIT §2.2 (other reports: WSAEADDRNOTAVAIL)", D, E.WSAEACCES,
         check="Bind a UDP socket to 255.255.255.255:0 without SO_BROADCAST: WSAEACCES settles"
         " `access`, WSAEADDRNOTAVAIL `not-available`; then bind one to 239.1.2.3:0: this rule"
         " expects WSAEADDRNOTAVAIL."),
)

ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("L4", "access", "Without SO_BROADCAST the bind fails with WSAEACCES; with it,"
                " the address is still not the machine's (WSAEADDRNOTAVAIL, as L1).", "BIND"
                " (WSAEACCES for a datagram bind to the broadcast address without SO_BROADCAST)",
                D, E.WSAEACCES),
    Alternative("L4", "not-available", "The bind fails with WSAEADDRNOTAVAIL, SO_BROADCAST or"
                " not, as for any address the machine does not have.", "AUDIT §2.2 (evidence"
                " beside BIND says WSAEADDRNOTAVAIL); portpool's earlier choice", A,
                E.WSAEADDRNOTAVAIL),
)
