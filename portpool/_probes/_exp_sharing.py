"""Experiments for sharing a port, local addresses, socket options and connect (C, L, O
and K rules; C14, O5 and K2, which have alternatives, are in ``_exp_alternatives.py``).

Offsets in the scratch block used here: 206-209; new experiments take 250-255 or share
a block only with experiments whose sockets are closed by then (each runs alone)."""

from __future__ import annotations

import itertools
from functools import partial

from .._types import (
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    SO_REUSEADDR,
    SOL_SOCKET,
)
from ._kit import (
    LOOP4,
    UDP,
    E,
    Finding,
    addr,
    by_code,
    decisive,
    expects,
    experiment,
    scratch_port,
    tcp_socket,
    udp_socket,
)
from ._lab import Lab, Skip

_IPV6_UNICAST_HOPS = 4  # ws2ipdef.h
_SO_RANDOMIZE_PORT = 0x3005  # ws2def.h
_SO_REUSE_UNICASTPORT = 0x3007  # ws2def.h

# --- sharing, addresses, options ----------------------------------------------------------


@experiment("C16", "SO_REUSEADDR on 0.0.0.0:P and 127.0.0.1:P, then a default bind to 127.0.0.1:P")
def _c16(lab: Lab) -> Finding:
    port = scratch_port(lab, 206)
    first, second, third = tcp_socket(lab), tcp_socket(lab), tcp_socket(lab)
    for sock, host in ((first, "0.0.0.0"), (second, LOOP4)):
        lab.see("SO_REUSEADDR 1", partial(sock.setsockopt, SOL_SOCKET, SO_REUSEADDR, 1))
        if not lab.see(f"bind {host}:{port}", partial(sock.bind, (host, port))).ok:
            raise Skip("the setup binds failed")
    return lab.see(f"bind {LOOP4}:{port}", lambda: third.bind((LOOP4, port))).code == int(
        E.WSAEADDRINUSE)


@experiment("C17", "bind [::1]:P; fill a 255-port ipv4 range holding P with bind(0)", admin=True)
def _c17(lab: Lab) -> Finding:
    start = lab.scratch.start
    held = start + 7
    six = udp_socket(lab, v6=True)
    if not lab.see(f"bind [::1]:{held}", lambda: six.bind(addr(held, v6=True))).ok:
        raise Skip("the setup bind failed")
    if not lab.set_dynamic(UDP, start, 255).ok:
        raise Skip("netsh set dynamicport failed")
    ports = []
    for _ in range(254):
        sock = udp_socket(lab)
        if lab.see("bind port 0", partial(sock.bind, ("0.0.0.0", 0))).ok:
            ports.append(sock.getsockname()[1])
    lab.evidence[:] = [line for line in lab.evidence if "bind port 0 -> ok" not in line]
    lab.note(f"{len(ports)} bind(0) succeeded; port {held} {'was' if held in ports else 'was not'}"
             " among them")
    return held not in ports


@experiment("L3", "bind an IPv6-only socket to ::ffff:127.0.0.1")
def _l3(lab: Lab) -> Finding:
    sock = udp_socket(lab, v6=True)
    return expects("L3", lab.see("bind ('::ffff:127.0.0.1', 0)",
                                 lambda: sock.bind(("::ffff:127.0.0.1", 0, 0, 0))))


@experiment("L4", "bind UDP sockets to 255.255.255.255:0 (no SO_BROADCAST) and 239.1.2.3:0")
def _l4(lab: Lab) -> Finding:
    one, two = udp_socket(lab), udp_socket(lab)
    broadcast = lab.see("bind 255.255.255.255:0", lambda: one.bind(("255.255.255.255", 0)))
    multicast = lab.see("bind 239.1.2.3:0", lambda: two.bind(("239.1.2.3", 0)))
    decisive(lab, -2)
    if multicast.ok or multicast.code != E.WSAEADDRNOTAVAIL:
        return False
    return by_code("L4", broadcast)


@experiment("O2", "IPV6_UNICAST_HOPS on an AF_INET socket; level 12345")
def _o2(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    return expects("O2", lab.see("setsockopt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 1) on AF_INET",
                                 lambda: sock.setsockopt(IPPROTO_IPV6, _IPV6_UNICAST_HOPS, 1)),
                   lab.see("setsockopt(12345, 1, 1)", lambda: sock.setsockopt(12345, 1, 1)))


@experiment("O3", "SO_REUSEADDR with an empty value, then read it back")
def _o3(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    empty = lab.see("setsockopt(SOL_SOCKET, SO_REUSEADDR, b'')",
                    lambda: sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, b""))
    got = lab.see("getsockopt SO_REUSEADDR", lambda: sock.getsockopt(SOL_SOCKET, SO_REUSEADDR))
    return empty.ok and got.ok and got.value == 0


@experiment("O8", "IPV6_V6ONLY on an AF_INET socket: read, set before bind, set after bind")
def _o8(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    first = lab.see("getsockopt IPV6_V6ONLY", lambda: sock.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY))
    before = lab.see("setsockopt IPV6_V6ONLY 0", lambda: sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0))
    lab.see("bind 0.0.0.0:0", lambda: sock.bind(("0.0.0.0", 0)))
    after = lab.see("setsockopt IPV6_V6ONLY 1 after bind",
                    lambda: sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1))
    return first.ok and first.value == 1 and before.ok and expects("O8", after)


@experiment("O10", "what a new TCP socket reads for SO_RCVBUF, SO_SNDBUF, IP_TTL and the"
            " keep-alive options")
def _o10(lab: Lab) -> Finding:
    sock = tcp_socket(lab)
    wanted = {"SO_RCVBUF": (SOL_SOCKET, 0x1002, 65536), "SO_SNDBUF": (SOL_SOCKET, 0x1001, 65536),
              "IP_TTL": (0, 4, 128), "TCP_KEEPALIVE": (6, 3, 7200), "TCP_KEEPCNT": (6, 16, 10),
              "TCP_KEEPINTVL": (6, 17, 1)}
    agree = True
    for name, (level, option, value) in wanted.items():
        got = lab.see(f"getsockopt {name}", partial(sock.getsockopt, level, option))
        agree = agree and got.ok and got.value == value
    return agree


@experiment("O11", "SO_RANDOMIZE_PORT on 20 UDP sockets, each bound to port 0")
def _o11(lab: Lab) -> Finding:
    ports = []
    for _ in range(20):
        sock = udp_socket(lab)
        lab.see("setsockopt SO_RANDOMIZE_PORT 1",
                partial(sock.setsockopt, SOL_SOCKET, _SO_RANDOMIZE_PORT, 1))
        sock.bind(("0.0.0.0", 0))
        ports.append(sock.getsockname()[1])
    lab.note(f"ports {ports}")
    steps = [b - a for a, b in itertools.pairwise(ports)]
    return sum(1 for step in steps if 0 < step <= 64) < 0.8 * len(steps)


@experiment("K3", "connect a TCP socket to 127.0.0.1 port 0")
def _k3(lab: Lab) -> Finding:
    sock = tcp_socket(lab)
    return expects("K3", lab.see("connect 127.0.0.1:0", lambda: sock.connect((LOOP4, 0))))


@experiment("O12", "SO_PORT_SCALABILITY shares a wildcard port among local addresses only"
             " once the dynamic range is used up, on Windows Server: the probe does not exhaust"
             " a machine's range (run the rule's check by hand)", runnable=False)
def _o12(lab: Lab) -> Finding:  # pragma: no cover - not runnable
    raise Skip("it would take every port of the TCP dynamic range")


@experiment("O13", "SO_REUSE_UNICASTPORT 1 on a TCP socket, bind 127.0.0.1:0, getsockname")
def _o13(lab: Lab) -> Finding:
    sock = tcp_socket(lab)
    lab.see("setsockopt SO_REUSE_UNICASTPORT 1",
            partial(sock.setsockopt, SOL_SOCKET, _SO_REUSE_UNICASTPORT, 1))
    if not lab.see(f"bind {LOOP4}:0", lambda: sock.bind((LOOP4, 0))).ok:
        raise Skip("the bind failed")
    name = lab.see("getsockname", sock.getsockname)
    if not name.ok:
        return None
    decisive(lab)
    return "shared" if name.value[1] == 0 else "off"


@experiment("O14", "SO_REUSE_UNICASTPORT 1, then SO_RANDOMIZE_PORT 1, on a TCP socket; the other"
             " order on another")
def _o14(lab: Lab) -> Finding:
    first, second = tcp_socket(lab), tcp_socket(lab)
    lab.see("A: setsockopt SO_REUSE_UNICASTPORT 1",
            partial(first.setsockopt, SOL_SOCKET, _SO_REUSE_UNICASTPORT, 1))
    refused = lab.see("A: setsockopt SO_RANDOMIZE_PORT 1",
                      partial(first.setsockopt, SOL_SOCKET, _SO_RANDOMIZE_PORT, 1))
    lab.see("B: setsockopt SO_RANDOMIZE_PORT 1",
            partial(second.setsockopt, SOL_SOCKET, _SO_RANDOMIZE_PORT, 1))
    other = lab.see("B: setsockopt SO_REUSE_UNICASTPORT 1",
                    partial(second.setsockopt, SOL_SOCKET, _SO_REUSE_UNICASTPORT, 1))
    return expects("O14", refused) and other.ok


@experiment("O7", "set SO_REUSEADDR to 7, read it back")
def _o7(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    lab.see("setsockopt SO_REUSEADDR 7", lambda: sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 7))
    got = lab.see("getsockopt SO_REUSEADDR", lambda: sock.getsockopt(SOL_SOCKET, SO_REUSEADDR))
    return got.ok and got.value == 1
