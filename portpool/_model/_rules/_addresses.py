"""Local addresses: which addresses a machine has, mapped and group addresses."""

from __future__ import annotations

from typing import Final

from ._schema import A, D, E, Rule

__all__ = ["RULES"]

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
    Rule("L4", "addresses", "Multicast and broadcast addresses are not the machine's: bind to"
         " them fails like any other foreign address (SO_BROADCAST and multicast delivery are"
         " not modelled).", "BIND lists WSAEACCES for a broadcast bind without SO_BROADCAST;"
         " the model's code for both is assumed", A, E.WSAEADDRNOTAVAIL, check="Bind a UDP"
         " socket to 255.255.255.255:0 and to 239.1.2.3:0: this rule expects WSAEADDRNOTAVAIL"
         " for both (BIND suggests WSAEACCES for the broadcast one)."),
)
