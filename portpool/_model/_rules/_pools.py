"""The pools: TCP and UDP apart, blocks inside the dynamic range, per protocol."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, E, Rule

__all__ = ["RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("R17a", "pools", "TCP and UDP have separate port pools: a block, an exclusion or a"
         " binding in one never blocks the other.", "KB929851 (\"The range is set separately"
         " for each transport (TCP or UDP)\"); D-R57: fluent/fluentd PR #5427 (UDP-only"
         " exclusions 54315-54514 on a windows-2025 runner), bojieli/queqiao#72 (\"the"
         " exclusions are per protocol\"), JuliaLang/julia PR #63091", OBS),
    Rule("R19", "pools", "A block of any kind (runtime, persistent, system exclusion) may lie"
         " inside the dynamic range.", "D-R46: the administered row 50000-50059 lies inside the"
         " default range on many hosts (WSL_5306; localsend/localsend#125;"
         " chocolatey-community/chocolatey-test-environment#68), and MicrosoftDocs/sql-docs"
         " PR #8145 recommends exclusions inside it (startport=59999); D-R54: WinNAT blocks"
         " always lie there", OBS),
    Rule("R20", "pools", "Blocks are per protocol, not per address family: a block reserved"
         " through an AF_INET socket also governs AF_INET6 binds, and the reverse; so do"
         " administered rows and system exclusions.  Bindings are per stack (C15).", "D-R11,"
         " D-Q15: INET_PORT_RANGE carries no family, and netsh's ipv4 and ipv6 exclusions are one"
         " list (X10; BIGFIX); msquic acquires on a dual-stack AF_INET6 socket and relies on the"
         " block against every other socket (MSQUIC; msquic discussion #4227); .NET's QUIC"
         " troubleshooting page treats a reservation as covering the port (WILD_OBS)", A,
         E.WSAEACCES, check="D-Q15: acquire 60000+10 on an AF_INET UDP socket in process A; from"
         " process B bind an AF_INET6 UDP socket (IPV6_V6ONLY, the default) to [::1]:60003"
         " without association: WSAEACCES confirms this rule; success means one block per"
         " family."),
)
