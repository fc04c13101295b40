"""Every Windows port-pool rule portpool enforces, as data, in one place.

Theory of operation
-------------------
Each behaviour of the model has a row here: an id, what Windows does, where that is
written (or seen), how sure we are, and the Windows code a refusal carries.  The
model (``_machine.py``) never names an error code itself: it calls
``refuse("A2", detail)`` and the code comes from the row.  So when a run on real
Windows overturns an assumption, one row changes and every backend, test and
document follows.

``specs/semantics.md`` is rendered from this table (``python -m portpool specs``)
and a test keeps the two equal; every id must be named by at least one test
(``@pytest.mark.rule("...")``), which another test checks.

Confidence:
    documented  Microsoft states it: a Microsoft Learn page, or (for a few
                alternatives) documentation Microsoft publishes with its own code,
                such as msquic's ``docs/``.  The row says when only the behaviour is
                documented and the code is not.
    observed    seen on real machines by users or in production code.
    assumed     the docs are silent; portpool chooses, and says how to check it
                on Windows (the ``check`` column: an experiment with ports and the
                outcome this row expects).

Alternatives:
    Where the evidence conflicts, a rule keeps every candidate behaviour as an
    :class:`Alternative` row of ``_ALTERNATIVE_ROWS``, each with its own text,
    sources, confidence and code; the first row of a rule is its default.  The
    model implements every alternative, a host runs one per rule
    (``EmulatedHost(variants={"X15": "refused"})``), and the code that enforces
    the rule passes the one in force to ``refuse(rule_id, detail, name)``, whose
    message then ends ``[rule X15: refused]``.  The rule row's own ``confidence`` and
    ``error`` are those of its default alternative, so code that does not ask for a
    variant gets the default.

Citations:
    ``D-R48`` / ``D-Q17`` are rule 48 / open question 17 of the full rule dossier
    (``DOSSIER``); ``WILD_OBS §B`` is a section of the observations beside it.  The
    model's own ids (R17, A2, X15, ...) are portpool's and do not follow the
    dossier's numbering.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

import attrs

from .._errors import PortPoolError, WinError, winerror

__all__ = [
    "ALTERNATIVES",
    "DEFAULT_VARIANTS",
    "RULES",
    "SOURCES",
    "Alternative",
    "Confidence",
    "Rule",
    "alternative",
    "check_variants",
    "refuse",
    "render_markdown",
]


class Confidence(enum.Enum):
    """How sure portpool is that Windows behaves as a rule says."""

    DOCUMENTED = "documented"
    OBSERVED = "observed"
    ASSUMED = "assumed"


@attrs.frozen
class Rule:
    """One behaviour of the Windows port pool.

    Attributes:
        id: the rule id used in code, tests and ``specs/semantics.md``.
        area: the section of the spec it belongs to.
        text: what Windows does.
        source: keys of :data:`SOURCES`, with a short quote or pointer.
        confidence: documented, observed or assumed (for a rule with alternatives,
            that of its default).
        error: the Windows code a refusal under this rule carries, if any (for a rule
            with alternatives, that of its default).
        check: for assumed rules, the experiment that settles it on Windows.
    """

    id: str
    area: str
    text: str
    source: str
    confidence: Confidence
    error: WinError | None = None
    check: str = ""


@attrs.frozen
class Alternative:
    """One of the behaviours a rule with conflicting evidence may have on Windows.

    Rules whose evidence disagrees keep every candidate as a row of
    :data:`_ALTERNATIVE_ROWS`; the first row of a rule is its default.  A host runs one
    alternative per rule (``EmulatedHost(variants={rule_id: name})``), and the code
    that enforces the rule asks the host which one is in force.

    Attributes:
        rule: the id of the rule it belongs to.
        name: a short name, unique within the rule ("succeeds", "refused").
        text: what Windows does under this alternative.
        source: the evidence for it.
        confidence: how strong that evidence is.
        error: the Windows code a refusal carries under this alternative, if any.
    """

    rule: str
    name: str
    text: str
    source: str
    confidence: Confidence
    error: WinError | None = None

_MS = "https://learn.microsoft.com/windows/win32/"
_SA = "MicrosoftDocs/SupportArticles-docs support/windows-server/networking/"
SOURCES: Final[Mapping[str, str]] = {
    # Microsoft documentation (Learn pages, read in their public Git mirrors).
    "ACQ": "MicrosoftDocs/win32 desktop-src/WinSock/sio-acquire-port-reservation.md"
    f" ({_MS}winsock/sio-acquire-port-reservation); the seed page",
    "ASSOC": "MicrosoftDocs/win32 desktop-src/WinSock/sio-associate-port-reservation.md",
    "REL": "MicrosoftDocs/win32 desktop-src/WinSock/sio-release-port-reservation.md",
    "CREATE": "MicrosoftDocs/sdk-api sdk-api-src/content/iphlpapi/"
    "nf-iphlpapi-createpersistenttcpportreservation.md (the Udp page alike)",
    "LOOKUP": "MicrosoftDocs/sdk-api sdk-api-src/content/iphlpapi/"
    "nf-iphlpapi-lookuppersistenttcpportreservation.md",
    "DELETE": "MicrosoftDocs/sdk-api sdk-api-src/content/iphlpapi/"
    "nf-iphlpapi-deletepersistenttcpportreservation.md",
    "BIND": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-bind.md",
    "SOCKET": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock2/nf-winsock2-socket.md",
    "GETSOCKNAME": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-getsockname.md",
    "RAW": "MicrosoftDocs/win32 desktop-src/WinSock/tcp-ip-raw-sockets-2.md",
    "RCVALL": "MicrosoftDocs/win32 desktop-src/WinSock/sio-rcvall.md",
    "REUSE": "MicrosoftDocs/win32 desktop-src/WinSock/using-so-reuseaddr-and-so-exclusiveaddruse.md",
    "DUAL": "MicrosoftDocs/win32 desktop-src/WinSock/dual-stack-sockets.md",
    "EXCL": "MicrosoftDocs/win32 desktop-src/WinSock/so-exclusiveaddruse.md",
    "SETSOCKOPT": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-setsockopt.md",
    "GETSOCKOPT": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-getsockopt.md",
    "CONNECT": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock2/nf-winsock2-connect.md",
    "GETPEERNAME": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-getpeername.md",
    "PAL_REUSE": "Microsoft's PAL test suite (SSCLI/CoreCLR), networking test"
    " reuseaddr_exclusiveaddruse.c: \"for the pair {SO_REUSEADDR, SO_EXCLUSIVEADDRUSE} legal values"
    " are {0,0}, {0,1} and {1,0}\", \"consistent with Windows specs\"; both options read 0 on a new"
    " socket; setting the second while the first is set fails with WSAEINVAL",
    "WSAIOCTL": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock2/nf-winsock2-wsaioctl.md",
    "WSASTARTUP": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-wsastartup.md",
    "SYSERR": "MicrosoftDocs/win32 desktop-src/Debug/system-error-codes--500-999-.md"
    " (740 ERROR_ELEVATION_REQUIRED: \"The requested operation requires elevation.\")",
    "KB929851": f"{_SA}default-dynamic-port-range-tcpip-chang.md (KB 929851, \"The default dynamic"
    " port range for TCP/IP has changed ...\")",
    "KB812873": f"{_SA}reserve-a-range-of-ephemeral-ports.md (KB 812873, the ReservedPorts value)",
    # Headers and code.
    "HDR": "mingw-w64 headers mstcpip.h, iphlpapi.h, winerror.h (checked by tests/test_abi.py)",
    "MSQUIC": "microsoft/msquic src/platform/datapath_winuser.c (acquires a 1-port block,"
    " associates the acquiring socket and binds it to that port)",
    "MSQUIC_CIBIR": "microsoft/msquic docs/CIBIR.md (merged with PR #5798, 2026, by the msquic"
    " maintainers), \"Persistent port reservations\"",
    "PYSOCK": "python/cpython Doc/library/socket.rst, the example \"a very simple network sniffer"
    " with raw sockets on Windows\"",
    "WINE": "shared/research/feasibility.md section 3 (Wine 8.0: the IOCTLs answer WSAEOPNOTSUPP,"
    " the six iphlpapi functions are not exported, GetProcAddress gives error 127)",
    # Reports from real machines.
    "CHROME_RANDOM": "https://groups.google.com/a/chromium.org/g/Blink-dev/c/-Bmnni7Xv0A (blink-dev,"
    " 2025-06-18, Intent to Ship: Randomizing TCP Port Allocation on Windows: \"When port"
    " randomization is disabled (the default)\", \"port re-use in a sequential model\";"
    " chromestatus feature 5106900286570496)",
    "WS2DEF": "Windows SDK ws2def.h (as mirrored in microsoft/windows-rs and other bindings):"
    " SO_RANDOMIZE_PORT 0x3005 \"randomize assignment of wildcard ports\", SO_PORT_SCALABILITY"
    " 0x3006 \"enable port scalability\", SO_REUSE_UNICASTPORT 0x3007 \"defer ephemeral port"
    " allocation for outbound connections\"",
    "MSQUIC_2891": "https://github.com/microsoft/msquic/issues/2891 (from dotnet/runtime#71518;"
    " labelled \"Cut: ByDesign\")",
    "MSQUIC_5795": "https://github.com/microsoft/msquic/issues/5795 (\"ERROR, 10048,"
    " SIO_ACQUIRE_PORT_RESERVATION\" for a port another process's listener holds)",
    "MSQUIC_2017": "https://github.com/microsoft/msquic/pull/2017 (the first port-reservation"
    " change and its review thread)",
    "K8S_107114": "https://github.com/kubernetes/kubernetes/issues/107114 (binding port 47001 gave"
    " WSAEACCES, an ordinary port in use gave 10048)",
    "OTEL_10839": "https://github.com/open-telemetry/opentelemetry-collector/pull/10839 (raw netsh"
    " output: single-port rows 80, 5986, 47001, WinNAT rows, and a row added with netsh)",
    "DOCKER_12251": "https://github.com/docker/for-win/issues/12251 (\"hnsCall failed in Win32: The"
    " process cannot access the file because it is being used by another process. (0x20)\")",
    "DOCKER_15452": "https://github.com/docker/docs/issues/15452 (net stop winnat, netsh add"
    " excludedportrange, net start winnat)",
    "SO_ADMIN": "Stack Overflow \"What is Administered port exclusions in windows 10?\", question"
    " and answer (mirrors https://w3toppers.com/what-is-administered-port-exclusions-in-windows-10/,"
    " https://developerload.com/what-is-administered-port-exclusions-in-windows-10)",
    "SCCACHE_1128": "https://github.com/mozilla/sccache/pull/1128 (a contributor on"
    " CreatePersistentTcpPortReservation)",
    "BIGFIX": "BigFix fixlet https://bigfix.me/fixlet/details/27007 and forum thread"
    " https://forum.bigfix.com/t/problem-fix-with-bes-support-765-reserve-port-for-bes-client-for-"
    "dns-servers-windows-2008-2008-r2-windows-2012-2012-r2-windows-2016/23004",
    "RUNNER_1442": "https://github.com/actions/runner-images/pull/1442 (after the Visual Studio"
    " installer: \"Start Port : 1024\", \"Number of Ports : 64511\")",
    "WSL_5306": "https://github.com/microsoft/WSL/issues/5306 (WinNAT rows at 4294-9783 under a"
    " range starting at 1024; HTTP.sys rows 5357, 5700, 8884)",
    "NETSH_SAMPLES": "shared/netsh-samples/ (real netsh output in several languages, README.md on"
    " the layout, NN.json with the rows read by hand)",
    # The project's research.
    "DOSSIER": "shared/research/windows-semantics.md, the full rule dossier (cited as D-Rnn, D-Qnn:"
    " its rule nn and open question nn)",
    "WILD_OBS": "shared/research/wild-observations.md (quotes, codes and sources from real machines,"
    " by section)",
    "AUDIT": "shared/research/fidelity-audit.md (the model against the dossier, by section)",
}

D, OBS, A = Confidence.DOCUMENTED, Confidence.OBSERVED, Confidence.ASSUMED
E = WinError

_TABLE: Final[tuple[Rule, ...]] = (
    # --- The pools ---------------------------------------------------------------
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
    # --- The dynamic range ----------------------------------------------------------
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
    # --- Sockets -------------------------------------------------------------------
    Rule("W6", "sockets", "socket() with an address family other than AF_INET/AF_INET6"
         " fails.", "SOCKET (WSAEAFNOSUPPORT)", D, E.WSAEAFNOSUPPORT),
    Rule("W7", "sockets", "socket() with a type other than SOCK_STREAM, SOCK_DGRAM or"
         " SOCK_RAW fails.", "SOCKET (WSAESOCKTNOSUPPORT)", D, E.WSAESOCKTNOSUPPORT),
    Rule("W8", "sockets", "socket() with a protocol the stack does not know fails.",
         "SOCKET (WSAEPROTONOSUPPORT)", D, E.WSAEPROTONOSUPPORT),
    Rule("W9", "sockets", "socket() with a protocol of the wrong type (SOCK_STREAM with"
         " IPPROTO_UDP) fails; protocol 0 picks TCP for SOCK_STREAM, UDP for SOCK_DGRAM.",
         "SOCKET (WSAEPROTOTYPE; \"If a value of 0 is specified ... the service provider"
         " will choose\")", D, E.WSAEPROTOTYPE),
    Rule("W10", "sockets", "A SOCK_RAW socket needs administrator rights.", "RAW"
         " (\"To use a socket of type SOCK_RAW requires administrative privileges\"; \"raw"
         " socket calls will fail with an error code of WSAEACCES\", enforced at socket"
         " creation on Vista and later)", D, E.WSAEACCES),
    Rule("W11", "sockets", "socket(AF_INET or AF_INET6, SOCK_RAW, 0) by an administrator:"
         " whether Windows accepts protocol 0 for a raw socket.  Two Microsoft pages disagree"
         " and the programs seen in the wild use it: see the alternatives.", "RAW; RCVALL;"
         " PYSOCK", OBS, check="As an administrator: socket(AF_INET, SOCK_RAW, 0) and"
         " socket(AF_INET6, SOCK_RAW, 0).  A valid SOCKET settles `accepted`; INVALID_SOCKET"
         " settles `refused` (record WSAGetLastError)."),
    Rule("R9a", "sockets", "The reservation IOCTLs on a socket that is neither TCP nor UDP"
         " (SOCK_RAW) fail.", "ACQ (WSAEOPNOTSUPP: \"on a socket other than UDP or TCP\");"
         " D-R9", D, E.WSAEOPNOTSUPP),
    Rule("R9b", "sockets", "Any call on a handle that is not a live socket of the calling"
         " process (closed, or another process's) fails.", "ACQ, BIND (WSAENOTSOCK)", D,
         E.WSAENOTSOCK),
    Rule("R9c", "sockets", "A reservation IOCTL whose input is not acceptable (a token or"
         " block that is not an integer of the right size) fails.", "ACQ (WSAEINVAL: \"the"
         " specified input parameter is not acceptable\")", D, E.WSAEINVAL),
    Rule("A19", "sockets", "Every call from a process that has exited (or that ran before a"
         " reboot) fails as if Winsock were not started.", "model choice: Windows has no"
         " such caller; WSANOTINITIALISED is what a process without WSAStartup gets (BIND)",
         A, E.WSANOTINITIALISED, check="Nothing to run: on Windows a process that has exited"
         " makes no calls.  The nearest experiment, bind() before WSAStartup, gives"
         " WSANOTINITIALISED (B13)."),
    # --- Runtime reservations: acquire ---------------------------------------------------
    Rule("R1", "acquire", "SIO_ACQUIRE_PORT_RESERVATION grants a runtime reservation of a"
         " block of TCP or UDP ports on the socket it is issued on, and returns the block and"
         " a token.", "ACQ; D-R1", D),
    Rule("R2", "acquire", "A StartPort of 0 asks for a wildcard block of NumberOfPorts ports;"
         " wildcard requests are runtime only.", "ACQ (\"wildcard port reservation requests"
         " are only supported at runtime\"); MicrosoftDocs/sdk-api"
         " sdk-api-src/content/mstcpip/ns-mstcpip-inet_port_range.md (\"If this parameter is set"
         " to zero, the system will choose a starting TCP or UDP port number\"); D-R6", D),
    Rule("R3", "acquire", "A wildcard block is contiguous and lies inside the socket's dynamic"
         " range (Y4), clear of every block of any kind and of every bound port.", "D-R7"
         " (inferred from ACQ; WinNAT's wildcard-style 100-port blocks always lie inside the"
         " dynamic range and move with it: WSL_5306, cloud-barista/cb-coffeehouse#81)", A,
         check="Acquire 50 wildcard blocks of 10 ports (StartPort 0) on UDP sockets, keeping"
         " them: this rule expects every block inside netsh int ipv4 show dynamicport udp and"
         " none overlapping a row of show excludedportrange protocol=udp or a port netstat"
         " -ano -p udp lists."),
    Rule("A2", "acquire", "A specific request that overlaps a port merely bound by a socket of"
         " the same protocol (no block there) fails.  Overlaps with blocks are X5.",
         "D-R14, D-Q2(a): the code is not documented (the persistent analogue is"
         " ERROR_SHARING_VIOLATION, R13b)", A, E.WSAEADDRINUSE, check="D-Q2(a): bind a plain"
         " UDP socket to 60000; acquire a specific 1-port block at 60000 on another UDP socket"
         " of the same process and of another process: this rule expects WSAEADDRINUSE for"
         " both."),
    Rule("A3", "acquire", "A request with NumberOfPorts 0, or whose block runs past 65535,"
         " fails.", "D-Q11; ACQ (WSAEINVAL: input \"not acceptable\")", A, E.WSAEINVAL,
         check="D-Q11: acquire StartPort 65530 with NumberOfPorts 10, and StartPort 60000 with"
         " NumberOfPorts 0: this rule expects WSAEINVAL for both."),
    Rule("A4", "acquire", "Where a wildcard port lands (bind(port 0), connect's implicit bind,"
         " a wildcard block): Windows counts.  One counter per protocol for the whole machine,"
         " shared by every process and both IP versions, moves to just past each port handed"
         " out; held ports and every block are skipped, and a freed port can be handed out"
         " again when the counter comes round.  Where the counter starts is drawn from the"
         " host's seeded generator (assumed).  See the alternatives.",
         "CHROME_RANDOM (randomization \"disabled (the default)\", \"port re-use in a sequential"
         " model\"); WS2DEF (SO_RANDOMIZE_PORT, an opt-in, \"randomize assignment of wildcard"
         " ports\"); D-Q10", OBS, check="D-Q10: on a quiet machine, 200 plain UDP bind(0) calls"
         " closing each socket, then 50 wildcard UDP acquires of 10 ports; record the ports."
         "  Ports that step up by one (with gaps where another process took some) settle"
         " `sequential`; no order settles `random`."),
    Rule("A13", "acquire", "When no free block (wildcard acquire) or no free port (bind"
         " port 0) is left in the dynamic range, the call fails.", "D-R8, D-Q11: not"
         " documented for these calls; WSAENOBUFS is what port exhaustion gives connect/bind"
         " in the wild", A, E.WSAENOBUFS, check="D-Q11: as an administrator set netsh int"
         " ipv4 set dynamicport udp start=60000 num=255 (the smallest range, KB929851) on a"
         " quiet host with no exclusion rows in 60000-60254; acquire wildcard 100-port UDP"
         " blocks, keeping them, until one fails (one or two fit, by where A4's counter"
         " stood): this rule expects WSAENOBUFS;"
         " then bind(0) 55 UDP sockets, which succeed, and a 56th, which this rule expects to"
         " fail with WSAENOBUFS.  Restore with start=49152 num=16384."),
    Rule("A21", "acquire", "A socket that is already bound may still acquire a reservation.",
         "D-R28 (msquic acquires on the socket it later associates and binds); not stated for"
         " a socket bound first", A, check="Bind a UDP socket to port 0, then issue"
         " SIO_ACQUIRE_PORT_RESERVATION (StartPort 0, 10 ports) on that socket: this rule"
         " expects success."),
    Rule("R13c", "acquire", "Tokens are unique, opaque, non-zero 64-bit values"
         " (INVALID_PORT_RESERVATION_TOKEN is 0).", "CREATE (\"unique opaque ULONG64\"); HDR;"
         " D-R43", D),
    # --- Runtime reservations: lifetime and release ------------------------------------
    Rule("R4", "lifetime", "A runtime reservation lasts as long as the socket it was acquired"
         " on: closing that socket releases the block.", "ACQ (\"Runtime port reservations"
         " last only as long as the lifetime of the socket on which the"
         " SIO_ACQUIRE_PORT_RESERVATION IOCTL was called\"); D-R19", D),
    Rule("A28", "lifetime", "A process's exit (which closes its sockets) and a reboot release"
         " its runtime blocks.", "D-R21 (inferred: demikernel and msquic rely on closesocket"
         " and never release); duplicated sockets (WSADuplicateSocket, D-Q9(c)) are not"
         " modelled", A, check="D-Q9(b): acquire 60000+10 on a UDP socket of process A, kill A"
         " (taskkill /F); from process B bind a plain UDP socket to 60005, then acquire"
         " 60000+10: this rule expects both to succeed."),
    Rule("R8", "lifetime", "SIO_RELEASE_PORT_RESERVATION releases a runtime reservation"
         " obtained by the issuing process.", "REL; D-R31", D),
    Rule("A5", "lifetime", "SIO_RELEASE_PORT_RESERVATION from another process than the"
         " acquiring one fails; any socket of the acquiring process may issue it.",
         "REL (\"must have been obtained from the issuing process\"; D-R31); D-R32 (any socket:"
         " inferred); the code is assumed", A, E.WSAEACCES, check="D-Q12, D-Q7: acquire"
         " 60000+10 on socket S of process A and release the token from another socket of A"
         " (this rule expects success); acquire again and release the token from a socket of"
         " process B (this rule expects WSAEACCES)."),
    Rule("A22", "lifetime", "SIO_RELEASE_PORT_RESERVATION with a persistent token fails"
         " (persistent blocks go through DeletePersistent*PortReservation).", "REL (\"a"
         " runtime reservation\"); D-R33, D-Q12", A, E.WSAEINVAL, check="As an administrator"
         " create a persistent block with CreatePersistentUdpPortReservation(htons(60100), 10)"
         " and issue SIO_RELEASE_PORT_RESERVATION with its token on a UDP socket: this rule"
         " expects WSAEINVAL.  Delete the block afterwards."),
    Rule("A20", "lifetime", "When a block is released or deleted, sockets already bound from"
         " it keep their ports; the ports return to the pool when those sockets close.",
         "D-R33, D-Q12 (inferred: \"presumably keep their ports\")", A, check="D-Q12: acquire"
         " 60000+10, associate a second socket and bind it to port 0 (it gets P), release the"
         " token: this rule expects getsockname to still give P and a plain bind of a third"
         " socket to P to fail with WSAEADDRINUSE."),
    Rule("A16", "lifetime", "An association whose reservation has gone (released, deleted,"
         " its socket closed) lapses: bind then behaves as on a plain socket.", "not"
         " documented (D-R33)", A, check="Acquire 60000+10 on socket S, associate socket T"
         " with the token, close S, then bind T to port 0: this rule expects success with a"
         " port from the dynamic range."),
    # --- Association and bind ---------------------------------------------------------
    Rule("R5", "associate", "SIO_ASSOCIATE_PORT_RESERVATION, issued before bind, makes"
         " bind(port 0) take a free port from the reservation.", "ASSOC (\"the port assigned"
         " to it will be selected from the port reservation\"); D-R23, D-R26", D),
    Rule("R6", "associate", "An associated socket may bind an explicit free port inside its"
         " block; the acquiring socket itself may be associated and bound.", "MSQUIC; the"
         " seed sample; D-R27, D-R28", OBS),
    Rule("A1", "associate", "bind(port 0) on an associated socket whose block has no free"
         " port left fails.", "ASSOC (\"the bind function call will fail\"); D-R23, D-Q1: the"
         " code is assumed", A, E.WSAEADDRINUSE, check="D-Q1: acquire a specific 2-port UDP"
         " block at 60000, associate three new UDP sockets with the token and bind each to"
         " port 0: the first two get 60000 and 60001; this rule expects the third to fail with"
         " WSAEADDRINUSE."),
    Rule("A6", "associate", "Associating a token of the other protocol fails.", "D-R30, D-Q8:"
         " not documented", A, E.WSAEINVAL, check="D-Q8: acquire 60000+10 on a UDP socket and"
         " associate its token with a new TCP socket: this rule expects WSAEINVAL."),
    Rule("A7", "associate", "Associating a socket that is already bound, or already"
         " associated, fails.", "ASSOC (\"must be issued before the socket is bound\"); D-R23,"
         " D-Q6: the code is assumed", A, E.WSAEINVAL, check="D-Q6: bind a UDP socket to port"
         " 0, then associate a live token (this rule expects WSAEINVAL); associate an unbound"
         " socket twice with one token (this rule expects WSAEINVAL for the second)."),
    Rule("A11", "associate", "Associating or releasing a token that names no live"
         " reservation fails.", "D-R30, D-Q8: not documented", A, E.WSAEINVAL,
         check="D-Q8: associate a UDP socket with token 0x1234, which was never granted, and"
         " release that token: this rule expects WSAEINVAL for both."),
    Rule("A12", "associate", "Associating a runtime token from another process than the"
         " acquiring one fails.", "ACQ (\"reservations be consumed from the process on whose"
         " socket the reservation was granted\"; D-R20); the code is assumed", A, E.WSAEACCES,
         check="D-Q7: acquire 60000+10 in process A, pass the token's value to process B and"
         " associate it with a B socket: this rule expects WSAEACCES."),
    Rule("R7", "associate", "Associating a persistent token needs an elevated administrator;"
         " others get WSAEACCES.", "ASSOC (\"the function call will fail and WSAEACCES is"
         " returned\"); D-R25", D, E.WSAEACCES),
    Rule("R14", "associate", "Any elevated process may associate any persistent token: there"
         " is no inter-component security for persistent reservations.", "CREATE (\"Windows"
         " does not implement inter-component security for persistent reservations\"); D-R44",
         D),
    Rule("A17", "associate", "An associated socket binding an explicit port outside its block"
         " follows the plain-socket rules.", "D-R27, D-Q5(b): not documented", A,
         check="D-Q5(b): acquire 60000+10, associate a UDP socket and bind it explicitly to"
         " the free port 60020: this rule expects success, as for a plain socket."),
    Rule("W1", "bind", "bind(port 0) on a plain socket takes a free port from its dynamic"
         " range (Y4).  That it never lands inside a block is X4.", "BIND (\"the service"
         " provider assigns a unique port to the application from the dynamic client port"
         " range\"); D-R52", D),
    Rule("R17", "bind", "A plain explicit bind (no association) to a port inside another"
         " process's runtime block fails with WSAEACCES, not WSAEADDRINUSE.  The caller's own"
         " runtime blocks are X14, administered blocks X15, system exclusions X2.", "D-R22"
         " (weak: msquic reserved ports \"to make sure other processes fail to use the same"
         " port in parallel\", MSQUIC_2017; the code is not reported), WSAEACCES by analogy"
         " with system exclusions (D-R55, X2)", A, E.WSAEACCES, check="D-Q5(f): acquire"
         " 60000+10 on a UDP socket of process A and keep it open; from process B bind a plain"
         " UDP socket to 60005: this rule expects WSAEACCES."),
    Rule("X14", "bind", "A plain explicit bind (no association) to a port inside a runtime"
         " block of the caller's own process.  The evidence is weak either way: see the"
         " alternatives.", "D-R22; D-Q5(e); MSQUIC_2017", A, E.WSAEACCES, check="D-Q5(e): in"
         " process A acquire 60000+10 on UDP socket S; bind a new unassociated UDP socket of A"
         " to 60004, and bind S itself (not associated) to 60005.  WSAEACCES settles"
         " `refused`; success settles `succeeds`."),
    Rule("X15", "bind", "A plain explicit bind (no association) to a port inside an"
         " administered block: a persistent reservation, made by CreatePersistent*"
         "PortReservation or netsh add excludedportrange (the `*` rows).  Direct observations"
         " and a 2026 statement by msquic's maintainers disagree: see the alternatives.",
         "D-R48; D-Q17, D-Q18; AUDIT §0.1", OBS, check="D-Q18: as an administrator"
         " CreatePersistentTcpPortReservation(htons(60000), 10, &token); from a non-elevated"
         " process bind a plain TCP socket to 127.0.0.1:60001.  Success settles `succeeds`;"
         " WSAEACCES settles `refused`.  Repeat with a row made by netsh int ipv4 add"
         " excludedportrange protocol=tcp startport=60100 numberofports=10: the two may differ"
         " (D-Q17)."),
    Rule("W2", "bind", "bind to the same address and port another socket of the same stack has"
         " bound fails unless the conflict table (C1-C12) lets the two share it; sockets that"
         " do not meet (C13, C15) never conflict.", "BIND (WSAEADDRINUSE: \"already bound to the"
         " same fully qualified address\"); REUSE", D, E.WSAEADDRINUSE),
    Rule("A23", "bind", "A port that is both inside a runtime block and bound (by an associated"
         " socket) refuses a plain bind with WSAEACCES: the block is checked first.",
         "observed for system exclusions (X2: K8S_107114, port 47001 both excluded and bound"
         " by System gave WSAEACCES); assumed for SIO_ACQUIRE blocks", A, check="Acquire"
         " 60000+10 in process A, associate a socket and bind it to 60003; from process B bind"
         " a plain UDP socket to 60003: this rule expects WSAEACCES (WSAEADDRINUSE would mean"
         " \"in use\" is checked first)."),
    Rule("W3", "bind", "bind on a socket that is already bound fails.", "BIND (WSAEINVAL:"
         " \"the socket s is already bound to an address\")", D, E.WSAEINVAL),
    Rule("W4", "bind", "bind with an address of the wrong family, or host text that names no"
         " address of the socket's family (a bad IP literal), fails.  A port outside 0-65535"
         " never reaches Windows: Python's socket, and portpool's interface, raise"
         " OverflowError first.", "BIND (WSAEFAULT: \"an incorrect address format for the"
         " associated address family\"); CPython's socketmodule (\"port must be 0-65535\")",
         D, E.WSAEFAULT),
    Rule("W12", "bind", "Host text is read as the sockaddr inet_pton makes of it: an IPv6"
         " scope (fe80::1%1) is dropped, an empty scope (::1%) or a scope on an IPv4 address"
         " names no address (W4), and getsockname and the bindings print the address back in"
         " canonical form (0.0.0.0 or :: for the unspecified address \"\").  A known"
         " simplification: Python's socket resolves the text with getaddrinfo, which keeps the"
         " scope id.", "model choice, shared by both backends (portpool._types.parse_host);"
         " BIND for the sockaddr", A, check="With Python's socket on Windows, bind an AF_INET6"
         " socket to ('fe80::1%N', 0), N a real interface index, and read getsockname(): Windows"
         " is expected to report scope id N where the model reports 0."),
    Rule("A24", "bind", "A SOCK_RAW socket binds an address but no port: it takes nothing from"
         " either pool, and getsockname reports port 0.", "BIND (\"may also be used to bind to"
         " a raw socket\"); the reported port is assumed.  RAW forbids bind on a raw"
         " IPPROTO_TCP socket on Windows 7, Vista and XP SP2 clients, which the model does not"
         " (AUDIT §1)", A, check="As an administrator, socket(AF_INET, SOCK_RAW, IPPROTO_UDP),"
         " bind 127.0.0.1:0 and read getsockname: this rule expects port 0."),
    Rule("W5", "bind", "getsockname on a socket that is not bound fails.", "GETSOCKNAME"
         " (WSAEINVAL: \"The socket has not been bound to an address with bind\")", D,
         E.WSAEINVAL),
    # --- Bind conflicts: addresses, options, accounts ----------------------------------
    Rule("C1", "conflicts", "Same account, first socket default options on the wildcard: a second"
         " bind to the port gets, by its options and scope (default wildcard / specific, reuse"
         " wildcard / specific, exclusive wildcard / specific): INUSE, success, ACCESS, success,"
         " INUSE, success.", "REUSE (Windows Server 2003 and later, same user account, row"
         " Default/Wildcard)", D),
    Rule("C2", "conflicts", "Same account, first socket default options on a specific address:"
         " success, INUSE, success, ACCESS, INUSE, INUSE.", "REUSE (same account, row"
         " Default/Specific)", D),
    Rule("C3", "conflicts", "Same account, first socket SO_REUSEADDR on the wildcard: INUSE,"
         " success, success, success, INUSE, success.", "REUSE (same account, row"
         " SO_REUSEADDR/Wildcard)", D),
    Rule("C4", "conflicts", "Same account, first socket SO_REUSEADDR on a specific address:"
         " success, INUSE, success, success, INUSE, INUSE.", "REUSE (same account, row"
         " SO_REUSEADDR/Specific)", D),
    Rule("C5", "conflicts", "Same account, first socket SO_EXCLUSIVEADDRUSE on the wildcard:"
         " INUSE, ACCESS, ACCESS, ACCESS, INUSE, ACCESS.", "REUSE (same account, row"
         " SO_EXCLUSIVEADDRUSE/Wildcard)", D),
    Rule("C6", "conflicts", "Same account, first socket SO_EXCLUSIVEADDRUSE on a specific address:"
         " success, INUSE, success, ACCESS, INUSE, INUSE (a wildcard bind then covers every"
         " address but the first one's).", "REUSE (same account, row SO_EXCLUSIVEADDRUSE/"
         "Specific, and the note below the table)", D),
    Rule("C7", "conflicts", "Different accounts, first socket default options on the wildcard:"
         " INUSE, ACCESS, ACCESS, ACCESS, INUSE, ACCESS.  (Which processes share an account:"
         " the model compares account names without regard to case, as Windows logon names"
         " are; assumed.)", "REUSE (different user accounts, row"
         " Default/Wildcard: \"the second caller cannot set the SO_REUSEADDR option and"
         " successfully bind\")", D),
    Rule("C8", "conflicts", "Different accounts, first socket default options on a specific"
         " address: success, INUSE, success, ACCESS, INUSE, INUSE.", "REUSE (different"
         " accounts, row Default/Specific)", D),
    Rule("C9", "conflicts", "Different accounts, first socket SO_REUSEADDR on the wildcard:"
         " INUSE, ACCESS, success, success, INUSE, ACCESS.", "REUSE (different accounts, row"
         " SO_REUSEADDR/Wildcard)", D),
    Rule("C10", "conflicts", "Different accounts, first socket SO_REUSEADDR on a specific"
         " address: success, INUSE, success, success, INUSE, INUSE.", "REUSE (different"
         " accounts, row SO_REUSEADDR/Specific)", D),
    Rule("C11", "conflicts", "Different accounts, first socket SO_EXCLUSIVEADDRUSE on the"
         " wildcard: INUSE, ACCESS, ACCESS, ACCESS, INUSE, ACCESS.", "REUSE (different"
         " accounts, row SO_EXCLUSIVEADDRUSE/Wildcard)", D),
    Rule("C12", "conflicts", "Different accounts, first socket SO_EXCLUSIVEADDRUSE on a specific"
         " address: success, INUSE, success, ACCESS, INUSE, INUSE.", "REUSE (different"
         " accounts, row SO_EXCLUSIVEADDRUSE/Specific)", D),
    Rule("C13", "conflicts", "Two sockets meet only on the same protocol, port and stack, with the"
         " same address or the wildcard on either side: two different specific addresses"
         " never conflict, whatever the options and accounts.", "REUSE (\"When two sockets are"
         " bound to the same port number but on different explicit interfaces, there is no"
         " conflict\")", D),
    Rule("C14", "conflicts", "A dual-stack socket (IPV6_V6ONLY off) bound to the wildcard holds"
         " the port on both stacks, and its bind must pass the table on both.  The code for"
         " a dual-stack SO_EXCLUSIVEADDRUSE wildcard bind over an IPv4 socket on a specific"
         " address: see the alternatives.", "REUSE (\"the given port is reserved on both the IPv4"
         " and IPv6 networking stacks ... These checks must succeed on both networking"
         " stacks\")", D, E.WSAEACCES),
    Rule("C15", "conflicts", "IPv4 and IPv6 bind separately: an AF_INET socket and an AF_INET6"
         " socket (IPV6_V6ONLY on, the default) may hold the same port, wildcard or not.",
         "DUAL (\"By default, an IPv6 socket created on Windows Vista and later only operates"
         " over the IPv6 protocol\"); REUSE (the two networking stacks)", D),
    Rule("C16", "conflicts", "When several sockets hold the port, the new bind is checked against"
         " each that it meets, in the order they bound; the first refusal decides the code.",
         "model choice: REUSE's tables pair two sockets only", A, check="Bind socket 1 with"
         " SO_REUSEADDR to 0.0.0.0:P and socket 2 with SO_REUSEADDR to 127.0.0.1:P (same"
         " account), then bind a default socket to 127.0.0.1:P: the first holder (C3) says"
         " success, the second (C4) INUSE; this rule expects WSAEADDRINUSE."),
    Rule("C17", "conflicts", "bind(0), connect's implicit bind and wildcard acquires never take a"
         " port any socket holds, on either stack: a port is either free for both IP versions or"
         " not free.", "model choice; D-R11 (one pool per protocol); BIND (port 0: \"a unique"
         " port\")", A, check="Bind AF_INET6 [::1]:P (v6-only), then bind AF_INET sockets to"
         " 0.0.0.0:0 repeatedly in a range of 255 ports holding P: this rule expects P never"
         " to be returned."),
    Rule("C18", "conflicts", "A socket's options are read when it binds; the table compares the"
         " first socket's options as they were at its bind.", "EXCL (the option must be set"
         " \"before the socket is bound\"); REUSE (\"before calling bind\")", D),
    Rule("C19", "conflicts", "UDP sockets of one process that set SIO_CPU_AFFINITY (msquic's"
         " per-processor sockets) may all bind the same address and port, whatever the table"
         " says; other sockets meet them by the table.  Needing the same process is assumed,"
         " and so is reading the affinity at each bind (setting it after the first socket bound"
         " still lets later ones share).",
         "D-R29: msquic creates one SIO_CPU_AFFINITY socket per processor, associates each"
         " with one 1-port token and binds each to the same port (MSQUIC, datapath_winuser.c:"
         " \"This IOCTL allows for creating per-processor sockets for the same UDP port\")", OBS,
         check="D-Q5: make two UDP sockets with SIO_CPU_AFFINITY 0 and 1 in one process and"
         " bind both to [::]:P without a reservation; then repeat from two processes: this rule"
         " expects success, then WSAEADDRINUSE."),
    # --- Local addresses -----------------------------------------------------------------
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
    # --- Socket options ----------------------------------------------------------------
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
    # --- connect -----------------------------------------------------------------------
    Rule("K1", "connect", "connect on an unbound socket binds it first, as bind to the wildcard"
         " and port 0 would (W1, with C17), then records the peer; a bound socket keeps its"
         " address.  getsockname then reports the wildcard address: Windows reports the address"
         " of the interface the route to the peer leaves by (GETSOCKNAME), which the model, having"
         " no routes, does not know (a known simplification).", "CONNECT (\"If the socket is"
         " unbound, unique values are assigned to the local association by the system\")", D),
    Rule("K2", "connect", "connect on an associated, unbound socket: where its port comes from is"
         " undocumented; see the alternatives.", "D-Q6 (\"associate and then connect() without"
         " bind (does auto-bind take a block port?)\")", A, check="D-Q6: acquire 60000+10,"
         " associate a TCP socket, connect it to a listening socket: a local port in"
         " 60000-60009 settles `block`, one in the dynamic range `dynamic`."),
    Rule("K3", "connect", "connect to the wildcard address (TCP) or to port 0 fails.  For a UDP"
         " socket the wildcard means something else (K7); port 0 with another address failing"
         " for UDP too is assumed.", "CONNECT (WSAEADDRNOTAVAIL: \"The remote address is not a"
         " valid address (such as INADDR_ANY or in6addr_any)\", in the paragraph on"
         " connection-oriented sockets)", D, E.WSAEADDRNOTAVAIL),
    Rule("K7", "connect", "connect of a UDP socket to the all-zero address disconnects it: the"
         " peer is forgotten (getpeername then fails, K5) and the binding stays.", "CONNECT (\"If"
         " the address member of the structure specified by name is filled with zeros, the"
         " socket will be disconnected\", for connectionless sockets)", D),
    Rule("K4", "connect", "connect on a connected TCP socket fails; a UDP socket may connect"
         " again, which replaces its peer.", "CONNECT (WSAEISCONN: \"The socket is already"
         " connected (connection-oriented sockets only)\"; for a connectionless socket"
         " \"the default destination can be changed by simply calling connect again\")", D,
         E.WSAEISCONN),
    Rule("K5", "connect", "getpeername on a socket that is not connected fails.", "GETPEERNAME"
         " (WSAENOTCONN: \"The socket is not connected\")", D, E.WSAENOTCONN),
    Rule("K6", "connect", "connect succeeds at once for any other peer address of the socket's"
         " family: the model has no network, so nothing listens, refuses or times out, and"
         " SO_BROADCAST is not modelled (CONNECT's WSAEACCES for a datagram connect to a broadcast"
         " address without it does not occur).", "model choice: the port pool is local; CONNECT's"
         " network codes (WSAECONNREFUSED, WSAETIMEDOUT, WSAENETUNREACH, WSAEACCES for broadcast)"
         " are not modelled", A, check="none: this is the model's scope, not a claim about"
         " Windows."),
    # --- Persistent reservations -----------------------------------------------------------
    Rule("R13", "persistent", "CreatePersistent*PortReservation and"
         " DeletePersistent*PortReservation need an elevated administrator.", "CREATE, DELETE"
         " (ERROR_ACCESS_DENIED); D-R38", D, E.ERROR_ACCESS_DENIED),
    Rule("R13a", "persistent", "Create, Lookup and Delete refuse a zero StartPort or"
         " NumberOfPorts; Create also refuses a block past 65535.", "CREATE, LOOKUP, DELETE"
         " (ERROR_INVALID_PARAMETER \"if zero is passed in the StartPort or NumberOfPorts"
         " parameters\"; Create: \"would exceed the maximum port that can be allocated\");"
         " D-R40", D, E.ERROR_INVALID_PARAMETER),
    Rule("A27", "persistent", "Lookup and Delete also refuse a block past 65535 with"
         " ERROR_INVALID_PARAMETER (rather than ERROR_NOT_FOUND).", "LOOKUP and DELETE list"
         " ERROR_INVALID_PARAMETER only for zeros (D-R40); D-Q16", A,
         E.ERROR_INVALID_PARAMETER, check="D-Q16: as an administrator"
         " LookupPersistentTcpPortReservation(htons(65530), 10, &token) and"
         " DeletePersistentTcpPortReservation(htons(65530), 10): this rule expects 87 from"
         " both; 1168 (ERROR_NOT_FOUND) overturns it."),
    Rule("A14", "persistent", "Create and Delete check their parameters before the caller's"
         " rights.", "not documented", A, check="From a non-elevated process"
         " CreatePersistentTcpPortReservation(0, 0, &token): this rule expects 87"
         " (ERROR_INVALID_PARAMETER); 5 (ERROR_ACCESS_DENIED) means rights come first."),
    Rule("R13b", "persistent", "Create fails when a port of the block is in use or the block"
         " overlaps a persistent reservation.", "CREATE (ERROR_SHARING_VIOLATION: \"is already"
         " being used\", \"matches or overlaps a persistent reservation\"); D-R39", D,
         E.ERROR_SHARING_VIOLATION),
    Rule("A15", "persistent", "Create fails the same way when the block overlaps a runtime"
         " reservation.", "CREATE (\"already being used\"), read as including runtime"
         " blocks; D-R39, D-Q2(d)", A, E.ERROR_SHARING_VIOLATION, check="D-Q2(d): acquire"
         " 60000+10 on a TCP socket and keep it open; as an administrator"
         " CreatePersistentTcpPortReservation(htons(60005), 10, &token): this rule expects"
         " ERROR_SHARING_VIOLATION."),
    Rule("R13d", "persistent", "Persistent reservations are kept in a persistent store and"
         " survive a reboot; their start port is given in network byte order at the ABI.",
         "CREATE (\"recorded in a persistent store\"); D-R37, D-R43", D),
    Rule("A10", "persistent", "A persistent reservation's token changes at every reboot, so"
         " code must look it up again.", "CREATE (\"may change each time the system is"
         " restarted\"); D-R43, D-Q16", A, check="D-Q16: as an administrator create 60000+10"
         " and note the token; reboot; LookupPersistentTcpPortReservation(htons(60000), 10):"
         " this rule expects a different token."),
    Rule("R15", "persistent", "Lookup returns the token of the persistent block with exactly"
         " that start and count; any other block gives ERROR_NOT_FOUND.", "LOOKUP (\"must"
         " match the values used when the persistent reservation ... was created\";"
         " ERROR_NOT_FOUND); D-R41", D, E.ERROR_NOT_FOUND),
    Rule("A26", "persistent", "Lookup needs no administrator (Create and Delete do, R13).",
         "LOOKUP states no admin requirement and lists no ERROR_ACCESS_DENIED (D-R38:"
         " \"Silent\"); D-Q16", A, check="D-Q16: as an administrator create 60000+10; from a"
         " non-elevated process LookupPersistentTcpPortReservation(htons(60000), 10, &token):"
         " this rule expects NO_ERROR and the same token; ERROR_ACCESS_DENIED overturns it."),
    Rule("R16", "persistent", "Delete removes the persistent block with exactly that start and"
         " count.", "DELETE (ERROR_NOT_FOUND); D-R41", D, E.ERROR_NOT_FOUND),
    # --- Blocks of every kind; system exclusions ------------------------------------------
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
         " reservation); the bound-port half is assumed", A, E.ERROR_SHARING_VIOLATION,
         check="On a Hyper-V host as an administrator: netsh int ipv4 add excludedportrange"
         " protocol=udp startport=60001 numberofports=1, then run a Windows container"
         " publishing 60001/udp: this rule expects \"hnsCall failed in Win32: The process"
         " cannot access the file because it is being used by another process. (0x20)\"."
         "  Then bind plain TCP sockets to every 10th port of the dynamic range, run net stop"
         " winnat and net start winnat: this rule expects new WinNAT rows that may cover bound"
         " ports, each such socket still reporting its port (getsockname)."),
    # --- netsh ------------------------------------------------------------------------
    Rule("N1", "netsh", "netsh int ipv4|ipv6 add excludedportrange protocol=tcp|udp"
         " startport=N numberofports=N creates a persistent reservation (the store of"
         " CreatePersistent*PortReservation: LookupPersistent* finds it), listed with `*`;"
         " delete excludedportrange removes one.  Both need the row's exact start and count:"
         " a delete of part of a row, or of more than a row, removes nothing (as"
         " DeletePersistent*, R16).", "D-R47: rows added with netsh show the `*` (BIGFIX;"
         " localsend/localsend#125; OTEL_10839); that netsh and the API share one store is"
         " inferred (D-Q17); the Spanish netsh help: \"Los valores de startport y numberofports"
         " deben ser exactamente los mismos que en la exclusión creada previamente\" (WILD_OBS"
         " §E)", OBS, check="D-Q17: as an administrator, netsh int ipv4 add excludedportrange"
         " protocol=tcp startport=60000 numberofports=10, then"
         " LookupPersistentTcpPortReservation(htons(60000), 10, &token): this rule expects"
         " NO_ERROR; then netsh ... delete ... startport=60000 numberofports=5: this rule"
         " expects the row to stay."),
    Rule("N2", "netsh", "netsh add, delete and set (excludedportrange, dynamicport) need an"
         " elevated administrator; others get ERROR_ELEVATION_REQUIRED and netsh prints \"The"
         " requested operation requires elevation (Run as administrator).\"  show needs no"
         " elevation.  The check comes after the command's syntax (a usage error is printed"
         " first) and before its values (assumed).", "WILD_OBS §E (FrameLink runbook: \"The"
         " requested operation requires elevation\" for add excludedportrange); the full text"
         " from netsh, exit code 1:"
         " LAB02-Research/HASS.Agent#48 (netsh advfirewall), MysticFoxDE/WINDOWS-OPTIMIZATIONS#4"
         " (netsh int tcp set, German: \"... erhöhte Rechte erforderlich (Als Administrator"
         " ausführen).\"); SYSERR (740); show is run from ordinary prompts (SO_ADMIN:"
         " C:\\Users\\Xyz>)", OBS, E.ERROR_ELEVATION_REQUIRED),
    Rule("N3", "netsh", "store=active rows last until the next boot; store=persistent rows (the"
         " default for add) survive it.  show excludedportrange ... store=persistent lists only"
         " the persistent store's rows.", "netsh's syntax \"add excludedportrange"
         " [protocol=]tcp|udp [startport=]<integer> [numberofports=]<integer>"
         " [store=]active|persistent\" (pasted in termux/termux-packages#31825);"
         " MicrosoftDocs/sql-docs PR #8145 and Azure/AgentBaker#1913 use store=persistent; the"
         " meaning of each store is assumed (D-Q17)", A, check="D-Q17: as an administrator,"
         " netsh int ipv4 add excludedportrange protocol=tcp startport=60200 numberofports=5"
         " store=active, and startport=60300 numberofports=5 (no store); show excludedportrange"
         " protocol=tcp and the same with store=persistent; reboot and show again: this rule"
         " expects both `*` rows at first, only 60300-60304 under store=persistent, and only"
         " 60300-60304 after the reboot."),
    Rule("N4", "netsh", "show excludedportrange prints a blank line, the title (\"Protocol tcp"
         " Port Exclusion Ranges\"), a blank line, the header \"Start Port    End Port\", a dash"
         " line, one row per block in start order (\"%10u  %10u\", administered rows followed by"
         " five spaces and `*`), a blank line, the legend \"* - Administered port"
         " exclusions.\" and a blank line; show dynamicport prints \"Protocol tcp Dynamic Port"
         " Range\", a dash line, \"Start Port      : N\" and \"Number of Ports : N\".  Titles,"
         " headers and legends are translated; rows and `*` are not.", "D-R60; NETSH_SAMPLES"
         " (README.md gives the layout, trailing spaces included); OTEL_10839 (en-US output as"
         " printed); dorssel/usbipd-win#53 (show dynamicport)", OBS),
    Rule("X7", "netsh", "netsh delete excludedportrange of a row without `*` (a system"
         " exclusion, or a listed runtime block, X13) is refused, even elevated, and the row"
         " stays.  Which error netsh reports is unsettled: see the alternatives.", "D-R49;"
         " D-Q17; SO_ADMIN", OBS, E.ERROR_ACCESS_DENIED, check="D-Q17: as an administrator on"
         " a Hyper-V host, netsh int ipv4 delete excludedportrange protocol=tcp startport=S"
         " numberofports=N for a WinNAT row S..S+N-1: \"Access is denied.\" settles"
         " `access-denied`; \"Element not found.\" settles `not-found`."),
    Rule("X13", "netsh", "Whether netsh show excludedportrange lists runtime (SIO_ACQUIRE)"
         " blocks as rows without `*`: see the alternatives.", "D-R58; D-Q9(a); D-Q17", A,
         check="D-Q9(a): acquire a wildcard 100-port TCP block and keep the socket open; netsh"
         " int ipv4 show excludedportrange protocol=tcp: a new row without `*` covering the"
         " block settles `listed` (it should vanish when the socket closes); no such row"
         " settles `hidden`."),
    # --- Call shapes (the ABI layer: portpool/_dlls.py, backends/windows) ---------------
    Rule("B1", "abi", "SIO_ACQUIRE_PORT_RESERVATION needs cbInBuffer equal to"
         " sizeof(INET_PORT_RANGE) (4); other sizes fail with WSAEINVAL.", "ACQ (cbInBuffer"
         " \"should be the size of the INET_PORT_RANGE structure\", no code given: D-R2"
         " \"Silent\"); WSAIOCTL gives WSAEFAULT when cbInBuffer \"is too small\"; D-Q3", A,
         E.WSAEINVAL, check="D-Q3: acquire (StartPort 0, 10 ports) with cbInBuffer 0, 2, 3, 5"
         " and 8, a valid INET_PORT_RANGE behind the pointer: this rule expects WSAEINVAL for"
         " each."),
    Rule("B2", "abi", "An output buffer smaller than INET_PORT_RESERVATION_INSTANCE (16) fails,"
         " and *lpcbBytesReturned is set to 0.  Which code: see the alternatives.", "ACQ;"
         " WSAIOCTL; D-R4 (\"Conflict\")", D, E.WSAEINVAL, check="D-Q3: acquire with"
         " cbOutBuffer 0, 8 and 15: WSAEINVAL settles `WSAEINVAL`, WSAEFAULT settles"
         " `WSAEFAULT`; record *lpcbBytesReturned."),
    Rule("B3", "abi", "A NULL lpvInBuffer, lpvOutBuffer (acquire) or lpcbBytesReturned"
         " (non-overlapped), a NULL or short sockaddr to bind, getsockname, connect or"
         " getpeername, or an SIO_CPU_AFFINITY input shorter than a USHORT, fails.  (A non-NULL"
         " bad pointer cannot be detected by an emulator in the same process.)", "ACQ, BIND,"
         " CONNECT, GETPEERNAME (WSAEFAULT); REL's WSAEFAULT row names fewer parameters (a doc"
         " quirk, D-R34); the SIO_CPU_AFFINITY case is assumed from WSAIOCTL (\"the cbInBuffer"
         " ... parameter is too small\")", D, E.WSAEFAULT),
    Rule("B4", "abi", "StartPort travels in network byte order in INET_PORT_RANGE and in the"
         " returned INET_PORT_RESERVATION_INSTANCE; NumberOfPorts in host order.", "ACQ (the"
         " sample's htons), CREATE (\"in network byte order\"); D-R5, D-R37", D),
    Rule("B5", "abi", "WSAIoctl returns 0 on success and SOCKET_ERROR on failure, the code"
         " coming from WSAGetLastError, which is per thread.  (The bytes it reports are B6.)",
         "ACQ (return value), WSAIOCTL; D-R17, D-R63", D),
    Rule("B6", "abi", "A successful acquire sets *lpcbBytesReturned to 16 (the"
         " INET_PORT_RESERVATION_INSTANCE it wrote); a successful associate or release sets it"
         " to 0 (they have no output).", "D-R35 (\"Conflict\": ACQ, ASSOC and REL say it"
         " \"cannot be zero\" without lpOverlapped, which cannot hold for an IOCTL with no"
         " output); D-Q14", A, check="D-Q14: read *lpcbBytesReturned after a successful"
         " non-overlapped acquire (this rule expects 16), associate and release (0 each)."),
    Rule("B7", "abi", "Associate and release need cbInBuffer of at least"
         " sizeof(INET_PORT_RESERVATION_TOKEN) (8) and cbOutBuffer 0; otherwise they fail with"
         " WSAEINVAL.", "ASSOC and REL (cbInBuffer \"must be at least the size of the"
         " INET_PORT_RESERVATION_TOKEN structure\"; cbOutBuffer \"must be set to zero\"; D-R24,"
         " D-R31); the code is assumed (D-Q4)", A, E.WSAEINVAL, check="D-Q4: associate, and"
         " release, with cbInBuffer 0, 4 and 7 (a token behind the pointer), and with"
         " cbOutBuffer 16 and a non-NULL output buffer: this rule expects WSAEINVAL for each."),
    Rule("B8", "abi", "An IOCTL code the provider does not support fails.", "ACQ"
         " (WSAEOPNOTSUPP: \"the specified IOCTL command is not supported\")", D,
         E.WSAEOPNOTSUPP),
    Rule("B9", "abi", "With lpOverlapped (sockets from socket() are overlapped), the call"
         " returns at once: 0 if it completed, or SOCKET_ERROR with WSA_IO_PENDING; completion"
         " signals lpOverlapped->hEvent and queues lpCompletionRoutine to the calling thread,"
         " run when it waits alertably (WSAWaitForMultipleEvents with fAlertable); the result"
         " is read with WSAGetOverlappedResult (WSA_IO_INCOMPLETE while pending).  The"
         " emulator keeps the Winsock code in OVERLAPPED.Internal, where Windows keeps an"
         " NTSTATUS: read it through WSAGetOverlappedResult, not directly.", "ACQ"
         " (WSA_IO_PENDING), WSAIOCTL (completion routines); D-R16, D-R66; queueing the"
         " routine also for an immediate completion is assumed (D-Q13)", A, E.WSA_IO_PENDING,
         check="D-Q13: on a socket from socket(), acquire (StartPort 0, 10 ports) with an"
         " OVERLAPPED and a completion routine; if it returns 0, call SleepEx(0, TRUE): this"
         " rule expects the routine to run then, with dwError 0 and cbTransferred 16."),
    Rule("B10", "abi", "Closing a socket completes its pending overlapped IOCTLs with"
         " WSA_OPERATION_ABORTED, and they take no effect.", "ACQ (\"canceled due to the"
         " closure of the socket\"); D-R16", D, E.WSA_OPERATION_ABORTED),
    Rule("B11", "abi", "WSPIoctl returns its error through *lpErrno instead of"
         " WSAGetLastError, and takes lpThreadId for the completion APC.", "ACQ (lpThreadId,"
         " lpErrno); D-R64", D),
    Rule("B12", "abi", "Create/Lookup/DeletePersistent*PortReservation return the Windows code"
         " as their ULONG result (NO_ERROR on success) and take StartPort in network byte order,"
         " so host order reserves the byte-swapped block.", "CREATE, LOOKUP, DELETE; D-R36,"
         " D-R50", D),
    Rule("B13", "abi", "Every Winsock call before WSAStartup (or after the matching"
         " WSACleanup) fails; WSACleanup closes the process's remaining sockets; WSAStartup"
         " returns its error code itself (WSAEFAULT for a NULL lpWSAData), not through"
         " WSAGetLastError.",
         "WSASTARTUP; BIND (WSANOTINITIALISED); D-R67", D, E.WSANOTINITIALISED),
    Rule("B14", "abi", "A persistent-reservation function the DLL does not export (Wine, very"
         " old Windows) is reported as ERROR_PROC_NOT_FOUND when called, not at load.",
         "WINE (GetProcAddress error 127); D-R69", OBS, E.ERROR_PROC_NOT_FOUND),
)

# Rules whose evidence conflicts: every candidate behaviour, the default first.
_ALTERNATIVE_ROWS: Final[tuple[Alternative, ...]] = (
    Alternative("A4", "sequential", "Windows' counter: the next free port at or after it (the"
                " next free run of the block's size), which it then passes.", "CHROME_RANDOM;"
                " WS2DEF (randomness is the SO_RANDOMIZE_PORT opt-in)", OBS),
    Alternative("A4", "random", "A uniform draw among the free ports (a free run for a block),"
                " as with SO_RANDOMIZE_PORT (O11) or Chrome's kTcpPortRandomizationWin; the"
                " counter moves just past the port drawn.", "portpool's earlier choice; D-R7"
                " (WinNAT's blocks leave irregular gaps, WSL_5306)", A),
    Alternative("Y2", "1024", "A range may start at 1024; a lower start is refused.",
                "RUNNER_1442 (the Visual Studio installer leaves 1024 / 64511, end 65534);"
                " NETSH_SAMPLES 43 (1024 / 13977); WILD_OBS §G (samples 41, 44, 46); WSL_5306"
                " (WinNAT rows from 4294 under such a range).  These show ranges starting at"
                " 1024 on real machines; that netsh itself accepts start=1024 is inferred",
                OBS, E.ERROR_INVALID_PARAMETER),
    Alternative("Y2", "1025", "A range may start at 1025 at the lowest, as KB929851 says; 1024"
                " is refused.", "KB929851 (\"The minimum start port that can be set is"
                " 1025\")", D, E.ERROR_INVALID_PARAMETER),
    Alternative("W11", "accepted", "The socket is created: protocol 0 is IPPROTO_IP, the one"
                " SIO_RCVALL requires of an IPv4 raw socket.", "RCVALL (the socket must be"
                " \"created with the address family set to AF_INET, the socket type set to"
                " SOCK_RAW, and the protocol set to IPPROTO_IP\"); PYSOCK"
                " (socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IP));"
                " nospaceships/node-raw-socket#35 (protocol none: \"windows/10 None ok\");"
                " dotnet/corefx#17324 (SocketType.Raw with ProtocolType.IP \"work perfect on"
                " Windows\")", OBS),
    Alternative("W11", "refused", "socket() fails with WSAEPROTONOSUPPORT.", "RAW (\"An"
                " application may not specify zero (0) as the protocol parameter for the"
                " socket, WSASocket, and WSPSocket functions if the type parameter is set to"
                " SOCK_RAW\"); the page names no code.  WSAEPROTONOSUPPORT is assumed: it is"
                " SOCKET's code for a protocol that is not supported (SOCKET's WSAEINVAL is for"
                " AF_UNSPEC with type and protocol unspecified), and Linux answers the same call"
                " with EPROTONOSUPPORT (nospaceships/node-raw-socket#48)", D,
                E.WSAEPROTONOSUPPORT),
    Alternative("X14", "refused", "The bind fails with WSAEACCES, as for another process's"
                " block (R17).", "assumed: D-R22 infers WSAEACCES for runtime blocks by"
                " analogy with system exclusions (D-R55); no report covers the own-process"
                " case", A, E.WSAEACCES),
    Alternative("X14", "succeeds", "The bind succeeds, as if the block were not there; other"
                " processes are still refused (R17).", "MSQUIC_2017: a msquic maintainer,"
                " before association was added, \"I'm not getting any bind failures on the"
                " other sockets\" (D-R22: weak)", OBS),
    Alternative("X15", "succeeds", "The bind succeeds for any process, as if the block were"
                " not there; the block still keeps bind(0) and wildcard acquires out (X4) and"
                " makes a specific acquire fail (X5).", "SO_ADMIN (Go net.Listen succeeded on"
                " the `*` range 50000-50059 only); MSQUIC_2891 (\"Binding a socket to this port"
                " works without issues\"); DOCKER_15452 and WILD_OBS §B (administered rows are"
                " added so that one's own server can bind the port: a German blog, samples"
                " 08-10; tempetflamer/squid_windows_multi_network_interface; the FrameLink"
                " runbook; httptoolkit/httptoolkit#611; KB 3039044: the first bind to an"
                " excluded port works); D-R48", OBS),
    Alternative("X15", "refused", "The bind fails with WSAEACCES unless the socket is"
                " associated with the reservation's token, which only an elevated process can"
                " do (R7).", "MSQUIC_CIBIR (a persistent reservation \"forbids sockets from"
                " binding to it unless it is associated with a persistent reservation token,"
                " which can only happen in an elevated process\"); SCCACHE_1128 (a"
                " contributor's claim, \"makes sure nobody else can take your port range\");"
                " both may hold if netsh rows and API-made reservations differ (D-Q17, D-Q18;"
                " DOSSIER §8)", D, E.WSAEACCES),
    Alternative("X7", "access-denied", "netsh prints \"Access is denied.\""
                " (ERROR_ACCESS_DENIED).", "SO_ADMIN (answer: \"If we try to delete a port"
                " range exclusion ... (even as administrator), it will return an error saying"
                " that it doesn't have permission for this\"); D-R49", OBS,
                E.ERROR_ACCESS_DENIED),
    Alternative("X7", "not-found", "netsh prints \"Element not found.\" (ERROR_NOT_FOUND): the"
                " row is not in the persistent store netsh deletes from.", "D-R49 (\"The exact"
                " code is unknown (ERROR_ACCESS_DENIED or ERROR_NOT_FOUND)\"); DELETE's code for"
                " a block it cannot find", A, E.ERROR_NOT_FOUND),
    Alternative("X13", "listed", "Every live runtime block is listed as a row without `*`,"
                " beside the system exclusions (which are then runtime reservations made by"
                " kernel components), and vanishes when its socket closes.", "D-R58"
                " (\"Inferred: such rows are runtime reservations made by kernel components\");"
                " D-Q9(a) expects the row to disappear at close", A),
    Alternative("X13", "hidden", "netsh lists only persistent reservations and system"
                " exclusions; runtime blocks do not appear.", "none found: the other reading of"
                " D-R58 (system rows come from another mechanism, such as HCN's own"
                " reservations, D-R54)", A),
    Alternative("C14", "access", "The bind fails with WSAEACCES, as REUSE's paragraph on"
                " dual-stack sockets says for exactly this case.", "REUSE (\"if an IPv4 TCP socket"
                " was previously bound to the loopback address on port 5000, the bind call for"
                " the dual stack socket would fail with WSAEACCES\")", D, E.WSAEACCES),
    Alternative("C14", "table", "The bind fails as the same-account or different-account table"
                " says for an SO_EXCLUSIVEADDRUSE wildcard bind over a specific one"
                " (WSAEADDRINUSE).", "REUSE (both tables, column SO_EXCLUSIVEADDRUSE/Wildcard,"
                " rows Default/Specific and SO_REUSEADDR/Specific: INUSE)", D, E.WSAEADDRINUSE),
    Alternative("O5", "accepted", "The call succeeds and changes the option's value, which no"
                " longer affects the binding.", "EXCL (\"must be set before bind ... to have any"
                " effect\"): no error is named", A),
    Alternative("O5", "refused", "The call fails with WSAEINVAL and changes nothing.", "none"
                " found for Windows; Linux refuses IPV6_V6ONLY after bind with EINVAL", A,
                E.WSAEINVAL),
    Alternative("K2", "block", "The implicit bind takes a port of the associated block, as"
                " bind(0) would (R5); a full block fails with WSAEADDRINUSE (A1).", "assumed:"
                " ASSOC (the association applies to the socket's bind, and connect binds"
                " implicitly)", A),
    Alternative("K2", "dynamic", "The implicit bind ignores the association and takes a port"
                " from the dynamic range (W1).", "assumed: CONNECT's implicit bind is described"
                " without reservations", A),
    Alternative("B2", "WSAEINVAL", "The call fails with WSAEINVAL and *lpcbBytesReturned is"
                " 0.", "ACQ (\"If the output buffer is too small, the call fails,"
                " WSAGetLastError returns WSAEINVAL, and the lpcbBytesReturned parameter"
                " points to a DWORD value of zero\"; the same sentence on ASSOC and REL)", D,
                E.WSAEINVAL),
    Alternative("B2", "WSAEFAULT", "The call fails with WSAEFAULT, as for any WSAIoctl whose"
                " buffer is too small; *lpcbBytesReturned is 0.", "WSAIOCTL (WSAEFAULT: \"the"
                " cbInBuffer or cbOutBuffer parameter is too small\"; WSPIoctl's page alike);"
                " D-R4", D, E.WSAEFAULT),
)

RULES: Final[Mapping[str, Rule]] = {rule.id: rule for rule in _TABLE}
if len(RULES) != len(_TABLE):  # pragma: no cover - guards the table itself
    raise RuntimeError("duplicate rule id in portpool._model._rules")

#: rule id -> its alternatives, the default first.
ALTERNATIVES: Final[Mapping[str, tuple[Alternative, ...]]] = {
    rule_id: tuple(a for a in _ALTERNATIVE_ROWS if a.rule == rule_id)
    for rule_id in dict.fromkeys(a.rule for a in _ALTERNATIVE_ROWS)
}
#: rule id -> the name of its default alternative.
DEFAULT_VARIANTS: Final[Mapping[str, str]] = {
    rule_id: rows[0].name for rule_id, rows in ALTERNATIVES.items()
}
if not set(ALTERNATIVES) <= set(RULES) or len(
    {(a.rule, a.name) for a in _ALTERNATIVE_ROWS}
) != len(_ALTERNATIVE_ROWS):  # pragma: no cover - guards the table itself
    raise RuntimeError("an alternative names no rule, or repeats a name")
if any((RULES[rule_id].confidence, RULES[rule_id].error) != (rows[0].confidence, rows[0].error)
       for rule_id, rows in ALTERNATIVES.items()):  # pragma: no cover - guards the table itself
    raise RuntimeError("a rule's confidence or code differs from its default alternative's")


def check_variants(variants: object) -> dict[str, str]:
    """The alternatives in force: the defaults, overridden by ``variants``.

    Args:
        variants: ``None`` or a mapping of rule id -> alternative name.

    Returns:
        A new dict with an entry for every rule that has alternatives.

    Raises:
        TypeError: ``variants`` is not a mapping of strings to strings.
        ValueError: a rule id has no alternatives, or an alternative name is unknown
            (the message lists the valid ones).
    """
    chosen = dict(DEFAULT_VARIANTS)
    if variants is None:
        return chosen
    if not isinstance(variants, Mapping):
        raise TypeError(f"variants must be a mapping of rule id to alternative, not"
                        f" {type(variants).__name__}")
    for rule_id, name in variants.items():
        if not isinstance(rule_id, str) or not isinstance(name, str):
            raise TypeError(f"variants maps rule ids (str) to alternative names (str), not"
                            f" {rule_id!r}: {name!r}")
        rows = ALTERNATIVES.get(rule_id)
        if rows is None:
            with_alternatives = ", ".join(ALTERNATIVES) or "none"
            raise ValueError(f"rule {rule_id!r} has no alternatives (rules that do:"
                             f" {with_alternatives})")
        if name not in {row.name for row in rows}:
            names = ", ".join(repr(row.name) for row in rows)
            raise ValueError(f"rule {rule_id} has no alternative {name!r} (it has {names})")
        chosen[rule_id] = name
    return chosen


def alternative(rule_id: str, name: str) -> Alternative:
    """The row of alternative ``name`` of ``rule_id``."""
    for row in ALTERNATIVES.get(rule_id, ()):
        if row.name == name:
            return row
    raise ValueError(f"rule {rule_id} has no alternative {name!r}")


def refuse(rule_id: str, detail: str, alternative_name: str | None = None, *,
           cell: WinError | None = None) -> PortPoolError:
    """The error for a call refused under ``rule_id``; the code comes from the table.

    For a rule with alternatives, ``alternative_name`` names the one in force; the code
    comes from its row and the message names it (``[rule X15: refused]``).  The rows
    of the bind-conflict tables (C1-C12) hold a code per cell: ``cell`` passes the one
    ``_conflicts.py`` found.
    """
    code: WinError | None
    if cell is not None:
        code, tag = cell, rule_id
    elif alternative_name is not None:
        code = alternative(rule_id, alternative_name).error
        tag = f"{rule_id}: {alternative_name}"
    else:
        code, tag = RULES[rule_id].error, rule_id
    if code is None:  # pragma: no cover - a programming error in the model
        raise RuntimeError(f"rule {tag} refuses nothing")
    return winerror(code, f"{detail} [rule {tag}]")


_AREAS: Final = {
    "pools": "The pools",
    "dynamic": "The dynamic port range",
    "sockets": "Sockets",
    "acquire": "Runtime reservations: acquire",
    "lifetime": "Runtime reservations: lifetime and release",
    "associate": "Association",
    "bind": "bind and getsockname",
    "conflicts": "Sharing a port: addresses, options, accounts and stacks",
    "addresses": "Local addresses",
    "options": "Socket options",
    "connect": "connect and its implicit bind",
    "persistent": "Persistent reservations",
    "exclusions": "Blocks of every kind, and system exclusions",
    "netsh": "netsh: excludedportrange and dynamicport",
    "abi": "Call shapes (the Winsock and IP Helper ABI)",
}


def render_markdown() -> str:
    """``specs/semantics.md``'s rule section, rendered from the table."""
    lines = [
        "<!-- Rendered from portpool/_model/_rules.py by `python -m portpool specs`;"
        " tests/test_specs.py keeps them equal. -->",
        "",
    ]
    for area, title in _AREAS.items():
        lines += [f"## {title}", ""]
        for rule in (r for r in _TABLE if r.area == area):
            code = f" Refusal: `{rule.error.name}` ({int(rule.error)})." if rule.error else ""
            lines.append(f"### {rule.id} ({rule.confidence.value})")
            lines.append("")
            lines.append(f"{rule.text}{code}")
            lines.append("")
            lines.append(f"- Source: {rule.source}.")
            if rule.check:
                lines.append(f"- Check on Windows: {rule.check}")
            for index, alt in enumerate(ALTERNATIVES.get(rule.id, ())):
                default = " (default)" if index == 0 else ""
                alt_code = f" Refusal: `{alt.error.name}` ({int(alt.error)})." if alt.error else ""
                lines.append(f"- Alternative `{alt.name}`{default} ({alt.confidence.value}):"
                             f" {alt.text}{alt_code} Source: {alt.source}.")
            lines.append("")
    lines += ["## Sources", ""]
    lines += [f"- **{key}**: {value}" for key, value in SOURCES.items()]
    lines.append("")
    return "\n".join(lines)
