"""The dynamic port range: defaults, limits, where bind(0) draws (R18, Y1-Y5)."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("R18", "dynamic", "The dynamic port range defaults to 49152-65535 (16384 ports) and is"
         " kept separately for each protocol and IP version: ipv4/tcp, ipv4/udp, ipv6/tcp and"
         " ipv6/udp, each set on its own (netsh int ipv4|ipv6 set dynamicport tcp|udp).",
         "BIND (\"a value between 49152 and 65535\"; \"can be set differently for UDP and TCP"
         " and also for IPv4 and IPv6\"); KB929851 (\"The new default start port is 49152, and"
         " the new default end port is 65535\"; one show and one set command per IP version and"
         " transport); D-R51; dorssel/usbipd-win#53 (a clean machine shows 49152 / 16384 \"for"
         " all 4\")", D),
    Rule("Y1", "dynamic", "A dynamic range has at least 255 ports and ends at or below 65535."
         "  netsh set dynamicport outside these limits fails with \"The parameter is"
         " incorrect.\"; portpool's constructor options outside them raise ValueError.",
         "KB929851 (\"The minimum range of ports that can be set is 255\"; \"The maximum end port"
         " (based on the range being configured) cannot exceed 65535\"); D-R51.  The limits are"
         " documented; the code netsh reports is assumed (no captured failure found)", D,
         E.ERROR_INVALID_PARAMETER, check="As an administrator: netsh int ipv4 set dynamicport"
         " tcp start=60000 num=254, then start=65000 num=1000: this rule expects \"The parameter"
         " is incorrect.\" for both and an unchanged range (show dynamicport tcp).  Restore"
         " with start=49152 num=16384."),
    Rule("Y2", "dynamic", "The lowest start port a dynamic range may have; a lower start is"
         " refused as in Y1.  The sources disagree (1024 or 1025): see the alternatives.",
         "KB929851; RUNNER_1442; NETSH_SAMPLES 43; WSL_5306", OBS, E.ERROR_INVALID_PARAMETER,
         check="As an administrator: netsh int ipv4 set dynamicport tcp start=1024 num=64511."
         "  \"Ok.\" and show dynamicport tcp giving 1024 / 64511 settle `1024`; \"The parameter"
         " is incorrect.\" settles `1025`.  Then try start=1023 (refused under both).  Restore"
         " with start=49152 num=16384."),
    Rule("Y3", "dynamic", "An administrator changes a range at run time with netsh int"
         " ipv4|ipv6 set dynamicport tcp|udp start=N num=N (netsh prints \"Ok.\"); the new range"
         " governs the next bind(0) and wildcard acquire.  Other callers are refused with"
         " ERROR_ELEVATION_REQUIRED; netsh then prints \"The requested operation requires"
         " elevation (Run as administrator).\"", "KB929851 (\"You adjust this range by using the"
         " netsh command\", with examples for all four ranges); microsoft/Windows-Containers#560"
         " (\"Ok.\" after set dynamicport); the refusal is observed for netsh's interface and"
         " tcp contexts (N2: WILD_OBS §E, LAB02-Research/HASS.Agent#48,"
         " MysticFoxDE/WINDOWS-OPTIMIZATIONS#4); SYSERR", D,
         E.ERROR_ELEVATION_REQUIRED),
    Rule("Y4", "dynamic", "AF_INET sockets draw bind(0) ports and wildcard blocks from the ipv4"
         " range of their protocol, AF_INET6 sockets from the ipv6 range.", "BIND and KB929851"
         " document separate ipv4 and ipv6 ranges; which one a socket draws from is not stated",
         A, check="As an administrator: netsh int ipv6 set dynamicport udp start=40000"
         " num=1000, leaving ipv4 udp at 49152-65535; bind(0) 100 AF_INET and 100 AF_INET6"
         " (v6-only) UDP sockets: this rule expects the AF_INET ports in 49152-65535 and the"
         " AF_INET6 ports in 40000-40999.  Restore with start=49152 num=16384."),
    Rule("Y5", "dynamic", "Changing a range moves nothing already placed: bound ports, runtime"
         " and persistent blocks and system exclusions stay where they are, even outside the"
         " new range.  System exclusions follow the new range when next placed (at a reboot,"
         " or net stop winnat then net start winnat).", "cloud-barista/cb-coffeehouse#81 (set"
         " the range back to 49152/16384, then restart winnat so that its rows move); D-R7;"
         " that nothing moves at the change itself is assumed", A, check="On a Hyper-V host"
         " with WinNAT rows in 49152-65535, bind a UDP socket to a free port P in that range;"
         " as an administrator netsh int ipv4 set dynamicport tcp start=20000 num=10000: this"
         " rule expects show excludedportrange and getsockname's P unchanged; after net stop"
         " winnat and net start winnat, the WinNAT rows lie in 20000-29999.  Restore the"
         " range."),
)

# Where the evidence conflicts: every candidate behaviour, the default first.
ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("Y2", "1024", "A range may start at 1024; a lower start is refused.",
                "RUNNER_1442 (the Visual Studio installer leaves 1024 / 64511, end 65534);"
                " NETSH_SAMPLES 43 (1024 / 13977); WILD_OBS §G (samples 41, 44, 46); WSL_5306"
                " (WinNAT rows from 4294 under such a range).  These show ranges starting at"
                " 1024 on real machines; that netsh itself accepts start=1024 is inferred",
                OBS, E.ERROR_INVALID_PARAMETER),
    Alternative("Y2", "1025", "A range may start at 1025 at the lowest, as KB929851 says; 1024"
                " is refused.", "KB929851 (\"The minimum start port that can be set is"
                " 1025\")", D, E.ERROR_INVALID_PARAMETER),
)
