"""Experiments for sharing a port, local addresses, socket options and connect (C, L, O
and K rules; C14, O5 and K2, which have alternatives, are in ``_exp_alternatives.py``).

Offsets in the scratch block used here: 206-209; new experiments take 250-255 or share
a block only with experiments whose sockets are closed by then (each runs alone)."""

from __future__ import annotations

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
    expects,
    experiment,
    scratch_port,
    tcp_socket,
    udp_socket,
)
from ._lab import Lab, Skip

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


@experiment("L4", "bind UDP sockets to 255.255.255.255:0 and 239.1.2.3:0")
def _l4(lab: Lab) -> Finding:
    one, two = udp_socket(lab), udp_socket(lab)
    return expects("L4", lab.see("bind 255.255.255.255:0", lambda: one.bind(("255.255.255.255", 0))),
                   lab.see("bind 239.1.2.3:0", lambda: two.bind(("239.1.2.3", 0))))


@experiment("O2", "IPV6_V6ONLY on an AF_INET socket; level 12345")
def _o2(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    return expects("O2", lab.see("setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1) on AF_INET",
                                 lambda: sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1)),
                   lab.see("setsockopt(12345, 1, 1)", lambda: sock.setsockopt(12345, 1, 1)))


@experiment("O3", "SO_REUSEADDR with a 1-byte value")
def _o3(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    return expects("O3", lab.see("setsockopt(SOL_SOCKET, SO_REUSEADDR, b'\\x01')",
                                 lambda: sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, b"\x01")))


@experiment("O7", "set SO_REUSEADDR to 7, read it back")
def _o7(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    lab.see("setsockopt SO_REUSEADDR 7", lambda: sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 7))
    got = lab.see("getsockopt SO_REUSEADDR", lambda: sock.getsockopt(SOL_SOCKET, SO_REUSEADDR))
    return got.ok and got.value == 1
