"""Experiments for the pools, the dynamic range, acquire, lifetime, association and bind."""

from __future__ import annotations

import itertools
from functools import partial

from .._types import (
    AF_INET,
    IPPROTO_UDP,
    SOCK_RAW,
    PortRange,
)
from ._kit import (
    LOOP4,
    UDP,
    E,
    Finding,
    acquire_block,
    addr,
    expects,
    experiment,
    ok,
    scratch_port,
    tcp_socket,
    udp_socket,
)
from ._lab import Lab, Seen, Skip

# --- pools and the dynamic range ---------------------------------------------------------


@experiment("R20", "process A acquires through AF_INET; process B binds AF_INET6 inside",
             needs=("other-process",))
def _r20(lab: Lab) -> Finding:
    start = scratch_port(lab, 70)
    acquire_block(lab, udp_socket(lab), start, 10)
    other = udp_socket(lab, lab.other(), v6=True)
    return expects("R20", lab.see(f"B: AF_INET6 bind [::1]:{start + 3}",
                                  lambda: other.bind(addr(start + 3, v6=True))))


@experiment("Y4", "give ipv6 UDP its own dynamic range; bind(0) AF_INET and AF_INET6 sockets",
             admin=True)
def _y4(lab: Lab) -> Finding:
    four = lab.dynamic(UDP)
    start = 40000 if not PortRange(40000, 1000).overlaps(four) else 20000
    if not lab.set_dynamic(UDP, start, 1000, v6=True).ok:
        raise Skip("netsh set dynamicport failed")
    six_range = PortRange(start, 1000)
    good = True
    for v6, where in ((False, four), (True, six_range)):
        for _ in range(5):
            sock = udp_socket(lab, v6=v6)
            host = "::" if v6 else "0.0.0.0"
            address = (host, 0, 0, 0) if v6 else (host, 0)
            lab.see(f"bind {'AF_INET6' if v6 else 'AF_INET'} port 0", partial(sock.bind, address))
            name = lab.see("getsockname", sock.getsockname)
            good = good and name.ok and name.value[1] in where
    return good


@experiment("Y5", "bind a port in the dynamic range, move the range away, read the port",
             admin=True)
def _y5(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    lab.see("bind port 0", lambda: sock.bind(("0.0.0.0", 0)))
    port = sock.getsockname()[1]
    if not lab.set_dynamic(UDP, 20000, 10000).ok:
        raise Skip("netsh set dynamicport failed")
    name = lab.see("getsockname", sock.getsockname)
    return name.ok and name.value[1] == port


@experiment("A19", "a process that has exited makes no calls on Windows", runnable=False)
def _a19(lab: Lab) -> Finding:  # pragma: no cover - not runnable
    raise Skip("nothing to run")


@experiment("K6", "the model has no network: its scope, not a claim about Windows", runnable=False)
def _k6(lab: Lab) -> Finding:  # pragma: no cover - not runnable
    raise Skip("nothing to run")


# --- acquire ---------------------------------------------------------------------------

def _wildcards(lab: Lab, count: int, size: int) -> list[PortRange]:
    blocks = []
    for _ in range(count):
        sock = udp_socket(lab)
        seen = lab.see(f"acquire 0+{size}", partial(sock.acquire_port_reservation, 0, size))
        if seen.ok:
            blocks.append(seen.value.range)
    return blocks


@experiment("R3", "acquire 20 wildcard UDP blocks: each inside the dynamic range, clear of"
             " netsh's rows")
def _r3(lab: Lab) -> Finding:
    dynamic, rows = lab.dynamic(UDP), lab.exclusions(UDP)
    blocks = _wildcards(lab, 20, 10)
    clear = all(block.start in dynamic and block.last in dynamic
                and not any(r.start <= block.last and block.start <= r.end for r in rows)
                for block in blocks)
    return len(blocks) == 20 and clear


@experiment("A2", "bind a port, then acquire a specific block over it (same and other process)")
def _a2(lab: Lab) -> Finding:
    port = scratch_port(lab, 80)
    bound = udp_socket(lab)
    lab.see(f"bind {port}", lambda: bound.bind(addr(port)))
    again = udp_socket(lab)
    seen = [lab.see(f"A: acquire {port}+1", lambda: again.acquire_port_reservation(port, 1))]
    if "other-process" in lab.capabilities:
        other = udp_socket(lab, lab.other())
        seen.append(lab.see(f"B: acquire {port}+1", lambda: other.acquire_port_reservation(port, 1)))
    return expects("A2", *seen)


@experiment("A3", "acquire 65530+10 and a 0-port block")
def _a3(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    start = scratch_port(lab, 81)
    return expects("A3", lab.see("acquire 65530+10", lambda: sock.acquire_port_reservation(65530, 10)),
                   lab.see(f"acquire {start}+0", lambda: sock.acquire_port_reservation(start, 0)))


@experiment("A4", "20 wildcard acquires and 50 bind(0): do the ports count up (sequential)"
            " or follow no order (random)?")
def _a4(lab: Lab) -> Finding:
    starts = [block.start for block in _wildcards(lab, 20, 10)]
    ports = []
    for _ in range(50):
        sock = udp_socket(lab)  # kept open, holding its port, until the lab undoes
        sock.bind(("0.0.0.0", 0))
        ports.append(sock.getsockname()[1])
    lab.note(f"block starts {starts}; ports {ports}")
    return "sequential" if _counts_up(starts) and _counts_up(ports) else "random"


def _counts_up(values: list[int]) -> bool:
    """Whether most steps of ``values`` go up a little, as a counter shared with other
    processes does (they may take ports in between), allowing one wrap to the range's
    start; a uniform draw goes down about half the time."""
    steps = [b - a for a, b in itertools.pairwise(values)]
    small_up = sum(1 for step in steps if 0 < step <= 64)
    wraps = sum(1 for step in steps if step < 0)
    return wraps <= 1 and small_up >= 0.8 * len(steps)


@experiment("A13", "shrink the ipv4 UDP range to 255 ports; fill it with blocks, then binds",
             admin=True)
def _a13(lab: Lab) -> Finding:
    if not lab.set_dynamic(UDP, lab.scratch.start, 255).ok:
        raise Skip("netsh set dynamicport failed")
    blocks: list[Seen] = []
    while len(blocks) < 4 and (not blocks or blocks[-1].ok):
        sock = udp_socket(lab)
        blocks.append(lab.see("acquire 0+100", partial(sock.acquire_port_reservation, 0, 100)))
    binds: list[Seen] = []
    while len(binds) < 256 and (not binds or binds[-1].ok):
        sock = udp_socket(lab)
        binds.append(lab.see("bind port 0", partial(sock.bind, (LOOP4, 0))))
    lab.evidence[:] = [line for line in lab.evidence if "bind port 0 -> ok" not in line]
    free = 255 - 100 * sum(b.ok for b in blocks)
    lab.note(f"{sum(b.ok for b in binds)} bind(0) succeeded; {free} ports were free")
    return (blocks[0].ok and expects("A13", blocks[-1]) and expects("A13", binds[-1])
            and len(binds) == free + 1)


@experiment("A21", "bind a UDP socket, then acquire a wildcard block on it")
def _a21(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    lab.see("bind port 0", lambda: sock.bind(("0.0.0.0", 0)))
    return ok(lab.see("acquire 0+10", lambda: sock.acquire_port_reservation(0, 10)))


# --- lifetime and release --------------------------------------------------------------


@experiment("A28", "process A acquires and is killed; process B binds and acquires there",
             needs=("other-process", "exit"))
def _a28(lab: Lab) -> Finding:
    start = scratch_port(lab, 90)
    first = lab.other()
    acquire_block(lab, udp_socket(lab, first), start, 10)
    lab.exit(first)
    lab.note("A killed")
    second = lab.other()
    bind, acquire = udp_socket(lab, second), udp_socket(lab, second)
    bound = lab.see(f"B: bind {start + 5}", lambda: bind.bind(addr(start + 5)))
    bind.close()
    lab.note("B closed that socket")
    return ok(bound, lab.see(f"B: acquire {start}+10",
                              lambda: acquire.acquire_port_reservation(start, 10)))


@experiment("A5", "release a token from another socket of the same process, then from another"
             " process", needs=("other-process",))
def _a5(lab: Lab) -> Finding:
    start = scratch_port(lab, 100)
    owner, sibling = udp_socket(lab), udp_socket(lab)
    res = acquire_block(lab, owner, start, 10)
    same = lab.see("A: another socket releases", lambda: sibling.release_port_reservation(res.token))
    res = acquire_block(lab, owner, start, 10)
    other = udp_socket(lab, lab.other())
    foreign = lab.see("B: releases", lambda: other.release_port_reservation(res.token))
    return same.ok and expects("A5", foreign)


@experiment("A22", "release a persistent block's token with SIO_RELEASE", admin=True)
def _a22(lab: Lab) -> Finding:
    start = scratch_port(lab, 110)
    made = lab.see(f"create persistent UDP {start}+10",
                   lambda: lab.main.create_persistent_reservation(UDP, start, 10))
    if not made.ok:
        raise Skip(f"the setup failed: {made.text()}")
    sock = udp_socket(lab)
    return expects("A22", lab.see("release the persistent token",
                                  lambda: sock.release_port_reservation(made.value)))


@experiment("A20", "bind from a block, release it: the port stays bound")
def _a20(lab: Lab) -> Finding:
    start = scratch_port(lab, 120)
    owner, user, third = udp_socket(lab), udp_socket(lab), udp_socket(lab)
    res = acquire_block(lab, owner, start, 10)
    lab.see("associate", lambda: user.associate_port_reservation(res.token))
    lab.see("bind port 0", lambda: user.bind((LOOP4, 0)))
    port = user.getsockname()[1]
    lab.see("release", lambda: owner.release_port_reservation(res.token))
    name = lab.see("getsockname", user.getsockname)
    again = lab.see(f"plain bind {port}", lambda: third.bind(addr(port)))
    return name.ok and name.value[1] == port and again.code == int(E.WSAEADDRINUSE)


@experiment("A16", "associate T, close the block's socket, bind T to port 0")
def _a16(lab: Lab) -> Finding:
    start = scratch_port(lab, 130)
    owner, user = udp_socket(lab), udp_socket(lab)
    res = acquire_block(lab, owner, start, 10)
    lab.see("associate", lambda: user.associate_port_reservation(res.token))
    owner.close()
    lab.note("closed the block's socket")
    bind = lab.see("bind port 0", lambda: user.bind(("0.0.0.0", 0)))
    return bind.ok and user.getsockname()[1] in lab.dynamic(UDP)


# --- association -------------------------------------------------------------------------


@experiment("A1", "a 2-port block, three associated sockets binding port 0")
def _a1(lab: Lab) -> Finding:
    start = scratch_port(lab, 140)
    res = acquire_block(lab, udp_socket(lab), start, 2)
    seen = []
    for _ in range(3):
        sock = udp_socket(lab)
        lab.see("associate", partial(sock.associate_port_reservation, res.token))
        seen.append(lab.see("bind port 0", partial(sock.bind, ("0.0.0.0", 0))))
    return ok(*seen[:2]) and expects("A1", seen[2])


@experiment("A6", "associate a UDP block's token with a TCP socket")
def _a6(lab: Lab) -> Finding:
    res = acquire_block(lab, udp_socket(lab), scratch_port(lab, 142), 4)
    tcp = tcp_socket(lab)
    return expects("A6", lab.see("TCP associate", lambda: tcp.associate_port_reservation(res.token)))


@experiment("A7", "associate a bound socket; associate an unbound one twice")
def _a7(lab: Lab) -> Finding:
    res = acquire_block(lab, udp_socket(lab), scratch_port(lab, 146), 4)
    bound, twice = udp_socket(lab), udp_socket(lab)
    lab.see("bind port 0", lambda: bound.bind(("0.0.0.0", 0)))
    first = lab.see("associate the bound socket", lambda: bound.associate_port_reservation(res.token))
    lab.see("associate", lambda: twice.associate_port_reservation(res.token))
    second = lab.see("associate again", lambda: twice.associate_port_reservation(res.token))
    return expects("A7", first, second)


@experiment("A11", "associate and release token 0x1234, never granted")
def _a11(lab: Lab) -> Finding:
    sock = udp_socket(lab)
    return expects("A11", lab.see("associate 0x1234", lambda: sock.associate_port_reservation(0x1234)),
                   lab.see("release 0x1234", lambda: sock.release_port_reservation(0x1234)))


@experiment("A12", "process B associates process A's token", needs=("other-process",))
def _a12(lab: Lab) -> Finding:
    res = acquire_block(lab, udp_socket(lab), scratch_port(lab, 150), 10)
    other = udp_socket(lab, lab.other())
    return expects("A12", lab.see("B: associate", lambda: other.associate_port_reservation(res.token)))


@experiment("A17", "an associated socket binds an explicit free port outside its block")
def _a17(lab: Lab) -> Finding:
    start = scratch_port(lab, 160)
    res = acquire_block(lab, udp_socket(lab), start, 10)
    sock = udp_socket(lab)
    lab.see("associate", lambda: sock.associate_port_reservation(res.token))
    return ok(lab.see(f"bind {start + 20}", lambda: sock.bind(addr(start + 20))))


# --- bind ----------------------------------------------------------------------------------


@experiment("R17", "process A acquires; process B binds a plain socket inside",
             needs=("other-process",))
def _r17(lab: Lab) -> Finding:
    start = scratch_port(lab, 182)
    acquire_block(lab, udp_socket(lab), start, 10)
    other = udp_socket(lab, lab.other())
    return expects("R17", lab.see(f"B: bind {start + 5}", lambda: other.bind(addr(start + 5))))


@experiment("A23", "a port inside A's block and bound by A; B binds it plainly",
             needs=("other-process",))
def _a23(lab: Lab) -> Finding:
    start = scratch_port(lab, 194)
    res = acquire_block(lab, udp_socket(lab), start, 10)
    user = udp_socket(lab)
    lab.see("associate", lambda: user.associate_port_reservation(res.token))
    lab.see(f"bind {start + 3}", lambda: user.bind(addr(start + 3)))
    other = udp_socket(lab, lab.other())
    seen = lab.see(f"B: bind {start + 3}", lambda: other.bind(addr(start + 3)))
    return seen.code == int(E.WSAEACCES)


@experiment("W12", "bind an AF_INET6 socket to ::1 with a scope in the text; read the scope")
def _w12(lab: Lab) -> Finding:
    sock = udp_socket(lab, v6=True)
    bound = lab.see("bind ('::1%1', 0)", lambda: sock.bind(("::1%1", 0, 0, 0)))
    if not bound.ok:
        return False
    name = lab.see("getsockname", sock.getsockname)
    return name.ok and name.value[3] == 0


@experiment("A24", "a raw IPPROTO_UDP socket binds 127.0.0.1:0; getsockname's port",
             admin=True)
def _a24(lab: Lab) -> Finding:
    made = lab.see("socket(AF_INET, SOCK_RAW, IPPROTO_UDP)",
                   lambda: lab.main.socket(AF_INET, SOCK_RAW, IPPROTO_UDP))
    if not made.ok:
        raise Skip(f"the setup failed: {made.text()}")
    lab.see("bind 127.0.0.1:0", lambda: made.value.bind((LOOP4, 0)))
    name = lab.see("getsockname", made.value.getsockname)
    return name.ok and name.value[1] == 0
