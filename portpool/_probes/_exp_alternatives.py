"""Experiments for the rules with alternatives (B2's is with the call shapes)."""

from __future__ import annotations

from .._types import (
    AF_INET,
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    SO_EXCLUSIVEADDRUSE,
    SOCK_RAW,
    SOL_SOCKET,
)
from ._kit import (
    LOOP4,
    TCP,
    UDP,
    Finding,
    acquire_block,
    addr,
    by_code,
    decisive,
    experiment,
    scratch_port,
    tcp_socket,
    udp_socket,
)
from ._lab import Lab, Seen, Skip

# --- rules with alternatives ---------------------------------------------------------


@experiment("Y2", "set the ipv6 UDP dynamic range to start at 1024 (then 1025)",
             admin=True)
def _y2(lab: Lab) -> Finding:
    if lab.set_dynamic(UDP, 1024, 65535 - 1024, v6=True).ok:
        return "1024"
    refused = len(lab.evidence) - 1  # the refusal of 1024 decides "1025"; 1025 confirms it
    if lab.set_dynamic(UDP, 1025, 65535 - 1025, v6=True).ok:
        decisive(lab, refused)
        return "1025"
    return None


@experiment("W11", "socket(AF_INET, SOCK_RAW, 0)", admin=True)
def _w11(lab: Lab) -> Finding:
    return by_code("W11", lab.see("socket(AF_INET, SOCK_RAW, 0)",
                                  lambda: lab.main.socket(AF_INET, SOCK_RAW, 0)))


@experiment("X14", "acquire a block on socket S; bind a plain socket of the same process into"
             " it, and S itself")
def _x14(lab: Lab) -> Finding:
    owner, plain = udp_socket(lab), udp_socket(lab)
    start = scratch_port(lab, 0)
    acquire_block(lab, owner, start, 10)
    first = lab.see(f"A: plain bind {start + 4}", lambda: plain.bind(addr(start + 4)))
    second = lab.see(f"A: S binds {start + 5}", lambda: owner.bind(addr(start + 5)))
    return by_code("X14", first, second)


@experiment("X15", "a persistent API block and a netsh `*` row; bind a plain socket inside"
             " each, from a non-elevated process where the lab has one", admin=True)
def _x15(lab: Lab) -> Finding:
    api, row = scratch_port(lab, 10), scratch_port(lab, 30)
    made = lab.see(f"create persistent UDP {api}+10",
                   lambda: lab.main.create_persistent_reservation(UDP, api, 10))
    if not made.ok:
        raise Skip(f"the setup failed: {made.text()}")
    added = lab.change(f"int ipv4 add excludedportrange protocol=udp startport={row}"
                       " numberofports=10 store=active",
                       f"int ipv4 delete excludedportrange protocol=udp startport={row}"
                       " numberofports=10 store=active", f"delete the row {row}-{row + 9}")
    if not added.ok:
        raise Skip("netsh add excludedportrange failed")
    if "unprivileged" in lab.capabilities or not lab.elevated:
        binder, who = lab.unprivileged(), "non-elevated"
    else:  # the real machine's elevated lab has no non-elevated process: say so
        binder, who = lab.main, "elevated (the lab has no non-elevated process)"
    lab.note(f"the binds come from a {who} process")
    in_api = lab.see(f"plain bind {api + 4} (API block)",
                     lambda: udp_socket(lab, binder).bind(addr(api + 4)))
    in_row = lab.see(f"plain bind {row + 4} (netsh row)",
                     lambda: udp_socket(lab, binder).bind(addr(row + 4)))
    if in_api.code != in_row.code:
        lab.note("the netsh row and the API block differ (D-Q17): no one alternative holds")
    return by_code("X15", in_api, in_row)


@experiment("X7", "netsh delete a system exclusion (a row without *)",
             admin=True)
def _x7(lab: Lab) -> Finding:
    if "component" in lab.capabilities:
        start, count = scratch_port(lab, 20), 5
        lab.component(TCP, start, count)
    else:  # a real machine: only a row the probe made, unless the user allows more
        start, count = scratch_port(lab, 20), 5
        acquire_block(lab, tcp_socket(lab), start, count)
        rows = [r for r in lab.exclusions(TCP) if not r.administered]
        own = [r for r in rows if r.start == start and r.end == start + count - 1]
        if own:  # X13 `listed`: the probe's own runtime block is a row without *
            lab.note(f"the probe's own runtime block {start}-{start + count - 1}, listed by netsh")
        elif not rows:
            raise Skip("no system exclusion (a row without *) on this machine")
        elif not lab.allow_system_rows:
            raise Skip(f"netsh does not list the probe's own block; the experiment would ask"
                       f" netsh to delete the system row {rows[0].start}-{rows[0].end}, which the"
                       " probe did not make: run with --allow-system-rows to allow it")
        else:
            start, count = rows[0].start, rows[0].end - rows[0].start + 1
            lab.note(f"the system row {rows[0].start}-{rows[0].end} (--allow-system-rows);"
                     " should netsh delete it, restart the component (net stop winnat;"
                     " net start winnat)")
    run = lab.netsh(f"int ipv4 delete excludedportrange protocol=tcp startport={start}"
                    f" numberofports={count}")
    return by_code("X7", Seen("netsh delete", None, None if run.ok else run.code))


@experiment("X13", "acquire a block and look for it in netsh show excludedportrange")
def _x13(lab: Lab) -> Finding:
    owner = udp_socket(lab)
    start = scratch_port(lab, 30)
    acquire_block(lab, owner, start, 10)
    rows = lab.exclusions(UDP)
    lab.note("netsh rows: " + ", ".join(f"{r.start}-{r.end}{' *' if r.administered else ''}"
                                        for r in rows))
    if any(not r.administered and r.start <= start and start + 9 <= r.end for r in rows):
        return "listed"
    if any(r.start <= start + 9 and start <= r.end for r in rows):
        return None  # something else covers the block
    return "hidden"


@experiment("C14", "bind IPv4 127.0.0.1:P, then a dual-stack SO_EXCLUSIVEADDRUSE socket to [::]:P")
def _c14(lab: Lab) -> Finding:
    port = scratch_port(lab, 40)
    four, dual = tcp_socket(lab), tcp_socket(lab, v6=True)
    if not lab.see(f"AF_INET bind {LOOP4}:{port}", lambda: four.bind(addr(port))).ok:
        raise Skip("the setup bind failed")
    lab.see("IPV6_V6ONLY 0", lambda: dual.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0))
    lab.see("SO_EXCLUSIVEADDRUSE 1", lambda: dual.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1))
    return by_code("C14", lab.see(f"dual-stack bind [::]:{port}",
                                  lambda: dual.bind(("::", port, 0, 0))))


@experiment("O5", "bind, then set SO_EXCLUSIVEADDRUSE (AF_INET) and IPV6_V6ONLY 0 (AF_INET6)")
def _o5(lab: Lab) -> Finding:
    four, six = tcp_socket(lab), tcp_socket(lab, v6=True)
    port = scratch_port(lab, 41)
    if not (lab.see(f"bind {LOOP4}:{port}", lambda: four.bind(addr(port))).ok
            and lab.see(f"bind [::1]:{port}", lambda: six.bind(addr(port, v6=True))).ok):
        raise Skip("the setup binds failed")
    return by_code("O5",
                   lab.see("SO_EXCLUSIVEADDRUSE 1 after bind",
                           lambda: four.setsockopt(SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)),
                   lab.see("IPV6_V6ONLY 0 after bind",
                           lambda: six.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0)))


@experiment("K2", "associate an unbound TCP socket with a block, connect it to a listener,"
             " read its port")
def _k2(lab: Lab) -> Finding:
    owner, client = tcp_socket(lab), tcp_socket(lab)
    start = scratch_port(lab, 50)
    res = acquire_block(lab, owner, start, 10)
    lab.see("associate", lambda: client.associate_port_reservation(res.token))
    peer = lab.listener()
    if not lab.see(f"connect {peer}", lambda: client.connect(peer)).ok:
        return None
    name = lab.see("getsockname", client.getsockname)
    if not name.ok:
        return None
    port = name.value[1]
    if port in res.range:
        return "block"
    return "dynamic" if port in lab.dynamic(TCP) else None
