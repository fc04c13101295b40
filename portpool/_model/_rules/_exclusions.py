"""Blocks of every kind, and system exclusions."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, E, Rule

__all__ = ["RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("X1", "exclusions", "Windows components place system exclusions (the netsh rows"
         " without `*`): WinNAT/HNS (Hyper-V, WSL2, Docker) 100-port blocks inside the dynamic"
         " range, and HTTP.sys and similar listeners single ports (80, 5357, 5986, 47001).  They"
         " last until their component releases them (net stop winnat) or a reboot, and move"
         " at reboot.", "D-R54 (WSL_5306; microsoft/WSL#5514; docker/for-win#3171;"
         " DOCKER_15452), D-R58 (OTEL_10839; WSL_5306), D-R7; WILD_OBS §A and §E (rows vanish on"
         " net stop winnat and move after a reboot)", OBS),
    Rule("X2", "exclusions", "A plain explicit bind into a system exclusion fails with"
         " WSAEACCES, not WSAEADDRINUSE.  This is checked before \"in use\": a port that is both"
         " excluded and bound (HTTP.sys binds its own rows) gives WSAEACCES too.  TCP and UDP,"
         " IPv4 and IPv6 alike.", "D-R55: docker/for-win#3171, #12417, #12530,"
         " microsoft/WSL#5514, bojieli/queqiao#72; SO_ADMIN (Go net.Listen fails on every row"
         " but the `*` one); K8S_107114 (47001: excluded and bound by System, WSAEACCES; an"
         " ordinary port in use, 10048); OTEL_10839 (47001 is an exclusion row); WILD_OBS §A"
         " (UDP: airbus/sen#52; ::1: tauri-apps/tauri#6804)", OBS, E.WSAEACCES),
    Rule("X4", "exclusions", "bind(port 0) and a wildcard acquire never hand out a port inside"
         " a block of any kind (runtime, persistent, system exclusion).", "D-R53; KB812873"
         " (reserved ports: \"only a program or process that specifically requests a port that"
         " is in the reserved range can use the port\"); MSQUIC_CIBIR (a persistent reservation"
         " takes the ports \"out of the ephemeral port pool\"); WinNAT places its blocks around"
         " administered rows (WILD_OBS §B, samples 08-10).  bind(0) beside WinNAT rows is not"
         " measured (D-Q19; influxdata/telegraf#19037's contrary claim is unsubstantiated)",
         OBS, check="D-Q19: on a host with many WinNAT rows, 10,000 bind(0) calls for TCP and"
         " for UDP: this rule expects none inside a row of show excludedportrange."),
    Rule("X5", "exclusions", "A specific SIO_ACQUIRE_PORT_RESERVATION that overlaps a block of"
         " any kind fails: an administered row, another process's runtime block, the process's"
         " own runtime block, a system exclusion.", "MSQUIC_2891 (administered 50000-50059;"
         " \"Binding a socket to this port works without issues\", the acquire returns"
         " WSAEADDRINUSE; D-R12); MSQUIC_5795 (another process, 10048); msquic's"
         " MultiBindListener test (same process, D-R13).  Over a system exclusion the code is"
         " inferred (D-R61, D-Q2(c))", OBS, E.WSAEADDRINUSE),
    Rule("X6", "exclusions", "CreatePersistent*PortReservation, or netsh add excludedportrange,"
         " over a system exclusion fails with ERROR_SHARING_VIOLATION; netsh prints \"The"
         " process cannot access the file because it is being used by another process.\"",
         "CREATE (\"already being used\"); the documented fix adds the row between net stop"
         " winnat and net start winnat (DOCKER_15452; WILD_OBS §E: adding fails while WinNAT"
         " holds a covering block); the message is the one netsh gives for a port in use"
         " (MicrosoftDocs/sql-docs PR #8145; BIGFIX).  No report quotes it for a WinNAT row",
         OBS, E.ERROR_SHARING_VIOLATION, check="As an administrator on a Hyper-V host, for a"
         " WinNAT row S-E: netsh int ipv4 add excludedportrange protocol=tcp startport=S+1"
         " numberofports=1: this rule expects \"The process cannot access the file because it"
         " is being used by another process.\""),
    Rule("X10", "exclusions", "IPv4 and IPv6 share one exclusion list per protocol: a system"
         " exclusion or an administered row governs AF_INET and AF_INET6 sockets alike, and"
         " netsh int ipv4 and int ipv6 show the same rows.  (Runtime blocks: R20.)", "BIGFIX"
         " (\"the same keys are updated - a given tcp or udp exclusion apply to both ipv4 and"
         " to ipv6\"); WILD_OBS §A (a Korean lab log: the IPv4 and IPv6 lists are identical;"
         " sample 33; ::1 binds refused inside rows: tauri-apps/tauri#6804,"
         " vitest-dev/vitest#8024); D-R11", OBS),
    Rule("X12", "exclusions", "A system component placing an exclusion over another block"
         " fails with ERROR_SHARING_VIOLATION; over a port a socket has merely bound it"
         " succeeds, and the socket keeps its port.", "DOCKER_12251 (HNS over an administered"
         " row: 0x20, which is ERROR_SHARING_VIOLATION); K8S_107114 and OTEL_10839 (HTTP.sys"
         " rows are bound by their owner); microsoft/hcsshim PR #1370 (HNS's early port"
         " reservation): the first half is observed; the bound-port half is assumed", A,
         E.ERROR_SHARING_VIOLATION,
         check="On a Hyper-V host as an administrator: netsh int ipv4 add excludedportrange"
         " protocol=udp startport=60001 numberofports=1, then run a Windows container"
         " publishing 60001/udp: this rule expects \"hnsCall failed in Win32: The process"
         " cannot access the file because it is being used by another process. (0x20)\"."
         "  Then bind plain TCP sockets to every 10th port of the dynamic range, run net stop"
         " winnat and net start winnat: this rule expects new WinNAT rows that may cover bound"
         " ports, each such socket still reporting its port (getsockname)."),
    Rule("X16", "exclusions", "While a component is stopped (`net stop winnat`) its rows are"
         " gone (X1) and it places none.  When it starts again (`net start winnat`) each row it"
         " held comes back where it was, except a row that would now overlap another block (an"
         " administered row added meanwhile, X12): WinNAT leaves that one out.  A reboot places"
         " rows anew (X1) and forgets what the stop held.", "DOCKER_15452 and WILD_OBS §E (the"
         " stop, add, start steps users run so that WinNAT stays off a port they need); where"
         " the rows go on start is not documented", A,
         check="On a Hyper-V host as an administrator: note the WinNAT rows of netsh int ipv4"
         " show excludedportrange protocol=tcp; net stop winnat (this rule expects them gone);"
         " netsh int ipv4 add excludedportrange protocol=tcp startport=P numberofports=1 for a"
         " port P inside one of them; net start winnat: this rule expects every other row back"
         " at its old place and no row without `*` over P.  Rows back at new places would"
         " overturn the first half (threads where a restart frees a port suggest it)."),
)
